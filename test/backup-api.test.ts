/**
 * The backup API against SQLite's and CPython's documented behaviour (issue 3, item 2):
 * Lib/test/test_sqlite3/test_backup.py and sqlite3_backup_* semantics.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Database, Backup, MemoryStorage, isQuireError, parseHeader } from '../src/index.js';
import { openDatabase } from '../src/node/index.js';
import { tempDir } from './util/tmp.js';
import { crashedCopy } from './util/hot-journal.js';

function makeDb(file: string, opts: { pageSize?: number; rows?: number; wal?: boolean } = {}): void {
  const db = new BetterSqlite(file);
  if (opts.pageSize) db.pragma(`page_size = ${opts.pageSize}`);
  if (opts.wal) db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  const ins = db.prepare('INSERT INTO t(v) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < (opts.rows ?? 100); i++) ins.run(`row ${i} ${'x'.repeat(i % 300)}`);
  })();
  db.close();
}

function sqliteRows(file: string): unknown[] {
  const db = new BetterSqlite(file, { readonly: true });
  try {
    return db.prepare('SELECT * FROM t ORDER BY id').all();
  } finally {
    db.close();
  }
}

function integrity(file: string): string {
  return execFileSync('sqlite3', [file, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim();
}

/** Writes a memory database's file out and returns the path, for SQLite to check. */
function dump(db: Database, dir: string, name = 'dump.db'): string {
  const f = path.join(dir, name);
  const bytes = (db.storage as MemoryStorage).getFile('db');
  writeFileSync(f, bytes ?? new Uint8Array(0));
  return f;
}

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const e = await p.then(
    () => null,
    (x) => x,
  );
  expect(e, 'expected a rejection').not.toBeNull();
  expect(isQuireError(e) ? e.code : e).toBe(code);
  if (message) expect((e as Error).message).toMatch(message);
}

async function fileDb(opts: Parameters<typeof makeDb>[1] = {}): Promise<{ dir: string; file: string; db: Database }> {
  const dir = tempDir();
  const file = path.join(dir, 'src.db');
  makeDb(file, opts);
  return { dir, file, db: await openDatabase(file) };
}

describe('backup: argument checks (CPython test_backup.py)', () => {
  it('a target that is not a database is MISUSE', async () => {
    const { db } = await fileDb();
    await expectCode(db.backup(undefined as unknown as Database), 'MISUSE', /target is not a database/);
    await expectCode(db.backup({} as unknown as Database), 'MISUSE');
    await expectCode(Backup.init(42 as unknown as Database, 'main', db, 'main'), 'MISUSE');
    await db.close();
  });

  it('the same database as target is refused', async () => {
    const { db } = await fileDb();
    await expectCode(db.backup(db), 'MISUSE', /target cannot be the same database/);
    await db.close();
  });

  it('a closed source or target is refused', async () => {
    const { db } = await fileDb();
    const target = await Database.memory();
    await target.close();
    await expectCode(db.backup(target), 'MISUSE', /closed/);
    const t2 = await Database.memory();
    await db.close();
    await expectCode(db.backup(t2), 'MISUSE', /closed/);
    await t2.close();
  });

  it('a target inside a write transaction is in use', async () => {
    const { db } = await fileDb();
    const target = await Database.memory();
    const txn = await target.pager.beginWrite();
    await expectCode(db.backup(target), 'ERROR', /destination database is in use/);
    await txn.rollback();
    await db.backup(target);
    await db.close();
    await target.close();
  });

  it('an unknown database name is refused', async () => {
    const { db } = await fileDb();
    const target = await Database.memory();
    await expectCode(db.backup(target, { name: 'non-existing' }), 'ERROR', /unknown database non-existing/);
    await expectCode(Backup.init(target, 'aux', db, 'main'), 'ERROR', /unknown database aux/);
    await db.close();
    await target.close();
  });

  it('a read-only target is READONLY', async () => {
    const { db } = await fileDb();
    const other = await fileDb();
    await expectCode(db.backup(other.db), 'READONLY');
    await db.close();
    await other.db.close();
  });

  it('a progress that is not a function is refused', async () => {
    const { db } = await fileDb();
    const target = await Database.memory();
    await expectCode(db.backup(target, { progress: 'bar' as unknown as () => void }), 'MISUSE', /progress argument must be a callable/);
    await db.close();
    await target.close();
  });
});

describe('backup: steps and progress', () => {
  it('a 2-page database with pages: 1 calls progress exactly twice: OK then DONE', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'two.db');
    const s = new BetterSqlite(file);
    s.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES (\'a\')');
    s.close();
    const db = await openDatabase(file);
    expect(db.pager.pageCount).toBe(2);
    const target = await Database.memory();
    const calls: Array<[string, number, number]> = [];
    await db.backup(target, { pages: 1, progress: (st, rem, tot) => void calls.push([st, rem, tot]) });
    expect(calls).toEqual([
      ['OK', 1, 2],
      ['DONE', 0, 2],
    ]);
    expect(sqliteRows(dump(target, dir))).toEqual(sqliteRows(file));
    await db.close();
    await target.close();
  });

  it('default pages: one call with remaining 0', async () => {
    const { db, dir, file } = await fileDb({ rows: 500 });
    const target = await Database.memory();
    const calls: Array<[string, number, number]> = [];
    await db.backup(target, { progress: (st, rem, tot) => void calls.push([st, rem, tot]) });
    expect(calls).toEqual([['DONE', 0, db.pager.pageCount]]);
    expect(sqliteRows(dump(target, dir))).toEqual(sqliteRows(file));
    await db.close();
    await target.close();
  });

  it('remaining and pageCount are 0 before the first step, then follow sqlite3_backup semantics', async () => {
    const { db } = await fileDb({ rows: 400, pageSize: 1024 });
    const target = await Database.memory();
    const b = await Backup.init(target, 'main', db, 'main');
    expect(b.remaining).toBe(0);
    expect(b.pageCount).toBe(0);
    const total = db.pager.pageCount;
    expect(await b.step(5)).toBe('OK');
    expect(b.pageCount).toBe(total);
    expect(b.remaining).toBe(total - 5);
    expect(await b.step(-1)).toBe('DONE');
    expect(b.remaining).toBe(0);
    expect(await b.step(10)).toBe('DONE');
    await b.finish();
    await expectCode(b.step(1), 'MISUSE', /finished/);
    await db.close();
    await target.close();
  });

  it('a progress callback that throws aborts the copy, leaves the target unchanged and rethrows the same error', async () => {
    const { db, dir } = await fileDb({ rows: 300 });
    const target = await Database.memory();
    await (await fileDb({ rows: 7 })).db.backup(target);
    const before = (target.storage as MemoryStorage).getFile('db');
    const boom = new Error('bearer of bad tidings');
    const got = await db.backup(target, { pages: 1, progress: () => { throw boom; } }).catch((e) => e);
    expect(got).toBe(boom);
    expect((target.storage as MemoryStorage).getFile('db')).toEqual(before);
    expect(target.inTransaction).toBe(false);
    expect(sqliteRows(dump(target, dir)).length).toBe(7);
    await db.close();
    await target.close();
  });

  it('a progress callback that writes to the source through quire: the copy holds the write', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'w.db');
    makeDb(file, { rows: 200, pageSize: 1024 });
    const src = await openDatabase(file, { readOnly: false });
    const target = await Database.memory();
    let wrote = false;
    await src.backup(target, {
      pages: 2,
      progress: async () => {
        if (wrote) return;
        wrote = true;
        // Set user_version = 77 (header offset 60) through a quire write transaction.
        const t = await src.pager.beginWrite();
        const p1 = await t.writable(1);
        p1[60] = 0; p1[61] = 0; p1[62] = 0; p1[63] = 77;
        await t.commit();
      },
    });
    expect(wrote).toBe(true);
    const out = dump(target, dir);
    expect(integrity(out)).toBe('ok');
    const check = new BetterSqlite(out, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(77);
    check.close();
    await src.close();
    await target.close();
  });
});

describe('backup: destinations', () => {
  it('copies an in-memory database into a file and back', async () => {
    const { db, dir, file } = await fileDb({ rows: 1000 });
    const mem = await Database.memory();
    await db.backup(mem);
    const outFile = path.join(dir, 'out.db');
    const fileTarget = await openDatabase(outFile, { readOnly: false, create: true });
    await mem.backup(fileTarget);
    await fileTarget.close();
    expect(integrity(outFile)).toBe('ok');
    expect(sqliteRows(outFile)).toEqual(sqliteRows(file));
    const back = await Database.memory();
    const reopened = await openDatabase(outFile);
    await reopened.backup(back);
    expect(sqliteRows(dump(back, dir, 'back.db'))).toEqual(sqliteRows(file));
    for (const d of [db, mem, reopened, back]) await d.close();
  });

  it('converts the page size both ways into a rollback-mode file', async () => {
    for (const [from, to] of [
      [1024, 8192],
      [8192, 1024],
    ]) {
      const { db, dir, file } = await fileDb({ rows: 800, pageSize: from });
      const outFile = path.join(dir, `out-${to}.db`);
      makeDb(outFile, { pageSize: to, rows: 3000 });
      const target = await openDatabase(outFile, { readOnly: false });
      await db.backup(target);
      await target.close();
      expect(integrity(outFile)).toBe('ok');
      const h = parseHeader(new Uint8Array(readFileSync(outFile)).subarray(0, 100));
      expect(h.pageSize).toBe(from);
      expect(sqliteRows(outFile)).toEqual(sqliteRows(file));
      expect(existsSync(outFile + '-journal')).toBe(false);
      await db.close();
    }
  });

  it('a WAL destination with another page size is READONLY, and is left unchanged', async () => {
    const { db, dir } = await fileDb({ pageSize: 1024 });
    const outFile = path.join(dir, 'wal.db');
    makeDb(outFile, { pageSize: 4096, wal: true, rows: 10 });
    const before = readFileSync(outFile);
    const target = await openDatabase(outFile, { readOnly: false });
    await expectCode(db.backup(target), 'READONLY');
    await target.close();
    expect(readFileSync(outFile)).toEqual(before);
    await db.close();
  });

  it('an in-memory destination with content and another page size is READONLY', async () => {
    const { db } = await fileDb({ pageSize: 1024 });
    const other = await fileDb({ pageSize: 4096 });
    const mem = await Database.memory();
    await other.db.backup(mem);
    await expectCode(db.backup(mem), 'READONLY');
    await db.close();
    await other.db.close();
    await mem.close();
  });

  it('the destination header: own change counter and schema cookie + 1, page count, journal mode', async () => {
    const { db, dir } = await fileDb({ rows: 300 });
    const srcHeader = db.pager.header!;
    const fresh = await Database.memory();
    await db.backup(fresh);
    let h = parseHeader((fresh.storage as MemoryStorage).getFile('db')!.subarray(0, 100));
    expect(h.changeCounter).toBe(1);
    expect(h.versionValidFor).toBe(1);
    expect(h.schemaCookie).toBe(1);
    expect(h.headerPageCount).toBe(srcHeader.headerPageCount);
    expect(h.writeVersion).toBe(1);
    // An existing destination: its own old values + 1.
    const outFile = path.join(dir, 'old.db');
    makeDb(outFile, { rows: 5 });
    const s = new BetterSqlite(outFile);
    s.exec('CREATE TABLE u(x); CREATE TABLE w(y); INSERT INTO u VALUES (1)');
    s.close();
    const old = parseHeader(new Uint8Array(readFileSync(outFile)).subarray(0, 100));
    const target = await openDatabase(outFile, { readOnly: false });
    await db.backup(target);
    await target.close();
    h = parseHeader(new Uint8Array(readFileSync(outFile)).subarray(0, 100));
    expect(h.changeCounter).toBe(old.changeCounter + 1);
    expect(h.versionValidFor).toBe(old.changeCounter + 1);
    expect(h.schemaCookie).toBe(old.schemaCookie + 1);
    expect(integrity(outFile)).toBe('ok');
    await db.close();
    await fresh.close();
  });

  it('a WAL source gives a WAL destination unless asked for a rollback-mode file', async () => {
    const { db, dir, file } = await fileDb({ rows: 300, wal: true });
    const a = await Database.memory();
    await db.backup(a);
    expect(parseHeader((a.storage as MemoryStorage).getFile('db')!.subarray(0, 100)).readVersion).toBe(2);
    const b = await Database.memory();
    await db.backup(b, { journalMode: 'rollback' });
    const bf = dump(b, dir, 'b.db');
    expect(parseHeader(new Uint8Array(readFileSync(bf)).subarray(0, 100)).readVersion).toBe(1);
    expect(integrity(bf)).toBe('ok');
    expect(sqliteRows(bf)).toEqual(sqliteRows(file));
    for (const d of [db, a, b]) await d.close();
  });
});

describe('backup: hot journals', () => {
  function hotJournalFile(dir: string): { file: string; before: unknown[] } {
    const file = path.join(dir, 'hot.db');
    makeDb(file, { rows: 300, pageSize: 1024 });
    const before = sqliteRows(file);
    const crashed = path.join(dir, 'crashed.db');
    crashedCopy(file, crashed, "UPDATE t SET v = v || 'changed'");
    return { file: crashed, before };
  }

  it('are refused with BUSY by default, never rolled back in place', async () => {
    const dir = tempDir();
    const { file } = hotJournalFile(dir);
    const dbBytes = readFileSync(file);
    const jBytes = readFileSync(file + '-journal');
    const src = await openDatabase(file);
    const target = await Database.memory();
    await expectCode(src.backup(target, { timeout: 300, sleep: 50 }), 'BUSY', /journal/);
    expect(readFileSync(file)).toEqual(dbBytes);
    expect(readFileSync(file + '-journal')).toEqual(jBytes);
    await src.close();
    await target.close();
  });

  it("with hotJournal: 'apply' the copy holds the pre-transaction state", async () => {
    const dir = tempDir();
    const { file, before } = hotJournalFile(dir);
    const dbBytes = readFileSync(file);
    const src = await openDatabase(file);
    const target = await Database.memory();
    const id = await src.backup(target, { hotJournal: 'apply' });
    expect(id.journalApplied).toBe(true);
    const out = dump(target, dir, 'applied.db');
    expect(integrity(out)).toBe('ok');
    expect(sqliteRows(out)).toEqual(before);
    expect(readFileSync(file)).toEqual(dbBytes);
    await src.close();
    await target.close();
  });
});
