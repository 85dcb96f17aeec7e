/**
 * Read cursors over table and index b-trees (like BtCursor, moveToRoot, moveToChild,
 * sqlite3BtreeNext, sqlite3BtreeTableMoveto and sqlite3BtreeIndexMoveto in btree.c).
 *
 * A cursor holds the path from the root to its current entry: `pages[0..depth]` and, at each
 * level, `idx[d]`, the cell index. On a leaf, idx is the current cell. On an interior page,
 * idx is the child the path descends into: cell idx's left child, or the right-most child when
 * idx = nCell. Index b-trees also keep entries in interior cells; an in-order walk yields an
 * interior cell's entry after its left subtree and before the next subtree, and the cursor
 * then sits on the interior page with idx = that cell (`depth` is the top of the path).
 *
 *   TREE KIND                 INTERIOR / LEAF TYPES   KEY
 *   table (rowid)             5 / 13                  rowid; interior cell = max rowid of
 *                                                     its left subtree
 *   index, WITHOUT ROWID      2 / 10                  the record; interior cells hold entries
 *
 * What is checked on every descent (each is CORRUPT naming the page): child pgno 0 or beyond
 * pageCount, a depth beyond 20 (BTCURSOR_MAX_DEPTH), a page already on the path (cycle),
 * a page whose kind does not match the tree (table vs index), a non-root page without cells.
 *
 * Every positioning method returns a value or a Promise of it (MaybePromise): it completes
 * synchronously when the pages it needs are cached, and only awaits the source on a miss. The
 * methods are written as resumable loops over the cursor state, so a miss continues from
 * where it stopped. `await cursor.next()` always works; hot loops may test `instanceof
 * Promise` to skip the await. One operation at a time: a cursor is MISUSE while an
 * asynchronous step is in flight. After an error the cursor is at EOF; reposition it.
 *
 * {@link scanTable} is the fast full scan of a rowid table: an async iterator of batches, one
 * leaf's rows at a time, each row `[rowid, ...columns]`, decoded by a synchronous loop over
 * the leaf's cells (no promise per row).
 */
import { corrupt, misuse } from '../pager/errors.js';
import type { Encoding } from '../pager/header.js';
import type { PageSource, Pgno } from '../pager/source.js';
import { newCellInfo, parseCell, cellRowid, readPayloadSize, type CellInfo } from './cell.js';
import { keyComparator, type KeyComparator, type KeyInfo } from './compare.js';
import { readPayload } from './overflow.js';
import { cellOffset, parsePage, type BtPage } from './page.js';
import { decodeRecordInto, recordPrefixLength } from './record.js';
import type { MaybePromise, SqlValue } from './value.js';
import { readVarint, type Varint } from './varint.js';

/** SQLite's BTCURSOR_MAX_DEPTH: deeper trees are CORRUPT. */
export const MAX_DEPTH = 20;

type Rowid = number | bigint;

function leftChildOf(p: BtPage, i: number): Pgno {
  const d = p.data;
  const o = cellOffset(p, i);
  if (o + 4 > p.usableSize) throw corrupt(p.pgno, `cell ${i} runs past the usable size`);
  return ((d[o] << 24) >>> 0) + ((d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]);
}

function childAt(p: BtPage, i: number): Pgno {
  return i < p.nCell ? leftChildOf(p, i) : p.rightChild;
}

function compareRowid(a: Rowid, b: Rowid): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  // mixed or bigint: exact comparison
  const x = typeof a === 'bigint' ? a : Number.isInteger(a) ? BigInt(a) : undefined;
  const y = typeof b === 'bigint' ? b : Number.isInteger(b) ? BigInt(b) : undefined;
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  const fa = Number(a);
  const fb = Number(b);
  return fa < fb ? -1 : fa > fb ? 1 : 0;
}

/** The empty table-leaf view a cursor uses for sqlite_schema in a 0-page database. */
const EMPTY_SCHEMA: BtPage = {
  pgno: 1,
  data: new Uint8Array(0),
  type: 13,
  leaf: true,
  intKey: true,
  hdr: 100,
  nCell: 0,
  cellPtr: 108,
  firstFreeblock: 0,
  contentStart: 0,
  fragmented: 0,
  rightChild: 0,
  usableSize: 0,
  maxLocal: 0,
  minLocal: 0,
};

/** State shared by both cursor kinds: the path, descent checks, in-order stepping. */
abstract class BtCursor {
  protected readonly src: PageSource;
  readonly root: Pgno;
  protected readonly intKey: boolean;
  protected readonly pages: BtPage[] = [];
  protected readonly idx: number[] = [];
  protected depth = -1;
  protected atEof = true;
  protected busy = false;
  protected readonly cell: CellInfo = newCellInfo();

  protected constructor(src: PageSource, root: Pgno, intKey: boolean) {
    if (!Number.isInteger(root) || root < 1) throw misuse(`invalid root page ${root}`);
    this.src = src;
    this.root = root;
    this.intKey = intKey;
  }

  /** True when the cursor is not on an entry (empty tree, past the end, or not positioned). */
  get eof(): boolean {
    return this.atEof;
  }

  /** Page holding the current entry (0 when at EOF). */
  get pgno(): Pgno {
    return this.atEof ? 0 : this.pages[this.depth].pgno;
  }

  /** Cell index of the current entry in {@link pgno}. */
  get cellIndex(): number {
    return this.atEof ? -1 : this.idx[this.depth];
  }

  /** Number of pages on the path (root = 1). */
  get pathLength(): number {
    return this.depth + 1;
  }

  /** Checks the cursor's invariants; throws an Error describing the first violation. */
  assertState(): void {
    if (this.depth < -1 || this.depth >= MAX_DEPTH) throw new Error(`depth ${this.depth}`);
    if (this.depth >= 0 && this.pages[0].pgno !== this.root) throw new Error('path does not start at the root');
    for (let d = 0; d <= this.depth; d++) {
      const p = this.pages[d];
      const i = this.idx[d];
      if (p.intKey !== this.intKey) throw new Error(`page ${p.pgno} has the wrong kind`);
      if (d < this.depth) {
        if (p.leaf) throw new Error(`leaf ${p.pgno} in the middle of the path`);
        if (i < 0 || i > p.nCell) throw new Error(`idx ${i} out of range on ${p.pgno}`);
        if (childAt(p, i) !== this.pages[d + 1].pgno) throw new Error(`path broken below ${p.pgno}`);
      }
    }
    if (!this.atEof) {
      const p = this.pages[this.depth];
      const i = this.idx[this.depth];
      if (i < 0 || i >= p.nCell) throw new Error(`current cell ${i} out of range on ${p.pgno}`);
      if (!p.leaf && this.intKey) throw new Error('table cursor on an interior page');
    }
  }

  protected enter(): void {
    if (this.busy) throw misuse('cursor operation started while another is in progress');
  }

  /**
   * Wraps an asynchronous continuation: marks busy, and on failure leaves the cursor at EOF
   * (`moved`: the failed operation was repositioning it) or where it was (a read of the entry).
   */
  protected later<T>(p: Promise<T>, moved = true): Promise<T> {
    this.busy = true;
    return p.then(
      (v) => {
        this.busy = false;
        return v;
      },
      (e: unknown) => {
        this.busy = false;
        if (moved) this.atEof = true;
        throw e;
      },
    );
  }

  /** Runs a synchronous step, leaving the cursor at EOF if it throws. */
  protected guard<T>(f: () => MaybePromise<T>): MaybePromise<T> {
    this.enter();
    try {
      const r = f();
      return r instanceof Promise ? this.later(r) : r;
    } catch (e) {
      this.atEof = true;
      throw e;
    }
  }

  /** Pushes page `pgno` as the child of the current top (or as the root when depth is -1). */
  protected push(pgno: Pgno): Promise<void> | undefined {
    const d = this.depth + 1;
    const parent = d > 0 ? this.pages[d - 1].pgno : 0;
    if (pgno < 1 || pgno > this.src.pageCount) {
      throw d > 0
        ? corrupt(parent, `child page ${pgno} out of range (database has ${this.src.pageCount} pages)`)
        : corrupt(pgno, `root page out of range (database has ${this.src.pageCount} pages)`);
    }
    if (d >= MAX_DEPTH) throw corrupt(parent, `b-tree deeper than ${MAX_DEPTH} levels`);
    for (let k = 0; k < d; k++) {
      if (this.pages[k].pgno === pgno) throw corrupt(parent, `child page ${pgno} is already on the path (cycle)`);
    }
    const img = this.src.page(pgno);
    if (img instanceof Uint8Array) {
      this.install(d, pgno, img);
      return undefined;
    }
    return img.then((im) => this.install(d, pgno, im));
  }

  private install(d: number, pgno: Pgno, img: Uint8Array): void {
    const p = parsePage(img, pgno, this.src.usableSize);
    if (p.intKey !== this.intKey) {
      throw corrupt(pgno, `${p.intKey ? 'table' : 'index'} page in ${this.intKey ? 'a table' : 'an index'} b-tree`);
    }
    if (d > 0 && p.nCell === 0) throw corrupt(pgno, 'non-root b-tree page has no cells');
    if (d === 0 && p.nCell === 0 && !p.leaf && pgno !== 1) throw corrupt(pgno, 'interior root page has no cells');
    this.pages[d] = p;
    this.idx[d] = 0;
    this.depth = d;
  }

  protected moveToRoot(): Promise<void> | undefined {
    this.depth = -1;
    this.atEof = true;
    if (this.root === 1 && this.src.pageCount === 0 && this.intKey) {
      // An empty file is an empty database: sqlite_schema has no page yet (as in
      // sqlite3BtreeCursor, which then treats the tree as empty).
      this.pages[0] = EMPTY_SCHEMA;
      this.idx[0] = 0;
      this.depth = 0;
      return undefined;
    }
    return this.push(this.root);
  }

  /** Descends from the current top through child idx[top], then left-most to a leaf. */
  protected toLeftmost(): Promise<void> | undefined {
    for (;;) {
      const p = this.pages[this.depth];
      if (p.leaf) return undefined;
      const r = this.push(childAt(p, this.idx[this.depth]));
      if (r !== undefined) return r.then(() => this.toLeftmost());
    }
  }

  /** Descends right-most to a leaf, leaving idx = nCell on interior pages. */
  protected toRightmost(): Promise<void> | undefined {
    for (;;) {
      const p = this.pages[this.depth];
      if (p.leaf) return undefined;
      this.idx[this.depth] = p.nCell;
      const r = this.push(p.rightChild);
      if (r !== undefined) return r.then(() => this.toRightmost());
    }
  }

  /** Positions on the first entry; false when the tree is empty. */
  first(): MaybePromise<boolean> {
    return this.toEnd(false);
  }

  /** Positions on the last entry; false when the tree is empty. */
  last(): MaybePromise<boolean> {
    return this.toEnd(true);
  }

  /** first() (last = false) or last(): from the root down the left- or right-most path. */
  private toEnd(last: boolean): MaybePromise<boolean> {
    return this.guard(() => {
      const r = this.moveToRoot();
      return r === undefined ? this.toEndFromRoot(last) : r.then(() => this.toEndFromRoot(last));
    });
  }

  private toEndFromRoot(last: boolean): MaybePromise<boolean> {
    const r = last ? this.toRightmost() : this.toLeftmost();
    const settle = last ? () => this.settleLast() : () => this.settle();
    return r === undefined ? settle() : r.then(settle);
  }

  /** After a descent to a leaf at idx 0 (or nCell-1): EOF only for an empty root leaf. */
  private settle(): boolean {
    const p = this.pages[this.depth];
    this.atEof = p.nCell === 0;
    return !this.atEof;
  }

  /** Moves to the next entry in key order; false (and EOF) past the last one. */
  next(): MaybePromise<boolean> {
    if (this.atEof) {
      this.enter();
      return false;
    }
    // Fast path: the next cell on the same leaf.
    const p = this.pages[this.depth];
    if (p.leaf && this.idx[this.depth] + 1 < p.nCell && !this.busy) {
      this.idx[this.depth]++;
      return true;
    }
    return this.guard(() => this.step());
  }

  protected step(): MaybePromise<boolean> {
    let d = this.depth;
    let p = this.pages[d];
    if (!p.leaf) {
      // On an index interior entry: the next one is left-most in the subtree to its right.
      this.idx[d]++;
      const r = this.toLeftmost();
      return r === undefined ? this.settle() : r.then(() => this.settle());
    }
    if (++this.idx[d] < p.nCell) return true;
    for (;;) {
      d = this.up(d);
      if (d < 0) return false;
      p = this.pages[d];
      if (p.intKey) {
        if (++this.idx[d] <= p.nCell) {
          const r = this.toLeftmost();
          return r === undefined ? this.settle() : r.then(() => this.settle());
        }
      } else if (this.idx[d] < p.nCell) {
        return true; // the interior cell after the subtree we just finished
      }
    }
  }

  /** Moves to the previous entry in key order; false (and EOF) before the first one. */
  prev(): MaybePromise<boolean> {
    if (this.atEof) {
      this.enter();
      return false;
    }
    const p = this.pages[this.depth];
    if (p.leaf && this.idx[this.depth] > 0 && !this.busy) {
      this.idx[this.depth]--;
      return true;
    }
    return this.guard(() => this.stepBack());
  }

  protected stepBack(): MaybePromise<boolean> {
    let d = this.depth;
    let p = this.pages[d];
    const descend = (): MaybePromise<boolean> => {
      // Right-most entry of the subtree at child idx[d]: the last cell of its right-most leaf.
      const r = this.push(childAt(p, this.idx[d]));
      const fin = (): MaybePromise<boolean> => {
        const q = this.toRightmost();
        return q === undefined ? this.settleLast() : q.then(() => this.settleLast());
      };
      return r === undefined ? fin() : r.then(fin);
    };
    if (!p.leaf) return descend(); // on an index interior entry: its left subtree comes before
    if (--this.idx[d] >= 0) return true;
    for (;;) {
      d = this.up(d);
      if (d < 0) return false;
      p = this.pages[d];
      if (this.idx[d] === 0) continue;
      this.idx[d]--;
      if (p.intKey) return descend();
      return true; // the interior cell before the subtree we just left
    }
  }

  /** Climbs from level d to its parent: the parent's level, or -1 (and EOF) from the root. */
  private up(d: number): number {
    if (d === 0) {
      this.atEof = true;
      return -1;
    }
    this.depth = d - 1;
    return d - 1;
  }

  private settleLast(): boolean {
    const p = this.pages[this.depth];
    this.idx[this.depth] = p.nCell - 1;
    this.atEof = p.nCell === 0;
    return !this.atEof;
  }

  /** Parses the current cell into this.cell. */
  protected currentCell(): CellInfo {
    if (this.atEof) throw misuse('cursor is not on an entry');
    return parseCell(this.pages[this.depth], this.idx[this.depth], this.cell);
  }

  /** The full payload of the current entry (the record bytes, a fresh copy). */
  payload(): MaybePromise<Uint8Array> {
    this.enter();
    const c = this.currentCell();
    const p = this.pages[this.depth];
    const r = readPayload(this.src, p.pgno, p.data, c);
    return r instanceof Promise ? this.later(r, false) : r;
  }

  /** The parsed cell of the current entry (a fresh object: offsets, sizes, overflow). */
  cellInfo(): CellInfo {
    return { ...this.currentCell() };
  }

  /** Payload size of the current entry in bytes. */
  payloadSize(): number {
    return this.currentCell().payloadSize;
  }

  /** The current entry's record, decoded (for a table: the columns, without the rowid). */
  record(): MaybePromise<SqlValue[]> {
    this.enter();
    const c = this.currentCell();
    const p = this.pages[this.depth];
    const enc = this.src.encoding;
    const out: SqlValue[] = [];
    if (c.overflow === 0) {
      decodeRecordInto(p.data, c.payloadOffset, c.payloadOffset + c.payloadSize, enc, p.pgno, out);
      return out;
    }
    const pgno = p.pgno;
    const r = readPayload(this.src, pgno, p.data, c);
    if (r instanceof Promise) {
      return this.later(
        r.then((b) => {
          decodeRecordInto(b, 0, b.length, enc, pgno, out);
          return out;
        }),
        false,
      );
    }
    decodeRecordInto(r, 0, r.length, enc, pgno, out);
    return out;
  }
}

/** A cursor over a rowid table b-tree (page types 5 and 13). */
export class TableCursor extends BtCursor {
  constructor(src: PageSource, rootPgno: Pgno) {
    super(src, rootPgno, true);
  }

  /** The current entry's rowid. */
  get rowid(): Rowid {
    if (this.atEof) throw misuse('cursor is not on an entry');
    return cellRowid(this.pages[this.depth], this.idx[this.depth]);
  }

  /**
   * Positions on the first entry with rowid >= `rowid`. Returns true when that entry's rowid
   * equals `rowid`; false otherwise (check `eof` for "no entry at or after it").
   */
  seek(rowid: Rowid): MaybePromise<boolean> {
    return this.guard(() => {
      const r = this.moveToRoot();
      return r === undefined ? this.seekLoop(rowid) : r.then(() => this.seekLoop(rowid));
    });
  }

  private seekLoop(rowid: Rowid): MaybePromise<boolean> {
    for (;;) {
      const d = this.depth;
      const p = this.pages[d];
      let lo = 0;
      let hi = p.nCell;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareRowid(cellRowid(p, mid), rowid) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (p.leaf) {
        if (p.nCell === 0) {
          this.atEof = true;
          return false;
        }
        if (lo < p.nCell) {
          this.idx[d] = lo;
          this.atEof = false;
          return compareRowid(cellRowid(p, lo), rowid) === 0;
        }
        // Every rowid here is smaller: the answer is the next entry after this leaf.
        this.idx[d] = p.nCell - 1;
        this.atEof = false;
        const r = this.step();
        return r instanceof Promise ? r.then(() => false) : false;
      }
      this.idx[d] = lo;
      const r = this.push(childAt(p, lo));
      if (r !== undefined) return r.then(() => this.seekLoop(rowid));
    }
  }
}

/** Options of {@link IndexCursor.seek}. */
export interface SeekOptions {
  /**
   * 'ge' (default): first entry whose key prefix is >= key. 'gt': first entry > key.
   * 'eq': like 'ge', but the cursor is at EOF unless that entry's prefix equals key.
   */
  op?: 'ge' | 'gt' | 'eq';
}

const vslot: Varint = { value: 0 };

/**
 * A cursor over an index b-tree (page types 2 and 10): a secondary index (records end with the
 * rowid) or a WITHOUT ROWID table (records are the full rows in primary-key order).
 * `keyInfo` gives the collation and direction of the leading columns.
 */
export class IndexCursor extends BtCursor {
  readonly keyInfo: KeyInfo;
  private readonly cmp: KeyComparator;

  constructor(src: PageSource, rootPgno: Pgno, keyInfo: KeyInfo = []) {
    super(src, rootPgno, false);
    this.keyInfo = keyInfo;
    this.cmp = keyComparator(keyInfo, src.encoding);
  }

  /**
   * Compares `key` with the current entry's first key.length columns under keyInfo:
   * <0 when key sorts before the entry, 0 when the prefix is equal, >0 after.
   */
  compareKey(key: readonly SqlValue[]): MaybePromise<number> {
    this.enter();
    if (this.atEof) throw misuse('cursor is not on an entry');
    const p = this.pages[this.depth];
    const k = this.cellKey(p, this.idx[this.depth], key.length);
    return k instanceof Promise ? this.later(k.then((v) => this.cmp(key, v)), false) : this.cmp(key, k);
  }

  /** Positions the cursor relative to `key` (see {@link SeekOptions}); true when an entry's
   * key prefix equals `key` exactly at the new position. */
  seek(key: readonly SqlValue[], options: SeekOptions = {}): MaybePromise<boolean> {
    const op = options.op ?? 'ge';
    return this.guard(() => {
      const r = this.moveToRoot();
      return r === undefined ? this.seekLoop(key, op) : r.then(() => this.seekLoop(key, op));
    });
  }

  private seekLoop(key: readonly SqlValue[], op: 'ge' | 'gt' | 'eq'): MaybePromise<boolean> {
    for (;;) {
      const p = this.pages[this.depth];
      const i = this.searchPage(p, key, op === 'gt');
      if (i instanceof Promise) {
        return i.then((j) => this.afterSearch(p, j, key, op) ?? this.seekLoop(key, op));
      }
      const r = this.afterSearch(p, i, key, op);
      if (r !== undefined) return r;
    }
  }

  /** Applies the search result `i` on page p: descend (undefined = loop on), or finish. */
  private afterSearch(p: BtPage, i: number, key: readonly SqlValue[], op: 'ge' | 'gt' | 'eq'): MaybePromise<boolean> | undefined {
    const d = this.depth;
    if (p.leaf) {
      if (p.nCell === 0) {
        this.atEof = true;
        return false;
      }
      this.atEof = false;
      if (i < p.nCell) {
        this.idx[d] = i;
        return this.finishSeek(key, op);
      }
      this.idx[d] = p.nCell - 1;
      const r = this.step();
      return r instanceof Promise ? r.then(() => this.finishSeek(key, op)) : this.finishSeek(key, op);
    }
    this.idx[d] = i;
    const r = this.push(childAt(p, i));
    if (r !== undefined) return r.then(() => this.seekLoop(key, op));
    return undefined;
  }

  private finishSeek(key: readonly SqlValue[], op: 'ge' | 'gt' | 'eq'): MaybePromise<boolean> {
    if (this.atEof || op === 'gt') return false;
    const k = this.cellKey(this.pages[this.depth], this.idx[this.depth], key.length);
    const done = (v: SqlValue[]): boolean => {
      const eq = this.cmp(key, v) === 0;
      if (!eq && op === 'eq') this.atEof = true;
      return eq;
    };
    return k instanceof Promise ? k.then(done) : done(k);
  }

  /** First cell index on p whose key is >= key (or > key when `gt`); nCell when none. */
  private searchPage(p: BtPage, key: readonly SqlValue[], gt: boolean): MaybePromise<number> {
    let lo = 0;
    let hi = p.nCell;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.cellKey(p, mid, key.length);
      if (k instanceof Promise) return this.searchPageAsync(p, key, gt, lo, hi, mid, k);
      const c = this.cmp(key, k);
      if (c < 0 || (c === 0 && !gt)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private async searchPageAsync(
    p: BtPage,
    key: readonly SqlValue[],
    gt: boolean,
    lo: number,
    hi: number,
    mid: number,
    pending: Promise<SqlValue[]>,
  ): Promise<number> {
    let k: SqlValue[] = await pending;
    for (;;) {
      const c = this.cmp(key, k);
      if (c < 0 || (c === 0 && !gt)) hi = mid;
      else lo = mid + 1;
      if (lo >= hi) return lo;
      mid = (lo + hi) >>> 1;
      k = await this.cellKey(p, mid, key.length);
    }
  }

  /** The first n columns of cell i's record on page p (reading overflow only if needed). */
  private cellKey(p: BtPage, i: number, n: number): MaybePromise<SqlValue[]> {
    return cellKeyPrefix(this.src, p, i, n, this.src.encoding, this.cell);
  }
}

/**
 * The first n columns of the record in cell i of index page p (the key a seek compares),
 * decoded into a new array. Reads overflow pages only when those columns reach past the
 * local payload, and then only as far as they need. `cell` is scratch for parseCell.
 */
export function cellKeyPrefix(src: PageSource, p: BtPage, i: number, n: number, enc: Encoding, cell: CellInfo): MaybePromise<SqlValue[]> {
  const c = parseCell(p, i, cell);
  const out: SqlValue[] = [];
  const start = c.payloadOffset;
  let need = c.payloadSize;
  if (c.overflow !== 0) {
    need = recordPrefixLength(p.data, start, c.localSize, c.payloadSize, n, p.pgno);
    if (need === -1) need = c.payloadSize;
  }
  if (need <= c.localSize) {
    decodeRecordInto(p.data, start, start + c.localSize, enc, p.pgno, out, n);
    return out;
  }
  const pgno = p.pgno;
  const r = readPayload(src, pgno, p.data, c, need);
  const dec = (b: Uint8Array): SqlValue[] => {
    decodeRecordInto(b, 0, b.length, enc, pgno, out, n);
    return out;
  };
  return r instanceof Promise ? r.then(dec) : dec(r);
}

// ---- full scans ------------------------------------------------------------------------------

/** Options of {@link scanTable}. */
export interface ScanOptions {
  /** Stop after this many rows (default: all). */
  limit?: number;
}

/**
 * Called by {@link scanRecords} for each row, synchronously: the record is `buf[start, end)`
 * (valid only during the call unless the scan owns its copies); `pgno` is the leaf, for
 * CORRUPT messages.
 */
export type RecordVisitor = (rowid: Rowid, buf: Uint8Array, start: number, end: number, pgno: Pgno) => void;

/**
 * Scans a rowid table in rowid order, yielding one batch per leaf page: an array of rows,
 * each `[rowid, ...columns]`. The per-row loop is synchronous; the iterator awaits only for
 * pages the source does not have cached and for overflow payloads on uncached pages.
 * Structural checks are those of {@link TableCursor}.
 */
export async function* scanTable(src: PageSource, root: Pgno, options: ScanOptions = {}): AsyncGenerator<SqlValue[][]> {
  const enc = src.encoding;
  let batch: SqlValue[][] = [];
  // BLOBs are views into the leaf's private copy (or into the payload buffer of an
  // overflowing row): one allocation per page instead of one per BLOB.
  const visit: RecordVisitor = (rowid, buf, start, end, pgno) => {
    const row: SqlValue[] = [rowid];
    decodeRecordInto(buf, start, end, enc, pgno, row, Infinity, true);
    batch.push(row);
  };
  for await (const _ of scanRecords(src, root, visit, { ...options, ownLeaf: true })) {
    if (batch.length === 0) continue;
    yield batch;
    batch = [];
  }
}

/**
 * The walk under {@link scanTable}: calls `visit` with each row's record, in rowid order,
 * and yields (the number of rows visited since the last yield) after each leaf, and before
 * and after each row whose payload overflows (whose pages it may await), so a consumer can
 * flush between them. With `ownLeaf`, each leaf is copied first and its records stay valid
 * for good; otherwise they point into the page image and stay valid until the generator
 * resumes. Overflowing payloads are always fresh buffers.
 */
export async function* scanRecords(
  src: PageSource,
  root: Pgno,
  visit: RecordVisitor,
  options: ScanOptions & { ownLeaf?: boolean } = {},
): AsyncGenerator<number> {
  const U = src.usableSize;
  const pageCount = src.pageCount;
  let remaining = options.limit ?? Infinity;
  const stack: BtPage[] = [];
  const sidx: number[] = [];
  const cell = newCellInfo();
  let pgno = root;
  let parent: Pgno = 0;
  if (remaining <= 0 || (root === 1 && pageCount === 0)) return; // empty file: empty schema
  for (;;) {
    // Load pgno as the child of the stack top (or the root).
    const depth = stack.length;
    if (pgno < 1 || pgno > pageCount) {
      throw depth > 0
        ? corrupt(parent, `child page ${pgno} out of range (database has ${pageCount} pages)`)
        : corrupt(pgno, `root page out of range (database has ${pageCount} pages)`);
    }
    if (depth >= MAX_DEPTH) throw corrupt(parent, `b-tree deeper than ${MAX_DEPTH} levels`);
    for (let k = 0; k < depth; k++) {
      if (stack[k].pgno === pgno) throw corrupt(parent, `child page ${pgno} is already on the path (cycle)`);
    }
    let img = src.page(pgno);
    if (!(img instanceof Uint8Array)) img = await img;
    const p = parsePage(img, pgno, U);
    if (!p.intKey) throw corrupt(pgno, 'index page in a table b-tree');
    if (p.nCell === 0 && (depth > 0 || (!p.leaf && pgno !== 1))) {
      throw corrupt(pgno, depth > 0 ? 'non-root b-tree page has no cells' : 'interior root page has no cells');
    }
    if (!p.leaf) {
      stack.push(p);
      sidx.push(0);
      parent = pgno;
      pgno = childAt(p, 0);
      continue;
    }
    // A leaf: visit every row synchronously (awaiting only overflow pages not cached).
    const data = options.ownLeaf ? p.data.slice() : p.data;
    const n = p.nCell;
    const maxLocal = p.maxLocal;
    let visited = 0;
    for (let i = 0; i < n && remaining > 0; i++, remaining--) {
      let q = cellOffset(p, i);
      let size = data[q];
      if (size < 0x80) {
        q++;
      } else {
        q += readPayloadSize(data, q, U, pgno, i, vslot);
        size = vslot.value as number;
      }
      let rowid: Rowid = data[q];
      if (rowid < 0x80 && q < U) {
        q++;
      } else {
        const k = readVarint(data, q, U, vslot);
        if (k === 0) throw corrupt(pgno, `cell ${i} rowid varint runs past the usable size`);
        rowid = vslot.value;
        q += k;
      }
      if (size <= maxLocal) {
        if (q + size > U) throw corrupt(pgno, `cell ${i} payload runs past the usable size`);
        visit(rowid, data, q, q + size, pgno);
        visited++;
      } else {
        if (visited > 0) yield visited; // before an await: the rows so far are still in place
        visited = 0;
        parseCell(p, i, cell);
        let b = readPayload(src, pgno, data, cell);
        if (b instanceof Promise) b = await b;
        visit(rowid, b, 0, b.length, pgno);
        yield 1;
      }
    }
    if (visited > 0) yield visited;
    if (remaining <= 0) return;
    // Climb to the next unvisited child.
    for (;;) {
      const top = stack.length - 1;
      if (top < 0) return;
      const ip = stack[top];
      const j = ++sidx[top];
      if (j <= ip.nCell) {
        parent = ip.pgno;
        pgno = childAt(ip, j);
        break;
      }
      stack.pop();
      sidx.pop();
    }
  }
}
