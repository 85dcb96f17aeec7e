/**
 * DEFAULT values (src/schema/default.ts) against real SQLite, three ways:
 *
 *   1. DefaultValue.value: the value of the DEFAULT expression, as an INSERT into a column
 *      without affinity stores it;
 *   2. applyAffinity(value, column affinity): what INSERT ... DEFAULT VALUES stores;
 *   3. defaultFor(column): what SQLite reads for a row written before the column existed,
 *      checked both through ALTER TABLE ADD COLUMN (when SQLite allows it) and by rewriting
 *      the stored schema so an old row is shorter than the table (any DEFAULT).
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyAffinity } from '../src/schema/affinity.js';
import { defaultFor, evaluateLiteral } from '../src/schema/default.js';
import { parseCreateTable } from '../src/schema/parse.js';
import type { TypedValue } from '../src/schema/types.js';
import { tempDir } from './util/tmp.js';

const SEED = Number(process.env.QUIRE_SEED ?? 0xdefa);
console.log(`schema-default: fast-check seed ${SEED}`);

function fromSqlite(type: string, value: unknown): unknown {
  switch (type) {
    case 'integer': {
      const b = value as bigint;
      return { type, value: b >= -(2n ** 53n) + 1n && b <= 2n ** 53n - 1n ? Number(b) : b };
    }
    case 'blob':
      return { type, value: Array.from(value as Buffer) };
    case 'real':
      return { type, value: Object.is(value, -0) ? '-0' : value };
    default:
      return { type, value };
  }
}

function norm(v: TypedValue): unknown {
  if (v.type === 'blob') return { type: 'blob', value: Array.from(v.value) };
  if (v.type === 'real' && Object.is(v.value, -0)) return { type: 'real', value: '-0' };
  return v;
}

/** The error `f` throws, or null. */
function refusal(f: () => unknown): unknown {
  try {
    f();
    return null;
  } catch (e) {
    return e;
  }
}

const types = ['', 'INT', 'INTEGER', 'TEXT', 'REAL', 'NUMERIC', 'BLOB', 'VARCHAR(5)', 'DOUBLE', 'BOOLEAN', 'ANY'];

const number = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
  fc.constantFrom('0', '00', '9223372036854775807', '9223372036854775808', '18446744073709551616', '1_000', '0x10', '0x7fffffff', '0x80000000', '0xffffffffffffffff', '0x8000000000000000', '0x1_f'),
  fc.tuple(fc.nat(99999), fc.nat(999), fc.constantFrom('', 'e3', 'e-3', 'E+2', 'e400', 'e-400')).map(([a, b, e]) => `${a}.${b}${e}`),
  fc.tuple(fc.nat(999), fc.constantFrom('e5', 'e-1', 'e0')).map(([a, e]) => `${a}${e}`),
  fc.constantFrom('.5', '5.', '1.0', '2.50', '1e308', '1.7976931348623157e308', '4.9e-324'),
);
const str = fc.oneof(fc.constantFrom('', 'abc', '12', ' 12 ', '1e3', '0x10', '-7', '1.50', 'é', "it''s", '9223372036854775808'), fc.stringMatching(/^[0-9a-z .-]{0,6}$/));
const atom = fc.oneof(
  number,
  str.map((s) => `'${s}'`),
  fc.constantFrom('NULL', "x''", "x'00ff'", "x'3132'", 'true', 'FALSE', 'CURRENT_TIMESTAMP', 'CURRENT_DATE'),
);

/** A DEFAULT clause body: a term, a signed term, an identifier, or a parenthesised literal expression. */
const defaultClause: fc.Arbitrary<string> = fc.oneof(
  atom,
  fc.tuple(fc.constantFrom('-', '+', '- '), number).map(([s, n]) => `${s}${n}`),
  fc.tuple(fc.constantFrom('-', '+'), str).map(([s, x]) => `${s}'${x}'`),
  fc.constantFrom('abc', '"abc"', '[x y]', '`q`', 'key', 'replace', '"true"', 'TRUE', 'indexed'),
  // Clauses SQLite refuses (syntax, bad tokens, non-constant): quire must refuse them too.
  fc.constantFrom('?', ':a', '(a)', '(?)', '-abc', '(1', '1 2', "x'0'", '-(1)', "'a' 'b'", '1e', '0x', '- -1', 'true + 1', '(SELECT 1)'),
  fc
    .letrec<{ e: string }>((tie) => ({
      e: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        atom,
        tie('e').map((x) => `-${x}`),
        tie('e').map((x) => `+${x}`),
        tie('e').map((x) => `(${x})`),
        fc.tuple(tie('e'), fc.constantFrom('TEXT', 'INTEGER', 'REAL', 'NUMERIC', 'BLOB', 'INT', '"TEXT"', 'foo')).map(([x, t]) => `CAST(${x} AS ${t})`),
        fc.tuple(tie('e'), tie('e')).map(([x, y]) => `${x} + ${y}`),
      ),
    }))
    .e.map((e) => `(${e})`),
);

describe('DEFAULT literal values (INSERT time)', () => {
  it('DefaultValue.value and applyAffinity agree with INSERT ... DEFAULT VALUES', () => {
    const db = new Database(':memory:');
    db.defaultSafeIntegers(true);
    let constants = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.constantFrom(...types), defaultClause, (type, clause) => {
        db.exec('DROP TABLE IF EXISTS t');
        const sql = `CREATE TABLE t(a, b ${type} DEFAULT ${clause}, c DEFAULT ${clause})`;
        const sqliteError = refusal(() => db.exec(sql));
        const quireError = refusal(() => parseCreateTable(sql));
        // What SQLite refuses quire refuses, and what SQLite accepts quire parses.
        expect([sql, quireError !== null]).toEqual([sql, sqliteError !== null]);
        if (sqliteError) {
          refused++;
          return;
        }
        const def = parseCreateTable(sql);
        const col = def.columns[1];
        let row: [string, unknown, string, unknown];
        try {
          db.exec('INSERT INTO t(a) VALUES (1)');
          row = db.prepare('SELECT typeof(b), b, typeof(c), c FROM t').raw().get() as [string, unknown, string, unknown];
        } catch (e) {
          // The expression failed at run time (hex literal too big): quire has no value for it.
          expect([clause, col.default?.kind === 'constant' && col.default.value !== undefined]).toEqual([clause, false]);
          return;
        }
        const d = col.default;
        if (d?.kind !== 'constant') return;
        constants++;
        expect(d.value).toBeDefined();
        if (d.value === undefined) return;
        expect([sql, norm(d.value)]).toEqual([sql, fromSqlite(row[2], row[3])]);
        expect([sql, norm(applyAffinity(d.value, col.affinity))]).toEqual([sql, fromSqlite(row[0], row[1])]);
      }),
      { seed: SEED, numRuns: 3000 },
    );
    console.log(`schema-default: ${constants} constant defaults compared, ${refused} clauses refused by both`);
    expect(constants).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(50);
  });
});

describe('defaultFor (rows shorter than the table)', () => {
  it('agrees with ALTER TABLE ADD COLUMN over an existing row', () => {
    const db = new Database(':memory:');
    db.defaultSafeIntegers(true);
    let compared = 0;
    fc.assert(
      fc.property(fc.constantFrom(...types), defaultClause, (type, clause) => {
        db.exec('DROP TABLE IF EXISTS t; CREATE TABLE t(a); INSERT INTO t VALUES (1)');
        try {
          db.exec(`ALTER TABLE t ADD COLUMN b ${type} DEFAULT ${clause}`);
        } catch {
          return; // non-constant default on a non-empty table
        }
        const stored = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 't'").pluck().get() as string;
        const col = parseCreateTable(stored).columns[1];
        const [t, v] = db.prepare('SELECT typeof(b), b FROM t').raw().get() as [string, unknown];
        compared++;
        expect([stored, norm(defaultFor(col))]).toEqual([stored, fromSqlite(t, v)]);
      }),
      { seed: SEED, numRuns: 3000 },
    );
    expect(compared).toBeGreaterThan(1000);
  });

  it('agrees with SQLite reading an old row after the schema grew (any DEFAULT)', () => {
    const dir = tempDir('quire-dflt-');
    const file = path.join(dir, 'short.db');
    let n = 0;
    fc.assert(
      fc.property(fc.constantFrom(...types), defaultClause, (type, clause) => {
        const grown = `CREATE TABLE t(a, b ${type} DEFAULT ${clause})`;
        const sqliteError = refusal(() => new Database(':memory:').exec(grown));
        const quireError = refusal(() => parseCreateTable(grown));
        expect([grown, quireError !== null]).toEqual([grown, sqliteError !== null]);
        if (sqliteError) return;
        const def = parseCreateTable(grown);
        const db = new Database(file);
        db.unsafeMode(true); // allow writable_schema (better-sqlite3 runs SQLite in defensive mode)
        db.exec('DROP TABLE IF EXISTS t; CREATE TABLE t(a); INSERT INTO t VALUES (1)');
        const version = db.pragma('schema_version', { simple: true }) as number;
        db.pragma('writable_schema = ON');
        db.prepare("UPDATE sqlite_schema SET sql = ? WHERE name = 't'").run(grown);
        db.pragma(`schema_version = ${version + 1}`);
        db.close();
        const db2 = new Database(file);
        db2.defaultSafeIntegers(true);
        const [t, v] = db2.prepare('SELECT typeof(b), b FROM t').raw().get() as [string, unknown];
        db2.close();
        n++;
        expect([grown, norm(defaultFor(def.columns[1]))]).toEqual([grown, fromSqlite(t, v)]);
      }),
      { seed: SEED + 1, numRuns: 400 },
    );
    expect(n).toBeGreaterThan(200);
  });

  it('CAST between TEXT and BLOB uses the database encoding', () => {
    for (const [pragma, enc] of [['UTF-8', 1], ['UTF-16le', 2], ['UTF-16be', 3]] as const) {
      const db = new Database(':memory:');
      db.defaultSafeIntegers(true);
      db.pragma(`encoding = '${pragma}'`);
      db.exec("CREATE TABLE t(a); INSERT INTO t VALUES (1); ALTER TABLE t ADD COLUMN b DEFAULT (CAST('ab' AS BLOB)); ALTER TABLE t ADD COLUMN c DEFAULT (CAST(x'00310032' AS INTEGER))");
      db.exec("CREATE TABLE u(a, b DEFAULT (CAST('ab' AS BLOB))); INSERT INTO u(a) VALUES (1)");
      const stored = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 't'").pluck().get() as string;
      const [, b, c] = parseCreateTable(stored).columns;
      const row = db.prepare('SELECT typeof(b), b, typeof(c), c FROM t').raw().get() as unknown[];
      expect([pragma, norm(defaultFor(b, enc)), norm(defaultFor(c, enc))]).toEqual([pragma, fromSqlite(row[0] as string, row[1]), fromSqlite(row[2] as string, row[3])]);
      const u = parseCreateTable(db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'u'").pluck().get() as string).columns[1];
      const [ut, uv] = db.prepare('SELECT typeof(b), b FROM u').raw().get() as [string, unknown];
      const d = u.default as { expr: import('../src/schema/types.js').LiteralExpr };
      expect([pragma, norm(evaluateLiteral(d.expr, enc) as TypedValue)]).toEqual([pragma, fromSqlite(ut, uv)]);
    }
  });

  it('named cases: the two evaluations differ where SQLite differs', () => {
    const t = parseCreateTable("CREATE TABLE t(a TEXT DEFAULT 1.50, b DEFAULT (1+1), c DEFAULT CURRENT_TIME, d REAL DEFAULT 5, e DEFAULT -'x', f INT DEFAULT '12')");
    const [a, b, c, d, e, f] = t.columns;
    expect(a.default).toMatchObject({ kind: 'constant', text: '1.50', value: { type: 'real', value: 1.5 } });
    expect(applyAffinity((a.default as { value: TypedValue }).value, a.affinity)).toEqual({ type: 'text', value: '1.5' });
    const big = parseCreateTable('CREATE TABLE t(x DEFAULT -0x8000000000000000)').columns[0];
    expect(big.default).toMatchObject({ kind: 'constant', value: undefined });
    expect(defaultFor(big)).toEqual({ type: 'real', value: 9223372036854775808 });
    expect(defaultFor(a)).toEqual({ type: 'text', value: '1.50' });
    expect(b.default).toEqual({ kind: 'expression', text: '1+1' });
    expect(defaultFor(b)).toEqual({ type: 'null', value: null });
    expect(c.default).toEqual({ kind: 'time', text: 'CURRENT_TIME', which: 'CURRENT_TIME' });
    expect(defaultFor(c)).toEqual({ type: 'null', value: null });
    expect(defaultFor(d)).toEqual({ type: 'real', value: 5 });
    expect(defaultFor(e)).toEqual({ type: 'integer', value: 0 });
    expect(defaultFor(f)).toEqual({ type: 'integer', value: 12 });
  });
});
