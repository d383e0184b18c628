// index.json validation: documented fields, unknown ones ignored, bad entries
// reported one by one, names safe to use as URL segments and file names, and
// no input (fuzzed) makes the parser throw anything but SOURCE_INDEX_INVALID.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIndex, sourceFile } from '../../server/patches/source/upstream-index.js';

const entry = (over: Record<string, unknown> = {}) => ({
  name: 'K20240102_01', product: 'kernel', released: '2024-01-02T10:00:00Z', archive: 'K20240102_01.tar.bz2', size: 1234,
  sha256: 'AB'.repeat(32), changelog: 'K20240102_01.changelog', channels: ['default', 'test'], blocked: false, ...over,
});

describe('parseIndex', () => {
  it('accepts the documented format, ignores unknown fields, lowercases sha256, orders by (released, name)', async () => {
    const r = await parseIndex({
      generator: 'vendor 1.0',
      patchsets: [entry({ name: 'K20240102_02', archive: 'b.tar.zst', extra: { nested: true } }), entry(), entry({ name: '16012017_1', released: '2017-01-16', archive: 'old.tar.gz', channels: undefined, blocked: undefined, changelog: undefined })],
    });
    expect(r.bad).toEqual([]);
    expect(r.entries.map((e) => e.name)).toEqual(['16012017_1', 'K20240102_01', 'K20240102_02']);
    expect(r.entries[1]).toEqual({
      name: 'K20240102_01', product: 'kernel', released: new Date('2024-01-02T10:00:00Z'), archive: 'K20240102_01.tar.bz2', size: 1234,
      sha256: 'ab'.repeat(32), changelog: 'K20240102_01.changelog', channels: ['default', 'test'], blocked: false,
    });
    expect(r.entries[0]).toMatchObject({ channels: ['default'], blocked: false, changelog: null });
    expect(r.entries[2]).not.toHaveProperty('extra');
  });

  it('takes the product from the name when absent (U… = LibCare)', async () => {
    const r = await parseIndex({ patchsets: [entry({ name: 'U20210129_02', product: undefined, archive: 'u.tar.gz' })] });
    expect(r.entries[0]!.product).toBe('libcare');
  });

  it.each([
    ['archive with a path', { archive: '../x.tar.gz' }, 'archive'],
    ['archive with a slash', { archive: 'a/b.tar.gz' }, 'archive'],
    ['archive not a tarball', { archive: 'setup.exe' }, 'archive'],
    ['changelog with a path', { changelog: '../../etc/shadow' }, 'changelog'],
    ['bad name', { name: '../evil' }, 'name'],
    ['bad date', { released: 'soon' }, 'released'],
    ['negative size', { size: -1 }, 'size'],
    ['huge size', { size: 2 ** 40 }, 'size'],
    ['short sha', { sha256: 'abc' }, 'sha256'],
    ['bad channel', { channels: ['Default Channel'] }, 'channels.0'],
    ['blocked as string', { blocked: 'yes' }, 'blocked'],
  ])('reports %s and keeps the good entries', async (_label, over, field) => {
    const r = await parseIndex({ patchsets: [entry({ name: 'K20240101_01', archive: 'ok.tar.gz' }), entry(over)] });
    expect(r.entries.map((e) => e.name)).toEqual(['K20240101_01']);
    expect(r.bad).toHaveLength(1);
    expect(r.bad[0]!.index).toBe(1);
    expect(r.bad[0]!.error.startsWith(`${field}:`)).toBe(true);
  });

  it('reports a duplicate name; the first entry wins', async () => {
    const r = await parseIndex({ patchsets: [entry(), entry({ sha256: 'cd'.repeat(32) })] });
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]!.sha256).toBe('ab'.repeat(32));
    expect(r.bad).toEqual([{ index: 1, name: 'K20240102_01', error: 'duplicate name (the first entry wins)' }]);
  });

  it.each([null, 5, 'x', [], {}, { patchsets: {} }, { patchsets: 'a' }])('refuses the envelope %j', async (value) => {
    await expect(parseIndex(value)).rejects.toMatchObject({ code: 'SOURCE_INDEX_INVALID' });
  });

  it('never throws anything else, whatever the JSON (fuzzed)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.record({ patchsets: fc.array(fc.oneof(fc.jsonValue(), fc.record({ name: fc.string(), archive: fc.string(), size: fc.integer(), sha256: fc.string(), released: fc.string() }))) })), async (value) => {
        try {
          const r = await parseIndex(value);
          for (const e of r.entries) expect(e.archive).toMatch(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/);
        } catch (err) {
          expect(err).toMatchObject({ code: 'SOURCE_INDEX_INVALID' });
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('sourceFile', () => {
  it('joins file names under the source URL, with or without a trailing slash', () => {
    expect(sourceFile('https://h/mirror/kc', 'index.json')).toBe('https://h/mirror/kc/index.json');
    expect(sourceFile('https://h/mirror/kc/', 'a+b.tar.gz')).toBe('https://h/mirror/kc/a%2Bb.tar.gz');
  });
});
