/**
 * The copier's WAL scan capped at the -shm's published header (see "phantom" in the module
 * comment of src/backup/engine.ts): frames past the header's mxFrame, while another
 * connection keeps the -shm, are a commit in progress or one whose writer died before it
 * published it (a phantom, which the next writer overwrites), not a committed state.
 *
 * Copier-only code: it stays out of pager/ (the read-only bundle has no room for it).
 */
import { get32, sameBytes } from '../../pager/bytes.js';
import { parseShmHeader, type ShmHint } from '../../pager/shm.js';
import type { Storage } from '../../pager/storage.js';
import { WAL_FRAME_HEADER_SIZE, WalIndex, frameOffset, scanWal, type WalScan } from '../../pager/wal.js';

/** Bytes of the -shm header (two WalIndexHdr copies and the checkpoint info). */
export const SHM_HEADER_BYTES = 136;

/** Rounds of header, scan, look, header a capped scan makes before it takes the scan as it is. */
const CAP_TRIES = 3;

/**
 * The -shm header as the file now named -shm holds it (validated: both copies, checksum);
 * null when there is none or it cannot be read. Asking whether it exists first drops a
 * handle kept on a -shm that was since replaced (Storage.exists re-checks the path).
 */
export async function readShmHeader(storage: Storage): Promise<ShmHint | null> {
  try {
    if (!(await storage.exists('shm'))) return null;
    for (let tries = 1; ; tries++) {
      const b = await storage.read('shm', 0, SHM_HEADER_BYTES);
      // Two copies that differ: most likely read between walIndexWriteHdr's two copies (a
      // writer publishing), which SQLite's readers retry too; not "no header" (publishedUpTo
      // would then take a scan whole that may have read a phantom the writer overwrote). Still
      // torn after the retries: the publisher died there, and SQLite's next reader recovers
      // (committing what the log holds), as with no header.
      if (tries < TORN_TRIES && b.length >= 96 && !sameBytes(b.subarray(0, 48), b.subarray(48, 96))) continue;
      return parseShmHeader(b);
    }
  } catch {
    return null;
  }
}

/** Reads of a -shm header whose two copies differ before it counts as unreadable. */
const TORN_TRIES = 8;

/**
 * The header of WAL frame `frame`, read now, when it holds the salts and the cumulative
 * checksum given (the frame and every one before it are those that checksum sealed);
 * null when it is short or holds others.
 */
export async function frameSealed(storage: Storage, pageSize: number, frame: number, salt1: number, salt2: number, checksum1: number, checksum2: number): Promise<Uint8Array | null> {
  const f = await storage.read('wal', frameOffset(pageSize, frame), WAL_FRAME_HEADER_SIZE);
  return f.length === WAL_FRAME_HEADER_SIZE && get32(f, 8) === salt1 && get32(f, 12) === salt2 && get32(f, 16) === checksum1 && get32(f, 20) === checksum2 ? f : null;
}

/**
 * A header of the restart that follows s's log (walRestartHdr: salt-1 + 1, mxFrame 0) while
 * the WAL file still holds that log (the restarting writer has not written the new WAL header
 * yet, or died before it; or a TRUNCATE checkpoint has not truncated yet): readers see the db
 * file alone, which a restart requires to hold every published frame of s's log, and the
 * header keeps that log's last published cumulative checksum (aFrameCksum). Returns the
 * header as one of s's log at the commit frame with that checksum (read again from the frame
 * headers, newest first), or h itself when it is not such a header or no commit frame of s
 * after `from` has that checksum.
 */
async function asRestartOf(storage: Storage, h: ShmHint, s: WalIndex, from: number): Promise<ShmHint> {
  if (h.mxFrame !== 0 || h.salt1 !== ((s.header.salt1 + 1) >>> 0)) return h;
  const commits = s.extendableCommits();
  for (let k = commits.length - 1; k >= 0 && commits[k].frame >= from; k--) {
    const x = commits[k].frame;
    const f = await storage.read('wal', frameOffset(s.pageSize, x), WAL_FRAME_HEADER_SIZE);
    if (f.length === WAL_FRAME_HEADER_SIZE && get32(f, 16) === h.frameChecksum1 && get32(f, 20) === h.frameChecksum2) {
      return { ...h, salt1: s.header.salt1, salt2: s.header.salt2, mxFrame: x };
    }
  }
  return h;
}

/**
 * True when a connection (in any process, this one included) may have the -shm open: a read
 * lock on its DMS byte, or no way to tell (no Storage.locks, or locks it cannot read: other
 * platforms than Linux, other runtimes). Not knowing counts as held: a cap at a published
 * header is a committed state either way, while a phantom taken as committed can mix with
 * the commit that overwrites it.
 */
async function shmHeld(storage: Storage): Promise<boolean> {
  if (!storage.locks) return true;
  try {
    const l = await storage.locks();
    return l === null || l.shm.held.some((h) => h.lock === 'dms');
  } catch {
    return true;
  }
}

/**
 * scanWal(storage, prev), capped. Where the -shm header read before the scan (`before`, or
 * read here) is valid, holds the scanned log's salts and is behind the scan, the scan is cut
 * back to the header's mxFrame when
 *   - that frame is a commit frame of the scan (or 0: the log's first commit unpublished),
 *     no earlier than prev's mxFrame in the same log,
 *   - read again after the scan, its frame header still holds the log's salts, the page and
 *     size the scan found, and the header's cumulative checksum (aFrameCksum), and
 *   - a connection has the -shm open (DMS read-locked) after the scan, or the storage
 *     cannot tell (shmHeld).
 * Otherwise (no -shm, nobody holding it, the header ahead of the scan) the scan is returned
 * as it is. The header is read once more after the look: if it moved, the round starts again
 * (up to CAP_TRIES), so that a holder seen at the look held the -shm since the first read
 * (one that opened it since, when nobody held it, ran recovery, which rewrites the header
 * and commits a phantom). The last round caps regardless: a cap at a header read after every
 * earlier db-file read and before the scan is a committed state and misses no commit a
 * checkpoint could have copied back before it; only its freshness rests on the look. A cut
 * index shares prev's frame table, cut back in place: the scan's uncut index must not be
 * used afterwards.
 */
export async function scanCapped(storage: Storage, prev: WalIndex | null, before?: ShmHint | null): Promise<WalScan> {
  if (before === undefined) {
    // The common case first, the -shm read after the scan: nothing new, or every commit the
    // scan found published (see publishedUpTo); else the capped rounds below, from prev again.
    const scan = await scanWal(storage, prev);
    const s = scan.index;
    if (!s || s === prev || (await publishedUpTo(storage, s)) !== false) return scan;
    if (prev && prev.sameGeneration(s)) {
      const commits = s.extendableCommits();
      cutWal(s, prev.mxFrame, commitsUpToFrame(commits, prev.mxFrame), prev.checksum);
    }
  }
  for (let tries = 1; ; tries++) {
    const h0 = before !== undefined && tries === 1 ? before : await readShmHeader(storage);
    const scan = await scanWal(storage, prev);
    const s = scan.index;
    const h1 = h0 && s ? await asRestartOf(storage, h0, s, prev && prev.sameGeneration(s) ? prev.mxFrame : 0) : h0;
    if (!h1 || !s || s.mxFrame <= h1.mxFrame || s.header.salt1 !== h1.salt1 || s.header.salt2 !== h1.salt2) return scan;
    const same = prev !== null && prev.sameGeneration(s);
    const x = h1.mxFrame;
    if (same && x < prev!.mxFrame) return scan;
    const commits = s.extendableCommits();
    let k = commits.length;
    while (k > 0 && commits[k - 1].frame > x) k--;
    if (x > 0) {
      if (k === 0 || commits[k - 1].frame !== x) return scan;
      const f = await frameSealed(storage, s.pageSize, x, h1.salt1, h1.salt2, h1.frameChecksum1, h1.frameChecksum2);
      if (!f || get32(f, 0) !== s.table.pgnoOf[x] || get32(f, 4) !== commits[k - 1].dbSize) return scan;
    }
    if (!(await shmHeld(storage))) return scan;
    const h2 = await readShmHeader(storage);
    if ((!h2 || !sameHint(h0!, h2)) && tries < CAP_TRIES) {
      // Scan again from prev: cut the shared table back to it first (a scan extends only an
      // index whose table ends where it does). (Not "h2 is past the scan, take it whole":
      // the scan may have read a phantom that h2's commit has since overwritten.)
      if (same) cutWal(s, prev!.mxFrame, commitsUpToFrame(commits, prev!.mxFrame), prev!.checksum);
      continue;
    }
    if (same && x === prev!.mxFrame) {
      cutWal(s, x, k, prev!.checksum);
      return { ...scan, index: prev, kind: 'same' };
    }
    const cks = x > 0 ? new Uint32Array([h1.frameChecksum1, h1.frameChecksum2]) : new Uint32Array([s.header.checksum1, s.header.checksum2]);
    const index = cutWal(s, x, k, cks);
    return { ...scan, index, kind: same ? 'extended' : scan.kind };
  }
}

/**
 * True when the -shm header, read now (after the scan that built `s`), is of s's log, has
 * published at least s.mxFrame, and the frames up to it are those the scan read: the
 * cumulative checksum at s.mxFrame (the header's, or frame s.mxFrame's header read now) is
 * the scan's. Published frames stay until the next restart (whose salts the frame header
 * would show), and a frame the scan read that a later writer overwrote (a phantom) would
 * change the checksum. Then no cap is needed: the scan is a published state. Null when
 * there is no valid header of s's log.
 */
async function publishedUpTo(storage: Storage, s: WalIndex): Promise<boolean | null> {
  const h = await readShmHeader(storage);
  // The restart that follows s's log, the WAL file not yet rewritten: the rounds cap it.
  if (h && h.mxFrame === 0 && h.salt1 === ((s.header.salt1 + 1) >>> 0)) return false;
  // No header of this log: nothing to cap at (the rounds below would take the scan whole).
  if (!h || h.salt1 !== s.header.salt1 || h.salt2 !== s.header.salt2) return null;
  if (h.mxFrame < s.mxFrame) return false;
  if (s.mxFrame === 0) return true;
  if (h.mxFrame === s.mxFrame) return h.frameChecksum1 === s.checksum[0] && h.frameChecksum2 === s.checksum[1];
  return (await frameSealed(storage, s.pageSize, s.mxFrame, s.header.salt1, s.header.salt2, s.checksum[0], s.checksum[1])) !== null;
}

/** Commit entries with frame ≤ x. */
function commitsUpToFrame(commits: ReadonlyArray<{ frame: number }>, x: number): number {
  let k = commits.length;
  while (k > 0 && commits[k - 1].frame > x) k--;
  return k;
}

/**
 * Cuts the newest index `s` of a log back to its commit frame `x` (the k-th commit; x = 0,
 * k = 0: before the first), in place: frames after x leave the shared frame table and commit
 * list, so that a later scan extends the cut index from x + 1. Returns the cut index.
 */
export function cutWal(s: WalIndex, x: number, k: number, checksum: Uint32Array): WalIndex {
  const t = s.table;
  const commits = s.extendableCommits();
  for (let f = t.top; f > x; f--) {
    const p = t.pgnoOf[f];
    const list = t.byPage.get(p);
    if (!list) continue;
    list.pop();
    if (list.length === 0) t.byPage.delete(p);
  }
  t.pgnoOf.length = Math.min(t.pgnoOf.length, x + 1);
  t.top = x;
  commits.length = k;
  return new WalIndex(s.header, x, k > 0 ? commits[k - 1].dbSize : 0, checksum, commits, t);
}

function sameHint(a: ShmHint, b: ShmHint): boolean {
  return (
    a.iChange === b.iChange &&
    a.mxFrame === b.mxFrame &&
    a.nPage === b.nPage &&
    a.frameChecksum1 === b.frameChecksum1 &&
    a.frameChecksum2 === b.frameChecksum2 &&
    a.salt1 === b.salt1 &&
    a.salt2 === b.salt2
  );
}
