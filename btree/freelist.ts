/**
 * The freelist (like the free-page walk of allocateBtreePage and checkList in btree.c).
 *
 * Page 1's header names the first trunk page (offset 32) and the total number of free pages,
 * trunks and leaves together (offset 36). Each trunk page:
 *
 *   OFFSET SIZE  DESCRIPTION
 *      0     4   next trunk pgno, 0 on the last trunk
 *      4     4   L, the number of leaf pgnos on this trunk (at most U/4 - 2)
 *      8    4·L  leaf pgnos (free pages with no content worth reading)
 *
 * {@link readFreelist} walks the whole list and checks it against the header: every pgno in
 * 2..pageCount, no page twice (a repeated trunk is a cycle), L within bounds, and the number
 * of pages found equal to the header's count (more is detected as soon as it happens, so a
 * looping or hostile list costs at most `count` steps). Any failure is CORRUPT naming the
 * trunk page (or page 1 for header inconsistencies). Synchronous while pages are cached.
 */
import { get32 } from '../pager/bytes.js';
import { corrupt } from '../pager/errors.js';
import type { PageSource, Pgno } from '../pager/source.js';
import type { MaybePromise } from './value.js';

export interface Freelist {
  /** Trunk pages in list order. */
  trunks: Pgno[];
  /** Leaf pages in list order (trunk by trunk). */
  leaves: Pgno[];
}

/** Reads the freelist described by page 1's header. */
export function readFreelist(src: PageSource): MaybePromise<Freelist> {
  if (src.pageCount === 0) return { trunks: [], leaves: [] }; // an empty file: no page 1 yet
  const p1 = src.page(1);
  const go = (img: Uint8Array): MaybePromise<Freelist> => {
    if (img.length < 100) throw corrupt(1, 'page 1 is shorter than the database header');
    return walkFreelist(src, get32(img, 32), get32(img, 36));
  };
  return p1 instanceof Uint8Array ? go(p1) : p1.then(go);
}

/** Walks a freelist starting at trunk `first` that should hold `count` pages in total. */
export function walkFreelist(src: PageSource, first: Pgno, count: number): MaybePromise<Freelist> {
  const pageCount = src.pageCount;
  if (count > pageCount) throw corrupt(1, `freelist count ${count} exceeds the page count ${pageCount}`);
  if ((first === 0) !== (count === 0)) {
    throw corrupt(1, `freelist trunk ${first} inconsistent with freelist count ${count}`);
  }
  const out: Freelist = { trunks: [], leaves: [] };
  const seen = new Set<Pgno>();
  const maxLeaves = Math.floor(src.usableSize / 4) - 2;
  let trunk = first;
  let from: Pgno = 1;
  const check = (pg: Pgno, at: Pgno, what: string): void => {
    if (pg < 2 || pg > pageCount) throw corrupt(at, `${what} ${pg} out of range (database has ${pageCount} pages)`);
    if (seen.has(pg)) throw corrupt(at, `${what} ${pg} appears twice in the freelist${what === 'trunk' ? ' (cycle)' : ''}`);
    seen.add(pg);
    if (seen.size > count) throw corrupt(at, `freelist holds more pages than the header's count ${count}`);
  };
  const consume = (pg: Pgno, img: Uint8Array): void => {
    const n = get32(img, 4);
    if (n > maxLeaves) throw corrupt(pg, `freelist trunk holds ${n} leaves, at most ${maxLeaves} fit`);
    out.trunks.push(pg);
    for (let i = 0; i < n; i++) {
      const leaf = get32(img, 8 + 4 * i);
      check(leaf, pg, 'free leaf page');
      out.leaves.push(leaf);
    }
    from = pg;
    trunk = get32(img, 0);
  };
  const loop = (): MaybePromise<Freelist> => {
    while (trunk !== 0) {
      check(trunk, from, 'trunk');
      const pg = trunk;
      const img = src.page(pg);
      if (!(img instanceof Uint8Array)) {
        return img.then((im) => {
          consume(pg, im);
          return loop();
        });
      }
      consume(pg, img);
    }
    if (seen.size !== count) {
      throw corrupt(from, `freelist holds ${seen.size} pages, the header says ${count}`);
    }
    return out;
  };
  return loop();
}
