/**
 * The rollback journal: reading a hot journal (without ever rolling it back in place), and
 * writing one for quire's own commits.
 *
 * Journal header (at offset 0, and again at the start of every later segment; each header
 * occupies one "sector", at least 512 bytes):
 *
 *   OFFSET SIZE DESCRIPTION
 *      0     8  magic d9 d5 05 f9 20 a1 63 d7
 *      8     4  nRec: page records in this segment; 0xFFFFFFFF = "as many as the file holds"
 *     12     4  cksumInit: random nonce added into every record checksum
 *     16     4  the database size in pages before the transaction (first header counts)
 *     20     4  sector size (header padding; segments start at multiples of it)
 *     24     4  page size
 *
 * Page record (4 + pageSize + 4 bytes), the page's content BEFORE the transaction:
 *
 *   OFFSET SIZE DESCRIPTION
 *      0     4  page number
 *      4     N  original page image
 *    4+N     4  checksum = cksumInit + data[N-200] + data[N-400] + ... (bytes at N-200k > 0)
 *
 * Optionally a super-journal name record follows the last segment (multi-database commits).
 *
 * A journal is "inactive" — it cannot be rolled back — when it is absent, empty, starts with a
 * zero byte (journal_mode=PERSIST zeroes the header at commit), or lacks the magic. SQLite's
 * playback (pager_playback) reads segment after segment; within a segment it stops at the
 * first record whose page number is 0 (or the lock-byte page) or whose checksum fails, and it restores only pages
 * ≤ the original size; the database is then truncated to that size.
 *
 * quire never plays a journal back into a source it reads. A reader overlays the original
 * images in memory (so it presents the last committed state); the copier refuses or applies
 * it to the copy. Only a quire writer rolls a hot journal back, as SQLite would, and only when
 * no process holds a lock on the database (where locks can be seen; see pager note 5).
 */
import { get16, get32, put32 } from './bytes.js';
import { ioerr } from './errors.js';
import { decodePageSize } from './header.js';
import type { Storage } from './storage.js';
import { lockBytePageFor } from './source.js';

export const JOURNAL_MAGIC = new Uint8Array([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);
export const JOURNAL_HEADER_FIELDS = 28;
/** The sector size quire writes (SQLite's default for unix is 4096; 512 is the minimum). */
export const JOURNAL_SECTOR_SIZE = 4096;

export function hasJournalMagic(b: Uint8Array, off = 0): boolean {
  if (b.length < off + 8) return false;
  for (let i = 0; i < 8; i++) if (b[off + i] !== JOURNAL_MAGIC[i]) return false;
  return true;
}

export function journalChecksum(nonce: number, data: Uint8Array, pageSize: number): number {
  let ck = nonce;
  for (let i = pageSize - 200; i > 0; i -= 200) ck = (ck + data[i]) >>> 0;
  return ck >>> 0;
}

export interface JournalState {
  /** True when the journal could be rolled back (exists, non-empty, magic present). */
  active: boolean;
  /** The journal's size in bytes (0 when absent). */
  size: number;
}

/**
 * Looks at the journal without changing it: active when it holds a header with the magic.
 * (SQLite's hasHotJournal also needs the absence of a RESERVED lock: the pager asks the
 * storage's lock view, Storage.locks, and where that is unknown treats an active journal as
 * hot.)
 */
export async function journalState(storage: Storage): Promise<JournalState> {
  try {
    const size = await storage.size('journal');
    if (size === 0) return { active: false, size };
    const head = await storage.read('journal', 0, 8);
    return { active: hasJournalMagic(head), size };
  } catch (e) {
    throw ioerr(`reading ${storage.label}-journal`, e);
  }
}

export interface HotJournal {
  /** Database size in pages before the interrupted transaction. */
  originalPageCount: number;
  /** Page size the journal was written with. */
  pageSize: number;
  /** Original images of the pages the transaction touched (first record of each page wins). */
  pages: Map<number, Uint8Array>;
  /** A super-journal name, if the journal names one (multi-database transaction). */
  superJournal: string | null;
}

/** Reads at most this many bytes per storage read while parsing a journal. */
const READ_CHUNK = 1 << 20;

/**
 * Parses a journal into the original page images it would restore, as pager_playback would.
 * Returns null when the journal is inactive or its first header is unusable (SQLite then
 * treats it as no journal). `dbHead` is the start of the database file (at least 18 bytes for
 * its page size, else none): a journal whose page-size field is 0 (written before SQLite
 * 3.5.8) is read with the database's page size, as readJournalHdr does.
 */
export async function readHotJournal(storage: Storage, dbHead: Uint8Array): Promise<HotJournal | null> {
  let size: number;
  try {
    size = await storage.size('journal');
  } catch (e) {
    throw ioerr(`reading ${storage.label}-journal`, e);
  }
  const read = async (off: number, len: number): Promise<Uint8Array> => {
    try {
      return await storage.read('journal', off, len);
    } catch (e) {
      throw ioerr(`reading ${storage.label}-journal`, e);
    }
  };
  const pages = new Map<number, Uint8Array>();
  const walk = await walkJournal(read, size, dbHead, (pgno, nOrig, data) => {
    if (pgno <= nOrig && !pages.has(pgno)) pages.set(pgno, data.slice());
  });
  if (!walk) return null;
  const superJournal = await readSuperJournalName(read, size);
  return { originalPageCount: walk.originalPageCount, pageSize: walk.pageSize, pages, superJournal };
}

/**
 * The pages a journal names (at most its original page count) with the offset of each one's
 * first original image in the journal, read as pager_playback reads it, for a journal whose
 * transaction is over (read through a handle held on it). Null when
 * the journal is inactive or not regular: a record of a synced segment (nRec set) that fails
 * its checksum, or records that stop before the file's end in a segment read to its end
 * (nRec 0xffffffff): then which pages were written is not known.
 */
export async function journalPages(
  read: (off: number, len: number) => Promise<Uint8Array>,
  size: number,
  dbHead: Uint8Array,
): Promise<{ originalPageCount: number; pageSize: number; pages: Map<number, number> } | null> {
  const pages = new Map<number, number>();
  const walk = await walkJournal(read, size, dbHead, (pgno, nOrig, _data, at) => {
    if (pgno <= nOrig && !pages.has(pgno)) pages.set(pgno, at);
  });
  if (!walk || walk.irregular) return null;
  return { originalPageCount: walk.originalPageCount, pageSize: walk.pageSize, pages };
}

/**
 * Walks a journal's segments and valid records as pager_playback does (`visit` sees each
 * record); `irregular` when it stopped at an invalid record that a complete journal would not
 * hold (see journalPages). Null when the first header is unusable.
 */
async function walkJournal(
  read: (off: number, len: number) => Promise<Uint8Array>,
  size: number,
  dbHead: Uint8Array,
  visit: (pgno: number, originalPageCount: number, data: Uint8Array, dataAt: number) => void,
): Promise<{ originalPageCount: number; pageSize: number; irregular: boolean } | null> {
  if (size < JOURNAL_HEADER_FIELDS) return null;
  let originalPageCount = -1;
  let pageSize = 0;
  let off = 0;
  let first = true;
  let irregular = false;

  while (off + JOURNAL_HEADER_FIELDS <= size) {
    const hdr = await read(off, JOURNAL_HEADER_FIELDS);
    if (!hasJournalMagic(hdr)) break;
    let nRec = get32(hdr, 8);
    const toEnd = nRec === 0xffffffff;
    const nonce = get32(hdr, 12);
    const nOrig = get32(hdr, 16);
    let sector = get32(hdr, 20);
    const jps = get32(hdr, 24) || dbPageSize(dbHead);
    if (first) {
      // pager_playback: an invalid page or sector size in the first header ends playback.
      if (jps < 512 || jps > 65536 || (jps & (jps - 1)) !== 0) return null;
      if (sector < 32 || sector > 65536 || (sector & (sector - 1)) !== 0) return null;
      pageSize = jps;
      originalPageCount = nOrig;
      first = false;
    } else if (sector < 32 || sector > 65536 || (sector & (sector - 1)) !== 0) {
      break;
    }
    sector = Math.max(sector, 512);
    const recSize = 8 + pageSize;
    let recOff = off + sector;
    if (toEnd) nRec = Math.floor((size - recOff) / recSize);
    // A segment can't hold more records than the file has room for.
    if (nRec > Math.max(0, Math.floor((size - recOff) / recSize))) {
      irregular = true;
      nRec = Math.max(0, Math.floor((size - recOff) / recSize));
    }
    let stopped = false;
    let done = 0;
    while (done < nRec) {
      const batch = Math.max(1, Math.min(nRec - done, Math.floor(READ_CHUNK / recSize)));
      const buf = await read(recOff, batch * recSize);
      const got = Math.floor(buf.length / recSize);
      for (let k = 0; k < got; k++) {
        const r = k * recSize;
        const pgno = get32(buf, r);
        const data = buf.subarray(r + 4, r + 4 + pageSize);
        if (pgno === 0 || pgno === lockBytePageFor(pageSize) || journalChecksum(nonce, data, pageSize) !== get32(buf, r + 4 + pageSize)) {
          stopped = true;
          break;
        }
        visit(pgno, originalPageCount, data, recOff + 4);
        done++;
        recOff += recSize;
      }
      if (stopped || got < batch) break;
    }
    if (stopped || done < nRec) {
      irregular = true;
      break;
    }
    // Next segment starts at the next sector boundary after the records.
    const next = Math.ceil(recOff / sector) * sector;
    if (next <= off) break;
    off = next;
  }
  if (originalPageCount < 0) return null;
  return { originalPageCount, pageSize, irregular };
}

/** The page size in a database file's header (1 means 65536), or 0 when absent or invalid. */
function dbPageSize(head: Uint8Array): number {
  return head.length >= 18 ? decodePageSize(get16(head, 16)) : 0;
}

/**
 * The super-journal record at the end of a journal:
 *   4 bytes pgno = lock-byte page number, name, 4 bytes name length, 4 bytes checksum,
 *   8 bytes magic.
 */
async function readSuperJournalName(
  read: (off: number, len: number) => Promise<Uint8Array>,
  size: number,
): Promise<string | null> {
  if (size < 16) return null;
  const tail = await read(size - 16, 16);
  if (!hasJournalMagic(tail, 8)) return null;
  const len = get32(tail, 0);
  const sum = get32(tail, 4);
  if (len === 0 || len > 65536 || len + 16 > size) return null;
  const nameBytes = await read(size - 16 - len, len);
  let s = 0;
  for (const b of nameBytes) s = (s + b) >>> 0;
  if (s !== sum) return null;
  let end = nameBytes.indexOf(0);
  if (end < 0) end = nameBytes.length;
  return new TextDecoder().decode(nameBytes.subarray(0, end));
}

/** Encodes a journal header padded to `sectorSize`. */
export function encodeJournalHeader(nRec: number, nonce: number, originalPageCount: number, sectorSize: number, pageSize: number): Uint8Array {
  const b = new Uint8Array(sectorSize);
  b.set(JOURNAL_MAGIC, 0);
  put32(b, 8, nRec);
  put32(b, 12, nonce);
  put32(b, 16, originalPageCount);
  put32(b, 20, sectorSize);
  put32(b, 24, pageSize);
  return b;
}

/** Encodes page records (pgno, original image, checksum) into one buffer. */
export function encodeJournalRecords(nonce: number, pageSize: number, records: ReadonlyArray<readonly [number, Uint8Array]>): Uint8Array {
  const out = new Uint8Array(records.length * (8 + pageSize));
  for (let i = 0; i < records.length; i++) putJournalRecord(out, i * (8 + pageSize), nonce, pageSize, records[i][0], records[i][1]);
  return out;
}

/** Writes one page record (pgno, original image, checksum) into `out` at `off` (8 + pageSize bytes). */
export function putJournalRecord(out: Uint8Array, off: number, nonce: number, pageSize: number, pgno: number, data: Uint8Array): void {
  put32(out, off, pgno);
  out.set(data.length === pageSize ? data : data.subarray(0, pageSize), off + 4);
  put32(out, off + 4 + pageSize, journalChecksum(nonce, data, pageSize));
}
