/**
 * The storage interface: quire's VFS.
 *
 * A Storage holds one database and its side files, addressed by kind:
 *
 *   kind       SQLite's name     what it is
 *   ---------  ----------------  ---------------------------------------------------------
 *   'db'       main.db           the database file
 *   'wal'      main.db-wal       write-ahead log (WAL mode only)
 *   'journal'  main.db-journal   rollback journal (rollback mode only)
 *   'shm'      main.db-shm       WAL index (a hint only; quire never creates it)
 *
 * Rules every implementation follows (the pager relies on them):
 *
 *  1. Reading never creates anything. `read` of an absent file returns an empty array and
 *     `size` of an absent file is 0. Only `write` and `truncate` create files.
 *  2. `read(kind, offset, length)` returns at most `length` bytes; fewer only at end of file.
 *     The returned array is the caller's to keep (not a view into a buffer that is reused).
 *  3. `exists`, `size` and `stat` look at the file as it is now. An implementation that caches
 *     open handles must re-validate them there (a side file deleted and re-created by another
 *     process is a different file). Reads between two such calls may use the cached handle.
 *  4. `sync(kind)` makes every completed `write`/`truncate` of that file durable. Writes not
 *     followed by a sync may be lost or torn by a crash (the faulty storage in the tests does
 *     exactly that).
 *  5. `delete` of an absent file is not an error.
 *  6. Errors are thrown as anything; the pager wraps them into IOERR naming the file.
 *  7. `write` does not keep `data` once its promise settles (it copies what it needs): the
 *     pager reuses its write buffers.
 *
 * All methods are async: this is the one boundary where quire awaits. The pager reads in
 * large runs so that the await is rare on hot paths.
 */
import { ioerr } from './errors.js';

export type FileKind = 'db' | 'wal' | 'journal' | 'shm';

export const FILE_KINDS: readonly FileKind[] = ['db', 'wal', 'journal', 'shm'];

/** Identity and change stamps of a file, where the runtime can give them. */
export interface FileStat {
  size: number;
  /** Modification time in ms, if known. */
  mtimeMs?: number;
  /** Status-change time in ms, if known. */
  ctimeMs?: number;
  /** Inode number (or another identity that changes when the file is replaced), if known. */
  ino?: number | bigint;
  /** Device number, if known. */
  dev?: number | bigint;
}

/** A file held open by a handle, readable after its name is unlinked (see Storage.hold). */
export interface HeldFile {
  /** Link count (0 once unlinked), size, and status-change time in ms (the unlink's, after it). */
  stat(): Promise<{ nlink: number; size: number; ctimeMs: number }>;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface Storage {
  /** A human-readable name for messages (a path, or "memory"). */
  readonly label: string;
  /**
   * Identity of the underlying database: two storages that reach the same file have the same
   * id (a real path for files). Used for in-process locks and to refuse same-file copies.
   */
  readonly id: string;
  /** True when the storage refuses writes. */
  readonly readOnly: boolean;
  /** True for storages that live only in memory (SQLite's memdb rules apply to them). */
  readonly inMemory?: boolean;

  exists(kind: FileKind): Promise<boolean>;
  size(kind: FileKind): Promise<number>;
  read(kind: FileKind, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Reads into `dest` (up to dest.length bytes) and returns how many bytes were read (fewer
   * only at end of file). Optional: lets bulk readers (the copier) reuse one buffer.
   */
  readInto?(kind: FileKind, offset: number, dest: Uint8Array): Promise<number>;
  write(kind: FileKind, offset: number, data: Uint8Array): Promise<void>;
  truncate(kind: FileKind, size: number): Promise<void>;
  sync(kind: FileKind): Promise<void>;
  delete(kind: FileKind): Promise<void>;
  /** Identity and stamps of a file, or null if it does not exist. Optional. */
  stat?(kind: FileKind): Promise<FileStat | null>;
  /**
   * Whether the file this storage holds open as `kind` is still the one its name leads to
   * (not deleted, replaced or moved since it was opened), told without a stat; null when
   * there is no such handle or it cannot be told this way (then size() or stat() tell). A
   * read through the handle then reads the named file. Optional. (On Linux a stat marks the
   * file's time stamps as seen, so the next write changes them at a finer grain: every
   * commit's fsync then journals the inode, where SQLite, which does not stat its WAL between
   * commits, mostly syncs data only.)
   */
  isCurrent?(kind: FileKind): boolean | null;
  /**
   * A new, empty, writable scratch storage near this one (a temporary file in the same
   * directory, or memory), removed when closed. Used to stage a backup. Optional: memory is
   * used when absent.
   */
  scratch?(): Promise<Storage>;
  /**
   * The SQLite locks held on the db file and on the -shm (by other processes, or by a SQLite
   * connection in this one: quire takes none), from one look, or null when the runtime cannot
   * tell (then the pager keeps its conservative rules: a journal is hot when active, any -shm
   * means a live WAL connection). Optional. Looking takes no lock, so a process may lock right
   * after the look.
   */
  locks?(): Promise<FileLocks | null>;
  /**
   * Opens the file of `kind` as it is now (null when there is none) and keeps it open whatever
   * becomes of its name, telling its link count and status-change time. Optional: where the
   * runtime has them (Node). The rollback-mode copier reads a finished transaction's journal
   * through it (src/backup/engine.ts).
   */
  hold?(kind: FileKind): Promise<HeldFile | null>;
  /** Releases handles. The storage is not used afterwards. */
  close(): Promise<void>;
}

/**
 * A lock another process holds, by SQLite's name for it. db file: 'shared', 'reserved',
 * 'pending', 'exclusive' (os_unix.c's PENDING, RESERVED and SHARED bytes at 2^30); -shm:
 * 'write', 'checkpoint', 'recover', 'read0'..'read4' (the WAL lock bytes from offset 120) and
 * 'dms' (byte 128, held by every connection that has the -shm open). 'other': a lock on
 * bytes SQLite does not use (some other program's lock).
 */
export interface LockHeld {
  lock:
    | 'shared' | 'reserved' | 'pending' | 'exclusive'
    | 'write' | 'checkpoint' | 'recover' | 'read0' | 'read1' | 'read2' | 'read3' | 'read4' | 'dms'
    | 'other';
  /** The holder's process id (-1 for an open-file-description lock). */
  pid: number;
  /** A write (exclusive) lock rather than a read (shared) one. */
  write: boolean;
  /** Held by this process: a SQLite connection in it (quire itself takes no locks). */
  self?: boolean;
}

/** The locks other processes hold on one file (none: `held` is empty). */
export interface LockInfo {
  kind: 'db' | 'shm';
  held: LockHeld[];
}

/** The locks on a database file and on its -shm, from one look. */
export interface FileLocks {
  db: LockInfo;
  shm: LockInfo;
}

const DB_LEVELS = ['shared', 'reserved', 'pending', 'exclusive'] as const;
export type DbLockLevel = 'none' | (typeof DB_LEVELS)[number];

/** The strongest SQLite lock held on a db file ('exclusive' for a lock SQLite does not take). */
export function dbLockLevel(info: LockInfo): DbLockLevel {
  let level = -1;
  for (const h of info.held) {
    level = Math.max(level, (DB_LEVELS as readonly string[]).indexOf(h.lock === 'other' ? 'exclusive' : h.lock));
  }
  return level < 0 ? 'none' : DB_LEVELS[level];
}

const DB_MEANING: Record<string, string> = {
  shared: 'a read transaction is open',
  reserved: 'a write transaction is in progress',
  pending: 'a write transaction is waiting to commit',
  exclusive: 'a transaction is writing the database file',
  other: 'a lock outside SQLite\'s lock bytes',
};

/**
 * Names what other processes hold, for a BUSY message: "a SQLite process (pid 1234) holds
 * RESERVED on app.db (a write transaction is in progress)". Empty when nothing is held.
 */
export function describeLocks(info: LockInfo, fileLabel: string): string {
  const byPid = new Map<number, LockHeld[]>();
  for (const h of info.held) byPid.set(h.pid, [...(byPid.get(h.pid) ?? []), h]);
  const parts: string[] = [];
  for (const [pid, hs] of byPid) {
    const who = hs[0].self ? 'a SQLite connection in this process' : pid > 0 ? `a SQLite process (pid ${pid})` : 'a SQLite process';
    if (info.kind === 'db') {
      const level = dbLockLevel({ kind: 'db', held: hs });
      const what = hs.some((h) => h.lock === 'other') ? 'a lock' : level.toUpperCase();
      parts.push(`${who} holds ${what} on ${fileLabel} (${DB_MEANING[hs.some((h) => h.lock === 'other') ? 'other' : level]})`);
    } else {
      const names = [...new Set(hs.map((h) => h.lock))];
      const doing = names.includes('write')
        ? 'is writing'
        : names.includes('checkpoint')
          ? 'is checkpointing'
          : names.includes('recover')
            ? 'is rebuilding the WAL index'
            : names.some((n) => n.startsWith('read'))
              ? 'is reading'
              : names.includes('dms')
                ? 'has the WAL database open'
                : 'holds a lock outside SQLite\'s lock bytes on';
      const on = doing.endsWith(' on') ? ' ' : ' through ';
      parts.push(`${who} ${doing}${on}${fileLabel}-shm (locks: ${names.join(', ')})`);
    }
  }
  return parts.join('; ');
}

/** Suffix SQLite appends to the database path for each kind. */
export function kindSuffix(kind: FileKind): string {
  return kind === 'db' ? '' : kind === 'wal' ? '-wal' : kind === 'journal' ? '-journal' : '-shm';
}

/**
 * Reads exactly `length` bytes of a file from `offset`: what lies past the end of the file
 * reads as zeros (as SQLite reads a page beyond the end). Storage errors propagate.
 */
export async function readExactly(storage: Storage, kind: FileKind, offset: number, length: number): Promise<Uint8Array> {
  const b = await storage.read(kind, offset, length);
  if (b.length === length) return b;
  const full = new Uint8Array(length);
  full.set(b);
  return full;
}

/**
 * What other processes hold on the db file and its -shm, as a message ("a SQLite process
 * (pid 12) holds RESERVED on app.db (...)"): '' when nothing is held, null when the storage
 * cannot tell (Storage.locks absent or unknown). The look takes no lock: a process may lock
 * right after it (the remaining race; see the README).
 */
export async function lockConflict(st: Storage): Promise<string | null> {
  if (!st.locks) return null;
  try {
    const locks = await st.locks();
    if (!locks) return null;
    if (locks.db.held.length === 0 && locks.shm.held.length === 0) return '';
    return [describeLocks(locks.db, st.label), describeLocks(locks.shm, st.label)].filter((m) => m !== '').join('; ');
  } catch (e) {
    throw ioerr(`reading the locks on ${st.label}`, e);
  }
}
