/**
 * Page allocation, the freelist and pointer-map writes of a write transaction (like
 * allocateBtreePage, freePage2 and ptrmapPut in btree.c).
 *
 * Page 1's header keeps the freelist: offset 32 the first trunk page, offset 36 the number of
 * free pages (trunks and leaves). A trunk page (see btree/freelist.ts):
 *
 *   OFFSET SIZE DESCRIPTION
 *      0     4  next trunk pgno, 0 on the last trunk
 *      4     4  L, the number of leaf pgnos that follow (SQLite fills at most U/4 - 8)
 *      8   4·L  leaf pgnos
 *
 * Allocating ({@link allocatePage}) as allocateBtreePage does:
 *   - freelist empty: grow the file by one page, skipping the lock-byte page
 *     (txn.lockBytePage) and, in auto-vacuum databases, a pointer-map position: when the new
 *     page would be one, that page is created as an (empty) pointer-map page and the next one
 *     is allocated;
 *   - mode 'any': the first trunk's last leaf; a trunk without leaves is itself taken (page 1
 *     offset 32 then names its successor);
 *   - mode 'exact' (n): page n itself if the pointer map says it is free, searched through the
 *     whole list (a trunk page asked for hands its first leaf the role of trunk); else as 'any';
 *   - mode 'le' (n): any free page <= n (incremental vacuum), trunks and leaves searched in
 *     list order.
 * Freeing ({@link freePage}) as freePage2: the count at 36 grows; the page becomes a leaf of
 * the first trunk when that trunk holds fewer than U/4 - 8 leaves, else the new first trunk.
 * A freed leaf page keeps its bytes (secure_delete off). In auto-vacuum databases the page's
 * pointer-map entry becomes FREEPAGE.
 *
 * Pointer-map entries ({@link ptrmapPut}) are written only when they change, so unchanged
 * pointer-map pages are not journaled. Every page number read from the file is range-checked;
 * a walk over the freelist is bounded by the header's count. Problems are CORRUPT naming the
 * page where they were found.
 *
 * The {@link WriteCtx} is shared by every BtreeWriter on the same transaction (a WeakMap keyed
 * by the transaction), so caches survive the writer objects the caller creates per statement.
 */
import { get32, put32 } from '../pager/bytes.js';
import { ErrorCode, QuireError, corrupt } from '../pager/errors.js';
import type { Encoding } from '../pager/header.js';
import type { Pgno, WritablePageSource } from '../pager/source.js';
import { geometry, type Geometry } from './cellwrite.js';
import { PTRMAP_FREEPAGE, ptrmapPageFor } from './ptrmap.js';
import type { KeyComparator, KeyInfo } from './compare.js';
import type { SqlValue } from './value.js';

/** The right-most path of a b-tree, kept between appends (see btree/write.ts). */
export interface TailPath {
  root: Pgno;
  /** Interior pages from the root down, with the images they had when the tail was made. */
  pgnos: Pgno[];
  images: Uint8Array[];
  /** The right-most leaf (a writable image). */
  leaf: Pgno;
  leafData: Uint8Array;
  hdr: number;
}

/** A table b-tree's tail. */
export interface Tail extends TailPath {
  /** Largest rowid in the tree, null when empty. */
  max: number | bigint | null;
}

/** An index b-tree's tail. */
export interface IndexTail extends TailPath {
  /** The largest entry, decoded (null when the tree is empty). */
  last: SqlValue[] | null;
  /** The comparator last used, and the keyInfo it was made for (reused while the same). */
  keyInfo: KeyInfo | undefined;
  cmp: KeyComparator | undefined;
}

/** Per-transaction state of the b-tree writer. */
export interface WriteCtx {
  readonly txn: WritablePageSource;
  readonly pageSize: number;
  readonly g: Geometry;
  readonly U: number;
  readonly autoVacuum: boolean;
  readonly encoding: Encoding;
  readonly lockByte: Pgno;
  /** Right-most paths of table b-trees, by root page. */
  readonly tails: Map<Pgno, Tail>;
  /** Right-most paths of index b-trees, by root page. */
  readonly itails: Map<Pgno, IndexTail>;
  /**
   * Where an operation builds its new cell (a cell is at most U bytes): cells are copied into
   * pages before the operation ends, so one buffer per transaction avoids an allocation per
   * insert. Operations on one transaction run one at a time.
   */
  readonly scratch: Uint8Array;
  /** False once resetWriteCtx replaced this state (writers holding it fetch the new one). */
  live: boolean;
}

const contexts = new WeakMap<WritablePageSource, WriteCtx>();
/**
 * Cell scratch buffers by owner: the pager behind a transaction (it runs one write
 * transaction at a time), so a small transaction does not allocate a page-sized buffer.
 */
const scratches = new WeakMap<object, Uint8Array>();

function scratchFor(txn: WritablePageSource, size: number): Uint8Array {
  const owner = (txn as { pager?: object }).pager ?? txn;
  let b = scratches.get(owner);
  if (b === undefined || b.length !== size) scratches.set(owner, (b = new Uint8Array(size)));
  return b;
}

/** The writer state of `txn` (created on first use). */
export function writeCtx(txn: WritablePageSource): WriteCtx {
  let c = contexts.get(txn);
  if (c === undefined) {
    const U = txn.usableSize;
    c = {
      txn,
      pageSize: txn.pageSize,
      g: geometry(U),
      U,
      autoVacuum: txn.autoVacuum,
      encoding: txn.encoding,
      lockByte: txn.lockBytePage,
      tails: new Map(),
      itails: new Map(),
      scratch: scratchFor(txn, U + 32),
      live: true,
    };
    contexts.set(txn, c);
  }
  return c;
}

/** Drops the tails of `root` (every tail when root is undefined: pages may have moved). */
export function dropTails(ctx: WriteCtx, root?: Pgno): void {
  if (root === undefined) {
    ctx.tails.clear();
    ctx.itails.clear();
  } else {
    ctx.tails.delete(root);
    ctx.itails.delete(root);
  }
}

/** Forgets the writer state of `txn` (after the database header was rewritten). */
export function resetWriteCtx(txn: WritablePageSource): void {
  const c = contexts.get(txn);
  if (c !== undefined) c.live = false;
  contexts.delete(txn);
}

// ---- page access -----------------------------------------------------------------------------

export function readPage(ctx: WriteCtx, pgno: Pgno): Uint8Array | Promise<Uint8Array> {
  if (!(pgno >= 1 && pgno <= ctx.txn.pageCount)) {
    throw corrupt(pgno, `page number out of range (the database has ${ctx.txn.pageCount} pages)`);
  }
  return ctx.txn.page(pgno);
}

export function writePage(ctx: WriteCtx, pgno: Pgno): Uint8Array | Promise<Uint8Array> {
  if (!(pgno >= 1 && pgno <= ctx.txn.pageCount)) {
    throw corrupt(pgno, `page number out of range (the database has ${ctx.txn.pageCount} pages)`);
  }
  return ctx.txn.writable(pgno);
}

export function isPtrmap(ctx: WriteCtx, pgno: Pgno): boolean {
  return ctx.autoVacuum && pgno >= 2 && ptrmapPageFor(pgno, ctx.U, ctx.pageSize) === pgno;
}

// ---- pointer map -----------------------------------------------------------------------------

/** Sets the pointer-map entry of `pgno` (no-op without auto-vacuum, and for page 1). */
export async function ptrmapPut(ctx: WriteCtx, pgno: Pgno, type: number, parent: Pgno): Promise<void> {
  if (!ctx.autoVacuum || pgno === 1) return;
  const map = ptrmapPageFor(pgno, ctx.U, ctx.pageSize);
  if (map === pgno || pgno < 2) throw corrupt(parent || 1, `page ${pgno} is used as a pointer-map page and as something else`);
  const off = 5 * (pgno - map - 1);
  if (off < 0 || off + 5 > ctx.U) throw corrupt(map, `no room for the pointer-map entry of page ${pgno}`);
  if (map > ctx.txn.pageCount) throw corrupt(pgno, `pointer-map page ${map} for page ${pgno} is beyond the end of the database`);
  let img = ctx.txn.page(map);
  if (!(img instanceof Uint8Array)) img = await img;
  if (img[off] === type && get32(img, off + 1) === parent) return;
  let w = ctx.txn.writable(map);
  if (!(w instanceof Uint8Array)) w = await w;
  w[off] = type;
  put32(w, off + 1, parent);
}

/** Reads the pointer-map entry of `pgno` as [type, parent]. */
export async function ptrmapGet(ctx: WriteCtx, pgno: Pgno): Promise<[number, Pgno]> {
  const map = ptrmapPageFor(pgno, ctx.U, ctx.pageSize);
  if (pgno < 3 || map === pgno || pgno > ctx.txn.pageCount) throw corrupt(1, `no pointer-map entry for page ${pgno}`);
  const off = 5 * (pgno - map - 1);
  if (off < 0 || off + 5 > ctx.U) throw corrupt(map, `no room for the pointer-map entry of page ${pgno}`);
  let img = ctx.txn.page(map);
  if (!(img instanceof Uint8Array)) img = await img;
  const type = img[off];
  if (type < 1 || type > 5) throw corrupt(map, `pointer-map entry for page ${pgno} has invalid type ${type}`);
  return [type, get32(img, off + 1)];
}

// ---- allocation ------------------------------------------------------------------------------

export type AllocMode = 'any' | 'exact' | 'le';

async function page1(ctx: WriteCtx): Promise<Uint8Array> {
  let p = ctx.txn.writable(1);
  if (!(p instanceof Uint8Array)) p = await p;
  return p;
}

/** Grows the file by one usable page and returns it (allocateBtreePage's "append" branch). */
async function growFile(ctx: WriteCtx): Promise<Pgno> {
  const txn = ctx.txn;
  let n = txn.pageCount + 1;
  if (n === ctx.lockByte) n++;
  if (isPtrmap(ctx, n)) {
    txn.setPageCount(n);
    let m = txn.writable(n);
    if (!(m instanceof Uint8Array)) m = await m;
    m.fill(0);
    n++;
    if (n === ctx.lockByte) n++;
  }
  if (n > 0xfffffffe) throw new QuireError(ErrorCode.FULL, 'database or disk is full (the maximum page count is reached)');
  txn.setPageCount(n);
  return n;
}

/**
 * Allocates a page (see the module comment for the modes) and returns its number. The page's
 * content is whatever it held (a former free page) or zeros (a new page); callers format it.
 */
export async function allocatePage(ctx: WriteCtx, mode: AllocMode = 'any', nearby: Pgno = 0): Promise<Pgno> {
  const txn = ctx.txn;
  const mxPage = txn.pageCount;
  let p1 = ctx.txn.page(1);
  if (!(p1 instanceof Uint8Array)) p1 = await p1;
  const n = get32(p1, 36);
  if (n >= mxPage) throw corrupt(1, `freelist count ${n} is not below the page count ${mxPage}`);
  if (n === 0) return growFile(ctx);

  let searchList = false;
  if (mode === 'exact') {
    // Only auto-vacuum databases ask for an exact page; the pointer map says whether it is free.
    if (ctx.autoVacuum && nearby >= 3 && nearby <= mxPage && !isPtrmap(ctx, nearby)) {
      const [t] = await ptrmapGet(ctx, nearby);
      searchList = t === PTRMAP_FREEPAGE;
    }
  } else if (mode === 'le') {
    searchList = true;
  }
  const w1 = await page1(ctx);
  put32(w1, 36, n - 1);
  const maxLeaves = Math.floor(ctx.U / 4) - 2;
  let prevTrunk: Pgno = 0;
  let nSearch = 0;
  for (;;) {
    let iTrunk: Pgno;
    if (prevTrunk !== 0) {
      let pt = txn.page(prevTrunk);
      if (!(pt instanceof Uint8Array)) pt = await pt;
      iTrunk = get32(pt, 0);
    } else {
      iTrunk = get32(w1, 32);
    }
    if (iTrunk < 2 || iTrunk > mxPage || iTrunk === ctx.lockByte || isPtrmap(ctx, iTrunk) || nSearch++ > n) {
      throw corrupt(prevTrunk || 1, iTrunk === 0 ? 'freelist ends before the page being searched for' : `freelist trunk ${iTrunk} out of range`);
    }
    let trunk = txn.page(iTrunk);
    if (!(trunk instanceof Uint8Array)) trunk = await trunk;
    const k = get32(trunk, 4);
    if (k === 0 && !searchList) {
      // The trunk has no leaves: it is the allocated page.
      put32(w1, 32, get32(trunk, 0));
      return iTrunk;
    }
    if (k > maxLeaves) throw corrupt(iTrunk, `freelist trunk holds ${k} leaves, at most ${maxLeaves} fit`);
    if (searchList && (nearby === iTrunk || (iTrunk < nearby && mode === 'le'))) {
      // The trunk page itself is wanted.
      let wt = txn.writable(iTrunk);
      if (!(wt instanceof Uint8Array)) wt = await wt;
      if (k === 0) {
        if (prevTrunk === 0) put32(w1, 32, get32(wt, 0));
        else {
          let wp = txn.writable(prevTrunk);
          if (!(wp instanceof Uint8Array)) wp = await wp;
          put32(wp, 0, get32(wt, 0));
        }
      } else {
        // Its first leaf becomes the trunk, with the other leaves.
        const iNew = get32(wt, 8);
        if (iNew < 2 || iNew > mxPage) throw corrupt(iTrunk, `free leaf page ${iNew} out of range`);
        let nt = txn.writable(iNew);
        if (!(nt instanceof Uint8Array)) nt = await nt;
        put32(nt, 0, get32(wt, 0));
        put32(nt, 4, k - 1);
        nt.set(wt.subarray(12, 12 + 4 * (k - 1)), 8);
        if (prevTrunk === 0) put32(w1, 32, iNew);
        else {
          let wp = txn.writable(prevTrunk);
          if (!(wp instanceof Uint8Array)) wp = await wp;
          put32(wp, 0, iNew);
        }
      }
      return iTrunk;
    }
    if (k > 0) {
      let slot = k - 1;
      if (searchList) {
        slot = -1;
        for (let i = 0; i < k; i++) {
          const pg = get32(trunk, 8 + 4 * i);
          if (pg === nearby || (mode === 'le' && pg < nearby)) {
            slot = i;
            break;
          }
        }
      }
      if (slot >= 0) {
        const pg = get32(trunk, 8 + 4 * slot);
        if (pg < 2 || pg > mxPage || pg === ctx.lockByte || isPtrmap(ctx, pg)) {
          throw corrupt(iTrunk, `free leaf page ${pg} cannot be allocated (out of range or reserved)`);
        }
        let wt = txn.writable(iTrunk);
        if (!(wt instanceof Uint8Array)) wt = await wt;
        if (slot < k - 1) wt.copyWithin(8 + 4 * slot, 4 + 4 * k, 8 + 4 * k);
        put32(wt, 4, k - 1);
        return pg;
      }
    }
    if (!searchList) throw corrupt(iTrunk, 'freelist trunk without leaves (internal error)');
    prevTrunk = iTrunk;
  }
}

/** Puts page `pgno` on the freelist (freePage2). */
export async function freePage(ctx: WriteCtx, pgno: Pgno): Promise<void> {
  const txn = ctx.txn;
  if (!(pgno >= 2 && pgno <= txn.pageCount)) throw corrupt(pgno, `cannot free page ${pgno}: out of range`);
  const w1 = await page1(ctx);
  const nFree = get32(w1, 36);
  put32(w1, 36, nFree + 1);
  await ptrmapPut(ctx, pgno, PTRMAP_FREEPAGE, 0);
  let iTrunk: Pgno = 0;
  if (nFree !== 0) {
    iTrunk = get32(w1, 32);
    if (iTrunk < 2 || iTrunk > txn.pageCount) throw corrupt(1, `freelist trunk ${iTrunk} out of range`);
    let trunk = txn.page(iTrunk);
    if (!(trunk instanceof Uint8Array)) trunk = await trunk;
    const nLeaf = get32(trunk, 4);
    if (nLeaf > Math.floor(ctx.U / 4) - 2) throw corrupt(iTrunk, `freelist trunk holds ${nLeaf} leaves`);
    if (nLeaf < Math.floor(ctx.U / 4) - 8) {
      let wt = txn.writable(iTrunk);
      if (!(wt instanceof Uint8Array)) wt = await wt;
      put32(wt, 4, nLeaf + 1);
      put32(wt, 8 + 4 * nLeaf, pgno);
      return;
    }
  }
  let w = txn.writable(pgno);
  if (!(w instanceof Uint8Array)) w = await w;
  put32(w, 0, iTrunk);
  put32(w, 4, 0);
  put32(w1, 32, pgno);
}

/** Checks a page number read from the file before it is followed. */
export function checkPgno(ctx: WriteCtx, pgno: Pgno, from: Pgno, what: string): void {
  if (!(pgno >= 2 && pgno <= ctx.txn.pageCount)) {
    throw corrupt(from, `${what} ${pgno} out of range (the database has ${ctx.txn.pageCount} pages)`);
  }
  if (pgno === ctx.lockByte) throw corrupt(from, `${what} ${pgno} is the lock-byte page`);
}
