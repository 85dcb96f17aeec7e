/**
 * FlakyStorage: a storage on files held in memory whose chosen operations fail once, as a
 * transient I/O error would (the operation does nothing; the next one works). Not `inMemory`,
 * so pagers on it spill and journal as they do on files. For the fault tests of the write path.
 */
import { MemoryStorage } from '../../pager/memory.js';
import type { FileKind, Storage } from '../../pager/storage.js';

export class FlakyStorage implements Storage {
  readonly label = 'flaky';
  readonly readOnly = false;
  readonly id: string;
  private readonly live: MemoryStorage;
  /** The next write to this file fails (once). */
  failWrite: FileKind | null = null;
  /** The next sync of this file fails (once). */
  failSync: FileKind | null = null;
  /** Reads of `failReadKind` count down; the one at 0 fails. -1: none fails. */
  failReadIn = -1;
  failReadKind: FileKind = 'wal';

  constructor(files: Partial<Record<FileKind, Uint8Array>>) {
    this.live = new MemoryStorage(files);
    this.id = `flaky:${this.live.id}`;
  }

  exists(k: FileKind) {
    return this.live.exists(k);
  }
  size(k: FileKind) {
    return this.live.size(k);
  }
  async read(k: FileKind, offset: number, length: number) {
    if (k === this.failReadKind && this.failReadIn >= 0 && this.failReadIn-- === 0) throw new Error(`injected read failure on ${k}`);
    return this.live.read(k, offset, length);
  }
  stat(k: FileKind) {
    return this.live.stat(k);
  }
  async write(k: FileKind, offset: number, data: Uint8Array) {
    if (this.failWrite === k) {
      this.failWrite = null;
      throw new Error(`injected write failure on ${k}`);
    }
    return this.live.write(k, offset, data);
  }
  truncate(k: FileKind, size: number) {
    return this.live.truncate(k, size);
  }
  async sync(k: FileKind) {
    if (this.failSync === k) {
      this.failSync = null;
      throw new Error(`injected sync failure on ${k}`);
    }
    return this.live.sync(k);
  }
  delete(k: FileKind) {
    return this.live.delete(k);
  }
  close() {
    return this.live.close();
  }
  /** The files as they are now (db, wal, journal). */
  files(): Partial<Record<FileKind, Uint8Array>> {
    const out: Partial<Record<FileKind, Uint8Array>> = {};
    for (const k of ['db', 'wal', 'journal'] as const) {
      const f = this.live.getFile(k);
      if (f) out[k] = f;
    }
    return out;
  }
}
