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
 * last few pages in memory ({@link WINDOW} pages; older pages are written out once and read back
 * only if a merge reaches them): memory does not grow with the tree. Each is held as its page
 * image would hold its cells ({@link MPage}: back to back, the first one last), entries copied in
 * once, so appending, balancing and writing a page take no object per cell. A table's
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
import { ptrmapChildren, readContent } from './balance.js';
import { indexBodyLength } from './cellwrite.js';
import { keyComparator, type KeyInfo } from './compare.js';
import { forgetPage, PTF_INDEX_INTERIOR, PTF_INDEX_LEAF, PTF_TABLE_INTERIOR, PTF_TABLE_LEAF } from './page.js';
import { compareRecords, RawRecord } from './rawrecord.js';
import { readVarint, writeVarint, type Varint } from './varint.js';
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

/** Copies src[start, end) to dst at `to`: a short run byte by byte (no view object), a longer one by set (a memcpy). */
function copyBytes(dst: Uint8Array, to: number, src: Uint8Array, start: number, end: number): void {
  if (end - start <= COPY_LOOP_MAX) for (let i = start; i < end; i++) dst[to++] = src[i];
  else dst.set(src.subarray(start, end), to);
}

/** A child pointer and a rowid (table interior cells), assembled before they are copied. */
const cellTmp = new Uint8Array(13);

/**
 * A page of the right edge, held as its image holds its cells (as rebuildPage lays them out):
 * back to back from the end of `buf` down to `top`, cell 0 last; cell i at at[i], len[i] bytes
 * (interior cells start with their left child). The buffer grows (at its front) when the cells
 * pass it, so a page may hold more than fits while it waits for its balance.
 */
class MPage {
  pgno: Pgno = 0;
  buf: Uint8Array;
  top: number;
  readonly at: number[] = [];
  readonly len: number[] = [];
  n = 0;
  /** Bytes the cells take with their pointers: sum of (length + 2). */
  size = 0;
  /** Right child (interior pages). */
  right: Pgno = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
    this.top = capacity;
  }

  /** Empties the page and gives it a page number and right child. */
  reset(pgno: Pgno, right: Pgno): this {
    this.pgno = pgno;
    this.right = right;
    this.n = 0;
    this.size = 0;
    this.top = this.buf.length;
    return this;
  }

  /** Takes `bytes` more below the cells (growing the buffer when needed); returns where they start. */
  private take(bytes: number): number {
    if (this.top < bytes) {
      const old = this.buf;
      const grow = Math.max(old.length, bytes);
      const b = new Uint8Array(old.length + grow);
      b.set(old.subarray(this.top), this.top + grow);
      for (let i = 0; i < this.n; i++) this.at[i] += grow;
      this.buf = b;
      this.top += grow;
    }
    return (this.top -= bytes);
  }

  private added(at: number, len: number): void {
    this.at[this.n] = at;
    this.len[this.n] = len;
    this.n++;
    this.size += len + 2;
  }

  /** Appends the cell src[start, end), zero-padded to `min` bytes. */
  add(src: Uint8Array, start: number, end: number, min = 0): void {
    const len = end - start < min ? min : end - start;
    const to = this.take(len);
    copyBytes(this.buf, to, src, start, end);
    if (len > end - start) this.buf.fill(0, to + end - start, to + len);
    this.added(to, len);
  }

  /** Appends an interior cell: the left child `child`, then src[start, end). */
  addChild(child: Pgno, src: Uint8Array, start: number, end: number): void {
    const to = this.take(4 + end - start);
    put32(this.buf, to, child);
    copyBytes(this.buf, to + 4, src, start, end);
    this.added(to, 4 + end - start);
  }

  /** Appends cells [from, to) of `p` (back to back there: one copy). */
  addRange(p: MPage, from: number, to: number): void {
    if (to <= from) return;
    const lo = p.at[to - 1];
    const hi = p.at[from] + p.len[from];
    const at = this.take(hi - lo);
    this.buf.set(p.buf.subarray(lo, hi), at);
    const d = at - lo;
    for (let i = from; i < to; i++) this.added(p.at[i] + d, p.len[i]);
  }

  /** Drops the cells from i on. */
  truncate(i: number): void {
    for (let j = i; j < this.n; j++) this.size -= this.len[j] + 2;
    this.top = i === 0 ? this.buf.length : this.at[i - 1];
    this.n = i;
  }

  /** The left child of interior cell i. */
  child(i: number): Pgno {
    return get32(this.buf, this.at[i]);
  }
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
  const to = (P.top -= end - start);
  // A longer cell by set, a memcpy: 370 bytes take ~0.07 us that way against ~0.9 us byte by
  // byte, which pays for the view's garbage many times over.
  copyBytes(img, to, src, start, end);
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
  /** Page objects no longer in use, for the next ones. */
  private readonly spare: MPage[] = [];
  /** nonroot's sequence of cells (one page object, reused). */
  private readonly seq: MPage;
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
    this.seq = new MPage(4 * this.ctx.U);
    this.levels = [this.table ? [] : [this.page(root, 0)]];
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
    const cell = leafCell(this.ctx, null, record, this.lastLeaf(), true);
    return cell instanceof Promise ? cell.then((c) => this.push(c, 0, c.length)) : this.push(cell, 0, cell.length);
  }

  /**
   * appendEntry for an entry whose leaf cell is at hand: src[start, end), exact bytes (the
   * payload-size varint then the whole record), at least 4. The cell is copied; the record
   * stays in use (compared with the next entry's) until the next entry.
   */
  appendEntryCell(src: Uint8Array, start: number, end: number): Promise<void> | undefined {
    this.nextKey(src, src[start] < 0x80 ? start + 1 : start + readVarint(src, start, end, vslot), end);
    return this.push(src, start, end);
  }

  /**
   * Adds to `into` the buffers (ArrayBuffers) that an entry given to appendEntryCell may still
   * lie in: the last one's (compared with the next). A buffer not among them may be reused.
   */
  keptBuffers(into: Set<ArrayBufferLike>): void {
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

  /** Writes every page still in memory; the tree is complete after this. */
  async finish(): Promise<void> {
    if (this.leaf !== null) await this.writeLeaf(this.leaf);
    for (let L = 0; L < this.levels.length; L++) {
      for (const p of this.levels[L]) await this.write(L, p);
      this.levels[L] = [];
    }
    while (this.free.length > 0) await freePage(this.ctx, this.free.pop()!);
    this.spare.length = 0;
  }

  /** A page object (a spare one when there is one) for page `pgno`, empty. */
  private page(pgno: Pgno, right: Pgno): MPage {
    return (this.spare.pop() ?? new MPage(2 * this.ctx.U)).reset(pgno, right);
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

  private push(src: Uint8Array, start: number, end: number): Promise<void> | undefined {
    const w = this.levels[0];
    const P = w[w.length - 1];
    P.add(src, start, end);
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
        P.pgno = child;
        this.levels.push([this.page(this.root, child)]);
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
      this.levels.push([this.page(this.root, child)]);
    }
    const next = await this.allocate();
    const divChild = P.pgno;
    await this.writeLeaf(P);
    const divLen = writeVarint(cellTmp, 0, P.last);
    P.pgno = next;
    P.n = 0;
    P.top = this.ctx.U;
    place(P, rowid, src, start, end);
    const pw = this.levels[1];
    const Q = pw[pw.length - 1];
    Q.addChild(divChild, cellTmp, 0, divLen);
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
    while (win.length > WINDOW) {
      const p = win.shift()!;
      await this.write(L, p);
      this.spare.push(p);
    }
  }

  /** Writes p to its page: header, cell pointers, then its cells as they lie (one copy). */
  private async write(L: number, p: MPage): Promise<void> {
    const ctx = this.ctx;
    const U = ctx.U;
    const leaf = L === 0;
    const type = leaf ? (this.table ? PTF_TABLE_LEAF : PTF_INDEX_LEAF) : this.table ? PTF_TABLE_INTERIOR : PTF_INDEX_INTERIOR;
    const ptr0 = leaf ? 8 : 12;
    if (p.size > U - ptr0) throw corrupt(p.pgno, `${p.n} cells (${p.size} bytes) do not fit on the page`);
    let img = writePage(ctx, p.pgno);
    if (!(img instanceof Uint8Array)) img = await img;
    const shift = p.buf.length - U;
    const top = p.top - shift;
    img.set(p.buf.subarray(p.top), top);
    for (let i = 0; i < p.n; i++) put16(img, ptr0 + 2 * i, p.at[i] - shift);
    img[0] = type;
    img[1] = img[2] = img[7] = 0;
    put16(img, 3, p.n);
    put16(img, 5, top);
    if (!leaf) put32(img, 8, p.right);
    forgetPage(img);
    if (ctx.autoVacuum) await ptrmapChildren(ctx, p.pgno, img);
  }

  /** A sibling that left the window: read back from its page. */
  private async load(pgno: Pgno): Promise<MPage> {
    let img = readPage(this.ctx, pgno);
    if (!(img instanceof Uint8Array)) img = await img;
    const c = readContent(this.ctx, pgno, img);
    const p = this.page(pgno, c.right);
    for (const x of c.cells) p.add(x, 0, x.length);
    return p;
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
    const i = Q.n;
    if (i < 1) return false;
    const nOld = 2;
    const nxDiv = i - 1;
    if (win.length < nOld) return false;
    const usable = this.room(L);
    for (let j = 0; j < nOld; j++) {
      const P = win[win.length - nOld + j];
      const pg = j === 0 ? Q.child(nxDiv) : Q.right;
      if (P.pgno !== pg || P.n === 0 || P.size > usable) return false;
      if (j === 0) {
        const dv = Q.len[nxDiv];
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

    const i = Q.n;
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
      const pg = ci < i ? Q.child(ci) : Q.right;
      const at = win.length - nOld + j;
      if (at < 0) old.push(await this.load(pg));
      else if (win[at].pgno === pg) old.push(win[at]);
      else throw corrupt(Q.pgno, `child ${pg} is not the page the builder holds (internal error)`);
    }
    const inWin = Math.min(nOld, win.length);
    const lastRight = old[nOld - 1].right;
    // (The right-most page's siblings are always Q's last children.)
    if (nxDiv + nOld - 1 !== i) throw corrupt(Q.pgno, 'the dividers are not the last cells of their parent (internal error)');

    // The cell sequence: each sibling's cells, and (not for table leaves) the divider after it,
    // copied into `seq`; the dividers are Q's last cells, dropped from it.
    const seq = this.seq.reset(0, 0);
    const cntNew: number[] = [];
    const szNew: number[] = [];
    for (let j = 0; j < nOld; j++) {
      const o = old[j];
      seq.addRange(o, 0, o.n);
      cntNew.push(seq.n);
      szNew.push(o.size);
      if (j === nOld - 1) continue;
      const at = Q.at[nxDiv + j];
      const end = at + Q.len[nxDiv + j];
      if (leaf) seq.add(Q.buf, at + 4, end, 4);
      else seq.addChild(o.right, Q.buf, at + 4, end);
    }
    Q.truncate(nxDiv);
    const nCell = seq.n;
    const len = seq.len;
    const sz = (x: number): number => (x < nCell ? len[x] + 2 : 0);
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
        const szR = len[r];
        const szD = len[d];
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

    // Pages: the old ones in order (emptied: their cells are in seq), then new ones; extra old
    // ones are freed. The dividers between them go back onto Q.
    const pages: MPage[] = [];
    for (let j = 0; j < k; j++) pages.push(j < nOld ? old[j].reset(old[j].pgno, 0) : this.page(await this.allocate(), 0));
    let from = 0;
    for (let j = 0; j < k; j++) {
      const pg = pages[j];
      const to = j < k - 1 ? cntNew[j] : nCell;
      pg.addRange(seq, from, to);
      from = to + 1;
      if (j === k - 1) {
        pg.right = lastRight;
        break;
      }
      const at = seq.at[to];
      if (leaf) {
        Q.addChild(pg.pgno, seq.buf, at, at + indexBodyLength(seq.buf, at, ctx.g, at + len[to], pg.pgno));
      } else {
        pg.right = seq.child(to);
        Q.addChild(pg.pgno, seq.buf, at + 4, at + len[to]);
      }
    }
    Q.right = pages[k - 1].pgno;
    win.splice(win.length - inWin, inWin, ...pages);
    for (let j = k; j < nOld; j++) {
      this.free.push(old[j].pgno);
      this.spare.push(old[j]);
    }

    if (isRoot && Q.n === 0) {
      // The root takes its only child's content (balance_nonroot's shallower step).
      const only = win.pop()!;
      this.free.push(only.pgno);
      this.levels.pop();
      only.pgno = this.root;
      win.push(only);
      this.spare.push(Q);
      return;
    }
    await this.trim(L);
  }
}
