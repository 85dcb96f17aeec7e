/**
 * Edges of the cache spill (pager note 8) found in review: savepoints rolled back across a
 * shrink of a spilled transaction, spills that fail (a transient I/O error must not break the
 * WAL checksum chain, leave this process's readers on a stale file size, or fail the statement
 * that reached the safe point), checkpoints requested while a transaction is open, a WAL
 * restart after another connection of this process committed, randomized workloads with
 * spills in every mode, statements that fail after a spill. SQLite checks every result.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { readFileSync, writeFileSync, existsSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { isQuireError } from '../pager/errors.js';
import { Pager } from '../pager/pager.js';
import { MemoryStorage } from '../pager/memory.js';
import type { FileKind } from '../pager/storage.js';
import { FlakyStorage as Flaky } from './util/flaky-storage.js';
import { Database } from '../src/database.js';
import { tempDir } from './util/tmp.js';

/**
 * The bytes of a database SQLite builds in `dir`/`name` with `build` (1 KiB pages set first),
 * switched to WAL when asked, closed, with no side file left: a checkpointed image.
 */
function sqliteImage(dir: string, name: string, wal: boolean, build: (s: BetterSqlite.Database) => void): Uint8Array {
  const f = path.join(dir, name);
  const s = new BetterSqlite(f);
  s.pragma('page_size = 1024');
  build(s);
  if (wal) s.pragma('journal_mode = WAL');
  s.close();
  for (const x of ['-wal', '-shm']) if (existsSync(f + x)) unlinkSync(f + x);
  return new Uint8Array(readFileSync(f));
}

function makeDb(dir: string, wal: boolean, rows: number): Uint8Array {
  return sqliteImage(dir, `seed-${wal}-${rows}.db`, wal, (db) => {
    db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
    const ins = db.prepare('INSERT INTO t(v) VALUES (?)');
    db.transaction(() => { for (let i = 0; i < rows; i++) ins.run('x'.repeat(300)); })();
  });
}

function sqliteCheck(dir: string, name: string, files: Partial<Record<FileKind, Uint8Array>>): { ic: string; n: number; sum: number } {
  const f = path.join(dir, name);
  writeFileSync(f, files.db!);
  if (files.wal) writeFileSync(f + '-wal', files.wal);
  if (files.journal) writeFileSync(f + '-journal', files.journal);
  const db = new BetterSqlite(f);
  try {
    return {
      ic: db.pragma('integrity_check', { simple: true }) as string,
      n: db.prepare('SELECT count(*) FROM t').pluck().get() as number,
      sum: db.prepare('SELECT sum(length(v)) FROM t').pluck().get() as number,
    };
  } finally {
    db.close();
  }
}

const fill = (ps: number, v: number) => new Uint8Array(ps).fill(v);

/**
 * A rollback-mode write transaction over makeDb(20 rows) that grew the file by 60 pages: pages
 * N+1..N+40 written (and a spill point passed while all of them were recent, so none was
 * written then), then N+41..N+60; page q filled with value(q). The next spill point writes.
 */
async function grownPastEnd(st: Flaky, value: (q: number) => number) {
  const p = await Pager.open(st, { readOnly: false, spillBytes: 16 * 1024 });
  const t = await p.beginWrite();
  const ps = t.pageSize;
  const N = t.pageCount;
  t.setPageCount(N + 60);
  for (let q = N + 1; q <= N + 40; q++) (await t.writable(q)).set(fill(ps, value(q)));
  await t.maybeSpill();
  for (let q = N + 41; q <= N + 60; q++) (await t.writable(q)).set(fill(ps, value(q)));
  return { p, t, ps, N };
}

async function countRows(db: Database): Promise<number> {
  let n = 0;
  for await (const _ of db.rows('t')) n++;
  return n;
}

describe('savepoint rollback after a shrink drops spilled pages', () => {
  it('rollback mode: spilled page past the old end reads as zeros after rollbackTo', async () => {
    const dir = tempDir();
    const st = new Flaky({ db: makeDb(dir, false, 20) });
    const { p, t, N } = await grownPastEnd(st, (q) => q & 0xff);
    await t.maybeSpill();
    expect(t.spill?.pages.has(N + 20)).toBe(true);
    expect((await t.page(N + 20))[0]).toBe((N + 20) & 0xff);
    const sp = t.savepoint();
    t.setPageCount(N + 10);
    t.rollbackTo(sp);
    t.release(sp);
    expect(t.pageCount).toBe(N + 60);
    // must be the image written before the savepoint
    expect((await t.page(N + 20))[0]).toBe((N + 20) & 0xff);
    await t.rollback();
    await p.close();
  });

  it('WAL mode: spilled old page reads its pre-transaction image after rollbackTo', async () => {
    const dir = tempDir();
    const st = new Flaky({ db: makeDb(dir, true, 600) });
    const p = await Pager.open(st, { readOnly: false, spillBytes: 16 * 1024, walAutoCheckpoint: 0 });
    expect(p.mode).toBe('wal');
    const t = await p.beginWrite();
    const ps = t.pageSize;
    const N = t.pageCount;
    expect(N).toBeGreaterThan(80);
    for (let q = 40; q <= 79; q++) (await t.writable(q)).set(fill(ps, 0xaa));
    await t.maybeSpill();
    for (let q = 2; q <= 30; q++) (await t.writable(q)).fill(0xbb);
    await t.maybeSpill();
    expect(t.spill?.pages.has(60)).toBe(true);
    const sp = t.savepoint();
    t.setPageCount(50);
    t.rollbackTo(sp);
    t.release(sp);
    expect((await t.page(60))[0]).toBe(0xaa);
    await t.rollback();
    await p.close();
  });
});

describe('a savepoint opened after a spill restores the spilled image', () => {
  for (const wal of [false, true]) {
    it(`${wal ? 'WAL' : 'rollback'}: page spilled, modified in a savepoint, rolled back`, async () => {
      const dir = tempDir();
      const st = new Flaky({ db: makeDb(dir, wal, 600) });
      const p = await Pager.open(st, { readOnly: false, spillBytes: 16 * 1024, walAutoCheckpoint: 0, cacheBytes: 0 });
      const t = await p.beginWrite();
      const ps = t.pageSize;
      const N = t.pageCount;
      const base = wal ? 2 : N + 1;
      if (!wal) t.setPageCount(N + 100);
      for (let q = base; q < base + 40; q++) (await t.writable(q)).set(fill(ps, 0x11));
      await t.maybeSpill();
      for (let q = base + 40; q < base + 90; q++) (await t.writable(q)).set(fill(ps, 0x22));
      await t.maybeSpill();
      expect(t.spill?.pages.has(base + 5)).toBe(true);
      const sp = t.savepoint();
      for (let q = base; q < base + 40; q++) (await t.writable(q)).fill(0x33);
      t.rollbackTo(sp);
      t.release(sp);
      for (let q = base; q < base + 40; q++) expect((await t.page(q))[7]).toBe(0x11);
      await t.rollback();
      await p.close();
    });
  }
});

describe('a failed spill', () => {
  it('WAL: a transient write failure during a spill, then commit: the commit must be durable/readable', async () => {
    const dir = tempDir();
    const st = new Flaky({ db: makeDb(dir, true, 300) });
    const before = sqliteCheck(dir, 'before.db', st.files());
    const db = await Database.open(st, { readOnly: false, spillBytes: 16 * 1024, walAutoCheckpoint: 0 });
    let failures = 0;
    await db.transaction(async (tx) => {
      for (let i = 0; i < 600; i++) {
        if (i === 300) st.failWrite = 'wal';
        try {
          await tx.insert('t', [null, 'y'.repeat(200)]);
        } catch {
          failures++;
        }
      }
      // The injected failure fired (it disarms itself when a WAL write fails), inside a spill:
      // the transaction had spilled and was still open.
      expect(st.failWrite, 'the injected WAL write failure never fired').toBeNull();
      expect(tx.txn.spill).not.toBeNull();
    });
    expect(failures).toBe(0);
    // quire's own view after the commit
    const n = (await db.get('t', 300 + 600)) !== undefined;
    expect(n).toBe(true);
    // a later, ordinary commit by the same connection
    await db.transaction(async (tx) => { await tx.insert('t', [null, 'later']); });
    const viaQuire = await Database.open(new MemoryStorage(st.files()), {});
    expect(await countRows(viaQuire)).toBe(before.n + 601);
    const files = st.files();
    await db.close().catch(() => undefined);
    const got = sqliteCheck(dir, 'after.db', files);
    expect(got.ic).toBe('ok');
    expect(got.n).toBe(before.n + 601);
  });

  it('rollback mode: a failed first spill (journal write) writes no page and its rollback ends the spill', async () => {
    const dir = tempDir();
    const st = new Flaky({ db: makeDb(dir, false, 20) });
    const { p, t, ps, N } = await grownPastEnd(st, () => 1);
    st.failWrite = 'journal';
    await t.maybeSpill(); // fails inside: nothing reaches the db file without a synced journal
    expect(st.failWrite, 'the injected journal write failure never fired').toBeNull();
    expect(t.spill?.journaled).toBe(false);
    expect(st.files().db!.length).toBe(N * ps);
    await t.rollback();
    expect((p as unknown as { shared: { spillBase: number | null } }).shared.spillBase).toBeNull();
    await p.close();
  });

  it('rollback mode: a reader in this process after a failed spill, a rollback and a growing commit', async () => {
    const dir = tempDir();
    const st = new Flaky({ db: makeDb(dir, false, 20) });
    const db = await Database.open(st, { readOnly: false, spillBytes: 16 * 1024 });
    await expect(
      db.transaction(async (tx) => {
        for (let i = 0; i < 400; i++) {
          if (i === 0) st.failWrite = 'journal';
          await tx.insert('t', [null, 'z'.repeat(300)]);
        }
        // The first spill failed on its journal header; a later one wrote it.
        expect(st.failWrite).toBeNull();
        expect(tx.txn.spill?.journaled).toBe(true);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    // a normal, small-enough transaction that grows the file
    await db.transaction(async (tx) => {
      for (let i = 0; i < 30; i++) await tx.insert('t', [null, 'w'.repeat(300)]);
    });
    const reader = await Database.open(st, { readOnly: true });
    expect(await countRows(reader)).toBe(50);
    await reader.close();
    await db.close();
  });
});

describe('WAL checkpoints around a spilled transaction', () => {
  for (const spillBytes of [16 * 1024, Infinity]) it(`own pager: checkpoint(truncate) while a txn is open (spillBytes ${spillBytes}), then commit`, async () => {
    const dir = tempDir();
    const st = new Flaky({ db: makeDb(dir, true, 300) });
    const before = sqliteCheck(dir, 'before.db', st.files());
    const db = await Database.open(st, { readOnly: false, spillBytes, walAutoCheckpoint: 0 });
    await db.transaction(async (tx) => { await tx.insert('t', [null, 'first']); });
    await db.transaction(async (tx) => {
      for (let i = 0; i < 299; i++) await tx.insert('t', [null, 'y'.repeat(200)]);
      expect(tx.txn.spill !== null).toBe(spillBytes !== Infinity);
      // Refused while a write transaction of this process is open (it may have frames in the log).
      expect(await db.pager.checkpoint(true)).toBe(false);
      for (let i = 0; i < 10; i++) await tx.insert('t', [null, 'y'.repeat(200)]);
    });
    const files = st.files();
    const got = sqliteCheck(dir, 'after.db', files);
    expect(got.ic).toBe('ok');
    expect(got.n).toBe(before.n + 310);
    await db.close();
  });

  it('pager B checkpoints, pager A commits, B writes: A commit survives', async () => {
    const dir = tempDir();
    const st = new Flaky({ db: makeDb(dir, true, 50) });
    const before = sqliteCheck(dir, 'before.db', st.files());
    const a = await Database.open(st, { readOnly: false, walAutoCheckpoint: 0 });
    const b = await Database.open(st, { readOnly: false, walAutoCheckpoint: 0 });
    await a.exec('CREATE TABLE u(x)');
    await a.transaction(async (tx) => { await tx.insert('t', [null, 'a1']); });
    await b.transaction(async (tx) => { await tx.insert('t', [null, 'b1']); });
    expect(await b.pager.checkpoint(false)).toBe(true);
    await a.transaction(async (tx) => { await tx.insert('u', ['a2']); });
    await b.transaction(async (tx) => { await tx.insert('t', [null, 'b2']); });
    const files = st.files();
    const got = sqliteCheck(dir, 'after.db', files);
    expect(got.ic).toBe('ok');
    expect(got.n).toBe(before.n + 3);
    const f = path.join(dir, 'after.db');
    const s2 = new BetterSqlite(f);
    const u = s2.prepare('SELECT count(*) FROM u').pluck().get();
    s2.close();
    expect(u).toBe(1);
    await a.close();
    await b.close();
  });
});

describe('randomized workloads with spills', () => {
  for (const wal of [false, true]) {
    for (const av of ['none', 'full', 'incremental'] as const) {
      it(`${wal ? 'wal' : 'rollback'} autovacuum=${av}`, async () => {
        const dir = tempDir();
        const st = new Flaky({
          db: sqliteImage(dir, 's.db', wal, (s) => {
            s.pragma(`auto_vacuum = ${av === 'none' ? 0 : av === 'full' ? 1 : 2}`);
            s.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX tv ON t(v)');
            const ins = s.prepare('INSERT INTO t VALUES (?, ?)');
            s.transaction(() => { for (let i = 1; i <= 3000; i++) ins.run(i, `v${i}-`.repeat(1 + (i % 30))); })();
          }),
        });
        const db = await Database.open(st, { readOnly: false, spillBytes: 16 * 1024, walAutoCheckpoint: 0, cacheBytes: 0 });
        const model = new Map<number, string>();
        for (let i = 1; i <= 3000; i++) model.set(i, `v${i}-`.repeat(1 + (i % 30)));
        let seed = 7;
        const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 0x100000000);
        let spilled = false;
        await db.transaction(async (tx) => {
          for (let k = 0; k < 6000; k++) {
            const r = rnd();
            const id = 1 + Math.floor(rnd() * 6000);
            if (r < 0.4) {
              const v = `n${k}-`.repeat(1 + (k % 50));
              await tx.insert('t', [id, v], { onConflict: 'replace' });
              model.set(id, v);
            } else if (r < 0.8) {
              await tx.delete('t', id);
              model.delete(id);
            } else if (r < 0.95) {
              if (model.has(id)) {
                const v = `u${k}`;
                await tx.update('t', id, { v });
                model.set(id, v);
              }
            } else if (av === 'incremental') {
              await tx.incrementalVacuum(5);
            }
            if (tx.txn.spill) spilled = true;
          }
        });
        expect(spilled).toBe(true);
        const got = sqliteCheck(dir, 'after.db', st.files());
        expect(got.ic).toBe('ok');
        expect(got.n).toBe(model.size);
        let sum = 0;
        for (const v of model.values()) sum += v.length;
        expect(got.sum).toBe(sum);
        await db.close();
      }, 120_000);
    }
  }

  it('wal: an in-process reader during the spill sees only the last commit', async () => {
    const dir = tempDir();
    const st = new Flaky({ db: makeDb(dir, true, 300) });
    const w = await Database.open(st, { readOnly: false, spillBytes: 16 * 1024, walAutoCheckpoint: 0 });
    const r = await Database.open(st, { readOnly: true });
    await w.transaction(async (tx) => { await tx.insert('t', [null, 'first']); });
    await w.transaction(async (tx) => {
      for (let i = 0; i < 2000; i++) await tx.insert('t', [null, 'q'.repeat(200)]);
      expect(tx.txn.spill).not.toBeNull();
      expect(await countRows(r)).toBe(301);
    });
    expect(await countRows(r)).toBe(2301);
    await r.close();
    await w.close();
  });
});

describe('failed statements after a spill', () => {
  for (const wal of [false, true]) {
    for (const av of ['none', 'full'] as const) {
      it(`${wal ? 'wal' : 'rollback'} av=${av}: failing CREATE UNIQUE INDEX + DROP TABLE after a spill`, async () => {
        const dir = tempDir();
        const st = new Flaky({
          db: sqliteImage(dir, 's.db', wal, (s) => {
            s.pragma(`auto_vacuum = ${av === 'none' ? 0 : 1}`);
            s.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE d(x); CREATE TABLE e(y)');
            const ins = s.prepare('INSERT INTO t VALUES (?, ?)');
            s.transaction(() => {
              for (let i = 1; i <= 2000; i++) ins.run(i, `v${i % 500}-`.repeat(1 + (i % 30)));
              for (let i = 1; i <= 2000; i++) s.prepare('INSERT INTO d VALUES (?)').run('d'.repeat(200));
            })();
          }),
        });
        const db = await Database.open(st, { readOnly: false, spillBytes: 16 * 1024, walAutoCheckpoint: 0, cacheBytes: 0 });
        await db.transaction(async (tx) => {
          for (let i = 1; i <= 2000; i += 2) await tx.update('t', i, { v: `w${i}` });
          for (let i = 3000; i < 5000; i++) await tx.insert('e', [ 'e'.repeat(150) ]);
          expect(tx.txn.spill).not.toBeNull();
          await expect(tx.exec('CREATE UNIQUE INDEX tu ON t(v)')).rejects.toThrow(/UNIQUE/);
          await tx.exec('DROP TABLE d');
          await expect(tx.exec('CREATE UNIQUE INDEX tu2 ON t(v)')).rejects.toThrow(/UNIQUE/);
          for (let i = 5000; i < 6000; i++) await tx.insert('e', [ 'f'.repeat(150) ]);
        });
        const ff = path.join(dir, 'after.db');
        const files = st.files();
        writeFileSync(ff, files.db!);
        if (files.wal) writeFileSync(ff + '-wal', files.wal);
        const c = new BetterSqlite(ff);
        expect(c.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(c.prepare('SELECT count(*) FROM e').pluck().get()).toBe(3000);
        expect(c.prepare("SELECT count(*) FROM t WHERE v LIKE 'w%'").pluck().get()).toBe(1000);
        c.close();
        await db.close();
      }, 120_000);
    }
  }
});

describe('incremental_vacuum failing after a shrink of a spilled transaction', () => {
  for (const wal of [true, false]) {
    for (const commit of [false, true]) {
      it(`${wal ? 'wal' : 'rollback'}, then ${commit ? 'commit' : 'roll back'}`, async () => {
        const dir = tempDir();
        const st = new Flaky({
          db: sqliteImage(dir, 's.db', wal, (s) => {
            s.pragma('auto_vacuum = 2');
            s.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
            const ins = s.prepare('INSERT INTO t VALUES (?, ?)');
            s.transaction(() => {
              for (let i = 1; i <= 3000; i++) ins.run(i, 'v'.repeat(200));
            })();
          }),
        });
        st.failReadKind = wal ? 'wal' : 'db';
        const db = await Database.open(st, { readOnly: false, spillBytes: 16 * 1024, walAutoCheckpoint: 0, cacheBytes: 0 });
        let bad = 0;
        let vacErr: unknown = null;
        const tail = wal ? 2000 : 3001;
        const done = db.transaction(async (tx) => {
          if (wal) for (let i = 2000; i <= 3000; i++) await tx.update('t', i, { v: 'X'.repeat(200) });
          else for (let i = 3001; i <= 4000; i++) await tx.insert('t', [i, 'X'.repeat(200)]);
          for (let i = 1; i <= 1500; i++) await tx.delete('t', i);
          expect(tx.txn.spill).not.toBeNull();
          // The vacuum shrinks the file, then a read fails: its savepoint rolls it back.
          st.failReadIn = 40;
          try {
            await tx.incrementalVacuum(0);
          } catch (e) {
            vacErr = e;
          }
          st.failReadIn = -1;
          for await (const row of tx.rows('t')) {
            const want = Number(row[0]) >= tail ? 'X' : 'v';
            if (String(row[row.length - 1])[0] !== want) bad++;
          }
          if (commit) {
            for (let i = 1501; i <= 1600; i++) await tx.update('t', i, { v: 'Z'.repeat(200) });
            return;
          }
          throw new Error('roll back');
        });
        if (commit) await done;
        else await expect(done).rejects.toThrow('roll back');
        // The vacuum failed on the injected read, not on something else.
        expect(isQuireError(vacErr) && vacErr.code).toBe('IOERR');
        expect(String((vacErr as Error).cause)).toMatch(/injected read failure/);
        expect(bad).toBe(0);
        await db.close();
        const ff = path.join(dir, 'after.db');
        const files = st.files();
        writeFileSync(ff, files.db!);
        if (files.wal) writeFileSync(ff + '-wal', files.wal);
        const c = new BetterSqlite(ff);
        try {
          expect(c.pragma('integrity_check', { simple: true })).toBe('ok');
          const [n, z, x] = c.prepare("SELECT count(*), sum(v = printf('%.*c', 200, 'Z')), sum(substr(v, 1, 1) = 'X') FROM t").raw().get() as number[];
          expect([n, z, x]).toEqual(commit ? [wal ? 1500 : 2500, 100, wal ? 1001 : 1000] : [3000, 0, 0]);
        } finally {
          c.close();
        }
      }, 60_000);
    }
  }
});
