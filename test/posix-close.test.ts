/**
 * quire and an SQLite connection in the same process (better-sqlite3 here, as in an app that
 * uses both). SQLite's locks are POSIX fcntl locks, which belong to the process: closing any
 * descriptor of a file drops every lock the process holds on it. Before, a backupFile or an
 * openDatabase + close of a file the app had open dropped the app's SHARED lock on the db file
 * and its read mark and dead-man switch on the -shm; another process could then checkpoint
 * over pages that connection was reading, or rebuild the -shm under it. Now quire keeps such
 * descriptors open (parked, and reused by its next open of the same file).
 *
 * Linux only (/proc/locks); the suite runs there.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { backupFile, openDatabase } from '../src/node/index.js';
import { NodeFileStorage } from '../src/node/file-storage.js';
import { tempDir } from './util/tmp.js';

/** This process's locks on `file`, as "start-end READ|WRITE" strings, sorted. */
function ownLocks(file: string): string[] {
  const ino = statSync(file).ino;
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && f[1] !== '->' && Number(f[4]) === process.pid && Number(f[5].split(':')[2]) === ino)
    .map((f) => `${f[6]}-${f[7]} ${f[3]}`)
    .sort();
}

const openFds = () => readdirSync('/proc/self/fd').length;

/**
 * The app: a better-sqlite3 connection to a new app.db of `rows` rows (WAL or rollback mode)
 * with a read transaction open: SHARED on the db file and, in WAL mode, a read mark on the
 * -shm. `end()` ends the read and closes the connection.
 */
function appReading(wal: boolean, rows: number) {
  const dir = tempDir();
  const file = path.join(dir, 'app.db');
  const app = new BetterSqlite(file);
  if (wal) app.pragma('journal_mode = wal');
  app.exec(`CREATE TABLE t(x); INSERT INTO t VALUES ${Array.from({ length: rows }, (_, i) => `(${i + 1})`).join(', ')}`);
  const it = app.prepare('SELECT x FROM t').iterate();
  it.next();
  return {
    dir,
    file,
    end: () => {
      it.return?.();
      app.close();
    },
  };
}

describe('an SQLite connection in this process keeps its locks while quire opens and closes the same files', () => {
  it('WAL: backupFile and openDatabase + close leave its SHARED lock and -shm locks in place; descriptors do not pile up', async () => {
    const atStart = openFds();
    const { dir, file, end } = appReading(true, 2);
    try {
      const db = ownLocks(file);
      const shm = ownLocks(`${file}-shm`);
      expect(db.length).toBeGreaterThan(0);
      expect(shm.length).toBeGreaterThan(1);
      await backupFile(file, path.join(dir, 'copy.db'));
      expect(ownLocks(file)).toEqual(db);
      expect(ownLocks(`${file}-shm`)).toEqual(shm);
      const q = await openDatabase(file);
      expect(await q.get('t', 2)).toBeDefined();
      await q.close();
      expect(ownLocks(file)).toEqual(db);
      expect(ownLocks(`${file}-shm`)).toEqual(shm);
      // Later opens take the kept descriptors back.
      const fds = openFds();
      for (let i = 0; i < 10; i++) await backupFile(file, path.join(dir, `copy${i}.db`));
      expect(openFds() - fds).toBeLessThanOrEqual(2);
      expect(ownLocks(`${file}-shm`)).toEqual(shm);
    } finally {
      end();
    }
    // The connection closed: quire's next release of a descriptor closes the kept ones.
    const q = await openDatabase(file);
    await q.close();
    // (One more than at the start: the /proc/locks descriptor the storage module keeps open.)
    expect(openFds()).toBeLessThanOrEqual(atStart + 1);
  });

  it('a descriptor a writable storage kept is not written through by a read-only one', async () => {
    const { file, end } = appReading(true, 1);
    try {
      const w = await NodeFileStorage.open(file, { readOnly: false });
      expect((await w.read('db', 0, 16)).length).toBe(16);
      await w.close(); // kept open (parked): this process holds locks on the file
      const r = await NodeFileStorage.open(file);
      expect((await r.read('db', 0, 16)).length).toBe(16);
      await expect(r.write('db', 0, new Uint8Array(16))).rejects.toMatchObject({ code: 'READONLY' });
      await r.close();
    } finally {
      end();
    }
  });

  it('rollback mode: openDatabase + close leaves the SHARED lock of a reader in this process', async () => {
    const { file, end } = appReading(false, 1);
    try {
      const held = ownLocks(file);
      expect(held.length).toBeGreaterThan(0);
      const q = await openDatabase(file);
      expect(await q.get('t', 1)).toBeDefined();
      await q.close();
      expect(ownLocks(file)).toEqual(held);
    } finally {
      end();
    }
  });
});
