/**
 * NodeFileStorage: the Storage of a database file on disk (Node only).
 *
 * `db` is the path itself; side files are `path-wal`, `path-journal`, `path-shm`, as SQLite
 * names them. Handles are opened lazily and cached; `exists`, `size` and `stat` re-stat the
 * path and drop a cached handle whose inode no longer matches (a side file that another
 * process deleted and re-created). A read-only storage opens everything with 'r' and never
 * creates, truncates or deletes a file.
 *
 * The system calls are made synchronously (readSync, writeSync, fsyncSync, ...), behind the
 * Storage interface's promises, as better-sqlite3 and node:sqlite make theirs: one call holds
 * the event loop for one read, write or fsync, never longer, and quire's long operations
 * (scans, copies, large transactions) still await between them. Node's promise-based file
 * API costs two thread hand-offs per call, which made a small transaction's handful of
 * calls (header reads, a journal, fsyncs) two to five times slower than SQLite's.
 */
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  readlinkSync,
  realpathSync,
  statSync,
  unlinkSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import path from 'node:path';

/** access(2): false when the calling user lacks the permission (or the file system is read-only). */
function accessible(p: string, mode: number): boolean {
  try {
    accessSync(p, mode);
    return true;
  } catch {
    return false;
  }
}
import { QuireError, ErrorCode } from '../../pager/errors.js';
import { kindSuffix, type FileKind, type FileLocks, type FileStat, type HeldFile, type Storage } from '../../pager/storage.js';
import { ProcLocksFile, devMajorMinor, parseProcLocks, readFileLocks } from './locks.js';

interface Handle {
  fd: number;
  ino: bigint;
  dev: bigint;
  writable: boolean;
  /** Linux: /proc/self/fd/FD's link as the file was opened (see isCurrent), else null. */
  link: string | null;
}

/** Where Linux shows an open descriptor's file: its path, with " (deleted)" once unlinked. */
function fdLink(fd: number): string | null {
  if (process.platform !== 'linux') return null;
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

/** fdLink of a descriptor just opened by its path: null when the file is already gone (or unknown). */
function openedLink(fd: number): string | null {
  const l = fdLink(fd);
  return l === null || l.endsWith(' (deleted)') ? null : l;
}

/**
 * open(2) of a file of the database; the -wal with O_NOATIME where the system has it and allows
 * it (the file's owner): quire reads the WAL's header at the start of every transaction (SQLite
 * reads the -shm), and under relatime the first such read after a commit would update the
 * file's access time, a change to its inode that the next commit's fsync would journal.
 */
function openFile(p: string, kind: FileKind, flags: number, mode?: number): number {
  const noAtime = fsConstants.O_NOATIME;
  if (kind === 'wal' && noAtime !== undefined) {
    try {
      return openSync(p, flags | noAtime, mode);
    } catch (e) {
      // EPERM: not the file's owner (O_NOATIME is the owner's); anything else fails again below.
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    }
  }
  return openSync(p, flags, mode);
}

/**
 * Descriptors of database and -shm files kept open instead of closed, by `dev:ino`.
 *
 * POSIX drops every fcntl lock a process holds on a file when the process closes any
 * descriptor of that file. An SQLite connection in this process (better-sqlite3, node:sqlite)
 * holds such locks: SHARED on the db file while it reads, the dead-man switch and its read mark
 * on the -shm while it is open. Closing quire's own descriptor would drop them, and another
 * process could then checkpoint over pages that connection is reading, or take the -shm for
 * unused and rebuild it under it. (SQLite's unix VFS defers such closes among its own
 * connections; it cannot know of quire's.) So a descriptor of a db or -shm file on which this
 * process holds a lock, or where that cannot be told (no /proc/locks), is parked here, and the
 * next open of the same file takes it back; parked ones of a file are closed once this process
 * holds no lock on it. A look at /proc/locks and the close it allows run on the main thread
 * with no await between them, so no connection on that thread can lock in between.
 */
const parked = new Map<string, Handle[]>();
const ownLocksFile = new ProcLocksFile();

/** This process's POSIX locks, as `major:minor:ino` keys; null when /proc/locks cannot be read. */
function ownLockedFiles(): Set<string> | null {
  const text = ownLocksFile.text();
  if (text === null) return null;
  const out = new Set<string>();
  for (const l of parseProcLocks(text)) if (l.pid === process.pid) out.add(`${l.major}:${l.minor}:${l.ino}`);
  return out;
}

function fileKey(dev: bigint, ino: bigint): string {
  const [major, minor] = devMajorMinor(dev);
  return `${major}:${minor}:${ino}`;
}

/** True / false: this process holds / does not hold a POSIX lock on (dev, ino); null: cannot tell. */
function ownLocks(dev: bigint, ino: bigint): boolean | null {
  return ownLockedFiles()?.has(fileKey(dev, ino)) ?? null;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already unusable: nothing to release
  }
}

/**
 * Closes `h`, or parks it (see `parked`); and closes the parked descriptors of every file on
 * which this process no longer holds a lock (its SQLite connection closed).
 */
function release(h: Handle, kind: FileKind): void {
  if (kind !== 'db' && kind !== 'shm') return closeQuietly(h.fd);
  const locked = ownLockedFiles();
  const key = fileKey(h.dev, h.ino);
  if (locked === null || locked.has(key)) {
    const list = parked.get(key);
    if (list) list.push(h);
    else parked.set(key, [h]);
  } else {
    closeQuietly(h.fd);
  }
  if (locked === null) return;
  for (const [k, list] of parked) {
    if (locked.has(k)) continue;
    for (const p of list) closeQuietly(p.fd);
    parked.delete(k);
  }
}

/** A parked descriptor of the file `st` names, writable if `writable`; removed from the pool. */
function unpark(st: BigIntStats, writable: boolean): Handle | null {
  const key = fileKey(st.dev, st.ino);
  const list = parked.get(key);
  const i = list ? list.findIndex((h) => h.writable || !writable) : -1;
  if (i < 0) return null;
  const [h] = list!.splice(i, 1);
  if (list!.length === 0) parked.delete(key);
  return h;
}

export interface NodeFileStorageOptions {
  /** Refuse writes; open files with 'r'. Default true. */
  readOnly?: boolean;
  /** Create the database file if it does not exist (requires readOnly false). Default false. */
  create?: boolean;
  /** Remove the database file (and side files) when the storage is closed. Default false. */
  deleteOnClose?: boolean;
  /** The name messages use for this file. Default: the path as given. */
  label?: string;
}

export class NodeFileStorage implements Storage {
  label: string;
  readonly id: string;
  readonly readOnly: boolean;
  readonly path: string;
  private handles = new Map<FileKind, Handle>();
  private closed = false;
  private deleteOnClose = false;
  /** A file was created since the directory was last synced. */
  private unsyncedDir = false;
  /** /proc/locks, kept open while the storage is. */
  private readonly procLocks = new ProcLocksFile();
  /**
   * The devices the db file and its -shm live on (the db file's when it existed at open, and
   * its directory's): a look at /proc/locks that finds no lock on them stats neither file.
   */
  private devs: bigint[] = [];

  private constructor(p: string, id: string, readOnly: boolean) {
    this.path = p;
    this.label = p;
    this.id = id;
    this.readOnly = readOnly;
  }

  /**
   * Opens the storage for the database at `p`. Fails with CANTOPEN if the file does not exist
   * (unless `create`: then its directory must exist, and the file is created by the first
   * write), is a directory or cannot be read; with READONLY if writes are wanted (`readOnly:
   * false`) but the file or its directory is not writable by this process.
   */
  static async open(p: string, options: NodeFileStorageOptions = {}): Promise<NodeFileStorage> {
    const readOnly = options.readOnly ?? true;
    const abs = path.resolve(p);
    const dir = path.dirname(abs);
    const st = statSync(abs, { bigint: true, throwIfNoEntry: false });
    if (!st) {
      if (!options.create || readOnly) throw new QuireError(ErrorCode.CANTOPEN, `cannot open ${p}: no such file`);
      const dst = statSync(dir, { throwIfNoEntry: false });
      if (!dst?.isDirectory()) throw new QuireError(ErrorCode.CANTOPEN, `cannot create ${p}: no such directory ${path.dirname(p)}`);
      // The file itself is made by the first write (O_CREAT), so a command that fails before it
      // writes anything leaves no empty file behind.
    } else if (st.isDirectory()) {
      throw new QuireError(ErrorCode.CANTOPEN, `cannot open ${p}: is a directory`);
    } else if (!accessible(abs, fsConstants.R_OK)) {
      throw new QuireError(ErrorCode.CANTOPEN, `cannot open ${p}: permission denied`);
    }
    if (!readOnly) {
      // Refuse up front what a write could not finish: SQLite would fail at the first write
      // ("attempt to write a readonly database"); a commit also needs the directory for its
      // journal or WAL.
      if (st && !accessible(abs, fsConstants.W_OK)) {
        throw new QuireError(ErrorCode.READONLY, `attempt to write a readonly database: ${p} is not writable`);
      }
      if (!accessible(dir, fsConstants.W_OK)) {
        throw new QuireError(ErrorCode.READONLY, `attempt to write a readonly database: the directory of ${p} is not writable (needed for its journal)`);
      }
    }
    let id: string;
    try {
      id = st ? realpathSync(abs) : path.join(realpathSync(dir), path.basename(abs));
    } catch {
      id = abs;
    }
    const storage = new NodeFileStorage(abs, id, readOnly);
    const dirDev = statSync(dir, { bigint: true, throwIfNoEntry: false })?.dev;
    // (Without the directory's device, every look stats both files.)
    if (dirDev !== undefined) storage.devs = [...new Set([st?.dev ?? dirDev, dirDev])];
    storage.deleteOnClose = options.deleteOnClose ?? false;
    if (options.label !== undefined) storage.label = options.label;
    return storage;
  }

  /** A new empty scratch database file in the same directory, deleted when closed. */
  async scratch(): Promise<NodeFileStorage> {
    const name = `${this.path}.quire-scratch-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    // Made at once (not at the first write), so that it is visibly there while it is in use.
    closeSync(openSync(name, 'wx', 0o600));
    return NodeFileStorage.open(name, { readOnly: false, create: true, deleteOnClose: true, label: `the scratch space beside ${this.label}` });
  }

  pathOf(kind: FileKind): string {
    return this.path + kindSuffix(kind);
  }

  private check(): void {
    if (this.closed) throw new QuireError(ErrorCode.MISUSE, `storage ${this.label} is closed`);
  }

  private drop(kind: FileKind): void {
    const h = this.handles.get(kind);
    if (h) {
      this.handles.delete(kind);
      release(h, kind);
    }
  }

  /** Stats the path; drops a cached handle if the file is gone or was replaced. */
  private refresh(kind: FileKind): BigIntStats | null {
    this.check();
    const st = statSync(this.pathOf(kind), { bigint: true, throwIfNoEntry: false });
    if (!st) {
      this.drop(kind);
      return null;
    }
    const h = this.handles.get(kind);
    if (h && (h.ino !== st.ino || h.dev !== st.dev)) this.drop(kind);
    return st;
  }

  private handle(kind: FileKind, forWrite: boolean): Handle | null {
    this.check();
    const h = this.handles.get(kind);
    if (h && (h.writable || !forWrite)) return h;
    if (forWrite && this.readOnly) {
      throw new QuireError(ErrorCode.READONLY, `${this.pathOf(kind)} is opened read-only`);
    }
    if (h) this.drop(kind);
    if (parked.size > 0 && (kind === 'db' || kind === 'shm')) {
      const st = statSync(this.pathOf(kind), { bigint: true, throwIfNoEntry: false });
      const back = st ? unpark(st, forWrite) : null;
      if (back) {
        // A read-only storage never writes through a descriptor another one opened for writing.
        const h = this.readOnly && back.writable ? { ...back, writable: false } : back;
        this.handles.set(kind, h);
        return h;
      }
    }
    let fd: number;
    try {
      if (forWrite) {
        // O_CREAT without O_TRUNC, read/write. A file this creates gets its directory entry
        // synced with its first sync (as SQLite's unix VFS does for a new journal).
        const existed = statSync(this.pathOf(kind), { throwIfNoEntry: false }) !== undefined;
        fd = openFile(this.pathOf(kind), kind, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
        if (!existed) this.unsyncedDir = true;
      } else {
        try {
          fd = openFile(this.pathOf(kind), kind, this.readOnly ? fsConstants.O_RDONLY : fsConstants.O_RDWR);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw e;
          fd = openFile(this.pathOf(kind), kind, fsConstants.O_RDONLY);
          const st = fstatSync(fd, { bigint: true });
          const ro: Handle = { fd, ino: st.ino, dev: st.dev, writable: false, link: openedLink(fd) };
          this.handles.set(kind, ro);
          return ro;
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !forWrite) return null;
      throw e;
    }
    const st = fstatSync(fd, { bigint: true });
    const nh: Handle = { fd, ino: st.ino, dev: st.dev, writable: forWrite || !this.readOnly, link: openedLink(fd) };
    this.handles.set(kind, nh);
    return nh;
  }

  /**
   * Linux: the open handle's file is still the one at its path when /proc/self/fd shows the
   * same link as at its opening (an unlinked file shows " (deleted)", a moved one its new
   * name); a readlink, not a stat (see Storage.isCurrent). Null elsewhere or without a handle.
   */
  isCurrent(kind: FileKind): boolean | null {
    this.check();
    const h = this.handles.get(kind);
    if (h === undefined || h.link === null) return null;
    const now = fdLink(h.fd);
    return now === null ? null : now === h.link;
  }

  async exists(kind: FileKind): Promise<boolean> {
    return this.refresh(kind) !== null;
  }

  async size(kind: FileKind): Promise<number> {
    const st = this.refresh(kind);
    return st ? Number(st.size) : 0;
  }

  async stat(kind: FileKind): Promise<FileStat | null> {
    const st = this.refresh(kind);
    if (!st) return null;
    return {
      size: Number(st.size),
      mtimeMs: Number(st.mtimeNs) / 1e6,
      ctimeMs: Number(st.ctimeNs) / 1e6,
      ino: st.ino,
      dev: st.dev,
    };
  }

  /** Linux only (elsewhere null, as if absent): a file's status-change time at its unlink is what the copier relies on. */
  async hold(kind: FileKind): Promise<HeldFile | null> {
    this.check();
    if (process.platform !== 'linux') return null;
    let fd: number;
    try {
      fd = openSync(this.pathOf(kind), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    let open = true;
    return {
      stat: async () => {
        const st = fstatSync(fd, { bigint: true });
        return { nlink: Number(st.nlink), size: Number(st.size), ctimeMs: Number(st.ctimeNs) / 1e6 };
      },
      read: async (offset, length) => {
        const out = new Uint8Array(length);
        let got = 0;
        while (got < length) {
          const n = readSync(fd, out, got, length - got, offset + got);
          if (n <= 0) break;
          got += n;
        }
        return out.subarray(0, got);
      },
      close: async () => {
        if (open) closeSync(fd);
        open = false;
      },
    };
  }

  /**
   * Whether this process holds a POSIX lock on the db file (an SQLite connection in it does):
   * then nothing may open and close that file by its path (a kernel file copy), which would
   * drop the lock (see `parked`). Null where it cannot be told (no /proc/locks).
   */
  ownLocksOnDb(): boolean | null {
    this.check();
    const st = statSync(this.path, { bigint: true, throwIfNoEntry: false });
    return st ? ownLocks(st.dev, st.ino) : false;
  }

  /** Other processes' SQLite locks on the db file and its -shm, from /proc/locks (null elsewhere). */
  async locks(): Promise<FileLocks | null> {
    this.check();
    return readFileLocks(this.procLocks, { db: this.path, shm: this.pathOf('shm') }, this.devs.length ? this.devs : undefined);
  }

  async read(kind: FileKind, offset: number, length: number): Promise<Uint8Array> {
    const h = this.handle(kind, false);
    if (!h || length <= 0) return new Uint8Array(0);
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const bytesRead = readSync(h.fd, out, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === length ? out : out.subarray(0, got);
  }

  async readInto(kind: FileKind, offset: number, dest: Uint8Array): Promise<number> {
    const h = this.handle(kind, false);
    if (!h) return 0;
    let got = 0;
    while (got < dest.length) {
      const bytesRead = readSync(h.fd, dest, got, dest.length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  }

  async write(kind: FileKind, offset: number, data: Uint8Array): Promise<void> {
    const h = this.handle(kind, true)!;
    let done = 0;
    while (done < data.length) {
      const bytesWritten = writeSync(h.fd, data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  async truncate(kind: FileKind, size: number): Promise<void> {
    const h = this.handle(kind, true)!;
    ftruncateSync(h.fd, size);
  }

  async sync(kind: FileKind): Promise<void> {
    const h = this.handles.get(kind);
    if (h) fsyncSync(h.fd);
    if (this.unsyncedDir) {
      this.unsyncedDir = false;
      let dir = -1;
      try {
        dir = openSync(path.dirname(this.path), 'r');
        fsyncSync(dir);
      } catch {
        // Some filesystems refuse fsync on a directory; the file's own sync still holds.
      } finally {
        if (dir >= 0) closeSync(dir);
      }
    }
  }

  async delete(kind: FileKind): Promise<void> {
    this.check();
    if (this.readOnly) throw new QuireError(ErrorCode.READONLY, `${this.pathOf(kind)} is opened read-only`);
    this.drop(kind);
    try {
      unlinkSync(this.pathOf(kind));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const kind of [...this.handles.keys()]) this.drop(kind);
    this.procLocks.close();
    if (this.deleteOnClose) {
      for (const kind of ['db', 'wal', 'journal', 'shm'] as const) {
        try {
          unlinkSync(this.pathOf(kind));
        } catch {
          // absent already
        }
      }
    }
    this.closed = true;
  }
}
