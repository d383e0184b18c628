// Generated files are committed; CI fails when one is stale.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const tsx = (script: string, ...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('generated artifacts', () => {
  it('prisma/migrations match prisma/schema.prisma', () => {
    expect(tsx('scripts/migrations.ts', 'check')).toContain('migrations match');
  }, 60_000);

  it('schema.graphql matches the Pothos schema', () => {
    expect(tsx('scripts/build-schema.ts', '--check')).toContain('up to date');
  }, 60_000);
});

describe('the migration drift check', () => {
  it('fails when the schema has a change no migration carries', async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'schema-drift-'));
    const changed = readFileSync('prisma/schema.prisma', 'utf8').replace('model Setting {', 'model Setting {\n  extraColumn String?');
    writeFileSync(path.join(dir, 'schema.prisma'), changed);
    let failure: { status?: number; stderr?: string } | null = null;
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/migrations.ts', 'check'], { env: { ...process.env, EPORTAL_PRISMA_SCHEMA: path.join(dir, 'schema.prisma') }, stdio: 'pipe', encoding: 'utf8' });
    } catch (err) {
      failure = err as { status?: number; stderr?: string };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toContain('extraColumn');
  }, 60_000);
});
