import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isQuireError } from '../pager/errors.js';
import type { Encoding } from '../pager/header.js';
import { TableCursor } from '../btree/cursor.js';
import { utf8Length, decodeRecord, decodeRecordPrefix, encodeRecord, recordPrefixLength } from '../btree/record.js';
import type { SqlValue } from '../btree/value.js';
import { buildDb, openReadonly, SEED } from './util/btree-db.js';
import { ImageSource } from './util/image-source.js';

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

const intBoundaries: bigint[] = [0n, 1n, -1n, 2n];
for (const k of [7, 8, 15, 16, 23, 24, 31, 32, 47, 48, 53, 63]) {
  const p = 1n << BigInt(k);
  for (const d of [-1n, 0n, 1n]) {
    for (const v of [p + d, -(p + d)]) if (v >= I64_MIN && v <= I64_MAX) intBoundaries.push(v);
  }
}

/** A value as better-sqlite3 binds it: bigint → INTEGER, number → REAL, Buffer → BLOB. */
const bindable = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.bigInt({ min: I64_MIN, max: I64_MAX }) },
  { weight: 2, arbitrary: fc.constantFrom(...intBoundaries) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer().map((x) => x * 1.0) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 3000 }) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 500, maxLength: 5000 }) },
);

const NCOL = 6;

function toBind(v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v) : v;
}

/** What better-sqlite3 (safeIntegers) returns, in quire's representation. */
function fromSqlite(v: unknown): SqlValue {
  if (typeof v === 'bigint') return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  if (Buffer.isBuffer(v)) return new Uint8Array(v);
  return v as SqlValue;
}

const encodings: Array<['UTF-8' | 'UTF-16le' | 'UTF-16be', Encoding]> = [
  ['UTF-8', 1],
  ['UTF-16le', 2],
  ['UTF-16be', 3],
];

describe(`records written by SQLite (seed ${SEED})`, () => {
  for (const [encName, enc] of encodings) {
    it(`decode to what SQLite returns and re-encode byte for byte (${encName})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(bindable, { minLength: NCOL, maxLength: NCOL }), { minLength: 1, maxLength: 25 }), async (rows) => {
          const cols = Array.from({ length: NCOL }, (_, i) => `c${i}`).join(', ');
          const { path, image } = buildDb({ pageSize: 1024, encoding: encName }, (db) => {
            db.exec(`CREATE TABLE r(${cols})`);
            const ins = db.prepare(`INSERT INTO r VALUES (${Array(NCOL).fill('?').join(', ')})`);
            for (const row of rows) ins.run(...row.map(toBind));
          });
          const db = openReadonly(path);
          const expected = db.prepare(`SELECT rowid, * FROM r ORDER BY rowid`).safeIntegers(true).raw(true).all() as unknown[][];
          const types = db.prepare(`SELECT ${Array.from({ length: NCOL }, (_, i) => `typeof(c${i})`).join(', ')} FROM r ORDER BY rowid`).raw(true).all() as string[][];
          db.close();
          const src = new ImageSource(image);
          expect(src.encoding).toBe(enc);
          const cur = new TableCursor(src, 2);
          let i = 0;
          for (let ok = await cur.first(); ok; ok = await cur.next(), i++) {
            expect(fromSqlite(expected[i][0])).toStrictEqual(cur.rowid);
            const payload = await cur.payload();
            const values = decodeRecord(payload, enc, 2);
            expect(values).toStrictEqual(expected[i].slice(1).map(fromSqlite));
            expect(await cur.record()).toStrictEqual(values);
            // the encoder picks the serial types SQLite picked
            const asReal = types[i].map((t) => t === 'real');
            expect(encodeRecord(values, enc, { asReal })).toStrictEqual(payload);
          }
          expect(i).toBe(rows.length);
        }),
        { seed: SEED + enc, numRuns: 15 },
      );
    });
  }
});

/** Values as quire represents them (what decode returns). */
const quireValue: fc.Arbitrary<SqlValue> = fc.oneof(
  fc.constant(null),
  fc.bigInt({ min: I64_MIN, max: I64_MAX }).map((v) => (v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v)),
  fc.constantFrom(...intBoundaries).map((v) => (v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v)),
  fc.double({ noNaN: true }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.uint8Array({ maxLength: 300 }),
);

describe(`record encode/decode round trip (seed ${SEED})`, () => {
  it('decode(encode(v)) = v for every encoding and both bool-type settings', () => {
    fc.assert(
      fc.property(fc.array(quireValue, { maxLength: 80 }), fc.constantFrom<Encoding>(1, 2, 3), fc.boolean(), (values, enc, boolTypes) => {
        const rec = encodeRecord(values, enc, { boolTypes });
        expect(decodeRecord(rec, enc, 7)).toStrictEqual(values);
        for (const n of [0, 1, 3, values.length]) {
          expect(decodeRecordPrefix(rec, n, enc, 7)).toStrictEqual(values.slice(0, n));
          // the prefix length is enough to decode the prefix from a truncated copy
          const need = recordPrefixLength(rec, 0, rec.length, rec.length, n, 7);
          expect(decodeRecordPrefix(rec.subarray(0, need), n, enc, 7)).toStrictEqual(values.slice(0, n));
        }
      }),
      { seed: SEED + 10, numRuns: 1500 },
    );
  });

  it('uses serial types 8/9 only with boolTypes, and NaN becomes NULL', () => {
    expect(Array.from(encodeRecord([0, 1], 1))).toEqual([3, 8, 9]);
    expect(Array.from(encodeRecord([0, 1], 1, { boolTypes: false }))).toEqual([3, 1, 1, 0, 1]);
    expect(Array.from(encodeRecord([NaN], 1))).toEqual([2, 0]);
    expect(decodeRecord(encodeRecord([-0], 1), 1, 1)).toStrictEqual([-0]);
    expect(encodeRecord([2 ** 60], 1)[1]).toBe(7);
    // SQLite reads a stored NaN bit pattern as NULL (sqlite3VdbeSerialGet)
    expect(decodeRecord(new Uint8Array([2, 7, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1]), 1, 1)).toStrictEqual([null]);
    expect(encodeRecord([5], 1, { asReal: [true] })[1]).toBe(7);
    expect(() => encodeRecord([1n << 63n], 1)).toThrow(expect.objectContaining({ code: 'RANGE' }));
  });

  it('uses a 2-byte header size exactly when the header exceeds 127 bytes', () => {
    for (let n = 120; n < 135; n++) {
      const rec = encodeRecord(new Array(n).fill(null), 1);
      const hdr = n + (n + 1 <= 127 ? 1 : 2);
      expect(rec.length).toBe(hdr);
      expect(decodeRecord(rec, 1, 1)).toHaveLength(n);
    }
  });
});

function expectCorrupt(f: () => unknown, pgno: number): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isQuireError(err), String(err)).toBe(true);
  expect(err).toMatchObject({ code: 'CORRUPT', pgno });
  expect(String((err as Error).message)).toContain(`page ${pgno}`);
}

describe('corrupt records', () => {
  it('reject header sizes beyond the payload, overrunning varints and bodies, reserved types', () => {
    const cases: number[][] = [
      [], // empty payload
      [5, 1, 1], // header size beyond payload
      [0x81], // header size varint runs off the end
      [0x81, 0x80], // same, 2 bytes
      [2, 0x81], // serial type varint runs past header end
      [3, 0x81, 0x01], // header size 3 claims 2 types but serial varint ok => blob len... body missing
      [2, 1], // int8 body missing
      [2, 6, 1, 2, 3], // int64 body short
      [2, 7, 0, 0], // real body short
      [2, 19, 65], // text of 3 bytes, only 1
      [2, 1, 5, 6], // body longer than the columns say
      [1 + 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // serial type -1 as 9-byte varint
      [0], // header size 0 < its own varint
    ];
    for (const c of cases) expectCorrupt(() => decodeRecord(new Uint8Array(c), 1, 42), 42);
  });

  it('reads the reserved serial types 10 and 11 as NULL without a body, as sqlite3VdbeSerialGet does', () => {
    expect(decodeRecord(new Uint8Array([2, 10]), 1, 42)).toEqual([null]);
    expect(decodeRecord(new Uint8Array([3, 11, 1, 7]), 1, 42)).toEqual([null, 7]);
  });

  it('never throws anything but CORRUPT on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom<Encoding>(1, 2, 3), (bytes, enc) => {
        try {
          decodeRecord(bytes, enc, 3);
        } catch (e) {
          expect(isQuireError(e) && e.code === 'CORRUPT', String(e)).toBe(true);
        }
      }),
      { seed: SEED + 11, numRuns: 5000 },
    );
  });
});

describe('utf8Length', () => {
  it('equals TextEncoder output length for any string, lone surrogates included', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(utf8Length(s)).toBe(enc.encode(s).length);
        const rec = encodeRecord([s], 1);
        expect(decodeRecord(rec, 1, 1)).toEqual([new TextDecoder().decode(enc.encode(s))]);
      }),
      { seed: SEED + 99, numRuns: 3000 },
    );
  });
});
