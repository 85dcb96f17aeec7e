/**
 * Statement atomicity under I/O errors: every storage call a statement makes is made to fail
 * in turn, and the transaction around it commits anyway. SQLite must then find the file sound
 * (integrity_check) and its rows exactly as if the failed statement had never run: no half
 * statement (a row without its index entries, a REPLACE that deleted the old row but never
 * wrote the new one) is ever committed.
 *
 * For each statement kind and journal mode: a database made by SQLite (small pages, so the
 * trees are deep and a statement touches many pages, some rows with overflow chains), a
 * transaction that first runs a setup (so pages the statement changes are already dirty), the
 * statement, and an insert after it (the transaction stays usable). The storage calls of the
 * statement are counted once without a fault; then each call k fails once. The expected state
 * is made by SQLite running the same setup (and the statement's effect, for the run without a
 * fault) on a copy of the file.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Database, isQuireError, type Transaction } from '../src/index.js';
import { NodeFileStorage } from '../src/node/index.js';
import type { FileKind, FileStat, Storage } from '../pager/storage.js';
import { exportValue, withOracle } from './util/reference.js';
import { tempDir } from './util/tmp.js';

/** A storage whose calls (every kind) are counted; call number `failAt` throws once. */
class CountingStorage implements Storage {
  readonly label: string;
  readonly id: string;
  readonly readOnly: boolean;
  calls = 0;
  failAt = -1;
  fired = false;
  private readonly inner: Storage;

  constructor(inner: Storage) {
    this.inner = inner;
    this.label = inner.label;
    this.id = inner.id;
    this.readOnly = inner.readOnly;
  }

  /** Runs storage call number `calls` (`what`), unless it is the one that fails. */
  private call<T>(what: string, f: () => Promise<T>): Promise<T> {
    if (this.calls++ === this.failAt) {
      this.fired = true;
      return Promise.reject(new Error(`injected I/O error at storage call ${this.failAt} (${what})`));
    }
    return f();
  }
  exists(k: FileKind): Promise<boolean> {
    return this.call(`exists ${k}`, () => this.inner.exists(k));
  }
  size(k: FileKind): Promise<number> {
    return this.call(`size ${k}`, () => this.inner.size(k));
  }
  read(k: FileKind, offset: number, length: number): Promise<Uint8Array> {
    return this.call(`read ${k} ${offset}+${length}`, () => this.inner.read(k, offset, length));
  }
  stat(k: FileKind): Promise<FileStat | null> {
    return this.call(`stat ${k}`, async () => (this.inner.stat ? this.inner.stat(k) : null));
  }
  write(k: FileKind, offset: number, data: Uint8Array): Promise<void> {
    return this.call(`write ${k} ${offset}+${data.length}`, () => this.inner.write(k, offset, data));
  }
  truncate(k: FileKind, size: number): Promise<void> {
    return this.call(`truncate ${k} ${size}`, () => this.inner.truncate(k, size));
  }
  sync(k: FileKind): Promise<void> {
    return this.call(`sync ${k}`, () => this.inner.sync(k));
  }
  delete(k: FileKind): Promise<void> {
    return this.call(`delete ${k}`, () => this.inner.delete(k));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

type Mode = 'rollback' | 'wal';

const ROWS = 1000;
const LONG = 'L'.repeat(700); // longer than a 512-byte page: an overflow chain in table and index

function valueA(i: number): string {
  const base = `name-${String((i * 7919) % 1009).padStart(4, '0')}`;
  return i % 50 === 0 ? base + LONG : base;
}

function blobOf(i: number): Uint8Array {
  return Uint8Array.from({ length: 8 + (i % 24) }, (_, j) => (i * 31 + j) & 0xff);
}

/**
 * The database SQLite makes: t with a rowid alias, an index on a, a UNIQUE index on b; u
 * without indexes (even rowids), whose single-page inserts and deletes run without a
 * savepoint (their reads must still fail the statement).
 */
function makeBase(dir: string, mode: Mode, pageSize: number): string {
  const f = path.join(dir, `base-${mode}-${pageSize}.db`);
  const db = new BetterSqlite(f);
  db.pragma(`page_size = ${pageSize}`);
  if (mode === 'wal') db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER UNIQUE, c BLOB); CREATE INDEX ta ON t(a); CREATE TABLE u(id INTEGER PRIMARY KEY, v TEXT);');
  const ins = db.prepare('INSERT INTO t(id, a, b, c) VALUES (?, ?, ?, ?)');
  const insU = db.prepare('INSERT INTO u(id, v) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= ROWS; i++) ins.run(i, valueA(i), i * 3, blobOf(i));
    for (let i = 1; i <= 8 * ROWS; i++) insU.run(2 * i, `u-${i}`.padEnd(40, '.')); // three levels
  })();
  db.close();
  return f;
}

/** A step as quire runs it and as SQLite runs it. */
interface Step {
  quire: (tx: Transaction) => Promise<unknown>;
  sql: string;
}

const SETUP: Step = {
  // Dirties the right-most table leaf, an index leaf of each index, and the middle of the table;
  // writes to u once, so that the statements on u find it looked up and take the paths without
  // a savepoint (the first write to a table in a transaction is a statement).
  quire: async (tx) => {
    await tx.insert('t', { id: 10001, a: 'setup-row', b: -1, c: null });
    await tx.update('t', 7, { a: 'name-0500-setup' });
    await tx.insert('u', [1, 'setup-u']);
  },
  sql: "INSERT INTO t(id, a, b, c) VALUES (10001, 'setup-row', -1, NULL); UPDATE t SET a = 'name-0500-setup' WHERE id = 7; INSERT INTO u(id, v) VALUES (1, 'setup-u');",
};

const AFTER: Step = {
  quire: (tx) => tx.insert('t', { id: 30000, a: 'after', b: -2, c: null }),
  sql: "INSERT INTO t(id, a, b, c) VALUES (30000, 'after', -2, NULL);",
};

const MANY = [0, 1, 2, 3, 4].map((j) => ({ a: `many-${j}${j === 2 ? LONG : ''}`, b: 70000 + j, c: blobOf(j) }));

interface Kind {
  name: string;
  statement: Step;
  /** Each state the file may hold when the statement failed, as SQL run after the setup. */
  acceptable: string[];
}

const KINDS: Kind[] = [
  {
    name: 'insert into a table with indexes',
    statement: {
      quire: (tx) => tx.insert('t', { a: 'name-0333-new', b: 50000, c: new Uint8Array([1, 2, 3]) }),
      sql: "INSERT INTO t(a, b, c) VALUES ('name-0333-new', 50000, X'010203');",
    },
    acceptable: [''],
  },
  {
    name: 'insert with a REPLACE conflict (rowid and UNIQUE b)',
    statement: {
      quire: (tx) => tx.insert('t', { id: 5, a: 'replacing', b: 900 * 3, c: null }, { onConflict: 'replace' }),
      sql: "INSERT OR REPLACE INTO t(id, a, b, c) VALUES (5, 'replacing', 2700, NULL);",
    },
    acceptable: [''],
  },
  {
    name: 'update that moves the row and its index entries',
    statement: {
      quire: (tx) => tx.update('t', 300, { id: 20000, a: 'aaa-moved', b: 99999 }),
      sql: "UPDATE t SET id = 20000, a = 'aaa-moved', b = 99999 WHERE id = 300;",
    },
    acceptable: [''],
  },
  {
    name: 'insert at a given rowid into a table without indexes (one page: no savepoint)',
    statement: {
      quire: (tx) => tx.insert('u', [5001, 'between']),
      sql: "INSERT INTO u(id, v) VALUES (5001, 'between');",
    },
    acceptable: [''],
  },
  {
    // u's leaves are full (SQLite appended its rows): the row splits its leaf, reading the
    // siblings first (splitLeafInsert).
    name: 'insert at a given rowid that splits a leaf of a table without indexes (no savepoint)',
    statement: {
      quire: (tx) => tx.insert('u', [9001, 'split'.padEnd(150, '+')]),
      sql: `INSERT INTO u(id, v) VALUES (9001, '${'split'.padEnd(150, '+')}');`,
    },
    acceptable: [''],
  },
  {
    name: 'delete from a table without indexes (one page: no savepoint)',
    statement: {
      quire: async (tx) => {
        if (!(await tx.delete('u', 12000))) throw new Error('row 12000 of u was not there');
      },
      sql: 'DELETE FROM u WHERE id = 12000;',
    },
    acceptable: [''],
  },
  {
    name: 'delete of a row with overflow chains',
    statement: {
      quire: (tx) => tx.delete('t', 250),
      sql: 'DELETE FROM t WHERE id = 250;',
    },
    acceptable: [''],
  },
  {
    name: 'CREATE INDEX',
    statement: {
      quire: (tx) => tx.exec('CREATE INDEX tc ON t(c, a)'),
      sql: 'CREATE INDEX tc ON t(c, a);',
    },
    acceptable: [''],
  },
  {
    name: 'insertMany (each row its own statement)',
    statement: {
      quire: (tx) => tx.insertMany('t', MANY),
      sql: MANY.map((r) => `INSERT INTO t(a, b, c) VALUES ('${r.a}', ${r.b}, X'${Buffer.from(r.c).toString('hex')}');`).join(' '),
    },
    // The rows before the failing one stay, each whole.
    acceptable: MANY.map((_, n) =>
      MANY.slice(0, n)
        .map((r) => `INSERT INTO t(a, b, c) VALUES ('${r.a}', ${r.b}, X'${Buffer.from(r.c).toString('hex')}');`)
        .join(' '),
    ),
  },
];

interface State {
  integrity: string[];
  rows: string;
  schema: string;
}

/** What SQLite finds in the file: integrity_check, the rows of t, sqlite_schema (one open). */
function stateOf(f: string): State {
  return withOracle(f, (db) => ({
    integrity: db.prepare('PRAGMA integrity_check').pluck().all() as string[],
    rows: ['t', 'u']
      .map((table) =>
        (db.prepare(`SELECT * FROM ${table} ORDER BY id`).raw(true).safeIntegers(true).all() as unknown[][])
          .map((r) => r.map(exportValue).join(','))
          .join('\n'),
      )
      .join('\n--\n'),
    schema: JSON.stringify(db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY rowid').all()),
  }));
}

/** What SQLite holds after running `sql` on a copy of `base`. */
function expectedState(dir: string, base: string, sql: string, n: number): State {
  const f = path.join(dir, `expected-${n}.db`);
  copyFileSync(base, f);
  const db = new BetterSqlite(f);
  db.exec(sql);
  db.close();
  const s = stateOf(f);
  removeDb(f);
  return s;
}

function removeDb(f: string): void {
  for (const s of ['', '-wal', '-journal', '-shm']) rmSync(f + s, { force: true });
}

let runs = 0;

/**
 * Copies `base`, runs setup, the statement (failing storage call `k` of it, or none when k
 * is -1) and the after-step in one transaction, commits, and returns the file and whether the
 * statement threw, how many storage calls it made, and whether the fault fired.
 */
async function run(dir: string, base: string, kind: Kind, k: number): Promise<{ file: string; threw: unknown; calls: number; fired: boolean }> {
  const file = path.join(dir, `run-${++runs}.db`);
  copyFileSync(base, file);
  const storage = new CountingStorage(await NodeFileStorage.open(file, { readOnly: false }));
  const db = await Database.open(storage, { readOnly: false });
  let threw: unknown = null;
  let calls = 0;
  try {
    await db.transaction(async (tx) => {
      await SETUP.quire(tx);
      const start = storage.calls;
      if (k >= 0) storage.failAt = start + k;
      try {
        await kind.statement.quire(tx);
      } catch (e) {
        threw = e;
      }
      calls = storage.calls - start;
      storage.failAt = -1;
      await AFTER.quire(tx);
    });
  } finally {
    await db.close();
    await storage.close();
  }
  return { file, threw, calls, fired: storage.fired };
}

function sameState(actual: State, expected: State, what: string): void {
  expect(actual.integrity, `${what}: integrity_check`).toEqual(['ok']);
  expect(actual.schema, `${what}: sqlite_schema`).toBe(expected.schema);
  expect(actual.rows === expected.rows, `${what}: rows of t and u differ from the expected state`).toBe(true);
}

describe.each([
  ['rollback', 512],
  ['wal', 1024],
] as Array<[Mode, number]>)('a statement failed by an I/O error at each storage call (%s journal, %i-byte pages)', (mode, pageSize) => {
  const dir = tempDir('quire-stmt-fault-');
  const base = makeBase(dir, mode, pageSize);

  it.each(KINDS.map((kd) => [kd.name, kd] as [string, Kind]))('%s', async (_name, kind) => {
    let n = 0;
    const withStatement = expectedState(dir, base, SETUP.sql + kind.statement.sql + AFTER.sql, n++);
    const acceptable = kind.acceptable.map((sql) => expectedState(dir, base, SETUP.sql + sql + AFTER.sql, n++));

    // The statement without a fault: its storage calls, and SQLite's state.
    const clean = await run(dir, base, kind, -1);
    expect(clean.threw).toBeNull();
    sameState(stateOf(clean.file), withStatement, 'no fault');
    removeDb(clean.file);
    expect(clean.calls, 'the statement reads pages from the file (below the root, which the setup read)').toBeGreaterThanOrEqual(2);

    for (let k = 0; k < clean.calls; k++) {
      const r = await run(dir, base, kind, k);
      const what = `${mode}, storage call ${k} of ${clean.calls}`;
      expect(r.fired, `${what}: the fault fired`).toBe(true);
      expect(r.threw, `${what}: the statement failed`).not.toBeNull();
      expect(isQuireError(r.threw) && (r.threw as { code: string }).code, `${what}: ${String(r.threw)}`).toBe('IOERR');
      const got = stateOf(r.file);
      expect(got.integrity, what).toEqual(['ok']);
      const match = acceptable.findIndex((s) => s.rows === got.rows && s.schema === got.schema);
      if (match < 0) sameState(got, acceptable[0], what);
      removeDb(r.file);
    }
  }, 300_000);
});
