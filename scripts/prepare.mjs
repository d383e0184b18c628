// Runs on `npm install` / `npm ci`: generates the Prisma client, compiles the
// server to dist/ and builds the console, so a fresh clone is ready to start.
// Plain JS on purpose: it runs before anything is compiled.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });

run('npx', ['prisma', 'generate']);
run('npx', ['tsc', '-p', 'tsconfig.build.json']);
if (existsSync('web/package.json') || existsSync('web/svelte.config.js')) run('npm', ['run', 'build:web']);
