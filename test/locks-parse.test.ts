import { describe, expect, it } from 'vitest';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './util/tmp.js';
import { devMajorMinor, locksOn, parseProcLocks, ProcLocksFile, readFileLocks, readLocks } from '../src/node/locks.js';
import { dbLockLevel, describeLocks } from '../pager/storage.js';

// /proc/locks as Linux prints it: a WAL connection (pid 9837) inside a read transaction on
// inode 2228416 (its -shm is 2228423), a rollback writer (pid 4242) holding RESERVED on inode
// 77, a waiter line, an OFD lock and an flock on other files.
const SAMPLE = `1: POSIX  ADVISORY  WRITE 9837 fe:00:2228423 120 120
2: POSIX  ADVISORY  READ 9837 fe:00:2228423 124 124
3: POSIX  ADVISORY  READ 9837 fe:00:2228423 128 128
4: POSIX  ADVISORY  READ 9837 fe:00:2228416 1073741826 1073742335
5: POSIX  ADVISORY  WRITE 4242 08:01:77 1073741825 1073741825
5: -> POSIX  ADVISORY  WRITE 5555 08:01:77 1073741825 1073741825
6: POSIX  ADVISORY  READ 4242 08:01:77 1073741826 1073742335
7: OFDLCK ADVISORY  WRITE -1 08:01:99 0 EOF
8: FLOCK  ADVISORY  WRITE 31 103:02:77 0 EOF
garbage line
`;

describe('/proc/locks parser', () => {
  it('parses held locks and skips waiters and junk', () => {
    const ls = parseProcLocks(SAMPLE);
    expect(ls).toHaveLength(8);
    expect(ls[0]).toEqual({ type: 'POSIX', write: true, pid: 9837, major: 0xfe, minor: 0, ino: 2228423n, start: 120, end: 120 });
    expect(ls[6]).toMatchObject({ type: 'OFDLCK', pid: -1, start: 0, end: Infinity });
    expect(ls[7]).toMatchObject({ major: 0x103, minor: 2 });
    expect(ls.some((l) => l.pid === 5555)).toBe(false);
  });

  it('decodes dev_t as glibc does', () => {
    expect(devMajorMinor(65024n)).toEqual([0xfe, 0]);
    expect(devMajorMinor(2049n)).toEqual([8, 1]);
    // major 259, minor 2 (nvme): ((259 & 0xfff) << 8) | 2
    expect(devMajorMinor((259n << 8n) | 2n)).toEqual([259, 2]);
    // a large minor: 0x12345 -> low byte in bits 0-7, the rest from bit 20
    expect(devMajorMinor((8n << 8n) | 0x45n | (0x123n << 20n))).toEqual([8, 0x12345]);
  });

  it('names SQLite locks on the db and the -shm', () => {
    const ls = parseProcLocks(SAMPLE);
    const walDb = locksOn(ls, 65024n, 2228416n, 'db', 1);
    expect(dbLockLevel(walDb)).toBe('shared');
    const shm = locksOn(ls, 65024n, 2228423n, 'shm', 1);
    expect(shm.held.map((h) => h.lock)).toEqual(['write', 'read1', 'dms']);
    expect(describeLocks(shm, 't.db')).toBe('a SQLite process (pid 9837) is writing through t.db-shm (locks: write, read1, dms)');
    const rb = locksOn(ls, 2049n, 77n, 'db', 1);
    expect(dbLockLevel(rb)).toBe('reserved');
    expect(describeLocks(rb, 'app.db')).toBe('a SQLite process (pid 4242) holds RESERVED on app.db (a write transaction is in progress)');
    // Same inode on another device: not this file.
    expect(locksOn(ls, 2050n, 77n, 'db', 1).held).toEqual([]);
    // This process's own locks are not another process's.
    expect(locksOn(ls, 2049n, 77n, 'db', 4242).held).toEqual([]);
    // A whole-file OFD write lock covers every SQLite byte: EXCLUSIVE.
    expect(dbLockLevel(locksOn(ls, 2049n, 99n, 'db', 1))).toBe('exclusive');
    expect(dbLockLevel(locksOn(ls, 2049n, 1n, 'db', 1))).toBe('none');
  });

  it('levels: PENDING write, EXCLUSIVE, a read on PENDING, and a lock on unrelated bytes', () => {
    const mk = (lines: string) => locksOn(parseProcLocks(lines), 2049n, 5n, 'db', 1);
    expect(dbLockLevel(mk('1: POSIX ADVISORY WRITE 7 08:01:5 1073741824 1073741824'))).toBe('pending');
    expect(dbLockLevel(mk('1: POSIX ADVISORY WRITE 7 08:01:5 1073741826 1073742335'))).toBe('exclusive');
    expect(dbLockLevel(mk('1: POSIX ADVISORY READ 7 08:01:5 1073741824 1073741824'))).toBe('shared');
    const other = mk('1: POSIX ADVISORY READ 7 08:01:5 0 100');
    expect(other.held.map((h) => h.lock)).toEqual(['other']);
    expect(describeLocks(other, 'x.db')).toContain('a lock on x.db');
  });

  it('readLocks: null without /proc/locks, nothing held on an absent file', () => {
    expect(readLocks('/nonexistent/x.db', 'db', '/nonexistent/proc-locks')).toBeNull();
    if (readLocks('/', 'db') !== null) expect(readLocks('/nonexistent/x.db', 'db')).toEqual({ kind: 'db', held: [] });
  });

  it('readLocks reads a /proc/locks larger than its buffer and matches the file by dev and inode', () => {
    const dir = tempDir();
    const db = path.join(dir, 'x.db');
    writeFileSync(db, '');
    const st = statSync(db, { bigint: true });
    const [maj, min] = devMajorMinor(st.dev);
    const filler = Array.from({ length: 2000 }, (_, i) => `${i + 1}: POSIX  ADVISORY  READ 77 ${maj.toString(16)}:${min.toString(16)}:${st.ino + 1n} 0 EOF`);
    const mine = `2001: POSIX  ADVISORY  WRITE 4242 ${maj.toString(16).padStart(2, '0')}:${min.toString(16).padStart(2, '0')}:${st.ino} 1073741825 1073741825`;
    const proc = path.join(dir, 'locks');
    writeFileSync(proc, [...filler, mine, ''].join('\n'));
    expect(statSync(proc).size).toBeGreaterThan(65536);
    const info = readLocks(db, 'db', proc)!;
    expect(info.held).toEqual([{ lock: 'reserved', pid: 4242, write: true }]);
  });

  it('one kept-open look serves the db file and its -shm, and sees what changed since the last look', () => {
    const dir = tempDir();
    const db = path.join(dir, 'x.db');
    writeFileSync(db, '');
    writeFileSync(db + '-shm', '');
    const st = statSync(db, { bigint: true });
    const shmIno = statSync(db + '-shm', { bigint: true }).ino;
    const [maj, min] = devMajorMinor(st.dev);
    const dev = `${maj.toString(16).padStart(2, '0')}:${min.toString(16).padStart(2, '0')}`;
    const proc = path.join(dir, 'locks');
    const files = { db, shm: db + '-shm' };
    const look = new ProcLocksFile(proc);
    try {
      writeFileSync(proc, `1: POSIX  ADVISORY  WRITE 4242 ${dev}:${st.ino} 1073741825 1073741825\n`);
      let both = readFileLocks(look, files, [st.dev])!;
      expect(both.db.held).toEqual([{ lock: 'reserved', pid: 4242, write: true }]);
      expect(both.shm.held).toEqual([]);
      // The same descriptor, the text rewritten (as the kernel regenerates /proc/locks).
      writeFileSync(proc, `1: POSIX  ADVISORY  READ 9837 ${dev}:${shmIno} 128 128\n`);
      both = readFileLocks(look, files, [st.dev])!;
      expect(both.db.held).toEqual([]);
      expect(both.shm.held).toEqual([{ lock: 'dms', pid: 9837, write: false }]);
      // A lock with the db's inode number on another device is some other file: nothing held
      // (and neither path is stat'ed: the answer is the same without the files).
      const other = `${(maj + 1).toString(16).padStart(2, '0')}:${min.toString(16).padStart(2, '0')}`;
      writeFileSync(proc, `1: POSIX  ADVISORY  WRITE 4242 ${other}:${st.ino} 1073741825 1073741825\n`);
      expect(readFileLocks(look, { db: path.join(dir, 'gone.db'), shm: path.join(dir, 'gone.db-shm') }, [st.dev])).toEqual({
        db: { kind: 'db', held: [] },
        shm: { kind: 'shm', held: [] },
      });
      expect(readFileLocks(look, files, [st.dev])!.db.held).toEqual([]);
    } finally {
      look.close();
    }
    expect(readFileLocks(new ProcLocksFile(path.join(dir, 'absent')), files)).toBeNull();
  });
});
