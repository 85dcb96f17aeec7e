/**
 * FaultyStorage: a Storage that models what a crash does to files, for crash tests.
 *
 * Every file has a *durable* image (what survives a crash) and a list of *pending* operations
 * since its last sync. `sync(kind)` makes that file's pending operations durable. A crash
 * (`crashImage`) keeps the durable image plus a random subset of the pending operations, in
 * order, with a kept write possibly torn (only some of its 512-byte sectors land). Deleting a
 * file is pending too until the next sync of any file (a directory entry change that was
 * never fsynced may be lost).
 *
 * `failAt` makes the n-th mutating operation (write/truncate/sync/delete, counted from 0)
 * throw, simulating power loss at that instant: the operation itself may be half done.
 * Operations are counted in `ops` so a test can enumerate every crash point of a commit.
 */
import type { FileKind, FileStat, Storage } from '../../pager/storage.js';
import { MemoryStorage } from '../../pager/memory.js';

type Op =
  | { kind: 'write'; offset: number; data: Uint8Array }
  | { kind: 'truncate'; size: number }
  | { kind: 'delete' };

const SECTOR = 512;

export class CrashError extends Error {
  constructor() {
    super('simulated crash');
    this.name = 'CrashError';
  }
}

function apply(img: Uint8Array | null, op: Op, sectors?: (i: number) => boolean): Uint8Array | null {
  if (op.kind === 'delete') return null;
  const cur = img ?? new Uint8Array(0);
  if (op.kind === 'truncate') {
    const out = new Uint8Array(op.size);
    out.set(cur.subarray(0, Math.min(cur.length, op.size)));
    return out;
  }
  const end = op.offset + op.data.length;
  const out = new Uint8Array(Math.max(cur.length, end));
  out.set(cur);
  if (!sectors) out.set(op.data, op.offset);
  else {
    for (let s = 0, i = 0; s < op.data.length; s += SECTOR, i++) {
      if (sectors(i)) out.set(op.data.subarray(s, Math.min(op.data.length, s + SECTOR)), op.offset + s);
    }
  }
  return out;
}

export class FaultyStorage implements Storage {
  readonly label = 'faulty';
  readonly id: string;
  readonly readOnly = false;
  private live: MemoryStorage;
  private durable = new Map<FileKind, Uint8Array | null>();
  private pending = new Map<FileKind, Op[]>();
  /** Mutating operations performed so far. */
  ops = 0;
  /** Throw CrashError at this operation index (the operation may be half done). */
  failAt = -1;
  crashed = false;

  constructor(files: Partial<Record<FileKind, Uint8Array>>) {
    this.live = new MemoryStorage({ ...files, label: 'faulty' });
    this.id = `faulty:${this.live.id}`;
    for (const k of ['db', 'wal', 'journal', 'shm'] as const) this.durable.set(k, files[k] ? files[k]!.slice() : null);
  }

  private tick(kind: FileKind, op: Op): void {
    if (this.crashed) throw new CrashError();
    if (this.ops === this.failAt) {
      this.crashed = true;
      // Half of the operation may have happened: record it as pending, torn.
      (this.pending.get(kind) ?? this.pending.set(kind, []).get(kind)!).push(op);
      this.ops++;
      throw new CrashError();
    }
    this.ops++;
    (this.pending.get(kind) ?? this.pending.set(kind, []).get(kind)!).push(op);
  }

  exists(kind: FileKind): Promise<boolean> {
    return this.live.exists(kind);
  }
  size(kind: FileKind): Promise<number> {
    return this.live.size(kind);
  }
  read(kind: FileKind, offset: number, length: number): Promise<Uint8Array> {
    if (this.crashed) return Promise.reject(new CrashError());
    return this.live.read(kind, offset, length);
  }
  stat(kind: FileKind): Promise<FileStat | null> {
    return this.live.stat(kind);
  }

  async write(kind: FileKind, offset: number, data: Uint8Array): Promise<void> {
    this.tick(kind, { kind: 'write', offset, data: data.slice() });
    await this.live.write(kind, offset, data);
  }
  async truncate(kind: FileKind, size: number): Promise<void> {
    this.tick(kind, { kind: 'truncate', size });
    await this.live.truncate(kind, size);
  }
  async sync(kind: FileKind): Promise<void> {
    if (this.crashed) throw new CrashError();
    if (this.ops === this.failAt) {
      this.crashed = true;
      this.ops++;
      throw new CrashError();
    }
    this.ops++;
    let img = this.durable.get(kind) ?? null;
    for (const op of this.pending.get(kind) ?? []) img = apply(img, op);
    this.durable.set(kind, img);
    this.pending.set(kind, []);
    // Directory changes (deletes) of other files become durable with any fsync here.
    for (const [k, ops] of this.pending) {
      if (k === kind) continue;
      if (ops.length && ops[ops.length - 1].kind === 'delete') {
        this.durable.set(k, null);
        this.pending.set(k, []);
      }
    }
  }
  async delete(kind: FileKind): Promise<void> {
    this.tick(kind, { kind: 'delete' });
    await this.live.delete(kind);
  }
  async close(): Promise<void> {
    await this.live.close();
  }

  /** The files as they are now, with no crash (everything written). */
  current(): Partial<Record<FileKind, Uint8Array>> {
    const out: Partial<Record<FileKind, Uint8Array>> = {};
    for (const k of ['db', 'wal', 'journal', 'shm'] as const) {
      const f = this.live.getFile(k);
      if (f) out[k] = f;
    }
    return out;
  }

  /**
   * The files after a crash now: durable images plus a random subset of pending operations
   * (a kept write may be torn). `random` returns numbers in [0, 1).
   */
  crashImage(random: () => number): Partial<Record<FileKind, Uint8Array>> {
    const out: Partial<Record<FileKind, Uint8Array>> = {};
    for (const k of ['db', 'wal', 'journal', 'shm'] as const) {
      let img = this.durable.get(k) ?? null;
      const ops = this.pending.get(k) ?? [];
      for (const op of ops) {
        const r = random();
        if (r < 0.4) continue; // lost
        if (r < 0.6 && op.kind === 'write') img = apply(img, op, () => random() < 0.5); // torn
        else img = apply(img, op);
      }
      if (img) out[k] = img;
    }
    return out;
  }
}
