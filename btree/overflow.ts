/**
 * Overflow chains (like accessPayload / getOverflowPage in btree.c, read side).
 *
 * A payload too large for its cell keeps `local` bytes on the b-tree page (btree/cell.ts) and
 * the rest on a singly linked chain of overflow pages:
 *
 *   OFFSET SIZE     DESCRIPTION
 *      0     4      next overflow pgno, 0 on the last page
 *      4     U-4    payload bytes (the last page uses only what remains)
 *
 * A payload of P bytes needs exactly ceil((P - local) / (U - 4)) overflow pages. Before
 * allocating anything the reader checks that count against the database's page count, so a
 * hostile payload size cannot allocate more than pageCount·U bytes. While walking it checks
 * every link: 0 before the last page (short chain), beyond pageCount, a page seen twice
 * (cycle), and, when the whole payload is read, a non-zero next pointer on the last page (long
 * chain). Each is CORRUPT naming the page. A prefix read (index seeks compare only the first
 * key columns) stops after the pages it needs.
 *
 * The walk is synchronous while pages are cached; on the first page the source returns as a
 * Promise it continues asynchronously from where it stopped (never re-reading a page).
 */
import { corrupt } from '../pager/errors.js';
import type { PageSource, Pgno } from '../pager/source.js';
import type { CellInfo } from './cell.js';
import type { MaybePromise } from './value.js';

/** Number of overflow pages a payload of `payloadSize` with `localSize` local bytes uses. */
export function overflowPageCount(payloadSize: number, localSize: number, usableSize: number): number {
  return payloadSize <= localSize ? 0 : Math.ceil((payloadSize - localSize) / (usableSize - 4));
}

interface Walk {
  src: PageSource;
  out: Uint8Array;
  /** Bytes of `out` filled so far. */
  filled: number;
  /** Next overflow page to read. */
  next: Pgno;
  /** Overflow pages read so far, and the page that pointed to `next`. */
  count: number;
  from: Pgno;
  /** Pages the chain must have in total. */
  total: number;
  /** Whether `out` is the whole payload (then the last page must end the chain). */
  whole: boolean;
  seen: Set<Pgno> | undefined;
}

/**
 * Reads the first `want` bytes (all of them when `want` >= payloadSize) of the payload of the
 * cell `cell` on page `data` (page `pgno`). Returns a new array; never a view into a page.
 */
export function readPayload(
  src: PageSource,
  pgno: Pgno,
  data: Uint8Array,
  cell: CellInfo,
  want = Infinity,
): MaybePromise<Uint8Array> {
  const size = cell.payloadSize;
  const local = cell.localSize;
  const n = want < size ? want : size;
  const U = src.usableSize;
  const total = overflowPageCount(size, local, U);
  if (total > src.pageCount) {
    throw corrupt(pgno, `payload of ${size} bytes needs ${total} overflow pages, the database has ${src.pageCount}`);
  }
  const out = new Uint8Array(n);
  const start = cell.payloadOffset;
  if (n <= local) {
    out.set(data.subarray(start, start + n));
    return out;
  }
  out.set(data.subarray(start, start + local));
  const w: Walk = {
    src,
    out,
    filled: local,
    next: cell.overflow,
    count: 0,
    from: pgno,
    total,
    whole: n === size,
    seen: total > 1 ? new Set() : undefined,
  };
  return walk(w);
}

function walk(w: Walk): MaybePromise<Uint8Array> {
  const src = w.src;
  while (w.filled < w.out.length) {
    const pg = w.next;
    if (pg === 0) {
      throw corrupt(w.from, `overflow chain ends after ${w.count} of ${w.total} pages`);
    }
    if (pg > src.pageCount) {
      throw corrupt(w.from, `overflow page ${pg} is beyond the end of the database (${src.pageCount} pages)`);
    }
    if (w.seen !== undefined) {
      if (w.seen.has(pg)) throw corrupt(w.from, `overflow chain revisits page ${pg} (cycle)`);
      w.seen.add(pg);
    }
    const img = src.page(pg);
    if (!(img instanceof Uint8Array)) {
      return img.then((im) => {
        consume(w, pg, im);
        return walk(w);
      });
    }
    consume(w, pg, img);
  }
  return w.out;
}

function consume(w: Walk, pg: Pgno, img: Uint8Array): void {
  const U = w.src.usableSize;
  const take = Math.min(U - 4, w.out.length - w.filled);
  if (img.length < U) throw corrupt(pg, `overflow page image is ${img.length} bytes`);
  w.out.set(img.subarray(4, 4 + take), w.filled);
  w.filled += take;
  w.count++;
  w.from = pg;
  w.next = ((img[0] << 24) >>> 0) + ((img[1] << 16) | (img[2] << 8) | img[3]);
  if (w.whole && w.filled === w.out.length && w.next !== 0) {
    throw corrupt(pg, `overflow chain continues to page ${w.next} past the end of the payload (${w.total} pages)`);
  }
}
