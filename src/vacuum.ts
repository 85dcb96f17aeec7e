/**
 * VACUUM: rebuilds a database compactly, as SQLite's VACUUM does — every b-tree rewritten in
 * key order into a fresh file (no free pages; pages packed as SQLite's VACUUM packs them, so
 * the page count is SQLite's: btree/bulk.ts), then swapped in atomically. Memory stays flat:
 * the builder keeps a few pages per tree level, the scratch image writes its pages out every
 * 4 MiB (SCRATCH_HELD_BYTES), and the source is read page by page.
 *
 * The copy is b-tree level: table rows are copied as (rowid, record bytes) and index entries
 * as records, byte for byte, so it needs no SQL evaluation and works for every table (CHECK
 * constraints, generated columns, triggers and expression indexes included). sqlite_schema
 * rows keep their rowids and text; only root pages change. Views, triggers and virtual tables
 * are schema rows only and are copied as such. Header fields SQLite's VACUUM keeps (user
 * version, application id, default cache size, auto-vacuum mode, encoding, reserved bytes,
 * page size, journal mode) are kept; the change counter and schema cookie move on.
 *
 * The new image is built in scratch storage beside the database (memory for a memory
 * database), without a pager (ScratchImage), then written over the original in one journaled
 * transaction (WriteTxn.replaceAll). That write transaction is begun before the build and the
 * image is built from its snapshot, so other writers wait for the whole VACUUM (as SQLite's
 * VACUUM holds its write lock) and no commit can slip in between the build and the swap-in.
 *
 * Speed: the source b-trees are walked page by page (no cursor), cells whose payload is all
 * local are copied from the source pages as they lie (no decode), index order is checked on
 * the record bytes (compareRecords of btree/rawrecord.ts), and the scratch pages are written in page
 * order in runs.
 */
import { ErrorCode, QuireError, corrupt, misuse } from '../pager/errors.js';
import { newHeader, type DbHeader, type Encoding } from '../pager/header.js';
import { MemoryStorage } from '../pager/memory.js';
import { readFilled, type Snapshot } from '../pager/pager.js';
import { lockBytePageFor, type PageSource, type Pgno, type WritablePageSource } from '../pager/source.js';
import type { Storage } from '../pager/storage.js';
import { applyDestinationHeader } from './backup/sink.js';
import { get16, get32 } from '../pager/bytes.js';
import { newCellInfo, parseCell, type CellInfo } from '../btree/cell.js';
import { MAX_DEPTH } from '../btree/cursor.js';
import { readPayload } from '../btree/overflow.js';
import {
  btPageView,
  cellOffset,
  PTF_INDEX_INTERIOR,
  PTF_INDEX_LEAF,
  PTF_TABLE_INTERIOR,
  PTF_TABLE_LEAF,
  type BtPage,
} from '../btree/page.js';
import { encodeRecord } from '../btree/record.js';
import { BulkLoad, entryOrder } from '../btree/bulk.js';
import { ReadAhead } from '../btree/passsource.js';
import { BtreeWriter, initializeDatabase } from '../btree/write.js';
import { nameKey, readCatalog } from './catalog.js';
import type { Database } from './database.js';
import { eventLoopTurner } from './util/yield.js';

export interface VacuumResult {
  pagesBefore: number;
  pagesAfter: number;
}

export interface VacuumOptions {
  /**
   * Cancels the rebuild (ABORT) while the new image is being built; the database is left as
   * it was and the scratch file removed. Once the swap-in commit has started it completes.
   */
  signal?: AbortSignal;
  /** @internal Bytes of scratch pages held before they are written (default SCRATCH_HELD_BYTES; tests). */
  segmentBytes?: number;
}

/** Rebuilds `db` in place (it must be writable). */
export async function vacuumDatabase(db: Database, options: VacuumOptions = {}): Promise<VacuumResult> {
  db.assertOpen();
  if (db.readOnly) throw new QuireError(ErrorCode.READONLY, `attempt to write a readonly database (${db.name})`);
  if (db.inTransaction) throw misuse('cannot VACUUM from within a transaction');
  // The write transaction is taken first and held through the build, as SQLite's VACUUM holds
  // its write lock: the image is built from the transaction's own snapshot, so no commit (by
  // another connection of this process, which waits for the lock) can land between the build
  // and the swap-in and be overwritten by it.
  const txn = await db.pager.beginWrite();
  let scratch: Storage | null = null;
  try {
    scratch = db.storage.scratch ? await db.storage.scratch() : new MemoryStorage({ label: 'vacuum' });
    const out = scratch;
    const built = await buildCompact(txn.base, out, options.signal, options.segmentBytes ?? SCRATCH_HELD_BYTES);
    if (!built) return { pagesBefore: 0, pagesAfter: 0 };
    checkAbort(options.signal);
    const { pageSize, pageCount, pagesBefore, walMode } = built;
    // The walk's read-ahead buffer, free now (the build is over).
    let runBuf = built.buffer;
    await txn.replaceAll(
      pageSize,
      pageCount,
      // One buffer for every run: each is written before the next is read.
      async (first, count) => {
        if (runBuf.length < count * pageSize) runBuf = new Uint8Array(count * pageSize);
        const bytes = runBuf.subarray(0, count * pageSize);
        await readFilled(out, 'db', (first - 1) * pageSize, bytes);
        return bytes;
      },
      (page1, old) => applyDestinationHeader(page1, old, pageCount, { journalMode: walMode ? 'wal' : 'rollback', raw: false }),
    );
    return { pagesBefore, pagesAfter: pageCount };
  } finally {
    // A no-op once replaceAll has ended the transaction (committed or not).
    await txn.rollback();
    await scratch?.close();
  }
}

/** Writes the compact image of `db` into `out`; null for an empty database. */
function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new QuireError(ErrorCode.ABORT, `VACUUM interrupted (${String(signal.reason)}); the database is unchanged`);
}

/** With a signal: checks it after each entry, turning the event loop now and then so it can fire. */
function abortCheck(signal: AbortSignal | undefined): () => Promise<void> | undefined {
  if (!signal) return () => undefined;
  const turn = eventLoopTurner();
  return () => {
    checkAbort(signal);
    return turn();
  };
}

async function buildCompact(
  snap: Snapshot,
  out: Storage,
  signal: AbortSignal | undefined,
  heldBytes: number,
): Promise<{ pageSize: number; pageCount: number; pagesBefore: number; walMode: boolean; buffer: Uint8Array } | null> {
  const h = snap.header;
  if (!h || snap.pageCount === 0) return null;
  const img = new ScratchImage(out, snap, h.pageSize, heldBytes);
  const fresh: DbHeader = {
    ...newHeader({
      pageSize: h.pageSize,
      reservedBytes: h.reservedBytes,
      encoding: h.encoding,
      autoVacuum: h.autoVacuumTop === 0 ? 'none' : h.incrementalVacuum ? 'incremental' : 'full',
    }),
    schemaFormat: h.schemaFormat || 4,
    userVersion: h.userVersion,
    applicationId: h.applicationId,
    defaultCacheSize: h.defaultCacheSize,
    rawEncoding: h.rawEncoding,
  };
  await initializeDatabase(img, fresh);
  const check = abortCheck(signal);
  // Between entries: write out the scratch pages held, and check for an abort.
  const step = (): Promise<void> | undefined => (img.full ? img.flush().then(check) : check());
  const boolTypes = (h.schemaFormat || 4) >= 4;
  const catalog = await readCatalog(snap, h.schemaCookie, h.schemaFormat || 4);
  // One reader for every walk: its buffers serve them all, then the swap-in's runs.
  const reader = new PageReader(snap);
  for (const r of catalog.rows) {
    let root = r.rootPage;
    if ((r.type === 'table' || r.type === 'index') && r.rootPage > 0) {
      const isIndex = r.type === 'index' || (await isIndexTree(snap, r.rootPage));
      root = await new BtreeWriter(img).createBtree(isIndex ? 'index' : 'table');
      if (isIndex) {
        // Entries go in in their own order, so the writer must compare them the same way.
        const info = r.type === 'index' ? catalog.indexes.get(nameKey(r.name)) : catalog.tables.get(nameKey(r.name));
        const why = !info ? 'not in the catalog' : info.error;
        if (!info || why) throw new QuireError(ErrorCode.SCHEMA, `cannot VACUUM: ${r.type} ${r.name}: ${why}`);
        const load = new BulkLoad(img, root, 'index', entryOrder(info.keyInfo, snap.encoding));
        const copy: Visit = (p, c) => {
          const start = localCellStart(p, c);
          if (start >= 0) return load.appendEntryCell(p.data, start, c.payloadOffset + c.payloadSize);
          return then(readPayload(snap, p.pgno, p.data, c), (v) => load.appendEntry(v));
        };
        reader.kept = (into) => load.keptBuffers(into);
        await walkEntries(reader, r.rootPage, true, copy, step);
        await load.finish();
      } else {
        const load = new BulkLoad(img, root, 'table');
        const copy: Visit = (p, c) => {
          const end = c.payloadOffset + c.payloadSize;
          if (c.overflow === 0 && end - c.offset >= 4) return load.appendRowBytes(c.rowid, p.data, c.offset, end);
          const rowid = c.rowid;
          return then(readPayload(snap, p.pgno, p.data, c), (v) => load.appendRow(rowid, v));
        };
        reader.kept = NOTHING_KEPT;
        await walkEntries(reader, r.rootPage, false, copy, step);
        await load.finish();
      }
    }
    const rec = encodeRecord([r.type, r.name, r.tblName, root, r.sql], snap.encoding, { boolTypes });
    await new BtreeWriter(img).insert(1, r.rowid, rec);
  }
  await new BtreeWriter(img).beforeCommit();
  await img.finish();
  return { pageSize: h.pageSize, pageCount: img.pageCount, pagesBefore: snap.pageCount, walMode: h.readVersion === 2, buffer: reader.done() };
}

/**
 * Where the index entry's leaf cell, as it would be written to a page of the same geometry,
 * starts on the source page (its bytes without the left child of an interior cell, up to the
 * end of its payload), when its payload is all on the page and the cell needs no padding;
 * else -1 (copy the payload).
 */
function localCellStart(p: BtPage, c: CellInfo): number {
  if (c.overflow !== 0) return -1;
  const start = p.leaf ? c.offset : c.offset + 4;
  return c.payloadOffset + c.payloadSize - start < 4 ? -1 : start;
}

function then<T>(v: T | Promise<T>, f: (v: T) => Promise<void> | undefined): Promise<void> | undefined {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** Called on each entry with its page and parsed cell (valid only during the call). */
type Visit = (p: BtPage, c: CellInfo) => Promise<void> | undefined;

/**
 * Page `pgno` as a page of the b-tree kind the walk expects, checked as parsePage checks it
 * (type, content area, cell pointers) but not cached: the walk visits each page once.
 */
function walkPage(data: Uint8Array, pgno: Pgno, U: number, index: boolean): BtPage {
  const type = data[pgno === 1 ? 100 : 0];
  const leaf = type === (index ? PTF_INDEX_LEAF : PTF_TABLE_LEAF);
  if (!leaf && type !== (index ? PTF_INDEX_INTERIOR : PTF_TABLE_INTERIOR)) {
    throw corrupt(pgno, `page type ${type} in ${index ? 'an index' : 'a table'} b-tree`);
  }
  if (data.length < U) throw corrupt(pgno, `page image is ${data.length} bytes, expected at least ${U}`);
  const p = btPageView(pgno, data, type, leaf, !index, U);
  const ptrEnd = p.cellPtr + 2 * p.nCell;
  if (ptrEnd > p.contentStart || p.contentStart > U) throw corrupt(pgno, `cell content area at ${p.contentStart} is outside [${ptrEnd}, ${U}]`);
  for (let q = p.cellPtr; q < ptrEnd; q += 2) {
    const off = get16(data, q);
    if (off < p.contentStart || off >= U) throw corrupt(pgno, `cell pointer ${off} is outside the content area`);
  }
  return p;
}

/**
 * Visits every entry of the b-tree rooted at `root` in key order (for an index b-tree the
 * interior cells too, each between its left subtree and the next), page by page without a
 * cursor; `step` runs after each entry. Pages are checked as the cursor checks them (type,
 * cell pointers, depth at most MAX_DEPTH); a page already on the path is CORRUPT.
 */
async function walkEntries(src: PageReader, root: Pgno, index: boolean, visit: Visit, step: () => Promise<void> | undefined): Promise<void> {
  const U = src.snap.usableSize;
  const c = newCellInfo();
  const path: BtPage[] = [];
  const at: number[] = [];
  let next: Pgno = root;
  for (;;) {
    if (next !== 0) {
      if (path.length >= MAX_DEPTH) throw corrupt(next, `b-tree deeper than ${MAX_DEPTH} levels`);
      for (const q of path) if (q.pgno === next) throw corrupt(next, 'page is its own ancestor (a cycle in the b-tree)');
      const data = await src.get(next);
      const p = walkPage(data, next, U, index);
      if (!p.leaf) {
        path.push(p);
        at.push(0);
        next = p.nCell > 0 ? get32(data, cellOffset(p, 0)) : p.rightChild;
        continue;
      }
      for (let i = 0; i < p.nCell; i++) {
        const done = visit(p, parseCell(p, i, c));
        if (done) await done;
        const s = step();
        if (s) await s;
      }
      src.release(data);
      next = 0;
    }
    const d = path.length - 1;
    if (d < 0) return;
    const p = path[d];
    const i = at[d];
    if (i >= p.nCell) {
      path.pop();
      at.pop();
      src.release(p.data);
      continue;
    }
    if (index) {
      const done = visit(p, parseCell(p, i, c));
      if (done) await done;
      const s = step();
      if (s) await s;
    }
    at[d] = i + 1;
    next = i + 1 < p.nCell ? get32(p.data, cellOffset(p, i + 1)) : p.rightChild;
  }
}

const NOTHING_KEPT = (): void => undefined;

/**
 * The walk's page reads, each page once: runs read ahead from the snapshot into one buffer
 * as the walk goes sequential (ReadAhead: Snapshot.readRun, past the page cache; the window
 * doubles up to 1 MiB while pages come in order, one page after a jump), each page copied into
 * a buffer of its own from a pool. The walk gives a page back when done with it; the buffer is
 * reused once no entry the builder keeps (`kept`: the last index record, which the next one is
 * compared with) lies in it. So no garbage per page, whatever the file size.
 */
class PageReader {
  readonly snap: Snapshot;
  /** What the builder of the current walk keeps. */
  kept: (into: Set<ArrayBufferLike>) => void = NOTHING_KEPT;
  private readonly ps: number;
  private readonly ahead: ReadAhead;
  private readonly free: Uint8Array[] = [];
  private waiting: Uint8Array[] = [];
  private readonly keptNow = new Set<ArrayBufferLike>();
  private lookAt = 8;

  constructor(snap: Snapshot) {
    this.snap = snap;
    this.ps = snap.pageSize;
    this.ahead = new ReadAhead(snap);
  }

  async get(pgno: Pgno): Promise<Uint8Array> {
    if (!this.ahead.has(pgno)) await this.ahead.load(pgno);
    const buf = this.take();
    buf.set(this.ahead.view(pgno));
    return buf;
  }

  /** Ends the reading: the pool is dropped; returns the run buffer for other use. */
  done(): Uint8Array {
    this.free.length = 0;
    this.waiting.length = 0;
    this.ahead.clear();
    return this.ahead.buf;
  }

  /** The walk is done with `page` (a buffer get returned). */
  release(page: Uint8Array): void {
    this.waiting.push(page);
  }

  private take(): Uint8Array {
    // A look at what the builder keeps (at most one buffer) is taken when a few pages wait.
    if (this.free.length === 0 && this.waiting.length >= this.lookAt) {
      const kept = this.keptNow;
      this.kept(kept);
      const still: Uint8Array[] = [];
      for (const b of this.waiting) (kept.has(b.buffer) ? still : this.free).push(b);
      this.waiting = still;
      this.lookAt = 2 * still.length + 8;
      kept.clear();
    }
    return this.free.pop() ?? new Uint8Array(this.ps);
  }
}

/** Bytes of scratch pages held in memory before they are written out (SCRATCH_HELD_BYTES). */
const SCRATCH_HELD_BYTES = 1 << 20;

/** Bytes per write of consecutive scratch pages. */
const SCRATCH_RUN_BYTES = 1 << 20;

/**
 * The new image, built in the scratch storage without a pager: no journal, no transaction,
 * no cache (the scratch file is thrown away whatever goes wrong, and the b-tree builder
 * writes each page about once). Pages touched since the last flush are held in memory, at
 * most about `heldBytes` of them between entries: {@link flush} writes them in page order,
 * consecutive pages in one write, and keeps their buffers for the next pages. A page not
 * held is read back from the file (zeros past what was written).
 */
class ScratchImage implements WritablePageSource {
  readonly pageSize: number;
  readonly usableSize: number;
  readonly encoding: Encoding;
  readonly autoVacuum: boolean;
  readonly lockBytePage: Pgno;
  pageCount = 0;
  private readonly out: Storage;
  private readonly held: HeldPages;
  private readonly spare: Uint8Array[] = [];
  private readonly limit: number;
  /** Pages the file holds (its size in pages, holes included). */
  private filePages = 0;
  private runBuf: Uint8Array | null = null;

  constructor(out: Storage, like: PageSource, pageSize: number, heldBytes: number) {
    this.out = out;
    this.pageSize = pageSize;
    this.usableSize = like.usableSize;
    this.encoding = like.encoding;
    this.autoVacuum = like.autoVacuum;
    this.lockBytePage = lockBytePageFor(pageSize);
    this.limit = Math.max(16, Math.floor(heldBytes / pageSize));
    this.held = new HeldPages(this.limit);
  }

  /** True when the pages held should be written out (at the next point between entries). */
  get full(): boolean {
    return this.held.size >= this.limit;
  }

  page(pgno: Pgno): Uint8Array | Promise<Uint8Array> {
    return this.writable(pgno);
  }

  writable(pgno: Pgno): Uint8Array | Promise<Uint8Array> {
    const img = this.held.get(pgno);
    if (img !== undefined) return img;
    if (!(pgno >= 1 && pgno <= this.pageCount)) throw corrupt(pgno, `page number out of range (the scratch image has ${this.pageCount} pages)`);
    if (pgno > this.filePages) {
      const buf = this.spare.pop()?.fill(0) ?? new Uint8Array(this.pageSize);
      this.held.set(pgno, buf);
      return buf;
    }
    return this.load(pgno);
  }

  private async load(pgno: Pgno): Promise<Uint8Array> {
    const bytes = await this.out.read('db', (pgno - 1) * this.pageSize, this.pageSize);
    const again = this.held.get(pgno);
    if (again !== undefined) return again;
    const buf = this.spare.pop()?.fill(0) ?? new Uint8Array(this.pageSize);
    buf.set(bytes.subarray(0, this.pageSize));
    this.held.set(pgno, buf);
    return buf;
  }

  setPageCount(n: number): void {
    if (n < this.pageCount) {
      this.held.dropAbove(n, this.spare);
      if (this.filePages > n) this.filePages = n;
    }
    this.pageCount = n;
  }

  /** Writes every page held, in page order (call only where no b-tree operation holds a page). */
  async flush(): Promise<void> {
    const ps = this.pageSize;
    const pgnos = this.held.sorted();
    const maxRun = Math.max(1, Math.floor(SCRATCH_RUN_BYTES / ps));
    for (let i = 0; i < pgnos.length; ) {
      let j = i + 1;
      while (j < pgnos.length && j - i < maxRun && pgnos[j] === pgnos[j - 1] + 1) j++;
      let bytes: Uint8Array;
      if (j - i === 1) bytes = this.held.get(pgnos[i])!;
      else {
        this.runBuf ??= new Uint8Array(maxRun * ps);
        for (let k = i; k < j; k++) this.runBuf.set(this.held.get(pgnos[k])!, (k - i) * ps);
        bytes = this.runBuf.subarray(0, (j - i) * ps);
      }
      await this.out.write('db', (pgnos[i] - 1) * ps, bytes);
      if (pgnos[j - 1] > this.filePages) this.filePages = pgnos[j - 1];
      i = j;
    }
    this.held.clear(this.spare);
  }

  /** Writes everything; the file then holds exactly pageCount pages. */
  async finish(): Promise<void> {
    if (this.pageCount > this.filePages) {
      const last = this.writable(this.pageCount);
      if (last instanceof Promise) await last;
    }
    await this.flush();
    if ((await this.out.size('db')) > this.pageCount * this.pageSize) await this.out.truncate('db', this.pageCount * this.pageSize);
    this.spare.length = 0;
    this.runBuf = null;
  }
}

/**
 * The scratch pages held, by page number: an open-addressing table (slot pgno mod its size,
 * then the next free one) that keeps its arrays from flush to flush. A Map grown to a flush's
 * thousand pages and cleared at every flush left ~5 MB of its tables in the old generation
 * on indexed-v1-1000000 (sampled allocations that survived a scavenge).
 */
class HeldPages {
  size = 0;
  private keys: Int32Array;
  private bufs: (Uint8Array | undefined)[];
  private order: Int32Array;

  /** For about `expected` pages at a time (it grows past them). */
  constructor(expected: number) {
    let cap = 16;
    while (cap < 2 * expected) cap *= 2;
    this.keys = new Int32Array(cap);
    this.bufs = new Array<Uint8Array | undefined>(cap).fill(undefined);
    this.order = new Int32Array(cap);
  }

  get(pgno: Pgno): Uint8Array | undefined {
    const keys = this.keys;
    const mask = keys.length - 1;
    for (let i = pgno & mask; keys[i] !== 0; i = (i + 1) & mask) if (keys[i] === pgno) return this.bufs[i];
    return undefined;
  }

  /** Adds page `pgno` (not held yet). */
  set(pgno: Pgno, buf: Uint8Array): void {
    if (2 * (this.size + 1) > this.keys.length) this.rehash(2 * this.keys.length);
    const keys = this.keys;
    const mask = keys.length - 1;
    let i = pgno & mask;
    while (keys[i] !== 0) i = (i + 1) & mask;
    keys[i] = pgno;
    this.bufs[i] = buf;
    this.size++;
  }

  /** The page numbers held, ascending (valid until the next change). */
  sorted(): Int32Array {
    const keys = this.keys;
    let n = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.order[n++] = keys[i];
    return this.order.subarray(0, n).sort();
  }

  /** Empties the table, giving its buffers to `spare`. */
  clear(spare: Uint8Array[]): void {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === 0) continue;
      spare.push(this.bufs[i]!);
      keys[i] = 0;
      this.bufs[i] = undefined;
    }
    this.size = 0;
  }

  /** Drops the pages past `n`, giving their buffers to `spare`. */
  dropAbove(n: number, spare: Uint8Array[]): void {
    const keys = this.keys;
    const bufs = this.bufs;
    const kept: Array<[Pgno, Uint8Array]> = [];
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === 0) continue;
      if (keys[i] <= n) kept.push([keys[i], bufs[i]!]);
      else spare.push(bufs[i]!);
      keys[i] = 0;
      bufs[i] = undefined;
    }
    this.size = 0;
    for (const [p, b] of kept) this.set(p, b);
  }

  private rehash(cap: number): void {
    const keys = this.keys;
    const bufs = this.bufs;
    this.keys = new Int32Array(cap);
    this.bufs = new Array<Uint8Array | undefined>(cap).fill(undefined);
    this.order = new Int32Array(cap);
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.set(keys[i], bufs[i]!);
  }
}

/** True when the b-tree rooted at `root` is an index b-tree (WITHOUT ROWID tables are). */
async function isIndexTree(snap: { page(p: number): Uint8Array | Promise<Uint8Array> }, root: number): Promise<boolean> {
  const img = await snap.page(root);
  const off = root === 1 ? 100 : 0;
  const t = img[off];
  return t === 2 || t === 10;
}

