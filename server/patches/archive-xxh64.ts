/**
 * Streaming XXH64 (seed 0), needed because fzstd skips the content checksum
 * that zstd writes by default; without it a corrupted zstd archive can unpack
 * "successfully" into different bytes. 64-bit words are kept as (hi, lo) uint32
 * pairs: BigInt arithmetic would be an order of magnitude slower.
 */

type U64 = [hi: number, lo: number];

const P1: U64 = [0x9e3779b1, 0x85ebca87];
const P2: U64 = [0xc2b2ae3d, 0x27d4eb4f];
const P3: U64 = [0x165667b1, 0x9e3779f9];
const P4: U64 = [0x85ebca77, 0xc2b2ae63];
const P5: U64 = [0x27d4eb2f, 0x165667c5];
const STRIPE = 32;

function add(a: U64, b: U64): U64 {
  const lo = a[1] + b[1];
  return [(a[0] + b[0] + (lo > 0xffffffff ? 1 : 0)) >>> 0, lo >>> 0];
}

function sub(a: U64, b: U64): U64 {
  const lo = a[1] - b[1];
  return [(a[0] - b[0] - (lo < 0 ? 1 : 0)) >>> 0, lo >>> 0];
}

// Low 64 bits of a*b: the 32x32 low product needs its high half, built from 16-bit pieces.
function mul(a: U64, b: U64): U64 {
  const a0 = a[1] & 0xffff;
  const a1 = a[1] >>> 16;
  const b0 = b[1] & 0xffff;
  const b1 = b[1] >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const loHi = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  const hi = loHi + Math.imul(a[0], b[1]) + Math.imul(a[1], b[0]);
  return [hi >>> 0, Math.imul(a[1], b[1]) >>> 0];
}

function rotl(a: U64, r: number): U64 {
  if (r === 32) return [a[1], a[0]];
  const [hi, lo] = r > 32 ? [a[1], a[0]] : a;
  const s = r % 32;
  return [((hi << s) | (lo >>> (32 - s))) >>> 0, ((lo << s) | (hi >>> (32 - s))) >>> 0];
}

function xor(a: U64, b: U64): U64 {
  return [(a[0] ^ b[0]) >>> 0, (a[1] ^ b[1]) >>> 0];
}

function shr(a: U64, r: number): U64 {
  return r >= 32 ? [0, a[0] >>> (r - 32)] : [a[0] >>> r, ((a[1] >>> r) | (a[0] << (32 - r))) >>> 0];
}

function read64(b: Uint8Array, off: number): U64 {
  return [read32(b, off + 4), read32(b, off)];
}

function read32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

function round(acc: U64, lane: U64): U64 {
  return mul(rotl(add(acc, mul(lane, P2)), 31), P1);
}

function mergeRound(acc: U64, v: U64): U64 {
  return add(mul(xor(acc, round([0, 0], v)), P1), P4);
}

/** Incremental XXH64 with seed 0. */
export class Xxh64 {
  private v: [U64, U64, U64, U64] = [add(P1, P2), P2, [0, 0], sub([0, 0], P1)];
  private readonly tail = new Uint8Array(STRIPE);
  private tailLength = 0;
  private total = 0;

  /** Adds bytes to the hash. */
  update(data: Uint8Array): void {
    this.total += data.length;
    let off = 0;
    if (this.tailLength > 0) {
      const n = Math.min(STRIPE - this.tailLength, data.length);
      this.tail.set(data.subarray(0, n), this.tailLength);
      this.tailLength += n;
      off = n;
      if (this.tailLength < STRIPE) return;
      this.stripe(this.tail, 0);
      this.tailLength = 0;
    }
    for (; off + STRIPE <= data.length; off += STRIPE) this.stripe(data, off);
    this.tail.set(data.subarray(off), 0);
    this.tailLength = data.length - off;
  }

  /** The low 32 bits of the digest, which is what a zstd frame stores. */
  digestLow32(): number {
    return this.digest()[1];
  }

  /** The full digest as a 16-digit hex string. */
  digestHex(): string {
    const [hi, lo] = this.digest();
    return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
  }

  private stripe(b: Uint8Array, off: number): void {
    const v = this.v;
    for (let i = 0; i < 4; i++) v[i] = round(v[i]!, read64(b, off + i * 8));
  }

  private digest(): U64 {
    const [v1, v2, v3, v4] = this.v;
    let h: U64;
    if (this.total >= STRIPE) {
      h = add(add(rotl(v1, 1), rotl(v2, 7)), add(rotl(v3, 12), rotl(v4, 18)));
      for (const v of this.v) h = mergeRound(h, v);
    } else {
      h = P5;
    }
    h = add(h, [Math.floor(this.total / 2 ** 32) >>> 0, this.total >>> 0]);
    return avalanche(finishTail(h, this.tail, this.tailLength));
  }
}

function finishTail(start: U64, b: Uint8Array, length: number): U64 {
  let h = start;
  let off = 0;
  for (; off + 8 <= length; off += 8) h = add(mul(rotl(xor(h, round([0, 0], read64(b, off))), 27), P1), P4);
  if (off + 4 <= length) {
    h = add(mul(rotl(xor(h, mul([0, read32(b, off)], P1)), 23), P2), P3);
    off += 4;
  }
  for (; off < length; off++) h = mul(rotl(xor(h, mul([0, b[off]!], P5)), 11), P1);
  return h;
}

function avalanche(start: U64): U64 {
  let h = mul(xor(start, shr(start, 33)), P2);
  h = mul(xor(h, shr(h, 29)), P3);
  return xor(h, shr(h, 32));
}
