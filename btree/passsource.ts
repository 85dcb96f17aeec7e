/**
 * A page source for one in-order pass over a table b-tree (scanRecords), reading past the
 * page cache into a few reused buffers: no garbage per page, whatever the file size.
 *
 * Through a page cache every page a pass reads is a new copy that the cache soon drops: a
 * pass over a big file makes as many bytes of garbage as the file has, outside V8's heap,
 * which a process frees only when a collection comes (the peak RSS of an export was ~85 MB
 * with a 2 MiB cache). A pass needs few pages at a time, and this source knows which:
 *
 * - pages are read in runs (`ReadAhead`: `Snapshot.readRun`, which sees the snapshot's WAL
 *   frames and journal as its pages do) into one buffer;
 * - a table LEAF is copied into one of two leaf buffers, used in turn: scanRecords is done
 *   with a leaf (its rows visited, their text drained) before it asks for the next leaf;
 * - an INTERIOR page (and page 1) is copied into a buffer of its own: the pass keeps it on
 *   its stack while it walks the children (these are about one page in a hundred);
 * - any other page (an overflow page, which readPayload copies out before it asks for the
 *   next one; a damaged page, which the pass rejects) into one of two other buffers.
 *
 * So a page handed out stays as it was until the second next page of its kind: the pass
 * must not keep a leaf, or anything but an interior page, longer than that.
 */
import type { Encoding } from '../pager/header.js';
import type { PageSource, Pgno } from '../pager/source.js';

/** A source that reads runs of pages past its cache (Snapshot.readRun). */
export type RunSource = PageSource & { readRun(first: Pgno, count: number, dest: Uint8Array): Promise<void> };

export function runSource(src: PageSource): RunSource | null {
  return typeof (src as Partial<RunSource>).readRun === 'function' ? (src as RunSource) : null;
}

/** Bytes read ahead at most (the pager's default read-ahead). */
const RUN_BYTES = 1 << 20;

const TABLE_LEAF = 13;
const TABLE_INTERIOR = 5;
const INDEX_INTERIOR = 2;

/**
 * Runs of pages read ahead into one buffer past the cache, the window doubling up to
 * RUN_BYTES while the reads go up the file, one page after a jump (as the pager's
 * read-ahead). A view it gives stays as it is until the next `load`.
 */
export class ReadAhead {
  private readonly src: Pick<RunSource, 'pageSize' | 'pageCount' | 'readRun'>;
  private readonly ps: number;
  /** The run buffer (RUN_BYTES rounded down to whole pages). */
  readonly buf: Uint8Array;
  private first = 0;
  private count = 0;
  private nextSeq = 0;
  private window = 1;

  constructor(src: Pick<RunSource, 'pageSize' | 'pageCount' | 'readRun'>) {
    this.src = src;
    this.ps = src.pageSize;
    this.buf = new Uint8Array(Math.max(1, Math.floor(RUN_BYTES / this.ps)) * this.ps);
  }

  /** True when page `pgno` is in the buffer (`view` gives it). */
  has(pgno: Pgno): boolean {
    return pgno >= this.first && pgno < this.first + this.count;
  }

  /** Reads the run that starts at page `pgno` (in range: 1..pageCount). */
  async load(pgno: Pgno): Promise<void> {
    const maxRun = this.buf.length / this.ps;
    this.window = pgno === this.nextSeq ? Math.min(maxRun, this.window * 2) : 1;
    const n = Math.max(1, Math.min(this.window, this.src.pageCount - pgno + 1));
    this.count = 0;
    await this.src.readRun(pgno, n, this.buf);
    this.first = pgno;
    this.count = n;
    this.nextSeq = pgno + n;
  }

  /** Page `pgno`'s image in the buffer (see `has`). */
  view(pgno: Pgno): Uint8Array {
    const off = (pgno - this.first) * this.ps;
    return this.buf.subarray(off, off + this.ps);
  }

  /** Forgets what the buffer holds (it may then be used for something else). */
  clear(): void {
    this.count = 0;
  }
}

export class PassSource implements PageSource {
  readonly pageSize: number;
  readonly usableSize: number;
  readonly pageCount: number;
  readonly encoding: Encoding;
  readonly autoVacuum: boolean;
  private readonly src: RunSource;
  private readonly ahead: ReadAhead;
  private readonly leaves: Uint8Array[];
  private readonly others: Uint8Array[];
  private turn = 0;
  private otherTurn = 0;

  constructor(src: RunSource) {
    this.src = src;
    this.pageSize = src.pageSize;
    this.usableSize = src.usableSize;
    this.pageCount = src.pageCount;
    this.encoding = src.encoding;
    this.autoVacuum = src.autoVacuum;
    this.ahead = new ReadAhead(src);
    const ps = src.pageSize;
    this.leaves = [new Uint8Array(ps), new Uint8Array(ps)];
    this.others = [new Uint8Array(ps), new Uint8Array(ps)];
  }

  page(pgno: Pgno): Uint8Array | Promise<Uint8Array> {
    if (this.ahead.has(pgno)) return this.hand(pgno);
    // Out of range: the source throws its CORRUPT.
    if (!(pgno >= 1 && pgno <= this.pageCount)) return this.src.page(pgno);
    return this.ahead.load(pgno).then(() => this.hand(pgno));
  }

  /** Page `pgno` (read ahead) copied into the buffer its kind takes (see above). */
  private hand(pgno: Pgno): Uint8Array {
    const img = this.ahead.view(pgno);
    const type = img[pgno === 1 ? 100 : 0];
    let buf: Uint8Array;
    if (type === TABLE_LEAF && pgno !== 1) buf = this.leaves[(this.turn ^= 1)];
    else if (type === TABLE_INTERIOR || type === INDEX_INTERIOR || pgno === 1) buf = new Uint8Array(this.pageSize);
    else buf = this.others[(this.otherTurn ^= 1)];
    buf.set(img);
    return buf;
  }
}
