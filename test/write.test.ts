/**
 * The write API against SQLite: schema statements, affinity, constraints and their messages,
 * ON CONFLICT, AUTOINCREMENT, WITHOUT ROWID, refusals, statement atomicity, transactions.
 * Every database quire writes is checked with SQLite's integrity_check and read back by SQLite.
 */
import { describe, it, expect, vi } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Database, MemoryStorage, exportRow, isQuireError } from '../src/index.js';
import { openDatabase } from '../src/node/index.js';
import { referenceExport, referenceIntegrity } from './util/reference.js';
import { tempDir } from './util/tmp.js';

function dump(db: Database, name = 'w.db'): string {
  const f = path.join(tempDir(), name);
  writeFileSync(f, (db.storage as MemoryStorage).getFile('db')!);
  return f;
}

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const e = await p.then(
    () => null,
    (x) => x,
  );
  expect(e, 'expected an error').not.toBeNull();
  expect(isQuireError(e)).toBe(true);
  return e as { code: string; message: string };
}

/**
 * Closes `ref` (SQLite's file, written the same way) and `db`, checking that quire's file passes
 * SQLite's integrity_check and holds the same rows of `tables` as SQLite's.
 */
async function expectSameAsReference(db: Database, ref: BetterSqlite.Database, tables: string[]): Promise<void> {
  const refFile = ref.name;
  ref.close();
  const f = dump(db);
  expect(referenceIntegrity(f)).toEqual(['ok']);
  for (const t of tables) expect(referenceExport(f, t)).toBe(referenceExport(refFile, t));
  await db.close();
}

/** Runs the same statements in SQLite for comparison. */
function sqlite(statements: string): string {
  const f = path.join(tempDir(), 'ref.db');
  const db = new BetterSqlite(f);
  db.exec(statements);
  db.close();
  return f;
}

describe('write API', () => {
  it('creates tables and indexes that SQLite reads, with its schema text and cookie', async () => {
    const db = await Database.memory();
    await db.exec(`create   table if not exists "my table" (id integer primary key, name text not null unique, score real default 1.5);
                   CREATE INDEX IF NOT EXISTS by_score ON "my table"(score DESC);`);
    await db.insert('my table', { name: 'ada', score: 3 });
    await db.insert('my table', { name: 'bob' });
    const f = dump(db);
    expect(referenceIntegrity(f)).toEqual(['ok']);
    const s = new BetterSqlite(f, { readonly: true });
    const rows = s.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all();
    expect(rows).toEqual([
      { type: 'table', name: 'my table', tbl_name: 'my table', sql: 'CREATE TABLE "my table" (id integer primary key, name text not null unique, score real default 1.5)' },
      { type: 'index', name: 'sqlite_autoindex_my table_1', tbl_name: 'my table', sql: null },
      { type: 'index', name: 'by_score', tbl_name: 'my table', sql: 'CREATE INDEX by_score ON "my table"(score DESC)' },
    ]);
    expect(s.prepare('SELECT * FROM "my table" ORDER BY id').all()).toEqual([
      { id: 1, name: 'ada', score: 3 },
      { id: 2, name: 'bob', score: 1.5 },
    ]);
    expect(s.pragma('schema_version', { simple: true })).toBe(2);
    s.close();
    await db.close();
  });

  it('applies affinity exactly as SQLite does', async () => {
    const ddl = 'CREATE TABLE a(i INTEGER, r REAL, t TEXT, n NUMERIC, b BLOB, x)';
    const values: unknown[][] = [
      ['12', '12', 12, '12.0', '12', '12'],
      [1.0, 1, 1.5, ' 7 ', 7, 7.5],
      ['0x10', '1e3', -0, '1e3', 'abc', null],
      ['9223372036854775807', '9223372036854775808', 9007199254740993n, '-3.0', new Uint8Array([1, 2]), 2n ** 62n],
    ];
    const db = await Database.memory();
    await db.exec(ddl);
    for (const v of values) await db.insert('a', v as never);
    const ref = new BetterSqlite(sqlite(ddl));
    ref.defaultSafeIntegers(true);
    const ins = ref.prepare('INSERT INTO a VALUES (?, ?, ?, ?, ?, ?)');
    for (const v of values) ins.run(...v.map((x) => (typeof x === 'number' && Number.isInteger(x) && !Object.is(x, -0) ? BigInt(x) : x)));
    const refFile = ref.name;
    ref.close();
    const f = dump(db);
    expect(referenceExport(f, 'a')).toBe(referenceExport(refFile, 'a'));
    const typesOf = (file: string) =>
      new BetterSqlite(file, { readonly: true }).prepare('SELECT typeof(i), typeof(r), typeof(t), typeof(n), typeof(b), typeof(x) FROM a ORDER BY rowid').raw().all();
    expect(typesOf(f)).toEqual(typesOf(refFile));
    await db.close();
  });

  it('rows given as arrays of plain values (the insert fast path) and values needing conversion store as SQLite stores them', async () => {
    // The fast path takes rows whose values need no conversion; every other row (here: -0,
    // 2^47 in a REAL column, text in a NUMERIC column, a number in a TEXT column, 2^53, a
    // boolean, a missing column, a rowid not beyond the last) goes through the general path.
    const ddl = 'CREATE TABLE p(id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, n NUMERIC, b BLOB, x)';
    const rows: unknown[][] = [
      [null, 1, 1.5, 'a', 2, new Uint8Array([1]), 'x'],
      [10, 2.5, 3, 'b', 2.5, 'text in a blob column', 1.25],
      [11, -1, -(2 ** 47), 'é€', 7, new Uint8Array(0), null],
      [12, Infinity, -Infinity, null, -3, null, new Uint8Array([0, 255])],
      [13, 0, 2 ** 47 - 1, 'c', 0.5, 4, 2 ** 47],
      [14, -0, 1, 'd', 1, 1, 1],
      [15, 1, 2 ** 47, 'e', 1, 1, 1],
      [16, 1, 1, 'f', '12', 1, 1],
      [17, 1, 1, 5, 1, 1, 1],
      [18, 2 ** 53, 1, 'g', 1, 1, 1],
      [19, true, 1, 'h', 1, 1, 1],
      [20, 1, 1, 'i'],
      [5, 1, 1.5, 'j', 1, new Uint8Array([2]), 'y'],
      [null, 2, 2.5, 'k', 2, new Uint8Array([3]), 'z'],
    ];
    const db = await Database.memory();
    await db.exec(ddl);
    await db.transaction(async (tx) => {
      for (const r of rows) await tx.insert('p', r as never);
    });
    const ref = new BetterSqlite(sqlite(ddl));
    ref.defaultSafeIntegers(true);
    const ins = ref.prepare('INSERT INTO p VALUES (?, ?, ?, ?, ?, ?, ?)');
    const bind = (x: unknown) => (typeof x === 'boolean' ? BigInt(x) : typeof x === 'number' && Number.isInteger(x) && !Object.is(x, -0) ? BigInt(x) : x);
    for (const r of rows) ins.run(...[...r, null, null, null].slice(0, 7).map(bind));
    const refFile = ref.name;
    ref.close();
    const f = dump(db);
    expect(referenceIntegrity(f)).toEqual(['ok']);
    expect(referenceExport(f, 'p')).toBe(referenceExport(refFile, 'p'));
    const typesOf = (file: string) =>
      new BetterSqlite(file, { readonly: true }).prepare('SELECT id, typeof(i), typeof(r), typeof(t), typeof(n), typeof(b), typeof(x) FROM p ORDER BY rowid').raw().all();
    expect(typesOf(f)).toEqual(typesOf(refFile));
    // A rowid that is taken fails the statement, as in SQLite, and writes nothing.
    expect((await errorOf(db.insert('p', [10, 1, 1, 'dup', 1, 1, 1]))).message).toBe('UNIQUE constraint failed: p.id');
    expect(await db.get('p', 10)).toEqual([10, 10, 2.5, 3, 'b', 2.5, 'text in a blob column', 1.25]);
    await db.close();
  });

  it('an insert at a given rowid that is one change to one page runs without a statement savepoint, with SQLite\'s results and conflicts', async () => {
    // Odd rowids appended, then the even ones in a scrambled order: most go into a leaf with
    // room (tryInsert: no savepoint), the others split leaves (a statement savepoint each).
    const ddl = 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB); CREATE TABLE u(id INTEGER PRIMARY KEY ON CONFLICT IGNORE, v TEXT)';
    const N = 600;
    const row = (id: number) => [id, `row ${id} `.repeat(1 + (id % 7)), new Uint8Array(id % 50).fill(id & 0xff)];
    const evens = Array.from({ length: N / 2 }, (_, i) => 2 * (((i * 97) % (N / 2)) + 1));
    const db = await Database.memory();
    await db.exec(ddl);
    let savepoints = 0;
    await db.transaction(async (tx) => {
      for (let id = 1; id <= N; id += 2) await tx.insert('t', row(id));
      await tx.insert('u', [1, 'one']);
      const spy = vi.spyOn(tx.txn, 'savepoint');
      for (const id of evens) expect(await tx.insert('t', row(id))).toBe(id);
      savepoints = spy.mock.calls.length;
      // Taken rowids: a CONSTRAINT error, or null under IGNORE (the caller's or declared).
      expect((await errorOf(tx.insert('t', [8, 'dup', null]))).message).toBe('UNIQUE constraint failed: t.id');
      expect(await tx.insert('t', [8, 'dup', null], { onConflict: 'ignore' })).toBeNull();
      expect(await tx.insert('u', [1, 'dup'])).toBeNull();
      spy.mockRestore();
    });
    expect(savepoints).toBeGreaterThan(0);
    expect(savepoints).toBeLessThan(evens.length / 2);
    const ref = new BetterSqlite(sqlite(ddl));
    const ins = ref.prepare('INSERT INTO t VALUES (?, ?, ?)');
    ref.transaction(() => {
      for (let id = 1; id <= N; id += 2) ins.run(...row(id));
      for (const id of evens) ins.run(...row(id));
      ref.exec("INSERT INTO u VALUES (1, 'one')");
    })();
    await expectSameAsReference(db, ref, ['t', 'u']);
  });

  it('appends in rowid order split full leaves without a statement savepoint; with free pages they take the general path', async () => {
    const ddl = 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)';
    const row = (id: number) => [id, `value ${id} `.repeat(1 + (id % 9))];
    const db = await Database.memory();
    await db.exec(ddl);
    let savepoints = 0;
    await db.transaction(async (tx) => {
      const spy = vi.spyOn(tx.txn, 'savepoint');
      for (let id = 1; id <= 3000; id++) await tx.insert('t', row(id));
      savepoints = spy.mock.calls.length;
      // Free pages (a deleted range), then more appends: these allocate from the freelist.
      for (let id = 1000; id <= 2000; id++) await tx.delete('t', id);
      for (let id = 3001; id <= 4000; id++) await tx.insert('t', row(id));
      spy.mockRestore();
    });
    // Two statements: the first row (no tail yet) and the split of the root leaf (deeper).
    expect(savepoints).toBe(2);
    const ref = new BetterSqlite(sqlite(ddl));
    const ins = ref.prepare('INSERT INTO t VALUES (?, ?)');
    ref.transaction(() => {
      for (let id = 1; id <= 3000; id++) ins.run(...row(id));
      ref.prepare('DELETE FROM t WHERE id BETWEEN 1000 AND 2000').run();
      for (let id = 3001; id <= 4000; id++) ins.run(...row(id));
    })();
    await expectSameAsReference(db, ref, ['t']);
  });

  it('a delete that is one change to one page runs without a statement savepoint, with SQLite\'s results', async () => {
    // Every third row deleted in a scrambled order: most deletes leave their leaf a third full
    // (tryDelete), the others merge leaves (a statement each); rows with overflow chains and
    // absent rows take the general path.
    const ddl = 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB)';
    const N = 1500;
    const row = (id: number) => [id, `row ${id} `.repeat(1 + (id % 7)), new Uint8Array(id % 100 === 0 ? 5000 : id % 40).fill(id & 0xff)];
    const doomed = Array.from({ length: N / 3 }, (_, i) => 3 * (((i * 211) % (N / 3)) + 1));
    const db = await Database.memory();
    await db.exec(ddl);
    let savepoints = 0;
    await db.transaction(async (tx) => {
      for (let id = 1; id <= N; id++) await tx.insert('t', row(id));
      const spy = vi.spyOn(tx.txn, 'savepoint');
      for (const id of doomed) expect(await tx.delete('t', id)).toBe(true);
      expect(await tx.delete('t', 3)).toBe(false);
      savepoints = spy.mock.calls.length;
      spy.mockRestore();
    });
    expect(savepoints).toBeGreaterThan(0);
    expect(savepoints).toBeLessThan(doomed.length / 2);
    const ref = new BetterSqlite(sqlite(ddl));
    const ins = ref.prepare('INSERT INTO t VALUES (?, ?, ?)');
    const del = ref.prepare('DELETE FROM t WHERE id = ?');
    ref.transaction(() => {
      for (let id = 1; id <= N; id++) ins.run(...row(id));
      for (const id of doomed) del.run(id);
    })();
    await expectSameAsReference(db, ref, ['t']);
  });

  it('an INTEGER beyond 2^53 in a REAL column reads as a REAL, as SQLite returns it', async () => {
    // SQLite writes such a value into a REAL column as a REAL; an INTEGER gets there when the
    // column's declared type changes afterwards (made with the sqlite3 CLI's writable_schema).
    const f = path.join(tempDir(), 'real.db');
    execFileSync('sqlite3', [
      f,
      "CREATE TABLE tmp(x INTEGER, y); INSERT INTO tmp VALUES (1152921504606846977, 1); PRAGMA writable_schema=ON; UPDATE sqlite_schema SET sql='CREATE TABLE tmp(x REAL, y)' WHERE name='tmp';",
    ]);
    const want = referenceExport(f, 'tmp');
    expect(want).toBe(`[1,${JSON.stringify(Number(2n ** 60n + 1n))},1]\n`);
    const db = await openDatabase(f);
    let got = '';
    for await (const row of db.rows('tmp')) got += exportRow(row) + '\n';
    expect(got).toBe(want);
    expect(await db.get('tmp', 1)).toEqual([1, Number(2n ** 60n + 1n), 1]);
    await db.close();
  });

  it('reports constraint violations with SQLite messages and writes nothing', async () => {
    const db = await Database.memory();
    await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT UNIQUE, b NOT NULL, c INT, UNIQUE(b, c))');
    await db.insert('t', { id: 1, a: 'x', b: 1, c: 1 });
    const before = dump(db, 'before.db');
    expect((await errorOf(db.insert('t', { id: 1, a: 'y', b: 2 }))).message).toBe('UNIQUE constraint failed: t.id');
    expect((await errorOf(db.insert('t', { a: 'x', b: 2 }))).message).toBe('UNIQUE constraint failed: t.a');
    expect((await errorOf(db.insert('t', { a: 'z', b: 1, c: 1 }))).message).toBe('UNIQUE constraint failed: t.b, t.c');
    expect((await errorOf(db.insert('t', { a: 'w' }))).message).toBe('NOT NULL constraint failed: t.b');
    expect((await errorOf(db.insert('t', { id: 'abc', b: 1 }))).message).toBe('datatype mismatch');
    expect(readFileSync(dump(db, 'after.db'))).toEqual(readFileSync(before));
    // NULLs are distinct in UNIQUE.
    await db.insert('t', { b: 5 });
    await db.insert('t', { b: 5 });
    await db.close();
  });

  it('ON CONFLICT REPLACE / IGNORE, declared and per statement', async () => {
    const db = await Database.memory();
    await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY ON CONFLICT REPLACE, a TEXT UNIQUE ON CONFLICT IGNORE, b)');
    await db.insert('t', { id: 1, a: 'x', b: 1 });
    await db.insert('t', { id: 1, a: 'y', b: 2 }); // replaces row 1
    expect(await db.insert('t', { id: 2, a: 'y', b: 3 })).toBeNull(); // ignored: a='y' exists
    await db.insert('t', { id: 3, a: 'y', b: 4 }, { onConflict: 'replace' }); // replaces row 1 via a
    const f = dump(db);
    expect(referenceIntegrity(f)).toEqual(['ok']);
    expect(referenceExport(f, 't')).toBe('[3,3,"y",4]\n');
    await db.close();
  });

  it('AUTOINCREMENT keeps sqlite_sequence as SQLite does', async () => {
    const db = await Database.memory();
    await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, v)');
    await db.insert('t', { v: 1 });
    await db.insert('t', { id: 10, v: 2 });
    await db.delete('t', 10);
    expect(await db.insert('t', { v: 3 })).toBe(11);
    const f = dump(db);
    expect(referenceIntegrity(f)).toEqual(['ok']);
    expect(referenceExport(f, 'sqlite_sequence')).toBe('[1,"t",11]\n');
    await db.close();
  });

  it('WITHOUT ROWID tables with composite DESC/NOCASE keys and secondary indexes', async () => {
    const db = await Database.memory();
    await db.exec('CREATE TABLE w(k TEXT COLLATE NOCASE, n INT, v, PRIMARY KEY(k, n DESC)) WITHOUT ROWID; CREATE INDEX wv ON w(v)');
    for (const [k, n, v] of [['b', 1, 'x'], ['A', 2, 'y'], ['a', 1, 'z'], ['C', 5, null]] as const) await db.insert('w', { k, n, v });
    expect((await errorOf(db.insert('w', { k: 'B', n: 1, v: 'dup' }))).message).toBe('UNIQUE constraint failed: w.k, w.n');
    expect(await db.update('w', ['a', 2], { v: 'updated' })).toBe(true);
    expect(await db.delete('w', ['C', 5])).toBe(true);
    const f = dump(db);
    expect(referenceIntegrity(f)).toEqual(['ok']);
    expect(referenceExport(f, 'w')).toBe('["A",2,"updated"]\n["a",1,"z"]\n["b",1,"x"]\n');
    await db.close();
  });

  it('refuses writes that need SQL evaluation', async () => {
    const db = await Database.memory();
    await db.exec('CREATE TABLE c(x CHECK (x > 0)); CREATE TABLE g(a, b AS (a * 2)); CREATE TABLE d(a, b DEFAULT (random()))');
    expect((await errorOf(db.insert('c', { x: 1 }))).code).toBe('UNSUPPORTED');
    expect((await errorOf(db.insert('g', { a: 1 }))).code).toBe('UNSUPPORTED');
    expect((await errorOf(db.insert('d', { a: 1 }))).code).toBe('UNSUPPORTED');
    await db.insert('d', { a: 1, b: 2 }); // the DEFAULT expression is not needed
    expect((await errorOf(db.exec('CREATE INDEX e ON d(a + 1)'))).code).toBe('UNSUPPORTED');
    expect((await errorOf(db.exec('CREATE INDEX p ON d(a) WHERE a > 0'))).code).toBe('UNSUPPORTED');
    expect((await errorOf(db.exec('CREATE VIEW v AS SELECT 1'))).code).toBe('UNSUPPORTED');
    expect((await errorOf(db.insert('nope', { a: 1 }))).code).toBe('NOTFOUND');
    await db.close();
  });

  it('a failed CREATE UNIQUE INDEX leaves nothing behind; the transaction goes on', async () => {
    const db = await Database.memory();
    await db.exec('CREATE TABLE t(a)');
    await db.transaction(async (tx) => {
      for (let i = 0; i < 300; i++) await tx.insert('t', { a: i % 250 });
      const e = await tx.exec('CREATE UNIQUE INDEX u ON t(a)').catch((x) => x);
      expect(isQuireError(e) && e.code).toBe('CONSTRAINT');
      await tx.insert('t', { a: 'after' });
      await tx.exec('CREATE INDEX ok ON t(a)');
    });
    const f = dump(db);
    expect(referenceIntegrity(f)).toEqual(['ok']);
    const s = new BetterSqlite(f, { readonly: true });
    expect(s.prepare("SELECT name FROM sqlite_schema WHERE type='index'").pluck().all()).toEqual(['ok']);
    expect(s.prepare('SELECT count(*) FROM t').pluck().get()).toBe(301);
    s.close();
    await db.close();
  });

  it('a throwing transaction function rolls everything back', async () => {
    const db = await Database.memory();
    await db.exec('CREATE TABLE t(a)');
    const before = (db.storage as MemoryStorage).getFile('db');
    const boom = new Error('no');
    await expect(
      db.transaction(async (tx) => {
        await tx.insert('t', { a: 1 });
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect((db.storage as MemoryStorage).getFile('db')).toEqual(before);
    await db.close();
  });

  it('DROP TABLE frees its pages (and auto-vacuum moves roots); DROP INDEX', async () => {
    for (const autoVacuum of ['none', 'full', 'incremental'] as const) {
      const db = await Database.open(new MemoryStorage(), { readOnly: false, create: { pageSize: 1024, autoVacuum } });
      await db.exec('CREATE TABLE a(x); CREATE TABLE b(y UNIQUE); CREATE TABLE c(z); CREATE INDEX cz ON c(z)');
      await db.transaction(async (tx) => {
        for (let i = 0; i < 500; i++) {
          await tx.insert('a', { x: 'a'.repeat(i % 50) });
          await tx.insert('b', { y: i });
          await tx.insert('c', { z: i });
        }
      });
      await db.exec('DROP TABLE a; DROP INDEX cz');
      if (autoVacuum === 'incremental') await db.transaction((tx) => tx.incrementalVacuum(0));
      const f = dump(db, `drop-${autoVacuum}.db`);
      expect(referenceIntegrity(f), autoVacuum).toEqual(['ok']);
      expect(referenceExport(f, 'b').split('\n').length).toBe(501);
      await db.close();
    }
  });

  it('DROP TABLE and DROP INDEX remove exactly the schema and stat rows SQLite removes', async () => {
    // A trigger named like a table (triggers have their own namespace) stays with its table;
    // the dropped table's own index, triggers, sqlite_sequence and sqlite_stat1 rows go.
    const f = sqlite(`CREATE TABLE t(x INTEGER PRIMARY KEY AUTOINCREMENT, y); CREATE TABLE u(y); CREATE TABLE t2(z);
      CREATE INDEX ix ON t(y); CREATE INDEX t2z ON t2(z); CREATE INDEX uy ON u(y);
      CREATE TRIGGER t AFTER INSERT ON u BEGIN SELECT 1; END;
      CREATE TRIGGER "T2" AFTER INSERT ON u BEGIN SELECT 2; END;
      CREATE TRIGGER on_t AFTER INSERT ON t BEGIN SELECT 3; END;
      CREATE VIEW v AS SELECT * FROM t;
      INSERT INTO t(y) VALUES (1), (2); INSERT INTO u VALUES (3); INSERT INTO t2 VALUES (4), (5);
      ANALYZE;`);
    const schemaOf = (file: string) => {
      const s = new BetterSqlite(file, { readonly: true });
      try {
        return {
          schema: s.prepare('SELECT type, name, tbl_name FROM sqlite_schema ORDER BY rowid').all(),
          seq: s.prepare('SELECT * FROM sqlite_sequence ORDER BY rowid').all(),
          stat: s.prepare('SELECT tbl, idx, stat FROM sqlite_stat1 ORDER BY rowid').all(),
        };
      } finally {
        s.close();
      }
    };
    for (const sql of ['DROP TABLE t', 'DROP TABLE u', 'DROP TABLE T2', 'DROP INDEX uy']) {
      const theirs = path.join(tempDir(), 'theirs.db');
      const ours = path.join(tempDir(), 'ours.db');
      writeFileSync(theirs, readFileSync(f));
      writeFileSync(ours, readFileSync(f));
      const s = new BetterSqlite(theirs);
      s.exec(sql);
      s.close();
      const db = await openDatabase(ours, { readOnly: false });
      await db.exec(sql);
      await db.close();
      expect(referenceIntegrity(ours), sql).toEqual(['ok']);
      expect(schemaOf(ours), sql).toEqual(schemaOf(theirs));
    }
  });

  it('writes 0 and 1 as serial types 8/9 only when the schema format is 4, as SQLite does', async () => {
    for (const format of [1, 4]) {
      const f = sqlite('PRAGMA page_size = 1024; CREATE TABLE t(a, b, c)');
      const img = readFileSync(f);
      img.writeUInt32BE(format, 44);
      const theirs = path.join(tempDir(), 'theirs.db');
      const ours = path.join(tempDir(), 'ours.db');
      writeFileSync(theirs, img);
      writeFileSync(ours, img);
      const s = new BetterSqlite(theirs);
      s.exec("INSERT INTO t VALUES (0, 1, 'x')");
      s.close();
      const db = await openDatabase(ours, { readOnly: false });
      await db.insert('t', [0, 1, 'x']);
      await db.close();
      expect(referenceIntegrity(ours)).toEqual(['ok']);
      // Page 2, the table's only leaf, holds the same record bytes.
      const page2 = (file: string) => readFileSync(file).subarray(1024, 2048);
      expect(page2(ours).equals(page2(theirs)), `schema format ${format}`).toBe(true);
    }
  });

  it('WAL-mode databases: created in WAL mode, committed as frames, read by SQLite', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'wal.db');
    const db = await openDatabase(f, { readOnly: false, create: { journalMode: 'wal' } });
    await db.exec('CREATE TABLE t(a)');
    await db.transaction(async (tx) => {
      for (let i = 0; i < 1000; i++) await tx.insert('t', { a: i });
    });
    await db.close();
    expect(referenceIntegrity(f)).toEqual(['ok']);
    const s = new BetterSqlite(f, { readonly: true });
    expect(s.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.prepare('SELECT sum(a) FROM t').pluck().get()).toBe(499500);
    s.close();
  });
});
