import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readVarint, varintLength, writeVarint, type Varint } from '../btree/varint.js';
import { SEED } from './util/btree-db.js';

/**
 * Reference encoder written independently of btree/varint.ts, straight from the format
 * description: unsigned 64-bit value; if it needs more than 56 bits, 8 bytes of 7 bits then a
 * full 9th byte; else the minimal number of 7-bit groups, high bit set on all but the last.
 */
function refEncode(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  if (u >= 1n << 56n) {
    const out = new Array<number>(9);
    out[8] = Number(u & 0xffn);
    u >>= 8n;
    for (let i = 7; i >= 0; i--) {
      out[i] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    return out;
  }
  const groups: number[] = [];
  do {
    groups.unshift(Number(u & 0x7fn));
    u >>= 7n;
  } while (u > 0n);
  return groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g));
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function normal(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

const boundaries: bigint[] = [];
for (let k = 0; k <= 64; k++) {
  const p = 1n << BigInt(k);
  for (const d of [-1n, 0n, 1n]) {
    for (const s of [1n, -1n]) {
      const v = s * (p + d);
      if (v >= I64_MIN && v <= I64_MAX) boundaries.push(v);
    }
  }
}
boundaries.push(I64_MIN, I64_MAX, 9007199254740991n, -9007199254740991n, 9007199254740992n, -9007199254740992n);

describe(`varint (seed ${SEED})`, () => {
  const slot: Varint = { value: 0 };

  function roundTrip(v: bigint): void {
    const expected = refEncode(v);
    const buf = new Uint8Array(12).fill(0xaa);
    // encode from bigint and, when safe, from number
    const n = writeVarint(buf, 1, v);
    expect(n).toBe(expected.length);
    expect(varintLength(v)).toBe(expected.length);
    expect(Array.from(buf.subarray(1, 1 + n))).toEqual(expected);
    expect(buf[0]).toBe(0xaa);
    expect(buf[1 + n]).toBe(0xaa);
    const nv = normal(v);
    if (typeof nv === 'number') {
      const b2 = new Uint8Array(9);
      expect(writeVarint(b2, 0, nv)).toBe(n);
      expect(varintLength(nv)).toBe(n);
      expect(Array.from(b2.subarray(0, n))).toEqual(expected);
    }
    // decode: signed 64-bit, number exactly when safe
    expect(readVarint(buf, 1, 1 + n, slot)).toBe(n);
    expect(slot.value).toStrictEqual(nv);
    // truncated by end: 0
    expect(readVarint(buf, 1, n, slot)).toBe(0);
  }

  it('encodes and decodes the boundaries of every length', () => {
    for (const v of boundaries) roundTrip(v);
  });

  it('round-trips the full signed 64-bit range', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: I64_MIN, max: I64_MAX }), (v) => roundTrip(v)),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('round-trips values biased to small magnitudes and safe numbers', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 0x7fffffff }).map(BigInt),
          fc.maxSafeInteger().map(BigInt),
          fc.nat(63).chain((k) => fc.bigInt({ min: -(1n << BigInt(k)), max: 1n << BigInt(k) })),
        ),
        (v) => roundTrip(v),
      ),
      { seed: SEED + 1, numRuns: 3000 },
    );
  });

  it('encodes unsigned values up to 2^64-1 (sizes) like their two’s complement', () => {
    const buf = new Uint8Array(9);
    expect(writeVarint(buf, 0, (1n << 64n) - 1n)).toBe(9);
    expect(readVarint(buf, 0, 9, slot)).toBe(9);
    expect(slot.value).toBe(-1);
  });

  it('rejects non-integers and values beyond 64 bits with RANGE', () => {
    for (const bad of [1.5, NaN, Infinity, 2 ** 64, -(2 ** 63) - 4096, 1n << 64n, -(1n << 63n) - 1n]) {
      expect(() => writeVarint(new Uint8Array(9), 0, bad)).toThrow(expect.objectContaining({ code: 'RANGE' }));
    }
  });

  it('never reads at or past end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 12 }), fc.nat(12), (bytes, cut) => {
        const end = Math.min(cut, bytes.length);
        // poison the bytes past end: a decoder that reads them would see the 0x80s
        const buf = new Uint8Array(bytes.length + 9).fill(0x80);
        buf.set(bytes.subarray(0, end));
        const n = readVarint(buf, 0, end, slot);
        expect(n).toBeLessThanOrEqual(end);
        if (n > 0) {
          // the same bytes followed by anything give the same result
          const again: Varint = { value: 0 };
          const b2 = new Uint8Array(bytes.length + 9);
          b2.set(bytes.subarray(0, end));
          expect(readVarint(b2, 0, end, again)).toBe(n);
          expect(again.value).toStrictEqual(slot.value);
        }
      }),
      { seed: SEED + 2, numRuns: 2000 },
    );
  });
});
