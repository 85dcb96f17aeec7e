/**
 * Building a b-tree by appending entries in key order, packed exactly as SQLite packs it when
 * VACUUM copies a table (sqlite3BtreeInsert at the end of the tree with balance, balance_quick,
 * balance_deeper and balance_nonroot of btree.c, in the append case):
 *
 *   - a table leaf that overflows by the appended row gets balance_quick: the row starts a new
 *     right-most leaf, the old leaf's last rowid goes up as the divider (leaves end up full);
 *   - every other page that overflows (index leaves, interior pages) and every non-root
 *     interior page found under a third full on the way up (SQLite balances the parents of a
 *     balanced page when they overflow *or* underflow) is redistributed with its left siblings
 *     by balance_nonroot's rules: the last nOld children of the right-most parent (3, or 2 for
 *     index b-trees, whose cursor VACUUM opens with the BULKLOAD hint; all of them while the
 *     parent has under 2 cells), their cells and dividers laid out as one sequence, packed
 *     into pages from the left, then (without BULKLOAD) cells move right while the right page
 *     stays no fuller than the left;
 *   - a root that overflows moves its content to a new child (balance_deeper); a root left
 *     without cells takes its only child's content back.
 *
 * Only the right edge of the tree changes while appending, so the builder keeps, per level, the
 * last few pages as cell lists in memory ({@link WINDOW} pages; older pages are written out once
 * and read back only if a merge reaches them): memory does not grow with the tree. A table's
 * leaves only ever take balance_quick, so its right-most leaf is assembled as a page image
 * (each row's cell copied once, no per-row object) and written when the next one starts. Pages are
 * written at finish() (or when they leave the window) in one pass each; in auto-vacuum files
 * the pointer-map entries of their children and overflow chains are set then.
 *
 * The page count that results equals SQLite's VACUUM on the same content (test/vacuum-compact).
 */
import { get32, put16, put32 } from '../pager/bytes.js';
import { corrupt, misuse } from '../pager/errors.js';
import type { Pgno, WritablePageSource } from '../pager/source.js';
import { allocatePage, freePage, readPage, writeCtx, writePage, type WriteCtx } from './alloc.js';
import { ptrmapChildren, readContent, tableInteriorCell } from './balance.js';
import { indexBodyLength, rebuildPage } from './cellwrite.js';
import { keyComparator, type KeyInfo } from './compare.js';
import { forgetPage, PTF_INDEX_INTERIOR, PTF_INDEX_LEAF, PTF_TABLE_INTERIOR, PTF_TABLE_LEAF } from './page.js';
import { compareRecords, RawRecord } from './rawrecord.js';
import { readVarint, type Varint } from './varint.js';
import { leafCell } from './write.js';
import type { Encoding } from '../pager/header.js';

type Rowid = number | bigint;

/**
 * The order of an index b-tree's entries: keyInfo's collations and DESC flags (columns past
 * them BINARY ascending), as compareRecords (btree/rawrecord.ts) takes them.
 */
export interface EntryOrder {
  readonly colls: readonly string[];
  readonly desc: readonly boolean[];
  readonly encoding: Encoding;
}

/** The order of entries under `keyInfo`; UNSUPPORTED for an unknown collation. */
export function entryOrder(keyInfo: KeyInfo, encoding: Encoding): EntryOrder {
  keyComparator(keyInfo, encoding); // checks the collations
  return { colls: keyInfo.map((k) => (k.collation ?? 'BINARY').toUpperCase()), desc: keyInfo.map((k) => k.desc === true), encoding };
}

const vslot: Varint = { value: 0 };

/** Pages kept in memory per level (balance_nonroot takes at most 3 siblings). */
const WINDOW = 3;

interface MPage {
  pgno: Pgno;
  /** Cells in order, exact bytes (interior cells start with their left child). */
  cells: Uint8Array[];
  /** Bytes the cells take with their pointers: sum of (length + 2). */
  size: number;
  /** Right child (interior pages). */
  right: Pgno;
}

function sizeOf(cells: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of cells) n += c.length + 2;
  return n;
}

/** Cells up to this many bytes are copied byte by byte, longer ones with set (a memcpy). */
const COPY_LOOP_MAX = 64;

/** A table leaf being filled: cells from the end of `img` down to `top`, pointers from byte 8. */
interface LeafImage {
  pgno: Pgno;
  /** U bytes (the page image up to the reserved bytes). */
  img: Uint8Array;
  n: number;
  top: number;
  /** Rowid of the last cell. */
  last: Rowid;
}

/** Puts the cell src[start, end) (of row `rowid`) last on the leaf P; the caller checked it fits. */
function place(P: LeafImage, rowid: Rowid, src: Uint8Array, start: number, end: number): void {
  const img = P.img;
  let to = (P.top -= end - start);
  // A short cell by a loop (no view object); a longer one by set, a memcpy: 370 bytes take
  // ~0.07 us that way against ~0.9 us byte by byte, which costs the view's garbage many times over.
  if (end - start <= COPY_LOOP_MAX) for (let i = start; i < end; i++) img[to++] = src[i];
  else img.set(src.subarray(start, end), to);
  put16(img, 8 + 2 * P.n, P.top);
  P.n++;
  P.last = rowid;
}

/** Appends entries in key order to an empty b-tree (see the module comment). */
export class BulkLoad {
  private readonly ctx: WriteCtx;
  private readonly table: boolean;
  /**
   * levels[0]: the leaves (empty for a table b-tree: its right-most leaf is {@link leaf});
   * the last level holds only the root.
   */
  private readonly levels: MPage[][];
  /** Table b-trees: the right-most leaf, assembled in place. */
  private readonly leaf: LeafImage | null;
  /** Pages freed by merges, reused first (as SQLite's freelist would be). */
  private readonly free: Pgno[] = [];
  private lastRowid: Rowid | null = null;
  /** The index entry being appended, and the one before it (parsed in place; `prev` once one is). */
  private rec = new RawRecord();
  private prev = new RawRecord();
  private hasPrev = false;

  private readonly root: Pgno;
  private readonly order: EntryOrder | undefined;

  /**
   * `root` must be the root of an empty b-tree of this kind (just created). Index b-trees
   * need their `order` ({@link entryOrder}), to check that entries come in increasing order.
   */
  constructor(txn: WritablePageSource, root: Pgno, kind: 'table' | 'index', order?: EntryOrder) {
    this.root = root;
    this.order = order;
    if (root === 1) throw misuse('page 1 cannot be bulk loaded');
    if (kind === 'index' && order === undefined) throw misuse('an index bulk load needs the order of its entries');
    this.ctx = writeCtx(txn);
    this.table = kind === 'table';
    this.levels = [this.table ? [] : [{ pgno: root, cells: [], size: 0, right: 0 }]];
    this.leaf = this.table ? { pgno: root, img: new Uint8Array(this.ctx.U), n: 0, top: this.ctx.U, last: 0 } : null;
  }

  /**
   * Table b-tree: appends a row; its rowid must be larger than every rowid appended before.
   * Returns a promise only when it had to wait (an overflow chain, balancing).
   */
  appendRow(rowid: Rowid, record: Uint8Array): Promise<void> | undefined {
    this.nextRowid(rowid);
    const cell = leafCell(this.ctx, rowid, record, this.lastLeaf(), true);
    return cell instanceof Promise ? cell.then((c) => this.pushRow(rowid, c, 0, c.length)) : this.pushRow(rowid, cell, 0, cell.length);
  }

  /**
   * appendRow for a row whose leaf cell is at hand: src[start, end), exact bytes, payload all
   * local, at least 4 bytes (copied at once).
   */
  appendRowBytes(rowid: Rowid, src: Uint8Array, start: number, end: number): Promise<void> | undefined {
    this.nextRowid(rowid);
    return this.pushRow(rowid, src, start, end);
  }

  /** Index b-tree: appends an entry (a record); it must sort after every entry before it. */
  appendEntry(record: Uint8Array): Promise<void> | undefined {
    this.nextKey(record, 0, record.length);
    return this.pushCell(leafCell(this.ctx, null, record, this.lastLeaf(), true));
  }

  /**
   * appendEntry for an entry whose leaf cell is at hand (`cell`: exact bytes, the payload-size
   * varint then the whole record; kept, not copied: its bytes must not change).
   */
  appendEntryCell(cell: Uint8Array): Promise<void> | undefined {
    this.nextKey(cell, cell[0] < 0x80 ? 1 : readVarint(cell, 0, cell.length, vslot), cell.length);
    return this.push(cell);
  }

  /**
   * Adds to `into` the buffers (ArrayBuffers) that entries given to appendEntryCell may still
   * be views of: the leaf cells kept until their page is written (only leaves: a cell that
   * moves up is copied, nonroot's `div`), and the last entry (compared with the next). A
   * buffer not among them may be reused.
   */
  keptBuffers(into: Set<ArrayBufferLike>): void {
    if (this.table) return;
    for (const p of this.levels[0]) for (const c of p.cells) into.add(c.buffer);
    if (this.hasPrev) into.add(this.prev.buf.buffer);
  }

  private nextRowid(rowid: Rowid): void {
    if (this.lastRowid !== null && !(rowid > this.lastRowid)) {
      throw corrupt(this.root, `rowid ${rowid} is not larger than the previous rowid ${this.lastRowid} (rows out of order)`);
    }
    this.lastRowid = rowid;
  }

  /** Checks the record buf[start, end) (kept unchanged until the next entry) against the previous one. */
  private nextKey(buf: Uint8Array, start: number, end: number): void {
    const r = this.rec;
    const prev = this.prev;
    if (!r.parse(buf, start, end)) throw corrupt(this.root, 'malformed index record');
    const o = this.order!;
    if (this.hasPrev && compareRecords(r, prev, r.n < prev.n ? r.n : prev.n, o.colls, o.desc, o.encoding) <= 0) {
      throw corrupt(this.root, 'index entries out of order');
    }
    this.rec = prev;
    this.prev = r;
    this.hasPrev = true;
  }

  private pushCell(cell: Uint8Array | Promise<Uint8Array>): Promise<void> | undefined {
    return cell instanceof Promise ? cell.then((c) => this.push(c)) : this.push(cell);
  }

  /** Writes every page still in memory; the tree is complete after this. */
  async finish(): Promise<void> {
    if (this.leaf !== null) await this.writeLeaf(this.leaf);
    for (let L = 0; L < this.levels.length; L++) {
      for (const p of this.levels[L]) await this.write(L, p);
      this.levels[L] = [];
    }
    while (this.free.length > 0) await freePage(this.ctx, this.free.pop()!);
  }

  private lastLeaf(): Pgno {
    if (this.leaf !== null) return this.leaf.pgno;
    const w = this.levels[0];
    return w[w.length - 1].pgno;
  }

  private room(L: number): number {
    return this.ctx.U - (L === 0 ? 8 : 12);
  }

  /** Table b-trees: the row's cell onto the right-most leaf, or balance_quick when it is full. */
  private pushRow(rowid: Rowid, src: Uint8Array, start: number, end: number): Promise<void> | undefined {
    const P = this.leaf!;
    const U = this.ctx.U;
    if (2 * P.n + 2 + (U - P.top) + (end - start) > this.room(0)) return this.quick(rowid, src, start, end);
    place(P, rowid, src, start, end);
    return undefined;
  }

  private push(cell: Uint8Array): Promise<void> | undefined {
    const w = this.levels[0];
    const P = w[w.length - 1];
    P.cells.push(cell);
    P.size += cell.length + 2;
    return P.size > this.room(0) ? this.balance() : undefined;
  }

  private async allocate(): Promise<Pgno> {
    return this.free.pop() ?? (await allocatePage(this.ctx));
  }

  /** The balance loop of sqlite3BtreeInsert, from level L (the leaves: 0) up. */
  private async balance(L = 0): Promise<void> {
    const U = this.ctx.U;
    while (L < this.levels.length) {
      const win = this.levels[L];
      const P = win[win.length - 1];
      const nFree = this.room(L) - P.size;
      const over = nFree < 0;
      if (!over && nFree * 3 <= U * 2) return;
      if (L === this.levels.length - 1) {
        if (!over) return;
        // balance_deeper: the root's content moves to a new child.
        const child = await this.allocate();
        win[win.length - 1] = { pgno: child, cells: P.cells, size: P.size, right: P.right };
        this.levels.push([{ pgno: this.root, cells: [], size: 0, right: child }]);
        continue;
      }
      if (over || !this.settled(L)) await this.nonroot(L);
      L++;
    }
  }

  /**
   * Table b-trees, the right-most leaf full: balance_quick (the row alone on a new right-most
   * leaf, the full leaf's last rowid up as the divider), after balance_deeper while the root is
   * the leaf; then the balance loop from the level above.
   */
  private async quick(rowid: Rowid, src: Uint8Array, start: number, end: number): Promise<void> {
    const P = this.leaf!;
    if (this.levels.length === 1) {
      const child = await this.allocate();
      P.pgno = child;
      this.levels.push([{ pgno: this.root, cells: [], size: 0, right: child }]);
    }
    const next = await this.allocate();
    const div = tableInteriorCell(P.pgno, P.last);
    await this.writeLeaf(P);
    P.pgno = next;
    P.n = 0;
    P.top = this.ctx.U;
    place(P, rowid, src, start, end);
    const pw = this.levels[1];
    const Q = pw[pw.length - 1];
    Q.cells.push(div);
    Q.size += div.length + 2;
    Q.right = next;
    await this.balance(1);
  }

  /** Writes the table leaf P to its page (laid out as rebuildPage lays it out). */
  private async writeLeaf(P: LeafImage): Promise<void> {
    const ctx = this.ctx;
    let img = writePage(ctx, P.pgno);
    if (!(img instanceof Uint8Array)) img = await img;
    const b = P.img;
    b[0] = PTF_TABLE_LEAF;
    b[1] = b[2] = b[7] = 0;
    put16(b, 3, P.n);
    put16(b, 5, P.top);
    img.set(b.subarray(0, 8 + 2 * P.n), 0);
    img.set(b.subarray(P.top, ctx.U), P.top);
    forgetPage(img);
    if (ctx.autoVacuum) await ptrmapChildren(ctx, P.pgno, img);
  }

  /** Writes out the pages of level L that fell out of the window. */
  private async trim(L: number): Promise<void> {
    const win = this.levels[L];
    while (win.length > WINDOW) await this.write(L, win.shift()!);
  }

  private async write(L: number, p: MPage): Promise<void> {
    const ctx = this.ctx;
    const leafType = this.table ? PTF_TABLE_LEAF : PTF_INDEX_LEAF;
    const type = L === 0 ? leafType : this.table ? PTF_TABLE_INTERIOR : PTF_INDEX_INTERIOR;
    let img = writePage(ctx, p.pgno);
    if (!(img instanceof Uint8Array)) img = await img;
    rebuildPage(img, 0, type, p.cells, L === 0 ? 0 : p.right, ctx.U, p.pgno);
    forgetPage(img);
    if (ctx.autoVacuum) await ptrmapChildren(ctx, p.pgno, img);
  }

  /** A sibling that left the window: read back from its page. */
  private async load(pgno: Pgno): Promise<MPage> {
    let img = readPage(this.ctx, pgno);
    if (!(img instanceof Uint8Array)) img = await img;
    const c = readContent(this.ctx, pgno, img);
    const cells = c.cells.map((x) => x.slice());
    return { pgno, cells, size: sizeOf(cells), right: c.right };
  }

  /**
   * True when balance_nonroot would leave level L as it is: an index b-tree (BULKLOAD: no
   * evening out but into an empty page) whose right-most page is not over full, its siblings
   * all in the window, not empty, and none able to take the divider after it.
   */
  private settled(L: number): boolean {
    if (this.table) return false;
    const win = this.levels[L];
    const pw = this.levels[L + 1];
    const Q = pw[pw.length - 1];
    const i = Q.cells.length;
    if (i < 1) return false;
    const nOld = 2;
    const nxDiv = i - 1;
    if (win.length < nOld) return false;
    const usable = this.room(L);
    for (let j = 0; j < nOld; j++) {
      const P = win[win.length - nOld + j];
      const pg = j === 0 ? get32(Q.cells[nxDiv], 0) : Q.right;
      if (P.pgno !== pg || P.cells.length === 0 || P.size > usable) return false;
      if (j === 0) {
        const dv = Q.cells[nxDiv].length;
        if (P.size + (L === 0 ? Math.max(dv - 4, 4) : dv) + 2 <= usable) return false;
      }
    }
    return true;
  }

  /**
   * balance_nonroot for the right-most page of level L: redistributes it with its left
   * siblings under the right-most page of level L + 1.
   */
  private async nonroot(L: number): Promise<void> {
    const ctx = this.ctx;
    const bulk = !this.table;
    const leaf = L === 0;
    const win = this.levels[L];
    const pw = this.levels[L + 1];
    const Q = pw[pw.length - 1];
    const isRoot = L + 1 === this.levels.length - 1;

    const i = Q.cells.length;
    let nxDiv: number;
    let nOld: number;
    if (i < 2) {
      nxDiv = 0;
      nOld = i + 1;
    } else {
      nxDiv = i - 2 + (bulk ? 1 : 0);
      nOld = bulk ? 2 : 3;
    }
    // The siblings: the last nOld children of Q, the last pages of this level.
    const old: MPage[] = [];
    for (let j = 0; j < nOld; j++) {
      const ci = nxDiv + j;
      const pg = ci < i ? get32(Q.cells[ci], 0) : Q.right;
      const at = win.length - nOld + j;
      if (at < 0) old.push(await this.load(pg));
      else if (win[at].pgno === pg) old.push(win[at]);
      else throw corrupt(Q.pgno, `child ${pg} is not the page the builder holds (internal error)`);
    }
    const inWin = Math.min(nOld, win.length);
    const divs = Q.cells.splice(nxDiv, nOld - 1);

    // The cell sequence: each sibling's cells, and (not for table leaves) the divider after it.
    const cells: Uint8Array[] = [];
    const cntNew: number[] = [];
    const szNew: number[] = [];
    for (let j = 0; j < nOld; j++) {
      for (const c of old[j].cells) cells.push(c);
      cntNew.push(cells.length);
      szNew.push(old[j].size);
      if (j === nOld - 1) continue;
      const dv = divs[j];
      if (leaf) {
        let body = dv.subarray(4);
        if (body.length < 4) {
          const padded = new Uint8Array(4);
          padded.set(body);
          body = padded;
        }
        cells.push(body);
      } else {
        const c = dv.slice();
        put32(c, 0, old[j].right);
        cells.push(c);
      }
    }
    const nCell = cells.length;
    const sz = (x: number): number => (x < nCell ? cells[x].length + 2 : 0);
    const usable = ctx.U - 12 + (leaf ? 4 : 0);

    // Pack from the left.
    let k = nOld;
    for (let p = 0; p < k; p++) {
      while (szNew[p] > usable) {
        if (p + 1 >= k) {
          k = p + 2;
          szNew[k - 1] = 0;
          cntNew[k - 1] = nCell;
        }
        szNew[p] -= sz(cntNew[p] - 1);
        szNew[p + 1] += sz(cntNew[p]);
        cntNew[p]--;
      }
      while (cntNew[p] < nCell) {
        const s = sz(cntNew[p]);
        if (szNew[p] + s > usable) break;
        szNew[p] += s;
        cntNew[p]++;
        szNew[p + 1] -= sz(cntNew[p]);
      }
      if (cntNew[p] >= nCell) k = p + 1;
      else if (cntNew[p] <= (p > 0 ? cntNew[p - 1] : 0)) throw corrupt(old[0].pgno, 'cannot distribute the cells (internal error)');
    }
    // Then even out from the right (not under BULKLOAD: only to fill an empty right page).
    for (let p = k - 1; p > 0; p--) {
      let szRight = szNew[p];
      let szLeft = szNew[p - 1];
      let r = cntNew[p - 1] - 1;
      let d = r + 1;
      do {
        const szR = cells[r].length;
        const szD = cells[d].length;
        if (szRight !== 0 && (bulk || szRight + szD + 2 > szLeft - (szR + (p === k - 1 ? 0 : 2)))) break;
        szRight += szD + 2;
        szLeft -= szR + 2;
        cntNew[p - 1] = r;
        r--;
        d--;
      } while (r >= 0);
      szNew[p] = szRight;
      szNew[p - 1] = szLeft;
      if (cntNew[p - 1] <= (p > 1 ? cntNew[p - 2] : 0)) throw corrupt(old[0].pgno, 'cannot distribute the cells (internal error)');
    }

    // Pages: the old ones in order, then new ones; extra old ones are freed.
    const pages: MPage[] = [];
    for (let j = 0; j < k; j++) pages.push({ pgno: j < nOld ? old[j].pgno : await this.allocate(), cells: [], size: 0, right: 0 });
    for (let j = k; j < nOld; j++) this.free.push(old[j].pgno);
    const dividers: Uint8Array[] = [];
    let from = 0;
    for (let j = 0; j < k; j++) {
      const pg = pages[j];
      const to = j < k - 1 ? cntNew[j] : nCell;
      pg.cells = cells.slice(from, to);
      pg.size = sizeOf(pg.cells);
      from = to + 1;
      if (j === k - 1) {
        pg.right = old[nOld - 1].right;
        break;
      }
      let div: Uint8Array;
      if (leaf) {
        const dc = cells[to];
        const len = indexBodyLength(dc, 0, ctx.g, dc.length, pg.pgno);
        div = new Uint8Array(4 + len);
        div.set(dc.subarray(0, len), 4);
        put32(div, 0, pg.pgno);
      } else {
        pg.right = get32(cells[to], 0);
        div = cells[to].slice();
        put32(div, 0, pg.pgno);
      }
      dividers.push(div);
    }
    Q.cells.splice(nxDiv, 0, ...dividers);
    Q.right = pages[k - 1].pgno;
    Q.size += sizeOf(dividers) - sizeOf(divs);
    win.splice(win.length - inWin, inWin, ...pages);

    if (isRoot && Q.cells.length === 0) {
      // The root takes its only child's content (balance_nonroot's shallower step).
      const only = win.pop()!;
      this.free.push(only.pgno);
      this.levels.pop();
      win.push({ pgno: this.root, cells: only.cells, size: only.size, right: only.right });
      return;
    }
    await this.trim(L);
  }
}
