/**
 * The 100-byte database header (the start of page 1).
 *
 *   OFFSET SIZE DESCRIPTION
 *      0    16  "SQLite format 3\0"
 *     16     2  page size in bytes; 1 means 65536. Power of two, 512..65536
 *     18     1  file format write version: 1 legacy (rollback journal), 2 WAL
 *     19     1  file format read version: 1 legacy, 2 WAL
 *     20     1  bytes of unused "reserved" space at the end of each page
 *     21     1  maximum embedded payload fraction, must be 64
 *     22     1  minimum embedded payload fraction, must be 32
 *     23     1  leaf payload fraction, must be 32
 *     24     4  file change counter
 *     28     4  size of the database in pages (valid only if offset 92 equals offset 24)
 *     32     4  page number of the first freelist trunk page
 *     36     4  total number of freelist pages
 *     40     4  schema cookie
 *     44     4  schema format number: 1, 2, 3 or 4
 *     48     4  default page cache size
 *     52     4  largest root b-tree page in auto-vacuum / incremental-vacuum mode, else 0
 *     56     4  text encoding: 1 UTF-8, 2 UTF-16le, 3 UTF-16be
 *     60     4  user version
 *     64     4  incremental-vacuum mode: non-zero for incremental
 *     68     4  application id
 *     72    20  reserved for expansion, zero
 *     92     4  version-valid-for: the change counter value when 96 was stored
 *     96     4  SQLITE_VERSION_NUMBER of the library that last wrote the file
 *
 * Validation follows SQLite's lockBtree()/sqlite3InitOne(): a bad magic, page size, read
 * version (> 2), usable size (< 480), or payload fractions other than 64/32/32 is NOTADB; a
 * write version > 2 makes the file read-only; a schema format whose low byte (all SQLite reads
 * of it) is > 4 is NOTADB ("unsupported file format"). The encoding field is read as SQLite
 * reads it (`& 3`, with 0 meaning UTF-8).
 */
import { get32, put16, put32 } from './bytes.js';
import { ErrorCode, QuireError } from './errors.js';

export const HEADER_SIZE = 100;
export const MAGIC = new Uint8Array([
  0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x20, 0x33, 0x00,
]);

/** Text encodings as stored at offset 56. */
export const Encoding = { UTF8: 1, UTF16LE: 2, UTF16BE: 3 } as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

/** The SQLite version number quire writes at offset 96 (the library it is faithful to). */
export const QUIRE_SQLITE_VERSION_NUMBER = 3045000;

export interface DbHeader {
  pageSize: number;
  writeVersion: number;
  readVersion: number;
  reservedBytes: number;
  changeCounter: number;
  /** The in-header page count as stored (may be stale; see `pageCountValid`). */
  headerPageCount: number;
  /** True when offset 92 equals offset 24 and the in-header page count is non-zero. */
  pageCountValid: boolean;
  freelistTrunk: number;
  freelistCount: number;
  schemaCookie: number;
  schemaFormat: number;
  defaultCacheSize: number;
  /** Largest root page in auto-vacuum mode, else 0. */
  autoVacuumTop: number;
  /** Encoding as SQLite uses it: 1, 2 or 3 (a stored 0 reads as 1). */
  encoding: Encoding;
  /** The raw stored encoding field. */
  rawEncoding: number;
  userVersion: number;
  incrementalVacuum: number;
  applicationId: number;
  versionValidFor: number;
  sqliteVersion: number;
}

/** usable size = page size - reserved bytes. */
export function usableSize(h: Pick<DbHeader, 'pageSize' | 'reservedBytes'>): number {
  return h.pageSize - h.reservedBytes;
}

function notadb(label: string, why: string): QuireError {
  return new QuireError(ErrorCode.NOTADB, `${label}: file is not a database (${why})`);
}

/** Decodes the page-size field (1 means 65536); returns 0 if invalid. */
export function decodePageSize(raw: number): number {
  const ps = raw === 1 ? 65536 : raw;
  if (ps < 512 || ps > 65536 || (ps & (ps - 1)) !== 0) return 0;
  return ps;
}

/**
 * Parses and validates the header. `bytes` must hold at least 100 bytes (a shorter file is
 * not a database). `label` names the file in messages.
 */
export function parseHeader(bytes: Uint8Array, label = 'database'): DbHeader {
  if (bytes.length < HEADER_SIZE) throw notadb(label, `only ${bytes.length} bytes, the header needs ${HEADER_SIZE}`);
  for (let i = 0; i < 16; i++) if (bytes[i] !== MAGIC[i]) throw notadb(label, 'bad magic');
  const rawPs = (bytes[16] << 8) | bytes[17];
  const pageSize = decodePageSize(rawPs);
  if (pageSize === 0) throw notadb(label, `invalid page size ${rawPs}`);
  const writeVersion = bytes[18];
  const readVersion = bytes[19];
  if (readVersion > 2) throw notadb(label, `unsupported read version ${readVersion}`);
  const reservedBytes = bytes[20];
  if (pageSize - reservedBytes < 480) throw notadb(label, `usable size ${pageSize - reservedBytes} below 480`);
  if (bytes[21] !== 64 || bytes[22] !== 32 || bytes[23] !== 32) {
    throw notadb(label, `payload fractions ${bytes[21]}/${bytes[22]}/${bytes[23]}, expected 64/32/32`);
  }
  const changeCounter = get32(bytes, 24);
  const headerPageCount = get32(bytes, 28);
  const versionValidFor = get32(bytes, 92);
  const schemaFormat = get32(bytes, 44);
  // SQLite keeps only the low byte of this field (sqlite3InitOne: file_format = (u8)meta[1]).
  if ((schemaFormat & 0xff) > 4) throw notadb(label, `unsupported file format ${schemaFormat}`);
  const rawEncoding = get32(bytes, 56);
  const enc = rawEncoding & 3;
  return {
    pageSize,
    writeVersion,
    readVersion,
    reservedBytes,
    changeCounter,
    headerPageCount,
    pageCountValid: versionValidFor === changeCounter && headerPageCount !== 0,
    freelistTrunk: get32(bytes, 32),
    freelistCount: get32(bytes, 36),
    schemaCookie: get32(bytes, 40),
    schemaFormat,
    defaultCacheSize: get32(bytes, 48),
    autoVacuumTop: get32(bytes, 52),
    encoding: (enc === 0 ? 1 : enc) as Encoding,
    rawEncoding,
    userVersion: get32(bytes, 60),
    incrementalVacuum: get32(bytes, 64),
    applicationId: get32(bytes, 68),
    versionValidFor,
    sqliteVersion: get32(bytes, 96),
  };
}

/**
 * The page count to trust: the in-header count when valid (SQLite >= 3.7.0 keeps it), else the
 * file size in pages (as SQLite does for files written by legacy versions).
 */
export function effectivePageCount(h: DbHeader, fileSize: number): number {
  if (h.pageCountValid) return h.headerPageCount;
  return Math.floor(fileSize / h.pageSize);
}

/** Writes every field of `h` into the first 100 bytes of `out` (page 1). */
export function encodeHeader(h: DbHeader, out: Uint8Array): void {
  out.set(MAGIC, 0);
  put16(out, 16, h.pageSize === 65536 ? 1 : h.pageSize);
  out[18] = h.writeVersion;
  out[19] = h.readVersion;
  out[20] = h.reservedBytes;
  out[21] = 64;
  out[22] = 32;
  out[23] = 32;
  put32(out, 24, h.changeCounter);
  put32(out, 28, h.headerPageCount);
  put32(out, 32, h.freelistTrunk);
  put32(out, 36, h.freelistCount);
  put32(out, 40, h.schemaCookie);
  put32(out, 44, h.schemaFormat);
  put32(out, 48, h.defaultCacheSize);
  put32(out, 52, h.autoVacuumTop);
  put32(out, 56, h.rawEncoding || h.encoding);
  put32(out, 60, h.userVersion);
  put32(out, 64, h.incrementalVacuum);
  put32(out, 68, h.applicationId);
  out.fill(0, 72, 92);
  put32(out, 92, h.versionValidFor);
  put32(out, 96, h.sqliteVersion);
}

/** A header for a new, empty database (as SQLite writes on the first commit). */
export function newHeader(options: {
  pageSize?: number;
  reservedBytes?: number;
  encoding?: Encoding;
  autoVacuum?: 'none' | 'full' | 'incremental';
  wal?: boolean;
} = {}): DbHeader {
  const pageSize = options.pageSize ?? 4096;
  if (decodePageSize(pageSize) === 0) {
    throw new QuireError(ErrorCode.MISUSE, `page size ${pageSize} is not a power of two between 512 and 65536`);
  }
  const reservedBytes = options.reservedBytes ?? 0;
  if (reservedBytes < 0 || reservedBytes > 255 || pageSize - reservedBytes < 480) {
    throw new QuireError(ErrorCode.MISUSE, `reserved bytes ${reservedBytes} leave too little usable space`);
  }
  const av = options.autoVacuum ?? 'none';
  const v = options.wal ? 2 : 1;
  return {
    pageSize,
    writeVersion: v,
    readVersion: v,
    reservedBytes,
    changeCounter: 0,
    headerPageCount: 1,
    pageCountValid: true,
    freelistTrunk: 0,
    freelistCount: 0,
    schemaCookie: 0,
    schemaFormat: 4,
    defaultCacheSize: 0,
    autoVacuumTop: av === 'none' ? 0 : 1,
    encoding: options.encoding ?? Encoding.UTF8,
    rawEncoding: options.encoding ?? Encoding.UTF8,
    userVersion: 0,
    incrementalVacuum: av === 'incremental' ? 1 : 0,
    applicationId: 0,
    versionValidFor: 0,
    sqliteVersion: QUIRE_SQLITE_VERSION_NUMBER,
  };
}
