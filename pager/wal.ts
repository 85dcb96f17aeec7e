/**
 * The write-ahead log: reading it without `-shm`, and appending frames to it.
 *
 * WAL header (32 bytes, big-endian):
 *
 *   OFFSET SIZE DESCRIPTION
 *      0     4  magic: 0x377f0682 (checksums over little-endian words) or 0x377f0683 (big-endian)
 *      4     4  format version, 3007000
 *      8     4  database page size (1 is not used here; 65536 is stored as 65536)
 *     12     4  checkpoint sequence number
 *     16     4  salt-1: incremented at every WAL restart
 *     20     4  salt-2: a new random value at every WAL restart
 *     24     4  checksum-1 over bytes 0..23
 *     28     4  checksum-2
 *
 * Frame i (1-based) starts at 32 + (i-1)·(24 + pageSize):
 *
 *   OFFSET SIZE DESCRIPTION
 *      0     4  page number
 *      4     4  for a commit frame, the database size in pages after the commit; else 0
 *      8     4  salt-1 copied from the header
 *     12     4  salt-2 copied from the header
 *     16     4  checksum-1: cumulative over every frame so far (frame header bytes 0..7 + page)
 *     20     4  checksum-2
 *     24     N  page data
 *
 * The checksum runs over pairs of 32-bit words (byte order from the magic):
 *     s0 += x[i] + s1;  s1 += x[i+1] + s0;     (mod 2^32)
 * seeded with (0,0) for the header and with the header's checksum for frame 1.
 *
 * Reader algorithm (the same as SQLite's recovery, walIndexRecover): a header with a bad
 * magic, version, page size or checksum means "no WAL". Frames are then read in order; the
 * first frame whose salts differ from the header's, whose cumulative checksum does not hold,
 * or whose page number is 0 ends the log. Frames after the last valid commit frame are not
 * part of any snapshot (an open or torn transaction). mxFrame is the last valid commit frame;
 * the snapshot's page count is that frame's size field. Stale frames left behind by a WAL
 * restart carry the old salts and stop the scan, as they must.
 *
 * Rescans are incremental: a WalIndex remembers the checksum at mxFrame, so a later scan only
 * reads frames after it — unless the header changed (new salts: a restart) or the file
 * shrank (a TRUNCATE checkpoint), which is reported as a reset.
 */
import { get32, put32 } from './bytes.js';
import { ErrorCode, QuireError, ioerr } from './errors.js';
import type { Storage } from './storage.js';
import { decodePageSize } from './header.js';

export const WAL_HEADER_SIZE = 32;
export const WAL_FRAME_HEADER_SIZE = 24;
export const WAL_MAGIC_LE = 0x377f0682;
export const WAL_MAGIC_BE = 0x377f0683;
export const WAL_VERSION = 3007000;

export interface WalHeader {
  bigEndianChecksum: boolean;
  pageSize: number;
  checkpointSeq: number;
  salt1: number;
  salt2: number;
  checksum1: number;
  checksum2: number;
}

export function frameOffset(pageSize: number, frame: number): number {
  return WAL_HEADER_SIZE + (frame - 1) * (WAL_FRAME_HEADER_SIZE + pageSize);
}

/** This machine stores 32-bit words least significant byte first. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Cumulative WAL checksum over `len` bytes (a multiple of 8) of `b` from `off`, continuing
 * from (s[0], s[1]); the result is written back into `s`.
 */
export function walChecksum(bigEndian: boolean, b: Uint8Array, off: number, len: number, s: Uint32Array): void {
  let s0 = s[0] | 0;
  let s1 = s[1] | 0;
  const end = off + len;
  if (bigEndian) {
    for (let i = off; i < end; i += 8) {
      s0 = (s0 + ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) + s1) | 0;
      s1 = (s1 + ((b[i + 4] << 24) | (b[i + 5] << 16) | (b[i + 6] << 8) | b[i + 7]) + s0) | 0;
    }
  } else if (LITTLE_ENDIAN && len >= 64 && ((b.byteOffset + off) & 3) === 0) {
    // Little-endian words on a little-endian machine, 4-aligned (a page of a frame): read as
    // 32-bit words, a third of the byte loop's time.
    const w = new Int32Array(b.buffer, b.byteOffset + off, len >> 2);
    for (let i = 0; i < w.length; i += 2) {
      s0 = (s0 + w[i] + s1) | 0;
      s1 = (s1 + w[i + 1] + s0) | 0;
    }
  } else {
    for (let i = off; i < end; i += 8) {
      s0 = (s0 + (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) + s1) | 0;
      s1 = (s1 + (b[i + 4] | (b[i + 5] << 8) | (b[i + 6] << 16) | (b[i + 7] << 24)) + s0) | 0;
    }
  }
  s[0] = s0;
  s[1] = s1;
}

/** Parses and validates a WAL header; null when it is not a usable WAL header. */
export function parseWalHeader(b: Uint8Array): WalHeader | null {
  if (b.length < WAL_HEADER_SIZE) return null;
  const magic = get32(b, 0);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) return null;
  if (get32(b, 4) !== WAL_VERSION) return null;
  const pageSize = decodePageSize(get32(b, 8));
  if (pageSize === 0) return null;
  const bigEndianChecksum = magic === WAL_MAGIC_BE;
  const s = new Uint32Array(2);
  walChecksum(bigEndianChecksum, b, 0, 24, s);
  if (s[0] !== get32(b, 24) || s[1] !== get32(b, 28)) return null;
  return {
    bigEndianChecksum,
    pageSize,
    checkpointSeq: get32(b, 12),
    salt1: get32(b, 16),
    salt2: get32(b, 20),
    checksum1: get32(b, 24),
    checksum2: get32(b, 28),
  };
}

export function encodeWalHeader(h: WalHeader): Uint8Array {
  const b = new Uint8Array(WAL_HEADER_SIZE);
  put32(b, 0, h.bigEndianChecksum ? WAL_MAGIC_BE : WAL_MAGIC_LE);
  put32(b, 4, WAL_VERSION);
  put32(b, 8, h.pageSize);
  put32(b, 12, h.checkpointSeq);
  put32(b, 16, h.salt1);
  put32(b, 20, h.salt2);
  const s = new Uint32Array(2);
  walChecksum(h.bigEndianChecksum, b, 0, 24, s);
  put32(b, 24, s[0]);
  put32(b, 28, s[1]);
  h.checksum1 = s[0];
  h.checksum2 = s[1];
  return b;
}

export interface WalCommit {
  /** The commit frame (1-based). */
  frame: number;
  /** Database size in pages after this commit. */
  dbSize: number;
  /**
   * Transactions committed in this log up to and including this commit frame. With psow=0
   * and synchronous=FULL, SQLite pads a commit to a sector with copies of its commit frame
   * (walFrames), each itself a commit frame: a commit frame that repeats the one right before
   * it (page number, size and bytes) is not counted. (A transaction that rewrote that page
   * with the same bytes and nothing else is not counted either: the count can fall short,
   * never exceed.)
   */
  distinct: number;
}

/**
 * Frame lists shared by the indexes of one log generation. Committed frames are only ever
 * appended, so an older index (smaller mxFrame) sharing them still answers correctly with its
 * own limit. `top` is the mxFrame of the newest index; only that index may be extended.
 */
interface FrameTable {
  /** Frames (ascending) holding each page, all ≤ top. */
  byPage: Map<number, number[]>;
  /** Page number of each frame 1..top (index 0 unused). */
  pgnoOf: number[];
  top: number;
}

/**
 * What a scan of the WAL found: the valid prefix of the log up to its last commit frame.
 * Immutable once built.
 */
export class WalIndex {
  readonly header: WalHeader;
  /** Last valid commit frame (1-based); 0 when the log holds no commit. */
  readonly mxFrame: number;
  /** Database size in pages after the commit at mxFrame (0 when mxFrame is 0). */
  readonly dbSize: number;
  /** Cumulative checksum after frame mxFrame. */
  readonly checksum: Uint32Array;
  /** @internal */
  readonly table: FrameTable;
  /**
   * The commit list, shared (as the frame table is) with the indexes this one extends and is
   * extended by: this index's commits are its first `nCommits` entries.
   */
  private readonly commitList: WalCommit[];
  private readonly nCommits: number;

  constructor(header: WalHeader, mxFrame: number, dbSize: number, checksum: Uint32Array, commits: WalCommit[], table: FrameTable) {
    this.header = header;
    this.mxFrame = mxFrame;
    this.dbSize = dbSize;
    this.checksum = checksum;
    this.commitList = commits;
    this.nCommits = commits.length;
    this.table = table;
  }

  /** Commit frames in order, up to mxFrame. */
  get commits(): readonly WalCommit[] {
    return this.extendableCommits();
  }

  /**
   * @internal The list to extend for the next index: the shared one itself while this index
   * is its newest (the entries past nCommits are those of later indexes), else a copy of its part.
   */
  extendableCommits(): WalCommit[] {
    return this.commitList.length === this.nCommits ? this.commitList : this.commitList.slice(0, this.nCommits);
  }

  get pageSize(): number {
    return this.header.pageSize;
  }

  /** The newest frame ≤ `limit` (default mxFrame) that holds page `pgno`, or 0. */
  frameFor(pgno: number, limit: number = this.mxFrame): number {
    const list = this.table.byPage.get(pgno);
    if (!list) return 0;
    const last = list.length - 1;
    if (list[last] <= limit) return list[last];
    if (list[0] > limit) return 0;
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (list[mid] <= limit) lo = mid;
      else hi = mid - 1;
    }
    return list[lo];
  }

  /** The pages written by frames in (from, to], to ≤ mxFrame. */
  pagesBetween(from: number, to: number = this.mxFrame): Set<number> {
    const out = new Set<number>();
    const end = Math.min(to, this.mxFrame);
    for (let f = from + 1; f <= end; f++) out.add(this.table.pgnoOf[f]);
    return out;
  }

  /** Every page that has at least one frame ≤ mxFrame. */
  pages(): number[] {
    const out: number[] = [];
    for (const [pgno, list] of this.table.byPage) if (list[0] <= this.mxFrame) out.push(pgno);
    return out;
  }

  /** Same log generation (header, salts) as `other`. */
  sameGeneration(other: WalIndex): boolean {
    return sameHeader(this.header, other.header);
  }
}

export type WalScanKind = 'none' | 'same' | 'extended' | 'reset';

export interface WalScan {
  /** The log as it is now, or null when there is no usable WAL (absent, empty, bad header). */
  index: WalIndex | null;
  /**
   * Relative to the `previous` index passed to scanWal: 'none' (no usable WAL now),
   * 'same' (no new commit), 'extended' (new commits after previous.mxFrame, same salts),
   * 'reset' (a different log generation, or the log shrank; the trail is lost).
   */
  kind: WalScanKind;
  /** The last frame position holding a valid frame of this generation (committed or not). */
  lastValidFrame: number;
  /** The log file's size when scanned. */
  size: number;
}

/** Bytes per read while scanning the log. */
const SCAN_CHUNK = 1 << 20;

/**
 * Reads the WAL of `storage` and returns its valid committed prefix. With `previous`, frames
 * up to previous.mxFrame are trusted if the header is unchanged and only later frames are
 * read (the incremental rescan the copier relies on).
 */
export async function scanWal(storage: Storage, previous?: WalIndex | null): Promise<WalScan> {
  let size: number;
  let hdrBytes: Uint8Array;
  try {
    size = await storage.size('wal');
    if (size < WAL_HEADER_SIZE) return { index: null, kind: 'none', lastValidFrame: 0, size };
    hdrBytes = await storage.read('wal', 0, WAL_HEADER_SIZE);
  } catch (e) {
    throw ioerr(`reading ${storage.label}-wal`, e);
  }
  const header = parseWalHeader(hdrBytes);
  if (!header) return { index: null, kind: 'none', lastValidFrame: 0, size };

  const ps = header.pageSize;
  const frameSize = WAL_FRAME_HEADER_SIZE + ps;

  let base: WalIndex | null = null;
  if (previous && sameHeader(previous.header, header) && previous.table.top === previous.mxFrame) {
    const end = frameOffset(ps, previous.mxFrame + 1);
    // Same generation, and the file ends where its last commit did: nothing can follow it
    // (the common case between two commits of this process), so the index stands as it is.
    if (size === end) return { index: previous, kind: 'same', lastValidFrame: previous.mxFrame, size };
    if (size > end) base = previous;
  }

  let mxFrame = base ? base.mxFrame : 0;
  let dbSize = base ? base.dbSize : 0;
  const cks = new Uint32Array(2);
  if (base) cks.set(base.checksum);
  else {
    cks[0] = header.checksum1;
    cks[1] = header.checksum2;
  }
  const commits: WalCommit[] = base ? base.extendableCommits() : [];
  const table: FrameTable = base ? base.table : { byPage: new Map(), pgnoOf: [0], top: 0 };
  // Frames since the last commit: entered into the table only when a commit frame follows.
  const pending: Array<[number, number]> = [];
  const running = new Uint32Array(2);
  running.set(cks);

  // The frame before the next one, for telling a padding copy of a commit frame (see
  // WalCommit.distinct); at the start of a rescan, the known log's last commit frame.
  let before: { frame: number; pgno: number; size: number; data: Uint8Array | null } | null =
    base && base.mxFrame > 0 ? { frame: base.mxFrame, pgno: base.table.pgnoOf[base.mxFrame], size: base.dbSize, data: null } : null;
  const repeats = async (frame: number, pgno: number, commitSize: number, data: Uint8Array): Promise<boolean> => {
    if (!before || before.frame !== frame - 1 || before.size !== commitSize || before.pgno !== pgno) return false;
    let prior = before.data;
    if (!prior) {
      // The known log's last commit frame, read again: its bytes stand only if its header,
      // read after them, still holds this log's salts and the known checksum (a newer log
      // writes a frame's header before its data). Else the frame in hand is not counted: a
      // count too low only fails to match (see WalCommit.distinct).
      const at = frameOffset(ps, frame - 1);
      let h: Uint8Array;
      try {
        prior = await storage.read('wal', at + WAL_FRAME_HEADER_SIZE, ps);
        h = await storage.read('wal', at, WAL_FRAME_HEADER_SIZE);
      } catch (e) {
        throw ioerr(`reading ${storage.label}-wal`, e);
      }
      const c = base!.checksum;
      if (prior.length !== ps || h.length !== WAL_FRAME_HEADER_SIZE || get32(h, 8) !== header.salt1 || get32(h, 12) !== header.salt2 || get32(h, 16) !== c[0] || get32(h, 20) !== c[1]) {
        return true;
      }
    }
    for (let i = 0; i < ps; i++) if (prior[i] !== data[i]) return false;
    return true;
  };
  const walk = await walkFrames(storage, header, mxFrame + 1, running, size, async (frame, pgno, commitSize, data) => {
    pending.push([frame, pgno]);
    if (commitSize !== 0) {
      for (const [f, p] of pending) {
        const list = table.byPage.get(p);
        if (list) list.push(f);
        else table.byPage.set(p, [f]);
        table.pgnoOf[f] = p;
      }
      pending.length = 0;
      mxFrame = frame;
      dbSize = commitSize;
      cks.set(running);
      const last = commits.length > 0 ? commits[commits.length - 1].distinct : 0;
      commits.push({ frame, dbSize, distinct: (await repeats(frame, pgno, commitSize, data)) ? last : last + 1 });
    }
    before = { frame, pgno, size: commitSize, data };
  });
  table.top = mxFrame;
  const lastValidFrame = walk.stopFrame - 1;
  // No commit after the known ones (the frames beyond, if any, are stale or uncommitted).
  if (base && mxFrame === base.mxFrame) return { index: base, kind: 'same', lastValidFrame, size };

  const index = new WalIndex(header, mxFrame, dbSize, cks, commits, table);
  let kind: WalScanKind;
  if (!previous) kind = mxFrame > 0 ? 'extended' : 'same';
  else if (!base) kind = 'reset';
  else kind = mxFrame > previous.mxFrame ? 'extended' : 'same';
  return { index, kind, lastValidFrame, size };
}

/**
 * True when the log is, provably, as `known` left it: the header holds the same bytes, and the
 * file ends where its last commit does or a frame of another generation follows it (another
 * salt: stale or foreign, so no commit of this one can follow). Then scanWal(storage, known)
 * would hand back `known` itself; this answers with the header and at most one frame header
 * read into `scratch` (at least 32 bytes) instead of a frame. False means "scan it", not
 * "changed". (The per-transaction look at an unchanged log, as SQLite reads the wal-index header.)
 */
export async function walUnchanged(storage: Storage, known: WalIndex, scratch: Uint8Array): Promise<boolean> {
  const h = known.header;
  if (known.table.top !== known.mxFrame) return false;
  const frameSize = WAL_FRAME_HEADER_SIZE + h.pageSize;
  const end = frameOffset(h.pageSize, known.mxFrame + 1);
  try {
    // Where the storage can tell that its open WAL is still the named file without a stat
    // (Storage.isCurrent), the size is bounded by a read instead: the byte before `end` and
    // the frame header after it.
    const current = storage.isCurrent?.('wal') ?? null;
    if (current === false) return false;
    let size = 0;
    if (current === null) {
      size = await storage.size('wal');
      if (size < end) return false;
    }
    const b = scratch.subarray(0, WAL_HEADER_SIZE);
    if ((await readInto(storage, 0, b)) !== WAL_HEADER_SIZE) return false;
    if (
      get32(b, 0) !== (h.bigEndianChecksum ? WAL_MAGIC_BE : WAL_MAGIC_LE) ||
      get32(b, 4) !== WAL_VERSION ||
      get32(b, 8) !== h.pageSize ||
      get32(b, 12) !== h.checkpointSeq ||
      get32(b, 16) !== h.salt1 ||
      get32(b, 20) !== h.salt2 ||
      get32(b, 24) !== h.checksum1 ||
      get32(b, 28) !== h.checksum2
    ) {
      return false;
    }
    if (current === true) {
      const t = scratch.subarray(0, 1 + WAL_FRAME_HEADER_SIZE);
      const n = await readInto(storage, end - 1, t);
      // Shorter than `end`; or ending before a whole frame header, so before a whole frame.
      if (n === 0) return false;
      if (n < t.length) return true;
      return get32(t, 1 + 8) !== h.salt1 || get32(t, 1 + 12) !== h.salt2;
    }
    // No whole frame after the last commit: scanWal reads none.
    if (size < end + frameSize) return true;
    const f = scratch.subarray(0, WAL_FRAME_HEADER_SIZE);
    if ((await readInto(storage, end, f)) !== WAL_FRAME_HEADER_SIZE) return false;
    return get32(f, 8) !== h.salt1 || get32(f, 12) !== h.salt2;
  } catch (e) {
    throw ioerr(`reading ${storage.label}-wal`, e);
  }
}

/** Reads the WAL at `offset` into `dest` (through readInto where the storage has it); returns the bytes read. */
async function readInto(storage: Storage, offset: number, dest: Uint8Array): Promise<number> {
  if (storage.readInto) return storage.readInto('wal', offset, dest);
  const b = await storage.read('wal', offset, dest.length);
  dest.set(b);
  return b.length;
}

type StopReason = 'eof' | 'invalid' | 'foreign';

/**
 * Walks frames from `start` while they carry `header`'s salts and continue the cumulative
 * checksum in `running` (updated in place), calling `onFrame` for each valid one. Returns the
 * first frame that is not valid and why: 'eof' (the file ends), 'foreign' (it carries other
 * salts: another generation wrote it), 'invalid' (page 0, or a bad checksum: torn or stale).
 */
async function walkFrames(
  storage: Storage,
  header: WalHeader,
  start: number,
  running: Uint32Array,
  size: number,
  onFrame: (frame: number, pgno: number, commitSize: number, data: Uint8Array) => void | Promise<void>,
): Promise<{ stopFrame: number; stop: StopReason; stopSalt1: number }> {
  const ps = header.pageSize;
  const frameSize = WAL_FRAME_HEADER_SIZE + ps;
  const maxFrames = Math.floor((size - WAL_HEADER_SIZE) / frameSize);
  const framesPerChunk = Math.max(1, Math.floor(SCAN_CHUNK / frameSize));
  let frame = start;
  // Reads start at one frame and double up to SCAN_CHUNK: a rescan that finds nothing new (a
  // stale or foreign frame, or a torn tail, right after the last commit it knew) stays cheap.
  let want = 1;
  while (frame <= maxFrames) {
    const count = Math.min(want, framesPerChunk, maxFrames - frame + 1);
    want = Math.min(want * 2, framesPerChunk);
    let chunk: Uint8Array;
    try {
      chunk = await storage.read('wal', frameOffset(ps, frame), count * frameSize);
    } catch (e) {
      throw ioerr(`reading ${storage.label}-wal`, e);
    }
    const got = Math.floor(chunk.length / frameSize);
    for (let k = 0; k < got; k++, frame++) {
      const off = k * frameSize;
      const pgno = get32(chunk, off);
      if (get32(chunk, off + 8) !== header.salt1 || get32(chunk, off + 12) !== header.salt2) {
        const zero = get32(chunk, off + 8) === 0 && get32(chunk, off + 12) === 0 && pgno === 0;
        return { stopFrame: frame, stop: zero ? 'invalid' : 'foreign', stopSalt1: get32(chunk, off + 8) };
      }
      if (pgno === 0) return { stopFrame: frame, stop: 'invalid', stopSalt1: 0 };
      walChecksum(header.bigEndianChecksum, chunk, off, 8, running);
      walChecksum(header.bigEndianChecksum, chunk, off + WAL_FRAME_HEADER_SIZE, ps, running);
      if (running[0] !== get32(chunk, off + 16) || running[1] !== get32(chunk, off + 20)) {
        return { stopFrame: frame, stop: 'invalid', stopSalt1: 0 };
      }
      const w = onFrame(frame, pgno, get32(chunk, off + 4), chunk.subarray(off + WAL_FRAME_HEADER_SIZE, off + frameSize));
      if (w) await w;
    }
    if (got < count) return { stopFrame: frame, stop: 'eof', stopSalt1: 0 };
  }
  return { stopFrame: frame, stop: 'eof', stopSalt1: 0 };
}

export interface WalTail {
  /** Pages written by commits of the old generation after `previous.mxFrame`. */
  pages: Set<number>;
  /** The old generation's last commit found (frame, dbSize), or null when none followed. */
  lastCommit: { frame: number; dbSize: number } | null;
  /** The first frame position that was not a valid frame of the old generation. */
  stopFrame: number;
  stop: StopReason;
  /** For 'foreign': the salt-1 of the frame that stopped the scan. */
  stopSalt1: number;
}

/**
 * After a WAL reset, reads what is left of the previous generation beyond `previous.mxFrame`:
 * frames that still carry its salts and continue its checksum chain. (A new generation
 * overwrites the log from frame 1, so the old tail survives until the new one grows past it.)
 * The copier uses this to learn which pages the old generation changed after its snapshot;
 * whether the tail is complete is for the caller to judge (see CopyEngine.bridge).
 */
export async function scanTail(storage: Storage, previous: WalIndex): Promise<WalTail> {
  let size: number;
  try {
    size = await storage.size('wal');
  } catch (e) {
    throw ioerr(`reading ${storage.label}-wal`, e);
  }
  const running = new Uint32Array(2);
  running.set(previous.checksum);
  const pages = new Set<number>();
  const pending: number[] = [];
  let lastCommit: { frame: number; dbSize: number } | null = null;
  const walk = await walkFrames(storage, previous.header, previous.mxFrame + 1, running, size, (frame, pgno, commitSize) => {
    pending.push(pgno);
    if (commitSize !== 0) {
      for (const p of pending) pages.add(p);
      pending.length = 0;
      lastCommit = { frame, dbSize: commitSize };
    }
  });
  return { pages, lastCommit, stopFrame: walk.stopFrame, stop: walk.stop, stopSalt1: walk.stopSalt1 };
}

function sameHeader(a: WalHeader, b: WalHeader): boolean {
  return (
    a.salt1 === b.salt1 &&
    a.salt2 === b.salt2 &&
    a.checksum1 === b.checksum1 &&
    a.checksum2 === b.checksum2 &&
    a.pageSize === b.pageSize &&
    a.bigEndianChecksum === b.bigEndianChecksum
  );
}

/** Reads frame `frame`'s page image from the log. */
export async function readFrame(storage: Storage, pageSize: number, frame: number): Promise<Uint8Array> {
  let b: Uint8Array;
  try {
    b = await storage.read('wal', frameOffset(pageSize, frame) + WAL_FRAME_HEADER_SIZE, pageSize);
  } catch (e) {
    throw ioerr(`reading ${storage.label}-wal`, e);
  }
  if (b.length !== pageSize) {
    throw new QuireError(ErrorCode.BUSY, `${storage.label}-wal: frame ${frame} vanished (the log was truncated while being read)`);
  }
  return b;
}

/**
 * Encodes frames for pages `pages` (ascending pgno order is the caller's choice) to append
 * after frame `after` of a log with header `h`, continuing the cumulative checksum `cks`
 * (updated in place). The last frame is a commit frame with `commitDbSize` when non-zero.
 * With `scratch`, the frames are written into its buffer (grown when too small) and the result
 * is a view of it that the next call overwrites; else into a new array.
 */
export function encodeFrames(
  h: WalHeader,
  cks: Uint32Array,
  pages: ReadonlyArray<readonly [number, Uint8Array]>,
  commitDbSize: number,
  scratch?: { buf: Uint8Array | null },
): Uint8Array {
  const ps = h.pageSize;
  const frameSize = WAL_FRAME_HEADER_SIZE + ps;
  const need = pages.length * frameSize;
  let out: Uint8Array;
  if (scratch === undefined) out = new Uint8Array(need);
  else {
    // A view of the caller's reused buffer, valid until its next call (every byte is written).
    if (scratch.buf === null || scratch.buf.length < need) scratch.buf = new Uint8Array(need);
    out = scratch.buf.subarray(0, need);
  }
  for (let i = 0; i < pages.length; i++) {
    const [pgno, data] = pages[i];
    const off = i * frameSize;
    put32(out, off, pgno);
    put32(out, off + 4, i === pages.length - 1 ? commitDbSize : 0);
    put32(out, off + 8, h.salt1);
    put32(out, off + 12, h.salt2);
    out.set(data.subarray(0, ps), off + WAL_FRAME_HEADER_SIZE);
    walChecksum(h.bigEndianChecksum, out, off, 8, cks);
    walChecksum(h.bigEndianChecksum, out, off + WAL_FRAME_HEADER_SIZE, ps, cks);
    put32(out, off + 16, cks[0]);
    put32(out, off + 20, cks[1]);
  }
  return out;
}

/**
 * The index after appending one committed transaction of `pgnos` (frames `start`..) to the
 * log described by `previous` (or to a new log with `header` when previous is null or of
 * another generation): what a rescan would find, without reading the frames back.
 * `checksum` is the cumulative checksum after the commit frame.
 */
export function appendCommit(
  previous: WalIndex | null,
  header: WalHeader,
  start: number,
  pgnos: readonly number[],
  dbSize: number,
  checksum: Uint32Array,
): WalIndex {
  const extend = previous !== null && previous.table.top === previous.mxFrame && previous.mxFrame === start - 1 && sameHeader(previous.header, header);
  const table: FrameTable = extend ? previous.table : { byPage: new Map(), pgnoOf: [0], top: 0 };
  const commits: WalCommit[] = extend ? previous.extendableCommits() : [];
  let frame = start;
  for (const p of pgnos) {
    const list = table.byPage.get(p);
    if (list) list.push(frame);
    else table.byPage.set(p, [frame]);
    table.pgnoOf[frame] = p;
    frame++;
  }
  const mx = frame - 1;
  table.top = mx;
  // quire pads no commit: each is one transaction.
  commits.push({ frame: mx, dbSize, distinct: (commits.length > 0 ? commits[commits.length - 1].distinct : 0) + 1 });
  return new WalIndex(header, mx, dbSize, checksum.slice(), commits, table);
}
