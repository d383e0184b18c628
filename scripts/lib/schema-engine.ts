// Drives Prisma's WASM schema engine in-process, through a better-sqlite3
// driver adapter, so that migration SQL can be generated and drift checked on
// machines where the native schema-engine binary cannot be downloaded.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const require = createRequire(import.meta.url);

interface WasmEngine {
  diff(params: unknown): Promise<{ exitCode: number; stdout: string | null }>;
}

/** Loads the WASM schema engine bound to the SQLite file at `dbFile`. */
export async function openSchemaEngine(schemaFile: string, dbFile: string): Promise<WasmEngine> {
  const bgFile = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const pkgDir = path.dirname(bgFile);
  const bg = await import(bgFile);
  const bytes = readFileSync(path.join(pkgDir, 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg });
  bg.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  const factory = new PrismaBetterSqlite3({ url: `file:${dbFile}` });
  const adapterFactory = bindMigrationAwareSqlAdapterFactory(factory);
  const datamodel = readFileSync(schemaFile, 'utf8');
  return bg.SchemaEngine.new({ datamodels: [[schemaFile, datamodel]] }, () => {}, adapterFactory);
}

/** Diff SQL that takes the database file to the schema; empty when in sync. */
export async function diffDatabaseToSchema(engine: WasmEngine, schemaFile: string): Promise<string> {
  const result = await engine.diff({
    from: { tag: 'schemaDatasource', files: [{ path: schemaFile, content: readFileSync(schemaFile, 'utf8') }], configDir: path.dirname(schemaFile) },
    to: { tag: 'schemaDatamodel', files: [{ path: schemaFile, content: readFileSync(schemaFile, 'utf8') }] },
    script: true,
    exitCode: false,
    filters: { externalTables: [], externalEnums: [] },
  });
  return (result.stdout ?? '').trim();
}
