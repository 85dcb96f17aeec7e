/**
 * The WAL-index header in `-shm` (read only, and only as a hint: quire never needs -shm; its
 * only write is zeroing the header of a -shm nobody holds before it writes a WAL, see
 * Pager.beginWrite; a -shm deleted between that look and the write comes back as 96 zero
 * bytes, which SQLite rebuilds).
 *
 * The first 136 bytes of -shm, in the byte order of the machine that wrote them:
 *
 *   OFFSET SIZE DESCRIPTION
 *      0    48  WalIndexHdr, first copy
 *     48    48  WalIndexHdr, second copy (a writer updates copy 2, then copy 1)
 *     96     4  nBackfill: frames already copied into the database file
 *    100    20  aReadMark[5]: readers' snapshot marks
 *    120     8  aLock: the lock bytes (never read or written by quire)
 *    128     4  nBackfillAttempted: frames a checkpoint tried to copy back
 *    132     4  unused
 *
 * WalIndexHdr:
 *
 *      0     4  iVersion (3007000)
 *      4     4  unused
 *      8     4  iChange: bumped by every commit (walFrames), kept by a WAL restart
 *     12     1  isInit
 *     13     1  bigEndCksum: the WAL's checksum byte order
 *     14     2  szPage (1 means 65536)
 *     16     4  mxFrame: last valid commit frame
 *     20     4  nPage: database size in pages
 *     24     8  aFrameCksum: checksum of the last frame
 *     32     8  aSalt: the WAL header's salts, as raw bytes
 *     40     8  aCksum: checksum over bytes 0..39 (native byte order)
 *
 * A header is trusted only when both copies are identical, isInit is set, the checksum holds
 * and (when a WAL index is given) the salts equal the WAL header's.
 */
import { get32, get32le } from './bytes.js';
import type { Storage } from './storage.js';
import type { WalHeader } from './wal.js';

export interface ShmHint {
  littleEndian: boolean;
  iChange: number;
  pageSize: number;
  mxFrame: number;
  nPage: number;
  /** The WAL's cumulative checksum after frame mxFrame (after a restart: the old log's last frame). */
  frameChecksum1: number;
  frameChecksum2: number;
  salt1: number;
  salt2: number;
  nBackfill: number;
  nBackfillAttempted: number;
  readMarks: number[];
}

function checksumOk(b: Uint8Array, le: boolean): boolean {
  const get = le ? get32le : get32;
  let s0 = 0;
  let s1 = 0;
  for (let i = 0; i < 40; i += 8) {
    s0 = (s0 + get(b, i) + s1) | 0;
    s1 = (s1 + get(b, i + 4) + s0) | 0;
  }
  return s0 >>> 0 === get(b, 40) && s1 >>> 0 === get(b, 44);
}

/** Parses and validates the -shm header bytes; null when they are not a trustworthy header. */
export function parseShmHeader(b: Uint8Array, wal?: WalHeader | null): ShmHint | null {
  if (b.length < 136) return null;
  for (let i = 0; i < 48; i++) if (b[i] !== b[48 + i]) return null;
  if (b[12] !== 1) return null;
  let le: boolean;
  if (get32le(b, 0) === 3007000 && checksumOk(b, true)) le = true;
  else if (get32(b, 0) === 3007000 && checksumOk(b, false)) le = false;
  else return null;
  const get = le ? get32le : get32;
  const salt1 = get32(b, 32);
  const salt2 = get32(b, 36);
  if (wal && (wal.salt1 !== salt1 || wal.salt2 !== salt2)) return null;
  const szPage = le ? b[14] | (b[15] << 8) : (b[14] << 8) | b[15];
  return {
    littleEndian: le,
    iChange: get(b, 8),
    pageSize: szPage === 1 ? 65536 : szPage,
    mxFrame: get(b, 16),
    nPage: get(b, 20),
    frameChecksum1: get(b, 24),
    frameChecksum2: get(b, 28),
    salt1,
    salt2,
    nBackfill: get(b, 96),
    nBackfillAttempted: get(b, 128),
    readMarks: [0, 1, 2, 3, 4].map((k) => get(b, 100 + 4 * k)),
  };
}

/** Reads the -shm header of `storage` as a hint (null when absent or untrustworthy). */
export async function readShmHint(storage: Storage, wal?: WalHeader | null): Promise<ShmHint | null> {
  try {
    if (!(await storage.exists('shm'))) return null;
    return parseShmHeader(await storage.read('shm', 0, 136), wal);
  } catch {
    return null;
  }
}
