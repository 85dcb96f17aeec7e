/**
 * The page-level integrity check (like sqlite3BtreeIntegrityCheck, checkTreePage, checkList,
 * checkPtrmap, checkRef and btreeComputeFreeSpace in btree.c).
 *
 * Given a PageSource and the root pages of every b-tree in the database (page 1 for
 * sqlite_schema, then the catalog's tables and indexes), {@link checkIntegrity} walks every
 * structure that owns pages and reports what is wrong, as strings worded like SQLite's
 * PRAGMA integrity_check where SQLite has a counterpart. Order of the walk (as SQLite's):
 *
 *   1. the lock-byte page (file offset 2^30) is marked used: nothing may reference it;
 *   2. the freelist from page 1's header (offset 32 first trunk, offset 36 page count):
 *        trunk:  OFFSET SIZE DESCRIPTION
 *                   0     4  next trunk pgno (0 = last)
 *                   4     4  L, leaf pgnos on this trunk, at most U/4 - 2
 *                   8   4·L  leaf pgnos
 *      "Freelist: size is N but should be M", "freelist leaf count too big on page P";
 *   3. header consistency in auto-vacuum files: offset 52 (largest root page) must equal the
 *      largest root given; offset 64 (incremental vacuum) needs offset 52 non-zero;
 *   4. each b-tree, depth first, right child first and cells in descending order (as SQLite
 *      walks, so the first message for a page names the same cell SQLite's would):
 *        - the page header decodes (type 2/5/10/13 matching the tree's kind, nCell within
 *          MX_CELL, the cell pointer array inside the usable size) and the freeblock list is
 *          ascending, in range, and with the content area start and the fragment count
 *          accounts for no more than the page ("free space corruption");
 *        - every cell pointer lies in [contentStart, U-4] ("Offset X out of range A..B"), every
 *          cell ends inside the page ("Extends off end of page");
 *        - keys are in order, against the bounds the parents give: rowids for table trees
 *          ("Rowid R out of order": a left subtree's keys are <= its divider cell, everything
 *          to the right is greater), records for index trees and WITHOUT ROWID tables under
 *          the tree's key collations and sort orders ("Key out of order": strictly increasing
 *          in-order, interior cells included);
 *        - every child page has the same depth ("Child page depth differs"), no tree is deeper
 *          than {@link MAX_DEPTH} levels, non-root pages are not empty;
 *        - every overflow chain has exactly ceil((P - local) / (U - 4)) pages ("overflow list
 *          length is N but should be M");
 *        - cells, freeblocks and the header/pointer array never overlap ("Multiple uses for
 *          byte X of page P"), and the bytes none of them covers equal the fragmented-bytes
 *          count at header offset 7 ("Fragmentation of N bytes reported as M on page P");
 *        - in auto-vacuum files, each page reached has the pointer-map entry its parent
 *          implies: ROOTPAGE(0) for roots, BTREE(parent) for children, OVERFLOW1(cell's page)
 *          for an overflow chain's first page, OVERFLOW2(previous) for the next ones,
 *          FREEPAGE(0) for freelist pages ("Bad ptr map entry key=K expected=(T,P) got=(T,P)");
 *   5. every page 1..pageCount was referenced exactly once — by a b-tree, an overflow chain or
 *      the freelist — except pointer-map pages, which nothing may reference ("Page N: never
 *      used", "2nd reference to page N", "invalid page number N", "Page N: pointer map
 *      referenced").
 *
 * Each page is visited at most once (a second reference is reported and not followed), so
 * cycles end and a hostile file costs at most one visit per page. Memory is one bit per page
 * plus a page-sized list of ranges per level and a copy of the last index key met. Index keys
 * are compared in place (btree/rawrecord.ts compareRecords), not decoded. Damage that stops a page from being read is a problem
 * string, not an exception: only I/O errors (and misuse) propagate. The walk stops as soon as
 * `maxErrors` problems were reported, like SQLite's mxErr.
 *
 * Besides the problems, the result tells per tree how many entries it holds (leaf cells of
 * table trees, every cell of index trees: SQLite's nRow, which "wrong # of entries in index"
 * compares) and whether the walk of that tree found nothing wrong: row-level checks (src/check.ts)
 * run cursors only over clean trees, whose walks are known to be bounded. A TreeSpec's visitor
 * sees each entry as the walk meets it, so that those checks need not read the pages again.
 */
import { get16, get32 } from '../pager/bytes.js';
import { isQuireError } from '../pager/errors.js';
import { lockBytePageFor, type PageSource, type Pgno } from '../pager/source.js';
import { newCellInfo, parseCell, type CellInfo } from './cell.js';
import { keyComparator, type KeyInfo } from './compare.js';
import { MAX_DEPTH } from './cursor.js';
import { readPayload } from './overflow.js';
import { runSource, type RunSource } from './passsource.js';
import {
  PTF_INDEX_INTERIOR,
  PTF_INDEX_LEAF,
  PTF_TABLE_INTERIOR,
  PTF_TABLE_LEAF,
  btPageView,
} from './page.js';
import { PTRMAP_BTREE, PTRMAP_FREEPAGE, PTRMAP_OVERFLOW1, PTRMAP_OVERFLOW2, PTRMAP_ROOTPAGE, ptrmapPageFor } from './ptrmap.js';
import { compareRecords, RawRecord, RecordCopy } from './rawrecord.js';
import { decodeRecordInto } from './record.js';

/** One b-tree to check. */
export interface TreeSpec {
  /** Root page. */
  root: Pgno;
  /**
   * 'table' for rowid tables (page types 5/13), 'index' for indexes and WITHOUT ROWID tables
   * (2/10). Undefined when unknown (a schema quire cannot parse): the root page decides.
   */
  kind?: 'table' | 'index';
  /**
   * Index trees: collation and order of the record's columns (columns past its end compare
   * BINARY ascending). Undefined: index key order is not checked.
   */
  keyInfo?: KeyInfo;
  /** Index trees: how many leading columns form the unique key (default: all of them). */
  nKey?: number;
  /** Called for each entry of the tree as the walk meets it (see {@link TreeVisitor}). */
  visit?: TreeVisitor;
}

/**
 * Sees the entries of one tree during the walk, so that a caller checking the rows (src/check.ts)
 * needs no second read of the pages: each leaf cell of a table tree, each cell of an index
 * tree, in descending key order (the walk's: right child first, cells from the last). Entries
 * of a tree the walk finds damaged are seen too, and some may be missed: what a visitor
 * gathered counts only when the tree's report says `clean`.
 */
export interface TreeVisitor {
  /**
   * One entry: its rowid (table trees; 0 in index trees) and its record in `buf[start, end)`,
   * valid only during the call; `buf` is null when the payload could not be read. `parsed` is
   * the record as parsed for the key-order check (index trees with a keyInfo), else null.
   */
  entry(rowid: Rowid, buf: Uint8Array | null, start: number, end: number, parsed: RawRecord | null): void;
}

export interface IntegrityOptions {
  /** Stop after this many problems (PRAGMA integrity_check(N)). Default 100. */
  maxErrors?: number;
  /**
   * The trees given are not all the database has (SQLite's "partial" check): skip the
   * never-used pass and the auto-vacuum header checks. Default false.
   */
  partial?: boolean;
  /** Check the freelist. Default true. */
  freelist?: boolean;
}

export interface TreeReport {
  root: Pgno;
  /** Entries found: leaf cells of a table tree, all cells of an index tree (SQLite's nRow). */
  entries: number;
  /** The tree was walked to the end without a problem. */
  clean: boolean;
  /** The kind the tree turned out to have (from the spec, else its root page), if known. */
  kind: 'table' | 'index' | undefined;
}

export interface IntegrityReport {
  problems: string[];
  /** One per TreeSpec, in the same order. */
  trees: TreeReport[];
  /** False when the walk stopped early because maxErrors problems were reported. */
  complete: boolean;
}

type Rowid = number | bigint;
/**
 * An upper bound while walking a table tree backwards: a rowid, or none. (Index trees keep
 * theirs in TreeState.last: the walk meets keys in descending order, so the bound is always
 * the last key met.)
 */
type Bound = Rowid | null;

const LARGEST_INT64 = 0x7fffffffffffffffn;
/** How far the walk reads ahead of itself among a page's children (see Checker.prefetch). */
const PREFETCH_BYTES = 1 << 20;
/**
 * Children read ahead at most by a page whose children are not (known to be) leaves: interior
 * pages are few and lie apart, and each one read ahead is held until the walk gets to it.
 */
const INTERIOR_AHEAD = 16;
/** Children at most this many pages apart are read in one run (the pages between too). */
const RUN_GAP = 4;

interface TreeState {
  readonly root: Pgno;
  intKey: boolean | undefined;
  /** Index key order: the key columns' collations and sort orders; null: not checked. */
  order: { colls: string[]; desc: boolean[] } | null;
  readonly nKey: number;
  entries: number;
  readonly visit: TreeVisitor | undefined;
  /**
   * Index trees: the last key the walk met (it walks in descending order, so every key must
   * sort before it), or null before the first. Only the first nKey fields count. It is one of
   * `views` (parsed in place in the page being walked) or `kept.rec`, a copy made by
   * {@link keepLast} when the walk leaves that page.
   */
  last: RawRecord | null;
  readonly views: [RawRecord, RawRecord];
  readonly kept: RecordCopy;
  /** The level of the first leaf met (the root is level 0); -1 before. */
  leafLevel: number;
}

/** Copies the tree's last key out of the page it lies in (the walk is leaving that page). */
function keepLast(t: TreeState): void {
  if (t.last !== null && t.last !== t.kept.rec) {
    t.kept.copy(t.last);
    t.last = t.kept.rec;
  }
}

function compareRowid(a: Rowid, b: Rowid): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function isCorrupt(e: unknown): boolean {
  return isQuireError(e) && e.code === 'CORRUPT';
}

/** A QuireError's message without its leading "page N: ". */
function detail(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/^page \d+: /, '');
}

/** The children of one interior page read ahead (Checker.prefetch), in cell order. */
class Ahead {
  n = 0;
  readonly cells: Int32Array;
  readonly pgnos: Uint32Array;
  readonly imgs: (Uint8Array | null)[];
  /** Scratch: entry numbers by ascending page number. */
  readonly order: Int32Array;

  constructor(capacity: number) {
    this.cells = new Int32Array(capacity);
    this.pgnos = new Uint32Array(capacity);
    this.imgs = new Array<Uint8Array | null>(capacity).fill(null);
    this.order = new Int32Array(capacity);
  }

  /** Removes the last entry, returning its image. */
  pop(): Uint8Array | null {
    const img = this.imgs[--this.n];
    this.imgs[this.n] = null;
    return img;
  }
}

class Checker {
  readonly src: PageSource;
  readonly pageCount: number;
  readonly usable: number;
  readonly autoVacuum: boolean;
  readonly problems: string[] = [];
  /** Problems found, including those past the cap. */
  nErr = 0;
  private mxErr: number;
  /** One bit per page: referenced yet. */
  private readonly refs: Uint8Array;
  /** checkTreePage's coverage ranges, one list per tree level. */
  private readonly rangeLists: number[][] = [];
  /**
   * Per tree level, the children of the page being walked there that were read ahead and not
   * walked yet (see prefetch): the walk takes them from here, so it asks the source for each
   * page once (a second request would make a cache take a page read once for a hot one).
   */
  private readonly aheads: Ahead[] = [];
  /**
   * With a source that reads runs past its cache (a Snapshot), prefetch reads the children
   * with one readRun per run of nearby pages into `run` and copies each page into a buffer
   * of `free` (the walk gives a page back when its subtree is done, see checkTreePage). The
   * walk visits each tree page once: through the cache every page would be a new copy (the
   * pager's), garbage that piles up between collections, and the cache would be filled with
   * pages never asked for again. So the walk's memory is the pages of the path and those read
   * ahead, whatever the file size.
   */
  private readonly runs: RunSource | null;
  private run: Uint8Array | null = null;
  private readonly free: Uint8Array[] = [];
  private readonly pooled = new WeakSet<Uint8Array>();
  /** How many children prefetch reads ahead at most, the right child aside. */
  private readonly maxAhead: number;

  constructor(src: PageSource, maxErrors: number) {
    this.src = src;
    this.pageCount = src.pageCount;
    this.usable = src.usableSize;
    this.autoVacuum = src.autoVacuum;
    this.mxErr = maxErrors;
    this.refs = new Uint8Array((src.pageCount >>> 3) + 1);
    this.runs = runSource(src);
    this.maxAhead = Math.max(1, Math.floor(PREFETCH_BYTES / src.pageSize));
  }

  get done(): boolean {
    return this.mxErr <= 0;
  }

  report(prefix: Prefix, text: string): void {
    this.nErr++;
    if (this.mxErr <= 0) return;
    this.mxErr--;
    this.problems.push((typeof prefix === 'string' ? prefix : prefix()) + text);
  }

  referenced(pgno: Pgno): boolean {
    return (this.refs[pgno >>> 3] & (1 << (pgno & 7))) !== 0;
  }

  markUsed(pgno: Pgno): void {
    if (pgno >= 1 && pgno <= this.pageCount) this.refs[pgno >>> 3] |= 1 << (pgno & 7);
  }

  /** checkRef: true (and a problem) when pgno is out of range or already referenced. */
  checkRef(prefix: Prefix, pgno: Pgno): boolean {
    if (pgno < 1 || pgno > this.pageCount) {
      this.report(prefix, `invalid page number ${pgno}`);
      return true;
    }
    if (this.referenced(pgno)) {
      this.report(prefix, `2nd reference to page ${pgno}`);
      return true;
    }
    this.markUsed(pgno);
    return false;
  }

  /** Page `pgno`: the image itself when the source has it cached (no promise to await). */
  page(pgno: Pgno): Uint8Array | Promise<Uint8Array> {
    return this.src.page(pgno);
  }

  /**
   * Reads ahead the children the walk is about to visit, in ascending page order, and holds
   * them for the walk (the list of `level`, see `aheads`): the left children of the cells
   * from `end - maxAhead` to before `end`, then `right` (when not 0).
   * The walk visits children in descending order, which a pager's sequential read-ahead does
   * not recognize; b-trees SQLite builds in key order lie mostly in ascending pages, so this
   * makes the reads long runs. Nothing is checked here (the walk checks each page when it gets
   * there); out-of-range pointers and unreadable pages are skipped (the walk reads them again
   * and reports). Returns the first cell whose left child was read ahead.
   */
  async prefetch(t: TreeState, level: number, data: Uint8Array, cellStart: number, nCell: number, contentOffset: number, end: number, right: Pgno): Promise<number> {
    const from = Math.max(0, end - (t.leafLevel === level + 1 ? this.maxAhead : Math.min(this.maxAhead, INTERIOR_AHEAD)));
    const U = this.usable;
    const a = (this.aheads[level] ??= new Ahead(this.maxAhead + 1));
    this.dropAhead(level);
    for (let i = from; i <= end; i++) {
      let child = right;
      if (i < end) {
        const pc = get16(data, cellStart + 2 * i);
        if (pc < contentOffset || pc > U - 4) continue;
        child = get32(data, pc);
      }
      if (child < 1 || child > this.pageCount || (i === end && right === 0) || this.referenced(child)) continue;
      a.cells[a.n] = i;
      a.pgnos[a.n++] = child;
    }
    if (this.runs !== null) await this.readAhead(this.runs, a);
    else {
      for (let k = 0; k < a.n; k++) {
        try {
          const p = this.src.page(a.pgnos[k]);
          a.imgs[k] = p instanceof Uint8Array ? p : await p;
        } catch (e) {
          if (!isCorrupt(e)) throw e;
        }
      }
    }
    return Math.min(from, nCell);
  }

  /** Reads the pages listed in `a` into pooled buffers (see `runs`), in runs of nearby pages. */
  private async readAhead(src: RunSource, a: Ahead): Promise<void> {
    const ps = src.pageSize;
    const n = a.n;
    const pg = a.pgnos;
    // Entries by ascending page number: cells mostly list their children so already.
    const order = a.order;
    let sorted = true;
    for (let k = 0; k < n; k++) {
      order[k] = k;
      if (k > 0 && pg[k - 1] >= pg[k]) sorted = false;
    }
    if (!sorted) order.subarray(0, n).sort((x, y) => pg[x] - pg[y]);
    const maxRun = this.maxAhead;
    const run = (this.run ??= new Uint8Array(maxRun * ps));
    for (let k = 0; k < n; ) {
      const first = pg[order[k]];
      let j = k + 1;
      while (j < n && pg[order[j]] - pg[order[j - 1]] <= RUN_GAP && pg[order[j]] - first < maxRun) j++;
      try {
        await src.readRun(first, pg[order[j - 1]] - first + 1, run);
      } catch (e) {
        if (!isCorrupt(e)) throw e;
        k = j; // the walk reads these again and reports
        continue;
      }
      for (; k < j; k++) {
        const e = order[k];
        const off = (pg[e] - first) * ps;
        let page = this.free.pop();
        if (page === undefined) {
          page = new Uint8Array(ps);
          this.pooled.add(page);
        }
        page.set(run.subarray(off, off + ps));
        a.imgs[e] = page;
      }
    }
  }

  /**
   * The image read ahead for cell `cell` (child `pgno`) of the page walked at `level`, if any.
   * The walk goes down the cells in descending order: entries of cells after it were not
   * taken (a child that was not walked) and are dropped.
   */
  takeAhead(level: number, cell: number, pgno: Pgno): Uint8Array | undefined {
    const a = this.aheads[level];
    if (a === undefined) return undefined;
    while (a.n > 0 && a.cells[a.n - 1] > cell) this.giveBack(a.pop());
    if (a.n > 0 && a.cells[a.n - 1] === cell && a.pgnos[a.n - 1] === pgno) return a.pop() ?? undefined;
    return undefined;
  }

  /** Drops what is left read ahead at `level` (the walk is done with that page, or refills). */
  dropAhead(level: number): void {
    const a = this.aheads[level];
    if (a !== undefined) while (a.n > 0) this.giveBack(a.pop());
  }

  /** The walk is done with `page`: a pooled buffer is reused (any other is the source's). */
  giveBack(page: Uint8Array | null | undefined): void {
    if (page != null && this.pooled.has(page)) this.free.push(page);
  }

  /** checkPtrmap: the pointer-map entry of `key` must be (type, parent). */
  async checkPtrmap(prefix: Prefix, key: Pgno, type: number, parent: Pgno): Promise<void> {
    if (!this.autoVacuum) return;
    const map = key >= 2 ? ptrmapPageFor(key, this.usable, this.src.pageSize) : 0;
    if (map === 0 || map === key || !Number.isInteger(key)) {
      this.report(prefix, `Failed to read ptrmap key=${key}`);
      return;
    }
    let gotType = 0;
    let gotParent = 0;
    if (map <= this.pageCount) {
      let img: Uint8Array;
      try {
        img = await this.page(map);
      } catch (e) {
        if (!isCorrupt(e)) throw e;
        this.report(prefix, `Failed to read ptrmap key=${key}`);
        return;
      }
      const off = 5 * (key - map - 1);
      if (off + 5 > this.usable || off + 5 > img.length) {
        this.report(prefix, `Failed to read ptrmap key=${key}`);
        return;
      }
      gotType = img[off];
      gotParent = get32(img, off + 1);
    }
    if (gotType !== type || gotParent !== parent) {
      this.report(prefix, `Bad ptr map entry key=${key} expected=(${type},${parent}) got=(${gotType},${gotParent})`);
    }
  }

  /** checkList: a freelist (trunks and their leaves) or an overflow chain of `expected` pages. */
  async checkList(prefix: Prefix, isFreelist: boolean, first: Pgno, expected: number): Promise<void> {
    let n = expected;
    let pgno = first;
    const errAtStart = this.nErr;
    const maxLeaves = Math.floor(this.usable / 4) - 2;
    while (pgno !== 0 && !this.done) {
      if (this.checkRef(prefix, pgno)) break;
      n--;
      let data: Uint8Array;
      try {
        const d = this.page(pgno);
        data = d instanceof Uint8Array ? d : await d;
      } catch (e) {
        if (!isCorrupt(e)) throw e;
        this.report(prefix, `failed to get page ${pgno}`);
        break;
      }
      if (data.length < 8) {
        this.report(prefix, `failed to get page ${pgno}`);
        break;
      }
      if (isFreelist) {
        const leaves = get32(data, 4);
        if (this.autoVacuum) await this.checkPtrmap(prefix, pgno, PTRMAP_FREEPAGE, 0);
        if (leaves > maxLeaves) {
          this.report(prefix, `freelist leaf count too big on page ${pgno}`);
          n--;
        } else {
          for (let i = 0; i < leaves; i++) {
            const leaf = get32(data, 8 + 4 * i);
            if (this.autoVacuum) await this.checkPtrmap(prefix, leaf, PTRMAP_FREEPAGE, 0);
            this.checkRef(prefix, leaf);
          }
          n -= leaves;
        }
      } else if (this.autoVacuum && n > 0) {
        await this.checkPtrmap(prefix, get32(data, 0), PTRMAP_OVERFLOW2, pgno);
      }
      pgno = get32(data, 0);
    }
    if (n !== 0 && errAtStart === this.nErr) {
      this.report(prefix, `${isFreelist ? 'size' : 'overflow list length'} is ${expected - n} but should be ${expected}`);
    }
  }

  /**
   * btreeComputeFreeSpace: the freeblock list must start in the content area, ascend with at
   * least 4 bytes between blocks, stay inside the page, and with the content area start and
   * the fragment count account for no more than the usable size. Returns why not, or null.
   */
  freeSpaceProblem(data: Uint8Array, hdr: number, nCell: number, leaf: boolean): string | null {
    const U = this.usable;
    const top = get16(data, hdr + 5) || 65536;
    const cellFirst = hdr + (leaf ? 8 : 12) + 2 * nCell;
    const cellLast = U - 4;
    let pc = get16(data, hdr + 1);
    let nFree = data[hdr + 7] + top;
    if (pc > 0) {
      if (pc < top) return `first freeblock ${pc} is before the cell content area ${top}`;
      let next = 0;
      let size = 0;
      for (;;) {
        if (pc > cellLast) return `freeblock ${pc} is off the end of the page`;
        next = get16(data, pc);
        size = get16(data, pc + 2);
        nFree += size;
        if (next <= pc + size + 3) break;
        pc = next;
      }
      if (next > 0) return `freeblock ${next} is not in ascending order after ${pc}`;
      if (pc + size > U) return `freeblock ${pc} of ${size} bytes extends past the page end`;
    }
    if (nFree > U) return `${nFree - top} free bytes and a content area at ${top} exceed the usable size ${U}`;
    if (nFree < cellFirst) return `content area at ${top} starts inside the cell pointer array (ends at ${cellFirst})`;
    return null;
  }

  /**
   * checkTreePage: checks page `pgno` of tree `t` and its subtree. `maxKey` is the upper bound
   * for its rowids (inclusive for the first rowid on a table page, exclusive otherwise; index
   * keys: TreeState.last). Returns the subtree's depth (leaves 0, as SQLite: failures also 0)
   * and the smallest rowid seen.
   */
  async checkTreePage(
    t: TreeState,
    pgno: Pgno,
    maxKeyIn: Bound,
    level: number,
    callerPrefix: Prefix,
    v2: number,
    keys = true,
    heldIn?: Uint8Array,
  ): Promise<[number, Bound]> {
    const maxKey = maxKeyIn;
    let held = heldIn;
    if (held !== undefined && (this.done || pgno === 0 || this.referenced(pgno) || level >= MAX_DEPTH)) {
      this.giveBack(held);
      held = undefined;
    }
    if (this.done || pgno === 0) return [0, maxKey];
    if (this.checkRef(callerPrefix, pgno)) return [0, maxKey];
    if (level >= MAX_DEPTH) {
      this.report(pagePrefix(t.root, pgno), `b-tree deeper than ${MAX_DEPTH} levels`);
      return [0, maxKey];
    }
    let data: Uint8Array;
    if (held !== undefined) {
      data = held;
      held = undefined;
    } else {
      try {
        const d = this.page(pgno);
        data = d instanceof Uint8Array ? d : await d;
      } catch (e) {
        if (!isCorrupt(e)) throw e;
        this.report(pagePrefix(t.root, pgno), `unable to get the page: ${detail(e)}`);
        return [0, maxKey];
      }
    }
    try {
      return await this.checkPageOf(t, pgno, data, maxKey, level, v2, keys);
    } finally {
      // Nothing may point into the page once it is given back: the last key is copied out.
      keepLast(t);
      this.dropAhead(level);
      this.giveBack(data);
    }
  }

  /** The body of checkTreePage, once it has the page's image `data`. */
  private async checkPageOf(
    t: TreeState,
    pgno: Pgno,
    data: Uint8Array,
    maxKeyIn: Bound,
    level: number,
    v2: number,
    keysIn: boolean,
  ): Promise<[number, Bound]> {
    let keys = keysIn;
    let maxKey = maxKeyIn;
    const U = this.usable;
    const hdr = pgno === 1 ? 100 : 0;
    if (data.length < U) {
      this.report(pagePrefix(t.root, pgno), `page image is ${data.length} bytes, expected ${U}`);
      return [0, maxKey];
    }
    // ---- btreeInitPage
    const type = data[hdr];
    if (type !== PTF_INDEX_INTERIOR && type !== PTF_TABLE_INTERIOR && type !== PTF_INDEX_LEAF && type !== PTF_TABLE_LEAF) {
      this.report(pagePrefix(t.root, pgno), `invalid b-tree page type ${type}`);
      return [0, maxKey];
    }
    const leaf = type === PTF_INDEX_LEAF || type === PTF_TABLE_LEAF;
    if (leaf && t.leafLevel < 0) t.leafLevel = level;
    const intKey = type === PTF_TABLE_INTERIOR || type === PTF_TABLE_LEAF;
    if (t.intKey === undefined) {
      t.intKey = intKey;
      if (t.intKey) t.order = null;
    } else if (t.intKey !== intKey) {
      // Reported, then checked as the kind it claims to be (as SQLite, which does not compare
      // kinds here, checks it), without key order below this point.
      this.report(pagePrefix(t.root, pgno), `${intKey ? 'table' : 'index'} page in ${t.intKey ? 'a table' : 'an index'} b-tree`);
      keys = false;
    }
    if (level === 0 && maxKey === null && intKey) maxKey = LARGEST_INT64;
    const nCell = get16(data, hdr + 3);
    const mxCell = Math.floor((this.src.pageSize - 8) / 6);
    const cellStart = hdr + (leaf ? 8 : 12);
    if (nCell > mxCell || cellStart + 2 * nCell > U) {
      this.report(pagePrefix(t.root, pgno), `${nCell} cells do not fit in the page`);
      return [0, maxKey];
    }
    const free = this.freeSpaceProblem(data, hdr, nCell, leaf);
    if (free !== null) {
      this.report(pagePrefix(t.root, pgno), `free space corruption: ${free}`);
      return [0, maxKey];
    }
    if (nCell === 0 && level > 0) this.report(pagePrefix(t.root, pgno), 'non-root b-tree page has no cells');
    else if (nCell === 0 && !leaf && pgno !== 1) this.report(pagePrefix(t.root, pgno), 'interior root page has no cells');

    const contentOffset = get16(data, hdr + 5) || 65536;
    if (leaf || !intKey) t.entries += nCell;
    const view = btPageView(pgno, data, type, leaf, intKey, U);

    let depth = -1;
    let keyCanBeEqual = true;
    let prefetchFrom = nCell; // the left children of cells from here on are prefetched
    let coverage = true;
    // Pairs: start, end (inclusive). One list per level, reused: a page's children are deeper.
    const ranges = (this.rangeLists[level] ??= []);
    ranges.length = 0;
    if (!leaf) {
      // SQLite names the right child only in auto-vacuum files; otherwise the message carries
      // the cell number this page was reached through (its pCheck->v2 at that point).
      const rpfx = (): string => (this.autoVacuum ? `Tree ${t.root} page ${pgno} right child: ` : `Tree ${t.root} page ${pgno} cell ${v2}: `);
      if (this.autoVacuum) await this.checkPtrmap(rpfx, view.rightChild, PTRMAP_BTREE, pgno);
      prefetchFrom = await this.prefetch(t, level, data, cellStart, nCell, contentOffset, nCell, view.rightChild);
      keepLast(t);
      const held = this.takeAhead(level, nCell, view.rightChild);
      [depth, maxKey] = await this.checkTreePage(t, view.rightChild, maxKey, level + 1, rpfx, v2, keys, held);
      keyCanBeEqual = false;
    }

    const cell: CellInfo = newCellInfo();
    // In auto-vacuum files SQLite keeps the right-child prefix for every cell of an interior
    // page (it never resets it after the right child); elsewhere cells are named.
    const avPfx = !leaf && this.autoVacuum ? `Tree ${t.root} page ${pgno} right child: ` : null;
    for (let i = nCell - 1; i >= 0 && !this.done; i--) {
      const pc = get16(data, cellStart + 2 * i);
      if (pc < contentOffset || pc > U - 4) {
        this.report(cellPrefix(avPfx, t.root, pgno, i), `Offset ${pc} out of range ${contentOffset}..${U - 4}`);
        coverage = false;
        continue;
      }
      try {
        parseCell(view, i, cell);
      } catch (e) {
        if (!isCorrupt(e)) throw e;
        const d = detail(e);
        this.report(cellPrefix(avPfx, t.root, pgno, i), /past the usable size/.test(d) ? 'Extends off end of page' : d);
        coverage = false;
        continue;
      }
      const size = cell.size;
      const payloadSize = cell.payloadSize;
      const localSize = cell.localSize;
      const payloadOffset = cell.payloadOffset;
      const overflow = cell.overflow;
      const leftChild = cell.leftChild;
      const rowid = cell.rowid;

      if (intKey && keys) {
        const c = compareRowid(rowid, maxKey as Rowid);
        if (keyCanBeEqual ? c > 0 : c >= 0) this.report(cellPrefix(avPfx, t.root, pgno, i), `Rowid ${rowid} out of order`);
        maxKey = rowid;
        keyCanBeEqual = false;
      }

      let chainOk = true;
      if (payloadSize > localSize) {
        const nPage = Math.ceil((payloadSize - localSize) / (U - 4));
        if (this.autoVacuum) await this.checkPtrmap(() => cellPrefix(avPfx, t.root, pgno, i), overflow, PTRMAP_OVERFLOW1, pgno);
        const before = this.nErr;
        await this.checkList(() => cellPrefix(avPfx, t.root, pgno, i), false, overflow, nPage);
        chainOk = this.nErr === before;
      }

      // The payload of an overflowing cell, read once for the key check and the visitor.
      let payload: Uint8Array | null = null;
      const visit = t.visit !== undefined && chainOk && (leaf || !intKey) && !this.done ? t.visit : undefined;
      let parsed: RawRecord | null = null;
      if (!intKey && keys && t.order !== null && chainOk && !this.done) {
        try {
          let buf = data;
          let start = payloadOffset;
          if (overflow !== 0) {
            let b = readPayload(this.src, pgno, data, cell);
            if (!(b instanceof Uint8Array)) b = await b;
            payload = buf = b;
            start = 0;
          }
          const end = start + payloadSize;
          const r = t.last === t.views[0] ? t.views[1] : t.views[0];
          if (r.parse(buf, start, end)) parsed = r;
          else decodeRecordInto(buf, start, end, this.src.encoding, pgno, []); // throws, saying why
        } catch (e) {
          if (!isCorrupt(e)) throw e;
          this.report(cellPrefix(avPfx, t.root, pgno, i), detail(e));
        }
        if (parsed !== null) {
          const last = t.last;
          if (last !== null) {
            const n = Math.min(parsed.n, last.n, t.nKey);
            if (compareRecords(parsed, last, n, t.order.colls, t.order.desc, this.src.encoding) >= 0) this.report(cellPrefix(avPfx, t.root, pgno, i), 'Key out of order');
          }
          t.last = parsed;
        }
      }
      if (visit !== undefined) {
        if (overflow === 0) {
          visit.entry(rowid, data, payloadOffset, payloadOffset + payloadSize, parsed);
        } else {
          if (payload === null) {
            try {
              let b = readPayload(this.src, pgno, data, cell);
              if (!(b instanceof Uint8Array)) b = await b;
              payload = b;
            } catch (e) {
              if (!isCorrupt(e)) throw e; // the visitor is told; the walk does not read payloads
            }
          }
          visit.entry(rowid, payload, 0, payload === null ? 0 : payload.length, parsed);
        }
      }

      if (!leaf) {
        if (this.autoVacuum) await this.checkPtrmap(() => cellPrefix(avPfx, t.root, pgno, i), leftChild, PTRMAP_BTREE, pgno);
        if (i < prefetchFrom) prefetchFrom = await this.prefetch(t, level, data, cellStart, nCell, contentOffset, i + 1, 0);
        keepLast(t);
        const held = this.takeAhead(level, i, leftChild);
        let d2: number;
        [d2, maxKey] = await this.checkTreePage(t, leftChild, maxKey, level + 1, () => cellPrefix(avPfx, t.root, pgno, i), i, keys, held);
        keyCanBeEqual = false;
        if (d2 !== depth) {
          this.report(cellPrefix(avPfx, t.root, pgno, i), 'Child page depth differs');
          depth = d2;
        }
      }
      ranges.push(pc, pc + size - 1);
    }

    // ---- coverage: cells, freeblocks and the header/pointer array tile the page
    if (coverage && !this.done) {
      let fb = get16(data, hdr + 1);
      while (fb > 0) {
        const size = get16(data, fb + 2);
        ranges.push(fb, fb + size - 1);
        fb = get16(data, fb);
      }
      // Cells met from the last usually lie in ascending offsets already: sort only if not.
      let sorted = true;
      for (let k = 2; k < ranges.length && sorted; k += 2) {
        sorted = ranges[k - 2] < ranges[k] || (ranges[k - 2] === ranges[k] && ranges[k - 1] <= ranges[k + 1]);
      }
      const order: number[] = [];
      if (!sorted) {
        for (let k = 0; k < ranges.length; k += 2) order.push(k);
        order.sort((a, b) => ranges[a] - ranges[b] || ranges[a + 1] - ranges[b + 1]);
      }
      // As SQLite's min-heap sweep: an overlap stops it, and the fragment count is compared
      // only when every range was taken (the overlap, if any, was the last one).
      let prevEnd = (contentOffset - 1) & 0xffff;
      let nFrag = 0;
      let left = ranges.length >> 1;
      for (let j = 0; j < ranges.length; j += 2) {
        const k = sorted ? j : order[j >> 1];
        const start = ranges[k];
        left--;
        if (prevEnd >= start) {
          this.report('', `Multiple uses for byte ${start} of page ${pgno}`);
          break;
        }
        nFrag += start - prevEnd - 1;
        prevEnd = ranges[k + 1] & 0xffff;
      }
      nFrag += U - prevEnd - 1;
      if (left === 0 && nFrag !== data[hdr + 7]) {
        this.report('', `Fragmentation of ${nFrag} bytes reported as ${data[hdr + 7]} on page ${pgno}`);
      }
    }
    return [depth + 1, maxKey];
  }
}

/**
 * The start of a problem's message, or a function that makes it: made only when a problem is
 * reported (most pages have none). A string per page made eagerly holds its page number's
 * string in V8's number-string cache, which keeps it past young-generation collections: the
 * walk's old generation would fill with them.
 */
type Prefix = string | (() => string);

function pagePrefix(root: Pgno, pgno: Pgno): string {
  return `Tree ${root} page ${pgno}: `;
}

/** The prefix of a cell's messages, made only when one is needed (most cells need none). */
function cellPrefix(avPfx: string | null, root: Pgno, pgno: Pgno, i: number): string {
  return avPfx ?? `Tree ${root} page ${pgno} cell ${i}: `;
}

/**
 * The collations and sort orders of an index's key columns, as keyComparator takes them; null
 * for a collation quire does not have (then key order is not checked).
 */
function keyOrder(keyInfo: KeyInfo): { colls: string[]; desc: boolean[] } | null {
  try {
    keyComparator(keyInfo);
  } catch {
    return null;
  }
  return { colls: keyInfo.map((k) => (k.collation ?? 'BINARY').toUpperCase()), desc: keyInfo.map((k) => k.desc === true) };
}

/**
 * Checks the pages of `src` (see the module comment). `trees` should list every b-tree of the
 * database, page 1 (sqlite_schema) included, unless `options.partial`.
 */
export async function checkIntegrity(
  src: PageSource,
  trees: readonly TreeSpec[],
  options: IntegrityOptions = {},
): Promise<IntegrityReport> {
  const maxErrors = options.maxErrors ?? 100;
  const partial = options.partial === true;
  const reports: TreeReport[] = trees.map((t) => ({ root: t.root, entries: 0, clean: false, kind: t.kind }));
  if (src.pageCount === 0) {
    // An empty file is an empty database.
    for (const r of reports) r.clean = true;
    return { problems: [], trees: reports, complete: true };
  }
  const c = new Checker(src, maxErrors > 0 ? maxErrors : 100);
  const lockByte = lockBytePageFor(src.pageSize);
  c.markUsed(lockByte);
  const page1 = await c.page(1);

  if (options.freelist !== false) {
    await c.checkList('Freelist: ', true, get32(page1, 32), get32(page1, 36));
  }

  if (!partial) {
    if (c.autoVacuum) {
      let mx = 0;
      for (const t of trees) if (t.root > mx) mx = t.root;
      const inHeader = get32(page1, 52);
      if (mx !== inHeader) c.report('', `max rootpage (${mx}) disagrees with header (${inHeader})`);
    } else if (get32(page1, 64) !== 0) {
      c.report('', 'incremental_vacuum enabled with a max rootpage of zero');
    }
  }

  for (let i = 0; i < trees.length && !c.done; i++) {
    const spec = trees[i];
    const rep = reports[i];
    if (c.autoVacuum && spec.root > 1 && !partial) await c.checkPtrmap('', spec.root, PTRMAP_ROOTPAGE, 0);
    const state: TreeState = {
      root: spec.root,
      intKey: spec.kind === undefined ? undefined : spec.kind === 'table',
      order: spec.kind !== 'table' && spec.keyInfo !== undefined ? keyOrder(spec.keyInfo) : null,
      nKey: spec.nKey ?? Infinity,
      entries: 0,
      visit: spec.visit,
      last: null,
      views: [new RawRecord(), new RawRecord()],
      kept: new RecordCopy(),
      leafLevel: -1,
    };
    const before = c.nErr;
    const initial: Bound = state.intKey === true ? LARGEST_INT64 : null;
    await c.checkTreePage(state, spec.root, initial, 0, '', 0);
    rep.entries = state.entries;
    rep.clean = c.nErr === before;
    rep.kind = state.intKey === undefined ? spec.kind : state.intKey ? 'table' : 'index';
  }

  if (!partial) {
    for (let pg = 1; pg <= c.pageCount && !c.done; pg++) {
      const isMap = c.autoVacuum && ptrmapPageFor(pg, c.usable, src.pageSize) === pg;
      if (!c.referenced(pg) && !isMap) c.report('', `Page ${pg}: never used`);
      if (c.referenced(pg) && isMap) c.report('', `Page ${pg}: pointer map referenced`);
    }
  }
  return { problems: c.problems, trees: reports, complete: !c.done };
}
