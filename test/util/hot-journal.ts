/**
 * A rollback-mode database as a crash leaves it, made by real SQLite: `sql` runs in a
 * transaction with a two-page cache, so the cache spills (the database file holds
 * uncommitted pages, page 1 last, and the -journal is hot). The file and its journal are
 * captured at that moment, the transaction is rolled back, and the capture is written to
 * `crashed` and `crashed-journal`: a hot journal that quire must refuse or apply.
 */
import BetterSqlite from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

const JOURNAL_MAGIC = 'd9d505f920a163d7';

/**
 * Runs `work` in a transaction of `s` (the connection to `file`) with a two-page cache, so the
 * cache spills; returns the file and its -journal as they were then, and rolls back.
 */
export function spilledTransaction(s: BetterSqlite.Database, file: string, work: () => void): { db: Buffer; journal: Buffer } {
  s.pragma('cache_size = 2');
  s.exec('BEGIN');
  work();
  const db = readFileSync(file);
  const journal = readFileSync(file + '-journal');
  s.exec('ROLLBACK');
  return { db, journal };
}

export function crashedCopy(file: string, crashed: string, sql: string): void {
  const s = new BetterSqlite(file);
  let db: Buffer;
  let journal: Buffer;
  try {
    ({ db, journal } = spilledTransaction(s, file, () => s.exec(sql)));
  } finally {
    s.close();
  }
  // The cache spilled: the journal has its magic and the file held uncommitted pages.
  expect(journal.subarray(0, 8).toString('hex')).toBe(JOURNAL_MAGIC);
  expect(db.equals(readFileSync(file))).toBe(false);
  writeFileSync(crashed, db);
  writeFileSync(crashed + '-journal', journal);
}
