/**
 * B-tree page headers and cell pointer arrays (like btreeInitPage / decodeFlags in btree.c).
 *
 * Every b-tree page starts with a header, at offset 100 on page 1 (after the database header)
 * and at offset 0 elsewhere:
 *
 *   OFFSET SIZE DESCRIPTION
 *      0     1  page type: 2 index interior, 5 table interior, 10 index leaf, 13 table leaf
 *      1     2  offset of the first freeblock, 0 if none
 *      3     2  number of cells on the page
 *      5     2  start of the cell content area; 0 means 65536
 *      7     1  number of fragmented free bytes in the content area
 *      8     4  right-most child pgno (interior pages only)
 *
 * The cell pointer array follows the header (8 bytes on leaves, 12 on interior pages): one
 * 2-byte big-endian offset per cell, in key order. Below the usable size, cells grow down
 * from the content area start:
 *
 *   | header | cell pointers | unallocated | cell content area ... | reserved bytes |
 *   0        hdr+8/12        ptrEnd        contentStart            usableSize     pageSize
 *
 * {@link parsePage} checks what a reader relies on: a known page type, the pointer array
 * ending at or before the content area, the content area inside the usable size, and every
 * cell pointer within [contentStart, usableSize). Cell bodies are checked when a cell is
 * parsed (btree/cell.ts). Freeblocks are left to the integrity check. Anything wrong is
 * CORRUPT naming the page.
 *
 * Parsed pages are cached per image in a WeakMap, so a cursor revisiting a cached page does
 * not re-validate it. A hit is used only if the page header bytes are still those it was
 * parsed from, so a writer mutating an image in place (insert, delete, balance) gets a fresh
 * parse; a change that keeps the header but rewrites cell pointers is not noticed: such code
 * should call {@link forgetPage}.
 */
import { corrupt } from '../pager/errors.js';
import type { Pgno } from '../pager/source.js';

export const PTF_INDEX_INTERIOR = 2;
export const PTF_TABLE_INTERIOR = 5;
export const PTF_INDEX_LEAF = 10;
export const PTF_TABLE_LEAF = 13;

/** A validated view of one b-tree page image. */
export interface BtPage {
  readonly pgno: Pgno;
  readonly data: Uint8Array;
  /** The page type byte (2, 5, 10 or 13). */
  readonly type: number;
  readonly leaf: boolean;
  /** True for table b-tree pages (integer keys: types 5 and 13). */
  readonly intKey: boolean;
  /** Offset of the b-tree page header: 100 on page 1, else 0. */
  readonly hdr: number;
  readonly nCell: number;
  /** Offset of the cell pointer array. */
  readonly cellPtr: number;
  readonly firstFreeblock: number;
  /** Start of the cell content area (65536 when stored as 0). */
  readonly contentStart: number;
  readonly fragmented: number;
  /** Right-most child pgno (interior pages), else 0. */
  readonly rightChild: Pgno;
  readonly usableSize: number;
  /** Largest payload kept entirely on this page (see btree/cell.ts). */
  readonly maxLocal: number;
  readonly minLocal: number;
}

/** A cached parse, with the header bytes it was made from (to notice in-place changes). */
interface Cached extends BtPage {
  readonly h0: number;
  readonly h1: number;
  readonly h2: number;
}

const cache = new WeakMap<Uint8Array, Cached>();

/** Max local payload for table leaves: U - 35. */
export function tableLeafMaxLocal(usableSize: number): number {
  return usableSize - 35;
}

/** Max local payload for index pages (leaf and interior): ((U-12)·64/255) - 23. */
export function indexMaxLocal(usableSize: number): number {
  return Math.floor(((usableSize - 12) * 64) / 255) - 23;
}

/** Min local payload for every page kind: ((U-12)·32/255) - 23. */
export function minLocal(usableSize: number): number {
  return Math.floor(((usableSize - 12) * 32) / 255) - 23;
}

/** Offset of the b-tree page header in page `pgno`. */
export function pageHeaderOffset(pgno: Pgno): number {
  return pgno === 1 ? 100 : 0;
}

/**
 * Parses and validates the b-tree page `data` (page `pgno` of a database with `usableSize`
 * usable bytes per page). Cached per image.
 */
export function parsePage(data: Uint8Array, pgno: Pgno, usableSize: number): BtPage {
  const hit = cache.get(data);
  if (hit !== undefined && hit.pgno === pgno && hit.usableSize === usableSize) {
    const h = hit.hdr;
    if (
      hit.h0 === ((data[h] << 24) | (data[h + 1] << 16) | (data[h + 2] << 8) | data[h + 3]) &&
      hit.h1 === ((data[h + 4] << 24) | (data[h + 5] << 16) | (data[h + 6] << 8) | data[h + 7]) &&
      (hit.leaf || hit.h2 === ((data[h + 8] << 24) | (data[h + 9] << 16) | (data[h + 10] << 8) | data[h + 11]))
    ) {
      return hit;
    }
  }
  const p = decodePage(data, pgno, usableSize);
  cache.set(data, p);
  return p;
}

/**
 * Caches the parse of an image the writer just built or changed itself (every cell pointer
 * set by it, within the content area), without decodePage's checks: what forgetPage + the
 * next parsePage would do, minus re-validating a page that was never untrusted input. A parse
 * already cached for the image is updated in place: a BtPage taken before a write describes
 * the page as it is now (as every later parsePage of the image would).
 */
export function parsedAfterWrite(data: Uint8Array, pgno: Pgno, usableSize: number): void {
  const hdr = pgno === 1 ? 100 : 0;
  const type = data[hdr];
  const leaf = type === PTF_TABLE_LEAF || type === PTF_INDEX_LEAF;
  const intKey = type === PTF_TABLE_LEAF || type === PTF_TABLE_INTERIOR;
  const hit = cache.get(data) as Mutable<Cached> | undefined;
  if (hit === undefined || hit.pgno !== pgno || hit.usableSize !== usableSize || hit.type !== type) {
    cache.set(data, btPageView(pgno, data, type, leaf, intKey, usableSize) as Cached);
    return;
  }
  // The same kind of page: only the header fields change (no new object, no WeakMap insert).
  readHeaderFields(hit);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Drops the cached parse of `data` (call after mutating a page image in place). */
export function forgetPage(data: Uint8Array): void {
  cache.delete(data);
}

function decodePage(data: Uint8Array, pgno: Pgno, usableSize: number): Cached {
  if (data.length < usableSize) throw corrupt(pgno, `page image is ${data.length} bytes, expected at least ${usableSize}`);
  const hdr = pgno === 1 ? 100 : 0;
  const type = data[hdr];
  let leaf: boolean;
  let intKey: boolean;
  switch (type) {
    case PTF_INDEX_INTERIOR:
      leaf = false;
      intKey = false;
      break;
    case PTF_TABLE_INTERIOR:
      leaf = false;
      intKey = true;
      break;
    case PTF_INDEX_LEAF:
      leaf = true;
      intKey = false;
      break;
    case PTF_TABLE_LEAF:
      leaf = true;
      intKey = true;
      break;
    default:
      throw corrupt(pgno, `invalid b-tree page type ${type}`);
  }
  const nCell = (data[hdr + 3] << 8) | data[hdr + 4];
  const contentStart = ((data[hdr + 5] << 8) | data[hdr + 6]) || 65536;
  const cellPtr = hdr + (leaf ? 8 : 12);
  const ptrEnd = cellPtr + 2 * nCell;
  if (ptrEnd > usableSize) throw corrupt(pgno, `${nCell} cell pointers do not fit in the page`);
  if (contentStart > usableSize) {
    throw corrupt(pgno, `cell content area starts at ${contentStart}, beyond the usable size ${usableSize}`);
  }
  if (contentStart < ptrEnd) {
    throw corrupt(pgno, `cell content area at ${contentStart} overlaps the cell pointer array ending at ${ptrEnd}`);
  }
  for (let p = cellPtr; p < ptrEnd; p += 2) {
    const off = (data[p] << 8) | data[p + 1];
    if (off < contentStart || off >= usableSize) {
      throw corrupt(pgno, `cell ${(p - cellPtr) >> 1} pointer ${off} outside the content area [${contentStart}, ${usableSize})`);
    }
  }
  return btPageView(pgno, data, type, leaf, intKey, usableSize) as Cached;
}

/**
 * The page's header fields as a BtPage, read as they stand (no checks): decodePage checks
 * them first; the integrity check reads damaged pages through it and reports instead. (One
 * object literal with the cache's header words too: spreading it into another literal, as
 * decodePage once did, cost Node 20 tens of microseconds per page.)
 */
export function btPageView(pgno: Pgno, data: Uint8Array, type: number, leaf: boolean, intKey: boolean, usableSize: number): BtPage {
  const hdr = pgno === 1 ? 100 : 0;
  const view: Cached = {
    pgno,
    data,
    type,
    leaf,
    intKey,
    hdr,
    nCell: 0,
    cellPtr: hdr + (leaf ? 8 : 12),
    firstFreeblock: 0,
    contentStart: 0,
    fragmented: 0,
    rightChild: 0,
    usableSize,
    maxLocal: intKey ? tableLeafMaxLocal(usableSize) : indexMaxLocal(usableSize),
    minLocal: minLocal(usableSize),
    h0: 0,
    h1: 0,
    h2: 0,
  };
  readHeaderFields(view);
  return view;
}

/** Sets the fields a view takes from its page's header bytes (after they changed, in place). */
function readHeaderFields(v: Mutable<Cached>): void {
  const data = v.data;
  const hdr = v.hdr;
  const leaf = v.leaf;
  v.nCell = (data[hdr + 3] << 8) | data[hdr + 4];
  v.firstFreeblock = (data[hdr + 1] << 8) | data[hdr + 2];
  v.contentStart = ((data[hdr + 5] << 8) | data[hdr + 6]) || 65536;
  v.fragmented = data[hdr + 7];
  v.rightChild = leaf ? 0 : ((data[hdr + 8] << 24) >>> 0) + ((data[hdr + 9] << 16) | (data[hdr + 10] << 8) | data[hdr + 11]);
  v.h0 = (data[hdr] << 24) | (data[hdr + 1] << 16) | (data[hdr + 2] << 8) | data[hdr + 3];
  v.h1 = (data[hdr + 4] << 24) | (data[hdr + 5] << 16) | (data[hdr + 6] << 8) | data[hdr + 7];
  v.h2 = leaf ? 0 : (data[hdr + 8] << 24) | (data[hdr + 9] << 16) | (data[hdr + 10] << 8) | data[hdr + 11];
}

/** Offset of cell `i` (0-based, < nCell) on the page. */
export function cellOffset(p: BtPage, i: number): number {
  const q = p.cellPtr + 2 * i;
  return (p.data[q] << 8) | p.data[q + 1];
}
