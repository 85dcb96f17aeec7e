/**
 * Pointer-map pages of auto-vacuum databases (like ptrmapPageno / ptrmapGet in btree.c).
 *
 * In a database with auto_vacuum FULL or INCREMENTAL, page 2 is the first pointer-map page.
 * Each pointer-map page describes the J = U/5 pages that follow it, then the next
 * pointer-map page comes: pages 2, 3+J, 4+2J, ... — except that a pointer-map page never
 * lands on the lock-byte page (the page holding file offset 2^30): if it would, it is the
 * page after. Each entry is 5 bytes, the entry for page P at offset 5·(P - ptrmapPage - 1):
 *
 *   OFFSET SIZE DESCRIPTION
 *      0     1  type: 1 ROOTPAGE, 2 FREEPAGE, 3 OVERFLOW1, 4 OVERFLOW2, 5 BTREE
 *      1     4  parent pgno (0 for ROOTPAGE and FREEPAGE; the b-tree page holding the cell
 *               for OVERFLOW1; the previous overflow page for OVERFLOW2; the parent for BTREE)
 */
import { get32 } from '../pager/bytes.js';
import { corrupt, misuse } from '../pager/errors.js';
import { lockBytePageFor, type PageSource, type Pgno } from '../pager/source.js';
import type { MaybePromise } from './value.js';

export const PTRMAP_ROOTPAGE = 1;
export const PTRMAP_FREEPAGE = 2;
export const PTRMAP_OVERFLOW1 = 3;
export const PTRMAP_OVERFLOW2 = 4;
export const PTRMAP_BTREE = 5;

export interface PtrmapEntry {
  /** 1..5, see the module comment. */
  type: number;
  parent: Pgno;
}

/** The pointer-map page holding the entry for `pgno` (0 for pgno < 2). */
export function ptrmapPageFor(pgno: Pgno, usableSize: number, pageSize: number): Pgno {
  if (pgno < 2) return 0;
  const perPage = Math.floor(usableSize / 5) + 1;
  const i = Math.floor((pgno - 2) / perPage);
  let ret = i * perPage + 2;
  if (ret === lockBytePageFor(pageSize)) ret++;
  return ret;
}

/** True when `pgno` is itself a pointer-map page (of an auto-vacuum database). */
export function isPtrmapPage(pgno: Pgno, usableSize: number, pageSize: number): boolean {
  return pgno >= 2 && ptrmapPageFor(pgno, usableSize, pageSize) === pgno;
}

/** Reads the pointer-map entry for page `pgno`. */
export function readPtrmapEntry(src: PageSource, pgno: Pgno): MaybePromise<PtrmapEntry> {
  if (!src.autoVacuum) throw misuse('the database has no pointer-map pages (auto_vacuum is off)');
  if (!Number.isInteger(pgno) || pgno < 3 || pgno > src.pageCount) {
    throw misuse(`no pointer-map entry for page ${pgno} (database has ${src.pageCount} pages)`);
  }
  const map = ptrmapPageFor(pgno, src.usableSize, src.pageSize);
  if (map === pgno) throw misuse(`page ${pgno} is a pointer-map page`);
  const off = 5 * (pgno - map - 1);
  if (off < 0 || off + 5 > src.usableSize) throw corrupt(map, `no room for the entry of page ${pgno}`);
  const read = (img: Uint8Array): PtrmapEntry => {
    const type = img[off];
    if (type < PTRMAP_ROOTPAGE || type > PTRMAP_BTREE) {
      throw corrupt(map, `pointer-map entry for page ${pgno} has invalid type ${type}`);
    }
    return { type, parent: get32(img, off + 1) };
  };
  const img = src.page(map);
  return img instanceof Uint8Array ? read(img) : img.then(read);
}
