/**
 * Strict, bounded parser for the Python-literal dict that kcarectl hex-encodes
 * into the `latest.v2?<HEX>` check-in (see docs/agent-protocol.md).
 *
 * Input is attacker-controlled: nothing is ever evaluated, the parser is
 * iterative (an explicit stack, so nesting cannot overflow the JS stack), runs
 * in one linear pass and enforces limits on length, depth and item count.
 */

/** A parsed Python literal; tuples become arrays, dicts null-prototype objects. */
export type PyValue = string | number | bigint | boolean | null | PyValue[] | { [k: string]: PyValue };

/** Limits applied by {@link parsePyLiteral}. */
export interface PyLiteralLimits {
  maxLength?: number;
  maxDepth?: number;
  maxItems?: number;
}

/** Thrown for any input that is not an acceptable Python literal. */
export class PyLiteralError extends Error {
  /** Short machine-readable cause, e.g. `too_deep`, `bad_escape`. */
  readonly reason: string;
  /** Offset in the input where the problem was detected (-1 if not positional). */
  readonly position: number;

  constructor(reason: string, position = -1, detail?: string) {
    super(`python literal: ${reason}${position >= 0 ? ` at ${position}` : ''}${detail ? ` (${detail})` : ''}`);
    this.name = 'PyLiteralError';
    this.reason = reason;
    this.position = position;
  }
}

const DEFAULT_MAX_LENGTH = 65536;
const DEFAULT_MAX_DEPTH = 16;
const DEFAULT_MAX_ITEMS = 10000;
/** CPython 3.11+ refuses int<->str conversions above 4300 digits; same bound keeps BigInt parsing cheap. */
const MAX_INT_DIGITS = 4300;

type PyDict = { [k: string]: PyValue };

interface Frame {
  kind: 'list' | 'tuple' | 'dict';
  items: PyValue[];
  dict: PyDict | null;
  /** Dict only: the key read so far, waiting for its value. */
  key: string | null;
  /** Tuple only: distinguishes `(1)` (grouping) from `(1,)`. */
  sawComma: boolean;
}

const CLOSER: Record<Frame['kind'], string> = { list: ']', tuple: ')', dict: '}' };

function isWs(c: number): boolean {
  // space, \t, \n, \r, \f: newlines are legal inside brackets in Python source
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isIdentStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function newDict(): PyDict {
  // null prototype: keys such as `__proto__` or `constructor` stay plain data
  return Object.create(null) as PyDict;
}

/** Single-pass cursor over the input; every method advances `pos` monotonically. */
class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  fail(reason: string, detail?: string): never {
    throw new PyLiteralError(reason, this.pos, detail);
  }

  skipWs(): void {
    const t = this.text;
    while (this.pos < t.length && isWs(t.charCodeAt(this.pos))) this.pos++;
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  /** Reads a scalar (string, number, True/False/None) at the cursor. */
  readScalar(): PyValue {
    const c = this.peek();
    if (c === -1) this.fail('unexpected_end');
    if (c === 0x27 || c === 0x22) return this.readString(false, false);
    if (isDigit(c) || c === 0x2d || c === 0x2e) return this.readNumber();
    if (isIdentStart(c)) return this.readWord();
    return this.fail('unexpected_char', JSON.stringify(String.fromCodePoint(this.text.codePointAt(this.pos) ?? c)));
  }

  /** Keywords and string prefixes (u, b, r and their combinations). */
  private readWord(): PyValue {
    const start = this.pos;
    const t = this.text;
    while (this.pos < t.length && isIdentPart(t.charCodeAt(this.pos))) this.pos++;
    const word = t.slice(start, this.pos);
    const next = this.peek();
    if (next === 0x27 || next === 0x22) {
      const p = word.toLowerCase();
      const raw = p.includes('r');
      const bytes = p.includes('b');
      if (p === 'u' || p === 'b' || p === 'r' || p === 'ur' || p === 'br' || p === 'rb') return this.readString(raw, bytes);
      this.pos = start;
      return this.fail('bad_string_prefix', word.slice(0, 8));
    }
    if (word === 'True') return true;
    if (word === 'False') return false;
    if (word === 'None') return null;
    this.pos = start;
    return this.fail('identifier', word.slice(0, 32));
  }

  private readString(raw: boolean, bytes: boolean): string {
    const t = this.text;
    const quote = t.charCodeAt(this.pos);
    this.pos++;
    let out = '';
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated_string');
      const c = t.charCodeAt(this.pos);
      if (c === quote) {
        out += t.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c === 0x0a || c === 0x0d) this.fail('unterminated_string');
      if (bytes && c > 0x7f) this.fail('non_ascii_bytes');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(runStart, this.pos);
      out += raw ? this.readRawEscape(bytes) : this.readEscape(bytes);
      runStart = this.pos;
    }
  }

  /** In raw strings a backslash only stops the next char from closing the string; both are kept. */
  private readRawEscape(bytes: boolean): string {
    const t = this.text;
    const next = this.pos + 1 < t.length ? t.charCodeAt(this.pos + 1) : -1;
    if (next === -1 || next === 0x0a || next === 0x0d) this.fail('unterminated_string');
    if (bytes && next > 0x7f) this.fail('non_ascii_bytes');
    this.pos += 2;
    return t.slice(this.pos - 2, this.pos);
  }

  private readEscape(bytes: boolean): string {
    const t = this.text;
    this.pos++; // the backslash
    if (this.pos >= t.length) this.fail('unterminated_string');
    const e = t[this.pos] as string;
    this.pos++;
    switch (e) {
      case '\\': return '\\';
      case "'": return "'";
      case '"': return '"';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'a': return '\x07';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'v': return '\v';
      case 'x': return String.fromCharCode(this.readHexDigits(2));
      case 'u': return bytes ? '\\u' : String.fromCharCode(this.readHexDigits(4));
      case 'U': return bytes ? '\\U' : this.readLongUnicode();
      case '\n':
      case '\r':
        return this.fail('line_continuation');
      case 'N':
        return bytes ? '\\N' : this.fail('bad_escape', '\\N{...} is not supported');
      default:
        if (e >= '0' && e <= '7') return this.readOctal(e, bytes);
        // Python keeps unknown escapes verbatim (backslash included)
        this.pos--;
        return '\\';
    }
  }

  private readHexDigits(n: number): number {
    const t = this.text;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const h = this.pos < t.length ? hexValue(t.charCodeAt(this.pos)) : -1;
      if (h < 0) this.fail('bad_escape', `expected ${n} hex digits`);
      v = v * 16 + h;
      this.pos++;
    }
    return v;
  }

  private readLongUnicode(): string {
    const cp = this.readHexDigits(8);
    if (cp > 0x10ffff) this.fail('bad_escape', 'code point out of range');
    return String.fromCodePoint(cp);
  }

  private readOctal(first: string, bytes: boolean): string {
    let v = first.charCodeAt(0) - 0x30;
    for (let i = 0; i < 2; i++) {
      const c = this.peek();
      if (c < 0x30 || c > 0x37) break;
      v = v * 8 + (c - 0x30);
      this.pos++;
    }
    if (bytes && v > 0xff) this.fail('bad_escape', 'octal escape out of byte range');
    return String.fromCharCode(v);
  }

  private readNumber(): number | bigint {
    const t = this.text;
    const start = this.pos;
    if (this.peek() === 0x2d) this.pos++;
    const intStart = this.pos;
    while (isDigit(this.peek())) this.pos++;
    const intDigits = this.pos - intStart;
    let isFloat = false;
    if (this.peek() === 0x2e) {
      isFloat = true;
      this.pos++;
      const fracStart = this.pos;
      while (isDigit(this.peek())) this.pos++;
      if (intDigits === 0 && this.pos === fracStart) this.fail('bad_number');
    } else if (intDigits === 0) {
      this.fail('bad_number');
    }
    const e = this.peek();
    if (e === 0x65 || e === 0x45) {
      isFloat = true;
      this.pos++;
      const s = this.peek();
      if (s === 0x2b || s === 0x2d) this.pos++;
      const expStart = this.pos;
      while (isDigit(this.peek())) this.pos++;
      if (this.pos === expStart) this.fail('bad_number');
    }
    const body = t.slice(start, this.pos);
    const l = this.peek();
    // Python 2 long suffix: the value is the same int
    if (!isFloat && (l === 0x4c || l === 0x6c)) this.pos++;
    this.requireDelimiter();
    if (isFloat) return this.toFloat(body, start);
    return this.toInt(body, intStart, intDigits, start);
  }

  /** A number must be followed by a separator so `1abc`, `0x1F`, `1j`, `1_0` are rejected. */
  private requireDelimiter(): void {
    const c = this.peek();
    if (c === -1 || isWs(c) || c === 0x2c || c === 0x3a || c === 0x5d || c === 0x29 || c === 0x7d) return;
    this.fail('bad_number');
  }

  private toFloat(body: string, start: number): number {
    const v = Number(body);
    if (!Number.isFinite(v)) throw new PyLiteralError('not_finite', start);
    return v;
  }

  private toInt(body: string, intStart: number, digits: number, start: number): number | bigint {
    if (digits > 1 && this.text.charCodeAt(intStart) === 0x30) throw new PyLiteralError('bad_number', start, 'leading zero');
    if (digits > MAX_INT_DIGITS) throw new PyLiteralError('int_too_long', start);
    if (digits <= 15) {
      const n = Number(body);
      return n === 0 ? 0 : n; // no -0 for ints
    }
    const big = BigInt(body);
    if (big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(big);
    return big;
  }
}

/** Converts a parsed dict key to its string form; Python allows int/bool/None keys. */
function keyToString(v: PyValue, sc: Scanner): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && Number.isInteger(v) && !Object.is(v, -0)) return String(v);
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null) return 'None';
  return sc.fail('bad_key');
}

function closeFrame(f: Frame): PyValue {
  if (f.kind === 'dict') return f.dict as PyDict;
  // `(x)` is just a parenthesised expression in Python, not a 1-tuple
  if (f.kind === 'tuple' && f.items.length === 1 && !f.sawComma) return f.items[0] as PyValue;
  return f.items;
}

function openFrame(c: number): Frame | null {
  if (c === 0x5b) return { kind: 'list', items: [], dict: null, key: null, sawComma: false };
  if (c === 0x28) return { kind: 'tuple', items: [], dict: null, key: null, sawComma: false };
  if (c === 0x7b) return { kind: 'dict', items: [], dict: newDict(), key: null, sawComma: false };
  return null;
}

/** Parses a Python literal (as printed by `repr()` in Python 2 or 3) without evaluating anything. */
export function parsePyLiteral(text: string, limits?: PyLiteralLimits): PyValue {
  const maxLength = limits?.maxLength ?? DEFAULT_MAX_LENGTH;
  const maxDepth = limits?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxItems = limits?.maxItems ?? DEFAULT_MAX_ITEMS;
  if (typeof text !== 'string') throw new PyLiteralError('not_a_string');
  if (text.length > maxLength) throw new PyLiteralError('too_long');
  const sc = new Scanner(text);
  const stack: Frame[] = [];
  let items = 0;
  sc.skipWs();
  if (sc.atEnd()) sc.fail('empty');

  for (;;) {
    // Phase 1: obtain the next complete value (or open a container and loop).
    sc.skipWs();
    const c = sc.peek();
    const opened = openFrame(c);
    if (opened) {
      if (stack.length >= maxDepth) sc.fail('too_deep');
      sc.pos++;
      stack.push(opened);
      continue;
    }
    let value: PyValue;
    const top = stack[stack.length - 1];
    if (top && c === CLOSER[top.kind].charCodeAt(0) && top.key === null) {
      // empty container or trailing comma: `[]`, `[1,]`, `()`, `{'a': 1,}`
      sc.pos++;
      stack.pop();
      value = closeFrame(top);
    } else {
      value = sc.readScalar();
    }

    // Phase 2: hand the value to its container; close containers as they end.
    for (;;) {
      const f = stack[stack.length - 1];
      if (!f) {
        sc.skipWs();
        if (!sc.atEnd()) sc.fail('trailing_data');
        return value;
      }
      if (f.kind === 'dict' && f.key === null) {
        f.key = keyToString(value, sc);
        sc.skipWs();
        const sep = sc.peek();
        if (sep === 0x3a) {
          sc.pos++;
          break;
        }
        if (sep === 0x2c || sep === 0x7d) sc.fail('set_not_allowed');
        sc.fail(sep === -1 ? 'unexpected_end' : 'expected_colon');
      }
      if (++items > maxItems) sc.fail('too_many_items');
      if (f.kind === 'dict') {
        (f.dict as PyDict)[f.key as string] = value;
        f.key = null;
      } else {
        f.items.push(value);
      }
      sc.skipWs();
      const sep = sc.peek();
      if (sep === 0x2c) {
        sc.pos++;
        f.sawComma = true;
        break;
      }
      if (sep === CLOSER[f.kind].charCodeAt(0)) {
        sc.pos++;
        stack.pop();
        value = closeFrame(f);
        continue;
      }
      sc.fail(sep === -1 ? 'unexpected_end' : 'expected_separator');
    }
  }
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Decodes the bare hex check-in query into UTF-8 text; throws PyLiteralError on anything malformed. */
export function decodeHexQuery(hex: string, maxBytes = 32768): string {
  if (typeof hex !== 'string') throw new PyLiteralError('not_a_string');
  if (hex.length > maxBytes * 2) throw new PyLiteralError('hex_too_long');
  if (hex.length % 2 !== 0) throw new PyLiteralError('hex_odd_length');
  // Buffer.from(.., 'hex') silently stops at the first bad digit, so validate first
  if (!HEX_RE.test(hex)) throw new PyLiteralError('bad_hex');
  const bytes = Buffer.from(hex, 'hex');
  try {
    // ignoreBOM keeps a leading BOM in the text so the strict parser rejects it
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new PyLiteralError('bad_utf8');
  }
}

/** The nested `state` dict of a check-in. */
export interface CheckinState {
  khash: string | null;
  future: string | number | null;
  mode: string | null;
  action: string | null;
  current: string | number | null;
  kmodChanged: boolean | null;
}

/** Check-in fields read by name from the agent's dict; anything missing or mistyped is null. */
export interface CheckinFields {
  machine: string | null;
  processor: string | null;
  release: string | null;
  system: string | null;
  version: string | null;
  distro: string | null;
  distroVersion: string | null;
  euname: string | null;
  kcareVersion: string | null;
  lastStop: string | null;
  node: string | null;
  uptime: number | null;
  virt: string | null;
  ltimestamp: string | null;
  patchLevel: number | null;
  patchType: string | null;
  serverId: string | null;
  state: CheckinState | null;
}

export type CheckinResult = { ok: true; fields: CheckinFields } | { ok: false; reason: string };

const MAX_FIELD = 255;
const MAX_VERSION_FIELD = 512;
// Cc controls, plus U+2028/2029 which act as line breaks in logs and JS
const CONTROL_RE = /[\p{Cc}\u2028\u2029]/gu;
// lone surrogates would turn into U+FFFD (or errors) when stored as UTF-8; make that explicit
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Strips control chars, repairs lone surrogates and truncates without splitting a pair. */
function cleanString(s: string, max: number): string {
  let out = s.replace(CONTROL_RE, '').replace(LONE_SURROGATE_RE, '\uFFFD');
  if (out.length > max) {
    out = out.slice(0, max);
    const last = out.charCodeAt(out.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) out = out.slice(0, -1);
  }
  return out;
}

function str(v: PyValue | undefined, max = MAX_FIELD): string | null {
  return typeof v === 'string' ? cleanString(v, max) : null;
}

const UINT_RE = /^\s*(\d{1,15})\s*$/;
const UDEC_RE = /^\s*(\d{1,15}(?:\.\d{1,9})?)\s*$/;

/** Seconds of uptime: the agent sends a decimal string; a plain number is accepted too. */
function uptimeField(v: PyValue | undefined): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = UDEC_RE.exec(v);
  return m ? Number(m[1]) : null;
}

/** Loaded patch level: None, an int or a numeric string; negatives and non-integers mean "none". */
function patchLevelField(v: PyValue | undefined): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = UINT_RE.exec(v);
  return m ? Number(m[1]) : null;
}

function strOrInt(v: PyValue | undefined): string | number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : null;
  return str(v);
}

function isDict(v: PyValue | undefined): v is PyDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stateField(v: PyValue | undefined): CheckinState | null {
  if (!isDict(v)) return null;
  const kmod = v['kmod_changed'];
  return {
    khash: str(v['khash']),
    future: strOrInt(v['future']),
    mode: str(v['mode']),
    action: str(v['action']),
    current: strOrInt(v['current']),
    kmodChanged: typeof kmod === 'boolean' ? kmod : null,
  };
}

/** Maps the agent's dict onto typed fields, tolerating wrong types field by field. */
function checkinFields(d: PyDict): CheckinFields {
  return {
    machine: str(d['machine']),
    processor: str(d['processor']),
    release: str(d['release']),
    system: str(d['system']),
    version: str(d['version'], MAX_VERSION_FIELD),
    distro: str(d['distro']),
    distroVersion: str(d['distro_version']),
    euname: str(d['euname']),
    kcareVersion: str(d['kcare_version']),
    lastStop: str(d['last_stop']),
    node: str(d['node']),
    uptime: uptimeField(d['uptime']),
    virt: str(d['virt']),
    ltimestamp: str(d['ltimestamp']),
    patchLevel: patchLevelField(d['patch_level']),
    patchType: str(d['patch_type']),
    serverId: str(d['server_id']),
    state: stateField(d['state']),
  };
}

/** Decodes and parses a `latest.v2?<HEX>` check-in query; never throws. */
export function parseCheckin(rawQuery: string): CheckinResult {
  try {
    const hex = typeof rawQuery === 'string' && rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery;
    const value = parsePyLiteral(decodeHexQuery(hex));
    if (!isDict(value)) return { ok: false, reason: 'not_a_dict' };
    return { ok: true, fields: checkinFields(value) };
  } catch (err) {
    return { ok: false, reason: err instanceof PyLiteralError ? err.reason : 'internal_error' };
  }
}
