/**
 * Moving pages in auto-vacuum databases (like relocatePage, modifyPagePointer,
 * incrVacuumStep, finalDbSize, autoVacuumCommit and sqlite3BtreeIncrVacuum in btree.c).
 *
 * Every page but page 1 and the pointer-map pages has a pointer-map entry (btree/ptrmap.ts)
 * naming what points at it, so a page can be moved from `from` to `to` without a tree walk
 * ({@link relocatePage}):
 *
 *   TYPE        WHAT POINTS AT THE PAGE                    FIXED BY THE MOVE
 *   ROOTPAGE    sqlite_schema's rootpage column (caller)   nothing here
 *   BTREE       a child pointer or the right child of      that pointer; the children's
 *               the parent b-tree page                     BTREE and overflow OVERFLOW1 entries
 *   OVERFLOW1   the overflow pointer at the end of a       that pointer; the next overflow
 *               cell on the parent b-tree page             page's OVERFLOW2 entry
 *   OVERFLOW2   the first 4 bytes of the previous          that pointer; likewise
 *               overflow page
 *
 * and the moved page's own entry becomes (TYPE, parent).
 *
 * Auto-vacuum FULL, before every commit ({@link autoVacuumCommit}): with N pages and F free
 * pages, the file shrinks to nFin = N - F - (pointer-map pages no longer needed), stepping back
 * over pointer-map pages and the lock-byte page. Pages from N down to nFin+1: free ones are
 * skipped, pages in use are moved into free pages at or below nFin (free pages above nFin are
 * drawn from the list and dropped). Then the freelist is empty and the file is truncated.
 *
 * INCREMENTAL ({@link incrementalVacuum}): each step removes the last page: if it is free it
 * is taken off the freelist, else it is moved into a free page <= nFin; then the page count
 * drops to the previous page that is neither a pointer-map page nor the lock-byte page. The
 * freelist stays exact after every step. Root pages never move here: they sit at the front of
 * the file (createBtree puts each new root at largest-root + 1).
 */
import { get32, put32 } from '../pager/bytes.js';
import { corrupt } from '../pager/errors.js';
import type { Pgno } from '../pager/source.js';
import { allocatePage, checkPgno, dropTails, isPtrmap, ptrmapGet, ptrmapPut, readPage, writePage, type WriteCtx } from './alloc.js';
import { ptrmapChildren } from './balance.js';
import { cellSize } from './cellwrite.js';
import { cellOffset, forgetPage, parsePage, PTF_TABLE_INTERIOR } from './page.js';
import {
  PTRMAP_BTREE,
  PTRMAP_FREEPAGE,
  PTRMAP_OVERFLOW1,
  PTRMAP_OVERFLOW2,
  PTRMAP_ROOTPAGE,
  ptrmapPageFor,
} from './ptrmap.js';

const ovflSlot = { at: -1 };

/** Rewrites the pointer to `from` on page `pgno` (of the kind `type` says) to `to`. */
export async function modifyPagePointer(ctx: WriteCtx, pgno: Pgno, from: Pgno, to: Pgno, type: number): Promise<void> {
  const data = await writePage(ctx, pgno);
  if (type === PTRMAP_OVERFLOW2) {
    if (get32(data, 0) !== from) throw corrupt(pgno, `overflow page does not point at page ${from}`);
    put32(data, 0, to);
    return;
  }
  const p = parsePage(data, pgno, ctx.U);
  for (let i = 0; i < p.nCell; i++) {
    const off = cellOffset(p, i);
    if (type === PTRMAP_OVERFLOW1) {
      if (p.type === PTF_TABLE_INTERIOR) break;
      cellSize(data, off, p.type, ctx.g, ctx.U, pgno, ovflSlot);
      if (ovflSlot.at >= 0 && get32(data, ovflSlot.at) === from) {
        put32(data, ovflSlot.at, to);
        forgetPage(data);
        return;
      }
    } else if (!p.leaf && get32(data, off) === from) {
      put32(data, off, to);
      forgetPage(data);
      return;
    }
  }
  if (type !== PTRMAP_BTREE || p.leaf || p.rightChild !== from) {
    throw corrupt(pgno, `no pointer to page ${from} found (pointer map disagrees with the page)`);
  }
  put32(data, p.hdr + 8, to);
  forgetPage(data);
}

/**
 * Moves page `from` (whose pointer-map entry is `type`, `parent`) to the unused page `to`
 * and fixes every pointer and pointer-map entry involved (relocatePage).
 */
export async function relocatePage(ctx: WriteCtx, from: Pgno, type: number, parent: Pgno, to: Pgno): Promise<void> {
  if (from === 1 || to === 1) throw corrupt(1, 'page 1 cannot be relocated');
  let src = readPage(ctx, from);
  if (!(src instanceof Uint8Array)) src = await src;
  const dst = await writePage(ctx, to);
  dst.set(src.subarray(0, ctx.pageSize));
  forgetPage(dst);
  if (type === PTRMAP_BTREE || type === PTRMAP_ROOTPAGE) {
    await ptrmapChildren(ctx, to, dst);
  } else {
    const next = get32(dst, 0);
    if (next !== 0) {
      checkPgno(ctx, next, to, 'overflow page');
      await ptrmapPut(ctx, next, PTRMAP_OVERFLOW2, to);
    }
  }
  if (type !== PTRMAP_ROOTPAGE) {
    if (!(parent >= 1 && parent <= ctx.txn.pageCount)) throw corrupt(from, `pointer-map parent ${parent} out of range`);
    await modifyPagePointer(ctx, parent, from, to, type);
    await ptrmapPut(ctx, to, type, parent);
  }
}

/** The page count auto-vacuum shrinks a file of nOrig pages with nFree free pages to. */
export function finalDbSize(ctx: WriteCtx, nOrig: number, nFree: number): number {
  const nEntry = Math.floor(ctx.U / 5);
  const nPtrmap = Math.floor((nFree - nOrig + ptrmapPageFor(nOrig, ctx.U, ctx.pageSize) + nEntry) / nEntry);
  let nFin = nOrig - nFree - nPtrmap;
  if (nOrig > ctx.lockByte && nFin < ctx.lockByte) nFin--;
  while (isPtrmap(ctx, nFin) || nFin === ctx.lockByte) nFin--;
  return nFin;
}

async function freeCount(ctx: WriteCtx): Promise<number> {
  let p1 = ctx.txn.page(1);
  if (!(p1 instanceof Uint8Array)) p1 = await p1;
  return get32(p1, 36);
}

/** One step of vacuuming (incrVacuumStep): clears page iLastPg. Returns false when done. */
async function vacuumStep(ctx: WriteCtx, nFin: number, iLastPg: Pgno, commit: boolean): Promise<boolean> {
  if (!isPtrmap(ctx, iLastPg) && iLastPg !== ctx.lockByte) {
    if ((await freeCount(ctx)) === 0) return false;
    const [type, parent] = await ptrmapGet(ctx, iLastPg);
    if (type === PTRMAP_ROOTPAGE) throw corrupt(iLastPg, 'a root page lies in the area auto-vacuum removes');
    if (type === PTRMAP_FREEPAGE) {
      if (!commit) {
        const got = await allocatePage(ctx, 'exact', iLastPg);
        if (got !== iLastPg) throw corrupt(iLastPg, 'the pointer map says the page is free but it is not on the freelist');
      }
    } else {
      let free: Pgno;
      do {
        if ((await freeCount(ctx)) === 0) throw corrupt(1, 'freelist exhausted while vacuuming');
        const dbSize = ctx.txn.pageCount;
        free = await allocatePage(ctx, commit ? 'any' : 'le', commit ? 0 : nFin);
        if (free > dbSize) throw corrupt(1, 'vacuum allocated a page beyond the end of the file');
      } while (commit && free > nFin);
      if (free >= iLastPg) throw corrupt(iLastPg, 'no free page below the page to move');
      await relocatePage(ctx, iLastPg, type, parent, free);
    }
  }
  if (!commit) {
    let n = iLastPg;
    do n--;
    while (n === ctx.lockByte || isPtrmap(ctx, n));
    ctx.txn.setPageCount(n);
  }
  return true;
}

/** Auto-vacuum FULL at commit (autoVacuumCommit); a no-op for other modes. */
export async function autoVacuumCommit(ctx: WriteCtx): Promise<void> {
  if (!ctx.autoVacuum) return;
  const txn = ctx.txn;
  let p1 = txn.page(1);
  if (!(p1 instanceof Uint8Array)) p1 = await p1;
  if (get32(p1, 64) !== 0) return; // incremental: only PRAGMA incremental_vacuum moves pages
  dropTails(ctx);
  const nOrig = txn.pageCount;
  if (isPtrmap(ctx, nOrig) || nOrig === ctx.lockByte) throw corrupt(nOrig, 'the last page of the file is a pointer-map or lock-byte page');
  const nFree = get32(p1, 36);
  if (nFree === 0) return;
  const nFin = finalDbSize(ctx, nOrig, nFree);
  if (nFin > nOrig || nFin < 1) throw corrupt(1, `freelist count ${nFree} is impossible for ${nOrig} pages`);
  for (let iFree = nOrig; iFree > nFin; iFree--) {
    if (!(await vacuumStep(ctx, nFin, iFree, true))) break;
  }
  const w1 = await writePage(ctx, 1);
  put32(w1, 32, 0);
  put32(w1, 36, 0);
  txn.setPageCount(nFin);
}

/**
 * PRAGMA incremental_vacuum(n): up to n steps (all when n <= 0), each removing the last page.
 * Returns the number of pages the file shrank by.
 */
export async function incrementalVacuum(ctx: WriteCtx, n: number): Promise<number> {
  if (!ctx.autoVacuum) return 0;
  const txn = ctx.txn;
  let p1 = txn.page(1);
  if (!(p1 instanceof Uint8Array)) p1 = await p1;
  if (get32(p1, 64) === 0) return 0; // auto_vacuum FULL: vacuuming happens at commit
  dropTails(ctx);
  const start = txn.pageCount;
  for (let step = 0; n <= 0 || step < n; step++) {
    const nOrig = txn.pageCount;
    const nFree = await freeCount(ctx);
    if (nFree === 0) break;
    const nFin = finalDbSize(ctx, nOrig, nFree);
    if (nOrig < nFin || nFree >= nOrig) throw corrupt(1, `freelist count ${nFree} is impossible for ${nOrig} pages`);
    if (!(await vacuumStep(ctx, nFin, nOrig, false))) break;
  }
  return start - txn.pageCount;
}
