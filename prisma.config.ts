// Loaded by the prisma CLI before it looks for its native schema engine.
// On machines that cannot download that binary, `prisma generate` only needs
// the check to pass (it runs on WASM), so point it at a stub. Migrations never
// go through the CLI here: server/db/migrate.ts applies them in-process.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { defineConfig } from 'prisma/config';

const require = createRequire(import.meta.url);

function nativeEngineAvailable(): boolean {
  if (process.env.PRISMA_SCHEMA_ENGINE_BINARY) return true;
  try {
    const enginesDir = path.dirname(require.resolve('@prisma/engines/package.json'));
    return existsSync(enginesDir) && require('node:fs').readdirSync(enginesDir).some((f: string) => f.startsWith('schema-engine'));
  } catch {
    return false;
  }
}

if (!nativeEngineAvailable()) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY = path.resolve('scripts/prisma-engine-stub.sh');
}

export default defineConfig({
  schema: process.env.EPORTAL_PRISMA_SCHEMA ?? 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.EPORTAL_DATABASE_URL ?? 'file:./data/eportal.sqlite' },
});
