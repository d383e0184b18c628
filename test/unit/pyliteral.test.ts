import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  PyLiteralError,
  decodeHexQuery,
  parseCheckin,
  parsePyLiteral,
  type PyValue,
} from '../../server/agent/pyliteral.js';
import {
  PyFloat,
  PyLong,
  PyTuple,
  pyFloat,
  pyPlain,
  pyRepr,
  pyStrRepr,
  pyTuple,
  type PyInput,
  type PyKey,
} from '../support/pyrepr.js';

// ---------------------------------------------------------------- helpers

const hexOf = (text: string): string => Buffer.from(text, 'utf8').toString('hex').toUpperCase();

/** Null-prototype dict literal, the shape parsePyLiteral returns. */
function dict(entries: Record<string, PyValue>): { [k: string]: PyValue } {
  return Object.assign(Object.create(null) as { [k: string]: PyValue }, entries);
}

/** Runs fn and fails on any exception other than PyLiteralError. */
function onlyPyErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof PyLiteralError)) throw err;
    expect(typeof err.reason).toBe('string');
  }
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PyLiteralError) return err.reason;
    throw err;
  }
  return 'no error';
}

// A JSON encoding that keeps what JSON cannot (tuples, floats vs ints, big ints,
// dict order, non-string keys) so Python can rebuild the exact same object.
type Tagged =
  | { s: string } | { i: string; L?: boolean } | { f: string } | { b: boolean } | { n: 1 }
  | { l: Tagged[] } | { t: Tagged[] } | { d: Array<[Tagged, Tagged]> };

function tagScalar(v: string | number | bigint | boolean | null): Tagged {
  if (v === null) return { n: 1 };
  if (typeof v === 'boolean') return { b: v };
  if (typeof v === 'string') return { s: v };
  if (typeof v === 'bigint') return { i: v.toString() };
  if (Number.isInteger(v) && !Object.is(v, -0)) return { i: BigInt(v).toString() };
  return { f: floatText(v) };
}

/** String(-0) is "0"; Python's float() needs the sign spelled out. */
function floatText(x: number): string {
  return Object.is(x, -0) ? '-0.0' : String(x);
}

function tag(v: PyInput): Tagged {
  if (v === null || typeof v !== 'object') return tagScalar(v);
  if (v instanceof PyFloat) return { f: floatText(v.value) };
  if (v instanceof PyLong) return { i: BigInt(v.value).toString(), L: true };
  if (v instanceof PyTuple) return { t: v.items.map(tag) };
  if (Array.isArray(v)) return { l: (v as readonly PyInput[]).map(tag) };
  const entries: Array<readonly [PyKey, PyInput]> =
    v instanceof Map ? [...(v as ReadonlyMap<PyKey, PyInput>)] : Object.entries(v as Record<string, PyInput>);
  return { d: entries.map(([k, val]) => [tagScalar(k), tag(val)]) };
}

// Runs under both Python 2.7 and 3.x.
const PY_SCRIPT = `
import sys, json
PY2 = sys.version_info[0] == 2
def build(x):
    if 's' in x: return x['s']
    if 'i' in x:
        v = int(x['i'])
        return long(v) if PY2 and x.get('L') else v
    if 'f' in x: return float(x['f'])
    if 'b' in x: return bool(x['b'])
    if 'n' in x: return None
    if 'l' in x: return [build(e) for e in x['l']]
    if 't' in x: return tuple(build(e) for e in x['t'])
    d = {}
    for k, v in x['d']: d[build(k)] = build(v)
    return d
raw = sys.stdin.read()
if PY2: raw = raw.decode('utf-8')
sys.stdout.write(json.dumps([repr(build(x)) for x in json.loads(raw)]))
`;

function runPython(exe: string, values: PyInput[]): string[] {
  const out = execFileSync(exe, ['-c', PY_SCRIPT], {
    input: JSON.stringify(values.map(tag)),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, PYTHONIOENCODING: 'utf-8', PYTHONHASHSEED: '0' },
  });
  return JSON.parse(out) as string[];
}

function pythonMajor(exe: string): number | null {
  try {
    const out = execFileSync(exe, ['-c', 'import sys; sys.stdout.write(str(sys.version_info[0]))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return Number(out);
  } catch {
    return null;
  }
}

const PYTHON3 = 'python3';
const PYTHON2 = [process.env['PYTHON2'], 'python2.7', 'python2', `${homedir()}/.pyenv/versions/2.7.18/bin/python`]
  .filter((p): p is string => typeof p === 'string' && p !== '')
  .find((p) => pythonMajor(p) === 2);

// Code points whose printability is the same in every Unicode version since 6.x,
// so CPython's (older) database and the JS engine's (newer) one agree on them.
const CURATED_RANGES: Array<[number, number]> = [
  [0x00, 0xff], [0x100, 0x17f], [0x370, 0x3ff], [0x400, 0x4ff], [0x2000, 0x206f], [0x3000, 0x303f],
  [0x4e00, 0x4e7f], [0xd800, 0xd80f], [0xdbf0, 0xdc0f], [0xdff0, 0xdfff], [0xe000, 0xe03f],
  [0xfe00, 0xfe0f], [0xfef0, 0xffff], [0x10000, 0x1007f], [0x1f600, 0x1f64f], [0xe0000, 0xe007f],
  [0xf0000, 0xf000f], [0x10fff0, 0x10ffff],
];
const CURATED: number[] = CURATED_RANGES.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
const QUOTE_HEAVY = [0x27, 0x22, 0x5c, 0x0a, 0x0d, 0x09, 0x00, 0x7f, 0x20, 0x41];

const curatedChar = fc.oneof(
  fc.constantFrom(...QUOTE_HEAVY),
  fc.constantFrom(...CURATED),
).map((cp) => String.fromCodePoint(cp));
const curatedString = fc.string({ unit: curatedChar, maxLength: 12 });
const anyCodePointString = fc.string({
  unit: fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)),
  maxLength: 12,
});

/** Arbitrary Python values; `dictKeys` limits dict size (Python 2 dict order is hash order). */
function pyValueArb(str: fc.Arbitrary<string>, maxDictKeys: number): fc.Arbitrary<PyInput> {
  const scalar: fc.Arbitrary<PyInput> = fc.oneof(
    str,
    fc.integer(),
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => pyFloat(x)),
    fc.boolean(),
    fc.constant(null),
  );
  const { value } = fc.letrec<{ value: PyInput }>((tie) => ({
    value: fc.oneof(
      { maxDepth: 4, depthSize: 'small' },
      scalar,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(tie('value'), { maxLength: 3 }).map((items) => new PyTuple(items)),
      fc
        .uniqueArray(fc.tuple(str, tie('value')), { selector: (e) => e[0], maxLength: maxDictKeys })
        .map((entries) => new Map<PyKey, PyInput>(entries)),
    ),
  }));
  return value;
}

// ---------------------------------------------------------------- parsePyLiteral

const DOC_PAYLOAD =
  "{'machine': 'x86_64', 'processor': '', 'release': '6.18.44-fc', 'system': 'Linux', " +
  "'version': '#1 SMP PREEMPT_DYNAMIC @0', 'distro': '', 'distro_version': '', " +
  "'euname': '6.18.44-fc', 'kcare_version': '2.32-1', 'last_stop': '-1', 'node': 'vm', " +
  "'uptime': '1043', 'virt': 'kvm', 'ltimestamp': '', 'patch_level': None, " +
  "'patch_type': 'default', 'server_id': 'abcDEF1234567890'}";

describe('parsePyLiteral: protocol payloads', () => {
  it('parses the decoded payload example from the protocol doc', () => {
    expect(parsePyLiteral(DOC_PAYLOAD)).toEqual(
      dict({
        machine: 'x86_64', processor: '', release: '6.18.44-fc', system: 'Linux',
        version: '#1 SMP PREEMPT_DYNAMIC @0', distro: '', distro_version: '', euname: '6.18.44-fc',
        kcare_version: '2.32-1', last_stop: '-1', node: 'vm', uptime: '1043', virt: 'kvm',
        ltimestamp: '', patch_level: null, patch_type: 'default', server_id: 'abcDEF1234567890',
      }),
    );
    // the doc says "about 380 bytes, so about 760 hex characters"
    expect(hexOf(DOC_PAYLOAD).length).toBeGreaterThan(600);
    expect(hexOf(DOC_PAYLOAD).length).toBeLessThan(900);
  });

  it('parses a Python 2 style payload (u-prefixes, longs, hash order, nested state)', () => {
    const py2 =
      "{u'node': u'vm', u'uptime': u'1043', u'patch_type': u'default', u'last_stop': u'-1', " +
      "u'euname': u'6.18.44-fc', u'patch_level': 17L, u'server_id': u'abcDEF1234567890', " +
      "u'system': u'Linux', u'distro_version': u'12.11', u'machine': u'x86_64', " +
      "u'kcare_version': u'2.32-1', u'state': {u'kmod_changed': False, u'current': 17L, " +
      "u'khash': u'0123abcd'}, u'version': u'#1 SMP Debian 6.1.140-1 (2025-05-22)', " +
      "u'ltimestamp': u'', u'virt': u'kvm', u'release': u'6.1.0-37-amd64', u'processor': u'', " +
      "u'distro': u'debian', u'host\\xe9': U'caf\\xe9 \\u2603 \\U0001f600'}";
    const v = parsePyLiteral(py2) as { [k: string]: PyValue };
    expect(v['node']).toBe('vm');
    expect(v['patch_level']).toBe(17);
    expect(v['distro']).toBe('debian');
    expect(v['state']).toEqual(dict({ kmod_changed: false, current: 17, khash: '0123abcd' }));
    expect(v['hosté']).toBe('café ☃ 😀');
    expect(Object.keys(v)).toHaveLength(19);
  });

  it('reads the doc payload through parseCheckin', () => {
    const r = parseCheckin(hexOf(DOC_PAYLOAD));
    expect(r).toEqual({
      ok: true,
      fields: {
        machine: 'x86_64', processor: '', release: '6.18.44-fc', system: 'Linux',
        version: '#1 SMP PREEMPT_DYNAMIC @0', distro: '', distroVersion: '', euname: '6.18.44-fc',
        kcareVersion: '2.32-1', lastStop: '-1', node: 'vm', uptime: 1043, virt: 'kvm', ltimestamp: '',
        patchLevel: null, patchType: 'default', serverId: 'abcDEF1234567890', state: null,
      },
    });
    // lower-case hex and a leading '?' are tolerated
    expect(parseCheckin(`?${hexOf(DOC_PAYLOAD).toLowerCase()}`).ok).toBe(true);
  });
});

describe('parsePyLiteral: scalars and escapes', () => {
  const cases: Array<[string, PyValue]> = [
    ["'abc'", 'abc'],
    ['"it\'s"', "it's"],
    ["'say \"hi\"'", 'say "hi"'],
    ["'\\\\ \\' \\\" \\n \\r \\t'", '\\ \' " \n \r \t'],
    ["'\\a\\b\\f\\v'", '\x07\b\f\v'],
    ["'\\0\\7\\101\\1010\\777'", '\0\x07A' + 'A0' + '\u01ff'],
    ["'\\x00\\x7f\\xE9\\xff'", '\x00\x7f\xe9\xff'],
    ["'\\u2603\\uD83D\\ude00'", '\u2603\ud83d\ude00'],
    ["'\\ud800'", '\ud800'],
    ["'\\U0001F600\\U0010ffff'", '\u{1f600}\u{10ffff}'],
    ["'\\q\\%'", '\\q\\%'], // unknown escapes keep the backslash, like Python
    ["u'x'", 'x'], ["U'x'", 'x'], ["b'x'", 'x'], ["B'x'", 'x'],
    ["r'\\n\\''", "\\n\\'"], ["ur'\\x'", '\\x'], ["br'\\x'", '\\x'], ["Rb'\\x'", '\\x'],
    ["b'\\xff\\u1234'", '\xff\\u1234'], // bytes: \u is not an escape, bytes read as latin-1
    ["'caf\u00e9 \u2603 \u{1f600}'", 'caf\u00e9 \u2603 \u{1f600}'],
    ['0', 0], ['-0', 0], ['7', 7], ['-42', -42], ['123L', 123], ['-5l', -5],
    ['9007199254740991', 9007199254740991], ['9007199254740992', 9007199254740992n],
    ['-9007199254740992', -9007199254740992n], ['123456789012345678901234567890L', 123456789012345678901234567890n],
    ['0.5', 0.5], ['-1.5', -1.5], ['1.', 1], ['.25', 0.25], ['1e-05', 1e-5], ['1e+22', 1e22],
    ['1E3', 1000], ['-0.0', -0], ['1.7976931348623157e+308', Number.MAX_VALUE], ['5e-324', 5e-324],
    ['True', true], ['False', false], ['None', null],
    ['  \t\n 1 \r\n', 1],
  ];
  it.each(cases)('%s', (text, expected) => {
    expect(parsePyLiteral(text)).toEqual(expected);
  });

  it('keeps the sign of -0.0 but not of int -0', () => {
    expect(Object.is(parsePyLiteral('-0.0'), -0)).toBe(true);
    expect(Object.is(parsePyLiteral('-0'), 0)).toBe(true);
  });
});

describe('parsePyLiteral: containers', () => {
  const cases: Array<[string, PyValue]> = [
    ['[]', []], ['()', []], ['{}', dict({})],
    ['[1, 2, 3]', [1, 2, 3]], ['[1,]', [1]], ['(1,)', [1]], ['(1, 2)', [1, 2]], ['(1, 2,)', [1, 2]],
    ['(1)', 1], ['((1))', 1], ['((1,),)', [[1]]],
    ["{'a': 1, 'b': [1, 2]}", dict({ a: 1, b: [1, 2] })],
    ["{'a': 1,}", dict({ a: 1 })],
    ["{'a': 1, 'a': 2}", dict({ a: 2 })],
    ["{1: 'x', -2: 'y', True: 't', False: 'f', None: 'n', 99999999999999999999: 'b'}",
      dict({ '1': 'x', '-2': 'y', True: 't', False: 'f', None: 'n', '99999999999999999999': 'b' })],
    ["{'n': {'m': {'o': ()}}}", dict({ n: dict({ m: dict({ o: [] }) }) })],
    ["[\n  1,\n  2\n]", [1, 2]],
    ["{'__proto__': {'polluted': True}, 'constructor': 1}", dict({ ['__proto__']: dict({ polluted: true }), constructor: 1 })],
  ];
  it.each(cases)('%s', (text, expected) => {
    expect(parsePyLiteral(text)).toEqual(expected);
  });

  it('never pollutes prototypes via __proto__ keys', () => {
    const v = parsePyLiteral("{'__proto__': {'polluted': True}}") as { [k: string]: PyValue };
    expect(Object.getPrototypeOf(v)).toBe(null);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('parsePyLiteral: rejections', () => {
  const cases: Array<[string, string]> = [
    ['', 'empty'], ['   ', 'empty'],
    ['foo', 'identifier'], ['true', 'identifier'], ['none', 'identifier'], ['inf', 'identifier'], ['nan', 'identifier'],
    ["__import__('os')", 'identifier'], ["f'x'", 'bad_string_prefix'], ["bu'x'", 'bad_string_prefix'],
    ['{1, 2}', 'set_not_allowed'], ['{1}', 'set_not_allowed'],
    ["'abc", 'unterminated_string'], ["'ab\ncd'", 'unterminated_string'], ["'abc\\", 'unterminated_string'],
    ["'a\\\nb'", 'line_continuation'], ["r'\\'", 'unterminated_string'],
    ["'\\x4'", 'bad_escape'], ["'\\xZZ'", 'bad_escape'], ["'\\u12'", 'bad_escape'], ["'\\U00110000'", 'bad_escape'],
    ["'\\N{DASH}'", 'bad_escape'], ["b'\u00e9'", 'non_ascii_bytes'], ["b'\\777'", 'bad_escape'],
    ['1e400', 'not_finite'], ['-1e400', 'not_finite'],
    ['01', 'bad_number'], ['00', 'bad_number'], ['0x10', 'bad_number'], ['1_000', 'bad_number'], ['1j', 'bad_number'],
    ['1.5L', 'bad_number'], ['1e', 'bad_number'], ['-', 'bad_number'], ['.', 'bad_number'], ['- 1', 'bad_number'],
    ['+1', 'unexpected_char'], ['--1', 'bad_number'], ['1abc', 'bad_number'], ['1' + '0'.repeat(4300), 'int_too_long'],
    ['[1 2]', 'expected_separator'], ['[1,,2]', 'unexpected_char'], ['[,]', 'unexpected_char'], ['(,)', 'unexpected_char'],
    ['[1', 'unexpected_end'], ['[', 'unexpected_end'], ['[1,', 'unexpected_end'], ['{', 'unexpected_end'],
    ["{'a'}", 'set_not_allowed'], ["{'a' 1}", 'expected_colon'], ["{'a':}", 'unexpected_char'], ["{'a':1:2}", 'expected_separator'],
    ['[1)', 'expected_separator'], ['(1]', 'expected_separator'], ['{]', 'unexpected_char'], [']', 'unexpected_char'],
    ['1 2', 'trailing_data'], ['[] []', 'trailing_data'], ["'a' 'b'", 'trailing_data'], ["'''a'''", 'trailing_data'],
    ['{[1]: 2}', 'bad_key'], ['{(1,): 2}', 'bad_key'], ['{1.5: 2}', 'bad_key'], ['{{}: 1}', 'bad_key'],
    ['# comment', 'unexpected_char'], ['1 # c', 'trailing_data'], ['\ufeff{}', 'unexpected_char'], ['{\u00a0}', 'unexpected_char'],
    ['lambda: 1', 'identifier'], ['[1]*3', 'trailing_data'], ['1+1', 'bad_number'],
  ];
  it.each(cases)('%j -> %s', (text, reason) => {
    expect(reasonOf(() => parsePyLiteral(text))).toBe(reason);
  });

  it('enforces maxLength, maxDepth and maxItems', () => {
    expect(reasonOf(() => parsePyLiteral(`'${'a'.repeat(65535)}'`))).toBe('too_long');
    expect(parsePyLiteral(`'${'a'.repeat(65534)}'`)).toHaveLength(65534);
    expect(reasonOf(() => parsePyLiteral('[1, 2]', { maxLength: 5 }))).toBe('too_long');
    expect(parsePyLiteral('['.repeat(16) + ']'.repeat(16))).toBeDefined();
    expect(reasonOf(() => parsePyLiteral('['.repeat(17) + ']'.repeat(17)))).toBe('too_deep');
    expect(reasonOf(() => parsePyLiteral('[[[1]]]', { maxDepth: 2 }))).toBe('too_deep');
    const list = (n: number): string => `[${Array.from({ length: n }, () => '0').join(',')}]`;
    expect(parsePyLiteral(list(10000))).toHaveLength(10000);
    expect(reasonOf(() => parsePyLiteral(list(10001)))).toBe('too_many_items');
    // items are counted over all containers, dict pairs included
    expect(reasonOf(() => parsePyLiteral("[[1, 2], {'a': 3}]", { maxItems: 4 }))).toBe('too_many_items');
    expect(parsePyLiteral("[[1, 2], {'a': 3}]", { maxItems: 5 })).toEqual([[1, 2], dict({ a: 3 })]);
  });

  it('reports the position of an error', () => {
    try {
      parsePyLiteral("{'a': foo}");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PyLiteralError);
      expect((err as PyLiteralError).position).toBe(6);
      expect((err as PyLiteralError).message).toContain('identifier');
    }
  });
});

// ---------------------------------------------------------------- properties

describe('parsePyLiteral ∘ pyRepr', () => {
  it('round-trips arbitrary nested values (Python 3 repr)', () => {
    fc.assert(
      fc.property(pyValueArb(anyCodePointString, 4), (v) => {
        expect(parsePyLiteral(pyRepr(v))).toEqual(pyPlain(v));
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips arbitrary nested values (Python 2 repr)', () => {
    fc.assert(
      fc.property(pyValueArb(anyCodePointString, 4), (v) => {
        expect(parsePyLiteral(pyRepr(v, { python2: true }))).toEqual(pyPlain(v));
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips every single code point through str repr', () => {
    for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x3000 ? 1 : 97) {
      const s = String.fromCodePoint(cp);
      expect(parsePyLiteral(pyStrRepr(s))).toBe(s);
      expect(parsePyLiteral(pyStrRepr(s, { python2: true }))).toBe(s);
    }
  });
});

describe('cross-check against real CPython', () => {
  it('python3: pyRepr text and parsePyLiteral value match repr() of a few hundred random values', () => {
    const seed = Date.now() ^ (Math.random() * 0x7fffffff);
    const values = fc.sample(pyValueArb(curatedString, 4), { numRuns: 400, seed });
    values.push(
      'plain', "it's", 'both \' and "', '"', "'", '\\', '\x00\x1f\x7f\x80\x9f\xa0\xad\xff', '\u2028\u2029\u200b\ufeff',
      '\ud800', '\udfff', '\u{1f600}', '\u{e0001}', '\u{10ffff}', 'caf\u00e9', '\u3000',
      pyFloat(0), pyFloat(-0), pyFloat(1), pyFloat(1e16), pyFloat(1e15), pyFloat(123456789012345680),
      pyFloat(0.1), pyFloat(1e-4), pyFloat(1e-5), pyFloat(5e-324), pyFloat(Number.MAX_VALUE), pyFloat(2 ** 53),
      pyFloat(1 / 3), pyFloat(-2.5e-7), 2n ** 63n, -(2n ** 63n), 2n ** 63n - 1n, -(2n ** 64n),
      pyTuple(), pyTuple(1), pyTuple(pyTuple()), [], new Map(), new Map<PyKey, PyInput>([[1, 'a'], [false, 'b']]),
      new Map<PyKey, PyInput>([[null, 1], [-3n, 2], ['x', pyTuple('y', null)]]),
    );
    const reprs = runPython(PYTHON3, values);
    values.forEach((v, i) => {
      const context = `seed=${seed} index=${i}`;
      expect(pyRepr(v), context).toBe(reprs[i]);
      expect(parsePyLiteral(reprs[i] as string), context).toEqual(pyPlain(v));
    });
  });

  it('python3: str repr of every curated code point matches', () => {
    const values = CURATED.map((cp) => String.fromCodePoint(cp));
    const reprs = runPython(PYTHON3, values);
    values.forEach((v, i) => expect(pyStrRepr(v), `U+${CURATED[i]?.toString(16)}`).toBe(reprs[i]));
  });

  it('python3: printability differs only where CPython\'s older Unicode database has unassigned code points', () => {
    const bitmap = execFileSync(PYTHON3, ['-c',
      "import sys; sys.stdout.write(''.join('1' if chr(c).isprintable() else '0' for c in range(0x110000)))"],
    { encoding: 'utf8', maxBuffer: 8 * 1024 * 1024 });
    const differing: number[] = [];
    for (let cp = 0x80; cp < 0x110000; cp++) {
      const s = String.fromCodePoint(cp);
      const jsPrintable = pyStrRepr(s) === `'${s}'`;
      if (jsPrintable !== (bitmap[cp] === '1')) differing.push(cp);
    }
    const categories = execFileSync(PYTHON3, ['-c',
      'import sys, json, unicodedata; sys.stdout.write(json.dumps(sorted(set(unicodedata.category(chr(c)) for c in json.load(sys.stdin)))))'],
    { input: JSON.stringify(differing), encoding: 'utf8' });
    // empty when the JS engine and CPython share a Unicode version
    expect(JSON.parse(categories) as string[]).toEqual(differing.length ? ['Cn'] : []);
    expect(differing.every((cp) => !CURATED.includes(cp))).toBe(true);
  });

  it.skipIf(!PYTHON2)('python2.7: pyRepr(python2) text and parse value match repr()', () => {
    const seed = Date.now() ^ (Math.random() * 0x7fffffff);
    // at most one key per dict: CPython 2 prints dicts in hash order
    const values = fc.sample(pyValueArb(curatedString, 1), { numRuns: 300, seed });
    values.push(
      'caf\u00e9', '\u{1f600}', '\ud800', "it's", new PyLong(5), new PyLong(0), 2n ** 63n, 2n ** 63n - 1n, -(2n ** 63n) - 1n,
      pyFloat(1e22), pyFloat(0.1), pyTuple(1), new Map<PyKey, PyInput>([['k', [pyTuple(), null]]]),
    );
    const reprs = runPython(PYTHON2 as string, values);
    values.forEach((v, i) => {
      const context = `seed=${seed} index=${i}`;
      expect(pyRepr(v, { python2: true }), context).toBe(reprs[i]);
      expect(parsePyLiteral(reprs[i] as string), context).toEqual(pyPlain(v));
    });
  });

  it.skipIf(!PYTHON2)('python2.7: multi-key dicts parse to the same value whatever the order', () => {
    const seed = Date.now() ^ (Math.random() * 0x7fffffff);
    const values = fc.sample(pyValueArb(curatedString, 5), { numRuns: 200, seed });
    const reprs = runPython(PYTHON2 as string, values);
    values.forEach((v, i) => expect(parsePyLiteral(reprs[i] as string), `seed=${seed} index=${i}`).toEqual(pyPlain(v)));
  });
});

// ---------------------------------------------------------------- fuzz

const TOKENS = [
  '[', ']', '(', ')', '{', '}', ',', ':', "'", '"', '\\', 'u', 'b', 'r', 'U', 'L', '1', '0', '-', '.', 'e',
  'True', 'None', ' ', '\n', 'x', 'N', '7', '\\x', '\\u', '\\U0010', "u'", "b'", '\ud800', '\u00e9',
];

describe('fuzz: parsePyLiteral only ever throws PyLiteralError', () => {
  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => onlyPyErrors(() => parsePyLiteral(s))), { numRuns: 3000 });
    fc.assert(fc.property(anyCodePointString, (s) => onlyPyErrors(() => parsePyLiteral(s))), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => onlyPyErrors(() => parsePyLiteral(s))), { numRuns: 2000 });
  });

  it('token soup', () => {
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((t) => t.join(''));
    fc.assert(fc.property(soup, (s) => onlyPyErrors(() => parsePyLiteral(s))), { numRuns: 5000 });
  });

  it('mutated valid reprs', () => {
    const mutated = fc
      .tuple(pyValueArb(anyCodePointString, 4), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.constantFrom(...TOKENS)), { maxLength: 4 }))
      .map(([v, edits]) => {
        let s = pyRepr(v);
        for (const [at, del, ins] of edits) {
          const p = s.length ? at % s.length : 0;
          s = s.slice(0, p) + ins + s.slice(p + del);
        }
        return s;
      });
    fc.assert(fc.property(mutated, (s) => onlyPyErrors(() => parsePyLiteral(s))), { numRuns: 3000 });
  });

  it('deep nesting cannot overflow the stack, even with limits lifted', () => {
    for (const open of ['[', '(', '{', "{'a': ", "{1: ["]) {
      const t0 = performance.now();
      expect(reasonOf(() => parsePyLiteral(open.repeat(100000), { maxLength: 1e7 }))).toBe('too_deep');
      expect(performance.now() - t0).toBeLessThan(2000);
    }
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    const unlimited = { maxLength: 1e7, maxDepth: 1e7, maxItems: 1e7 };
    let v = parsePyLiteral(deep, unlimited);
    let depth = 0;
    while (Array.isArray(v) && v.length) {
      v = v[0] as PyValue;
      depth++;
    }
    expect(depth).toBe(99999);
    expect(reasonOf(() => parsePyLiteral('['.repeat(100000), unlimited))).toBe('unexpected_end');
  });

  it('huge inputs finish fast (linear time)', () => {
    const unlimited = { maxLength: 1e8, maxDepth: 1e7, maxItems: 1e8 };
    const inputs = [
      `'${'\\x41\\u2603\\U0001f600\\n\\\\'.repeat(100000)}'`,
      `[${"'ab', ".repeat(200000)}]`,
      `{${Array.from({ length: 100000 }, (_, i) => `'k${i}': (${i}, None)`).join(', ')}}`,
      `[${'1.5e-3, -7L, '.repeat(200000)}]`,
      '1'.repeat(1e6),
      `'${'a'.repeat(4e6)}`,
    ];
    for (const text of inputs) {
      const t0 = performance.now();
      onlyPyErrors(() => parsePyLiteral(text, unlimited));
      expect(performance.now() - t0, text.slice(0, 30)).toBeLessThan(5000);
    }
    // default limits reject big inputs before doing any work
    const big = '['.repeat(1e7);
    const t0 = performance.now();
    expect(reasonOf(() => parsePyLiteral(big))).toBe('too_long');
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

// ---------------------------------------------------------------- hex + parseCheckin

describe('decodeHexQuery', () => {
  it('decodes upper- and lower-case hex as UTF-8', () => {
    expect(decodeHexQuery(hexOf("{'n': 'caf\u00e9 \u{1f600}'}"))).toBe("{'n': 'caf\u00e9 \u{1f600}'}");
    expect(decodeHexQuery('7b7D')).toBe('{}');
    expect(decodeHexQuery('')).toBe('');
  });

  const bad: Array<[string, string]> = [
    ['7', 'hex_odd_length'], ['7B7', 'hex_odd_length'], ['7G', 'bad_hex'], ['7B 7D', 'hex_odd_length'], ['7B+7D7', 'bad_hex'],
    ['0x7B', 'bad_hex'], ['%7B', 'hex_odd_length'], ['FF', 'bad_utf8'], ['C3', 'bad_utf8'], ['C328', 'bad_utf8'],
    ['EDA080', 'bad_utf8'], ['F4908080', 'bad_utf8'], ['C0AF', 'bad_utf8'], ['E282', 'bad_utf8'],
  ];
  it.each(bad)('%s -> %s', (hex, reason) => {
    expect(reasonOf(() => decodeHexQuery(hex))).toBe(reason);
  });

  it('bounds the size', () => {
    expect(decodeHexQuery('41'.repeat(32768))).toHaveLength(32768);
    expect(reasonOf(() => decodeHexQuery('41'.repeat(32769)))).toBe('hex_too_long');
    expect(reasonOf(() => decodeHexQuery('4142', 1))).toBe('hex_too_long');
  });
});

describe('parseCheckin', () => {
  const payload = (body: string): string => hexOf(body);

  it('returns ok:false for non-dicts and malformed input', () => {
    for (const text of ['[1]', '1', "'a'", 'None', '()', 'True', '{1, 2}', '']) {
      const r = parseCheckin(payload(text));
      expect(r.ok).toBe(false);
    }
    expect(parseCheckin(payload('[1]'))).toEqual({ ok: false, reason: 'not_a_dict' });
    expect(parseCheckin(payload('{1, 2}'))).toEqual({ ok: false, reason: 'set_not_allowed' });
    expect(parseCheckin('ABC')).toEqual({ ok: false, reason: 'hex_odd_length' });
    expect(parseCheckin('FFFE')).toEqual({ ok: false, reason: 'bad_utf8' });
    expect(parseCheckin('')).toEqual({ ok: false, reason: 'empty' });
    expect(parseCheckin('n=7B7D')).toEqual({ ok: false, reason: 'bad_hex' });
  });

  it('accepts an empty dict with every field null', () => {
    const r = parseCheckin(payload('{}'));
    expect(r.ok && Object.values(r.fields).every((v) => v === null)).toBe(true);
  });

  it('turns wrong types into null without failing the check-in', () => {
    const r = parseCheckin(payload(
      "{'machine': 1, 'node': ['x'], 'release': None, 'uptime': 'soon', 'patch_level': 'x', " +
      "'server_id': True, 'state': 'on', 'kcare_version': {'a': 1}, 'virt': 'kvm', 'extra': 'ignored'}",
    ));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.fields).toMatchObject({
      machine: null, node: null, release: null, uptime: null, patchLevel: null, serverId: null,
      state: null, kcareVersion: null, virt: 'kvm',
    });
    expect('extra' in r.fields).toBe(false);
  });

  it('reads uptime, patch_level and state', () => {
    const cases: Array<[string, number | null, number | null]> = [
      ["'uptime': '1043', 'patch_level': None", 1043, null],
      ["'uptime': ' 12 ', 'patch_level': 17", 12, 17],
      ["'uptime': '12.75', 'patch_level': '17'", 12.75, 17],
      ["'uptime': 99, 'patch_level': 17L", 99, 17],
      ["'uptime': '-1', 'patch_level': -1", null, null],
      ["'uptime': '1e9', 'patch_level': 1.5", null, null],
      ["'uptime': u'5', 'patch_level': u'0'", 5, 0],
      ["'uptime': '', 'patch_level': True", null, null],
      ["'uptime': '99999999999999999999', 'patch_level': 99999999999999999999", null, null],
    ];
    for (const [body, uptime, level] of cases) {
      const r = parseCheckin(payload(`{${body}}`));
      expect(r.ok && [r.fields.uptime, r.fields.patchLevel], body).toEqual([uptime, level]);
    }
    const r = parseCheckin(payload(
      "{'state': {'khash': 'abc', 'future': 'latest', 'mode': 'auto', 'action': 'update', 'current': 17, 'kmod_changed': True, 'x': 1}}",
    ));
    expect(r.ok && r.fields.state).toEqual({
      khash: 'abc', future: 'latest', mode: 'auto', action: 'update', current: 17, kmodChanged: true,
    });
    const r2 = parseCheckin(payload("{'state': {'current': None, 'kmod_changed': 1, 'future': 2.5}}"));
    expect(r2.ok && r2.fields.state).toEqual({
      khash: null, future: null, mode: null, action: null, current: null, kmodChanged: null,
    });
  });

  it('strips control characters, repairs lone surrogates and truncates', () => {
    const r = parseCheckin(payload(
      `{'node': 'a\\x00b\\nc\\x1b[31md\\x7f\\x85e\\u2028f', 'machine': '${'m'.repeat(300)}', ` +
      `'version': '${'v'.repeat(600)}', 'distro': 'x\\ud800y', 'release': '${'r'.repeat(254)}\\U0001f600'}`,
    ));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.fields.node).toBe('abc[31mdef');
    expect(r.fields.machine).toHaveLength(255);
    expect(r.fields.version).toHaveLength(512);
    expect(r.fields.distro).toBe('x\ufffdy');
    // a surrogate pair straddling the limit is dropped, not split
    expect(r.fields.release).toBe('r'.repeat(254));
  });

  it('reads a Python 2 payload by name', () => {
    const r = parseCheckin(payload(
      "{u'node': u'host1', u'patch_level': 23L, u'distro': u'debian', u'distro_version': u'12.11', u'server_id': u'S1'}",
    ));
    expect(r.ok && r.fields).toMatchObject({ node: 'host1', patchLevel: 23, distro: 'debian', distroVersion: '12.11', serverId: 'S1' });
  });

  it('never throws, whatever the query', () => {
    const neverThrows = (q: string): void => {
      const r = parseCheckin(q);
      expect(typeof r.ok).toBe('boolean');
      if (!r.ok) expect(r.reason).not.toBe('internal_error');
    };
    fc.assert(fc.property(fc.string({ maxLength: 300 }), neverThrows), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), neverThrows), { numRuns: 1000 });
    const hexChar = fc.constantFrom(...'0123456789abcdefABCDEF');
    fc.assert(fc.property(fc.string({ unit: hexChar, maxLength: 300 }), neverThrows), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => neverThrows(Buffer.from(b).toString('hex'))), { numRuns: 2000 });
    // odd length
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => neverThrows(`${Buffer.from(b).toString('hex')}A`)), { numRuns: 500 });
    // invalid UTF-8 spliced into a valid payload
    const badUtf8 = fc.constantFrom('FF', 'C3', 'EDA080', 'F8888080', 'C0AF', 'E282', 'FE', '80');
    fc.assert(
      fc.property(fc.nat(), badUtf8, (at, bad) => {
        const good = hexOf(DOC_PAYLOAD);
        const p = (at % (good.length / 2)) * 2;
        const q = good.slice(0, p) + bad + good.slice(p);
        neverThrows(q);
        expect(parseCheckin(q)).toEqual({ ok: false, reason: 'bad_utf8' });
      }),
      { numRuns: 500 },
    );
    // valid reprs of arbitrary values: ok exactly when the top level is a dict
    fc.assert(
      fc.property(pyValueArb(anyCodePointString, 4), (v) => {
        const r = parseCheckin(hexOf(pyRepr(v)));
        const isDict = v instanceof Map;
        expect(r.ok).toBe(isDict);
      }),
      { numRuns: 1000 },
    );
    neverThrows('41'.repeat(40000));
    neverThrows(hexOf('['.repeat(20000)));
    neverThrows(hexOf(`{'a': ${'['.repeat(20)}}`));
  });
});
