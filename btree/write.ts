/**
 * The b-tree writer (like sqlite3BtreeInsert, sqlite3BtreeDelete, sqlite3BtreeCreateTable,
 * sqlite3BtreeDropTable, sqlite3BtreeClearTable, fillInCell and clearCell in btree.c).
 *
 * {@link BtreeWriter} changes b-trees inside one write transaction (a WritablePageSource: every
 * page change goes through txn.writable(), which journals the page). What each operation does:
 *
 *   insert(root, rowid, record)   table b-tree: seek the leaf, build the cell (local payload and
 *                                 an overflow chain, btree/cell.ts formulas), insert or replace
 *                                 (a replaced row's overflow pages are freed), balance
 *   insertIfAbsent(root, rowid,   insert unless the rowid exists (false, nothing changed): the
 *     rec)                        existence check and the insert in one seek
 *   tryAppend(root, rowid, rec)   the append path below, synchronously; false = use insert
 *   tryInsert(root, rowid, rec)   insertIfAbsent without a savepoint when it is one cell
 *                                 written into a leaf's gap, or the split of a full leaf
 *                                 with its siblings (balance.ts splitLeafInsert);
 *                                 undefined = use insertIfAbsent
 *   tryDelete(root, rowid)        delete without a savepoint when it is one cell dropped from
 *                                 a leaf that needs no balancing; undefined = use delete
 *   maxRowid(root)                the last rowid (from the tail when it is valid)
 *   delete(root, rowid)           drop the leaf cell, free its overflow chain, balance
 *   insertIndex(root, rec, key)   index / WITHOUT ROWID b-tree: seek by the decoded record under
 *                                 keyInfo; an equal entry (leaf or interior cell) is replaced
 *   appendIndex(root, rec, ki)    the index append path: an entry that sorts after the last
 *                                 one goes straight to the end (else insertIndex)
 *   deleteIndex(root, key, ki)    drop the first entry equal to `key`; an entry in an interior
 *                                 cell is replaced by its predecessor (the last entry of the
 *                                 right-most leaf of its left subtree), as SQLite does
 *   createBtree / dropBtree /     allocate or free roots; in auto-vacuum databases roots live at
 *   clearBtree                    the front of the file (btree/vacuum.ts moves pages to keep
 *                                 it so) and header offset 52 names the largest one
 *   beforeCommit /                auto-vacuum FULL truncation at commit; PRAGMA
 *   incrementalVacuum             incremental_vacuum (btree/vacuum.ts)
 *
 * Balancing is in btree/balance.ts, page allocation and the freelist in btree/alloc.ts, cell
 * placement in btree/cellwrite.ts.
 *
 * The append path. Bulk loads insert increasing rowids; SQLite makes them cheap with
 * balance_quick and by remembering that its cursor sits on the last entry. quire keeps, per
 * table root and per transaction, the *tail*: the right-most path (interior page images and the
 * right-most leaf's writable image) and the table's largest rowid. An insert whose rowid is
 * larger than that, whose tail pages are still the transaction's current images (identity
 * checks catch savepoint rollbacks, which swap images), and whose cell fits in the leaf's gap,
 * is written straight into the leaf: no seek, no parse, no promise (insert() returns a shared
 * resolved promise). When the leaf is full, balance_quick starts a new right-most leaf and the
 * tail moves to it (interior pages split the same way, see btree/balance.ts); appendSplit
 * does that synchronously too when it is one new page past the end and one divider in the
 * parent's gap. tryAppend, tryInsert and tryDelete read and check everything before their
 * first write and their writes cannot fail, so a statement that is one of them needs no
 * savepoint (src/write.ts). Any other change
 * to the tree drops its tail; moving pages (auto-vacuum creates, drops, vacuum) drops all of
 * them. The tails live in the per-transaction WriteCtx (btree/alloc.ts), so they survive the
 * BtreeWriter objects a caller creates per statement. New cells are built in the context's
 * scratch buffer (no allocation per row).
 *
 * Untrusted input: every page read is parsed by btree/page.ts (cached per image) and every
 * pointer is range-checked before it is followed; paths are bounded by MAX_TREE_DEPTH and
 * checked for cycles; overflow chains by their computed length. Problems are CORRUPT naming
 * the page. Invalid arguments (root numbers, rowids outside int64, malformed records) are MISUSE
 * or RANGE.
 */
import { get32, put32 } from '../pager/bytes.js';
import { ErrorCode, QuireError, corrupt, misuse } from '../pager/errors.js';
import { encodeHeader, type DbHeader } from '../pager/header.js';
import type { Pgno, WritablePageSource } from '../pager/source.js';
import {
  allocatePage,
  checkPgno,
  dropTails,
  freePage,
  isPtrmap,
  ptrmapGet,
  ptrmapPut,
  readPage,
  resetWriteCtx,
  writeCtx,
  writePage,
  type IndexTail,
  type Tail,
  type TailPath,
  type WriteCtx,
} from './alloc.js';
import { Edit, MAX_TREE_DEPTH, splitLeafInsert, type Level } from './balance.js';
import { cellRowid, localPayloadSize, newCellInfo, parseCell, type CellInfo } from './cell.js';
import { cellSize, computeFreeSpace, contentStartOf, dropCell, indexBodyLength, nCellOf, zeroPage } from './cellwrite.js';
import { keyComparator, type KeyComparator, type KeyInfo } from './compare.js';
import { cellKeyPrefix } from './cursor.js';
import { overflowPageCount } from './overflow.js';
import { cellOffset, forgetPage, parsedAfterWrite, parsePage, PTF_INDEX_INTERIOR, PTF_INDEX_LEAF, PTF_TABLE_INTERIOR, PTF_TABLE_LEAF, type BtPage } from './page.js';
import { PTRMAP_FREEPAGE, PTRMAP_OVERFLOW1, PTRMAP_OVERFLOW2, PTRMAP_ROOTPAGE } from './ptrmap.js';
import { decodeRecord } from './record.js';
import { compareRecords, RawRecord } from './rawrecord.js';
import { entryOrder, type EntryOrder } from './bulk.js';
import type { Encoding } from '../pager/header.js';
import { autoVacuumCommit, incrementalVacuum, relocatePage } from './vacuum.js';
import type { MaybePromise, SqlValue } from './value.js';
import { varintLength, writeVarint } from './varint.js';

type Rowid = number | bigint;

const DONE: Promise<void> = Promise.resolve();

const MIN_ROWID = -9223372036854775808n;
const MAX_ROWID = 9223372036854775807n;

function checkRowid(rowid: unknown): asserts rowid is Rowid {
  if (typeof rowid === 'number') {
    if ((rowid | 0) === rowid) return;
    if (Number.isInteger(rowid) && rowid >= -9223372036854775808 && rowid < 9223372036854775808) return;
  } else if (typeof rowid === 'bigint') {
    if (rowid >= MIN_ROWID && rowid <= MAX_ROWID) return;
  }
  throw new QuireError(ErrorCode.RANGE, `rowid ${String(rowid)} is not a 64-bit integer`);
}

function rowidEq(a: Rowid, b: Rowid): boolean {
  return !(a < b) && !(a > b);
}

function hdrOf(pgno: Pgno): number {
  return pgno === 1 ? 100 : 0;
}

function checkRoot(ctx: WriteCtx, root: unknown): asserts root is Pgno {
  if (typeof root !== 'number' || !Number.isInteger(root) || root < 1) throw misuse(`invalid root page ${String(root)}`);
  if (ctx.txn.pageCount === 0) throw misuse('the database is empty: format it with initializeDatabase first');
  if (root > ctx.txn.pageCount) throw corrupt(root, `root page beyond the end of the database (${ctx.txn.pageCount} pages)`);
}

async function loadPage(ctx: WriteCtx, pgno: Pgno): Promise<Uint8Array> {
  return readPage(ctx, pgno);
}

/** Parses page pgno as the next level of a path below `path` (depth, cycle, kind checks). */
function enter(ctx: WriteCtx, path: Level[], pgno: Pgno, intKey: boolean): MaybePromise<BtPage> {
  const depth = path.length;
  const parent = depth > 0 ? path[depth - 1].pgno : 0;
  if (depth > 0) {
    checkPgno(ctx, pgno, parent, 'child page');
    if (depth >= MAX_TREE_DEPTH) throw corrupt(parent, `b-tree deeper than ${MAX_TREE_DEPTH} levels`);
    for (const l of path) if (l.pgno === pgno) throw corrupt(parent, `child page ${pgno} is already on the path (cycle)`);
  }
  const data = readPage(ctx, pgno);
  if (data instanceof Uint8Array) return entered(ctx, depth, data, pgno, intKey);
  return data.then((d) => entered(ctx, depth, d, pgno, intKey));
}

/** enter(), once the page is read. */
function entered(ctx: WriteCtx, depth: number, data: Uint8Array, pgno: Pgno, intKey: boolean): BtPage {
  const p = parsePage(data, pgno, ctx.U);
  if (p.intKey !== intKey) {
    throw corrupt(pgno, depth > 0 ? `${intKey ? 'index' : 'table'} page in a ${intKey ? 'table' : 'index'} b-tree` : `not a ${intKey ? 'table' : 'index'} b-tree root`);
  }
  if (depth > 0 && p.nCell === 0) throw corrupt(pgno, 'non-root b-tree page has no cells');
  return p;
}

function childOf(p: BtPage, i: number): Pgno {
  if (i >= p.nCell) return p.rightChild;
  const off = cellOffset(p, i);
  if (off + 4 > p.usableSize) throw corrupt(p.pgno, `cell ${i} runs past the usable size`);
  return get32(p.data, off);
}

interface TableSeek {
  path: Level[];
  found: boolean;
  /** The insertion point is after the last entry of the table. */
  rightmost: boolean;
}

/**
 * One level of a table seek: binary search of page p (pgno) for rowid, pushed on s.path.
 * Returns the child page to enter next, or -1 at the leaf (s.found then says whether the
 * rowid is there).
 */
function seekLevel(s: TableSeek, p: BtPage, pgno: Pgno, rowid: Rowid): number {
  let lo = 0;
  let hi = p.nCell;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cellRowid(p, mid) < rowid) lo = mid + 1;
    else hi = mid;
  }
  s.path.push({ pgno, data: p.data, idx: lo, w: false });
  s.rightmost = s.rightmost && lo === p.nCell;
  if (!p.leaf) return childOf(p, lo);
  s.found = lo < p.nCell && rowidEq(cellRowid(p, lo), rowid);
  return -1;
}

/** The path to rowid's place in table `root`: synchronously while its pages are in memory. */
function seekTable(ctx: WriteCtx, root: Pgno, rowid: Rowid): MaybePromise<TableSeek> {
  return seekFrom(ctx, { path: [], found: false, rightmost: true }, root, rowid);
}

function seekFrom(ctx: WriteCtx, s: TableSeek, root: Pgno, rowid: Rowid): MaybePromise<TableSeek> {
  for (let pgno = root; pgno >= 0; ) {
    const p = enter(ctx, s.path, pgno, true);
    if (p instanceof Promise) {
      const at = pgno;
      return p.then((q) => {
        const next = seekLevel(s, q, at, rowid);
        return next < 0 ? s : seekFrom(ctx, s, next, rowid);
      });
    }
    pgno = seekLevel(s, p, pgno, rowid);
  }
  return s;
}

/** The path to the right-most leaf (idx = nCell on every level). */
async function seekLast(ctx: WriteCtx, root: Pgno, intKey: boolean): Promise<Level[]> {
  const path: Level[] = [];
  let pgno = root;
  for (;;) {
    const p = await enter(ctx, path, pgno, intKey);
    path.push({ pgno, data: p.data, idx: p.nCell, w: false });
    if (p.leaf) return path;
    pgno = p.rightChild;
  }
}

// ---- the tail (append path) -----------------------------------------------------------------

function setTail(ctx: WriteCtx, root: Pgno, path: Level[], max: Rowid | null): void {
  const n = path.length - 1;
  const pgnos: Pgno[] = new Array(n);
  const images: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    pgnos[i] = path[i].pgno;
    images[i] = path[i].data;
  }
  const leaf = path[n];
  ctx.tails.set(root, { root, pgnos, images, leaf: leaf.pgno, leafData: leaf.data, hdr: hdrOf(leaf.pgno), max });
}

function setIndexTail(ctx: WriteCtx, root: Pgno, path: Level[], last: SqlValue[] | null, keyInfo: KeyInfo, cmp: KeyComparator): void {
  const n = path.length - 1;
  const leaf = path[n];
  ctx.itails.set(root, {
    root,
    pgnos: path.slice(0, n).map((l) => l.pgno),
    images: path.slice(0, n).map((l) => l.data),
    leaf: leaf.pgno,
    leafData: leaf.data,
    hdr: hdrOf(leaf.pgno),
    last,
    keyInfo,
    cmp,
  });
}

/** True when every page of the tail is still the transaction's current image. */
function tailValid(ctx: WriteCtx, t: TailPath): boolean {
  const txn = ctx.txn;
  const pc = txn.pageCount;
  for (let i = 0; i < t.pgnos.length; i++) {
    const pg = t.pgnos[i];
    if (pg > pc || !isCurrent(txn, pg, t.images[i])) return false;
  }
  return t.leaf <= pc && isCurrent(txn, t.leaf, t.leafData);
}

function ignore(): void {}

/**
 * Whether `img` is page pgno's current image in the transaction, without waiting: a page that
 * is not at hand is not it (the read that asking started is left to finish or fail alone,
 * never as an unhandled rejection).
 */
function isCurrent(txn: WritablePageSource, pgno: Pgno, img: Uint8Array): boolean {
  const x = txn.page(pgno);
  if (x === img) return true;
  if (x instanceof Promise) x.catch(ignore);
  return false;
}

function pathOfTail(t: TailPath): Level[] {
  const path: Level[] = [];
  for (let i = 0; i < t.pgnos.length; i++) {
    const pg = t.pgnos[i];
    path.push({ pgno: pg, data: t.images[i], idx: nCellOf(t.images[i], hdrOf(pg)), w: false });
  }
  path.push({ pgno: t.leaf, data: t.leafData, idx: nCellOf(t.leafData, t.hdr), w: false });
  return path;
}

/**
 * Writes a leaf cell (a table cell when rowid is not null, else an index cell) into the gap
 * of the tail's leaf; false, having changed nothing, when that is not possible now.
 */
function appendFast(ctx: WriteCtx, t: TailPath, rowid: Rowid | null, record: Uint8Array): boolean {
  if (record.length > (rowid === null ? ctx.g.maxIndex : ctx.g.maxTable)) return false;
  const txn = ctx.txn;
  const pc = txn.pageCount;
  const pgnos = t.pgnos;
  for (let i = 0; i < pgnos.length; i++) {
    if (pgnos[i] > pc || !isCurrent(txn, pgnos[i], t.images[i])) return false;
  }
  if (t.leaf > pc) return false;
  const leaf = txn.writable(t.leaf);
  if (leaf !== t.leafData) {
    if (leaf instanceof Promise) leaf.catch(ignore);
    return false;
  }
  const h = t.hdr;
  return placeLeafCell(leaf, h, (leaf[h + 3] << 8) | leaf[h + 4], rowid, record);
}

/**
 * balance_quick on the append path, without a promise: the tail's leaf has no room for the
 * row, so a new right-most leaf starts with it alone and the old leaf's largest rowid (the
 * tail's max) goes up as the divider, appended to the parent (Edit.finish's balanceQuick, in
 * the case that is one new page past the end and one cell in the parent's gap). Only for: a
 * current tail whose leaf has an interior parent other than page 1, a record without
 * overflow, an empty freelist, a next page that is not the lock-byte page, no pointer map
 * (auto-vacuum), and a divider that fits the parent's gap. Every check comes before the first
 * write and none of the writes can fail, so the caller needs no savepoint around it. False,
 * having changed nothing, otherwise.
 */
function appendSplit(ctx: WriteCtx, t: Tail, rowid: Rowid, record: Uint8Array): boolean {
  const depth = t.pgnos.length;
  const max = t.max;
  if (depth === 0 || max === null || ctx.autoVacuum || record.length > ctx.g.maxTable) return false;
  const txn = ctx.txn;
  const parent = t.pgnos[depth - 1];
  const n = txn.pageCount + 1;
  if (parent === 1 || n === ctx.lockByte || n > 0xfffffffe || !tailValid(ctx, t)) return false;
  const p1 = txn.page(1);
  if (!(p1 instanceof Uint8Array)) {
    p1.catch(ignore);
    return false;
  }
  if (get32(p1, 36) !== 0) return false; // free pages: allocatePage takes one of them
  const pimg = t.images[depth - 1];
  const pn = nCellOf(pimg, 0);
  const ptrEnd = 12 + 2 * pn;
  const top = contentStartOf(pimg, 0);
  const dlen = 4 + varintLength(max);
  if (pimg[0] !== PTF_TABLE_INTERIOR || get32(pimg, 8) !== t.leaf || ptrEnd + 2 + dlen > top) return false;
  const pw = txn.writable(parent);
  if (!(pw instanceof Uint8Array)) {
    pw.catch(ignore);
    return false;
  }
  // A page past the end is at hand (a zeroed image) once the page count includes it.
  txn.setPageCount(n);
  const w = txn.writable(n);
  if (!(w instanceof Uint8Array)) {
    w.catch(ignore);
    txn.setPageCount(n - 1);
    return false;
  }
  // The writes: the new leaf (an empty page holds any record without overflow), then the
  // divider at the end of the parent, whose right child becomes the new leaf.
  zeroPage(w, 0, PTF_TABLE_LEAF, ctx.U);
  placeLeafCell(w, 0, 0, rowid, record);
  const off = top - dlen;
  put32(pw, off, t.leaf);
  writeVarint(pw, off + 4, max);
  pw[ptrEnd] = off >>> 8;
  pw[ptrEnd + 1] = off & 0xff;
  pw[3] = (pn + 1) >>> 8;
  pw[4] = (pn + 1) & 0xff;
  pw[5] = off >>> 8;
  pw[6] = off & 0xff;
  put32(pw, 8, n);
  forgetPage(pw);
  forgetPage(w);
  t.images[depth - 1] = pw;
  t.leaf = n;
  t.leafData = w;
  t.hdr = 0;
  return true;
}

/**
 * Writes a leaf cell whose payload `record` is all local (a table cell when rowid is not
 * null, else an index cell) as cell i of the leaf image `leaf` (b-tree header at h), from the
 * gap between the cell pointers and the content area; false, having changed nothing, when the
 * gap is too small. Once it starts writing nothing can fail (every offset is checked first),
 * so a caller needs no savepoint around it.
 */
function placeLeafCell(leaf: Uint8Array, h: number, i: number, rowid: Rowid | null, record: Uint8Array): boolean {
  const P = record.length;
  const n = (leaf[h + 3] << 8) | leaf[h + 4];
  const top = ((leaf[h + 5] << 8) | leaf[h + 6]) || 65536;
  const plen = P < 0x80 ? 1 : P < 0x4000 ? 2 : 3;
  // rowids in [0, 2^28) are written inline (1..4 bytes), others by writeVarint
  const small = typeof rowid === 'number' && rowid >= 0 && rowid < 0x10000000;
  const rlen = rowid === null ? 0 : small ? (rowid < 0x80 ? 1 : rowid < 0x4000 ? 2 : rowid < 0x200000 ? 3 : 4) : varintLength(rowid);
  let size = plen + rlen + P;
  const pad = size < 4;
  if (pad) size = 4;
  const ptrEnd = h + 8 + 2 * n;
  if (i > n || ptrEnd + 2 + size > top) return false;
  const off = top - size;
  let q = off;
  if (plen === 1) {
    leaf[q++] = P;
  } else if (plen === 2) {
    leaf[q++] = 0x80 | (P >>> 7);
    leaf[q++] = P & 0x7f;
  } else {
    leaf[q++] = 0x80 | (P >>> 14);
    leaf[q++] = 0x80 | ((P >>> 7) & 0x7f);
    leaf[q++] = P & 0x7f;
  }
  if (small) {
    const r = rowid as number;
    if (rlen === 4) leaf[q++] = 0x80 | (r >>> 21);
    if (rlen >= 3) leaf[q++] = 0x80 | ((r >>> 14) & 0x7f);
    if (rlen >= 2) leaf[q++] = 0x80 | ((r >>> 7) & 0x7f);
    leaf[q++] = r & 0x7f;
  } else if (rowid !== null) {
    q += writeVarint(leaf, q, rowid);
  }
  leaf.set(record, q);
  if (pad) leaf.fill(0, q + P, off + 4);
  const ptr = h + 8 + 2 * i;
  if (i < n) leaf.copyWithin(ptr + 2, ptr, ptrEnd);
  leaf[ptr] = off >>> 8;
  leaf[ptr + 1] = off & 0xff;
  leaf[h + 3] = (n + 1) >>> 8;
  leaf[h + 4] = (n + 1) & 0xff;
  leaf[h + 5] = off >>> 8;
  leaf[h + 6] = off & 0xff;
  return true;
}

/** tryDelete's overflow slot (it is synchronous: one at a time). */
const dropSlot = { at: -1 };

// ---- cells and overflow chains --------------------------------------------------------------

/** Writes payload[from..] to a new overflow chain; returns its first page (fillInCell). */
async function writeOverflow(ctx: WriteCtx, payload: Uint8Array, from: number, owner: Pgno): Promise<Pgno> {
  const room = ctx.U - 4;
  let first: Pgno = 0;
  let prev: Pgno = 0;
  let prevImg: Uint8Array | undefined;
  for (let off = from; off < payload.length; off += room) {
    const pg = await allocatePage(ctx);
    const img = await writePage(ctx, pg);
    const take = Math.min(room, payload.length - off);
    put32(img, 0, 0);
    img.set(payload.subarray(off, off + take), 4);
    if (prevImg !== undefined) put32(prevImg, 0, pg);
    else first = pg;
    await ptrmapPut(ctx, pg, prev === 0 ? PTRMAP_OVERFLOW1 : PTRMAP_OVERFLOW2, prev === 0 ? owner : prev);
    prev = pg;
    prevImg = img;
  }
  return first;
}

/**
 * A leaf cell holding `payload`: [payload size][rowid (tables)][local payload][overflow pgno],
 * padded to 4 bytes. `owner` is the page expected to hold the cell (first overflow page's
 * pointer-map parent; balancing corrects it if the cell lands elsewhere). The cell is a view of
 * the transaction's scratch buffer, valid until the next leafCell call (`fresh`: a new array).
 */
export function leafCell(ctx: WriteCtx, rowid: Rowid | null, payload: Uint8Array, owner: Pgno, fresh = false): MaybePromise<Uint8Array> {
  const P = payload.length;
  const maxLocal = rowid === null ? ctx.g.maxIndex : ctx.g.maxTable;
  const head = varintLength(P) + (rowid === null ? 0 : varintLength(rowid));
  const local = localPayloadSize(P, maxLocal, ctx.g.minLocal, ctx.U);
  const len = head + local + (local < P ? 4 : 0);
  const cell = fresh ? new Uint8Array(len < 4 ? 4 : len) : ctx.scratch.subarray(0, len < 4 ? 4 : len);
  if (len < 4) cell.fill(0);
  let q = writeVarint(cell, 0, P);
  if (rowid !== null) q += writeVarint(cell, q, rowid);
  cell.set(payload.subarray(0, local), q);
  if (local === P) return cell;
  return writeOverflow(ctx, payload, local, owner).then((first) => {
    put32(cell, q + local, first);
    return cell;
  });
}

/** Frees the overflow chain of a cell (given as its bytes, from a page of `type`). */
async function freeOverflow(ctx: WriteCtx, cell: Uint8Array, type: number, pgno: Pgno): Promise<void> {
  if (type !== PTF_TABLE_LEAF && type !== PTF_INDEX_LEAF && type !== PTF_INDEX_INTERIOR) return;
  const slot = { at: -1 };
  cellSize(cell, 0, type, ctx.g, cell.length, pgno, slot);
  if (slot.at < 0) return;
  let q = type === PTF_INDEX_INTERIOR ? 4 : 0;
  let P = 0;
  for (let n = 0; n < 9; n++) {
    const x = cell[q++];
    if (n === 8) {
      P = P * 256 + x;
      break;
    }
    P = P * 128 + (x & 0x7f);
    if (x < 0x80) break;
  }
  const maxLocal = type === PTF_TABLE_LEAF ? ctx.g.maxTable : ctx.g.maxIndex;
  const local = localPayloadSize(P, maxLocal, ctx.g.minLocal, ctx.U);
  const count = overflowPageCount(P, local, ctx.U);
  if (count > ctx.txn.pageCount) throw corrupt(pgno, `payload of ${P} bytes needs ${count} overflow pages, the database has ${ctx.txn.pageCount}`);
  let pg = get32(cell, slot.at);
  let from = pgno;
  const seen = count > 1 ? new Set<Pgno>() : undefined;
  for (let k = 0; k < count; k++) {
    checkPgno(ctx, pg, from, 'overflow page');
    if (seen !== undefined) {
      if (seen.has(pg)) throw corrupt(from, `overflow chain revisits page ${pg} (cycle)`);
      seen.add(pg);
    }
    const next = k < count - 1 ? get32(await loadPage(ctx, pg), 0) : 0;
    await freePage(ctx, pg);
    from = pg;
    pg = next;
  }
}

/** The part of an index leaf cell that an interior cell carries after its child pointer. */
function indexBody(ctx: WriteCtx, cell: Uint8Array, pgno: Pgno): Uint8Array {
  return cell.subarray(0, indexBodyLength(cell, 0, ctx.g, cell.length, pgno));
}

function interiorIndexCell(child: Pgno, body: Uint8Array): Uint8Array {
  const c = new Uint8Array(4 + body.length);
  put32(c, 0, child);
  c.set(body, 4);
  return c;
}

// ---- index seeks ----------------------------------------------------------------------------

/** The values of an index record given by the caller (MISUSE when it is malformed). */
function decodeKey(ctx: WriteCtx, record: Uint8Array): SqlValue[] {
  try {
    return decodeRecord(record, ctx.encoding, 0);
  } catch {
    throw misuse('the index record is malformed');
  }
}

const seekCell: CellInfo = newCellInfo();

/** The first n columns of cell i on index page p (reading overflow pages only if needed). */
function cellKey(ctx: WriteCtx, p: BtPage, i: number, n: number): MaybePromise<SqlValue[]> {
  return cellKeyPrefix(ctx.txn, p, i, n, ctx.encoding, seekCell);
}

/** Compares the seek's key with cell i of index page p: <0, 0 (equal prefix), >0. */
type CellTest = (p: BtPage, i: number) => MaybePromise<number>;

/** The CellTest of a decoded key under `cmp` (each cell's first key.length columns decoded). */
function decodedTest(ctx: WriteCtx, key: readonly SqlValue[], cmp: KeyComparator): CellTest {
  const n = key.length;
  return (p, i) => {
    const k = cellKey(ctx, p, i, n);
    return k instanceof Promise ? k.then((kk) => cmp(key, kk)) : cmp(key, k);
  };
}

const cellRec = new RawRecord();

/**
 * The CellTest of an index record parsed in `key`: a cell whose payload lies on its page is
 * compared in place (compareRecords: nothing decoded, nothing allocated); one that overflows
 * is decoded as decodedTest does, its record read through its overflow chain.
 */
function rawTest(ctx: WriteCtx, key: RawRecord, record: Uint8Array, order: EntryOrder, cmp: KeyComparator): CellTest {
  let decoded: CellTest | null = null;
  return (p, i) => {
    const c = parseCell(p, i, seekCell);
    if (c.overflow === 0 && cellRec.parse(p.data, c.payloadOffset, c.payloadOffset + c.payloadSize)) {
      const n = key.n < cellRec.n ? key.n : cellRec.n;
      return compareRecords(key, cellRec, n, order.colls, order.desc, order.encoding);
    }
    // Overflow, or a malformed cell (decoding it reports the corruption).
    decoded ??= decodedTest(ctx, decodeKey(ctx, record), cmp);
    return decoded(p, i);
  };
}

/** Comparator and entry order per keyInfo (a catalog's keyInfo objects live as long as it). */
const orders = new WeakMap<KeyInfo, Map<Encoding, { cmp: KeyComparator; order: EntryOrder }>>();

function orderOf(keyInfo: KeyInfo, enc: Encoding): { cmp: KeyComparator; order: EntryOrder } {
  let m = orders.get(keyInfo);
  if (m === undefined) orders.set(keyInfo, (m = new Map()));
  let o = m.get(enc);
  if (o === undefined) m.set(enc, (o = { cmp: keyComparator(keyInfo, enc), order: entryOrder(keyInfo, enc) }));
  return o;
}

interface IndexSeek {
  path: Level[];
  /** The first entry (in key order) equal to the key is at path[last].idx (possibly on an
   * interior page); else path[last] is the leaf position where the key belongs. */
  found: boolean;
}

async function seekIndex(ctx: WriteCtx, root: Pgno, test: CellTest): Promise<IndexSeek> {
  const path: Level[] = [];
  let pgno = root;
  // Depth of the last interior cell found equal: entries equal to a key prefix may also lie in
  // that cell's left subtree, so the search goes on there for an earlier one.
  let hit = -1;
  for (;;) {
    let p = enter(ctx, path, pgno, false);
    if (p instanceof Promise) p = await p;
    let lo = 0;
    let hi = p.nCell;
    let eqAt = -1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      let c = test(p, mid);
      if (c instanceof Promise) c = await c;
      if (c <= 0) {
        hi = mid;
        if (c === 0) eqAt = mid;
      } else {
        lo = mid + 1;
      }
    }
    path.push({ pgno, data: p.data, idx: lo, w: false });
    if (eqAt === lo) {
      if (p.leaf) return { path, found: true };
      hit = path.length - 1;
    } else if (p.leaf) {
      if (hit >= 0) {
        path.length = hit + 1;
        return { path, found: true };
      }
      return { path, found: false };
    }
    pgno = childOf(p, lo);
  }
}

// ---- clearing -------------------------------------------------------------------------------

/** Frees every page below `pgno` and their overflow chains (clearDatabasePage); the page itself
 * is freed too unless it is the root, which becomes an empty leaf. */
async function clearPage(ctx: WriteCtx, pgno: Pgno, intKey: boolean, depth: number, seen: Set<Pgno>, parent: Pgno): Promise<void> {
  if (depth > 0) {
    checkPgno(ctx, pgno, parent, 'child page');
    if (seen.has(pgno)) throw corrupt(parent, `child page ${pgno} is referenced twice (cycle)`);
  }
  if (depth >= MAX_TREE_DEPTH) throw corrupt(parent, `b-tree deeper than ${MAX_TREE_DEPTH} levels`);
  seen.add(pgno);
  const data = await loadPage(ctx, pgno);
  const p = parsePage(data, pgno, ctx.U);
  if (p.intKey !== intKey) throw corrupt(pgno, 'b-tree page of the wrong kind');
  for (let i = 0; i < p.nCell; i++) {
    const off = cellOffset(p, i);
    if (!p.leaf) await clearPage(ctx, get32(data, off), intKey, depth + 1, seen, pgno);
    const sz = cellSize(data, off, p.type, ctx.g, ctx.U, pgno);
    await freeOverflow(ctx, data.subarray(off, off + sz), p.type, pgno);
  }
  if (!p.leaf) await clearPage(ctx, p.rightChild, intKey, depth + 1, seen, pgno);
  if (depth > 0) {
    await freePage(ctx, pgno);
  } else {
    const w = await writePage(ctx, pgno);
    zeroPage(w, hdrOf(pgno), intKey ? PTF_TABLE_LEAF : PTF_INDEX_LEAF, ctx.U);
    forgetPage(w);
  }
}

async function clearTree(ctx: WriteCtx, root: Pgno): Promise<void> {
  const data = await loadPage(ctx, root);
  const p = parsePage(data, root, ctx.U);
  await clearPage(ctx, root, p.intKey, 0, new Set(), 0);
}

// ---- the writer -----------------------------------------------------------------------------

/**
 * Writes b-trees in a write transaction. Cheap to construct (it holds only the transaction);
 * state that outlives it (the append tails) is kept per transaction. One operation at a time
 * per transaction: await each before starting the next.
 */
export class BtreeWriter {
  private readonly txn: WritablePageSource;
  private cached: WriteCtx | undefined;

  constructor(txn: WritablePageSource) {
    this.txn = txn;
  }

  /** The transaction's writer state (kept while live: initializeDatabase replaces it). */
  private get ctx(): WriteCtx {
    const c = this.cached;
    if (c !== undefined && c.live) return c;
    return (this.cached = writeCtx(this.txn));
  }

  /**
   * Creates an empty table (intKey) or index b-tree and returns its root page. In auto-vacuum
   * databases the root goes at largestRoot+1 (moving whatever page is there, as
   * btreeCreateTable does) and header offset 52 grows.
   */
  async createBtree(kind: 'table' | 'index'): Promise<Pgno> {
    if (kind !== 'table' && kind !== 'index') throw misuse(`unknown b-tree kind ${String(kind)}`);
    const ctx = this.ctx;
    if (ctx.txn.pageCount === 0) throw misuse('the database is empty: format it with initializeDatabase first');
    const type = kind === 'table' ? PTF_TABLE_LEAF : PTF_INDEX_LEAF;
    let root: Pgno;
    if (!ctx.autoVacuum) {
      root = await allocatePage(ctx);
    } else {
      dropTails(ctx);
      const p1 = await loadPage(ctx, 1);
      root = get32(p1, 52);
      if (root > ctx.txn.pageCount) throw corrupt(1, `largest root page ${root} beyond the end of the database`);
      root++;
      while (isPtrmap(ctx, root) || root === ctx.lockByte) root++;
      const got = await allocatePage(ctx, 'exact', root);
      if (got !== root) {
        // Move the page now at `root` to the page just allocated.
        const [t, parent] = await ptrmapGet(ctx, root);
        if (t === PTRMAP_ROOTPAGE || t === PTRMAP_FREEPAGE) throw corrupt(root, `page after the largest root has pointer-map type ${t}`);
        await relocatePage(ctx, root, t, parent, got);
      }
      await ptrmapPut(ctx, root, PTRMAP_ROOTPAGE, 0);
      put32(await writePage(ctx, 1), 52, root);
    }
    const w = await writePage(ctx, root);
    zeroPage(w, 0, type, ctx.U);
    forgetPage(w);
    return root;
  }

  /**
   * Frees every page of the b-tree. In auto-vacuum databases, when `root` is not the largest
   * root, the largest root page moves into its place: returns { movedFrom, movedTo } so the
   * caller updates sqlite_schema; else null.
   */
  async dropBtree(root: Pgno): Promise<{ movedFrom: Pgno; movedTo: Pgno } | null> {
    const ctx = this.ctx;
    checkRoot(ctx, root);
    if (root === 1) throw misuse('sqlite_schema (page 1) cannot be dropped');
    dropTails(ctx);
    await clearTree(ctx, root);
    if (!ctx.autoVacuum) {
      await freePage(ctx, root);
      return null;
    }
    const w1 = await writePage(ctx, 1);
    const maxRoot = get32(w1, 52);
    let moved: { movedFrom: Pgno; movedTo: Pgno } | null = null;
    if (root === maxRoot) {
      await freePage(ctx, root);
    } else {
      if (maxRoot < root || maxRoot > ctx.txn.pageCount) throw corrupt(1, `largest root page ${maxRoot} is inconsistent with root ${root}`);
      await relocatePage(ctx, maxRoot, PTRMAP_ROOTPAGE, 0, root);
      await freePage(ctx, maxRoot);
      moved = { movedFrom: maxRoot, movedTo: root };
    }
    let m = maxRoot - 1;
    while (m === ctx.lockByte || isPtrmap(ctx, m)) m--;
    put32(w1, 52, m);
    return moved;
  }

  /** Deletes every entry but keeps the root (SQLite's clearTable). */
  async clearBtree(root: Pgno): Promise<void> {
    const ctx = this.ctx;
    checkRoot(ctx, root);
    dropTails(ctx);
    await clearTree(ctx, root);
  }

  /**
   * The append path without a promise: writes the row and returns true when `rowid` is larger
   * than every rowid in the table and the row fits in the right-most leaf as the tail last
   * saw it (no seek, no page read); returns false, having changed nothing, otherwise (then call
   * insert). For bulk loads: `if (!w.tryAppend(root, id, rec)) await w.insert(root, id, rec)`.
   */
  tryAppend(root: Pgno, rowid: Rowid, record: Uint8Array): boolean {
    const ctx = this.ctx;
    const t = ctx.tails.get(root);
    if (t === undefined || !(t.max === null || rowid > t.max)) return false;
    checkRowid(rowid);
    if (!appendFast(ctx, t, rowid, record) && !appendSplit(ctx, t, rowid, record)) return false;
    t.max = rowid;
    return true;
  }

  /**
   * The rowid a new row of table `root` would take (the largest + 1), when the tail knows the
   * largest one and the answer is a safe integer; else undefined (ask maxRowid). tryAppend
   * checks the tail is still current before it uses it.
   */
  nextRowidHint(root: Pgno): number | undefined {
    const t = this.ctx.tails.get(root);
    if (t === undefined) return undefined;
    if (t.max === null) return 1;
    return typeof t.max === 'number' && t.max < Number.MAX_SAFE_INTEGER ? t.max + 1 : undefined;
  }

  /** Table b-tree: inserts or replaces the row with this rowid (record = encoded payload). */
  insert(root: Pgno, rowid: Rowid, record: Uint8Array): Promise<void> {
    try {
      const ctx = this.ctx;
      const t = ctx.tails.get(root);
      if (t !== undefined && (t.max === null || rowid > t.max)) {
        checkRowid(rowid);
        if (appendFast(ctx, t, rowid, record) || appendSplit(ctx, t, rowid, record)) {
          t.max = rowid;
          return DONE;
        }
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.insertSlow(root, rowid, record, false).then(() => undefined);
  }

  /**
   * Table b-tree: inserts the row unless one with this rowid exists (then changes nothing and
   * returns false); one seek, where an existence check and an insert take two.
   */
  insertIfAbsent(root: Pgno, rowid: Rowid, record: Uint8Array): Promise<boolean> {
    return this.insertSlow(root, rowid, record, true);
  }

  /**
   * insertIfAbsent without a savepoint, when the record needs no overflow page and the cell
   * fits in the leaf's gap (one change to one page), or the leaf is full and
   * splitLeafInsert redistributes it with its siblings (its common case: the parent takes the
   * new dividers in place, new pages come from the end of the file). Returns true (inserted) or
   * false (the rowid exists: nothing changed); undefined when it is not such an insert
   * (nothing changed: call insertIfAbsent). Synchronous while the pages it needs are in
   * memory; else it waits for them (the record is copied first: the caller may reuse its
   * buffer). Every read and check comes before the first byte is written and nothing after it
   * can fail, so the caller's statement needs no savepoint around it (as SQLite runs a
   * single-row INSERT that cannot abort half-way without a statement journal).
   */
  tryInsert(root: Pgno, rowid: Rowid, record: Uint8Array): MaybePromise<boolean | undefined> {
    const ctx = this.ctx;
    checkRoot(ctx, root);
    checkRowid(rowid);
    if (!(record instanceof Uint8Array)) throw misuse('a record must be a Uint8Array');
    if (record.length > ctx.g.maxTable) return undefined;
    const s = seekTable(ctx, root, rowid);
    if (!(s instanceof Promise)) return this.insertOne(root, s, rowid, record);
    const rec = record.slice();
    return s.then((x) => this.insertOne(root, x, rowid, rec));
  }

  /** tryInsert, once the seek is done. */
  private insertOne(root: Pgno, s: TableSeek, rowid: Rowid, record: Uint8Array): MaybePromise<boolean | undefined> {
    if (s.found) return false;
    const ctx = this.ctx;
    const lv = s.path[s.path.length - 1];
    const h = hdrOf(lv.pgno);
    const n = nCellOf(lv.data, h);
    // At least the pointer and a cell of the record plus 2 varint bytes (placeLeafCell checks
    // exactly, on the writable image; this spares making a copy that would not be used).
    if (h + 8 + 2 * n + 2 + record.length + 2 > (((lv.data[h + 5] << 8) | lv.data[h + 6]) || 65536)) return this.splitOne(root, s, rowid, record);
    const place = (w: Uint8Array, rec: Uint8Array): MaybePromise<boolean | undefined> => {
      if (!placeLeafCell(w, h, lv.idx, rowid, rec)) return this.splitOne(root, s, rowid, rec);
      parsedAfterWrite(w, lv.pgno, ctx.U);
      lv.data = w;
      lv.w = true;
      if (s.rightmost) setTail(ctx, root, s.path, rowid);
      else dropTails(ctx, root);
      return true;
    };
    const w = ctx.txn.writable(lv.pgno);
    if (w instanceof Uint8Array) return place(w, record);
    const rec = record.slice();
    return w.then((x) => place(x, rec));
  }

  /**
   * insertOne when the leaf's gap does not hold the cell: the leaf split without a savepoint
   * (splitLeafInsert), or undefined (nothing changed) when it is not that common case.
   */
  private splitOne(root: Pgno, s: TableSeek, rowid: Rowid, record: Uint8Array): MaybePromise<boolean | undefined> {
    const ctx = this.ctx;
    const cell = leafCell(ctx, rowid, record, s.path[s.path.length - 1].pgno);
    if (cell instanceof Promise) throw misuse('a record with an overflow chain (internal error)');
    const r = splitLeafInsert(ctx, s.path, cell);
    const after = (ok: boolean): true | undefined => {
      if (!ok) return undefined;
      dropTails(ctx, root);
      return true;
    };
    return r instanceof Promise ? r.then(after) : after(r);
  }

  private async insertSlow(root: Pgno, rowid: Rowid, record: Uint8Array, ifAbsent: boolean): Promise<boolean> {
    const ctx = this.ctx;
    checkRoot(ctx, root);
    checkRowid(rowid);
    if (!(record instanceof Uint8Array)) throw misuse('a record must be a Uint8Array');
    let path: Level[];
    let found = false;
    let rightmost: boolean;
    const t = ctx.tails.get(root);
    if (t !== undefined && (t.max === null || rowid > t.max) && tailValid(ctx, t)) {
      path = pathOfTail(t);
      rightmost = true;
    } else {
      dropTails(ctx, root);
      let s = seekTable(ctx, root, rowid);
      if (s instanceof Promise) s = await s;
      ({ path, found, rightmost } = s);
      if (found && ifAbsent) return false;
    }
    const L = path.length - 1;
    const i = path[L].idx;
    let cell = leafCell(ctx, rowid, record, path[L].pgno);
    if (cell instanceof Promise) cell = await cell;
    const edit = new Edit(ctx, path);
    if (found) {
      await freeOverflow(ctx, edit.cellAt(L, i), PTF_TABLE_LEAF, path[L].pgno);
      await edit.replace(L, i, cell);
    } else {
      await edit.insert(L, i, cell);
    }
    await edit.finish();
    if (!found && rightmost && !edit.restructured) setTail(ctx, root, edit.path, rowid);
    else ctx.tails.delete(root);
    return true;
  }

  /**
   * delete() without a savepoint, when it is one change to one page: the cell has no overflow
   * chain, and the leaf is the root or keeps at least a third of its bytes in use (no
   * balancing). Synchronous while the pages it needs are in memory; else it waits for them
   * before it changes anything. dropCell checks the freeblock list and the cell against it
   * before its first write (a damaged page fails it with the page unchanged), and nothing can
   * fail after that write, so the caller's statement needs no savepoint. Returns true (deleted), false (no such row) or
   * undefined (not such a delete: call delete); nothing changed unless true.
   */
  tryDelete(root: Pgno, rowid: Rowid): MaybePromise<boolean | undefined> {
    const ctx = this.ctx;
    checkRoot(ctx, root);
    checkRowid(rowid);
    const s = seekTable(ctx, root, rowid);
    return s instanceof Promise ? s.then((x) => this.deleteOne(root, x)) : this.deleteOne(root, s);
  }

  /** tryDelete, once the seek is done. */
  private deleteOne(root: Pgno, s: TableSeek): MaybePromise<boolean | undefined> {
    if (!s.found) return false;
    const ctx = this.ctx;
    const L = s.path.length - 1;
    const lv = s.path[L];
    const U = ctx.U;
    const h = hdrOf(lv.pgno);
    const at = lv.idx;
    const off = cellOffset(parsePage(lv.data, lv.pgno, U), at);
    dropSlot.at = -1;
    const size = cellSize(lv.data, off, PTF_TABLE_LEAF, ctx.g, U, lv.pgno, dropSlot);
    if (dropSlot.at >= 0) return undefined;
    if (L > 0 && computeFreeSpace(lv.data, h, U, lv.pgno) + size + 2 > Math.floor((U * 2) / 3)) return undefined;
    const top = contentStartOf(lv.data, h);
    const drop = (w: Uint8Array): boolean => {
      dropCell(w, h, at, size, U, lv.pgno); // checks all before its first write
      // The page's other cell pointers were checked when it was parsed; while the content
      // area starts where it did, they are still inside it: the parse is updated, not redone.
      if (contentStartOf(w, h) === top) parsedAfterWrite(w, lv.pgno, U);
      else forgetPage(w);
      dropTails(ctx, root);
      return true;
    };
    const w = ctx.txn.writable(lv.pgno);
    return w instanceof Uint8Array ? drop(w) : w.then(drop);
  }

  /** Table b-tree: deletes the row; false if absent. */
  async delete(root: Pgno, rowid: Rowid): Promise<boolean> {
    const ctx = this.ctx;
    checkRoot(ctx, root);
    checkRowid(rowid);
    ctx.tails.delete(root);
    let s = seekTable(ctx, root, rowid);
    if (s instanceof Promise) s = await s;
    const { path, found } = s;
    if (!found) return false;
    const L = path.length - 1;
    const i = path[L].idx;
    const edit = new Edit(ctx, path);
    await freeOverflow(ctx, edit.cellAt(L, i), PTF_TABLE_LEAF, path[L].pgno);
    await edit.drop(L, i);
    await edit.finish();
    return true;
  }

  /**
   * Index / WITHOUT ROWID b-tree: inserts an entry (record); an entry comparing equal on all
   * columns under keyInfo (columns beyond keyInfo compare BINARY ascending) is replaced.
   */
  async insertIndex(root: Pgno, record: Uint8Array, keyInfo: KeyInfo): Promise<void> {
    const ctx = this.ctx;
    checkRoot(ctx, root);
    if (!(record instanceof Uint8Array)) throw misuse('a record must be a Uint8Array');
    const key = new RawRecord();
    if (!key.parse(record, 0, record.length)) throw misuse('the index record is malformed');
    const { cmp, order } = orderOf(keyInfo, ctx.encoding);
    dropTails(ctx, root);
    const { path, found } = await seekIndex(ctx, root, rawTest(ctx, key, record, order, cmp));
    const d = path.length - 1;
    const lv = path[d];
    const i = lv.idx;
    const edit = new Edit(ctx, path);
    const cell = await leafCell(ctx, null, record, lv.pgno);
    if (!found) {
      await edit.insert(d, i, cell);
    } else {
      const type = edit.types[d];
      const old = edit.cellAt(d, i);
      await freeOverflow(ctx, old, type, lv.pgno);
      await edit.replace(d, i, type === PTF_INDEX_LEAF ? cell : interiorIndexCell(get32(old, 0), indexBody(ctx, cell, lv.pgno)));
    }
    await edit.finish();
  }

  /**
   * Index b-tree: inserts an entry expected to sort after every entry in the tree (a copy in
   * key order, an index on an increasing column). It is compared only with the tree's last
   * entry (kept between calls with the tree's right-most path, as the table tail is) and goes
   * to the end of the right-most leaf, written straight into it while it has room; when it
   * does not sort last, this is insertIndex (an equal entry is replaced).
   */
  appendIndex(root: Pgno, record: Uint8Array, keyInfo: KeyInfo): Promise<void> {
    try {
      const ctx = this.ctx;
      const t = ctx.itails.get(root);
      if (t !== undefined && record instanceof Uint8Array) {
        const key = decodeKey(ctx, record);
        const cmp = t.keyInfo === keyInfo && t.cmp !== undefined ? t.cmp : keyComparator(keyInfo, ctx.encoding);
        if ((t.last === null || cmp(key, t.last) > 0) && appendFast(ctx, t, null, record)) {
          t.last = key;
          t.keyInfo = keyInfo;
          t.cmp = cmp;
          return DONE;
        }
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.appendIndexSlow(root, record, keyInfo);
  }

  private async appendIndexSlow(root: Pgno, record: Uint8Array, keyInfo: KeyInfo): Promise<void> {
    const ctx = this.ctx;
    checkRoot(ctx, root);
    if (!(record instanceof Uint8Array)) throw misuse('a record must be a Uint8Array');
    const key = decodeKey(ctx, record);
    const cmp = keyComparator(keyInfo, ctx.encoding);
    let t: IndexTail | undefined = ctx.itails.get(root);
    if (t !== undefined && !tailValid(ctx, t)) t = undefined;
    let path: Level[];
    if (t !== undefined) {
      if (t.last !== null && cmp(key, t.last) <= 0) return this.insertIndex(root, record, keyInfo);
      path = pathOfTail(t);
    } else {
      ctx.itails.delete(root);
      path = await seekLast(ctx, root, false);
      const leaf = path[path.length - 1];
      const p = parsePage(leaf.data, leaf.pgno, ctx.U);
      if (p.nCell > 0) {
        let last = cellKey(ctx, p, p.nCell - 1, key.length);
        if (last instanceof Promise) last = await last;
        if (cmp(key, last) <= 0) return this.insertIndex(root, record, keyInfo);
      }
    }
    const L = path.length - 1;
    const cell = await leafCell(ctx, null, record, path[L].pgno);
    const edit = new Edit(ctx, path);
    await edit.insert(L, path[L].idx, cell);
    await edit.finish();
    if (edit.restructured) ctx.itails.delete(root);
    else setIndexTail(ctx, root, edit.path, key, keyInfo, cmp);
  }

  /**
   * Index b-tree: deletes the entry equal to `key` (decoded values: the full entry, or a prefix
   * that identifies one entry; the first such entry is deleted); false if absent.
   */
  async deleteIndex(root: Pgno, key: readonly SqlValue[], keyInfo: KeyInfo): Promise<boolean> {
    const ctx = this.ctx;
    checkRoot(ctx, root);
    if (!Array.isArray(key)) throw misuse('an index key must be an array of values');
    const { cmp } = orderOf(keyInfo, ctx.encoding);
    dropTails(ctx, root);
    const { path, found } = await seekIndex(ctx, root, decodedTest(ctx, key, cmp));
    if (!found) return false;
    const d = path.length - 1;
    const lv = path[d];
    const i = lv.idx;
    const type = lv.data[hdrOf(lv.pgno)];
    if (type === PTF_INDEX_LEAF) {
      const edit = new Edit(ctx, path);
      await freeOverflow(ctx, edit.cellAt(d, i), type, lv.pgno);
      await edit.drop(d, i);
      await edit.finish();
      return true;
    }
    // An interior entry: its predecessor (the last entry of the right-most leaf of the left
    // subtree) takes its place.
    let pgno = childOf(parsePage(lv.data, lv.pgno, ctx.U), i);
    for (;;) {
      const p = await enter(ctx, path, pgno, false);
      path.push({ pgno, data: p.data, idx: p.leaf ? p.nCell - 1 : p.nCell, w: false });
      if (p.leaf) break;
      pgno = p.rightChild;
    }
    const edit = new Edit(ctx, path);
    const L = path.length - 1;
    const old = edit.cellAt(d, i);
    await freeOverflow(ctx, old, type, lv.pgno);
    const leafCellBytes = edit.cellAt(L, path[L].idx);
    const repl = interiorIndexCell(get32(old, 0), indexBody(ctx, leafCellBytes, path[L].pgno).slice());
    await edit.drop(L, path[L].idx);
    await edit.replace(d, i, repl);
    await edit.finish();
    return true;
  }

  /** Largest rowid of a table b-tree, or null when it is empty. */
  async maxRowid(root: Pgno): Promise<Rowid | null> {
    const ctx = this.ctx;
    checkRoot(ctx, root);
    const t = ctx.tails.get(root);
    if (t !== undefined && tailValid(ctx, t)) return t.max;
    const path = await seekLast(ctx, root, true);
    const leaf = path[path.length - 1];
    const p = parsePage(leaf.data, leaf.pgno, ctx.U);
    const max = p.nCell === 0 ? null : cellRowid(p, p.nCell - 1);
    setTail(ctx, root, path, max);
    return max;
  }

  /** Before commit: auto-vacuum FULL truncates the file; a no-op otherwise. */
  async beforeCommit(): Promise<void> {
    const ctx = this.ctx;
    await autoVacuumCommit(ctx);
  }

  /**
   * PRAGMA incremental_vacuum(n): frees up to n pages from the end (all when n <= 0) and
   * returns the number of pages removed. Only incremental auto-vacuum databases change.
   */
  async incrementalVacuum(n: number): Promise<number> {
    if (typeof n !== 'number' || Number.isNaN(n)) throw misuse(`invalid page count ${String(n)}`);
    const ctx = this.ctx;
    return incrementalVacuum(ctx, n);
  }
}

/**
 * Formats page 1 of a new database: the header (`header`, see pager/header.ts newHeader) and
 * an empty sqlite_schema table leaf. Grows the image to one page if it is empty. An auto-vacuum
 * database starts with one page too, as SQLite's do: the first pointer-map page (page 2) is
 * created when page 3 is allocated (SQLite refuses to commit a file whose last page is a
 * pointer-map page).
 */
export async function initializeDatabase(txn: WritablePageSource, header: DbHeader): Promise<void> {
  if (header.pageSize !== txn.pageSize) {
    throw misuse(`header page size ${header.pageSize} differs from the transaction's ${txn.pageSize}`);
  }
  if (txn.pageCount < 1) txn.setPageCount(1);
  let p1 = txn.writable(1);
  if (!(p1 instanceof Uint8Array)) p1 = await p1;
  p1.fill(0);
  encodeHeader(header, p1);
  zeroPage(p1, 100, PTF_TABLE_LEAF, header.pageSize - header.reservedBytes);
  forgetPage(p1);
  resetWriteCtx(txn);
}
