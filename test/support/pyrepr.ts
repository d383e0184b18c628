/**
 * Reproduces CPython's `repr()` (3.x, or 2.7 with `python2: true`) so tests can
 * build check-in payloads byte for byte as a real agent would. Cross-checked
 * against real interpreters in test/unit/pyliteral.test.ts.
 */

/** Marks an array as a Python tuple. */
export class PyTuple {
  constructor(readonly items: readonly PyInput[]) {}
}

/** Marks a number as a Python float even when it is integral (`1.0`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Marks an int as a Python 2 long (`123L`); plain int under Python 3. */
export class PyLong {
  constructor(readonly value: number | bigint) {}
}

/** Dict keys Python would accept from our inputs. */
export type PyKey = string | number | bigint | boolean | null;

/**
 * Input accepted by {@link pyRepr}. Integral JS numbers are ints, others floats;
 * arrays are lists; plain objects and Maps are dicts (a Map keeps non-string keys
 * and insertion order even for integer-like keys).
 */
export type PyInput =
  | string
  | number
  | bigint
  | boolean
  | null
  | PyTuple
  | PyFloat
  | PyLong
  | readonly PyInput[]
  | ReadonlyMap<PyKey, PyInput>
  | { readonly [k: string]: PyInput };

export interface PyReprOptions {
  /** Python 2.7 (wide build): unicode strings with `u` prefix, ASCII-only escapes, longs with `L`. */
  python2?: boolean;
}

/** Shorthand for `new PyTuple(items)`. */
export function pyTuple(...items: PyInput[]): PyTuple {
  return new PyTuple(items);
}

/** Shorthand for `new PyFloat(x)`. */
export function pyFloat(x: number): PyFloat {
  return new PyFloat(x);
}

/** Shorthand for `new PyLong(x)`. */
export function pyLong(x: number | bigint): PyLong {
  return new PyLong(x);
}

// Python's str.isprintable() is false for these categories (space is special-cased
// by the ASCII path). The JS engine's Unicode version may be newer than CPython's,
// so recently assigned code points can differ: that is the "approximation".
const NON_PRINTABLE_RE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

function hex(cp: number, width: number): string {
  return cp.toString(16).padStart(width, '0');
}

function escapeCodePoint(cp: number): string {
  if (cp <= 0xff) return `\\x${hex(cp, 2)}`;
  if (cp <= 0xffff) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

function pickQuote(s: string): string {
  return s.includes("'") && !s.includes('"') ? '"' : "'";
}

function escapeChar(ch: string, cp: number, quote: string, python2: boolean): string {
  if (ch === quote || ch === '\\') return `\\${ch}`;
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  if (cp < 0x20 || cp === 0x7f) return escapeCodePoint(cp);
  if (cp < 0x7f) return ch;
  if (python2) return escapeCodePoint(cp);
  return NON_PRINTABLE_RE.test(ch) ? escapeCodePoint(cp) : ch;
}

/** `repr()` of a str (Python 3) or unicode (Python 2) object. */
export function pyStrRepr(s: string, opts?: PyReprOptions): string {
  const python2 = opts?.python2 ?? false;
  const quote = pickQuote(s);
  let out = python2 ? `u${quote}` : quote;
  // for..of walks code points; lone surrogates come through as single units
  for (const ch of s) out += escapeChar(ch, ch.codePointAt(0) as number, quote, python2);
  return out + quote;
}

/** `repr()` of a float, using the same shortest round-trip digits as CPython's 'r' format. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const exp = Number(expText);
  const decpt = exp + 1; // value = 0.<digits> * 10^decpt
  const sign = x < 0 ? '-' : '';
  // CPython float_repr_style 'short': exponent form outside 1e-4 <= |x| < 1e16
  if (decpt <= -4 || decpt > 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const expAbs = String(Math.abs(exp)).padStart(2, '0');
    return `${sign}${digits[0] as string}${frac}e${exp < 0 ? '-' : '+'}${expAbs}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** `repr()` of an int; Python 2 auto-promotes values outside int64 to long. */
export function pyIntRepr(v: number | bigint, opts?: PyReprOptions & { long?: boolean }): string {
  const big = typeof v === 'bigint' ? v : BigInt(v);
  const text = big.toString();
  if (!opts?.python2) return text;
  return opts.long || big < INT64_MIN || big > INT64_MAX ? `${text}L` : text;
}

function reprNumber(v: number, python2: boolean): string {
  // -0 has no int form; keep the sign by printing it as a float
  if (Number.isInteger(v) && !Object.is(v, -0)) return pyIntRepr(v, { python2 });
  return pyFloatRepr(v);
}

function reprScalar(v: string | number | bigint | boolean | null, python2: boolean): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return pyStrRepr(v, { python2 });
  if (typeof v === 'bigint') return pyIntRepr(v, { python2 });
  return reprNumber(v, python2);
}

function reprSeq(items: readonly PyInput[], open: string, close: string, python2: boolean): string {
  const parts = items.map((i) => reprValue(i, python2));
  // a 1-tuple needs its trailing comma: (1,)
  const tail = open === '(' && parts.length === 1 ? ',' : '';
  return `${open}${parts.join(', ')}${tail}${close}`;
}

function reprDict(entries: Iterable<readonly [PyKey, PyInput]>, python2: boolean): string {
  const parts: string[] = [];
  for (const [k, v] of entries) parts.push(`${reprScalar(k, python2)}: ${reprValue(v, python2)}`);
  return `{${parts.join(', ')}}`;
}

function reprValue(v: PyInput, python2: boolean): string {
  if (v === null || typeof v !== 'object') {
    if (v === undefined) throw new TypeError('pyRepr: undefined has no Python form');
    return reprScalar(v, python2);
  }
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (v instanceof PyLong) return pyIntRepr(v.value, { python2, long: true });
  if (v instanceof PyTuple) return reprSeq(v.items, '(', ')', python2);
  if (Array.isArray(v)) return reprSeq(v as readonly PyInput[], '[', ']', python2);
  if (v instanceof Map) return reprDict((v as ReadonlyMap<PyKey, PyInput>).entries(), python2);
  return reprDict(Object.entries(v as { readonly [k: string]: PyInput }), python2);
}

/** Python's `repr(value)` (and `str()` of containers), Python 3 unless `python2` is set. */
export function pyRepr(value: PyInput, opts?: PyReprOptions): string {
  return reprValue(value, opts?.python2 ?? false);
}

/** Type of what parsePyLiteral returns for a given input (wrappers removed, keys stringified). */
export type PyPlain = string | number | bigint | boolean | null | PyPlain[] | { [k: string]: PyPlain };

function keyToPlain(k: PyKey): string {
  if (k === null) return 'None';
  if (typeof k === 'boolean') return k ? 'True' : 'False';
  return String(k);
}

function plainInt(v: number | bigint): number | bigint {
  // integral doubles beyond 2^53 are printed as exact ints and parse back as bigint
  if (typeof v === 'number') return Number.isSafeInteger(v) || !Number.isInteger(v) ? v : BigInt(v);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** What `parsePyLiteral(pyRepr(v))` should yield: wrappers removed, dict keys as strings, safe bigints as numbers. */
export function pyPlain(v: PyInput): PyPlain {
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' || typeof v === 'number' ? plainInt(v) : v;
  if (v instanceof PyFloat) return v.value;
  if (v instanceof PyLong) return plainInt(v.value);
  if (v instanceof PyTuple) return v.items.map(pyPlain);
  if (Array.isArray(v)) return (v as readonly PyInput[]).map(pyPlain);
  const out = Object.create(null) as { [k: string]: PyPlain };
  const entries: Iterable<readonly [PyKey, PyInput]> =
    v instanceof Map ? (v as ReadonlyMap<PyKey, PyInput>).entries() : Object.entries(v as { readonly [k: string]: PyInput });
  for (const [k, val] of entries) out[keyToPlain(k)] = pyPlain(val);
  return out;
}
