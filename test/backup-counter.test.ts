/**
 * WAL resets followed by the -shm commit counter (issue 9, scope 2): a checkpoint that
 * truncates the log, or a new log that overwrites the old one's tail, leaves nothing in the
 * -wal file to say whether a commit came after the copier's last scan. SQLite's -shm header
 * counts commits (iChange, kept across a restart): when the count after the reset minus the
 * new log's commits equals the count at the copier's snapshot, no commit was missed and the
 * reset is bridged without a re-pass; when a commit was missed, the counts differ and the
 * copy makes a re-pass (and is the last commit either way).
 *
 * SQLite writes the source in this process (better-sqlite3, synchronous) between the
 * copier's steps; quire sees it only through the files.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CopyEngine } from '../src/index.js';
import { openDatabase } from '../src/node/index.js';
import { ImageSink } from './live/image-sink.js';
import { tempDir } from './util/tmp.js';
import { createCounterDb, untilBridged } from './util/counter-db.js';

const ROWS = 6000;

function source() {
  const dir = tempDir();
  const file = path.join(dir, 'src.db');
  const db = createCounterDb(file, ROWS);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const bump = db.prepare('UPDATE t SET v = v + 1 WHERE id = ?');
  /** One transaction bumping `ids` (each id's row by one). */
  const commit = (ids: number[]) =>
    db.transaction(() => {
      for (const id of ids) bump.run(id);
    })();
  commit([1]);
  return { dir, file, db, commit };
}

/**
 * Every 40th row from 1001 on: a transaction of ~125 pages, more frames than the log held
 * before, none on the pages of rows 1-1000 (which the copier reads first).
 */
const MANY = Array.from({ length: (ROWS - 1000) / 40 }, (_, i) => 1001 + i * 40);

function rowsOf(file: string): Array<{ id: number; v: number }> {
  const db = new BetterSqlite(file, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    return db.prepare('SELECT id, v FROM t ORDER BY id').all() as Array<{ id: number; v: number }>;
  } finally {
    db.close();
  }
}

/**
 * Copies `file` 32 pages a step; after the 5th step (the copier has scanned the log since the
 * last commit) runs `between`, then steps to the end. Returns the engine's counters, and
 * checks that the copy is the source's last commit.
 */
async function copyAround(file: string, dir: string, db: BetterSqlite.Database, between: () => void) {
  expect(existsSync(`${file}-shm`)).toBe(true);
  const source = await openDatabase(file);
  const sink = new ImageSink();
  const engine = new CopyEngine(source.storage, sink);
  // The copier anchors its count only on a -shm whose status-change time is a clock tick old
  // (a recovery in the same tick could leave it equal); setup wrote it just now.
  await new Promise((r) => setTimeout(r, 40));
  try {
    let st = 'OK';
    for (let steps = 0; st !== 'DONE'; steps++) {
      st = await engine.step(32);
      if (steps === 4) {
        expect(st).toBe('OK');
        between();
      }
    }
    const out = path.join(dir, 'copy.db');
    writeFileSync(out, sink.image);
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(rowsOf(out)).toEqual(rowsOf(file));
    return { repasses: engine.repasses, restarts: engine.restarts, bridged: engine.resetsBridged, passes: engine.passes };
  } finally {
    engine.release();
    await source.close();
  }
}

describe('a WAL reset that leaves no tail is followed by the -shm commit counter', () => {
  it('TRUNCATE with no commit after the last scan, then commits: bridged, no re-pass', async () => {
    const r = await untilBridged(async () => {
      const { dir, file, db, commit } = source();
      try {
        return await copyAround(file, dir, db, () => {
          db.pragma('wal_checkpoint(TRUNCATE)');
          commit([7, 2500, 5900]);
          commit([5000]);
        });
      } finally {
        db.close();
      }
    });
    expect(r).toMatchObject({ repasses: 0, restarts: 0, passes: 1 });
    expect(r.bridged).toBeGreaterThanOrEqual(1);
  });

  it('RESTART, then a new log that overwrites the old tail: bridged, no re-pass', async () => {
    const r = await untilBridged(async () => {
      const { dir, file, db, commit } = source();
      try {
        return await copyAround(file, dir, db, () => {
          db.pragma('wal_checkpoint(RESTART)');
          commit(MANY);
        });
      } finally {
        db.close();
      }
    });
    expect(r).toMatchObject({ repasses: 0, restarts: 0, passes: 1 });
    expect(r.bridged).toBeGreaterThanOrEqual(1);
  });

  it('a commit the copier did not scan, then TRUNCATE and commits: the counts differ, a re-pass; the copy is the last commit', async () => {
    const { dir, file, db, commit } = source();
    try {
      const r = await copyAround(file, dir, db, () => {
        // Row 7's page was copied in the first steps; no later commit touches it.
        commit([7]);
        db.pragma('wal_checkpoint(TRUNCATE)');
        commit([5000]);
      });
      expect(r).toMatchObject({ repasses: 1, restarts: 0, passes: 2 });
      expect(rowsOf(file)[6].v).toBe(1);
    } finally {
      db.close();
    }
  });

  it('a commit the copier did not scan, then RESTART and a new log over the old tail: a re-pass; the copy is the last commit', async () => {
    const { dir, file, db, commit } = source();
    try {
      const r = await copyAround(file, dir, db, () => {
        commit([7]);
        db.pragma('wal_checkpoint(RESTART)');
        commit(MANY);
      });
      expect(r).toMatchObject({ repasses: 1, restarts: 0, passes: 2 });
      expect(rowsOf(file)[6].v).toBe(1);
    } finally {
      db.close();
    }
  });
});
