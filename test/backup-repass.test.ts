/**
 * Cheap re-passes (issue 9, scope 1): a pass that failed its checks is followed by one that
 * reads every page again but writes only the pages that differ from what the copy holds, and
 * still ends with the same checks (the copy is one committed state: the last one).
 *
 * SQLite itself writes the source here, in this process (better-sqlite3, synchronous), at
 * chosen points between the copier's steps: quire sees its commits only through the file, as
 * it sees another process's.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CopyEngine } from '../src/index.js';
import { backupFile, openDatabase, type BackupFileProgress } from '../src/node/index.js';
import { ImageSink } from './live/image-sink.js';
import { tempDir } from './util/tmp.js';
import type { Storage } from '../pager/storage.js';

function makeDb(file: string, journalMode: string, rows: number): void {
  const db = new BetterSqlite(file);
  db.pragma(`journal_mode = ${journalMode}`);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad BLOB)');
  const ins = db.prepare('INSERT INTO t(v, pad) VALUES (0, randomblob(300))');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run();
  })();
  db.close();
}

/** A WAL source of 6000 rows with one commit in its log (the copy follows it), and its writer. */
function walSource() {
  const dir = tempDir();
  const file = path.join(dir, 'src.db');
  makeDb(file, 'wal', 6000);
  const writer = new BetterSqlite(file);
  const bump = writer.prepare('UPDATE t SET v = v + 1 WHERE id = ?');
  writer.transaction(() => bump.run(1))();
  /** A commit the copier has not scanned, then a checkpoint that copies it into the db file
   * and truncates the log: the log no longer names the pages it changed. */
  const hide = () => {
    writer.transaction(() => {
      for (const id of [7, 2500, 5900]) bump.run(id);
    })();
    writer.pragma('wal_checkpoint(TRUNCATE)');
  };
  return { dir, file, writer, hide };
}

function rows(file: string): unknown[] {
  const db = new BetterSqlite(file, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    return db.prepare('SELECT id, v FROM t ORDER BY id').all();
  } finally {
    db.close();
  }
}

describe('re-passes write only what changed', () => {
  for (const journalMode of ['delete', 'wal']) {
    it(`${journalMode}: a pass spoiled at its end is followed by one that writes only the changed pages; the copy is the last commit`, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'src.db');
      makeDb(file, journalMode, 6000);
      const writer = new BetterSqlite(file);
      const bump = writer.prepare('UPDATE t SET v = v + 1 WHERE id = ?');
      let commits = 0;
      const commit = () => {
        writer.transaction(() => {
          for (const id of [7, 2500, 5900]) bump.run(id);
        })();
        commits++;
        // WAL: a TRUNCATE checkpoint loses the log's trail, so the pass starts over.
        if (journalMode === 'wal') writer.pragma('wal_checkpoint(TRUNCATE)');
      };
      const source = await openDatabase(file);
      const sink = new ImageSink();
      const engine = new CopyEngine(source.storage, sink);
      const written: number[] = [];
      try {
        let stepsInPass = 0;
        let pass = 0;
        let before = 0;
        let st: string = 'OK';
        while (st !== 'DONE') {
          st = await engine.step(32);
          if (engine.passes !== pass) {
            if (pass > 0) written.push(before - (written.reduce((a, b) => a + b, 0)));
            pass = engine.passes;
            stepsInPass = 0;
          }
          before = engine.pagesWritten;
          stepsInPass++;
          // Pass 1: a commit early on. Pass 2: a commit before its last step, after it read
          // (and recorded) every other page.
          if (st === 'OK' && pass === 1 && stepsInPass === 5 && commits === 0) commit();
          if (st === 'OK' && pass === 2 && engine.remaining <= 32 && commits === 1) commit();
        }
        written.push(engine.pagesWritten - written.reduce((a, b) => a + b, 0));
        const pageCount = engine.pageCount;
        expect(commits).toBe(2);
        expect(engine.passes).toBe(3);
        expect(written).toHaveLength(3);
        // Pass 2 wrote every page (nothing recorded yet), pass 3 only what the commit changed.
        expect(written[1]).toBeGreaterThanOrEqual(pageCount - 1);
        expect(written[2]).toBeGreaterThan(0);
        expect(written[2]).toBeLessThan(20);
        const out = path.join(dir, 'copy.db');
        writeFileSync(out, sink.image);
        writer.pragma(journalMode === 'wal' ? 'wal_checkpoint(TRUNCATE)' : 'user_version');
        expect(rows(out)).toEqual(rows(file));
        expect((rows(out) as Array<{ v: number }>)[6].v).toBe(2);
      } finally {
        engine.release();
        writer.close();
        await source.close();
      }
    });
  }
});

describe('a WAL reset that hides commits is recovered by a re-pass', () => {
  it('a commit then a TRUNCATE checkpoint mid-copy: the progress reports a re-pass (pass 2), no restart; the copy is the last commit and only the changed pages are rewritten', async () => {
    const { dir, file, writer, hide } = walSource();
    const out = path.join(dir, 'copy.db');
    const reports: BackupFileProgress[] = [];
    let done = false;
    try {
      const r = await backupFile(file, out, {
        pages: 64,
        onProgress: (p) => {
          reports.push(p);
          if (!done && p.pass === 1 && p.remaining < p.pageCount / 2) {
            done = true;
            hide();
          }
        },
      });
      expect(done).toBe(true);
      const last = reports[reports.length - 1];
      expect(last.status).toBe('DONE');
      expect(last.pass).toBe(2);
      expect(last.repasses).toBe(1);
      expect(last.restarts).toBe(0);
      expect(r.snapshot.repasses).toBe(1);
      expect(r.snapshot.restarts).toBe(0);
      // The re-pass read every page again but rewrote only what the commit changed.
      const pageSize = r.snapshot.pageSize;
      expect(r.bytesWritten - r.bytes).toBeLessThan(40 * pageSize);
      writer.pragma('wal_checkpoint(TRUNCATE)');
      expect(rows(out)).toEqual(rows(file));
      expect((rows(out) as Array<{ v: number }>)[6].v).toBe(1);
    } finally {
      writer.close();
    }
  });
});

/** An ImageSink that reads its pages back (so re-passes compare bytes) and can hold its writes. */
class GatedSink extends ImageSink {
  gated = false;
  pending = 0;
  private waiting: Array<() => void> = [];
  private pageSize = 0;
  override async begin(pageSize: number, pageCount: number): Promise<void> {
    this.pageSize = pageSize;
    return super.begin(pageSize, pageCount);
  }
  async readBack(first: number, into: Uint8Array): Promise<number> {
    const from = (first - 1) * this.pageSize;
    const got = Math.max(0, Math.min(into.length, this.image.length - from));
    into.set(this.image.subarray(from, from + got));
    return got;
  }
  override async write(first: number, data: Uint8Array): Promise<void> {
    if (this.gated) {
      this.pending++;
      await new Promise<void>((r) => this.waiting.push(r));
      this.pending--;
    }
    return super.write(first, data);
  }
  release(): void {
    this.gated = false;
    for (const r of this.waiting.splice(0)) r();
  }
}

describe('a re-pass compares with what the copy holds and does not wait for its writes', () => {
  it('wal: the end checks of a re-pass run while its writes are still held by the sink; the published copy is the last commit', async () => {
    const { dir, file, writer, hide } = walSource();
    const source = await openDatabase(file);
    const sink = new GatedSink();
    const engine = new CopyEngine(source.storage, sink);
    let stepped: Promise<string> | null = null;
    try {
      // Pass 1, step by step; halfway, a commit and a TRUNCATE checkpoint lose the log's trail.
      let st = 'OK';
      let steps = 0;
      while (engine.passes < 2 && st !== 'DONE') {
        st = await engine.step(32);
        if (++steps === 5) hide();
      }
      expect(engine.passes).toBe(2);
      expect(engine.repasses).toBe(1);
      // The re-pass in one step, the sink holding every write it is handed.
      sink.gated = true;
      stepped = engine.step(-1, true);
      for (let i = 0; i < 2000 && !engine.done; i++) await new Promise((r) => setImmediate(r));
      // Before: the pass waited for its writes before its end checks, so it could not be done.
      expect(engine.done).toBe(true);
      expect(sink.pending).toBeGreaterThan(0);
      sink.release();
      expect(await stepped).toBe('DONE');
      await engine.publish();
      // Only the pages the commit changed were written again.
      expect(engine.pagesWritten - engine.pageCount).toBeLessThan(40);
      const out = path.join(dir, 'copy.db');
      writeFileSync(out, sink.image);
      writer.pragma('wal_checkpoint(TRUNCATE)');
      expect(rows(out)).toEqual(rows(file));
      expect((rows(out) as Array<{ v: number }>)[6].v).toBe(1);
    } finally {
      sink.release();
      await stepped?.catch(() => undefined);
      engine.release();
      writer.close();
      await source.close();
    }
  });
});

/** Steps the copy to its end; it passes integrity_check and holds the source's rows. */
async function copyIsSource(engine: CopyEngine, st: string, sink: ImageSink, file: string): Promise<void> {
  while (st !== 'DONE') st = await engine.step(64);
  const out = path.join(path.dirname(file), 'copy.db');
  writeFileSync(out, sink.image);
  expect(rows(out)).toEqual(rows(file));
}

/**
 * `real` with the db file's times frozen at their first stat: a clock that never ticks (a
 * write leaves them as they were). The file's size and identity stay real.
 */
function frozenTimes(real: Storage): Storage {
  let frozen: { mtimeMs?: number; ctimeMs?: number } | null = null;
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'stat') {
        return async (kind: Parameters<NonNullable<Storage['stat']>>[0]) => {
          const st = await real.stat!(kind);
          if (kind !== 'db' || !st) return st;
          frozen ??= { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
          return { ...st, ...frozen };
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('rollback mode: commits are followed through their journals', () => {
  it("a transaction whose journal the copy saw before it wrote is followed (its pages re-copied) instead of spoiling the pass; the copy is the last commit", async () => {
    const dir = tempDir();
    const file = path.join(dir, 'src.db');
    makeDb(file, 'delete', 6000);
    const writer = new BetterSqlite(file);
    const bump = writer.prepare('UPDATE t SET v = v + 1 WHERE id = ?');
    const add = writer.prepare('INSERT INTO t(v, pad) VALUES (0, randomblob(300))');
    // Free pages: the transactions below reuse freelist leaves, which SQLite writes without
    // journaling them (their old bytes are garbage): the journal alone does not name them.
    writer.exec('DELETE FROM t WHERE id BETWEEN 1000 AND 3000');
    const source = await openDatabase(file);
    const sink = new ImageSink();
    // The db file's times frozen before the first transaction: its writes then come before its
    // journal's deletion as the kernel's file times tell it, as they do whenever a clock tick
    // falls between them (with the real, coarse times a commit's writes and its deletion share
    // a tick more often than not here, and the test would depend on the clock).
    const engine = new CopyEngine(frozenTimes(source.storage), sink);
    try {
      // The pass reads past the free pages first (the ones reused are then re-copied).
      let st = await engine.step(300);
      let pass = engine.passes;
      // Each time: a transaction writes its journal, the copy takes a step (it sees the
      // journal, before the transaction wrote the database file), the transaction commits.
      for (let i = 0; i < 40 && engine.snapshotMoves < 3 && st !== 'DONE'; i++) {
        writer.exec('BEGIN IMMEDIATE');
        bump.run(7 + i);
        bump.run(5900 - i);
        for (let k = 0; k < 40; k++) add.run();
        st = await engine.step(8);
        writer.exec('COMMIT');
        if (st !== 'DONE') st = await engine.step(8);
        if (engine.passes !== pass && st !== 'DONE') {
          pass = engine.passes;
          st = await engine.step(300);
        }
      }
      // Before: every commit spoiled the pass (no move in rollback mode).
      expect(engine.snapshotMoves).toBeGreaterThan(0);
      while (st !== 'DONE') st = await engine.step(32);
      const out = path.join(dir, 'copy.db');
      writeFileSync(out, sink.image);
      expect(rows(out)).toEqual(rows(file));
    } finally {
      engine.release();
      writer.close();
      await source.close();
    }
  });
});

describe('rollback mode: a followed transaction must start from the pass baseline', () => {
  it('a whole transaction that file times cannot show (a coarse clock) before the followed one gives the pass up: the copy is the last commit, never one missing the hidden commit', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'src.db');
    makeDb(file, 'delete', 6000);
    const writer = new BetterSqlite(file);
    const bump = writer.prepare('UPDATE t SET v = v + 1 WHERE id = ?');
    const source = await openDatabase(file);
    // The db file's times as a clock that never ticks: a commit leaves them as they were
    // (as one inside the baseline stat's tick does).
    const storage = frozenTimes(source.storage);
    const sink = new ImageSink();
    const engine = new CopyEngine(storage, sink);
    try {
      let st = await engine.step(300); // the pass is past page 300: id 7's page is copied
      // The hidden commit: the copy takes no step while it runs.
      writer.transaction(() => bump.run(7))();
      // The followed one: its journal is seen before it writes, its deletion after.
      writer.exec('BEGIN IMMEDIATE');
      bump.run(5900);
      st = await engine.step(8);
      writer.exec('COMMIT');
      await copyIsSource(engine, st, sink, file);
    } finally {
      engine.release();
      writer.close();
      await source.close();
    }
  });
});

describe('rollback mode: a followed journal must be the journal of one transaction', () => {
  it('a journal file kept by a PERSIST connection hosts a spilled, rolled-back transaction, then a DELETE connection commits through the same file and unlinks it: the spilled pages the copy read are not handed over (the copy is the last commit)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'src.db');
    makeDb(file, 'delete', 6000);
    // journal_mode PERSIST/TRUNCATE and DELETE are per connection: both write src.db-journal.
    const keeper = new BetterSqlite(file);
    keeper.pragma('journal_mode = persist');
    keeper.pragma('cache_size = 5'); // its big update spills (writes the db file mid-transaction)
    const writer = new BetterSqlite(file); // journal_mode DELETE
    const source = await openDatabase(file);
    // The db file's times frozen (a coarse clock): the followed commit's writes then fall
    // before its journal's unlink whatever the kernel's tick.
    const storage = frozenTimes(source.storage);
    const sink = new ImageSink();
    const engine = new CopyEngine(storage, sink);
    try {
      let st = await engine.step(300);
      // T_B (PERSIST): its journal is seen (and held) before it writes the db file.
      keeper.exec('BEGIN IMMEDIATE');
      keeper.prepare('UPDATE t SET v = 1 WHERE id = 6000').run();
      st = await engine.step(8);
      // It spills uncommitted pages of ids 4200..5400; the copy reads them.
      keeper.prepare('UPDATE t SET v = 999 WHERE id BETWEEN 4200 AND 5400').run();
      st = await engine.step(120);
      // Rolled back: the pages restored, the journal's header zeroed, the file kept.
      keeper.exec('ROLLBACK');
      await new Promise((r) => setTimeout(r, 20));
      // T_A (DELETE): reuses the kept journal file, commits, unlinks it.
      writer.exec('BEGIN IMMEDIATE');
      writer.prepare('UPDATE t SET v = v + 1 WHERE id = 7').run();
      writer.exec('COMMIT');
      // Before: one pass, the commit followed, 1183 rows of the rolled-back v = 999 copied.
      await copyIsSource(engine, st, sink, file);
    } finally {
      engine.release();
      keeper.close();
      writer.close();
      await source.close();
    }
  });
});
