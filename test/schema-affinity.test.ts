/**
 * Affinity (src/schema/affinity.ts), differential against better-sqlite3: SQLite stores each
 * generated value through columns of every affinity and reports typeof()/value; quire must
 * predict both. Expected values always come from SQLite at test time.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { affinityOf, applyAffinity, castTo, columnValue, numerify, storedValue, strictValue, typed } from '../src/schema/affinity.js';
import { parseCreateTable } from '../src/schema/parse.js';
import type { Affinity, TypedValue } from '../src/schema/types.js';
import { tempDir } from './util/tmp.js';

const SEED = 0xaff1;
console.log(`schema-affinity: fast-check seed ${SEED}`);

const AFFS: Affinity[] = ['BLOB', 'TEXT', 'NUMERIC', 'INTEGER', 'REAL'];

const db = new Database(':memory:');
db.defaultSafeIntegers(true);
db.exec('CREATE TABLE t(b BLOB, t TEXT, n NUMERIC, i INTEGER, r REAL)');
const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?)');
const sel = db.prepare('SELECT typeof(b), b, typeof(t), t, typeof(n), n, typeof(i), i, typeof(r), r FROM t').raw();

/** Binds a TypedValue so SQLite receives exactly that storage class. */
function bindable(v: TypedValue): unknown {
  switch (v.type) {
    case 'integer':
      return BigInt(v.value);
    case 'real':
      return v.value; // better-sqlite3 binds JS numbers as REAL
    case 'blob':
      return Buffer.from(v.value);
    default:
      return v.value;
  }
}

/** SQLite's answer as a TypedValue (safe integers as numbers, like quire). */
function fromSqlite(type: string, value: unknown): TypedValue {
  switch (type) {
    case 'null':
      return { type: 'null', value: null };
    case 'integer': {
      const b = value as bigint;
      return { type: 'integer', value: b >= -(2n ** 53n) + 1n && b <= 2n ** 53n - 1n ? Number(b) : b };
    }
    case 'real':
      return { type: 'real', value: value as number };
    case 'text':
      return { type: 'text', value: value as string };
    default:
      return { type: 'blob', value: new Uint8Array(value as Buffer) };
  }
}

function sqliteRow(v: TypedValue): TypedValue[] {
  db.exec('DELETE FROM t');
  const b = bindable(v);
  ins.run(b, b, b, b, b);
  const row = sel.get() as unknown[];
  return AFFS.map((_, k) => fromSqlite(row[2 * k] as string, row[2 * k + 1]));
}

function norm(v: TypedValue): unknown {
  if (v.type === 'blob') return { type: 'blob', value: Array.from(v.value) };
  if (v.type === 'real' && Object.is(v.value, -0)) return { type: 'real', value: '-0' };
  return v;
}

const numericishText = fc.oneof(
  fc.constantFrom('12', ' 12 ', '1e3', '1.5', '0x10', '12abc', '', ' ', '-0', '+7', '5.', '.5', '1e', 'abc', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '1e400', '18446744073709551616', '12\u0000abc', '0.0', '1.0', '3.0e2', '\t42\n', '0001', '1_000'),
  fc.stringMatching(/^ ?[-+]?[0-9]{0,21}(\.[0-9]{0,5})?([eE][-+]?[0-9]{1,3})? ?$/),
  fc.string({ maxLength: 6 }),
);

const typedValue: fc.Arbitrary<TypedValue> = fc.oneof(
  fc.constant<TypedValue>({ type: 'null', value: null }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((b) => typed(b)),
  fc.integer({ min: -1000, max: 1000 }).map<TypedValue>((n) => ({ type: 'integer', value: n })),
  fc.double({ noNaN: true }).map<TypedValue>((r) => ({ type: 'real', value: r })),
  fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(Number)).map<TypedValue>((r) => ({ type: 'real', value: r })),
  numericishText.map<TypedValue>((s) => ({ type: 'text', value: s })),
  fc.uint8Array({ maxLength: 6 }).map<TypedValue>((b) => ({ type: 'blob', value: b })),
);

describe('affinityOf (sqlite3AffinityType)', () => {
  it('follows the datatype3 rules and their quirks', () => {
    const cases: [string, Affinity][] = [
      ['INT', 'INTEGER'], ['integer', 'INTEGER'], ['TINYINT', 'INTEGER'], ['VARCHAR(10)', 'TEXT'],
      ['NCHAR(55)', 'TEXT'], ['CLOB', 'TEXT'], ['TEXT', 'TEXT'], ['BLOB', 'BLOB'], ['', 'NUMERIC'],
      ['REAL', 'REAL'], ['DOUBLE PRECISION', 'REAL'], ['FLOAT', 'REAL'], ['NUMERIC', 'NUMERIC'],
      ['DECIMAL(10,5)', 'NUMERIC'], ['BOOLEAN', 'NUMERIC'], ['DATETIME', 'NUMERIC'],
      ['FLOATING POINT', 'INTEGER'], ['STRING', 'NUMERIC'], ['CHARINT', 'INTEGER'], ['BLOBTEXT', 'TEXT'],
      ['TEXTBLOB', 'TEXT'], ['REALBLOB', 'BLOB'], ['CHAR REAL', 'TEXT'], ['POINT', 'INTEGER'],
    ];
    for (const [t, a] of cases) expect([t, affinityOf(t)]).toEqual([t, a]);
  });

  it('agrees with SQLite for random type names', () => {
    const word = fc.constantFrom('INT', 'CHAR', 'CLOB', 'TEXT', 'BLOB', 'REAL', 'FLOA', 'DOUB', 'VAR', 'NUM', 'X', 'in', 't', 'b', 'lo', 'é', 'IN T');
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 4 }), (parts) => {
        const type = parts.join('');
        const d = new Database(':memory:');
        d.exec(`CREATE TABLE x(c "${type.replace(/"/g, '""')}")`);
        // Probe the affinity: numeric text stays text only under TEXT/BLOB, an integer turns to
        // text only under TEXT, a REAL 1.0 stays real only under REAL/BLOB.
        d.exec(`INSERT INTO x VALUES ('1'), (1), (1.0)`);
        const types = (d.prepare('SELECT typeof(c) FROM x').pluck().all() as string[]).join(',');
        const expected = { 'text,text,text': 'TEXT', 'text,integer,real': 'BLOB', 'integer,integer,integer': 'INTEGER', 'real,real,real': 'REAL' }[types] ?? (types === 'integer,integer,integer' ? 'INTEGER' : 'NUMERIC');
        d.close();
        const got = affinityOf(type);
        // NUMERIC and INTEGER behave the same on these probes.
        expect(got === 'INTEGER' || got === 'NUMERIC' ? 'INTEGER' : got).toBe(expected === 'NUMERIC' ? 'INTEGER' : expected);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('applyAffinity', () => {
  it('matches SQLite storing a value through each affinity', () => {
    fc.assert(
      fc.property(typedValue, (v) => {
        const expected = sqliteRow(v);
        const got = AFFS.map((a) => applyAffinity(v, a));
        expect(got.map(norm)).toEqual(expected.map(norm));
      }),
      { seed: SEED, numRuns: 6_000 },
    );
  });

  it('handles the named corner cases', () => {
    const cases: TypedValue[] = [
      { type: 'text', value: '1e3' }, { type: 'text', value: ' 12 ' }, { type: 'text', value: '0x10' },
      { type: 'real', value: 1 }, { type: 'real', value: 1e100 }, { type: 'real', value: 0.1 },
      { type: 'real', value: 2 ** 63 }, { type: 'real', value: -(2 ** 63) }, { type: 'text', value: '9223372036854775808' },
      { type: 'integer', value: 2n ** 62n }, { type: 'real', value: 9223372036854774784 },
    ];
    for (const v of cases) expect(AFFS.map((a) => norm(applyAffinity(v, a)))).toEqual(sqliteRow(v).map(norm));
  });

  it('classifies plain JavaScript values like the record encoder', () => {
    expect(typed(5)).toEqual({ type: 'integer', value: 5 });
    expect(typed(5.5)).toEqual({ type: 'real', value: 5.5 });
    expect(typed(-0)).toEqual({ type: 'real', value: -0 });
    expect(typed(2 ** 60)).toEqual({ type: 'real', value: 2 ** 60 });
    expect(typed(NaN)).toEqual({ type: 'null', value: null });
    expect(typed(2n ** 60n)).toEqual({ type: 'integer', value: 2n ** 60n });
    expect(typed(5n)).toEqual({ type: 'integer', value: 5 });
    expect(() => typed(2n ** 63n)).toThrow(/64-bit/);
  });
});

/** Serial type of column 0 of the first row of the first table in a one-page database file. */
function firstSerialType(file: string): number {
  const buf = readFileSync(file);
  const pageSize = buf.readUInt16BE(16) === 1 ? 65536 : buf.readUInt16BE(16);
  const page = buf.subarray(pageSize, 2 * pageSize); // page 2: the table's root (a leaf)
  expect(page[0]).toBe(0x0d);
  let off = page.readUInt16BE(8); // first cell pointer
  const varint = (): number => {
    let v = 0;
    for (let k = 0; k < 9; k++) {
      const b = page[off++];
      v = v * 128 + (b & 0x7f);
      if (b < 0x80) break;
    }
    return v;
  };
  varint(); // payload size
  varint(); // rowid
  varint(); // record header size
  return varint();
}

describe('storedValue / columnValue (REAL affinity stores integral values as integers)', () => {
  it('predicts the serial type SQLite writes and the value it reads back', () => {
    const dir = tempDir('quire-aff-');
    const values: TypedValue[] = [
      { type: 'real', value: 1 }, { type: 'integer', value: 3 }, { type: 'real', value: 1.5 },
      { type: 'real', value: 2 ** 47 }, { type: 'real', value: 2 ** 47 - 1 }, { type: 'real', value: -(2 ** 47) },
      { type: 'real', value: -(2 ** 47) - 1 }, { type: 'integer', value: 2 ** 50 }, { type: 'text', value: '12' },
      { type: 'text', value: '2.0' }, { type: 'real', value: 0 }, { type: 'real', value: -0 }, { type: 'real', value: 1e300 },
    ];
    for (const [k, v] of values.entries()) {
      for (const aff of AFFS) {
        const file = path.join(dir, `s${k}-${aff}.db`);
        const d = new Database(file);
        d.exec(`CREATE TABLE t(c ${aff})`);
        d.prepare('INSERT INTO t VALUES (?)').run(bindable(v));
        const back = d.prepare('SELECT typeof(c), c FROM t').raw().safeIntegers(true).get() as [string, unknown];
        d.close();
        const st = firstSerialType(file);
        const stored = storedValue(v, aff);
        const sqliteClass = st === 0 ? 'null' : st === 7 ? 'real' : st >= 1 && st <= 9 ? 'integer' : st % 2 === 0 ? 'blob' : 'text';
        expect([k, aff, stored.type]).toEqual([k, aff, sqliteClass]);
        expect(norm(columnValue(stored, aff))).toEqual(norm(fromSqlite(back[0], back[1])));
        expect(norm(columnValue(stored, aff))).toEqual(norm(applyAffinity(v, aff)));
      }
    }
  });
});

describe('strictValue (STRICT tables)', () => {
  it('accepts, converts and rejects what SQLite does, and stores the same serial type', () => {
    const sql = 'CREATE TABLE s(i INT, g INTEGER, r REAL, t TEXT, b BLOB, a ANY) STRICT';
    const def = parseCreateTable(sql);
    const d = new Database(':memory:');
    d.defaultSafeIntegers(true);
    d.exec(sql);
    fc.assert(
      fc.property(typedValue, (v) => {
        def.columns.forEach((col) => {
          d.exec('DELETE FROM s');
          let sqliteError: string | undefined;
          try {
            d.prepare(`INSERT INTO s(${col.name}) VALUES (?)`).run(bindable(v));
          } catch (e) {
            sqliteError = (e as Error).message;
          }
          let quireError: string | undefined;
          let stored: TypedValue | undefined;
          try {
            stored = strictValue(v, col, 's');
          } catch (e) {
            quireError = (e as Error).message;
          }
          expect([col.name, quireError]).toEqual([col.name, sqliteError]);
          if (stored === undefined) return;
          const back = d.prepare(`SELECT typeof(${col.name}), ${col.name} FROM s`).raw().get() as [string, unknown];
          expect([col.name, norm(columnValue(stored, col.affinity))]).toEqual([col.name, norm(fromSqlite(back[0], back[1]))]);
        });
      }),
      { seed: SEED, numRuns: 1500 },
    );
    d.close();
  });

  it('stores integral REALs as integers within 48 bits, as SQLite does', () => {
    const dir = tempDir('quire-strict-');
    const col = parseCreateTable('CREATE TABLE s(r REAL) STRICT').columns[0];
    for (const [k, v] of ([{ type: 'real', value: 3 }, { type: 'integer', value: 2 ** 47 }, { type: 'integer', value: 7 }] as TypedValue[]).entries()) {
      const file = path.join(dir, `r${k}.db`);
      const d = new Database(file);
      d.exec('CREATE TABLE s(r REAL) STRICT');
      d.prepare('INSERT INTO s VALUES (?)').run(bindable(v));
      d.close();
      const st = firstSerialType(file);
      expect(strictValue(v, col, 's').type).toBe(st === 7 ? 'real' : 'integer');
    }
  });
});

describe('numerify / castTo', () => {
  const castSql = (v: TypedValue, type: string): TypedValue => {
    const row = db.prepare(`SELECT typeof(x), x FROM (SELECT CAST(? AS ${type}) AS x)`).raw().get(bindable(v)) as [string, unknown];
    return fromSqlite(row[0], row[1]);
  };

  it('CAST agrees with SQLite', () => {
    const types: [string, Affinity][] = [['BLOB', 'BLOB'], ['TEXT', 'TEXT'], ['NUMERIC', 'NUMERIC'], ['INTEGER', 'INTEGER'], ['REAL', 'REAL']];
    fc.assert(
      fc.property(typedValue, (v) => {
        for (const [sqlType, aff] of types) expect([sqlType, norm(castTo(v, aff))]).toEqual([sqlType, norm(castSql(v, sqlType))]);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('numerify turns text into the number SQLite arithmetic would see', () => {
    fc.assert(
      fc.property(numericishText, (s) => {
        // +x is a no-op, but x + 0 forces a numeric value; compare with numerify, which is what
        // CAST(x AS NUMERIC) does.
        expect(norm(numerify({ type: 'text', value: s }))).toEqual(norm(castSql({ type: 'text', value: s }, 'NUMERIC')));
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });
});
