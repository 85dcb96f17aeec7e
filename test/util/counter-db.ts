/**
 * The WAL source of the -shm commit-counter tests (test/backup-counter*.test.ts): a table
 * t(id INTEGER PRIMARY KEY, v INTEGER, pad BLOB) of `rows` rows, v = 0, 300-byte pads, so
 * that a row's page is found by its id (~12 rows a page) and the copier reads the low ids
 * first.
 */
import BetterSqlite from 'better-sqlite3';

/** Creates `file` (WAL mode) and returns the open connection that wrote it. */
export function createCounterDb(file: string, rows: number): BetterSqlite.Database {
  const db = new BetterSqlite(file);
  db.pragma('journal_mode = wal');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad BLOB)');
  const ins = db.prepare('INSERT INTO t(v, pad) VALUES (0, randomblob(300))');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run();
  })();
  return db;
}
