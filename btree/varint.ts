/**
 * SQLite variable-length integers (like sqlite3GetVarint / sqlite3PutVarint in util.c).
 *
 * A varint is 1 to 9 bytes, big-endian, most significant group first:
 *
 *   BYTES  LAYOUT                                        VALUE BITS
 *   1..8   1xxxxxxx ... 0xxxxxxx (high bit = "more")     7 per byte, up to 56
 *   9      1xxxxxxx x8, then xxxxxxxx (all 8 bits)       8·7 + 8 = 64
 *
 * The 64 bits are a two's complement signed integer when the varint is a rowid, so negative
 * rowids are always 9 bytes. Other varints (payload sizes, header sizes, serial types) are
 * never negative in a sound file; callers treat a negative or bigint result there as CORRUPT.
 *
 * Decoding is on the hot path of every cell and record, so {@link readVarint} allocates
 * nothing: it returns the length (0 when the varint runs past `end`) and writes the value into
 * a caller-owned {@link Varint} slot, which callers reuse. Values up to 4 bytes (28 bits) are
 * assembled with 32-bit integer ops, up to 7 bytes with exact double arithmetic (< 2^49);
 * only 8- and 9-byte varints may need a bigint. The value is a `number` exactly when it is a
 * safe integer (|v| <= 2^53-1), else a `bigint` in int64 range. Callers that see mostly
 * one-byte varints (cell sizes, serial types) test `b[off] < 0x80` inline before calling.
 *
 * Encoding ({@link varintLength}, {@link writeVarint}) accepts number or bigint in
 * [-2^63, 2^64): negative values are written as their 64-bit two's complement (9 bytes),
 * values in [2^63, 2^64) as unsigned (used only for sizes). Anything else is a RANGE error.
 */
import { ErrorCode, QuireError } from '../pager/errors.js';

/** Reusable output slot of {@link readVarint}. */
export interface Varint {
  value: number | bigint;
}

const TWO32 = 4294967296;

/**
 * Decodes the varint at `buf[off]`, reading no byte at or past `end`. Returns its length
 * (1..9) and stores the value in `out.value`, or returns 0 (leaving `out` untouched) when the
 * varint is truncated by `end`; the caller raises CORRUPT naming its page.
 */
export function readVarint(buf: Uint8Array, off: number, end: number, out: Varint): number {
  if (off >= end) return 0;
  let x = buf[off];
  if (x < 0x80) {
    out.value = x;
    return 1;
  }
  // Bytes 1..3: still fits 28 bits, use int32 arithmetic.
  let hi = x & 0x7f;
  for (let i = 1; i < 4; i++) {
    if (off + i >= end) return 0;
    x = buf[off + i];
    hi = (hi << 7) | (x & 0x7f);
    if (x < 0x80) {
      out.value = hi;
      return i + 1;
    }
  }
  // hi holds 28 bits; gather up to 4 more groups (28 bits) in lo.
  let lo = 0;
  for (let i = 4; i < 8; i++) {
    if (off + i >= end) return 0;
    x = buf[off + i];
    lo = (lo << 7) | (x & 0x7f);
    if (x < 0x80) {
      const k = i - 3; // groups in lo
      if (k < 4 || hi < 0x2000000) {
        // < 2^49, or hi < 2^25 so hi·2^28 + lo < 2^53
        out.value = hi * (1 << (7 * k)) + lo;
      } else {
        out.value = (BigInt(hi) << 28n) | BigInt(lo);
      }
      return i + 1;
    }
  }
  if (off + 8 >= end) return 0;
  const b8 = buf[off + 8];
  // u64 = (hi·2^28 + lo)·2^8 + b8, split into two 32-bit halves.
  const uHi = hi * 16 + (lo >>> 24);
  const uLo = (((lo & 0xffffff) << 8) | b8) >>> 0;
  const v = (uHi | 0) * TWO32 + uLo;
  out.value = Number.isSafeInteger(v) ? v : BigInt.asIntN(64, (BigInt(uHi) << 32n) | BigInt(uLo));
  return 9;
}

/**
 * Splits an integer into unsigned 32-bit halves of its 64-bit form, stored in `halves`.
 * Throws RANGE for non-integers and values outside [-2^63, 2^64).
 */
function split64(v: number | bigint, halves: [number, number]): void {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < -9223372036854775808 || v >= 18446744073709551616) {
      throw new QuireError(ErrorCode.RANGE, `varint: ${v} is not a 64-bit integer`);
    }
    const hi = Math.floor(v / TWO32);
    halves[1] = v - hi * TWO32;
    halves[0] = hi >>> 0;
    return;
  }
  if (v < -9223372036854775808n || v >= 18446744073709551616n) {
    throw new QuireError(ErrorCode.RANGE, `varint: ${v} is not a 64-bit integer`);
  }
  const u = BigInt.asUintN(64, v);
  halves[0] = Number(u >> 32n);
  halves[1] = Number(u & 0xffffffffn);
}

const scratch: [number, number] = [0, 0];

function lengthOf(hi: number, lo: number): number {
  if (hi >= 0x1000000) return 9; // needs more than 56 bits
  const bits = hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(lo);
  return bits <= 7 ? 1 : Math.ceil(bits / 7);
}

/** Bytes {@link writeVarint} uses for `v` (1..9). */
export function varintLength(v: number | bigint): number {
  if (typeof v === 'number' && v >= 0 && v < 0x10000000 && (v | 0) === v) {
    return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : 4;
  }
  split64(v, scratch);
  return lengthOf(scratch[0], scratch[1]);
}

/**
 * Writes `v` at `buf[off]` and returns the number of bytes written. The caller guarantees
 * room (see {@link varintLength}); at most 9 bytes.
 */
export function writeVarint(buf: Uint8Array, off: number, v: number | bigint): number {
  if (typeof v === 'number' && v >= 0 && v < 0x80 && (v | 0) === v) {
    buf[off] = v;
    return 1;
  }
  split64(v, scratch);
  let hi = scratch[0];
  let lo = scratch[1];
  const n = lengthOf(hi, lo);
  let groups = n;
  if (n === 9) {
    buf[off + 8] = lo & 0xff;
    lo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
    hi >>>= 8;
    groups = 8;
  }
  for (let i = groups - 1; i >= 0; i--) {
    buf[off + i] = (lo & 0x7f) | (i === groups - 1 && n !== 9 ? 0 : 0x80);
    lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
    hi >>>= 7;
  }
  return n;
}
