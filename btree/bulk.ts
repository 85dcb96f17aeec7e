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
 * and read back only if a merge reaches them): memory does not grow with the tree. Pages are
 * written at finish() (or when they leave the window) in one pass each; in auto-vacuum files
 * the pointer-map entries of their children and overflow chains are set then.
 *
 * The page count that results equals SQLite's VACUUM on the same content (test/vacuum-compact).
 */
import { get32, put32 } from '../pager/bytes.js';
import { corrupt, misuse } from '../pager/errors.js';
import type { Pgno, WritablePageSource } from '../pager/source.js';
import { allocatePage, freePage, readPage, writeCtx, writePage, type WriteCtx } from './alloc.js';
import { leafCellRowid, ptrmapChildren, readContent, tableInteriorCell } from './balance.js';
import { indexBodyLength, rebuildPage } from './cellwrite.js';
import type { KeyComparator } from './compare.js';
import { forgetPage, PTF_INDEX_INTERIOR, PTF_INDEX_LEAF, PTF_TABLE_INTERIOR, PTF_TABLE_LEAF } from './page.js';
import { decodeRecord } from './record.js';
import type { SqlValue } from './value.js';
import { leafCell } from './write.js';

type Rowid = number | bigint;

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

/** Appends entries in key order to an empty b-tree (see the module comment). */
export class BulkLoad {
  private ctx: WriteCtx;
  private readonly table: boolean;
  /** levels[0]: the leaves; the last level holds only the root. */
  private readonly levels: MPage[][];
  /** Pages freed by merges, reused first (as SQLite's freelist would be). */
  private readonly free: Pgno[] = [];
  private lastRowid: Rowid | null = null;
  private lastKey: SqlValue[] | null = null;

  private readonly root: Pgno;
  private readonly cmp: KeyComparator | undefined;

  /**
   * `root` must be the root of an empty b-tree of this kind (just created). Index b-trees
   * need `cmp`, which checks that entries come in increasing order.
   */
  constructor(txn: WritablePageSource, root: Pgno, kind: 'table' | 'index', cmp?: KeyComparator) {
    this.root = root;
    this.cmp = cmp;
    if (root === 1) throw misuse('page 1 cannot be bulk loaded');
    if (kind === 'index' && cmp === undefined) throw misuse('an index bulk load needs the key comparator');
    this.ctx = writeCtx(txn);
    this.table = kind === 'table';
    this.levels = [[{ pgno: root, cells: [], size: 0, right: 0 }]];
  }

  /**
   * Table b-tree: appends a row; its rowid must be larger than every rowid appended before.
   * Returns a promise only when it had to wait (an overflow chain, balancing).
   */
  appendRow(rowid: Rowid, record: Uint8Array): Promise<void> | undefined {
    this.nextRowid(rowid);
    return this.pushCell(leafCell(this.ctx, rowid, record, this.lastLeaf(), true));
  }

  /** appendRow for a row whose leaf cell is at hand (`cell`: exact bytes, payload all local; kept). */
  appendRowCell(rowid: Rowid, cell: Uint8Array): Promise<void> | undefined {
    this.nextRowid(rowid);
    return this.push(cell);
  }

  /** Index b-tree: appends an entry (a record); it must sort after every entry before it. */
  appendEntry(record: Uint8Array): Promise<void> | undefined {
    this.nextKey(decodeRecord(record, this.ctx.encoding, this.root));
    return this.pushCell(leafCell(this.ctx, null, record, this.lastLeaf(), true));
  }

  /** appendEntry for an entry whose leaf cell is at hand (kept), with its decoded values. */
  appendEntryCell(cell: Uint8Array, key: SqlValue[]): Promise<void> | undefined {
    this.nextKey(key);
    return this.push(cell);
  }

  private nextRowid(rowid: Rowid): void {
    if (this.lastRowid !== null && !(rowid > this.lastRowid)) {
      throw corrupt(this.root, `rowid ${rowid} is not larger than the previous rowid ${this.lastRowid} (rows out of order)`);
    }
    this.lastRowid = rowid;
  }

  private nextKey(key: SqlValue[]): void {
    if (this.lastKey !== null && this.cmp!(key, this.lastKey) <= 0) throw corrupt(this.root, 'index entries out of order');
    this.lastKey = key;
  }

  private pushCell(cell: Uint8Array | Promise<Uint8Array>): Promise<void> | undefined {
    return cell instanceof Promise ? cell.then((c) => this.push(c)) : this.push(cell);
  }

  /**
   * Continues in another write transaction of the same database (the previous one committed:
   * pages written so far are in the file; those in memory are written to the new one).
   */
  rebind(txn: WritablePageSource): void {
    this.ctx = writeCtx(txn);
  }

  /**
   * Before the transaction commits mid-build: writes the pages held in memory as they are now
   * (they may be written again later), so that every page allocated so far is in the file.
   */
  async checkpoint(): Promise<void> {
    for (let L = 0; L < this.levels.length; L++) for (const p of this.levels[L]) await this.write(L, p);
    for (const pg of this.free) await writePage(this.ctx, pg);
  }

  /** Writes every page still in memory; the tree is complete after this. */
  async finish(): Promise<void> {
    for (let L = 0; L < this.levels.length; L++) {
      for (const p of this.levels[L]) await this.write(L, p);
      this.levels[L] = [];
    }
    while (this.free.length > 0) await freePage(this.ctx, this.free.pop()!);
  }

  private lastLeaf(): Pgno {
    const w = this.levels[0];
    return w[w.length - 1].pgno;
  }

  private room(L: number): number {
    return this.ctx.U - (L === 0 ? 8 : 12);
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

  /** The balance loop of sqlite3BtreeInsert, from the leaf level up. */
  private async balance(): Promise<void> {
    const U = this.ctx.U;
    let L = 0;
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
      if (L === 0 && this.table && over) await this.quick();
      else await this.nonroot(L);
      L++;
    }
  }

  /** balance_quick: the appended row alone on a new right-most leaf. */
  private async quick(): Promise<void> {
    const win = this.levels[0];
    const P = win[win.length - 1];
    const cell = P.cells.pop()!;
    P.size -= cell.length + 2;
    const N: MPage = { pgno: await this.allocate(), cells: [cell], size: cell.length + 2, right: 0 };
    const div = tableInteriorCell(P.pgno, leafCellRowid(P.cells[P.cells.length - 1], P.pgno));
    const pw = this.levels[1];
    const Q = pw[pw.length - 1];
    Q.cells.push(div);
    Q.size += div.length + 2;
    Q.right = N.pgno;
    win.push(N);
    await this.trim(0);
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
   * balance_nonroot for the right-most page of level L: redistributes it with its left
   * siblings under the right-most page of level L + 1.
   */
  private async nonroot(L: number): Promise<void> {
    const ctx = this.ctx;
    const bulk = !this.table;
    const leaf = L === 0;
    const leafData = leaf && this.table;
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
      if (j === nOld - 1 || leafData) continue;
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
        szNew[p + 1] += leafData ? sz(cntNew[p] - 1) : sz(cntNew[p]);
        cntNew[p]--;
      }
      while (cntNew[p] < nCell) {
        const s = sz(cntNew[p]);
        if (szNew[p] + s > usable) break;
        szNew[p] += s;
        cntNew[p]++;
        szNew[p + 1] -= leafData ? s : sz(cntNew[p]);
      }
      if (cntNew[p] >= nCell) k = p + 1;
      else if (cntNew[p] <= (p > 0 ? cntNew[p - 1] : 0)) throw corrupt(old[0].pgno, 'cannot distribute the cells (internal error)');
    }
    // Then even out from the right (not under BULKLOAD: only to fill an empty right page).
    for (let p = k - 1; p > 0; p--) {
      let szRight = szNew[p];
      let szLeft = szNew[p - 1];
      let r = cntNew[p - 1] - 1;
      let d = r + 1 - (leafData ? 1 : 0);
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
      from = leafData ? to : to + 1;
      if (j === k - 1) {
        pg.right = old[nOld - 1].right;
        break;
      }
      let div: Uint8Array;
      if (leafData) {
        div = tableInteriorCell(pg.pgno, leafCellRowid(pg.cells[pg.cells.length - 1], pg.pgno));
      } else if (leaf) {
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
    Q.size = sizeOf(Q.cells);
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
