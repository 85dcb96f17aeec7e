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
   * A new, empty, writable scratch storage near this one (a temporary file in the same
   * directory, or memory), removed when closed. Used to stage a backup. Optional: memory is
   * used when absent.
   */
  scratch?(): Promise<Storage>;
  /** Releases handles. The storage is not used afterwards. */
  close(): Promise<void>;
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
