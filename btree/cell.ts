/**
 * Cells of the four b-tree page kinds (like btreeParseCellPtr* and cellSizePtr in btree.c).
 *
 *   PAGE KIND        CELL LAYOUT
 *   table leaf  13   payload size P (varint) | rowid (varint) | local payload | [overflow pgno 4]
 *   table inner  5   left child pgno (4)     | rowid (varint)
 *   index leaf  10   payload size P (varint) | local payload  | [overflow pgno 4]
 *   index inner  2   left child pgno (4)     | payload size P (varint) | local payload | [ovfl 4]
 *
 * How much payload stays on the page (U = usable size; integer division):
 *
 *   X = U - 35                      max local, table leaves
 *   X = ((U - 12)·64/255) - 23      max local, index pages (leaf and interior)
 *   M = ((U - 12)·32/255) - 23      min local, every kind
 *   P <= X   : all P bytes local, no overflow pointer
 *   else K = M + ((P - M) mod (U - 4)); local = K <= X ? K : M, then a 4-byte first-overflow
 *              pgno, and the remaining P - local bytes on overflow pages (btree/overflow.ts)
 *
 * {@link parseCell} fills a caller-owned {@link CellInfo} (no allocation per cell) and checks
 * that the cell lies within the usable size; a varint running past it, an impossible payload
 * size, or local payload plus overflow pointer past it is CORRUPT naming the page.
 */
import { corrupt } from '../pager/errors.js';
import type { Pgno } from '../pager/source.js';
import { cellOffset, type BtPage } from './page.js';
import { readVarint, type Varint } from './varint.js';

/** A parsed cell; reuse one object across calls. */
export interface CellInfo {
  /** Offset of the cell in the page image. */
  offset: number;
  /** Left child pgno (interior cells), else 0. */
  leftChild: Pgno;
  /** The rowid (table cells); 0 for index cells. */
  rowid: number | bigint;
  /** Total payload bytes (0 for table interior cells, which carry none). */
  payloadSize: number;
  /** Offset in the page where the local payload starts. */
  payloadOffset: number;
  /** Payload bytes stored on this page. */
  localSize: number;
  /** First overflow page, 0 when the payload is entirely local. */
  overflow: Pgno;
  /** Bytes the cell occupies on the page (at least 4, as cellSizePtr reports). */
  size: number;
}

export function newCellInfo(): CellInfo {
  return { offset: 0, leftChild: 0, rowid: 0, payloadSize: 0, payloadOffset: 0, localSize: 0, overflow: 0, size: 0 };
}

/**
 * Local payload bytes for a payload of `payloadSize` on a page with the given limits
 * (see the module comment). The payload overflows exactly when the result is below
 * `payloadSize`. Shared with the writer.
 */
export function localPayloadSize(payloadSize: number, maxLocal: number, minLocal: number, usableSize: number): number {
  if (payloadSize <= maxLocal) return payloadSize;
  const k = minLocal + ((payloadSize - minLocal) % (usableSize - 4));
  return k <= maxLocal ? k : minLocal;
}

/** Bytes a cell with this payload needs on a page, excluding its cell pointer. */
export function cellSizeFor(
  kind: 'tableLeaf' | 'tableInterior' | 'indexLeaf' | 'indexInterior',
  payloadSize: number,
  rowidLength: number,
  usableSize: number,
  maxLocal: number,
  minLocal: number,
): number {
  if (kind === 'tableInterior') return 4 + rowidLength;
  const local = localPayloadSize(payloadSize, maxLocal, minLocal, usableSize);
  let n = local + (local < payloadSize ? 4 : 0);
  n += payloadSize < 0x80 ? 1 : varintLen(payloadSize);
  if (kind === 'tableLeaf') n += rowidLength;
  if (kind === 'indexInterior') n += 4;
  return n < 4 ? 4 : n;
}

function varintLen(v: number): number {
  let n = 1;
  while (v >= 0x80 && n < 9) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

const vslot: Varint = { value: 0 };

/** Parses cell `i` of page `p` into `out` and returns it. */
export function parseCell(p: BtPage, i: number, out: CellInfo): CellInfo {
  const data = p.data;
  const end = p.usableSize;
  const pgno = p.pgno;
  const off = cellOffset(p, i);
  let q = off;
  out.offset = off;
  if (!p.leaf) {
    if (q + 4 > end) throw corrupt(pgno, `cell ${i} runs past the usable size`);
    out.leftChild = ((data[q] << 24) >>> 0) + ((data[q + 1] << 16) | (data[q + 2] << 8) | data[q + 3]);
    q += 4;
  } else {
    out.leftChild = 0;
  }
  if (p.intKey && !p.leaf) {
    const n = readVarint(data, q, end, vslot);
    if (n === 0) throw corrupt(pgno, `cell ${i} rowid varint runs past the usable size`);
    out.rowid = vslot.value;
    out.payloadSize = 0;
    out.payloadOffset = q + n;
    out.localSize = 0;
    out.overflow = 0;
    out.size = 4 + n;
    return out;
  }
  // payload size
  let payloadSize = data[q];
  if (payloadSize < 0x80 && q < end) {
    q++;
  } else {
    q += readPayloadSize(data, q, end, pgno, i, vslot);
    payloadSize = vslot.value as number;
  }
  if (p.intKey) {
    const n = readVarint(data, q, end, vslot);
    if (n === 0) throw corrupt(pgno, `cell ${i} rowid varint runs past the usable size`);
    out.rowid = vslot.value;
    q += n;
  } else {
    out.rowid = 0;
  }
  out.payloadSize = payloadSize;
  out.payloadOffset = q;
  if (payloadSize <= p.maxLocal) {
    if (q + payloadSize > end) throw corrupt(pgno, `cell ${i} payload runs past the usable size`);
    out.localSize = payloadSize;
    out.overflow = 0;
    const size = q + payloadSize - off;
    out.size = size < 4 ? 4 : size;
    return out;
  }
  const local = localPayloadSize(payloadSize, p.maxLocal, p.minLocal, p.usableSize);
  const ovp = q + local;
  if (ovp + 4 > end) throw corrupt(pgno, `cell ${i} payload runs past the usable size`);
  out.localSize = local;
  out.overflow = ((data[ovp] << 24) >>> 0) + ((data[ovp + 1] << 16) | (data[ovp + 2] << 8) | data[ovp + 3]);
  out.size = ovp + 4 - off;
  return out;
}

/**
 * Reads the payload-size varint of cell i at data[q] (bounded by `end`) into slot.value, a
 * non-negative number; returns its length. CORRUPT naming the page when it is not one.
 */
export function readPayloadSize(data: Uint8Array, q: number, end: number, pgno: number, i: number, slot: Varint): number {
  const n = readVarint(data, q, end, slot);
  if (n === 0) throw corrupt(pgno, `cell ${i} payload size varint runs past the usable size`);
  const v = slot.value;
  if (typeof v !== 'number' || v < 0) throw corrupt(pgno, `cell ${i} has an impossible payload size ${v}`);
  return n;
}

/** The rowid of cell `i` of a table page (interior or leaf), without parsing the rest. */
export function cellRowid(p: BtPage, i: number): number | bigint {
  const data = p.data;
  const end = p.usableSize;
  let q = cellOffset(p, i);
  if (p.leaf) {
    // skip the payload size varint
    let n = 0;
    while (n < 8 && q + n < end && data[q + n] >= 0x80) n++;
    q += n + 1;
  } else {
    q += 4;
  }
  const first = q < end ? data[q] : 0x80;
  if (first < 0x80) return first;
  const n = readVarint(data, q, end, vslot);
  if (n === 0) throw corrupt(p.pgno, `cell ${i} rowid varint runs past the usable size`);
  return vslot.value;
}
