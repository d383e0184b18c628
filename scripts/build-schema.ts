// Writes schema.graphql from the Pothos schema; `--check` fails when the committed file is stale.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from '../server/graphql/schema.js';

const text = printSchema(lexicographicSortSchema(schema)) + '\n';
if (process.argv.includes('--check')) {
  if (!existsSync('schema.graphql') || readFileSync('schema.graphql', 'utf8') !== text) {
    console.error('schema.graphql is stale: run `npm run schema`');
    process.exit(1);
  }
  console.log('schema.graphql is up to date');
} else {
  writeFileSync('schema.graphql', text);
  console.log('wrote schema.graphql');
}
