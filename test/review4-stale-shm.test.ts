/**
 * REVIEW4: the copier's phantom cap where locks cannot be seen ("cannot tell" counts as held)
 * against a -shm nobody holds whose header is older than the log: SQLite closed cleanly with a
 * persistent WAL (`.filectrl persist_wal 1`: the -wal and -shm stay, the header published
 * through the log's end), then quire, which sees no holder (Linux /proc/locks), appended its
 * own commits to that log without touching the -shm (quire never writes it). A copier on the
 * same files that cannot see locks (other runtimes, Node off Linux; simulated by a storage
 * Proxy whose locks() answers null, as test/backup-counter-holes.test.ts does) caps every scan
 * at the stale header: the copy lacks quire's durable commits, which SQLite (recovery: nobody
 * holds the -shm) and quire's reader both see.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../src/node/index.js';
import { copyAll } from './util/counter-db.js';
import { tempDir } from './util/tmp.js';

function rowsOf(file: string, readonly = false): Array<{ id: number; v: number }> {
  const db = new BetterSqlite(file, { readonly });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    return db.prepare('SELECT id, v FROM t ORDER BY id').all() as Array<{ id: number; v: number }>;
  } finally {
    db.close();
  }
}

async function copyOf(file: string, out: string, blind: boolean): Promise<void> {
  const source = await openDatabase(file);
  const storage = blind
    ? new Proxy(source.storage, {
        get(target, prop) {
          if (prop === 'locks') return async () => null;
          const v = Reflect.get(target, prop);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      })
    : source.storage;
  try {
    writeFileSync(out, await copyAll(storage));
  } finally {
    await source.close();
  }
}

describe('REVIEW4: a stale -shm (persistent WAL, clean close) and commits quire appended after it', () => {
  it.each([
    ['locks visible', false, ''],
    ['locks() answers null', true, ''],
    // The -shm left holding the header of the restart that follows the log (walRestartHdr),
    // the WAL file still the old log, which quire appends to.
    ['locks() answers null, a RESTART checkpoint before the close', true, 'PRAGMA wal_checkpoint(RESTART);'],
  ])('%s: the copy holds quire\'s commits', async (_name, blind, last) => {
    const dir = tempDir();
    const file = path.join(dir, 'src.db');
    const r = spawnSync(
      'sqlite3',
      [file, 'PRAGMA journal_mode=wal;', 'CREATE TABLE t(id INTEGER PRIMARY KEY, v);', 'INSERT INTO t VALUES(1, 0);', '.filectrl persist_wal 1', 'INSERT INTO t VALUES(2, 0);', last],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(`${file}-shm`) && existsSync(`${file}-wal`)).toBe(true);
    // quire's writer stays open (a live application): its commits stay in the log (its
    // close would checkpoint and truncate the log, nobody else being there).
    const db = await openDatabase(file, { readOnly: false });
    const out = path.join(dir, 'copy.db');
    try {
      for (let i = 3; i <= 5; i++) await db.insert('t', [i, i * 10]);
      await copyOf(file, out, blind);
    } finally {
      await db.close();
    }
    const got = rowsOf(out, true);
    // What every reader of the source sees (SQLite recovers the log: nobody holds the -shm).
    const want = rowsOf(file);
    expect(want.map((x) => x.id)).toEqual([1, 2, 3, 4, 5]);
    expect(got).toEqual(want);
  });
});
