/**
 * BlobStorage: a read-only Storage over a Blob (a browser File, a Response's blob, Node's
 * Blob). Runtime-neutral: it uses only the Blob object it is given. Side files (-wal,
 * -journal) may be given as Blobs too, so a database and its WAL picked together in a
 * browser read as SQLite would read them.
 *
 * Reads go through a window: one `slice().arrayBuffer()` of about 1 MiB per file kind, from
 * which page reads are copied (a Blob's bytes cannot change, so the window never goes stale).
 * Chromium pays a fixed cost per arrayBuffer() call: one per page made reads 2-5x slower.
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
  /** Bytes read from the Blob at once (the window page reads are copied from). Default 1 MiB. */
  windowBytes?: number;
}

interface Window {
  start: number;
  bytes: Uint8Array;
}

let nextId = 1;

export class BlobStorage extends ReadOnlyStorage implements Storage {
  readonly label: string;
  readonly id: string;
  private readonly files: Partial<Record<FileKind, Blob>>;
  private closed = false;
  private readonly windowBytes: number;
  private readonly windows: Partial<Record<FileKind, Window>> = {};
  /** Blob reads made (slice().arrayBuffer() calls), for tests and measurements. */
  blobReads = 0;

  constructor(db: Blob, options: BlobStorageOptions = {}) {
    super();
    this.files = { db, wal: options.wal, journal: options.journal };
    this.windowBytes = Math.max(1, Math.floor(options.windowBytes ?? 1 << 20));
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
    const end = Math.min(b.size, offset + length);
    let w = this.windows[kind];
    if (!w || offset < w.start || end > w.start + w.bytes.length) {
      // A new window from `offset`: the next sequential reads come from it.
      const wEnd = Math.min(b.size, Math.max(end, offset + this.windowBytes));
      try {
        this.blobReads++;
        w = { start: offset, bytes: new Uint8Array(await b.slice(offset, wEnd).arrayBuffer()) };
      } catch (e) {
        throw ioerr(`reading ${this.label}`, e);
      }
      if (this.closed) throw new QuireError(ErrorCode.MISUSE, `storage ${this.label} is closed`);
      this.windows[kind] = w;
    }
    // A copy: the caller keeps what read() returns.
    return w.bytes.slice(offset - w.start, end - w.start);
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
    for (const k of Object.keys(this.windows) as FileKind[]) delete this.windows[k];
  }
}
