// Small pieces of the API layer, in isolation: DN escaping, wildcard
// patterns, cookies, the login throttle, subscriber channels, operation limits.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCookie, sessionCookie } from '../../server/auth/cookies.js';
import { escapeDnValue } from '../../server/auth/ldap.js';
import { LoginRateLimiter } from '../../server/auth/rate-limit.js';
import { wildcardToLike } from '../../server/commands/servers.js';
import { mergeActivity } from '../../server/graphql/live/activity.js';
import { Broadcaster } from '../../server/graphql/live/channel.js';
import { DEFAULT_LIMITS, operationLimitsRule } from '../../server/graphql/limits.js';
import { schema } from '../../server/graphql/schema.js';

/** RFC 4514 unescaping, to check escapeDnValue round-trips. */
function unescapeDn(s: string): string {
  return s.replace(/\\([0-9a-fA-F]{2}|.)/g, (_m, g: string) => (g.length === 2 ? String.fromCharCode(parseInt(g, 16)) : g));
}

describe('escapeDnValue (RFC 4514)', () => {
  it('round-trips any string and leaves no special character unescaped', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...' #,+"\\<>;=\u0000\n*()aZ9é'), maxLength: 24 }), (v) => {
        const e = escapeDnValue(v);
        // every , + " \ < > ; = is preceded by a backslash that is not itself escaped
        const unescaped = e.replace(/\\(?:[0-9a-fA-F]{2}|.)/g, '');
        return unescapeDn(e) === v && !/[,+"\\<>;=\u0000\n]/.test(unescaped) &&
          (!(v.startsWith(' ') || v.startsWith('#')) || e.startsWith('\\')) && (!(v.length > 1 && v.endsWith(' ')) || e.endsWith('\\ '));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('wildcardToLike', () => {
  it('maps * and ? and escapes LIKE specials', () => {
    expect(wildcardToLike('web*')).toBe('web%');
    expect(wildcardToLike('w?b_1%*')).toBe('w_b\\_1\\%%');
    expect(wildcardToLike('a\\b*')).toBe('a\\\\b%');
    expect(wildcardToLike('plain')).toBeNull();
  });
});

describe('session cookie', () => {
  it('is read back only when well-formed', () => {
    expect(readCookie('a=1; eportal_session=abc_DEF-123; b=2', 'eportal_session')).toBe('abc_DEF-123');
    expect(readCookie('eportal_session=a b', 'eportal_session')).toBeUndefined();
    expect(readCookie('eportal_session=' + 'x'.repeat(200), 'eportal_session')).toBeUndefined();
    expect(readCookie(undefined, 'eportal_session')).toBeUndefined();
    expect(sessionCookie('t', 3600, true)).toBe('eportal_session=t; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict; Secure');
  });
});

describe('LoginRateLimiter', () => {
  it('counts failures per user and per IP over a sliding window; success clears the user', () => {
    const l = new LoginRateLimiter({ windowMs: 1000, perUser: 2, perIp: 3, maxTracked: 10 });
    l.failed('Bob', '1.1.1.1', 0);
    expect(l.retryAfter('bob', '2.2.2.2', 10)).toBe(0);
    l.failed('bob', '2.2.2.2', 10);
    expect(l.retryAfter('BOB', '3.3.3.3', 20)).toBe(980); // names are case-insensitive
    expect(l.retryAfter('bob', '3.3.3.3', 999)).toBe(1);
    expect(l.retryAfter('bob', '3.3.3.3', 1000)).toBe(0); // the first failure left the window
    l.succeeded('bob');
    for (const u of ['x', 'y', 'z']) l.failed(u, '9.9.9.9', 2000);
    expect(l.retryAfter('w', '9.9.9.9', 2001)).toBeGreaterThan(0);
    expect(l.retryAfter('w', '8.8.8.8', 2001)).toBe(0);
  });

  it('forgets the oldest names beyond maxTracked', () => {
    const l = new LoginRateLimiter({ windowMs: 1000, perUser: 1, perIp: 1000, maxTracked: 2 });
    l.failed('a', 'ip', 0);
    l.failed('b', 'ip', 0);
    l.failed('c', 'ip', 0);
    expect(l.retryAfter('a', 'ip', 1)).toBe(0);
    expect(l.retryAfter('c', 'ip', 1)).toBeGreaterThan(0);
  });
});

describe('subscriber channels', () => {
  it('a slow subscriber holds one merged value, not a queue', async () => {
    const b = new Broadcaster<number>((x, y) => x + y);
    const ch = b.subscribe();
    for (let i = 1; i <= 1000; i++) b.publish(i);
    expect(await ch.next()).toEqual({ value: 500500, done: false });
    const waiting = ch.next();
    b.publish(7);
    expect(await waiting).toEqual({ value: 7, done: false });
    await ch.return();
    expect(b.size).toBe(0);
    expect(await ch.next()).toEqual({ value: undefined, done: true });
  });

  it('activity summaries add up', () => {
    const at = (t: number) => new Date(t);
    const a = { checkins: 1, firstCheckins: 0, newlyActive: 1, registered: 1, unregistered: 0, registeredServerIds: [1], since: at(0), until: at(1) };
    const b = { checkins: 2, firstCheckins: 1, newlyActive: 0, registered: 1, unregistered: 3, registeredServerIds: [2], since: at(1), until: at(2) };
    expect(mergeActivity(a, b)).toEqual({ checkins: 3, firstCheckins: 1, newlyActive: 1, registered: 2, unregistered: 3, registeredServerIds: [1, 2], since: at(0), until: at(2) });
  });
});

describe('operation limits rule', () => {
  // the CommonJS graphql the schema was built with (the test runner could otherwise load the ESM copy too)
  const { parse, specifiedRules, validate } = createRequire(import.meta.url)('graphql') as typeof import('graphql');
  const check = (q: string) => validate(schema, parse(q), [...specifiedRules, operationLimitsRule(DEFAULT_LIMITS)]).map((e) => e.message);

  it('counts aliases, depth and page-size-weighted cost', () => {
    expect(check('{ me { id } }')).toEqual([]);
    expect(check(`{ ${Array.from({ length: 31 }, (_, i) => `a${i}: me { id }`).join(' ')} }`)[0]).toMatch(/aliases/);
    expect(check('{ servers(first: 500) { nodes { id hostname ip } } }')).toEqual([]);
    expect(check(`{ servers(first: 500) { ${Array.from({ length: 26 }, (_, i) => `n${i}: nodes { id hostname }`).join(' ')} } }`)[0]).toMatch(/aliases|expensive/);
  });
});

describe('LDAP configuration', () => {
  const base = { EPORTAL_CONFIG: '/dev/null', EPORTAL_DATA_DIR: '/tmp/x' };

  it('is off by default, and needs the URL and a DN template with one %s together', async () => {
    const { loadConfig } = await import('../../server/config.js');
    expect(loadConfig(base).ldap).toBeUndefined();
    const c = loadConfig({ ...base, EPORTAL_LDAP_URL: 'ldaps://dir.example:636', EPORTAL_LDAP_DN_TEMPLATE: 'uid=%s,dc=example,dc=com', EPORTAL_LDAP_TIMEOUT_MS: '2000' });
    expect(c.ldap).toEqual({ url: 'ldaps://dir.example:636', dnTemplate: 'uid=%s,dc=example,dc=com', startTls: false, caFile: undefined, connectTimeoutMs: 3000, timeoutMs: 2000, tlsVerify: true });
    expect(() => loadConfig({ ...base, EPORTAL_LDAP_URL: 'ldap://dir.example' })).toThrow(/set together/);
    expect(() => loadConfig({ ...base, EPORTAL_LDAP_URL: 'ldap://dir.example', EPORTAL_LDAP_DN_TEMPLATE: 'uid=x,dc=example' })).toThrow(/%s/);
    expect(() => loadConfig({ ...base, EPORTAL_LDAP_URL: 'ldap://dir.example', EPORTAL_LDAP_DN_TEMPLATE: 'uid=%s,cn=%s' })).toThrow(/%s/);
    expect(() => loadConfig({ ...base, EPORTAL_LDAP_URL: 'http://dir.example', EPORTAL_LDAP_DN_TEMPLATE: 'uid=%s' })).toThrow(/EPORTAL_LDAP_URL/);
    expect(() => loadConfig({ ...base, EPORTAL_LDAP_URL: 'ldap://d', EPORTAL_LDAP_DN_TEMPLATE: 'uid=%s', EPORTAL_LDAP_CA_FILE: '/nonexistent/ca.pem' })).toThrow(/CA_FILE/);
  });
});
