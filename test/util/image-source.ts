/**
 * A PageSource over a whole database file image, for b-tree tests.
 *
 * Parses the header with pager/header.ts; pageCount is effectivePageCount (the in-header count
 * when valid, else file size / page size). `page(pgno)` returns the same subarray object for a
 * page every time (so btree/page.ts's per-image cache works), or, with `async: true`, a
 * Promise of it (to exercise the asynchronous paths). pgno 0 or beyond pageCount is CORRUPT;
 * a page that the image is too short to hold reads as the available bytes zero-padded.
 * `reads` counts page() calls (tests use it to check that work is bounded).
 */
import { corrupt } from '../../pager/errors.js';
import { effectivePageCount, parseHeader, usableSize, type DbHeader, type Encoding } from '../../pager/header.js';
import type { PageSource, Pgno } from '../../pager/source.js';

export interface ImageSourceOptions {
  /** Return every page as a Promise (default false). */
  async?: boolean;
}

export class ImageSource implements PageSource {
  readonly header: DbHeader;
  readonly pageSize: number;
  readonly usableSize: number;
  readonly pageCount: number;
  readonly encoding: Encoding;
  readonly autoVacuum: boolean;
  readonly image: Uint8Array;
  reads = 0;
  private readonly async: boolean;
  private readonly pages: (Uint8Array | undefined)[] = [];

  constructor(image: Uint8Array, options: ImageSourceOptions = {}) {
    this.image = image;
    this.header = parseHeader(image);
    this.pageSize = this.header.pageSize;
    this.usableSize = usableSize(this.header);
    this.pageCount = effectivePageCount(this.header, image.length);
    this.encoding = this.header.encoding;
    this.autoVacuum = this.header.autoVacuumTop !== 0;
    this.async = options.async === true;
  }

  page(pgno: Pgno): Uint8Array | Promise<Uint8Array> {
    this.reads++;
    if (!Number.isInteger(pgno) || pgno < 1 || pgno > this.pageCount) {
      const e = corrupt(pgno, `page ${pgno} out of range (database has ${this.pageCount} pages)`);
      if (this.async) return Promise.reject(e);
      throw e;
    }
    let p = this.pages[pgno];
    if (p === undefined) {
      const start = (pgno - 1) * this.pageSize;
      if (start + this.pageSize <= this.image.length) {
        p = this.image.subarray(start, start + this.pageSize);
      } else {
        p = new Uint8Array(this.pageSize);
        if (start < this.image.length) p.set(this.image.subarray(start));
      }
      this.pages[pgno] = p;
    }
    return this.async ? Promise.resolve(p) : p;
  }
}
