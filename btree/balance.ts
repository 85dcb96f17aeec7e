/**
 * Editing one b-tree along a root-to-leaf path, and balancing (like insertCell/dropCell in
 * sqlite3BtreeInsert/Delete, balance, balance_quick, balance_deeper, balance_nonroot and the
 * shallower step of balance_nonroot in btree.c).
 *
 * An {@link Edit} holds the path of one operation: at each depth d the page (pgno, image) and
 * idx[d], the child index taken (interior) or the cell position (leaf). Cells are changed in
 * place when they fit (cellwrite.ts: freeblocks, gap, defragmentation). When a page cannot
 * hold its new cells, the level gets *pending content*: the complete list of its cells (and
 * right child) in memory, which may be larger than a page. {@link Edit.finish} then walks the
 * path bottom-up and settles every level that has pending content or lost cells:
 *
 *   1. pending content that fits, on a page that is not under a third full (non-root), is
 *      written back as a freshly packed page (rebuildPage);
 *   2. a cell appended after the last cell of a full page is not merged into a cell list at
 *      once: the level remembers "page + appended cell" (tailCell). When the page is its
 *      parent's right-most child (and the parent is not page 1), a table leaf gets SQLite's
 *      balance_quick (a new right-most leaf holding only the new cell; the old leaf's largest
 *      rowid goes up as the divider), and an index leaf or an interior page (which got its
 *      appended divider that way) gets the same idea generalised, in place: the page gives
 *      up its last cell, which goes up as the divider, and a new right-most page starts with
 *      the appended cell. Sequential inserts thus fill pages fully at every level, without
 *      copying or redistributing full pages. Otherwise the level is materialized (its cells
 *      plus the appended one become pending content) and settled as in 1 or 3;
 *   3. otherwise the page is redistributed with its siblings (balance_nonroot, simplified):
 *      up to three adjacent children of the parent around it, plus the dividers between them,
 *      are laid out as one sequence of cells:
 *
 *        TREE/LEVEL       SEQUENCE                                        DIVIDER UP
 *        table leaf       cells of each sibling (dividers dropped)        last rowid of the left page
 *        index leaf       cells, divider entry, cells, ...                the entry between pages
 *        interior (both)  cells, [left sibling's right child | divider],  the cell between pages:
 *                         cells, ...                                      its child becomes the
 *                                                                         left page's right child
 *
 *      and cut into the fewest pages that hold it (greedy, left to right), then evened out
 *      from the right (cells move right while the right page stays no fuller than the left),
 *      which leaves every page at least about half full when a merge happened. Old pages are
 *      reused in order, missing ones allocated, extra ones freed. In the parent the old
 *      dividers are dropped and the new ones inserted in place when they fit (the parent is
 *      then checked for underflow); otherwise the parent gets pending content. Either way it
 *      is settled next (it may overflow or underflow in turn);
 *   4. the root never moves: when its pending content does not fit, the content goes to a
 *      new child page and the root becomes an interior page with no cells whose right child
 *      is that page (balance_deeper), which is then split as in 3. When an interior root ends
 *      with no cells, its only child's content is copied into it and the child freed
 *      (shallower), unless it does not fit: page 1 has 100 bytes less, so sqlite_schema may
 *      keep an empty interior root ("virtual root", as SQLite allows on page 1 only).
 *
 * A page is underfull when its free space exceeds 2/3 of the usable size (SQLite's nMin); a
 * non-root page without cells is always underfull, so pages never stay empty. Index interior
 * cells hold entries: the divider rules above keep every entry exactly once. Cell sizes are
 * exact (cellSizePtr), so SQLite's fragment accounting and free-space checks hold.
 *
 * In auto-vacuum databases every page written from a cell list gets its pointer-map entries
 * re-derived (children BTREE(page), first overflow pages OVERFLOW1(page)), and so does every
 * cell inserted in place; a page's own entry BTREE(parent) is set where its parent's pointer
 * is written. Writes go through txn.writable(); pages changed in place are dropped from the
 * parse cache (forgetPage).
 *
 * Cell lists (CellList: buffer, offset and length per cell, no object per cell) read from a
 * page point into one copy of that page, so rebuilding pages from them is safe; code that
 * changes a cell copies it first. The copies are pooled: an edit takes them and gives them
 * back at the end of finish(), when no list points into them any more. Operations
 * are bounded: the finish loop only moves up (a deepening adds one level, capped by
 * MAX_TREE_DEPTH), siblings are checked against the path (cycles) and against each other.
 */
import { get32, put32 } from '../pager/bytes.js';
import { corrupt } from '../pager/errors.js';
import type { Pgno } from '../pager/source.js';
import { allocatePage, checkPgno, freePage, ptrmapPut, readPage, type WriteCtx } from './alloc.js';
import {
  CellList,
  type CellRuns,
  cellSize,
  computeFreeSpace,
  dropCell,
  headerSize,
  indexBodyLength,
  insertCell,
  isLeafType,
  nCellOf,
  rebuildPage,
  rebuildPageFrom,
} from './cellwrite.js';
import { cellOffset, forgetPage, parsedAfterWrite, parsePage, PTF_INDEX_INTERIOR, PTF_INDEX_LEAF, PTF_TABLE_INTERIOR, PTF_TABLE_LEAF } from './page.js';
import { PTRMAP_BTREE, PTRMAP_OVERFLOW1 } from './ptrmap.js';
import type { MaybePromise } from './value.js';
import { readVarint, writeVarint, type Varint } from './varint.js';

/** SQLite's BTCURSOR_MAX_DEPTH. */
export const MAX_TREE_DEPTH = 20;

/** One page on the path of an edit. */
export interface Level {
  pgno: Pgno;
  /** The page image: read-only until `w`, then the transaction's writable image. */
  data: Uint8Array;
  /** Child index taken (interior) or cell position (leaf). */
  idx: number;
  w: boolean;
}

/** A page's cells (exact on-page bytes, in order) and right child (interior pages). */
export interface Content {
  cells: Uint8Array[];
  right: Pgno;
}

/**
 * Page copies that cell lists point into, kept between edits: an edit takes them while it
 * runs and gives them back when it finished (its lists are gone by then). A spare of another
 * size (another database's usable size) is dropped when met.
 */
const spareCopies: Uint8Array[] = [];
const MAX_SPARE_COPIES = 32;

const ovflSlot = { at: -1 };
const vslot: Varint = { value: 0 };

function hdrOf(pgno: Pgno): number {
  return pgno === 1 ? 100 : 0;
}

function interiorOf(type: number): number {
  return type === PTF_TABLE_LEAF ? PTF_TABLE_INTERIOR : type === PTF_INDEX_LEAF ? PTF_INDEX_INTERIOR : type;
}

/** Reads every cell of a page (validated by parsePage) into a Content. */
export function readContent(ctx: WriteCtx, pgno: Pgno, data: Uint8Array): Content {
  // One copy of the page; the cells are views into it (callers copy before changing a cell).
  const l = readCells(ctx, pgno, data, data.slice(0, ctx.U));
  const cells: Uint8Array[] = new Array(l.length);
  for (let i = 0; i < l.length; i++) cells[i] = l.view(i);
  return { cells, right: l.right };
}

/**
 * Every cell of page `data` (validated by parsePage) as a list pointing into `copy`, a copy of
 * the page's first U bytes (so the page itself may be rewritten from the list).
 */
function readCells(ctx: WriteCtx, pgno: Pgno, data: Uint8Array, copy: Uint8Array): CellList {
  const p = parsePage(data, pgno, ctx.U);
  const l = new CellList();
  for (let i = 0; i < p.nCell; i++) {
    const off = cellOffset(p, i);
    l.push(copy, off, cellSize(copy, off, p.type, ctx.g, ctx.U, pgno));
  }
  l.right = p.rightChild;
  return l;
}

/** Sets the pointer-map entries a cell on page `pgno` (of `type`) implies. */
export async function ptrmapCell(ctx: WriteCtx, cell: Uint8Array, type: number, pgno: Pgno): Promise<void> {
  if (!ctx.autoVacuum) return;
  if (!isLeafType(type)) await ptrmapPut(ctx, get32(cell, 0), PTRMAP_BTREE, pgno);
  if (type === PTF_TABLE_INTERIOR) return;
  cellSize(cell, 0, type, ctx.g, cell.length, pgno, ovflSlot);
  if (ovflSlot.at >= 0) await ptrmapPut(ctx, get32(cell, ovflSlot.at), PTRMAP_OVERFLOW1, pgno);
}

/** Sets the pointer-map entries of every child and overflow chain of a page (setChildPtrmaps). */
export async function ptrmapChildren(ctx: WriteCtx, pgno: Pgno, data: Uint8Array): Promise<void> {
  if (!ctx.autoVacuum) return;
  const p = parsePage(data, pgno, ctx.U);
  for (let i = 0; i < p.nCell; i++) {
    const off = cellOffset(p, i);
    if (!p.leaf) await ptrmapPut(ctx, get32(data, off), PTRMAP_BTREE, pgno);
    if (p.type === PTF_TABLE_INTERIOR) continue;
    cellSize(data, off, p.type, ctx.g, ctx.U, pgno, ovflSlot);
    if (ovflSlot.at >= 0) await ptrmapPut(ctx, get32(data, ovflSlot.at), PTRMAP_OVERFLOW1, pgno);
  }
  if (!p.leaf) await ptrmapPut(ctx, p.rightChild, PTRMAP_BTREE, pgno);
}

/** A table interior cell [child | rowid]. */
export function tableInteriorCell(child: Pgno, rowid: number | bigint): Uint8Array {
  const tmp = new Uint8Array(13);
  put32(tmp, 0, child);
  const n = writeVarint(tmp, 4, rowid);
  return tmp.slice(0, 4 + n);
}

/**
 * distribute()'s answer: page j of the cut holds entries [cutStart[j], cutEnd[j]) of the
 * sequence, for j below the count it returns. Scratch, overwritten by the next call: a caller
 * that waits before using it copies it first.
 */
let cutStart = new Int32Array(16);
let cutEnd = new Int32Array(16);
let cutTot = new Int32Array(16);

/**
 * Cuts a sequence of n cells (lens: their lengths; each also takes a 2-byte pointer) into
 * pages (see the module comment); returns the number of pages, the cut in cutStart/cutEnd.
 */
function distribute(lens: ArrayLike<number>, n: number, cap: number, consume: boolean, pgno: Pgno): number {
  if (cutStart.length < n + 2) {
    cutStart = new Int32Array(2 * n + 2);
    cutEnd = new Int32Array(2 * n + 2);
    cutTot = new Int32Array(2 * n + 2);
  }
  const starts = cutStart;
  const ends = cutEnd;
  let k = 0;
  let i = 0;
  for (;;) {
    const s = i;
    let used = 0;
    while (i < n && used + lens[i] + 2 <= cap) used += lens[i++] + 2;
    if (i === s) throw corrupt(pgno, 'a cell is larger than a page');
    starts[k] = s;
    ends[k++] = i;
    if (i >= n) break;
    if (consume) {
      if (i + 1 >= n) {
        // The divider would be the last cell: make this page's last cell the divider instead
        // and give the next page that final cell.
        if (i - s < 2) throw corrupt(pgno, 'cannot split the cells of a page (internal error)');
        ends[k - 1] = i - 1;
        starts[k] = i;
        ends[k++] = n;
        break;
      }
      i++;
    }
  }
  const tot = cutTot;
  for (let j = 0; j < k; j++) {
    let t = 0;
    for (let x = starts[j]; x < ends[j]; x++) t += lens[x] + 2;
    tot[j] = t;
  }
  for (let j = k - 1; j > 0; j--) {
    for (;;) {
      const eL = ends[j - 1];
      if (eL - starts[j - 1] <= 1) break;
      const moving = (consume ? lens[eL] : lens[eL - 1]) + 2;
      const newRight = tot[j] + moving;
      const newLeft = tot[j - 1] - (lens[eL - 1] + 2);
      if (newRight > cap || newRight > newLeft) break;
      tot[j] = newRight;
      tot[j - 1] = newLeft;
      ends[j - 1] = eL - 1;
      starts[j] = consume ? eL : eL - 1;
    }
  }
  return k;
}

/** One operation's edits along a path of one b-tree. */
export class Edit {
  readonly ctx: WriteCtx;
  readonly path: Level[];
  /** Page type of each level's content. */
  readonly types: number[];
  readonly pending: (CellList | undefined)[];
  /** Levels that lost cells in place (check for underflow). */
  readonly check: boolean[];
  /** True once pages were split, merged, moved or the depth changed. */
  restructured = false;
  /**
   * Levels whose content is their page plus one cell appended after the last one (and, on
   * interior pages, a new right child): kept unmaterialized so that the quick split can work
   * on the page in place; materialize() turns it into pending content when it cannot.
   */
  private readonly tailCell: (Uint8Array | undefined)[];
  private readonly tailRight: Pgno[];
  /** Free bytes above which a non-root page is underfull (SQLite's nMin: 2/3 of U). */
  private readonly nMin: number;
  /** Page copies taken from spareCopies, given back by finish(). */
  private readonly copies: Uint8Array[] = [];

  constructor(ctx: WriteCtx, path: Level[]) {
    this.ctx = ctx;
    this.path = path;
    this.types = path.map((l) => l.data[hdrOf(l.pgno)]);
    this.pending = path.map(() => undefined);
    this.check = path.map(() => false);
    this.tailCell = path.map(() => undefined);
    this.tailRight = path.map(() => 0);
    this.nMin = Math.floor((ctx.U * 2) / 3);
  }

  async writable(lv: Level): Promise<Uint8Array> {
    if (!lv.w) {
      let d = this.ctx.txn.writable(lv.pgno);
      if (!(d instanceof Uint8Array)) d = await d;
      lv.data = d;
      lv.w = true;
    }
    return lv.data;
  }

  /** The current content of level d (pending, or read from its page). */
  content(d: number): CellList {
    this.materialize(d);
    const c = this.pending[d];
    if (c !== undefined) return c;
    const lv = this.path[d];
    return this.readPage(lv.pgno, lv.data);
  }

  /** The cells of a page, pointing into a copy of it that lives until finish() returns. */
  private readPage(pgno: Pgno, data: Uint8Array): CellList {
    const U = this.ctx.U;
    const copy = takeCopy(U);
    copy.set(data.length === U ? data : data.subarray(0, U));
    this.copies.push(copy);
    return readCells(this.ctx, pgno, data, copy);
  }

  /** The bytes of cell i at level d (a copy, or a view valid until finish()). */
  cellAt(d: number, i: number): Uint8Array {
    this.materialize(d);
    const c = this.pending[d];
    if (c !== undefined) return c.view(i);
    const lv = this.path[d];
    const p = parsePage(lv.data, lv.pgno, this.ctx.U);
    if (i < 0 || i >= p.nCell) throw corrupt(lv.pgno, `no cell ${i}`);
    const off = cellOffset(p, i);
    return lv.data.slice(off, off + cellSize(lv.data, off, p.type, this.ctx.g, this.ctx.U, lv.pgno));
  }

  nCell(d: number): number {
    this.materialize(d);
    const c = this.pending[d];
    return c !== undefined ? c.length : nCellOf(this.path[d].data, hdrOf(this.path[d].pgno));
  }

  /** Inserts `cell` as cell i of level d. */
  async insert(d: number, i: number, cell: Uint8Array): Promise<void> {
    this.materialize(d);
    const c = this.pending[d];
    if (c !== undefined) {
      c.insert(i, cell);
      return;
    }
    const lv = this.path[d];
    const ctx = this.ctx;
    const hdr = hdrOf(lv.pgno);
    const data = await this.writable(lv);
    const type = this.types[d];
    const nFree = computeFreeSpace(data, hdr, ctx.U, lv.pgno);
    if (cell.length + 2 <= nFree) {
      insertCell(data, hdr, i, cell, ctx.U, lv.pgno);
      forgetPage(data);
      if (ctx.autoVacuum) await ptrmapCell(ctx, cell, type, lv.pgno);
      return;
    }
    if (i === nCellOf(data, hdr) && isLeafType(type)) {
      // An append: settled by finish(), with a quick split when possible.
      this.tailCell[d] = cell.slice();
      return;
    }
    const content = this.readPage(lv.pgno, data);
    content.insert(i, cell);
    this.pending[d] = content;
  }

  /** Turns level d's unmaterialized appended cell into pending content. */
  private materialize(d: number): void {
    const cell = this.tailCell[d];
    if (cell === undefined) return;
    this.tailCell[d] = undefined;
    const lv = this.path[d];
    const c = this.readPage(lv.pgno, lv.data);
    c.add(cell);
    if (!isLeafType(this.types[d])) c.right = this.tailRight[d];
    this.pending[d] = c;
  }

  /** Removes cell i of level d. */
  async drop(d: number, i: number): Promise<void> {
    this.materialize(d);
    const c = this.pending[d];
    if (c !== undefined) {
      c.remove(i);
      return;
    }
    const lv = this.path[d];
    const ctx = this.ctx;
    const hdr = hdrOf(lv.pgno);
    const data = await this.writable(lv);
    const p = parsePage(data, lv.pgno, ctx.U);
    if (i < 0 || i >= p.nCell) throw corrupt(lv.pgno, `no cell ${i} to drop`);
    const off = cellOffset(p, i);
    const sz = cellSize(data, off, p.type, ctx.g, ctx.U, lv.pgno);
    dropCell(data, hdr, i, sz, ctx.U, lv.pgno);
    forgetPage(data);
    this.check[d] = true;
  }

  /** Replaces cell i of level d by `cell`. */
  async replace(d: number, i: number, cell: Uint8Array): Promise<void> {
    this.materialize(d);
    const c = this.pending[d];
    if (c !== undefined) {
      c.set(i, cell);
      return;
    }
    const lv = this.path[d];
    const ctx = this.ctx;
    const data = await this.writable(lv);
    const p = parsePage(data, lv.pgno, ctx.U);
    if (i < 0 || i >= p.nCell) throw corrupt(lv.pgno, `no cell ${i} to replace`);
    const off = cellOffset(p, i);
    const sz = cellSize(data, off, p.type, ctx.g, ctx.U, lv.pgno);
    if (sz === cell.length) {
      data.set(cell, off);
      forgetPage(data);
      if (ctx.autoVacuum) await ptrmapCell(ctx, cell, p.type, lv.pgno);
      return;
    }
    dropCell(data, hdrOf(lv.pgno), i, sz, ctx.U, lv.pgno);
    forgetPage(data);
    this.check[d] = true;
    await this.insert(d, i, cell);
  }

  /**
   * Writes cells [start, end) of `l` (all of them by default) and right child `right` as the
   * whole page of level lv (type `type`), with pointer-map entries.
   */
  async writeContent(lv: Level, type: number, l: CellList, start = 0, end = l.length, right = l.right): Promise<void> {
    const ctx = this.ctx;
    const data = await this.writable(lv);
    rebuildPageFrom(data, hdrOf(lv.pgno), type, l, start, end, right, ctx.U, lv.pgno);
    forgetPage(data);
    if (ctx.autoVacuum) {
      for (let x = start; x < end; x++) await ptrmapCell(ctx, l.view(x), type, lv.pgno);
      if (!isLeafType(type)) await ptrmapPut(ctx, right, PTRMAP_BTREE, lv.pgno);
    }
  }

  /** Settles every level (see the module comment). */
  async finish(): Promise<void> {
    let d = this.path.length - 1;
    const U = this.ctx.U;
    while (d >= 0) {
      const tc = this.tailCell[d];
      if (tc !== undefined) {
        if (this.canQuick(d)) {
          const done = this.types[d] === PTF_TABLE_LEAF ? (await this.balanceQuick(d, tc), true) : await this.quickSplit(d, tc);
          if (done) {
            this.tailCell[d] = undefined;
            d--;
            continue;
          }
        }
        this.materialize(d);
      }
      const c = this.pending[d];
      if (c === undefined && !this.check[d]) {
        d--;
        continue;
      }
      if (d === 0) {
        if (await this.settleRoot()) {
          d = 1;
          continue;
        }
        break;
      }
      const lv = this.path[d];
      const type = this.types[d];
      if (c !== undefined) {
        const room = U - headerSize(type);
        const used = c.bytes();
        if (used <= room && room - used <= this.nMin) {
          await this.writeContent(lv, type, c);
          this.pending[d] = undefined;
          this.check[d] = false;
          d--;
          continue;
        }
      } else if (computeFreeSpace(lv.data, 0, U, lv.pgno) <= this.nMin) {
        this.check[d] = false;
        d--;
        continue;
      }
      await this.balanceNonroot(d);
      d--;
    }
    // Every list is written out: the page copies they pointed into are free again.
    giveCopies(this.copies);
    this.copies.length = 0;
  }

  /** balance_quick: `cell` goes alone onto a new right-most leaf (see the module comment). */
  private async balanceQuick(d: number, cell: Uint8Array): Promise<void> {
    const ctx = this.ctx;
    const leaf = this.path[d];
    const parent = this.path[d - 1];
    const np = await this.allocate(-1);
    let img = ctx.txn.writable(np);
    if (!(img instanceof Uint8Array)) img = await img;
    rebuildPage(img, 0, PTF_TABLE_LEAF, [cell], 0, ctx.U, np);
    forgetPage(img);
    if (ctx.autoVacuum) {
      await ptrmapPut(ctx, np, PTRMAP_BTREE, parent.pgno);
      await ptrmapCell(ctx, cell, PTF_TABLE_LEAF, np);
    }
    const div = tableInteriorCell(leaf.pgno, lastRowid(leaf.data, hdrOf(leaf.pgno), ctx.U, leaf.pgno));
    await this.appendToParent(d, div, np);
    this.path[d] = { pgno: np, data: img, idx: 0, w: true };
  }

  /** True when level d may split by starting a new right-most page (the quick split). */
  private canQuick(d: number): boolean {
    return (
      d > 0 &&
      this.pending[d - 1] === undefined &&
      this.tailCell[d - 1] === undefined &&
      this.path[d - 1].pgno !== 1 &&
      this.path[d - 1].idx === nCellOf(this.path[d - 1].data, 0)
    );
  }

  /** Appends divider `div` to the parent of level d and makes `right` its right child. */
  private async appendToParent(d: number, div: Uint8Array, right: Pgno): Promise<void> {
    const ctx = this.ctx;
    const parent = this.path[d - 1];
    const pdata = await this.writable(parent);
    const nP = nCellOf(pdata, 0);
    if (div.length + 2 <= computeFreeSpace(pdata, 0, ctx.U, parent.pgno)) {
      insertCell(pdata, 0, nP, div, ctx.U, parent.pgno);
      put32(pdata, 8, right);
      forgetPage(pdata);
      if (ctx.autoVacuum) await ptrmapCell(ctx, div, this.types[d - 1], parent.pgno);
    } else {
      this.tailCell[d - 1] = div;
      this.tailRight[d - 1] = right;
    }
    parent.idx = nP + 1;
  }

  /**
   * The quick split of an index leaf or an interior page that overflowed by the cell `cell`
   * appended after its last cell (an interior page also gets a new right child), while it is
   * its parent's right-most child: in place, the page gives up its last cell, which goes up as
   * the divider (on interior pages its child becomes the page's right child), and a new
   * right-most page starts with the appended cell. Appends thus leave full pages behind, as
   * balance_quick does for table leaves. False (nothing done) when the page has under 2 cells.
   */
  private async quickSplit(d: number, cell: Uint8Array): Promise<boolean> {
    const ctx = this.ctx;
    const type = this.types[d];
    const lv = this.path[d];
    const data = await this.writable(lv);
    const n = nCellOf(data, 0);
    if (n < 2) return false;
    const at = headerSize(type) + 2 * (n - 1);
    const off = (data[at] << 8) | data[at + 1];
    if (off < at + 2 || off >= ctx.U) throw corrupt(lv.pgno, `cell ${n - 1} pointer ${off} out of range`);
    const sz = cellSize(data, off, type, ctx.g, ctx.U, lv.pgno);
    const mid = data.slice(off, off + sz);
    const np = await this.allocate(-1);
    dropCell(data, 0, n - 1, sz, ctx.U, lv.pgno);
    let div: Uint8Array;
    const nlv: Level = { pgno: np, data: new Uint8Array(0), idx: 1, w: false };
    if (isLeafType(type)) {
      await this.writeContent(nlv, type, single(cell, 0));
      const len = indexBodyLength(mid, 0, ctx.g, mid.length, lv.pgno);
      div = new Uint8Array(4 + len);
      div.set(mid.subarray(0, len), 4);
    } else {
      put32(data, 8, get32(mid, 0));
      await this.writeContent(nlv, type, single(cell, this.tailRight[d]));
      div = mid;
    }
    forgetPage(data);
    put32(div, 0, lv.pgno);
    await ptrmapPut(ctx, np, PTRMAP_BTREE, this.path[d - 1].pgno);
    await this.appendToParent(d, div, np);
    this.path[d] = nlv;
    return true;
  }

  private async allocate(d: number): Promise<Pgno> {
    const pg = await allocatePage(this.ctx);
    for (let x = 0; x < this.path.length; x++) {
      if (x !== d && this.path[x].pgno === pg) throw corrupt(pg, 'the freelist hands out a page that is in use');
    }
    return pg;
  }

  /** Level 0: write pending content (or deepen), then shrink an empty interior root. */
  private async settleRoot(): Promise<boolean> {
    const ctx = this.ctx;
    const root = this.path[0];
    const hdr = hdrOf(root.pgno);
    const c = this.pending[0];
    let type = this.types[0];
    if (c !== undefined) {
      if (c.bytes() > ctx.U - hdr - headerSize(type)) {
        // balance_deeper: the content moves to a new child; the root points at it.
        if (this.path.length >= MAX_TREE_DEPTH) throw corrupt(root.pgno, `b-tree would grow deeper than ${MAX_TREE_DEPTH} levels`);
        const child = await this.allocate(0);
        let img = ctx.txn.writable(child);
        if (!(img instanceof Uint8Array)) img = await img;
        await ptrmapPut(ctx, child, PTRMAP_BTREE, root.pgno);
        this.path.splice(1, 0, { pgno: child, data: img, idx: root.idx, w: true });
        this.types.splice(1, 0, type);
        this.pending.splice(1, 0, c);
        this.check.splice(1, 0, false);
        this.tailCell.splice(1, 0, undefined);
        this.tailRight.splice(1, 0, 0);
        this.types[0] = interiorOf(type);
        this.pending[0] = single(undefined, child);
        root.idx = 0;
        this.restructured = true;
        return true;
      }
      await this.writeContent(root, type, c);
      this.pending[0] = undefined;
    }
    this.check[0] = false;
    type = root.data[hdr];
    if (!isLeafType(type) && nCellOf(root.data, hdr) === 0) {
      // Shallower: the only child's content moves up into the root, if it fits.
      const child = get32(root.data, hdr + 8);
      checkPgno(ctx, child, root.pgno, 'child page');
      let img = readPage(ctx, child);
      if (!(img instanceof Uint8Array)) img = await img;
      const cp = parsePage(img, child, ctx.U);
      if (cp.intKey !== (type === PTF_TABLE_INTERIOR)) throw corrupt(child, 'b-tree page of the wrong kind');
      const content = this.readPage(child, img);
      if (content.bytes() <= ctx.U - hdr - headerSize(cp.type)) {
        await this.writeContent(root, cp.type, content);
        this.types[0] = cp.type;
        await freePage(ctx, child);
        this.restructured = true;
      }
    }
    return false;
  }

  /**
   * Redistributes level d with up to two siblings. The parent is changed in place (old
   * dividers dropped, new ones inserted) when they fit, else it gets pending content.
   */
  private async balanceNonroot(d: number): Promise<void> {
    const ctx = this.ctx;
    const U = ctx.U;
    this.restructured = true;
    const parentLv = this.path[d - 1];
    const type = this.types[d];
    // The parent's cells: its pending content, or (read lazily) the cells on its page.
    const pend = this.pending[d - 1];
    const pp = pend === undefined ? parsePage(parentLv.data, parentLv.pgno, U) : undefined;
    const nCellP = pend !== undefined ? pend.length : pp!.nCell;
    const rightP = pend !== undefined ? pend.right : pp!.rightChild;
    // divAt(ci) places divider ci in (dB, dO, dL): buffer, offset, length.
    let dB = parentLv.data;
    let dO = 0;
    let dL = 0;
    const divAt = (ci: number): void => {
      if (pend !== undefined) {
        dB = pend.buf[ci];
        dO = pend.off[ci];
        dL = pend.len[ci];
      } else {
        dB = pp!.data;
        dO = cellOffset(pp!, ci);
        dL = cellSize(dB, dO, pp!.type, ctx.g, U, parentLv.pgno);
      }
    };
    const childAt = (ci: number): Pgno => (ci < nCellP ? (divAt(ci), get32(dB, dO)) : rightP);
    const nChild = nCellP + 1;
    const i = parentLv.idx;
    if (i < 0 || i >= nChild) throw corrupt(parentLv.pgno, `child index ${i} out of range`);
    if (childAt(i) !== this.path[d].pgno) throw corrupt(parentLv.pgno, 'path does not match the parent (internal error)');

    if (nChild === 1) {
      // The parent (an interior root without cells: page 1's virtual root) has only this child.
      const c = this.content(d);
      if (c.length === 0) {
        await freePage(ctx, this.path[d].pgno);
        this.pending[d - 1] = single(undefined, isLeafType(type) ? 0 : c.right);
        if (isLeafType(type)) this.types[d - 1] = type;
        return;
      }
    }

    const nOld = Math.min(3, nChild);
    let first = i - 1;
    if (first < 0) first = 0;
    if (first + nOld > nChild) first = nChild - nOld;
    const oldPg: Pgno[] = [];
    const contents: CellList[] = [];
    for (let j = 0; j < nOld; j++) {
      const ci = first + j;
      const pg = childAt(ci);
      if (ci === i) {
        oldPg.push(pg);
        contents.push(this.content(d));
        continue;
      }
      checkPgno(ctx, pg, parentLv.pgno, 'child page');
      for (let x = 0; x < d; x++) if (this.path[x].pgno === pg) throw corrupt(parentLv.pgno, `child page ${pg} is its own ancestor (cycle)`);
      if (pg === this.path[d].pgno || oldPg.includes(pg)) throw corrupt(parentLv.pgno, `child page ${pg} appears twice`);
      let img = readPage(ctx, pg);
      if (!(img instanceof Uint8Array)) img = await img;
      const sp = parsePage(img, pg, U);
      if (sp.type !== type) throw corrupt(pg, `sibling page has type ${sp.type}, expected ${type}`);
      oldPg.push(pg);
      contents.push(this.readPage(pg, img));
    }

    // The cells of the siblings and the dividers between them, as one sequence.
    const seq = new CellList();
    let freed = 0; // bytes the old dividers occupy in the parent (with their pointers)
    for (let j = 0; j < nOld; j++) {
      const cj = contents[j];
      for (let x = 0; x < cj.length; x++) seq.pushFrom(cj, x);
      if (j === nOld - 1) break;
      divAt(first + j);
      freed += dL + 2;
      if (type === PTF_TABLE_LEAF) continue;
      if (type === PTF_INDEX_LEAF) {
        // The divider's body, padded to 4 bytes (a leaf cell's minimum).
        const body = new Uint8Array(Math.max(4, dL - 4));
        body.set(dB.subarray(dO + 4, dO + dL));
        seq.add(body);
      } else {
        const c = dB.slice(dO, dO + dL);
        put32(c, 0, cj.right);
        seq.add(c);
      }
    }
    const finalRight = contents[nOld - 1].right;
    const consume = type !== PTF_TABLE_LEAF;
    const k = distribute(seq.len, seq.length, U - headerSize(type), consume, this.path[d].pgno);
    const starts = Array.from(cutStart.subarray(0, k));
    const ends = Array.from(cutEnd.subarray(0, k));

    // Pages: the old ones in order, then new ones; extra old ones are freed.
    const newPg: Pgno[] = [];
    for (let j = 0; j < k; j++) {
      const pg = j < nOld ? oldPg[j] : await this.allocate(-1);
      if (j >= nOld && oldPg.includes(pg)) throw corrupt(pg, 'the freelist hands out a page that is in use');
      newPg.push(pg);
    }
    for (let j = k; j < nOld; j++) await freePage(ctx, oldPg[j]);

    const dividers: Uint8Array[] = [];
    let need = 0;
    for (let j = 0; j < k; j++) {
      let right = 0;
      if (j < k - 1) {
        let div: Uint8Array;
        if (type === PTF_TABLE_LEAF) {
          const x = ends[j] - 1;
          div = tableInteriorCell(newPg[j], leafCellRowid(seq.buf[x], seq.off[x], seq.off[x] + seq.len[x], newPg[j]));
        } else {
          const x = ends[j];
          const b = seq.buf[x];
          const o = seq.off[x];
          if (type === PTF_INDEX_LEAF) {
            const len = indexBodyLength(b, o, ctx.g, o + seq.len[x], newPg[j]);
            div = new Uint8Array(4 + len);
            div.set(b.subarray(o, o + len), 4);
          } else {
            right = get32(b, o);
            div = b.slice(o, o + seq.len[x]);
          }
          put32(div, 0, newPg[j]);
        }
        dividers.push(div);
        need += div.length + 2;
      } else {
        right = finalRight;
      }
      const lv: Level = j < nOld && oldPg[j] === this.path[d].pgno ? this.path[d] : { pgno: newPg[j], data: new Uint8Array(0), idx: 0, w: false };
      await this.writeContent(lv, type, seq, starts[j], ends[j], isLeafType(type) ? 0 : right);
    }
    this.pending[d] = undefined;
    this.check[d] = false;

    // The parent: the new dividers replace the old ones; the last new page takes the slot of
    // the last old one (the cell after the dividers, or the right child).
    const lastOld = first + nOld - 1;
    const pType = this.types[d - 1];
    if (pend === undefined) {
      const pdata = await this.writable(parentLv);
      const hdrP = hdrOf(parentLv.pgno);
      if (need <= computeFreeSpace(pdata, hdrP, U, parentLv.pgno) + freed) {
        const ptr0 = hdrP + 12;
        for (let j = 0; j < nOld - 1; j++) {
          const off = (pdata[ptr0 + 2 * first] << 8) | pdata[ptr0 + 2 * first + 1];
          dropCell(pdata, hdrP, first, cellSize(pdata, off, pType, ctx.g, U, parentLv.pgno), U, parentLv.pgno);
        }
        for (let j = 0; j < k - 1; j++) insertCell(pdata, hdrP, first + j, dividers[j], U, parentLv.pgno);
        if (lastOld < nCellP) {
          const at = ptr0 + 2 * (first + k - 1);
          put32(pdata, (pdata[at] << 8) | pdata[at + 1], newPg[k - 1]);
        } else {
          put32(pdata, hdrP + 8, newPg[k - 1]);
        }
        forgetPage(pdata);
        if (ctx.autoVacuum) {
          for (const dv of dividers) await ptrmapCell(ctx, dv, pType, parentLv.pgno);
          await ptrmapPut(ctx, newPg[k - 1], PTRMAP_BTREE, parentLv.pgno);
        }
        this.check[d - 1] = true;
        return;
      }
    }
    const P = pend ?? this.readPage(parentLv.pgno, parentLv.data);
    const cells = new CellList();
    for (let x = 0; x < first; x++) cells.pushFrom(P, x);
    for (const dv of dividers) cells.add(dv);
    cells.right = P.right;
    if (lastOld < P.length) {
      const c = P.view(lastOld).slice();
      put32(c, 0, newPg[k - 1]);
      cells.add(c);
      for (let x = lastOld + 1; x < P.length; x++) cells.pushFrom(P, x);
    } else {
      cells.right = newPg[k - 1];
    }
    this.pending[d - 1] = cells;
  }
}

/** A cell list holding `cell` (or nothing) and right child `right`. */
function single(cell: Uint8Array | undefined, right: Pgno): CellList {
  const l = new CellList();
  if (cell !== undefined) l.add(cell);
  l.right = right;
  return l;
}

/** The rowid of the last cell of table leaf `data` (checked against the usable size). */
function lastRowid(data: Uint8Array, hdr: number, U: number, pgno: Pgno): number | bigint {
  const n = nCellOf(data, hdr);
  if (n === 0) throw corrupt(pgno, 'leaf without cells');
  const p = hdr + 8 + 2 * (n - 1);
  const off = (data[p] << 8) | data[p + 1];
  if (off < p + 2 || off >= U) throw corrupt(pgno, `cell ${n - 1} pointer ${off} out of range`);
  let q = off;
  while (q < off + 8 && q < U && data[q] >= 0x80) q++;
  const k = readVarint(data, q + 1, U, vslot);
  if (k === 0) throw corrupt(pgno, `cell ${n - 1} rowid varint runs past the usable size`);
  return vslot.value;
}

/** The rowid of the table leaf cell at b[off, end) (after its payload-size varint). */
function leafCellRowid(b: Uint8Array, off: number, end: number, pgno: Pgno): number | bigint {
  let q = off;
  while (q < off + 8 && q < end && b[q] >= 0x80) q++;
  q++;
  const n = readVarint(b, q, end, vslot);
  if (n === 0) throw corrupt(pgno, 'rowid varint runs past the cell');
  return vslot.value;
}

// ---- the split of a table leaf without a savepoint ---------------------------------------------

/**
 * What {@link splitLeafInsert} read before its first write: the siblings' pages, copied, and
 * the sequence of their cells with the new one.
 */
interface LeafSplit {
  path: Level[];
  oldPg: Pgno[];
  first: number;
  copies: Uint8Array[];
}

function takeCopy(U: number): Uint8Array {
  let copy = spareCopies.pop();
  while (copy !== undefined && copy.length !== U) copy = spareCopies.pop();
  return copy ?? new Uint8Array(U);
}

function giveCopies(copies: Uint8Array[]): void {
  for (const c of copies) if (spareCopies.length < MAX_SPARE_COPIES) spareCopies.push(c);
}

/**
 * An insert of `cell` (a table leaf cell without overflow) as cell path[L].idx of the table
 * leaf at the end of `path` (a seek's path, L >= 1), when the leaf has no room for it: the
 * common case of balance_nonroot done without a statement savepoint. It makes exactly the
 * changes {@link Edit.finish} would (the same siblings, distribution, dividers and page
 * numbers), in phases: (1) read the siblings (waiting for them when they are not in memory)
 * and copy them; (2) plan the new pages and the parent's new cells, in a copy of the parent,
 * where anything damaged throws CORRUPT; (3) get the writable images (waiting if needed);
 * (4) write, which cannot fail. Nothing is changed before (4), so a failed read or check
 * leaves the transaction as it was and the caller needs no savepoint. Only for: no auto-vacuum,
 * a parent other than page 1 that holds the new dividers in place and does not become
 * underfull (or is the root), no page to free, new pages taken past the end of the file with
 * an empty freelist (not the lock-byte page), and not the right-most append that
 * balance_quick handles. Resolves false, having changed nothing, otherwise.
 */
export function splitLeafInsert(ctx: WriteCtx, path: Level[], cell: Uint8Array): MaybePromise<boolean> {
  const L = path.length - 1;
  const U = ctx.U;
  if (L < 1 || ctx.autoVacuum) return false;
  const leafLv = path[L];
  const parentLv = path[L - 1];
  if (parentLv.pgno === 1) return false;
  const pp = parsePage(parentLv.data, parentLv.pgno, U);
  const lp = parsePage(leafLv.data, leafLv.pgno, U);
  const nCellP = pp.nCell;
  const i = parentLv.idx;
  if (pp.type !== PTF_TABLE_INTERIOR || lp.type !== PTF_TABLE_LEAF || nCellP === 0 || i < 0 || i > nCellP) return false;
  if (leafLv.idx === lp.nCell && i === nCellP) return false; // balance_quick's case
  if (cell.length + 2 <= computeFreeSpace(leafLv.data, 0, U, leafLv.pgno)) return false; // fits in place
  const childAt = (ci: number): Pgno => (ci < nCellP ? get32(pp.data, cellOffset(pp, ci)) : pp.rightChild);
  if (childAt(i) !== leafLv.pgno) throw corrupt(parentLv.pgno, 'path does not match the parent (internal error)');
  const nOld = Math.min(3, nCellP + 1);
  let first = i - 1;
  if (first < 0) first = 0;
  if (first + nOld > nCellP + 1) first = nCellP + 1 - nOld;
  // (1) the siblings, checked as balanceNonroot checks them
  const oldPg: Pgno[] = [];
  const imgs: MaybePromise<Uint8Array>[] = [];
  let waits = false;
  for (let j = 0; j < nOld; j++) {
    const ci = first + j;
    const pg = childAt(ci);
    if (ci !== i) {
      checkPgno(ctx, pg, parentLv.pgno, 'child page');
      for (let x = 0; x < L; x++) if (path[x].pgno === pg) throw corrupt(parentLv.pgno, `child page ${pg} is its own ancestor (cycle)`);
      if (pg === leafLv.pgno || oldPg.includes(pg)) throw corrupt(parentLv.pgno, `child page ${pg} appears twice`);
    }
    oldPg.push(pg);
    const img = ci === i ? leafLv.data : readPage(ctx, pg);
    if (img instanceof Promise) waits = true;
    imgs.push(img);
  }
  const s: LeafSplit = { path, oldPg, first, copies: [] };
  if (!waits) return splitPlanned(ctx, path, cell, s, imgs as Uint8Array[]);
  const own = cell.slice(); // the caller's cell is a scratch view
  return Promise.all(imgs).then((got) => splitPlanned(ctx, path, own, s, got));
}

/**
 * splitPlanned's sequence of cells, entries [0, n) (reused from split to split: no allocation
 * per cell). It points into the siblings' copies and the new cell.
 */
const seq = { buf: [] as Uint8Array[], off: new Int32Array(64), len: new Int32Array(64) };

/** Sets entry n of the sequence; returns n + 1. */
function seqPut(n: number, b: Uint8Array, off: number, len: number): number {
  if (n === seq.off.length) {
    const off2 = new Int32Array(2 * n);
    const len2 = new Int32Array(2 * n);
    off2.set(seq.off);
    len2.set(seq.len);
    seq.off = off2;
    seq.len = len2;
  }
  seq.buf[n] = b;
  seq.off[n] = off;
  seq.len[n] = len;
  return n + 1;
}

/** splitLeafInsert's phases (2) to (4), with the siblings' images at hand. */
function splitPlanned(ctx: WriteCtx, path: Level[], cell: Uint8Array, s: LeafSplit, imgs: Uint8Array[]): MaybePromise<boolean> {
  const U = ctx.U;
  const txn = ctx.txn;
  const L = path.length - 1;
  const leafLv = path[L];
  const parentLv = path[L - 1];
  const { oldPg, first, copies } = s;
  const nOld = oldPg.length;
  try {
    // (2) the plan: one sequence of the siblings' cells with the new one, cut into pages
    let n = 0;
    for (let j = 0; j < nOld; j++) {
      const pg = oldPg[j];
      const img = imgs[j];
      const sp = parsePage(img, pg, U);
      if (sp.type !== PTF_TABLE_LEAF) throw corrupt(pg, `sibling page has type ${sp.type}, expected ${PTF_TABLE_LEAF}`);
      const copy = takeCopy(U);
      copies.push(copy);
      copy.set(img.length === U ? img : img.subarray(0, U));
      const at = pg === leafLv.pgno ? leafLv.idx : -1;
      for (let x = 0; x < sp.nCell; x++) {
        if (x === at) n = seqPut(n, cell, 0, cell.length);
        const off = cellOffset(sp, x);
        n = seqPut(n, copy, off, cellSize(copy, off, PTF_TABLE_LEAF, ctx.g, U, pg));
      }
      if (at === sp.nCell) n = seqPut(n, cell, 0, cell.length);
    }
    const k = distribute(seq.len, n, U - 8, false, leafLv.pgno);
    if (k < nOld) return done(copies, false);
    const n0 = txn.pageCount;
    if (k > nOld) {
      const p1 = txn.page(1);
      if (!(p1 instanceof Uint8Array)) {
        p1.catch(ignore); // in memory all through a write transaction, in practice
        return done(copies, false);
      }
      if (get32(p1, 36) !== 0) return done(copies, false); // free pages: allocatePage takes them
      for (let x = n0 + 1; x <= n0 + k - nOld; x++) if (x === ctx.lockByte || x > 0xfffffffe) return done(copies, false);
    }
    const newPg: Pgno[] = oldPg.slice();
    for (let x = n0 + 1; newPg.length < k; x++) newPg.push(x);
    // The parent, in a copy: the old dividers dropped, the new ones inserted in place.
    const pcopy = takeCopy(U);
    copies.push(pcopy);
    pcopy.set(parentLv.data.length === U ? parentLv.data : parentLv.data.subarray(0, U));
    const pp = parsePage(parentLv.data, parentLv.pgno, U);
    let freed = 0;
    for (let j = 0; j < nOld - 1; j++) {
      const off = cellOffset(pp, first + j);
      freed += cellSize(pp.data, off, PTF_TABLE_INTERIOR, ctx.g, U, parentLv.pgno) + 2;
    }
    const dividers: Uint8Array[] = [];
    let need = 0;
    for (let j = 0; j < k - 1; j++) {
      const x = cutEnd[j] - 1;
      const div = tableInteriorCell(newPg[j], leafCellRowid(seq.buf[x], seq.off[x], seq.off[x] + seq.len[x], newPg[j]));
      dividers.push(div);
      need += div.length + 2;
    }
    if (need > computeFreeSpace(pcopy, 0, U, parentLv.pgno) + freed) return done(copies, false);
    for (let j = 0; j < nOld - 1; j++) {
      const at = 12 + 2 * first;
      const off = (pcopy[at] << 8) | pcopy[at + 1];
      dropCell(pcopy, 0, first, cellSize(pcopy, off, PTF_TABLE_INTERIOR, ctx.g, U, parentLv.pgno), U, parentLv.pgno);
    }
    for (let j = 0; j < k - 1; j++) insertCell(pcopy, 0, first + j, dividers[j], U, parentLv.pgno);
    if (first + nOld - 1 < pp.nCell) {
      const at = 12 + 2 * (first + k - 1);
      put32(pcopy, (pcopy[at] << 8) | pcopy[at + 1], newPg[k - 1]);
    } else {
      put32(pcopy, 8, newPg[k - 1]);
    }
    // A parent that is not the root must not become underfull (finish() would balance it).
    if (L - 1 > 0 && computeFreeSpace(pcopy, 0, U, parentLv.pgno) > Math.floor((U * 2) / 3)) return done(copies, false);
    // (3) the writable images of the parent and the old pages
    const pw = txn.writable(parentLv.pgno);
    let waits = pw instanceof Promise;
    const ws: MaybePromise<Uint8Array>[] = [];
    for (let j = 0; j < nOld; j++) {
      const w = txn.writable(oldPg[j]);
      if (w instanceof Promise) waits = true;
      ws.push(w);
    }
    if (!waits) return splitWrite(ctx, s, pcopy, pw as Uint8Array, ws as Uint8Array[], newPg, seq, cutStart, cutEnd, n0);
    // The writes come after a wait: the scratch (the sequence, the cut, and the new cell,
    // which may be a scratch view) is taken along as copies.
    const own = { buf: seq.buf.slice(0, n), off: seq.off.slice(0, n), len: seq.len.slice(0, n) };
    for (let x = 0; x < n; x++) if (own.buf[x] === cell) own.buf[x] = cell.slice();
    const starts = cutStart.slice(0, k);
    const ends = cutEnd.slice(0, k);
    return Promise.all([pw, ...ws]).then(
      ([p, ...got]) => (txn.pageCount === n0 ? splitWrite(ctx, s, pcopy, p, got, newPg, own, starts, ends, n0) : done(copies, false)),
      (e) => done(copies, e),
    );
  } catch (e) {
    return done(copies, e);
  }
}

/**
 * splitPlanned's phase (4): the new pages past the end are taken (they are at hand, zeroed,
 * once counted), then every page is written, which cannot fail. `ws` holds the old pages'
 * writable images (the new pages' are added).
 */
function splitWrite(ctx: WriteCtx, s: LeafSplit, pcopy: Uint8Array, pw: Uint8Array, ws: Uint8Array[], newPg: Pgno[], cells: CellRuns, starts: ArrayLike<number>, ends: ArrayLike<number>, n0: Pgno): boolean {
  const { oldPg, copies } = s;
  const nOld = oldPg.length;
  const k = newPg.length;
  const txn = ctx.txn;
  const U = ctx.U;
  if (k > nOld) {
    txn.setPageCount(n0 + k - nOld);
    for (let j = nOld; j < k; j++) {
      const w = txn.writable(newPg[j]);
      if (!(w instanceof Uint8Array)) {
        w.catch(ignore);
        txn.setPageCount(n0);
        return done(copies, false);
      }
      ws.push(w);
    }
  }
  // (4) the writes: nothing below can fail
  for (let j = 0; j < k; j++) {
    const w = ws[j];
    rebuildPageFrom(w, 0, PTF_TABLE_LEAF, cells, starts[j], ends[j], 0, U, newPg[j]);
    parsedAfterWrite(w, newPg[j], U);
  }
  pw.set(pcopy);
  parsedAfterWrite(pw, s.path[s.path.length - 2].pgno, U);
  return done(copies, true);
}

function ignore(): void {}

/** Gives the copies back, and returns `r` (or throws it, an error). */
function done(copies: Uint8Array[], r: unknown): boolean {
  giveCopies(copies);
  copies.length = 0;
  if (typeof r === 'boolean') return r;
  throw r;
}
