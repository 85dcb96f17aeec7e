/**
 * BlobStorage: a read-only Storage over a Blob (a browser File, a Response's blob, Node's
 * Blob). Runtime-neutral: it uses only the Blob object it is given. Side files (-wal,
 * -journal) may be given as Blobs too, so a database and its WAL picked together in a
 * browser read as SQLite would read them.
 */
import { ErrorCode, QuireError, ioerr } from '../../pager/errors.js';
import type { FileKind, FileStat, Storage } from '../../pager/storage.js';
import { ReadOnlyStorage } from './read-only.js';

export interface BlobStorageOptions {
  /** The -wal file, if any. */
  wal?: Blob;
  /** The -journal file, if any. */
  journal?: Blob;
  /** Name for messages. Default: the File's name, else "blob". */
  label?: string;
}

let nextId = 1;

export class BlobStorage extends ReadOnlyStorage implements Storage {
  readonly label: string;
  readonly id: string;
  private readonly files: Partial<Record<FileKind, Blob>>;
  private closed = false;

  constructor(db: Blob, options: BlobStorageOptions = {}) {
    super();
    this.files = { db, wal: options.wal, journal: options.journal };
    this.label = options.label ?? ((db as { name?: unknown }).name as string | undefined) ?? 'blob';
    this.id = `blob:${nextId++}`;
  }

  private file(kind: FileKind): Blob | undefined {
    if (this.closed) throw new QuireError(ErrorCode.MISUSE, `storage ${this.label} is closed`);
    return this.files[kind];
  }

  async exists(kind: FileKind): Promise<boolean> {
    return this.file(kind) !== undefined;
  }

  async size(kind: FileKind): Promise<number> {
    return this.file(kind)?.size ?? 0;
  }

  async read(kind: FileKind, offset: number, length: number): Promise<Uint8Array> {
    const b = this.file(kind);
    if (!b || length <= 0 || offset >= b.size) return new Uint8Array(0);
    try {
      return new Uint8Array(await b.slice(offset, Math.min(b.size, offset + length)).arrayBuffer());
    } catch (e) {
      throw ioerr(`reading ${this.label}`, e);
    }
  }

  async stat(kind: FileKind): Promise<FileStat | null> {
    const b = this.file(kind);
    if (!b) return null;
    const mtime = (b as { lastModified?: unknown }).lastModified;
    return { size: b.size, mtimeMs: typeof mtime === 'number' ? mtime : undefined };
  }

  protected readOnlyReason(): string {
    return `${this.label} is a read-only Blob`;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
