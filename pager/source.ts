/**
 * The contract between the pager and the b-tree layer.
 *
 * `btree/` sees pages only through these interfaces; it never touches Storage. Page numbers
 * are 1-based (`Pgno`), 0 means "none", as in SQLite.
 *
 * Pages are plain `Uint8Array`s of `pageSize` bytes. `page()` returns the image synchronously
 * when it is cached and a Promise otherwise, so that b-tree code on hot paths awaits only on
 * a cache miss:
 *
 *     let p = src.page(pgno);
 *     if (!(p instanceof Uint8Array)) p = await p;
 *
 Images returned by a read-only source must not be mutated.
 */
import type { Encoding } from './header.js';

export type Pgno = number;

export interface PageSource {
  readonly pageSize: number;
  /** pageSize minus the reserved bytes at the end of every page. */
  readonly usableSize: number;
  /** Number of pages in the database image (the snapshot's size). */
  readonly pageCount: number;
  /** Text encoding of the database (1 UTF-8, 2 UTF-16le, 3 UTF-16be). */
  readonly encoding: Encoding;
  /** True when the database has pointer-map pages (auto_vacuum full or incremental). */
  readonly autoVacuum: boolean;
  /**
   * The image of page `pgno`. Throws (or rejects) CORRUPT when pgno is 0 or beyond
   * `pageCount`. Never mutate the result of a read-only source.
   */
  page(pgno: Pgno): Uint8Array | Promise<Uint8Array>;
}

/**
 * A source inside a write transaction (like SQLite's pager in WRITER_LOCKED..WRITER_DBMOD).
 * `writable(pgno)` journals the page (on first touch) and returns the mutable image that will
 * be committed (like sqlite3PagerWrite). Pages beyond `pageCount` do not exist until
 * `setPageCount` grows the image; new pages read as zeros.
 */
export interface WritablePageSource extends PageSource {
  writable(pgno: Pgno): Uint8Array | Promise<Uint8Array>;
  /** Grows or shrinks the image. Shrinking drops the pages beyond n. */
  setPageCount(n: number): void;
  /** The page number of SQLite's lock-byte page for this page size (never allocated). */
  readonly lockBytePage: Pgno;
}

/** The lock-byte page: the page holding file offset 0x40000000 (1 GiB). */
export function lockBytePageFor(pageSize: number): Pgno {
  return Math.floor(0x40000000 / pageSize) + 1;
}
