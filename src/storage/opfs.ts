/**
 * OpfsStorage: a writable Storage in the browser's Origin Private File System, through
 * synchronous access handles (FileSystemSyncAccessHandle, which browsers give to dedicated
 * Workers only). A database written here survives a reload: open the same name again.
 *
 * Each kind is its own OPFS file in the directory (default: the origin's root): `name`,
 * `name-wal`, `name-journal`, `name-shm`, as SQLite names them, so a copy taken out of OPFS
 * with its side files reads as SQLite would read it.
 *
 * A sync access handle locks its file for the whole origin: while this storage has a file
 * open, another tab or worker cannot open it (its open fails BUSY, naming the file), so there
 * is one writer at a time and no torn reads. Handles are opened on first use and kept until
 * `delete` or `close`; reading never creates a file (Storage rule 1), and an absent file is
 * looked up again on each call.
 *
 * Runtime-neutral: it touches only the directory handle it is given (or
 * `navigator.storage.getDirectory()`), never a Node module.
 */
import { ErrorCode, QuireError, misuse } from '../../pager/errors.js';
import { kindSuffix, type FileKind, type FileStat, type Storage } from '../../pager/storage.js';

/** The part of FileSystemSyncAccessHandle quire uses (its methods are synchronous). */
interface SyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

/** The part of FileSystemFileHandle quire uses (absent outside dedicated Workers). */
interface OpfsFileHandle {
  createSyncAccessHandle?(options?: { mode?: 'readwrite' | 'read-only' | 'readwrite-unsafe' }): Promise<SyncAccessHandle>;
}

/** The part of FileSystemDirectoryHandle quire uses. */
export interface OpfsDirectory {
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFileHandle>;
  removeEntry(name: string): Promise<void>;
}

export interface OpfsStorageOptions {
  /** The directory holding the files. Default: the origin's OPFS root. */
  directory?: OpfsDirectory;
  /** Refuse writes (files are opened with mode 'read-only' where the browser has it). Default false. */
  readOnly?: boolean;
}

interface OpenFile {
  handle: SyncAccessHandle;
  /** Changes when the file is deleted and made again (FileStat.ino). */
  generation: number;
}

const errorName = (e: unknown): string => (e && typeof e === 'object' && 'name' in e ? String((e as { name: unknown }).name) : '');

let nextGeneration = 1;

export class OpfsStorage implements Storage {
  readonly label: string;
  readonly id: string;
  readonly readOnly: boolean;
  private readonly dir: OpfsDirectory;
  private readonly name: string;
  private readonly files = new Map<FileKind, Promise<OpenFile | null>>();
  private closed = false;

  private constructor(dir: OpfsDirectory, name: string, readOnly: boolean) {
    this.dir = dir;
    this.name = name;
    this.readOnly = readOnly;
    this.label = name;
    this.id = `opfs:${name}`;
  }

  /**
   * The database called `name` in OPFS (created by the first write when absent). Fails
   * MISUSE for a name with a slash or an empty name, CANTOPEN where there is no OPFS.
   */
  static async open(name: string, options: OpfsStorageOptions = {}): Promise<OpfsStorage> {
    if (typeof name !== 'string' || name === '' || name.includes('/') || name === '.' || name === '..') {
      throw misuse(`an OPFS database name is one file name (no "/"), got ${JSON.stringify(name)}`);
    }
    let dir = options.directory;
    if (!dir) {
      const storage = (globalThis as unknown as { navigator?: { storage?: { getDirectory?: () => Promise<OpfsDirectory> } } }).navigator?.storage;
      if (!storage?.getDirectory) throw new QuireError(ErrorCode.CANTOPEN, 'this runtime has no Origin Private File System (navigator.storage.getDirectory)');
      try {
        dir = await storage.getDirectory();
      } catch (e) {
        throw new QuireError(ErrorCode.CANTOPEN, `opening the Origin Private File System: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    }
    return new OpfsStorage(dir, name, options.readOnly ?? false);
  }

  private fileName(kind: FileKind): string {
    return this.name + kindSuffix(kind);
  }

  private assertOpen(): void {
    if (this.closed) throw new QuireError(ErrorCode.MISUSE, `storage ${this.label} is closed`);
  }

  /** The open handle of `kind`; with `create`, the file is made if absent, else null. */
  private async file(kind: FileKind, create: boolean): Promise<OpenFile | null> {
    this.assertOpen();
    const cached = this.files.get(kind);
    if (cached) {
      const f = await cached;
      if (f || !create) return f;
    }
    const opening = this.openFile(kind, create);
    this.files.set(kind, opening);
    try {
      const f = await opening;
      // An absent file is not remembered: another context may create it.
      if (!f && this.files.get(kind) === opening) this.files.delete(kind);
      return f;
    } catch (e) {
      if (this.files.get(kind) === opening) this.files.delete(kind);
      throw e;
    }
  }

  private async openFile(kind: FileKind, create: boolean): Promise<OpenFile | null> {
    const name = this.fileName(kind);
    let fh: OpfsFileHandle;
    try {
      fh = await this.dir.getFileHandle(name, { create });
    } catch (e) {
      if (!create && (errorName(e) === 'NotFoundError' || errorName(e) === 'TypeMismatchError')) return null;
      throw e;
    }
    if (typeof fh.createSyncAccessHandle !== 'function') {
      throw new QuireError(ErrorCode.CANTOPEN, `${name}: OPFS sync access handles exist only in dedicated Workers (open the database in a Worker)`);
    }
    let handle: SyncAccessHandle;
    try {
      handle = await (this.readOnly ? fh.createSyncAccessHandle({ mode: 'read-only' }) : fh.createSyncAccessHandle());
    } catch (e) {
      if (errorName(e) === 'NoModificationAllowedError' || errorName(e) === 'InvalidStateError') {
        throw new QuireError(ErrorCode.BUSY, `${name} is open in another tab or worker (an OPFS file has one open handle at a time)`, { cause: e });
      }
      throw e;
    }
    if (this.closed) {
      handle.close();
      this.assertOpen();
    }
    return { handle, generation: nextGeneration++ };
  }

  async exists(kind: FileKind): Promise<boolean> {
    return (await this.file(kind, false)) !== null;
  }

  async size(kind: FileKind): Promise<number> {
    return (await this.file(kind, false))?.handle.getSize() ?? 0;
  }

  async stat(kind: FileKind): Promise<FileStat | null> {
    const f = await this.file(kind, false);
    return f ? { size: f.handle.getSize(), ino: f.generation } : null;
  }

  async read(kind: FileKind, offset: number, length: number): Promise<Uint8Array> {
    const f = await this.file(kind, false);
    if (!f || length <= 0) return new Uint8Array(0);
    const n = Math.max(0, Math.min(length, f.handle.getSize() - offset));
    const out = new Uint8Array(n);
    const got = n > 0 ? f.handle.read(out, { at: offset }) : 0;
    return got === n ? out : out.slice(0, got);
  }

  async readInto(kind: FileKind, offset: number, dest: Uint8Array): Promise<number> {
    const f = await this.file(kind, false);
    if (!f || dest.length === 0 || offset >= f.handle.getSize()) return 0;
    return f.handle.read(dest, { at: offset });
  }

  private writable(): void {
    if (this.readOnly) throw new QuireError(ErrorCode.READONLY, `${this.label} was opened read-only`);
  }

  async write(kind: FileKind, offset: number, data: Uint8Array): Promise<void> {
    this.writable();
    const f = (await this.file(kind, true))!;
    let n: number;
    try {
      n = f.handle.write(data, { at: offset });
    } catch (e) {
      if (errorName(e) === 'QuotaExceededError') throw new QuireError(ErrorCode.FULL, `${this.fileName(kind)}: the origin's storage quota is used up`, { cause: e });
      throw e;
    }
    if (n !== data.length) throw new QuireError(ErrorCode.FULL, `${this.fileName(kind)}: wrote ${n} of ${data.length} bytes (is the origin's storage quota used up?)`);
  }

  async truncate(kind: FileKind, size: number): Promise<void> {
    this.writable();
    (await this.file(kind, true))!.handle.truncate(size);
  }

  async sync(kind: FileKind): Promise<void> {
    const f = await this.file(kind, false);
    if (f && !this.readOnly) f.handle.flush();
  }

  async delete(kind: FileKind): Promise<void> {
    this.writable();
    this.assertOpen();
    const open = this.files.get(kind);
    this.files.delete(kind);
    const f = open ? await open.catch(() => null) : null;
    f?.handle.close();
    try {
      await this.dir.removeEntry(this.fileName(kind));
    } catch (e) {
      if (errorName(e) !== 'NotFoundError') throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.files.values()];
    this.files.clear();
    for (const p of open) (await p.catch(() => null))?.handle.close();
  }
}
