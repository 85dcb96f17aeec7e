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
import { tempDir } from './util/tmp.js';
import { copyAround, createCounterDb, untilBridged } from './util/counter-db.js';

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

/** A copy around `between` (test/util/counter-db.ts), checked: it holds the source's last commit. */
async function checkedCopy(file: string, dir: string, db: BetterSqlite.Database, between: () => void) {
  expect(existsSync(`${file}-shm`)).toBe(true);
  const { image, ...counters } = await copyAround(file, between);
  const out = path.join(dir, 'copy.db');
  writeFileSync(out, image);
  db.pragma('wal_checkpoint(TRUNCATE)');
  expect(rowsOf(out)).toEqual(rowsOf(file));
  return counters;
}

describe('a WAL reset that leaves no tail is followed by the -shm commit counter', () => {
  it('TRUNCATE with no commit after the last scan, then commits: bridged, no re-pass', async () => {
    const r = await untilBridged(async () => {
      const { dir, file, db, commit } = source();
      try {
        return await checkedCopy(file, dir, db, () => {
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
        return await checkedCopy(file, dir, db, () => {
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

  // Row 7's page was copied in the first steps; no later commit touches it.
  const unscanned = [
    { kind: 'TRUNCATE', after: [5000], what: 'TRUNCATE and commits: the counts differ,' },
    { kind: 'RESTART', after: MANY, what: 'RESTART and a new log over the old tail:' },
  ];
  for (const { kind, after, what } of unscanned) {
    it(`a commit the copier did not scan, then ${what} a re-pass; the copy is the last commit`, async () => {
      const { dir, file, db, commit } = source();
      try {
        const r = await checkedCopy(file, dir, db, () => {
          commit([7]);
          db.pragma(`wal_checkpoint(${kind})`);
          commit(after);
        });
        expect(r).toMatchObject({ repasses: 1, restarts: 0, passes: 2 });
        expect(rowsOf(file)[6].v).toBe(1);
      } finally {
        db.close();
      }
    });
  }
});
