// The auto-update walk: the channel rule (default = stable ⊂ test ⊂ unstable),
// deploy-after-hours, blocked sets skipped, and the stop before a patchset
// upstream lists but the store lacks — the deployed set stays a prefix.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { barriers, channelAccepts, newestEligible, type Candidate } from '../../server/patches/source/auto-update.js';

const CHANNELS = ['default', 'stable', 'test', 'unstable'] as const;

describe('channelAccepts', () => {
  it.each([
    ['default', ['default'], true],
    ['default', ['stable'], true],
    ['stable', ['default'], true],
    ['default', ['test'], false],
    ['default', ['unstable'], false],
    ['test', ['default'], true],
    ['test', ['test'], true],
    ['test', ['unstable'], false],
    ['unstable', ['default'], true],
    ['unstable', ['test'], true],
    ['unstable', ['unstable'], true],
    ['unstable', ['beta'], false],
    ['test', ['beta', 'test'], true],
    ['default', [], false],
  ] as const)('a %s feed, a patchset on %j → %s', (feed, channels, expected) => {
    expect(channelAccepts(feed, channels)).toBe(expected);
  });

  it('is monotonic: a feed on a wider channel takes everything a narrower one takes', () => {
    const rank = { default: 0, stable: 0, test: 1, unstable: 2 };
    fc.assert(fc.property(fc.constantFrom(...CHANNELS), fc.constantFrom(...CHANNELS), fc.array(fc.constantFrom(...CHANNELS, 'beta')), (a, b, chans) => {
      if (rank[a] <= rank[b] && channelAccepts(a, chans)) expect(channelAccepts(b, chans)).toBe(true);
    }));
  });
});

const T0 = Date.parse('2025-01-01T00:00:00Z');
const ps = (i: number, over: Partial<Candidate> = {}): Candidate => ({
  id: i, name: `K2025010${i}_01`, product: 'kernel', releasedAt: new Date(T0 + i * 86_400_000), appearedAt: new Date(T0), blocked: false, channels: 'default', ...over,
});

describe('newestEligible', () => {
  it('stops at the first patchset not yet due', () => {
    const list = [ps(1), ps(2, { appearedAt: new Date(T0 + 5000) }), ps(3)];
    expect(newestEligible(list, 'default', T0 + 1000, undefined)?.name).toBe(list[0]!.name);
    expect(newestEligible(list, 'default', T0 + 5000, undefined)?.name).toBe(list[2]!.name);
    expect(newestEligible(list, 'default', null, undefined)?.name).toBe(list[2]!.name);
  });

  it('skips blocked sets but stops at one outside the channel', () => {
    const list = [ps(1), ps(2, { blocked: true }), ps(3), ps(4, { channels: 'test' }), ps(5)];
    expect(newestEligible(list, 'default', null, undefined)?.name).toBe(list[2]!.name);
    expect(newestEligible(list, 'test', null, undefined)?.name).toBe(list[4]!.name);
  });

  it('never deploys at or past the first missing (pending) patchset', () => {
    const list = [ps(1), ps(3), ps(4)];
    const pending = [{ name: 'K20250102_01', product: 'kernel', released: new Date(T0 + 2 * 86_400_000).toISOString() }];
    expect(newestEligible(list, 'default', null, barriers(pending).get('kernel'))?.name).toBe(list[0]!.name);
    expect(barriers([...pending, { name: 'K20250101_02', product: 'kernel', released: new Date(T0 + 86_400_000).toISOString() }]).get('kernel')?.name).toBe('K20250101_02');
  });

  it('the result is the end of an eligible prefix (property)', () => {
    const arb = fc.array(fc.record({ blocked: fc.boolean(), late: fc.boolean(), channel: fc.constantFrom(...CHANNELS) }), { maxLength: 12 });
    fc.assert(fc.property(arb, fc.constantFrom(...CHANNELS), (specs, feed) => {
      const list = specs.map((s, i) => ps(i, { blocked: s.blocked, appearedAt: new Date(s.late ? T0 + 10 : T0), channels: s.channel }));
      const target = newestEligible(list, feed, T0, undefined);
      const upTo = target ? list.indexOf(target) : -1;
      for (const p of list.slice(0, upTo + 1)) if (!p.blocked) expect(p.appearedAt.getTime() <= T0 && channelAccepts(feed, [p.channels])).toBe(true);
      if (target) expect(target.blocked).toBe(false);
    }));
  });
});
