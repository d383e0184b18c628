// Every GraphQL document the console sends must be valid against the
// server's schema as it is now: a renamed field fails here, not in a browser.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { schema } from '../../server/graphql/schema.js';
import * as operations from '../../web/src/lib/api/operations.js';

// The schema's classes come from the CommonJS build of graphql (Pothos
// requires it); validating with the ESM build would fail its realm check.
const { parse, validate } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

const documents = Object.entries(operations).filter((e): e is [string, string] => typeof e[1] === 'string');

describe('console GraphQL documents', () => {
  it('are all found', () => {
    expect(documents.length).toBeGreaterThan(30);
  });

  it.each(documents)('%s is valid against the schema', (_name, text) => {
    const errors = validate(schema, parse(text)).map((e) => e.message);
    expect(errors).toEqual([]);
  });
});
