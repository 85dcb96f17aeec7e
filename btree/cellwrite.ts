/**
 * Cell placement inside one b-tree page (like allocateSpace, pageFindSlot, freeSpace,
 * dropCell, insertCell, defragmentPage, rebuildPage and zeroPage in btree.c).
 *
 * A page's free space is the unallocated gap between the cell pointer array and the cell
 * content area, plus the freeblocks inside the content area, plus the fragmented bytes:
 *
 *   | header | cell pointers | gap | cells and freeblocks ...              | reserved |
 *   hdr      hdr+8/12        ptrEnd  contentStart (header offset 5)       U
 *
 * A freeblock is a hole of at least 4 bytes in the content area, linked in ascending order
 * from the header's offset 1:
 *
 *   OFFSET SIZE DESCRIPTION
 *      0     2  offset of the next freeblock, 0 on the last one
 *      2     2  size of this freeblock in bytes, header included
 *
 * Holes of 1..3 bytes cannot carry that header: they are fragments, counted (not linked) in
 * the header's byte 7. SQLite's integrity check accounts for every byte of the content area
 * (cells at their cellSizePtr size, at least 4; freeblocks; exactly byte-7 fragment bytes), and
 * btreeComputeFreeSpace rejects freeblocks that are out of order, closer than 4 bytes to the
 * next one, or below the content start. The functions here keep exactly those invariants:
 *
 *   - {@link allocateSpace}: first fit in the freeblock list (a remainder under 4 bytes
 *     becomes fragment bytes, unless the page already has more than 57), else the gap, else
 *     defragment and take the gap. The new cell goes at the END of a freeblock it splits.
 *   - {@link freeSpace}: inserts the hole into the sorted list, coalescing with a following
 *     freeblock that starts within 3 bytes of its end and a preceding one that ends within 3
 *     bytes of its start (the fragment bytes between them are absorbed and subtracted from
 *     byte 7); a hole at the content start just moves the content start up.
 *   - {@link rebuildPage}: writes a whole page from a list of cells (no freeblocks, no
 *     fragments), used by balancing.
 *
 * Cells are passed around as Uint8Arrays holding exactly the bytes the cell occupies on the
 * page (cellSizePtr: a cell shorter than 4 bytes is padded to 4). Every read of page bytes is
 * checked against the usable size; inconsistencies are CORRUPT naming the page.
 */
import { corrupt } from '../pager/errors.js';
import type { Pgno } from '../pager/source.js';
import { localPayloadSize } from './cell.js';
import { PTF_INDEX_LEAF, PTF_TABLE_INTERIOR, PTF_TABLE_LEAF } from './page.js';

/** Size limits of a database's pages (see btree/cell.ts for the formulas). */
export interface Geometry {
  /** Usable bytes per page (page size minus reserved bytes). */
  readonly U: number;
  /** Max local payload on table leaves: U - 35. */
  readonly maxTable: number;
  /** Max local payload on index pages: (U-12)·64/255 - 23. */
  readonly maxIndex: number;
  /** Min local payload: (U-12)·32/255 - 23. */
  readonly minLocal: number;
}

export function geometry(U: number): Geometry {
  return {
    U,
    maxTable: U - 35,
    maxIndex: Math.floor(((U - 12) * 64) / 255) - 23,
    minLocal: Math.floor(((U - 12) * 32) / 255) - 23,
  };
}

export function isLeafType(type: number): boolean {
  return type === PTF_TABLE_LEAF || type === PTF_INDEX_LEAF;
}

/** Bytes of the page header: 8 on leaves, 12 on interior pages. */
export function headerSize(type: number): number {
  return isLeafType(type) ? 8 : 12;
}

/** Length of the varint at b[q], or 0 when it runs to or past `end`. */
export function varintLen(b: Uint8Array, q: number, end: number): number {
  for (let n = 0; n < 9; n++) {
    if (q + n >= end) return 0;
    if (n === 8 || b[q + n] < 0x80) return n + 1;
  }
  return 0;
}

/** Decodes a payload-size varint (at most 9 bytes, but any sane payload needs <= 4). */
function payloadSizeAt(b: Uint8Array, q: number, end: number, out: { n: number }): number {
  let v = 0;
  for (let n = 0; n < 9; n++) {
    if (q + n >= end) return -1;
    const x = b[q + n];
    if (n === 8) {
      v = v * 256 + x;
      out.n = 9;
      return v;
    }
    v = v * 128 + (x & 0x7f);
    if (x < 0x80) {
      out.n = n + 1;
      return v;
    }
  }
  return -1;
}

const lenSlot = { n: 0 };

/**
 * Bytes the cell at b[off] occupies on a page of `type` (cellSizePtr), checked to end within
 * `end` (the usable size for a page image, the array length for a detached cell). Also
 * reports the overflow pointer's offset in `ovfl.at` (-1 when the payload is all local).
 */
export function cellSize(b: Uint8Array, off: number, type: number, g: Geometry, end: number, pgno: Pgno, ovfl?: { at: number }): number {
  let q = off;
  if (type === PTF_TABLE_INTERIOR) {
    const n = varintLen(b, q + 4, end);
    if (n === 0 || q + 4 > end) throw corrupt(pgno, `cell at ${off} runs past the end of the page`);
    if (ovfl) ovfl.at = -1;
    return 4 + n;
  }
  const leaf = isLeafType(type);
  if (!leaf) q += 4;
  const p = payloadSizeAt(b, q, end, lenSlot);
  if (p < 0) throw corrupt(pgno, `cell at ${off}: payload size runs past the end of the page`);
  q += lenSlot.n;
  const intKey = type === PTF_TABLE_LEAF;
  if (intKey) {
    const n = varintLen(b, q, end);
    if (n === 0) throw corrupt(pgno, `cell at ${off}: rowid runs past the end of the page`);
    q += n;
  }
  const maxLocal = intKey ? g.maxTable : g.maxIndex;
  let size: number;
  if (p <= maxLocal) {
    size = q + p - off;
    if (ovfl) ovfl.at = -1;
  } else {
    const local = localPayloadSize(p, maxLocal, g.minLocal, g.U);
    size = q + local + 4 - off;
    if (ovfl) ovfl.at = off + size - 4;
  }
  if (size < 4) size = 4;
  if (off + size > end) throw corrupt(pgno, `cell at ${off} (${size} bytes) runs past the end of the page`);
  return size;
}

/**
 * Length of the payload part of an index cell body at b[off] (payload-size varint, local
 * payload, overflow pointer), without the 4-byte padding of tiny leaf cells.
 */
export function indexBodyLength(b: Uint8Array, off: number, g: Geometry, end: number, pgno: Pgno): number {
  const p = payloadSizeAt(b, off, end, lenSlot);
  if (p < 0) throw corrupt(pgno, `cell at ${off}: payload size runs past the end of the page`);
  const n = lenSlot.n;
  const len = p <= g.maxIndex ? n + p : n + localPayloadSize(p, g.maxIndex, g.minLocal, g.U) + 4;
  if (off + len > end) throw corrupt(pgno, `cell at ${off} runs past the end of the page`);
  return len;
}

// ---- page header fields ----------------------------------------------------------------------

export function nCellOf(data: Uint8Array, hdr: number): number {
  return (data[hdr + 3] << 8) | data[hdr + 4];
}

export function contentStartOf(data: Uint8Array, hdr: number): number {
  return ((data[hdr + 5] << 8) | data[hdr + 6]) || 65536;
}

function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v;
}

function get16(b: Uint8Array, off: number): number {
  return (b[off] << 8) | b[off + 1];
}

/**
 * Free bytes on the page (gap + freeblocks + fragments), validating the freeblock list and
 * header as btreeComputeFreeSpace does.
 */
export function computeFreeSpace(data: Uint8Array, hdr: number, U: number, pgno: Pgno): number {
  const type = data[hdr];
  const nCell = nCellOf(data, hdr);
  const first = hdr + headerSize(type) + 2 * nCell;
  const top = contentStartOf(data, hdr);
  let nFree = data[hdr + 7] + top;
  let pc = get16(data, hdr + 1);
  if (pc > 0) {
    if (pc < top) throw corrupt(pgno, `freeblock at ${pc} lies before the cell content area at ${top}`);
    let next: number;
    let size: number;
    for (;;) {
      if (pc > U - 4) throw corrupt(pgno, `freeblock at ${pc} runs off the end of the page`);
      next = get16(data, pc);
      size = get16(data, pc + 2);
      nFree += size;
      if (next <= pc + size + 3) break;
      pc = next;
    }
    if (next > 0) throw corrupt(pgno, `freeblocks out of order at ${pc}`);
    if (pc + size > U) throw corrupt(pgno, `freeblock at ${pc} extends past the end of the page`);
  }
  if (nFree > U || nFree < first) throw corrupt(pgno, 'free space accounting is inconsistent');
  return nFree - first;
}

/**
 * Finds a freeblock of at least nByte bytes (first fit) and carves the cell from its end.
 * Returns the offset, or 0 when none fits (pageFindSlot).
 */
function findSlot(data: Uint8Array, hdr: number, nByte: number, U: number, pgno: Pgno): number {
  let iAddr = hdr + 1;
  let pc = get16(data, iAddr);
  const maxPC = U - nByte;
  while (pc <= maxPC) {
    const size = get16(data, pc + 2);
    const x = size - nByte;
    if (x >= 0) {
      if (x < 4) {
        if (data[hdr + 7] > 57) return 0;
        data[iAddr] = data[pc];
        data[iAddr + 1] = data[pc + 1];
        data[hdr + 7] += x;
        return pc;
      }
      if (x + pc > maxPC) throw corrupt(pgno, `freeblock at ${pc} extends past the end of the page`);
      put16(data, pc + 2, x);
      return pc + x;
    }
    iAddr = pc;
    pc = get16(data, pc);
    if (pc <= iAddr + size) {
      if (pc !== 0) throw corrupt(pgno, `freeblocks out of order at ${iAddr}`);
      return 0;
    }
  }
  if (pc > maxPC + nByte - 4) throw corrupt(pgno, `freeblock at ${pc} runs off the end of the page`);
  return 0;
}

/**
 * Allocates nByte bytes of cell content for one more cell (the pointer array grows by 2).
 * The caller has checked that computeFreeSpace() >= nByte + 2.
 */
export function allocateSpace(data: Uint8Array, hdr: number, nByte: number, U: number, pgno: Pgno): number {
  const gap = hdr + headerSize(data[hdr]) + 2 * nCellOf(data, hdr);
  let top = contentStartOf(data, hdr);
  if (gap > top) throw corrupt(pgno, 'cell pointer array overlaps the cell content area');
  if ((data[hdr + 1] !== 0 || data[hdr + 2] !== 0) && gap + 2 <= top) {
    const pc = findSlot(data, hdr, nByte, U, pgno);
    if (pc > 0) {
      if (pc < gap + 2) throw corrupt(pgno, `freeblock at ${pc} overlaps the cell pointer array`);
      return pc;
    }
  }
  if (gap + 2 + nByte > top) {
    defragmentPage(data, hdr, U, pgno);
    top = contentStartOf(data, hdr);
    if (gap + 2 + nByte > top) throw corrupt(pgno, 'not enough free space for a cell after defragmenting');
  }
  top -= nByte;
  put16(data, hdr + 5, top);
  return top;
}

/**
 * Returns [iStart, iStart+iSize) to the free space of the page (freeSpace in btree.c). Checks
 * everything before its first write: on CORRUPT the page is unchanged.
 */
export function freeSpace(data: Uint8Array, hdr: number, iStart: number, iSize: number, U: number, pgno: Pgno): void {
  let iEnd = iStart + iSize;
  let iPtr = hdr + 1;
  let iFreeBlk: number;
  let nFrag = 0;
  if (data[iPtr] === 0 && data[iPtr + 1] === 0) {
    iFreeBlk = 0;
  } else {
    while ((iFreeBlk = get16(data, iPtr)) < iStart) {
      if (iFreeBlk <= iPtr) {
        if (iFreeBlk === 0) break;
        throw corrupt(pgno, `freeblocks out of order at ${iPtr}`);
      }
      iPtr = iFreeBlk;
    }
    if (iFreeBlk > U - 4) throw corrupt(pgno, `freeblock at ${iFreeBlk} runs off the end of the page`);
    if (iFreeBlk !== 0 && iEnd + 3 >= iFreeBlk) {
      nFrag = iFreeBlk - iEnd;
      if (iEnd > iFreeBlk) throw corrupt(pgno, `freed cell at ${iStart} overlaps the freeblock at ${iFreeBlk}`);
      iEnd = iFreeBlk + get16(data, iFreeBlk + 2);
      if (iEnd > U) throw corrupt(pgno, `freeblock at ${iFreeBlk} extends past the end of the page`);
      iSize = iEnd - iStart;
      iFreeBlk = get16(data, iFreeBlk);
    }
    if (iPtr > hdr + 1) {
      const iPtrEnd = iPtr + get16(data, iPtr + 2);
      if (iPtrEnd + 3 >= iStart) {
        if (iPtrEnd > iStart) throw corrupt(pgno, `freed cell at ${iStart} overlaps the freeblock at ${iPtr}`);
        nFrag += iStart - iPtrEnd;
        iSize = iEnd - iPtr;
        iStart = iPtr;
      }
    }
    if (nFrag > data[hdr + 7]) throw corrupt(pgno, 'fragmented byte count is too small');
  }
  const top = contentStartOf(data, hdr);
  if (iStart <= top) {
    if (iStart < top) throw corrupt(pgno, `freed cell at ${iStart} lies before the cell content area`);
    if (iPtr !== hdr + 1) throw corrupt(pgno, 'freeblock before the cell content area');
  }
  // Every check is above: from here nothing throws, so a failed freeSpace changed nothing.
  data[hdr + 7] -= nFrag;
  if (iStart <= top) {
    put16(data, hdr + 1, iFreeBlk);
    put16(data, hdr + 5, iEnd);
  } else {
    put16(data, iPtr, iStart);
    put16(data, iStart, iFreeBlk);
    put16(data, iStart + 2, iSize);
  }
}

/** Removes cell i (of `size` bytes) from the page (dropCell); on CORRUPT the page is unchanged. */
export function dropCell(data: Uint8Array, hdr: number, i: number, size: number, U: number, pgno: Pgno): void {
  const type = data[hdr];
  const ptr = hdr + headerSize(type) + 2 * i;
  const pc = get16(data, ptr);
  if (pc + size > U) throw corrupt(pgno, `cell ${i} runs past the end of the page`);
  freeSpace(data, hdr, pc, size, U, pgno);
  const n = nCellOf(data, hdr) - 1;
  if (n === 0) {
    data[hdr + 1] = 0;
    data[hdr + 2] = 0;
    data[hdr + 3] = 0;
    data[hdr + 4] = 0;
    data[hdr + 7] = 0;
    put16(data, hdr + 5, U);
  } else {
    const end = hdr + headerSize(type) + 2 * (n + 1);
    data.copyWithin(ptr, ptr + 2, end);
    put16(data, hdr + 3, n);
  }
}

/**
 * Inserts `cell` as cell i of the page. The caller has checked that it fits
 * (computeFreeSpace() >= cell.length + 2). Returns the cell's offset.
 */
export function insertCell(data: Uint8Array, hdr: number, i: number, cell: Uint8Array, U: number, pgno: Pgno): number {
  const off = allocateSpace(data, hdr, cell.length, U, pgno);
  data.set(cell, off);
  const n = nCellOf(data, hdr);
  const ptr = hdr + headerSize(data[hdr]) + 2 * i;
  data.copyWithin(ptr + 2, ptr, hdr + headerSize(data[hdr]) + 2 * n);
  put16(data, ptr, off);
  put16(data, hdr + 3, n + 1);
  return off;
}

/** Moves every cell to the end of the page: no freeblocks, no fragments (defragmentPage). */
export function defragmentPage(data: Uint8Array, hdr: number, U: number, pgno: Pgno): void {
  const type = data[hdr];
  const n = nCellOf(data, hdr);
  const ptr0 = hdr + headerSize(type);
  const g = geometry(U);
  const copy = data.slice(0, U);
  let cbrk = U;
  for (let i = 0; i < n; i++) {
    const p = ptr0 + 2 * i;
    const pc = get16(copy, p);
    if (pc < ptr0 + 2 * n || pc >= U) throw corrupt(pgno, `cell ${i} pointer ${pc} out of range`);
    const size = cellSize(copy, pc, type, g, U, pgno);
    cbrk -= size;
    if (cbrk < ptr0 + 2 * n) throw corrupt(pgno, 'cells overflow the page while defragmenting');
    data.set(copy.subarray(pc, pc + size), cbrk);
    put16(data, p, cbrk);
  }
  data[hdr + 1] = 0;
  data[hdr + 2] = 0;
  data[hdr + 7] = 0;
  put16(data, hdr + 5, cbrk);
  data.fill(0, ptr0 + 2 * n, cbrk);
}

/** Formats an empty page of `type` (zeroPage). */
export function zeroPage(data: Uint8Array, hdr: number, type: number, U: number): void {
  data.fill(0, hdr, hdr + headerSize(type));
  data[hdr] = type;
  put16(data, hdr + 5, U);
}

/** Writes the whole page from `cells` (in order) and, on interior pages, the right child. */
export function rebuildPage(data: Uint8Array, hdr: number, type: number, cells: readonly Uint8Array[], right: Pgno, U: number, pgno: Pgno): void {
  const ptr0 = hdr + headerSize(type);
  const n = cells.length;
  const need = ptr0 + cellsBytes(cells);
  if (need > U) throw corrupt(pgno, `${n} cells (${need - ptr0} bytes) do not fit on the page`);
  let top = U;
  for (let i = 0; i < n; i++) {
    const c = cells[i];
    top -= c.length;
    data.set(c, top);
    put16(data, ptr0 + 2 * i, top);
  }
  writeHeader(data, hdr, type, n, top, right);
}

/** The header of a page rebuilt with n cells, content from `top` (no freeblocks, no fragments). */
function writeHeader(data: Uint8Array, hdr: number, type: number, n: number, top: number, right: Pgno): void {
  data[hdr] = type;
  data[hdr + 1] = 0;
  data[hdr + 2] = 0;
  put16(data, hdr + 3, n);
  put16(data, hdr + 5, top);
  data[hdr + 7] = 0;
  if (!isLeafType(type)) {
    data[hdr + 8] = right >>> 24;
    data[hdr + 9] = right >>> 16;
    data[hdr + 10] = right >>> 8;
    data[hdr + 11] = right;
  }
}

/** Bytes `cells` need on a page (cell bytes plus one 2-byte pointer each). */
export function cellsBytes(cells: readonly Uint8Array[]): number {
  let s = 0;
  for (let i = 0; i < cells.length; i++) s += cells[i].length + 2;
  return s;
}

/**
 * A list of cells, each held as (buffer, offset, length): a page copy and the place of the
 * cell in it, or a detached cell at offset 0. Balancing lays out the cells of several pages
 * as one list without an object per cell. `right` is the right child (interior pages).
 */
export class CellList {
  readonly buf: Uint8Array[] = [];
  readonly off: number[] = [];
  readonly len: number[] = [];
  right: Pgno = 0;

  get length(): number {
    return this.len.length;
  }

  push(b: Uint8Array, off: number, len: number): void {
    this.buf.push(b);
    this.off.push(off);
    this.len.push(len);
  }

  /** Appends entry i of `from`. */
  pushFrom(from: CellList, i: number): void {
    this.push(from.buf[i], from.off[i], from.len[i]);
  }

  /** Appends a detached cell. */
  add(cell: Uint8Array): void {
    this.push(cell, 0, cell.length);
  }

  /** Inserts a detached cell as entry i. */
  insert(i: number, cell: Uint8Array): void {
    this.buf.splice(i, 0, cell);
    this.off.splice(i, 0, 0);
    this.len.splice(i, 0, cell.length);
  }

  remove(i: number): void {
    this.buf.splice(i, 1);
    this.off.splice(i, 1);
    this.len.splice(i, 1);
  }

  /** Replaces entry i by a detached cell. */
  set(i: number, cell: Uint8Array): void {
    this.buf[i] = cell;
    this.off[i] = 0;
    this.len[i] = cell.length;
  }

  /** Entry i as a view (no copy). */
  view(i: number): Uint8Array {
    return this.buf[i].subarray(this.off[i], this.off[i] + this.len[i]);
  }

  /** Bytes entries [start, end) need on a page (cell bytes plus one 2-byte pointer each). */
  bytes(start = 0, end = this.len.length): number {
    let s = 0;
    for (let i = start; i < end; i++) s += this.len[i] + 2;
    return s;
  }
}

/** Cells as (buffer, offset, length) entries: a CellList, or typed scratch arrays of the same shape. */
export interface CellRuns {
  readonly buf: readonly Uint8Array[];
  readonly off: ArrayLike<number>;
  readonly len: ArrayLike<number>;
}

/**
 * rebuildPage from entries [start, end) of a cell list. Entries that lie back to back in the
 * same buffer in page order (as a rebuilt page holds them) are copied as one run.
 */
export function rebuildPageFrom(data: Uint8Array, hdr: number, type: number, l: CellRuns, start: number, end: number, right: Pgno, U: number, pgno: Pgno): void {
  const ptr0 = hdr + headerSize(type);
  const { buf, off, len } = l;
  let bytes = 0;
  for (let i = start; i < end; i++) bytes += len[i] + 2;
  const need = ptr0 + bytes;
  if (need > U) throw corrupt(pgno, `${end - start} cells (${need - ptr0} bytes) do not fit on the page`);
  let top = U;
  let i = start;
  while (i < end) {
    const b = buf[i];
    let lo = off[i];
    const hi = lo + len[i];
    top -= len[i];
    put16(data, ptr0 + 2 * (i - start), top);
    let j = i + 1;
    while (j < end && buf[j] === b && off[j] + len[j] === lo) {
      lo = off[j];
      top -= len[j];
      put16(data, ptr0 + 2 * (j - start), top);
      j++;
    }
    if (b === data) throw corrupt(pgno, 'a page rebuilt from its own cells (internal error)');
    data.set(lo === 0 && hi === b.length ? b : b.subarray(lo, hi), top);
    i = j;
  }
  writeHeader(data, hdr, type, end - start, top, right);
}
