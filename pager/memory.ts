/**
 * MemoryStorage: a Storage held entirely in memory. Runtime-neutral; used for in-memory
 * databases, for copying a file into memory and back, and as the base of the tests' faulty
 * storage. Files grow geometrically so that appends are amortised O(1).
 */
import { QuireError, ErrorCode } from './errors.js';
import type { FileKind, FileStat, Storage } from './storage.js';

class MemFile {
  buf: Uint8Array = new Uint8Array(0);
  size = 0;
  mtimeMs = 0;
  ino: number;
  constructor(ino: number) {
    this.ino = ino;
  }

  ensure(n: number): void {
    if (n <= this.buf.length) return;
    let cap = Math.max(4096, this.buf.length);
    while (cap < n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.size));
    this.buf = next;
  }
}

let nextId = 1;
let nextIno = 1;

export interface MemoryStorageOptions {
  /** Initial contents of the database file (copied). Default: empty (a new database). */
  db?: Uint8Array;
  /** Initial contents of side files (copied). */
  wal?: Uint8Array;
  journal?: Uint8Array;
  shm?: Uint8Array;
  /** Refuse writes. Default false. */
  readOnly?: boolean;
  /** Label for messages. Default "memory". */
  label?: string;
}

export class MemoryStorage implements Storage {
  readonly label: string;
  readonly id: string;
  readonly readOnly: boolean;
  readonly inMemory = true;
  private files = new Map<FileKind, MemFile>();
  private closed = false;

  constructor(options: MemoryStorageOptions = {}) {
    this.label = options.label ?? 'memory';
    this.id = `memory:${nextId++}`;
    this.readOnly = options.readOnly ?? false;
    for (const kind of ['db', 'wal', 'journal', 'shm'] as const) {
      const init = options[kind];
      if (init) this.setFile(kind, init);
    }
  }

  /** Replaces a file's contents directly (test and adapter use; bypasses readOnly). */
  setFile(kind: FileKind, data: Uint8Array): void {
    const f = new MemFile(nextIno++);
    f.ensure(data.length);
    f.buf.set(data);
    f.size = data.length;
    f.mtimeMs = Date.now();
    this.files.set(kind, f);
  }

  /** A copy of a file's current contents, or null if it does not exist. */
  getFile(kind: FileKind): Uint8Array | null {
    const f = this.files.get(kind);
    return f ? f.buf.slice(0, f.size) : null;
  }

  private check(): void {
    if (this.closed) throw new QuireError(ErrorCode.MISUSE, `storage ${this.label} is closed`);
  }

  private writable(kind: FileKind): MemFile {
    this.check();
    if (this.readOnly) throw new QuireError(ErrorCode.READONLY, `storage ${this.label} is read-only`);
    let f = this.files.get(kind);
    if (!f) {
      f = new MemFile(nextIno++);
      this.files.set(kind, f);
    }
    return f;
  }

  async exists(kind: FileKind): Promise<boolean> {
    this.check();
    return this.files.has(kind);
  }

  async size(kind: FileKind): Promise<number> {
    this.check();
    return this.files.get(kind)?.size ?? 0;
  }

  async read(kind: FileKind, offset: number, length: number): Promise<Uint8Array> {
    this.check();
    const f = this.files.get(kind);
    if (!f || offset >= f.size || length <= 0) return new Uint8Array(0);
    return f.buf.slice(offset, Math.min(f.size, offset + length));
  }

  async readInto(kind: FileKind, offset: number, dest: Uint8Array): Promise<number> {
    this.check();
    const f = this.files.get(kind);
    if (!f || offset >= f.size) return 0;
    const n = Math.min(dest.length, f.size - offset);
    dest.set(f.buf.subarray(offset, offset + n));
    return n;
  }

  async write(kind: FileKind, offset: number, data: Uint8Array): Promise<void> {
    const f = this.writable(kind);
    const end = offset + data.length;
    f.ensure(end);
    if (offset > f.size) f.buf.fill(0, f.size, offset);
    f.buf.set(data, offset);
    if (end > f.size) f.size = end;
    f.mtimeMs = Date.now();
  }

  async truncate(kind: FileKind, size: number): Promise<void> {
    const f = this.writable(kind);
    if (size > f.size) {
      f.ensure(size);
      f.buf.fill(0, f.size, size);
    }
    f.size = size;
    f.mtimeMs = Date.now();
  }

  async sync(_kind: FileKind): Promise<void> {
    this.check();
  }

  async delete(kind: FileKind): Promise<void> {
    this.check();
    if (this.readOnly) throw new QuireError(ErrorCode.READONLY, `storage ${this.label} is read-only`);
    this.files.delete(kind);
  }

  async stat(kind: FileKind): Promise<FileStat | null> {
    this.check();
    const f = this.files.get(kind);
    return f ? { size: f.size, mtimeMs: f.mtimeMs, ino: f.ino } : null;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
