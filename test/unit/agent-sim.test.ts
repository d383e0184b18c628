import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MockAgent } from 'undici';
import { parseCheckin, parsePyLiteral, type PyValue } from '../../server/agent/pyliteral.js';
import {
  AgentSim,
  hexEncodeQuery,
  kernelHash,
  parsePlainReply,
  pyQuotePlus,
  pyStrip,
  pyUrlencode,
  splitUrl,
} from '../support/agent-sim.js';

const PS = 'http://portal.test:8080/';
const REG = 'http://portal.test:8080/admin/api/kcare';
const ORIGIN = 'http://portal.test:8080';

const DOCUMENTED_FIELDS = [
  'machine', 'processor', 'release', 'system', 'version', 'distro', 'distro_version', 'euname',
  'kcare_version', 'last_stop', 'node', 'uptime', 'virt', 'ltimestamp', 'patch_level', 'patch_type',
  'server_id', 'state',
];
const STATE_FIELDS = ['khash', 'future', 'mode', 'action', 'current', 'kmod_changed'];

function decodeQuery(hex: string): { [k: string]: PyValue } {
  return parsePyLiteral(Buffer.from(hex, 'hex').toString('utf8')) as { [k: string]: PyValue };
}

describe('check-in payload', () => {
  it('hex-decodes to a dict holding every documented field (Python 3)', () => {
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, serverId: 'abcDEF1234567890', patchLevel: 7 });
    const hex = sim.checkinQuery();
    expect(hex).toMatch(/^[0-9A-F]+$/);
    const d = decodeQuery(hex);
    expect(Object.keys(d)).toEqual(DOCUMENTED_FIELDS);
    expect(Object.keys(d['state'] as object)).toEqual(STATE_FIELDS);
    expect(d).toMatchObject({ server_id: 'abcDEF1234567890', patch_level: 7, node: 'vm', system: 'Linux' });
    expect((d['state'] as { [k: string]: PyValue })['khash']).toBe(sim.khash);
    expect(sim.payloadText()).not.toMatch(/u'/);
  });

  it('reproduces the doc example byte for byte', () => {
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, serverId: 'abcDEF1234567890' });
    expect(sim.payloadText({ state: undefined, uptime: '1043' })).toBe(
      "{'machine': 'x86_64', 'processor': '', 'release': '6.18.44-fc', 'system': 'Linux', " +
      "'version': '#1 SMP PREEMPT_DYNAMIC @0', 'distro': '', 'distro_version': '', " +
      "'euname': '6.18.44-fc', 'kcare_version': '2.32-1', 'last_stop': '-1', 'node': 'vm', " +
      "'uptime': '1043', 'virt': 'kvm', 'ltimestamp': '', 'patch_level': None, " +
      "'patch_type': 'default', 'server_id': 'abcDEF1234567890'}",
    );
  });

  it('uses u-prefixes, longs, filled distro and CPython 2 key order in python2 mode', () => {
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, serverId: 'S', python2: true, patchLevel: 17 });
    const text = sim.payloadText();
    expect(text.startsWith("{u'node': u'vm', u'uptime': u'")).toBe(true);
    expect(text).toContain("u'patch_level': 17L");
    expect(text).toContain("u'state': {u'kmod_changed': False, u'current': 17L,");
    expect(text).not.toMatch(/[{ ]'/); // every string is unicode
    const d = decodeQuery(sim.checkinQuery());
    expect(Object.keys(d).sort()).toEqual([...DOCUMENTED_FIELDS].sort());
    expect(d).toMatchObject({ distro: 'debian', distro_version: '12.11', patch_level: 17 });
    const r = parseCheckin(sim.checkinQuery());
    expect(r.ok && r.fields).toMatchObject({ patchLevel: 17, distro: 'debian', serverId: 'S', node: 'vm' });
  });

  it('omits server_id until registered', () => {
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG });
    expect(Object.keys(decodeQuery(sim.checkinQuery()))).not.toContain('server_id');
  });

  it('applies persistent and one-off overrides; undefined removes a field; new keys go last', () => {
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, fields: { patch_level: '12', virt: 'none' } });
    const d = decodeQuery(sim.checkinQuery({ node: "o'brien \u00e9\n", uptime: undefined, zz: [1, 2] }));
    expect(d).toMatchObject({ patch_level: '12', virt: 'none', node: "o'brien \u00e9\n", zz: [1, 2] });
    expect('uptime' in d).toBe(false);
    expect(Object.keys(d).at(-1)).toBe('zz');
    sim.fields['kcare_version'] = '2.99-1';
    expect(decodeQuery(sim.checkinQuery())['kcare_version']).toBe('2.99-1');
  });

  it('derives khash, release and version from /proc/version', () => {
    const proc = 'Linux version 5.14.0-427.el9.x86_64 (mockbuild@x) (gcc 11) #1 SMP PREEMPT_DYNAMIC Fri May 10 2024\n';
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, procVersion: proc });
    expect(sim.khash).toBe(kernelHash(proc));
    expect(sim.khash).toMatch(/^[0-9a-f]{40}$/);
    // sha1("abc") known answer
    expect(kernelHash('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(decodeQuery(sim.checkinQuery())).toMatchObject({
      release: '5.14.0-427.el9.x86_64', euname: '5.14.0-427.el9.x86_64', version: '#1 SMP PREEMPT_DYNAMIC Fri May 10 2024',
    });
  });

  it('any field value survives encoding and the portal-side parser', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 50 }), fc.boolean(), (node, python2) => {
        const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, hostname: node, python2 });
        expect(decodeQuery(sim.checkinQuery())['node']).toBe(node);
        expect(parseCheckin(sim.checkinQuery()).ok).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(hexEncodeQuery('{}\u00e9')).toBe('7B7DC3A9');
  });
});

describe('URLs', () => {
  it('builds patch-server URLs with and without prefix like the agent', () => {
    const plain = new AgentSim({ patchServer: PS, registrationUrl: REG });
    expect(plain.latestUrl()).toBe(`${PS}${plain.khash}/latest.v2`);
    const noSlash = new AgentSim({ patchServer: 'http://h', registrationUrl: REG });
    expect(noSlash.patchBase()).toBe('http://h/');
    const pfx = new AgentSim({ patchServer: PS, registrationUrl: REG, prefix: 'test' });
    expect(pfx.patchBase()).toBe('http://portal.test:8080//test/');
    const clean = new AgentSim({ patchServer: PS, registrationUrl: REG, prefix: '12h', prefixDoubleSlash: false });
    expect(clean.patchBase()).toBe('http://portal.test:8080/12h/');
  });

  it('splits URLs without normalising the path', () => {
    expect(splitUrl('http://h:1//test/x?AB')).toEqual({ origin: 'http://h:1', path: '//test/x?AB' });
    expect(splitUrl('http://H:80?q')).toEqual({ origin: 'http://h', path: '/?q' });
    expect(splitUrl('https://h')).toEqual({ origin: 'https://h', path: '/' });
  });

  it('percent-encodes queries like urllib.parse.urlencode', () => {
    expect(pyUrlencode([['server_id', 'abc'], ['tag', 'a:b;c']])).toBe('server_id=abc&tag=a%3Ab%3Bc');
    expect(pyQuotePlus("a b+c/d~e_f.g-h!'()*\u00e9")).toBe('a+b%2Bc%2Fd~e_f.g-h%21%27%28%29%2A%C3%A9');
    expect(pyUrlencode([])).toBe('');
  });
});

describe('parsePlainReply', () => {
  it('splits at the first colon, keeps the key as is and strips the value', () => {
    expect(parsePlainReply('code: 0\nserver_id: abcDEF1234567890\n')).toEqual({ code: '0', server_id: 'abcDEF1234567890' });
    expect(parsePlainReply('message: a: b: c')).toEqual({ message: 'a: b: c' });
    expect(parsePlainReply(' code :  1 \r\n')).toEqual({ ' code ': '1' });
    expect(parsePlainReply('code:\nempty:   ')).toEqual({ code: '', empty: '' });
  });

  it('ignores lines without a colon and lets the last duplicate win', () => {
    expect(parsePlainReply('hello\n\ncode: 1\nnoise\ncode: 2')).toEqual({ code: '2' });
    expect(parsePlainReply('')).toEqual({});
    expect(parsePlainReply('<html>error</html>')).toEqual({});
  });

  it('strips exactly what Python str.strip() strips', () => {
    expect(pyStrip('\x1c\x1d\x1e\x1f\x85\xa0\u3000 x \t\v\f')).toBe('x');
    expect(pyStrip('\ufeffx\u200b')).toBe('\ufeffx\u200b'); // not whitespace to Python
    expect(parsePlainReply('success:\u2003true\u2029')).toEqual({ success: 'true' });
  });

  it('is safe with keys like __proto__', () => {
    const r = parsePlainReply('__proto__: x\nconstructor: y');
    expect(Object.keys(r)).toEqual(['__proto__', 'constructor']);
    expect(r['__proto__']).toBe('x');
  });

  it('never throws', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
      expect(typeof parsePlainReply(s)).toBe('object');
    }));
  });
});

// undici's MockAgent stands in for the network: no server, but the real dispatch path.
interface Seen { path: string; headers: Record<string, string> }

function mockPortal(reply: (path: string) => { status: number; body: string }): { agent: MockAgent; seen: Seen[] } {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const seen: Seen[] = [];
  agent
    .get(ORIGIN)
    .intercept({ path: () => true, method: 'GET' })
    .reply((opts) => {
      seen.push({ path: opts.path, headers: opts.headers as Record<string, string> });
      const r = reply(opts.path);
      return { statusCode: r.status, data: r.body };
    })
    .persist();
  return { agent, seen };
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

describe('requests (mocked transport)', () => {
  it('registers after a silent unregister, with agent headers and no Authorization on .plain calls', async () => {
    const { agent, seen } = mockPortal((p) =>
      p.includes('register_server') && !p.includes('unregister')
        ? { status: 200, body: 'code: 0\nserver_id: NewId0123456789A\n' }
        : { status: 200, body: 'success: true\n' },
    );
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, serverId: 'OldId0123456789A', hostname: 'web 01', dispatcher: agent });
    const r = await sim.register('K:1');
    expect(r).toMatchObject({ status: 200, code: 0, serverId: 'NewId0123456789A' });
    expect(sim.serverId).toBe('NewId0123456789A');
    expect(seen.map((s) => s.path)).toEqual([
      '/admin/api/kcare/unregister_server.plain?server_id=OldId0123456789A',
      '/admin/api/kcare/register_server.plain?hostname=web+01&key=K%3A1',
    ]);
    for (const s of seen) {
      const h = lowerKeys(s.headers);
      expect(h['user-agent']).toBe('Python-urllib/3.11');
      expect(h['connection']).toBe('close');
      expect(h['authorization']).toBeUndefined();
    }
    await agent.close();
  });

  it('check-in is GET latest.v2?<HEX> with Basic server_id:kernelcare; python2 user agent', async () => {
    const { agent, seen } = mockPortal(() => ({ status: 200, body: '17\n' }));
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, serverId: 'abcDEF1234567890', python2: true, prefix: 'test', dispatcher: agent });
    const r = await sim.checkin();
    expect(r.status).toBe(200);
    expect(r.level).toBe(17);
    expect(r.payload).toBe(sim.payloadText());
    const s = seen[0] as Seen;
    expect(s.path).toBe(`//test/${sim.khash}/latest.v2?${hexEncodeQuery(r.payload as string)}`);
    const h = lowerKeys(s.headers);
    expect(h['authorization']).toBe(`Basic ${Buffer.from('abcDEF1234567890:kernelcare').toString('base64')}`);
    expect(h['user-agent']).toBe('Python-urllib/2.7');
    await sim.checkin({ rawQuery: 'ZZ%00' });
    expect((seen[1] as Seen).path).toBe(`//test/${sim.khash}/latest.v2?ZZ%00`);
    await sim.checkin({ rawQuery: null });
    expect((seen[2] as Seen).path).toBe(`//test/${sim.khash}/latest.v2`);
    await agent.close();
  });

  it('unregistered check-ins carry no Authorization', async () => {
    const { agent, seen } = mockPortal(() => ({ status: 200, body: '0' }));
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, dispatcher: agent, keepAlive: true });
    expect((await sim.checkin()).level).toBe(0);
    const h = lowerKeys((seen[0] as Seen).headers);
    expect(h['authorization']).toBeUndefined();
    expect(h['connection']).toBeUndefined(); // keepAlive drops Connection: close
    await agent.close();
  });

  it('latestPatchInfo fetches kpatch[T].info of a non-zero level', async () => {
    const { agent, seen } = mockPortal((p) =>
      p.endsWith('.info') ? { status: 200, body: 'kpatch-name: x\nuname: 6.18.44-fc.kc3\n' } : { status: 200, body: '3' },
    );
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, serverId: 'S', patchType: 'extra', dispatcher: agent });
    const info = await sim.latestPatchInfo();
    expect(info.checkin.level).toBe(3);
    expect(info.info?.text).toContain('uname: 6.18.44-fc.kc3');
    expect((seen[1] as Seen).path).toBe(`/${sim.khash}/3/kpatch.extra.info`);
    expect(lowerKeys((seen[1] as Seen).headers)['authorization']).toMatch(/^Basic /);
    await agent.close();
  });

  it('records 5xx answers and does not retry by default', async () => {
    const { agent, seen } = mockPortal(() => ({ status: 503, body: 'busy' }));
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, dispatcher: agent });
    const r = await sim.check();
    expect(r.status).toBe(503);
    expect(r.code).toBeNull();
    expect(seen).toHaveLength(1);
    expect(sim.serverErrors).toEqual([{ url: `${REG}/check.plain?server_id=`, status: 503 }]);
    expect(sim.requestCount).toBe(1);
    await agent.close();
  });

  it('retries 5xx only when asked to', async () => {
    let n = 0;
    const { agent, seen } = mockPortal(() => (++n < 3 ? { status: 500, body: '' } : { status: 200, body: 'code: 0' }));
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, dispatcher: agent, retries: 5, retryDelaysMs: [1] });
    expect((await sim.trial()).code).toBe(0);
    expect(seen).toHaveLength(3);
    expect(sim.serverErrors).toHaveLength(2);
    await agent.close();
  });

  it('covers the remaining registration-URL calls', async () => {
    const { agent, seen } = mockPortal(() => ({ status: 200, body: 'code: 0' }));
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, serverId: 'S1', dispatcher: agent });
    await sim.tag('env:prod;db');
    await sim.stickyPatch();
    await sim.registerNagiosKey('K 1');
    await sim.trial();
    await sim.fetchKernelFile('3/kpatch.bin');
    await sim.fetch('/v2-new-version');
    expect(seen.map((s) => s.path)).toEqual([
      '/admin/api/kcare/tag_server.plain?server_id=S1&tag=env%3Aprod%3Bdb',
      '/admin/api/kcare/sticky_patch.plain?server_id=S1',
      '/admin/api/kcare/nagios/register_key.plain?key=K+1',
      '/admin/api/kcare/trial.plain',
      `/${sim.khash}/3/kpatch.bin`,
      '/v2-new-version',
    ]);
    await agent.close();
  });

  it('unregister forgets the id only on success and is a no-op when unregistered', async () => {
    const { agent } = mockPortal(() => ({ status: 200, body: 'success: false\nmessage: unknown server\n' }));
    const sim = new AgentSim({ patchServer: PS, registrationUrl: REG, serverId: 'S1', dispatcher: agent });
    const r = await sim.unregister();
    expect(r?.reply).toEqual({ success: 'false', message: 'unknown server' });
    expect(sim.serverId).toBe('S1');
    expect(await new AgentSim({ patchServer: PS, registrationUrl: REG, dispatcher: agent }).unregister()).toBeNull();
    await agent.close();
  });
});
