/**
 * Other processes' SQLite locks, seen through Linux's `/proc/locks` (Node only; no native code,
 * no lock taken).
 *
 * SQLite (os_unix.c) takes POSIX advisory locks (fcntl F_SETLK) on byte ranges:
 *
 *   file  OFFSET                  SIZE  LOCK
 *   db    0x40000000 PENDING_BYTE   1   PENDING (read-locked briefly while taking SHARED)
 *   db    0x40000001 RESERVED_BYTE  1   RESERVED (a write transaction is open)
 *   db    0x40000002 SHARED_FIRST 510   SHARED (read lock), EXCLUSIVE (write lock on all 510)
 *   -shm  120 + 0                   1   WAL_WRITE_LOCK
 *   -shm  120 + 1                   1   WAL_CKPT_LOCK
 *   -shm  120 + 2                   1   WAL_RECOVER_LOCK
 *   -shm  120 + 3 + n (n = 0..4)    1   WAL_READ_LOCK(n): a reader's snapshot mark
 *   -shm  128 (UNIX_SHM_DMS)        1   DMS: read-locked by every connection with the -shm open
 *
 * A `/proc/locks` line names the lock's type (POSIX, OFDLCK, FLOCK, ...), READ or WRITE, the
 * owner's pid (-1 for OFD locks), the file as `major:minor:inode` (device numbers in hex) and
 * the range `start end` (`EOF` for "to the end"). Lines with `->` are waiters, not holders.
 *
 *   1: POSIX  ADVISORY  WRITE 9837 fe:00:2228423 120 120
 *   4: POSIX  ADVISORY  READ  9837 fe:00:2228416 1073741826 1073742335
 *
 * What this cannot see: locks taken after the look (there is no way to look and lock at once
 * without locking), locks on a file reached through another mount namespace's view of a
 * network file system, and anything on other platforms (`/proc/locks` is absent there and the
 * answer is "unknown").
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { FileLocks, LockHeld, LockInfo } from '../../pager/storage.js';

export const PENDING_BYTE = 0x40000000;
export const RESERVED_BYTE = PENDING_BYTE + 1;
export const SHARED_FIRST = PENDING_BYTE + 2;
export const SHARED_SIZE = 510;
/** First lock byte in -shm (WALINDEX_LOCK_OFFSET) and the number of WAL locks (SQLITE_SHM_NLOCK). */
export const SHM_LOCK_OFFSET = 120;
export const SHM_NLOCK = 8;
/** The dead-man-switch byte (UNIX_SHM_DMS). */
export const SHM_DMS = SHM_LOCK_OFFSET + SHM_NLOCK;

/** One held lock of `/proc/locks`. `end` is Infinity for EOF. */
export interface ProcLock {
  type: string;
  write: boolean;
  pid: number;
  major: number;
  minor: number;
  ino: bigint;
  start: number;
  end: number;
}

/** Parses `/proc/locks` text; waiter lines (`->`) and lines it cannot read are left out. */
export function parseProcLocks(text: string): ProcLock[] {
  const out: ProcLock[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[1] === '->') continue;
    const [, type, , rw, pidS, file, startS, endS] = f;
    const m = /^([0-9a-f]+):([0-9a-f]+):(\d+)$/i.exec(file);
    if (!m || (rw !== 'READ' && rw !== 'WRITE')) continue;
    const start = Number(startS);
    const end = endS === 'EOF' ? Infinity : Number(endS);
    if (!Number.isFinite(start) || Number.isNaN(end)) continue;
    out.push({
      type,
      write: rw === 'WRITE',
      pid: Number(pidS),
      major: parseInt(m[1], 16),
      minor: parseInt(m[2], 16),
      ino: BigInt(m[3]),
      start,
      end,
    });
  }
  return out;
}

/** Major and minor numbers of a user-space dev_t (glibc's gnu_dev_major / gnu_dev_minor). */
export function devMajorMinor(dev: bigint): [number, number] {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return [major, minor];
}

function covers(l: ProcLock, off: number, len = 1): boolean {
  return l.start < off + len && l.end >= off;
}

/** SQLite's names for the locks one `/proc/locks` entry holds on a database file. */
function dbLockNames(l: ProcLock): LockHeld['lock'][] {
  const names: LockHeld['lock'][] = [];
  if (covers(l, SHARED_FIRST, SHARED_SIZE)) names.push(l.write ? 'exclusive' : 'shared');
  if (covers(l, RESERVED_BYTE)) names.push('reserved');
  // A read lock on PENDING is held for an instant while SHARED is taken.
  if (covers(l, PENDING_BYTE)) names.push(l.write ? 'pending' : 'shared');
  return names;
}

const SHM_NAMES: LockHeld['lock'][] = ['write', 'checkpoint', 'recover', 'read0', 'read1', 'read2', 'read3', 'read4', 'dms'];

function shmLockNames(l: ProcLock): LockHeld['lock'][] {
  return SHM_NAMES.filter((_, i) => covers(l, SHM_LOCK_OFFSET + i));
}

/**
 * The SQLite locks held on the file `(dev, ino)`, from parsed `/proc/locks`, leaving out those
 * of pid `exclude` if given. A lock on bytes SQLite does not use is reported as 'other'.
 *
 * readLocks excludes nobody: quire takes no lock, so a lock held by this very process is a
 * SQLite connection in it (better-sqlite3, node:sqlite), as much another connection as one in
 * another process (POSIX locks are per process, so SQLite coordinates its own connections
 * in memory, which quire cannot see).
 */
export function locksOn(procLocks: readonly ProcLock[], dev: bigint, ino: bigint, kind: 'db' | 'shm', exclude?: number): LockInfo {
  const [major, minor] = devMajorMinor(dev);
  const held: LockHeld[] = [];
  for (const l of procLocks) {
    if (l.ino !== ino || l.major !== major || l.minor !== minor || l.pid === exclude) continue;
    const names = kind === 'db' ? dbLockNames(l) : shmLockNames(l);
    if (names.length === 0) names.push('other');
    for (const lock of names) held.push({ lock, pid: l.pid, write: l.write });
  }
  return { kind, held };
}

export const PROC_LOCKS = '/proc/locks';

const latin1 = new TextDecoder('latin1');

/** A read of /proc/locks shorter than asked and at most this long ended the text (see text()). */
const SHORT_TEXT = 2048;

/**
 * A kept-open `/proc/locks` (or `procPath`): each look is a read from offset 0 (the kernel
 * regenerates the text for a read at 0), so a look costs two reads rather than an open, two
 * reads and a close. One per storage; `close` releases the descriptor.
 */
export class ProcLocksFile {
  private fd = -1;
  /** Reused read buffer (grows when the text is larger). */
  private buf = new Uint8Array(16384);

  readonly procPath: string;

  constructor(procPath = PROC_LOCKS) {
    this.procPath = procPath;
  }

  /** The current text, or null when it cannot be read. */
  text(): string | null {
    if (this.fd < 0) {
      try {
        this.fd = openSync(this.procPath, 'r');
      } catch {
        return null;
      }
    }
    try {
      let len = 0;
      for (;;) {
        if (len === this.buf.length) {
          const bigger = new Uint8Array(this.buf.length * 2);
          bigger.set(this.buf);
          this.buf = bigger;
        }
        const asked = this.buf.length - len;
        const n = readSync(this.fd, this.buf, len, asked, len);
        len += n;
        // procfs (seq_file) fills a buffer of at least a page (4096 bytes) with whole lines
        // until the next one does not fit, so a first read that stops short of the request
        // with under half a page (a line is ~100 bytes) got the whole text; this saves the
        // read that would return 0, which the kernel answers by generating the text again.
        if (n === 0 || (n < asked && len <= SHORT_TEXT)) break;
      }
      return latin1.decode(this.buf.subarray(0, len));
    } catch {
      this.close();
      return null;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      closeSync(this.fd);
    } catch {
      // already unusable
    }
    this.fd = -1;
  }
}

/**
 * How a `/proc/locks` line names device `dev`: " %02x:%02x:" (fs/locks.c, "userspace relies on
 * this representation of dev_t"). Kept per device: a storage looks at every write start.
 */
const devFields = new Map<bigint, string>();
function devField(dev: bigint): string {
  let f = devFields.get(dev);
  if (f === undefined) {
    const [major, minor] = devMajorMinor(dev);
    f = ` ${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:`;
    devFields.set(dev, f);
  }
  return f;
}

/**
 * The locks on one file, by a fresh stat of its path (none when it does not exist): only the
 * lines naming its device and inode ("dev:ino ", which no other file's line contains) are
 * parsed, and none when the text has no such line.
 */
function locksOfPath(text: string, file: string, kind: 'db' | 'shm'): LockInfo {
  if (text === '') return { kind, held: [] };
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!st) return { kind, held: [] };
  const field = `${devField(st.dev)}${st.ino} `;
  if (!text.includes(field)) return { kind, held: [] };
  const mine = text
    .split('\n')
    .filter((l) => l.includes(field))
    .join('\n');
  const info = locksOn(parseProcLocks(mine), st.dev, st.ino, kind);
  for (const h of info.held) if (h.pid === process.pid) h.self = true;
  return info;
}

/**
 * The locks held on a database file and its -shm, by any process, from one look at
 * `/proc/locks`: null when it cannot be read (not Linux). `devs` are the devices the two
 * files can live on (the db file's and its directory's): when no line of the text names one
 * of them, nothing is held on either file and neither is stat'ed. Otherwise each path is
 * stat'ed now and matched by device and inode.
 */
export function readFileLocks(
  proc: ProcLocksFile,
  files: { db: string; shm: string },
  devs?: readonly bigint[],
): FileLocks | null {
  let text = proc.text();
  if (text === null) return null;
  if (devs && !devs.some((d) => text!.includes(devField(d)))) text = '';
  return { db: locksOfPath(text, files.db, 'db'), shm: locksOfPath(text, files.shm, 'shm') };
}

/**
 * The locks held on the file at `file` (a db or -shm path), by any process: null when
 * `/proc/locks` cannot be read (not Linux), an empty `held` when the file does not exist or
 * nothing is locked.
 */
export function readLocks(file: string, kind: 'db' | 'shm', procPath = PROC_LOCKS): LockInfo | null {
  const proc = new ProcLocksFile(procPath);
  try {
    const text = proc.text();
    return text === null ? null : locksOfPath(text, file, kind);
  } finally {
    proc.close();
  }
}
