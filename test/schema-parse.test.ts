/**
 * CREATE TABLE / INDEX parsing (src/schema/parse.ts, autoindex.ts) against real SQLite:
 * hand-picked tricky statements and fast-check-generated ones are run through better-sqlite3,
 * and quire's parse of the text SQLite stored must agree with PRAGMA table_xinfo, index_list,
 * index_xinfo, table_list and foreign_key_list. Statements SQLite rejects must be rejected too.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isQuireError } from '../pager/errors.js';
import { indexColumns, recordColumns } from '../src/schema/autoindex.js';
import { parseCreateIndex, parseCreateTable, parseCreateTrigger, parseCreateView, parseSchemaSql } from '../src/schema/parse.js';
import { FALLBACK_ID, KEYWORDS, keywordCode, quoteIdentifier, tokenize } from '../src/schema/tokenize.js';
import type { TableDef } from '../src/schema/types.js';
import { SCHEMA_TABLE_SQL } from '../src/schema/index.js';
import { expectMatchesOracle, oracleTable } from './schema-oracle.js';

const SEED = Number(process.env.QUIRE_SEED ?? 0x7ab1e);
console.log(`schema-parse: fast-check seed ${SEED}`);

/** Compares quire's parse of `sql` with SQLite's view; returns the parsed table. */
function check(sql: string): TableDef | undefined {
  const o = oracleTable(sql);
  let def: TableDef | undefined;
  let err: unknown;
  try {
    def = parseCreateTable(sql);
  } catch (e) {
    err = e;
  }
  if (!o.ok) {
    expect({ sql, quire: err === undefined ? 'accepted' : 'rejected', sqlite: o.error }).toEqual({ sql, quire: 'rejected', sqlite: o.error });
    expect(isQuireError(err)).toBe(true);
    return undefined;
  }
  if (err !== undefined) throw new Error(`quire rejected what SQLite accepted: ${sql}\n${String(err)}`);
  // The stored text must parse to the same thing.
  const stored = parseCreateTable(o.storedSql);
  expectMatchesOracle(stored, o, sql);
  expectMatchesOracle(def as TableDef, o, sql);
  return stored;
}

describe('tokenizer', () => {
  it('has SQLite 3.53 keyword list and fallbacks', () => {
    expect(Object.keys(KEYWORDS).length).toBe(147);
    const db = new Database(':memory:');
    const words = [...Object.keys(KEYWORDS), 'WITHIN', 'STRICT', 'ROWID', 'TRUE', 'FALSE', 'STORED', 'MAIN', 'OID'];
    for (const w of words) {
      let ok = true;
      try {
        db.exec(`CREATE TABLE ${quoteIdentifier('t_' + w)}(${w} INT); DROP TABLE ${quoteIdentifier('t_' + w)}`);
      } catch {
        ok = false;
      }
      const code = keywordCode(w);
      const nameable = code === undefined || FALLBACK_ID.has(code) || code === 'JOIN_KW' || code === 'INDEXED' || code === 'WINDOW' || code === 'OVER' || code === 'FILTER';
      expect([w, nameable]).toEqual([w, ok]);
    }
  });

  it('quoteIdentifier round-trips any name through SQLite', () => {
    const db = new Database(':memory:');
    fc.assert(
      fc.property(fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.constantFrom(...Object.keys(KEYWORDS), 'a b', 'x"y', '1a', '_', 'é')), (n) => {
        if (n.includes('\u0000') || /^sqlite_/i.test(n)) return;
        const q = quoteIdentifier(n);
        db.exec(`CREATE TABLE ${q}(${q} INT)`);
        expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().get()).toBe(n);
        expect(parseCreateTable(db.prepare("SELECT sql FROM sqlite_schema").pluck().get() as string).columns[0].name).toBe(n);
        db.exec(`DROP TABLE ${q}`);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('splits tokens the way SQLite does', () => {
    const types = (s: string) => tokenize(s).map((t) => t.type);
    expect(types("x'00ff' 0x1F 1.5e3 .5 1_000 12 'it''s' \"a\"\"b\" [x y] `q`")).toEqual(['BLOB', 'INTEGER', 'FLOAT', 'FLOAT', 'QNUMBER', 'INTEGER', 'STRING', 'ID', 'ID', 'ID', 'EOF']);
    expect(types('a -- comment\n b /* c */ c /* open')).toEqual(['ID', 'ID', 'ID', 'EOF']);
    expect(types('a->b ->> || != <> == <= >= << >>')).toEqual(['ID', 'PTR', 'ID', 'PTR', 'CONCAT', 'NE', 'NE', 'EQ', 'LE', 'GE', 'LSHIFT', 'RSHIFT', 'EOF']);
    expect(types('window over filter')).toEqual(['ID', 'ID', 'ID', 'EOF']);
    expect(types('a\u0000 b c')).toEqual(['ID', 'EOF']);
    for (const bad of ["'open", '"open', '[open', "x'0'", "x'zz'", '12abc', '!', '\u000b', '$']) {
      expect(() => tokenize(bad)).toThrow(/unrecognized token/);
    }
  });

  it('agrees with SQLite on what is a valid token', () => {
    // A virtual table's arguments may be any tokens, so SQLite tokenizes all of them before it
    // finds out that the module does not exist: "unrecognized token" is then the tokenizer's word.
    const db = new Database(':memory:');
    const piece = fc.oneof(
      fc.constantFrom('1', '1.', '.1', '1e5', '1e', '1e+', '0x', '0x1g', '1_0', '1__0', "x'0a'", "x'a'", '[a', '"a"', "'a'", '`a`', '$a', '?1', ':b', '@c', '#d', '!', '!=', '/*', '--', 'é', '\u00a0', '\t', ' ', '\u000b', '\ufeff', '->>', '||', '~', '&', '^', '\\'),
      fc.stringMatching(/^[a-z0-9_$.]{1,4}$/),
    );
    let unrecognized = 0;
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 4 }), (parts) => {
        const s = parts.join('');
        let sqliteUnrecognized = false;
        try {
          db.exec(`CREATE VIRTUAL TABLE v USING nomodule(${s}\n)`);
        } catch (e) {
          sqliteUnrecognized = /unrecognized token/.test((e as Error).message);
        }
        let quireUnrecognized = false;
        try {
          tokenize(s);
        } catch (e) {
          quireUnrecognized = /unrecognized token/.test((e as Error).message);
        }
        if (sqliteUnrecognized) unrecognized++;
        expect([s, quireUnrecognized]).toEqual([s, sqliteUnrecognized]);
      }),
      { seed: SEED, numRuns: 3000 },
    );
    expect(unrecognized).toBeGreaterThan(100);
  });
});

describe('CREATE TABLE, named cases', () => {
  const cases = [
    'CREATE TABLE t(x "INTEGER" PRIMARY KEY, y)',
    'CREATE TABLE t(x [integer] PRIMARY KEY)',
    'CREATE TABLE t(x integer(5) PRIMARY KEY)',
    'CREATE TABLE t(x INTEGER PRIMARY KEY DESC, y)',
    'CREATE TABLE t(x INTEGER, y, PRIMARY KEY(x DESC))',
    'CREATE TABLE t(x INTEGER, y, PRIMARY KEY(x COLLATE nocase))',
    'CREATE TABLE t(x "INTEGER"y PRIMARY KEY)',
    'CREATE TABLE t(x INT PRIMARY KEY)',
    'CREATE TABLE t(x INTEGER PRIMARY KEY AUTOINCREMENT, y TEXT)',
    'CREATE TABLE t(x INT PRIMARY KEY AUTOINCREMENT)',
    'CREATE TABLE t(x "VARCHAR" (10), y [a]b, z varchar ( 10 , 2 ), w int generated always as (1), v foo generated always, u INT GENERATED AS (2))',
    'CREATE TABLE t(a KEY, b REPLACE, c ASC, "order" TEXT, [select] INT, `from` REAL, \'where\' BLOB, left, "" INT)',
    'CREATE TABLE t(a, b, c, UNIQUE(a), PRIMARY KEY(c, a, c), UNIQUE(b) ON CONFLICT REPLACE) WITHOUT ROWID',
    'CREATE TABLE t(a INTEGER PRIMARY KEY, b UNIQUE, c UNIQUE) WITHOUT ROWID',
    'CREATE TABLE t(a INTEGER UNIQUE, b, PRIMARY KEY(a)) WITHOUT ROWID',
    'CREATE TABLE t(a INTEGER, b, PRIMARY KEY(a COLLATE nocase DESC)) WITHOUT ROWID',
    'CREATE TABLE t(a, b DESC, PRIMARY KEY(b DESC, a), UNIQUE(a COLLATE nocase)) WITHOUT ROWID',
    'CREATE TABLE t(a UNIQUE COLLATE nocase UNIQUE, b PRIMARY KEY UNIQUE, c, UNIQUE(a COLLATE binary), UNIQUE(c DESC), UNIQUE(c))',
    'CREATE TABLE t(a UNIQUE ON CONFLICT IGNORE, b, UNIQUE(a))',
    'CREATE TABLE t(a UNIQUE ON CONFLICT IGNORE, UNIQUE(a) ON CONFLICT REPLACE)',
    'CREATE TABLE t(a PRIMARY KEY DESC, b)',
    'CREATE TABLE t(a TEXT PRIMARY KEY COLLATE nocase, b)',
    'CREATE TABLE t(a, b, UNIQUE(a, b), PRIMARY KEY(a, b))',
    'CREATE TABLE t(a, b, UNIQUE(b DESC, a), PRIMARY KEY(b, a)) WITHOUT ROWID',
    "CREATE TABLE t(a, b, PRIMARY KEY('a', \"b\"), UNIQUE(('b') COLLATE rtrim))",
    'CREATE TABLE t(a INT, b TEXT, c REAL, d BLOB, e ANY, f INTEGER PRIMARY KEY) STRICT',
    'CREATE TABLE t(a INT PRIMARY KEY, b TEXT) STRICT',
    'CREATE TABLE t(a VARCHAR(10)) STRICT',
    'CREATE TABLE t(a) STRICT',
    'CREATE TABLE t(a INT, b TEXT, PRIMARY KEY(b)) STRICT, WITHOUT ROWID',
    'CREATE TABLE t(a) WITHOUT ROWID',
    'CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT) WITHOUT ROWID',
    'CREATE TABLE t(a) WITHOUT rowid2',
    'CREATE TABLE t(a) foo',
    'CREATE TABLE t(a INT, a TEXT)',
    'CREATE TABLE t(a INT, A TEXT)',
    'CREATE TABLE t(a PRIMARY KEY, b PRIMARY KEY)',
    'CREATE TABLE t(a AS (1))',
    'CREATE TABLE t(a, b AS (a + 1) STORED, c GENERATED ALWAYS AS (a * 2) VIRTUAL, d INT GENERATED ALWAYS AS (3))',
    'CREATE TABLE t(a, b AS (1) PRIMARY KEY)',
    'CREATE TABLE t(a, b DEFAULT 1 AS (1))',
    'CREATE TABLE t(a, b AS (1) foo)',
    'CREATE TABLE t(a, b AS (1) "stored")',
    'CREATE TABLE t(a PRIMARY KEY, b AS (1)) WITHOUT ROWID',
    'CREATE TABLE t(a DEFAULT 5, b DEFAULT -5, c DEFAULT +5, d DEFAULT (5), e DEFAULT \'x\', f DEFAULT "dq", g DEFAULT dq, h DEFAULT true, i DEFAULT NULL, j DEFAULT x\'00\', k DEFAULT CURRENT_TIMESTAMP, l DEFAULT (1 + 1), m DEFAULT ( - 5 ), n DEFAULT 1_000, o DEFAULT key, p DEFAULT -0x10)',
    'CREATE TABLE t(a REFERENCES p, b REFERENCES p(x) ON DELETE CASCADE ON UPDATE SET NULL MATCH full, c, d, FOREIGN KEY(c, d) REFERENCES q(x, y) DEFERRABLE INITIALLY DEFERRED)',
    'CREATE TABLE t(a REFERENCES p(x, y))',
    'CREATE TABLE t(a, b, FOREIGN KEY(a, b) REFERENCES p(x))',
    'CREATE TABLE t(a, FOREIGN KEY(z) REFERENCES p)',
    'CREATE TABLE t(a CONSTRAINT c1 CHECK(a > 0) CONSTRAINT c2 NOT NULL, b, CONSTRAINT pk PRIMARY KEY(a) CONSTRAINT u UNIQUE(b) CHECK(b))',
    'CREATE TABLE t(a NOT NULL ON CONFLICT IGNORE NULL, b NOT DEFERRABLE, c DEFERRABLE INITIALLY IMMEDIATE)',
    'CREATE TABLE IF NOT EXISTS main."a b"(x)',
    'CREATE TEMP TABLE t(x)',
    'CREATE TABLE t(x) ;',
    'CREATE TABLE t(PRIMARY KEY(x))',
    'CREATE TABLE t(x, PRIMARY KEY(y))',
    'CREATE TABLE t(x, PRIMARY KEY(x + 1))',
    'CREATE TABLE t(x, UNIQUE(x NULLS FIRST))',
    'CREATE TABLE t(x, y, PRIMARY KEY(x AUTOINCREMENT))',
    'CREATE TABLE t(x INTEGER, y, PRIMARY KEY(x AUTOINCREMENT))',
    'CREATE TABLE t(x INTEGER, y, PRIMARY KEY(x ASC, y))',
    'CREATE TABLE t(x, y, UNIQUE(x) UNIQUE(y), PRIMARY KEY(y, x))',
    'CREATE TABLE t(x generated always)',
    'CREATE TABLE t(x INT PRIMARY KEY NOT NULL UNIQUE) WITHOUT ROWID',
    'CREATE TABLE t(window x AS (1))',
    'CREATE TABLE t(x INTEGER NOT NULL PRIMARY KEY ON CONFLICT REPLACE)',
    'CREATE TABLE "t""q"(x)',
    'CREATE TABLE t(x VARCHAR(-5), y DEC(+1, -2.5), z CHAR(1_0))',
    'CREATE TABLE t(x, y AS (x) VIRTUAL, z, UNIQUE(y), PRIMARY KEY(z)) WITHOUT ROWID',
    'CREATE TABLE t(x COLLATE "nocase" PRIMARY KEY, y COLLATE [rtrim] UNIQUE)',
    ...['("abc")', '(abc)', '(abc())', '(random())', '(a)', '(1 COLLATE nocase)', '(CAST(1 AS foo))', '(true)', '("true")', '(1 IN (SELECT 1))',
      '(EXISTS (SELECT 1))', '(?)', '(CASE WHEN 1 THEN 2 END)', '(1 LIKE 2)', '(x.y)', '(left)', '(end)', '(current_time)', '(1 IS NOT NULL)',
      '([x])', '(`x`)', '(key)', "(CAST(b AS TEXT))", "(coalesce(NULL, 'x') || 'y')", '(CASE 1 WHEN 2 THEN x END)'].map((d) => `CREATE TABLE t(a DEFAULT ${d}, b)`),
    ...['a INT CHECK(rowid > 0)', 'a INT CHECK(oid > 0)', 'a INT CHECK(zz > 0)', 'a INT CHECK(t.a > 0)', 'a INT CHECK(main.t.a > 0)', 'a INT CHECK(u.a > 0)',
      'a INT, b AS (rowid)', 'a INT, b AS (zz)', 'a INT, b AS (a+1), CHECK(b > 0)', 'a INT CHECK(a IN (1,2))', 'a INT CHECK(a IS NOT DISTINCT FROM 1)',
      "a INT CHECK(lower(a) LIKE 'x%' ESCAPE '\\')", "a INT CHECK(a -> '$.x')", 'a INT CHECK(a BETWEEN 1 AND 2)', 'a INT CHECK(CAST(a AS foo))',
      'a INT CHECK(a COLLATE nocase = 1)', 'a INT CHECK(true)', 'a INT CHECK(a > (SELECT 1))', 'a INT CHECK(?)', 'a INT, CHECK(zz)',
      'a INT, b AS (a COLLATE x)', 'a INT, CHECK(_rowid_ > 0)', 'a PRIMARY KEY, CHECK(rowid > 0)) WITHOUT ROWID --', 'a INT CHECK(CASE a WHEN 1 THEN key END)',
      'key INT CHECK(key > 0), "x y" CHECK("x y" > 0 AND [x y] < 9 AND T.key = 1)', 'a, b AS (upper(a)) STORED CHECK (b <> a)'].map((c) => `CREATE TABLE t(${c})`),
  ];
  for (const sql of cases) {
    it(sql, () => {
      check(sql);
    });
  }

  it('the schema table definition parses like SQLite reads it', () => {
    const t = check(SCHEMA_TABLE_SQL.replace('sqlite_schema', 'x')) as TableDef;
    expect(t.columns.map((c) => c.name)).toEqual(['type', 'name', 'tbl_name', 'rootpage', 'sql']);
    expect(parseCreateTable(SCHEMA_TABLE_SQL).name).toBe('sqlite_schema');
  });

  it('a generated-column key type is reported like SQLite', () => {
    const t = check('CREATE TABLE t(x INT GENERATED ALWAYS AS (1) STORED, y)') as TableDef;
    expect(t.columns[0].generated).toEqual({ expr: '1', stored: true });
    expect(recordColumns(t)).toEqual([0, 1]);
  });

  it('keeps constraints as data', () => {
    const t = check("CREATE TABLE t(a INTEGER CONSTRAINT k PRIMARY KEY ON CONFLICT FAIL AUTOINCREMENT CHECK (a <> 0), b TEXT CHECK(length(b) < 10) COLLATE NOCASE, CHECK (a + b > 0))") as TableDef;
    expect(t.primaryKey).toMatchObject({ onConflict: 'FAIL', autoincrement: true, origin: 'column', name: 'k' });
    expect(t.autoincrement).toBe(true);
    expect(t.checks.map((c) => [c.expr, c.name, c.origin])).toEqual([
      ['a <> 0', 'k', 'column'],
      ['length(b) < 10', undefined, 'column'],
      ['a + b > 0', undefined, 'table'],
    ]);
    expect(t.columns[1].collation).toBe('NOCASE');
  });

  it('rejects CREATE TABLE AS SELECT as unsupported and reads virtual tables', () => {
    expect(() => parseCreateTable('CREATE TABLE t AS SELECT 1')).toThrow(/SQL evaluation/);
    const v = parseCreateTable("CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(title, body, tokenize = 'porter ascii', content='')");
    expect(v.virtual).toEqual({ module: 'fts5', args: ['title', 'body', "tokenize = 'porter ascii'", "content=''"] });
    expect(v.columns).toEqual([]);
    expect(parseCreateTable('CREATE VIRTUAL TABLE r USING rtree_i32').virtual).toEqual({ module: 'rtree_i32', args: [] });
  });
});

// ---- random CREATE TABLE statements ---------------------------------------------------------

const bareNames = ['a', 'b', 'c', 'x1', 'Col', '_u', 't$x', 'é', 'ÆØÅ', 'key', 'replace', 'asc', 'desc', 'temp', 'abort', 'if', 'offset', 'view', 'virtual', 'without', 'first', 'generated', 'always', 'current_date', 'cast', 'glob', 'no', 'raise', 'end', 'rowid', 'oid', 'left', 'natural', 'indexed', 'window', 'true', 'strict', 'stored'];
const oddNames = ['a b', 'a"b', "it's", 'x]', '`q`', 'select', 'order', 'primary', 'unique', '1abc', '', 'ÿ', 'NOCASE', 'table'];

const nameText = (n: string, style: number): string => {
  switch (style) {
    case 0:
      return bareNames.includes(n) ? n : `"${n.replace(/"/g, '""')}"`;
    case 1:
      return `"${n.replace(/"/g, '""')}"`;
    case 2:
      return n.includes(']') ? `"${n.replace(/"/g, '""')}"` : `[${n}]`;
    case 3:
      return `\`${n.replace(/`/g, '``')}\``;
    default:
      return `'${n.replace(/'/g, "''")}'`;
  }
};

const name = fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...bareNames) }, { weight: 1, arbitrary: fc.constantFrom(...oddNames) }), fc.nat(4)).map(([n, s]) => nameText(n, s));

const typeName = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.constantFrom(
      '', 'INT', 'INTEGER', 'integer', '"INTEGER"', '[integer]', "'Integer'", 'TEXT', 'text', 'VARCHAR(10)', '"VARCHAR" (10)', 'DECIMAL(10, 5)', 'DOUBLE PRECISION',
      'FLOATING POINT', 'BLOB', 'REAL', 'NUMERIC', 'ANY', 'BOOLEAN', '[a]b', '"a""b"', 'key', 'replace asc', 'unsigned big int', 'nvarchar(+5)', 'char(-3)',
      'INT GENERATED', 'generated always', 'CHARINT', '"INTEGER"x', 'ANY TEXT', 'int8', 'BIGINT', 'VARYING CHARACTER(255)', 'CLOB', 'datetime',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('TEXT(1_0)', 'INT(', 'CHAR(x)') },
);

const conflict = fc.constantFrom('', ' ON CONFLICT ROLLBACK', ' ON CONFLICT ABORT', ' ON CONFLICT FAIL', ' ON CONFLICT IGNORE', ' ON CONFLICT REPLACE');
const collation = fc.constantFrom('BINARY', 'NOCASE', 'RTRIM', 'nocase', '"rtrim"', '[binary]', "'NoCase'");
export const defaultLiteral = fc.constantFrom(
  '5', '-5', '+5', '1.5', '-1.5e3', '0x10', '-0x10', "'abc'", '"abc"', 'abc', 'true', 'FALSE', 'NULL', "x'00ff'", 'CURRENT_TIME', 'CURRENT_DATE', 'CURRENT_TIMESTAMP',
  '(5)', "('x')", '(-5)', '(1+1)', '(CAST(5 AS TEXT))', "(CAST('7' AS INTEGER))", '9223372036854775807', '-9223372036854775808', '9223372036854775808', '1e400',
  '1_000', '(- - 5)', '(-+5)', "('12')", "' 12 '", "'1e3'", "(x'41')", 'key', 'replace', '"true"', '(true)', '( ( 2.50 ) )', '-0.0', '(CURRENT_TIME)', "(-'x')",
  '0x7fffffffffffffff', '0xffffffffffffffff', '1.0', '+1.50', "'0x10'", "(CAST(x'3132' AS INTEGER))", '(NULL)', "('abc' COLLATE nocase)",
);

const columnConstraint = fc.oneof(
  { weight: 3, arbitrary: conflict.map((c) => `NOT NULL${c}`) },
  { weight: 1, arbitrary: fc.constant('NULL') },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('', ' ASC', ' DESC'), conflict, fc.constantFrom('', '', '', '', ' AUTOINCREMENT')).map(([o, c, a]) => `PRIMARY KEY${o}${c}${a}`),
  },
  { weight: 3, arbitrary: conflict.map((c) => `UNIQUE${c}`) },
  { weight: 5, arbitrary: defaultLiteral.map((d) => `DEFAULT ${d}`) },
  { weight: 3, arbitrary: collation.map((c) => `COLLATE ${c}`) },
  { weight: 1, arbitrary: fc.constantFrom('CHECK (1)', "CHECK(length('x') > 0)") },
  {
    weight: 1,
    arbitrary: fc
      .tuple(name, fc.constantFrom('', ' ON DELETE CASCADE', ' ON UPDATE SET NULL ON DELETE RESTRICT', ' MATCH SIMPLE', ' ON DELETE NO ACTION'))
      .map(([n, a]) => `REFERENCES ${n}${a}`),
  },
  { weight: 1, arbitrary: name.map((n) => `CONSTRAINT ${n}`) },
  { weight: 1, arbitrary: fc.constantFrom('GENERATED ALWAYS AS (1) STORED', 'AS (2)', 'GENERATED ALWAYS AS (3) VIRTUAL', 'AS (4) stored') },
  { weight: 1, arbitrary: fc.constantFrom('DEFERRABLE INITIALLY DEFERRED', 'NOT DEFERRABLE') },
);

const column = fc.tuple(name, typeName, fc.array(columnConstraint, { maxLength: 4 })).map(([n, t, cs]) => [n, t, ...cs].filter((x) => x !== '').join(' '));

function tableConstraint(colNames: string[]): fc.Arbitrary<string> {
  const ref = fc.constantFrom(...colNames);
  const keyPart = fc.tuple(ref, fc.constantFrom('', '', ' COLLATE NOCASE', ' COLLATE binary', ' COLLATE RTRIM'), fc.constantFrom('', '', ' ASC', ' DESC')).map(([r, c, o]) => `${r}${c}${o}`);
  const keyList = fc.array(keyPart, { minLength: 1, maxLength: 3 }).map((xs) => xs.join(', '));
  return fc.oneof(
    fc.tuple(keyList, conflict).map(([k, c]) => `PRIMARY KEY (${k})${c}`),
    fc.tuple(keyList, conflict).map(([k, c]) => `UNIQUE (${k})${c}`),
    fc.constant('CHECK (1 > 0)'),
    fc.tuple(ref, name).map(([r, n]) => `FOREIGN KEY (${r}) REFERENCES ${n} (x) ON DELETE SET DEFAULT`),
    name.map((n) => `CONSTRAINT ${n}`),
  );
}

const createTable = fc
  .tuple(name, fc.array(column, { minLength: 1, maxLength: 5 }))
  .chain(([tname, cols]) => {
    const colNames = cols.map((c) => tokenize(c)[0].text);
    return fc.tuple(
      fc.constant(tname),
      fc.constant(cols),
      fc.array(tableConstraint(colNames), { maxLength: 3 }),
      fc.constantFrom('', '', '', ' WITHOUT ROWID', ' STRICT', ' WITHOUT ROWID, STRICT'),
      fc.boolean(),
    );
  })
  .map(([tname, cols, tcons, opts, commas]) => {
    // Table constraints may be separated by commas or by nothing at all (tconscomma).
    const body = cols.join(', ') + (tcons.length > 0 ? ', ' + tcons.join(commas ? ', ' : ' ') : '');
    return `CREATE TABLE ${tname}(${body})${opts}`;
  });

describe('CREATE TABLE, generated statements', () => {
  it('agrees with SQLite on acceptance, columns, affinities, keys, indexes and foreign keys', () => {
    let accepted = 0;
    let total = 0;
    fc.assert(
      fc.property(createTable, (sql) => {
        if (/^CREATE TABLE ["'`[]?sqlite_/i.test(sql)) return;
        total++;
        if (check(sql)) accepted++;
      }),
      { seed: SEED, numRuns: 4000 },
    );
    console.log(`schema-parse: ${accepted} of ${total} generated CREATE TABLE statements accepted by SQLite`);
    expect(accepted).toBeGreaterThan(total / 4);
  });
});

// ---- CREATE INDEX, VIEW, TRIGGER --------------------------------------------------------------

describe('CREATE INDEX', () => {
  const table = 'CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT COLLATE NOCASE, c, "d e")';
  const wr = 'CREATE TABLE w(a, b TEXT COLLATE NOCASE, c, PRIMARY KEY(c DESC, a)) WITHOUT ROWID';
  const indexes = [
    [table, 'CREATE INDEX i ON t(b)'],
    [table, "CREATE UNIQUE INDEX IF NOT EXISTS i ON t(c DESC, b COLLATE binary, 'd e')"],
    [table, 'CREATE INDEX i ON t(a, c)'],
    [table, 'CREATE INDEX i ON t(lower(b), c + 1 DESC) WHERE c > 0'],
    [table, 'CREATE INDEX i ON t((c) COLLATE rtrim, ("b"))'],
    [wr, 'CREATE INDEX i ON w(b)'],
    [wr, 'CREATE INDEX i ON w(a COLLATE nocase, c)'],
    [wr, 'CREATE INDEX i ON w(c, b DESC)'],
  ];
  for (const [tsql, isql] of indexes) {
    it(isql, () => {
      const db = new Database(':memory:');
      db.exec(tsql);
      db.exec(isql);
      const ix = parseCreateIndex(isql);
      const stored = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'i'").pluck().get() as string;
      expect(parseCreateIndex(stored).terms).toEqual(ix.terms);
      const cols = indexColumns(ix, parseCreateTable(tsql));
      const xinfo = db.prepare('PRAGMA index_xinfo(i)').all() as { seqno: number; cid: number; name: string | null; desc: number; coll: string; key: number }[];
      expect(cols.map((c, k) => ({ seqno: k, cid: c.column, name: c.name, desc: c.desc ? 1 : 0, coll: c.collation.toUpperCase(), key: c.key ? 1 : 0 }))).toEqual(
        xinfo.map((x) => ({ ...x, coll: x.coll.toUpperCase() })),
      );
      const list = (db.prepare("PRAGMA index_list(" + ix.table + ")").all() as { name: string; unique: number; partial: number }[]).find((x) => x.name === 'i');
      expect([ix.unique, ix.where !== undefined]).toEqual([list?.unique === 1, list?.partial === 1]);
    });
  }

  it('agrees with PRAGMA index_xinfo on random indexes over random tables', () => {
    const colName = fc.constantFrom('a', 'b', 'c', 'Key', '"x y"', '[d]', 'desc', 'left');
    const table = fc
      .tuple(
        fc.uniqueArray(colName, { minLength: 1, maxLength: 5, selector: (n) => n.replace(/["[\]]/g, '').toLowerCase() }),
        fc.array(fc.constantFrom('', ' TEXT', ' INTEGER', ' COLLATE NOCASE', ' TEXT COLLATE RTRIM', ' REAL'), { minLength: 5, maxLength: 5 }),
        fc.boolean(),
        fc.nat(),
      )
      .map(([names, types, wr, k]) => {
        const pk = wr ? `, PRIMARY KEY(${names.slice(0, 1 + (k % names.length)).map((n, i) => n + (i % 2 ? ' DESC' : '')).join(', ')})` : '';
        return { names, sql: `CREATE TABLE t(${names.map((n, i) => n + types[i]).join(', ')}${pk})${wr ? ' WITHOUT ROWID' : ''}` };
      });
    fc.assert(
      fc.property(
        table.chain(({ names, sql }) =>
          fc.tuple(
            fc.constant(sql),
            fc.array(
              fc.oneof(
                fc.tuple(fc.constantFrom(...names), fc.constantFrom('', ' COLLATE NOCASE', ' COLLATE binary', ' COLLATE "rtrim"'), fc.constantFrom('', ' ASC', ' DESC')).map(([n, c, o]) => n + c + o),
                fc.constantFrom(...names).map((n) => `lower(${n})`),
                fc.constantFrom(...names).map((n) => `(${n} + 1) DESC`),
                fc.constantFrom(...names).map((n) => `((${n}))`),
              ),
              { minLength: 1, maxLength: 4 },
            ),
            fc.boolean(),
          ),
        ),
        ([tsql, terms, unique]) => {
          const db = new Database(':memory:');
          db.exec(tsql);
          const isql = `CREATE ${unique ? 'UNIQUE ' : ''}INDEX i ON t(${terms.join(', ')})`;
          db.exec(isql);
          const xinfo = db.prepare('PRAGMA index_xinfo(i)').all() as { seqno: number; cid: number; name: string | null; desc: number; coll: string; key: number }[];
          const stored = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'i'").pluck().get() as string;
          const cols = indexColumns(parseCreateIndex(stored), parseCreateTable(tsql));
          expect([isql, cols.map((c, k) => ({ seqno: k, cid: c.column, name: c.name, desc: c.desc ? 1 : 0, coll: c.collation.toUpperCase(), key: c.key ? 1 : 0 }))]).toEqual([
            isql,
            xinfo.map((x) => ({ ...x, coll: x.coll.toUpperCase() })),
          ]);
          db.close();
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('keeps the partial WHERE and expression text', () => {
    const ix = parseCreateIndex('CREATE INDEX main.i ON t(lower(b) COLLATE nocase DESC, c) WHERE c IS NOT NULL AND b <> \'\';');
    expect(ix).toMatchObject({ name: 'i', schema: 'main', table: 't', unique: false, where: "c IS NOT NULL AND b <> ''" });
    expect(ix.terms[0]).toEqual({ name: undefined, expr: 'lower(b)', collation: 'NOCASE', desc: true });
    expect(() => parseCreateIndex('CREATE INDEX i ON t(a NULLS LAST)')).toThrow(/NULLS/);
  });
});

describe('CREATE VIEW / TRIGGER and the dispatcher', () => {
  it('reads names and the triggering table', () => {
    expect(parseCreateView('CREATE TEMP VIEW IF NOT EXISTS "v 1"(x, y) AS SELECT 1, 2')).toMatchObject({ type: 'view', name: 'v 1', temp: true, ifNotExists: true, columns: ['x', 'y'] });
    expect(parseCreateTrigger("CREATE TRIGGER before AFTER UPDATE OF a, b ON main.t BEGIN SELECT 1; END")).toMatchObject({ type: 'trigger', name: 'before', table: 't' });
    expect(parseCreateTrigger('CREATE TEMP TRIGGER IF NOT EXISTS tr INSTEAD OF DELETE ON [my view] FOR EACH ROW BEGIN SELECT 1; END')).toMatchObject({ name: 'tr', table: 'my view', temp: true });
    expect(parseSchemaSql('CREATE UNIQUE INDEX i ON t(x)').type).toBe('index');
    expect(parseSchemaSql('CREATE VIRTUAL TABLE v USING fts5(x)').type).toBe('table');
    expect(parseSchemaSql('CREATE VIEW v AS SELECT 1').type).toBe('view');
    expect(parseSchemaSql('CREATE TRIGGER tr DELETE ON t BEGIN SELECT 1; END').type).toBe('trigger');
    expect(() => parseSchemaSql('DROP TABLE t')).toThrow(/syntax error/);
  });

  it('parses every schema object real SQLite stores for a mixed schema', () => {
    const db = new Database(':memory:');
    db.exec(`
      CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
      CREATE TABLE c(id, pid REFERENCES p(id), v REAL DEFAULT 0.5, PRIMARY KEY(id, pid)) WITHOUT ROWID;
      CREATE INDEX ci ON c(v DESC) WHERE v > 0;
      CREATE VIEW pv(n) AS SELECT name FROM p;
      CREATE TRIGGER tr AFTER INSERT ON p BEGIN INSERT INTO c VALUES (new.id, new.id, 1); END;
      CREATE VIRTUAL TABLE f USING fts5(body);
      CREATE TABLE seq(x INTEGER PRIMARY KEY AUTOINCREMENT);
    `);
    const rows = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL').all() as { type: string; name: string; tbl_name: string; sql: string }[];
    expect(rows.length).toBeGreaterThan(8);
    for (const r of rows) {
      const def = parseSchemaSql(r.sql);
      expect([r.name, def.type]).toEqual([r.name, r.type]);
      expect(def.name).toBe(r.name);
      if (def.type === 'index' || def.type === 'trigger') expect(def.table).toBe(r.tbl_name);
    }
  });
});
