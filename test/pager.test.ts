import { describe, it, expect } from 'vitest';
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { MemoryStorage } from '../pager/memory.js';
import { Pager } from '../pager/pager.js';
import { isQuireError } from '../pager/errors.js';
import { get32, put32 } from '../pager/bytes.js';
import { NodeFileStorage } from '../src/node/file-storage.js';
import { tempDir } from './util/tmp.js';
import { spilledTransaction } from './util/hot-journal.js';

function fill(db: Database.Database, n: number, size = 300): void {
  db.exec('CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)');
  const ins = db.prepare('INSERT INTO t(v) VALUES (randomblob(?))');
  db.transaction(() => {
    for (let i = 0; i < n; i++) ins.run(size);
  })();
}

async function allPages(p: Pager): Promise<Uint8Array[]> {
  const s = await p.read();
  try {
    const out: Uint8Array[] = [];
    for (let i = 1; i <= s.pageCount; i++) out.push((await s.getPage(i)).slice());
    return out;
  } finally {
    s.release();
  }
}

function filePages(bytes: Uint8Array, ps: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + ps <= bytes.length; o += ps) out.push(bytes.subarray(o, o + ps));
  return out;
}

/** The rows of t as SQLite reads them from the file (its WAL included). */
function sqliteRows(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT id, hex(v) FROM t ORDER BY id').raw().all();
  } finally {
    db.close();
  }
}

/** Byte equality without a deep-equal walk (large images). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

function integrity(file: string): string {
  return execFileSync('sqlite3', [file, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim();
}

describe('pager: read snapshots', () => {
  it('reads a rollback-mode file page for page', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'a.db');
    const db = new Database(f);
    db.pragma('page_size = 1024');
    fill(db, 500);
    db.close();
    const bytes = new Uint8Array(readFileSync(f));
    const p = await Pager.open(new MemoryStorage({ db: bytes, readOnly: true }));
    expect(p.pageSize).toBe(1024);
    expect(p.mode).toBe('rollback');
    const pages = await allPages(p);
    expect(pages.length).toBe(bytes.length / 1024);
    expect(pages).toEqual(filePages(bytes, 1024));
    p.checkState();
    await p.close();
  });

  it('overlays uncheckpointed WAL commits exactly as SQLite checkpoints them', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'w.db');
    const db = new Database(f);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    fill(db, 200);
    db.exec('DELETE FROM t WHERE id % 3 = 0');
    fill(db, 50, 5000);
    const dbBytes = new Uint8Array(readFileSync(f));
    const walBytes = new Uint8Array(readFileSync(f + '-wal'));
    expect(walBytes.length).toBeGreaterThan(32);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const final = sqliteCheckpointed(dbBytes, walBytes);
    const p = await Pager.open(new MemoryStorage({ db: dbBytes, wal: walBytes, readOnly: true }));
    expect(p.mode).toBe('wal');
    expect(p.walIndex!.mxFrame).toBeGreaterThan(0);
    const pages = await allPages(p);
    expect(pages).toEqual(filePages(final, p.pageSize));
    await p.close();
  });

  it('ignores a torn last frame and stale frames after a WAL restart', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'w.db');
    const db = new Database(f);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    fill(db, 100);
    db.pragma('wal_checkpoint(RESTART)');
    fill(db, 3);
    const dbBytes = new Uint8Array(readFileSync(f));
    const walBytes = new Uint8Array(readFileSync(f + '-wal'));
    db.close();
    // The restarted log is shorter than the old one: stale frames with old salts follow.
    const p0 = await Pager.open(new MemoryStorage({ db: dbBytes, wal: walBytes, readOnly: true }));
    const frameSize = 24 + p0.pageSize;
    expect(walBytes.length).toBeGreaterThan(32 + (p0.walIndex!.mxFrame + 1) * frameSize);
    await p0.close();
    // Tear the last commit frame: the snapshot must fall back to the commit before it.
    const torn = walBytes.slice(0, 32 + p0.walIndex!.mxFrame * frameSize - 100);
    for (const wal of [walBytes, torn]) {
      const p = await Pager.open(new MemoryStorage({ db: dbBytes, wal, readOnly: true }));
      const pages = await allPages(p);
      expect(pages).toEqual(filePages(sqliteCheckpointed(dbBytes, wal), p.pageSize));
      await p.close();
    }
  });

  it('presents the pre-transaction state of a hot journal without touching it', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'j.db');
    const db = new Database(f);
    db.pragma('page_size = 1024');
    fill(db, 300);
    const before = new Uint8Array(readFileSync(f));
    // Mid-transaction: the cache spilled, so the file holds new pages and the journal the old.
    const spilled = spilledTransaction(db, f, () => {
      db.exec('UPDATE t SET v = randomblob(400)');
      fill(db, 100);
    });
    const mid = new Uint8Array(spilled.db);
    const jr = new Uint8Array(spilled.journal);
    db.close();
    expect(mid).not.toEqual(before);
    const st = new MemoryStorage({ db: mid, journal: jr, readOnly: true });
    const p = await Pager.open(st);
    expect(p.hotJournal).not.toBeNull();
    const pages = await allPages(p);
    expect(pages).toEqual(filePages(before, 1024));
    expect(st.getFile('db')).toEqual(mid);
    expect(st.getFile('journal')).toEqual(jr);
    await p.close();
    const refuse = await Pager.open(st, { hotJournal: 'refuse' }).catch((e) => e);
    expect(isQuireError(refuse) && refuse.code).toBe('BUSY');
  });

  it('a writable pager rolls a hot journal back as SQLite does', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'j.db');
    const db = new Database(f);
    fill(db, 300);
    const before = new Uint8Array(readFileSync(f));
    const spilled = spilledTransaction(db, f, () => db.exec('UPDATE t SET v = randomblob(400)'));
    const mid = new Uint8Array(spilled.db);
    const jr = new Uint8Array(spilled.journal);
    db.close();
    const st = new MemoryStorage({ db: mid, journal: jr });
    const p = await Pager.open(st);
    expect(await st.exists('journal')).toBe(false);
    expect(st.getFile('db')).toEqual(before);
    await p.close();
  });

  it('a journal without a page size (written before SQLite 3.5.8) uses the database\'s, 65536 stored as 1', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'j64.db');
    const db = new Database(f);
    db.pragma('page_size = 65536');
    fill(db, 1500);
    const before = new Uint8Array(readFileSync(f));
    expect((before[16] << 8) | before[17]).toBe(1);
    const spilled = spilledTransaction(db, f, () => db.exec('UPDATE t SET v = randomblob(400)'));
    const mid = new Uint8Array(spilled.db);
    const jr = new Uint8Array(spilled.journal);
    db.close();
    expect(sameBytes(mid, before)).toBe(false);
    jr.fill(0, 24, 28);
    // SQLite rolls such a journal back with the database's page size (readJournalHdr).
    const g = path.join(dir, 'hot.db');
    writeFileSync(g, mid);
    writeFileSync(g + '-journal', jr);
    const check = new Database(g);
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    expect(sameBytes(readFileSync(g), before)).toBe(true);
    // quire presents the same state, and rolls it back the same way.
    const view = await Pager.open(new MemoryStorage({ db: mid, journal: jr, readOnly: true }));
    expect(view.hotJournal?.pageSize).toBe(65536);
    expect(sameBytes(Buffer.concat(await allPages(view)), before)).toBe(true);
    await view.close();
    const st = new MemoryStorage({ db: mid, journal: jr });
    const p = await Pager.open(st);
    expect(await st.exists('journal')).toBe(false);
    expect(sameBytes(st.getFile('db')!, before)).toBe(true);
    await p.close();
  });
});

describe('pager: commits', () => {
  async function rewriteAll(p: Pager): Promise<void> {
    const t = await p.beginWrite();
    for (let i = 2; i <= t.pageCount; i++) await t.writable(i);
    await t.commit();
  }

  it('a rollback-mode commit bumps the counters and SQLite accepts the file', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'c.db');
    const db = new Database(f);
    fill(db, 200);
    db.close();
    const st = await NodeFileStorage.open(f, { readOnly: false });
    const p = await Pager.open(st);
    const before = p.header!.changeCounter;
    await rewriteAll(p);
    expect(p.header!.changeCounter).toBe(before + 1);
    expect(p.header!.versionValidFor).toBe(before + 1);
    expect(existsSync(f + '-journal')).toBe(false);
    await p.close();
    await st.close();
    expect(integrity(f)).toBe('ok');
    const check = new Database(f, { readonly: true });
    expect(check.prepare('SELECT count(*) c FROM t').get()).toEqual({ c: 200 });
    check.close();
  });

  it('a WAL-mode commit appends frames SQLite reads, and close checkpoints', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'c.db');
    const db = new Database(f);
    db.pragma('journal_mode = WAL');
    fill(db, 200);
    db.close();
    expect(existsSync(f + '-wal')).toBe(false);
    // The content to commit: what SQLite makes of the same database after changing rows.
    const g = path.join(dir, 'b.db');
    copyFileSync(f, g);
    const other = new Database(g);
    other.exec('UPDATE t SET v = randomblob(50) WHERE id % 3 = 0; DELETE FROM t WHERE id % 7 = 0');
    fill(other, 40, 1000);
    other.close();
    const want = sqliteRows(g);
    const a = path.join(dir, 'a.db');
    copyFileSync(f, a);
    expect(want).not.toEqual(sqliteRows(a));
    const b = new Uint8Array(readFileSync(g));
    const dbBefore = new Uint8Array(readFileSync(f));

    const st = await NodeFileStorage.open(f, { readOnly: false });
    const p = await Pager.open(st);
    expect(p.mode).toBe('wal');
    const counter = p.header!.changeCounter;
    const ps = p.pageSize;
    const t = await p.beginWrite();
    t.setPageCount(b.length / ps);
    for (let i = 1; i <= t.pageCount; i++) {
      const w = await t.writable(i);
      w.set(b.subarray((i - 1) * ps, i * ps));
      if (i === 1) put32(w, 24, counter);
    }
    await t.commit();
    expect(p.walIndex!.mxFrame).toBeGreaterThan(0);
    // The commit went to the WAL only.
    expect(sameBytes(readFileSync(f), dbBefore)).toBe(true);
    // Another reader (SQLite) sees the new rows while quire still has the files open, and
    // its checkpoint of them carries the counter moved by one.
    const copy = path.join(dir, 'copy.db');
    copyFileSync(f, copy);
    copyFileSync(f + '-wal', copy + '-wal');
    expect(integrity(copy)).toBe('ok');
    expect(sqliteRows(copy)).toEqual(want);
    const checkpointed = sqliteCheckpointed(new Uint8Array(readFileSync(f)), new Uint8Array(readFileSync(f + '-wal')));
    expect(get32(checkpointed, 24)).toBe(counter + 1);
    expect(get32(checkpointed, 92)).toBe(counter + 1);
    await p.close();
    await st.close();
    expect(existsSync(f + '-wal')).toBe(false);
    expect(integrity(f)).toBe('ok');
    expect(sqliteRows(f)).toEqual(want);
    expect(get32(new Uint8Array(readFileSync(f)), 24)).toBe(counter + 1);
  });

  it('open snapshots keep their state across a commit (preserved pages)', async () => {
    const bytes = (() => {
      const dir = tempDir();
      const f = path.join(dir, 's.db');
      const db = new Database(f);
      fill(db, 50);
      db.close();
      return new Uint8Array(readFileSync(f));
    })();
    const st = new MemoryStorage({ db: bytes });
    const p = await Pager.open(st);
    const s = await p.read();
    const old2 = (await s.getPage(2)).slice();
    const t = await p.beginWrite();
    const w = await t.writable(2);
    w[w.length - 1] ^= 0xff;
    await t.commit();
    expect(await s.getPage(2)).toEqual(old2);
    s.release();
    const s2 = await p.read();
    expect((await s2.getPage(2))[old2.length - 1]).toBe(old2[old2.length - 1] ^ 0xff);
    s2.release();
    await p.close();
  });

  it('rollback leaves the file untouched', async () => {
    const st = new MemoryStorage({ db: new Uint8Array(readFileSync(fixtureDb())) });
    const before = st.getFile('db');
    const p = await Pager.open(st);
    const t = await p.beginWrite();
    (await t.writable(1))[200] ^= 1;
    await t.rollback();
    expect(st.getFile('db')).toEqual(before);
    expect(await st.exists('journal')).toBe(false);
    await p.close();
  });
});

/** What SQLite makes of a db + wal pair: the database file after a TRUNCATE checkpoint. */
function sqliteCheckpointed(dbBytes: Uint8Array, walBytes: Uint8Array): Uint8Array {
  const dir = tempDir();
  const f = path.join(dir, 'x.db');
  writeFileSync(f, dbBytes);
  writeFileSync(f + '-wal', walBytes);
  execFileSync('sqlite3', [f, 'PRAGMA wal_checkpoint(TRUNCATE);'], { encoding: 'utf8' });
  return new Uint8Array(readFileSync(f));
}

function fixtureDb(): string {
  const dir = tempDir();
  const f = path.join(dir, 'f.db');
  const db = new Database(f);
  fill(db, 20);
  db.close();
  return f;
}

describe('pager: savepoints', () => {
  it('rollbackTo restores pages, page count and nested savepoints; release keeps changes', async () => {
    const st = new MemoryStorage({ db: new Uint8Array(readFileSync(fixtureDb())) });
    const p = await Pager.open(st);
    const t = await p.beginWrite();
    const n0 = t.pageCount;
    const orig2 = (await t.page(2)).slice();
    (await t.writable(2))[500] = 1;
    const sp1 = t.savepoint();
    (await t.writable(2))[500] = 2;
    t.setPageCount(n0 + 2);
    (await t.writable(n0 + 1))[0] = 9;
    const sp2 = t.savepoint();
    (await t.writable(2))[500] = 3;
    t.setPageCount(n0 - 1);
    t.rollbackTo(sp2);
    expect(t.pageCount).toBe(n0 + 2);
    expect((await t.page(2))[500]).toBe(2);
    expect((await t.page(n0 + 1))[0]).toBe(9);
    t.rollbackTo(sp1);
    expect(t.pageCount).toBe(n0);
    expect((await t.page(2))[500]).toBe(1);
    (await t.writable(3))[600] = 7;
    t.release(sp1);
    expect(() => t.rollbackTo(sp1)).toThrow(/no savepoint/);
    await t.commit();
    const s = await p.read();
    expect((await s.getPage(3))[600]).toBe(7);
    const img2 = await s.getPage(2);
    expect(img2[500]).toBe(1);
    expect(img2.subarray(0, 500)).toEqual(orig2.subarray(0, 500));
    s.release();
    await p.close();
  });
});

describe('pager: pages past the end', () => {
  it('a page past the end read through a transaction is a fresh zero page, not a shared buffer', async () => {
    const st = new MemoryStorage({ db: new Uint8Array(readFileSync(fixtureDb())) });
    const p = await Pager.open(st);
    const t = await p.beginWrite();
    const n0 = t.pageCount;
    t.setPageCount(n0 + 3);
    // A careless caller writes into the image page() returned (page() is for reading).
    const a = await t.page(n0 + 1);
    expect(a.every((x) => x === 0)).toBe(true);
    a.fill(0xab);
    // Every other page past the end, in this transaction and the next, still reads as zeros.
    expect((await t.page(n0 + 2)).every((x) => x === 0)).toBe(true);
    expect((await t.writable(n0 + 3)).every((x) => x === 0)).toBe(true);
    await t.rollback();
    const t2 = await p.beginWrite();
    t2.setPageCount(n0 + 1);
    expect((await t2.page(n0 + 1)).every((x) => x === 0)).toBe(true);
    await t2.rollback();
    await p.close();
  });
});
