/**
 * The lock-byte page (the page holding byte offset 2^30, where SQLite's file locks live) is
 * never written by a commit, and never journaled: SQLite's playback stops at a journal record
 * with that page number, so a record for it would leave every later original unrestored.
 *
 * A database past 1 GiB is simulated by a sparse storage: it keeps only the first bytes of
 * each file and records where every write went.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Pager } from '../pager/pager.js';
import { get32, put32 } from '../pager/bytes.js';
import { JOURNAL_SECTOR_SIZE } from '../pager/journal.js';
import { lockBytePageFor } from '../pager/source.js';
import type { FileKind, Storage } from '../pager/storage.js';
import { tempDir } from './util/tmp.js';

const PS = 65536;
const LOCK_BYTE = lockBytePageFor(PS);
/** Bytes of each file the sparse storage keeps; the rest reads as zeros. */
const KEPT = 4 * PS;

let nextId = 0;

/** Files of any size that keep only their first KEPT bytes; every write is recorded. */
class SparseStorage implements Storage {
  readonly label = 'sparse';
  readonly id = `sparse:${nextId++}`;
  readonly readOnly = false;
  private head = new Map<FileKind, Uint8Array>();
  private sizes = new Map<FileKind, number>();
  /** Every write: file, offset, length. */
  readonly writes: Array<{ kind: FileKind; offset: number; length: number }> = [];
  /** The page numbers of the journal records written (sector-aligned segment after the header). */
  readonly journaledPgnos: number[] = [];

  constructor(db: Uint8Array, dbSize: number) {
    this.put('db', 0, db);
    this.sizes.set('db', dbSize);
  }

  private put(kind: FileKind, offset: number, data: Uint8Array): void {
    let h = this.head.get(kind);
    if (!h) this.head.set(kind, (h = new Uint8Array(KEPT)));
    if (offset < KEPT) h.set(data.subarray(0, KEPT - offset), offset);
    this.sizes.set(kind, Math.max(this.sizes.get(kind) ?? 0, offset + data.length));
  }

  async exists(kind: FileKind): Promise<boolean> {
    return this.sizes.has(kind);
  }
  async size(kind: FileKind): Promise<number> {
    return this.sizes.get(kind) ?? 0;
  }
  async read(kind: FileKind, offset: number, length: number): Promise<Uint8Array> {
    const n = Math.max(0, Math.min(length, (this.sizes.get(kind) ?? 0) - offset));
    const out = new Uint8Array(n);
    const h = this.head.get(kind);
    if (h && offset < KEPT) out.set(h.subarray(offset, Math.min(KEPT, offset + n)));
    return out;
  }
  async write(kind: FileKind, offset: number, data: Uint8Array): Promise<void> {
    this.writes.push({ kind, offset, length: data.length });
    if (kind === 'journal' && offset >= JOURNAL_SECTOR_SIZE) {
      for (let r = 0; r < data.length; r += 8 + PS) this.journaledPgnos.push(get32(data, r));
    }
    this.put(kind, offset, data);
  }
  async truncate(kind: FileKind, size: number): Promise<void> {
    this.writes.push({ kind, offset: size, length: 0 });
    this.sizes.set(kind, size);
    const h = this.head.get(kind);
    if (h && size < KEPT) h.fill(0, size);
  }
  async sync(): Promise<void> {}
  async delete(kind: FileKind): Promise<void> {
    this.sizes.delete(kind);
    this.head.delete(kind);
  }
  async close(): Promise<void> {}

  /** Writes to the db file that touch the lock-byte page. */
  lockByteWrites(): number {
    const lo = (LOCK_BYTE - 1) * PS;
    return this.writes.filter((w) => w.kind === 'db' && w.length > 0 && w.offset < lo + PS && w.offset + w.length > lo).length;
  }
}

/** Page 1 of a database with 64 KiB pages made by SQLite, claiming `pageCount` pages. */
function page1(pageCount: number): Uint8Array {
  const f = path.join(tempDir(), 'p1.db');
  const db = new BetterSqlite(f);
  db.pragma('page_size = 65536');
  db.exec('CREATE TABLE t(x)');
  db.close();
  const p = new Uint8Array(readFileSync(f)).slice(0, PS);
  put32(p, 28, pageCount);
  return p;
}

describe('the lock-byte page in a commit', () => {
  const big = LOCK_BYTE + 5;

  it('a transaction that shrinks a database past 1 GiB journals every page it drops but the lock-byte page', async () => {
    const st = new SparseStorage(page1(big), big * PS);
    const p = await Pager.open(st, { readOnly: false });
    expect(p.pageCount).toBe(big);
    const t = await p.beginWrite();
    t.setPageCount(100);
    await t.commit();
    expect(p.pageCount).toBe(100);
    expect(await st.size('db')).toBe(100 * PS);
    // Page 1 and every dropped page, in order, except the lock-byte page.
    const want = [1];
    for (let q = 101; q <= big; q++) if (q !== LOCK_BYTE) want.push(q);
    expect(st.journaledPgnos).toEqual(want);
    expect(st.lockByteWrites()).toBe(0);
    await p.close();
  });

  it('a backup destination written past 1 GiB skips the lock-byte page', async () => {
    const st = new SparseStorage(new Uint8Array(0), 0);
    const p = await Pager.open(st, { readOnly: false });
    const first = page1(big);
    let zeros = new Uint8Array(0);
    const runs: Array<[number, number]> = [];
    await p.replaceAll(PS, big, async (from, count) => {
      runs.push([from, count]);
      if (zeros.length < count * PS) zeros = new Uint8Array(count * PS);
      if (from !== 1) return zeros.subarray(0, count * PS);
      const b = new Uint8Array(count * PS);
      b.set(first);
      return b;
    });
    // Every page was asked for, and every one but the lock-byte page was written.
    expect(runs.reduce((n, [, c]) => n + c, 0)).toBe(big);
    expect(st.lockByteWrites()).toBe(0);
    const written = st.writes.filter((w) => w.kind === 'db').reduce((n, w) => n + w.length, 0);
    expect(written).toBe((big - 1) * PS);
    expect(await st.size('db')).toBe(big * PS);
    expect(p.pageCount).toBe(big);
    await p.close();
  });
});
