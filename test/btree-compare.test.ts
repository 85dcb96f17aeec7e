import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodePoints, compareValues, keyComparator } from '../btree/compare.js';
import type { SqlValue } from '../btree/value.js';
import { SEED } from './util/btree-db.js';

const db = new Database(':memory:');
const sign = (x: number) => (x < 0 ? -1 : x > 0 ? 1 : 0);

/** SQLite's verdict on a vs b under a collation (bare parameters carry no affinity). */
function sqliteCompare(a: SqlValue, b: SqlValue, coll: string): number {
  const bind = (v: SqlValue) => (v instanceof Uint8Array ? Buffer.from(v) : v);
  const r = db
    .prepare(`SELECT CASE WHEN @a < @b COLLATE ${coll} THEN -1 WHEN @a = @b COLLATE ${coll} THEN 0 ELSE 1 END`)
    .pluck()
    .get({ a: bind(a), b: bind(b) }) as number;
  return r;
}

const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: fc.constantFrom('a', 'A', 'z', 'Z', '_', ' ', '[', '\u00e9', '\u00c9', '\uffff', '\ue000', '\u{1f600}', '\u{10000}'), maxLength: 6 }),
);
const value: fc.Arbitrary<SqlValue> = fc.oneof(
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((v) => (v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v)),
  fc.constantFrom<SqlValue>(9007199254740992n, 9007199254740993n, -9007199254740993n, (1n << 63n) - 1n, -(1n << 63n), 0, 1, -1),
  fc.double({ noNaN: true }),
  fc.constantFrom(9007199254740992, 9007199254740994, 9223372036854775807, -9223372036854775808, 0.5, -0.0, 1e300),
  text,
  fc.uint8Array({ maxLength: 6 }),
);

describe(`compareValues agrees with SQLite (seed ${SEED})`, () => {
  for (const coll of ['BINARY', 'NOCASE', 'RTRIM'] as const) {
    it(`${coll}: random pairs of every storage class`, () => {
      fc.assert(
        fc.property(value, value, (a, b) => {
          // bigint params bind as INTEGER, numbers as REAL (exact comparisons across the two)
          expect(sign(compareValues(a, b, coll))).toBe(sqliteCompare(a, b, coll));
          expect(sign(compareValues(b, a, coll)) + sign(compareValues(a, b, coll))).toBe(0);
        }),
        { seed: SEED + 30, numRuns: 3000 },
      );
    });
    it(`${coll}: text pairs`, () => {
      fc.assert(
        fc.property(text, text, (a, b) => {
          expect(sign(compareValues(a, b, coll))).toBe(sqliteCompare(a, b, coll));
        }),
        { seed: SEED + 31, numRuns: 3000 },
      );
    });
  }

  it('NULL sorts first and equals NULL', () => {
    for (const v of [0, -1e300, -(1n << 63n), '', new Uint8Array(0)]) {
      expect(compareValues(null, v)).toBeLessThan(0);
      expect(compareValues(v, null)).toBeGreaterThan(0);
    }
    expect(compareValues(null, null)).toBe(0);
  });

  it('code-point order is UTF-8 byte order', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const x = enc.encode(a);
        const y = enc.encode(b);
        let c = 0;
        for (let i = 0; i < Math.min(x.length, y.length) && c === 0; i++) c = x[i] - y[i];
        if (c === 0) c = x.length - y.length;
        expect(sign(compareCodePoints(a, b))).toBe(sign(c));
      }),
      { seed: SEED + 32, numRuns: 3000 },
    );
  });

  it('key comparator: DESC flips a column, an equal prefix compares equal, unknown collations refused', () => {
    const cmp = keyComparator([{ collation: 'NOCASE' }, { desc: true }]);
    expect(cmp(['a', 1], ['A', 2])).toBeGreaterThan(0);
    expect(cmp(['a', 3], ['A', 2])).toBeLessThan(0);
    expect(cmp(['a'], ['A', 2, 'x'])).toBe(0);
    expect(cmp(['b'], ['A', 2])).toBeGreaterThan(0);
    expect(() => keyComparator([{ collation: 'unicase' }])).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    expect(compareValues('a', 'A', 'nocase')).toBe(0);
  });
});
