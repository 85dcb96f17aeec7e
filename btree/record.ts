/**
 * The record format (like sqlite3VdbeSerialGet / OP_MakeRecord in vdbeaux.c, vdbe.c).
 *
 * A record is a header followed by a body:
 *
 *   OFFSET   SIZE    DESCRIPTION
 *   0        1..9    header size H as a varint, counting this varint itself
 *   ...      1..9    one serial type varint per column, until offset H
 *   H        ...     the column values back to back, each as its serial type says
 *
 *   SERIAL TYPE   BODY BYTES   VALUE
 *   0             0            NULL
 *   1,2,3,4       1,2,3,4      big-endian two's complement integer
 *   5             6            big-endian two's complement integer (48 bits)
 *   6             8            big-endian two's complement integer (64 bits)
 *   7             8            big-endian IEEE 754 double (NaN reads as NULL, as SQLite does)
 *   8             0            the integer 0 (schema format 4)
 *   9             0            the integer 1 (schema format 4)
 *   10,11         0            reserved: read as NULL, as sqlite3VdbeSerialGet does
 *   N>=12 even    (N-12)/2     BLOB
 *   N>=13 odd     (N-13)/2     TEXT in the database encoding (UTF-8, UTF-16le, UTF-16be)
 *
 * Decoding is bounds-checked against the payload: a header size beyond the payload, a serial
 * type varint running past the header, a body running past the payload, or (when every column
 * is decoded) a body that does not end exactly at the payload end, is CORRUPT naming the page
 * the record came from. Integers are numbers when safe, else bigints; BLOBs are fresh copies;
 * TEXT is decoded non-fatally (invalid sequences become U+FFFD) and a leading BOM is kept, as
 * SQLite returns it; ill-formed UTF-16 (lone surrogates, an odd byte) reads as SQLite reads
 * it. Short pure-ASCII UTF-8 strings skip TextDecoder (a call into the runtime costs more
 * than building a few characters).
 *
 * Encoding ({@link encodeRecord}) picks the smallest serial type as sqlite3VdbeSerialType does:
 * integers 0 and 1 become types 8/9 when `boolTypes` (schema format >= 4, the default), other
 * integers the narrowest of 1..6. A JS number is an INTEGER when it is a safe integer other
 * than -0, else a REAL (type 7): so 1.5, 2^60 (as a number), Infinity and -0 are REALs, and
 * `asReal[i]` forces column i to REAL. NaN is written as NULL, as SQLite stores it. bigint
 * must lie in int64 (else RANGE). Strings are encoded in the database encoding (lone UTF-16
 * surrogates become U+FFFD, as TextEncoder does for UTF-8 and SQLite's conversions do).
 */
import { ErrorCode, QuireError, corrupt } from '../pager/errors.js';
import type { Encoding } from '../pager/header.js';
import type { Pgno } from '../pager/source.js';
import type { SqlValue } from './value.js';
import { readVarint, varintLength, writeVarint, type Varint } from './varint.js';

// ---- text ------------------------------------------------------------------------------------

let utf8Dec: TextDecoder | undefined;
let utf16leDec: TextDecoder | undefined;
let utf16beDec: TextDecoder | undefined;
let utf8Enc: TextEncoder | undefined;

/** Longest pure-ASCII string built by hand instead of through TextDecoder (V8 keeps
 * concatenations under 13 characters flat; measured faster than TextDecoder up to ~12). */
const ASCII_FAST_MAX = 12;

/** Decodes `buf[start, end)` as TEXT in `encoding` (1 UTF-8, 2 UTF-16le, 3 UTF-16be). */
export function decodeText(buf: Uint8Array, start: number, end: number, encoding: Encoding): string {
  if (encoding === 1) {
    const n = end - start;
    if (n <= ASCII_FAST_MAX) {
      let s = '';
      let i = start;
      for (; i < end; i++) {
        const c = buf[i];
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === end) return s;
    }
    utf8Dec ??= new TextDecoder('utf-8', { ignoreBOM: true });
    return utf8Dec.decode(buf.subarray(start, end));
  }
  // An odd trailing byte is not part of the text (sqlite3VdbeMemTranslate rounds down).
  end = start + ((end - start) & ~1);
  let s: string;
  if (encoding === 2) {
    utf16leDec ??= new TextDecoder('utf-16le', { ignoreBOM: true });
    s = utf16leDec.decode(buf.subarray(start, end));
  } else {
    utf16beDec ??= new TextDecoder('utf-16be', { ignoreBOM: true });
    s = utf16beDec.decode(buf.subarray(start, end));
  }
  // Well-formed text decodes alike; ill-formed surrogates need SQLite's reading.
  return s.indexOf('\uFFFD') < 0 ? s : decodeUtf16AsSqlite(buf, start, end, encoding === 2);
}

/**
 * UTF-16 as SQLite reads it into UTF-8 (READ_UTF16LE/BE, WRITE_UTF8), then as a JS string:
 * a surrogate followed by any code unit is combined with it into one supplementary code point
 * (U+10000..U+10FFFF, whatever the second unit is); a surrogate ending the text becomes an
 * invalid 3-byte UTF-8 sequence, which reads back as three U+FFFD.
 */
function decodeUtf16AsSqlite(buf: Uint8Array, start: number, end: number, le: boolean): string {
  const parts: string[] = [];
  for (let i = start; i < end; i += 2) {
    const c = le ? buf[i] | (buf[i + 1] << 8) : (buf[i] << 8) | buf[i + 1];
    if (c < 0xd800 || c >= 0xe000) {
      parts.push(String.fromCharCode(c));
    } else if (i + 2 < end) {
      i += 2;
      const c2 = le ? buf[i] | (buf[i + 1] << 8) : (buf[i] << 8) | buf[i + 1];
      parts.push(String.fromCodePoint((c2 & 0x3ff) + ((c & 0x3f) << 10) + (((c & 0x3c0) + 0x40) << 10)));
    } else {
      parts.push('\uFFFD\uFFFD\uFFFD');
    }
  }
  return parts.join('');
}

/** Scratch space for encoding long UTF-8 text (reused across records; grows as needed). */
let scratch = new Uint8Array(4096);

/**
 * Bytes of `s` in UTF-8 as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes).
 * Equal to s.length exactly when `s` is ASCII.
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      len += 2; // 4 bytes for 2 code units
      i++;
    } else len += 2; // 3 bytes (including U+FFFD for a lone surrogate)
  }
  return len;
}

/** Encodes `s` in the database encoding. */
export function encodeText(s: string, encoding: Encoding): Uint8Array {
  if (encoding === 1) {
    utf8Enc ??= new TextEncoder();
    return utf8Enc.encode(s);
  }
  const n = s.length;
  const out = new Uint8Array(n * 2);
  const le = encoding === 2;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      // keep well-formed pairs; a lone surrogate becomes U+FFFD (as in the UTF-8 path)
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        out[2 * i] = le ? c & 0xff : c >>> 8;
        out[2 * i + 1] = le ? c >>> 8 : c & 0xff;
        i++;
        c = d;
      } else {
        c = 0xfffd;
      }
    }
    out[2 * i] = le ? c & 0xff : c >>> 8;
    out[2 * i + 1] = le ? c >>> 8 : c & 0xff;
  }
  return out;
}

// ---- doubles ---------------------------------------------------------------------------------

const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The IEEE 754 double (serial type 7) at `b[o]`. */
export function getDouble(b: Uint8Array, o: number): number {
  if (littleEndian) {
    f64b[0] = b[o + 7];
    f64b[1] = b[o + 6];
    f64b[2] = b[o + 5];
    f64b[3] = b[o + 4];
    f64b[4] = b[o + 3];
    f64b[5] = b[o + 2];
    f64b[6] = b[o + 1];
    f64b[7] = b[o];
  } else {
    for (let i = 0; i < 8; i++) f64b[i] = b[o + i];
  }
  return f64[0];
}

// ---- serial types ----------------------------------------------------------------------------

const SIZES = [0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0];

/** Body bytes of serial type `t` (0 for the reserved types 10 and 11, which read as NULL). */
export function serialTypeSize(t: number): number {
  return t < 12 ? SIZES[t] : Math.floor((t - 12) / 2);
}

/**
 * The INTEGER of serial type `t` (1..6: big-endian two's complement, 1 to 8 bytes) at
 * `buf[o]`: a number when safe, else a bigint. The caller checks the bounds.
 */
export function serialInt(buf: Uint8Array, o: number, t: number): number | bigint {
  switch (t) {
    case 1:
      return (buf[o] << 24) >> 24;
    case 2:
      return ((buf[o] << 24) >> 16) | buf[o + 1];
    case 3:
      return ((buf[o] << 24) >> 8) | (buf[o + 1] << 8) | buf[o + 2];
    case 4:
      return (buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3];
    case 5: {
      const hi = ((buf[o] << 24) >> 16) | buf[o + 1];
      return hi * 4294967296 + ((buf[o + 2] << 24) >>> 0) + ((buf[o + 3] << 16) | (buf[o + 4] << 8) | buf[o + 5]);
    }
    default: {
      const hi = (buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3];
      const lo = ((buf[o + 4] << 24) >>> 0) + ((buf[o + 5] << 16) | (buf[o + 6] << 8) | buf[o + 7]);
      const v = hi * 4294967296 + lo;
      return Number.isSafeInteger(v) ? v : (BigInt(hi) << 32n) | BigInt(lo);
    }
  }
}

// ---- decoding --------------------------------------------------------------------------------

const vslot: Varint = { value: 0 };

function badRecord(pgno: Pgno, why: string): QuireError {
  return corrupt(pgno, `malformed record: ${why}`);
}

/**
 * Decodes up to `maxCols` columns of the record in `buf[start, end)` and appends them to `out`.
 * BLOBs are fresh copies, or with `blobViews` views into `buf` (for callers that own `buf`).
 * Returns the number of columns appended. When the whole header is consumed (fewer than
 * `maxCols` columns), also checks that the body ends exactly at `end`.
 */
export function decodeRecordInto(
  buf: Uint8Array,
  start: number,
  end: number,
  encoding: Encoding,
  pgno: Pgno,
  out: SqlValue[],
  maxCols = Infinity,
  blobViews = false,
): number {
  if (start >= end) throw badRecord(pgno, 'empty payload');
  let hdrSize = buf[start];
  let hp = start + 1;
  if (hdrSize >= 0x80) {
    const n = readVarint(buf, start, end, vslot);
    if (n === 0) throw badRecord(pgno, 'header size varint runs past the payload');
    const v = vslot.value;
    if (typeof v !== 'number' || v < 0) throw badRecord(pgno, 'impossible header size');
    hdrSize = v;
    hp = start + n;
  }
  const hdrEnd = start + hdrSize;
  if (hdrEnd > end || hdrEnd < hp) throw badRecord(pgno, `header size ${hdrSize} outside a ${end - start}-byte payload`);
  let bp = hdrEnd;
  let count = 0;
  while (hp < hdrEnd && count < maxCols) {
    let t = buf[hp];
    if (t < 0x80) {
      hp++;
    } else {
      const n = readVarint(buf, hp, hdrEnd, vslot);
      if (n === 0) throw badRecord(pgno, 'serial type varint runs past the header');
      const v = vslot.value;
      if (typeof v !== 'number' || v < 0) throw badRecord(pgno, 'impossible serial type');
      t = v;
      hp += n;
    }
    let value: SqlValue;
    switch (t) {
      case 0:
        value = null;
        break;
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
      case 6: {
        const len = SIZES[t];
        if (bp + len > end) throw badRecord(pgno, 'integer past the payload end');
        value = serialInt(buf, bp, t);
        bp += len;
        break;
      }
      case 7: {
        if (bp + 8 > end) throw badRecord(pgno, 'real past the payload end');
        const d = getDouble(buf, bp);
        value = d !== d ? null : d;
        bp += 8;
        break;
      }
      case 8:
        value = 0;
        break;
      case 9:
        value = 1;
        break;
      case 10:
      case 11:
        value = null; // reserved: SQLite reads them as NULL with no body bytes
        break;
      default: {
        const len = (t - 12) >>> 1;
        if (t > 0xffffffff || bp + len > end) throw badRecord(pgno, `${t & 1 ? 'text' : 'blob'} of ${len} bytes past the payload end`);
        value = t & 1 ? decodeText(buf, bp, bp + len, encoding) : blobViews ? buf.subarray(bp, bp + len) : buf.slice(bp, bp + len);
        bp += len;
      }
    }
    out.push(value);
    count++;
  }
  if (hp >= hdrEnd && bp !== end) {
    throw badRecord(pgno, `body ends at byte ${bp - start} of a ${end - start}-byte payload`);
  }
  return count;
}

/** Decodes every column of a record. `pgno` is the page named in CORRUPT errors. */
export function decodeRecord(payload: Uint8Array, encoding: Encoding, pgno: Pgno): SqlValue[] {
  const out: SqlValue[] = [];
  decodeRecordInto(payload, 0, payload.length, encoding, pgno, out);
  return out;
}

/**
 * Decodes only the first `n` columns (fewer if the record has fewer). `payload` may be a
 * prefix of the record as long as it covers those columns (see {@link recordPrefixLength}).
 */
export function decodeRecordPrefix(payload: Uint8Array, n: number, encoding: Encoding, pgno: Pgno): SqlValue[] {
  const out: SqlValue[] = [];
  decodeRecordInto(payload, 0, payload.length, encoding, pgno, out, n);
  return out;
}

/**
 * Bytes of the record needed to decode its first `n` columns, reading the header from the
 * first `avail` bytes of `buf` at `start` (e.g. a cell's local payload) against a record of
 * `total` bytes. Returns -1 when the header bytes needed lie beyond `avail` (read more of the
 * payload and ask again). CORRUPT when the header or the columns overrun `total`.
 */
export function recordPrefixLength(
  buf: Uint8Array,
  start: number,
  avail: number,
  total: number,
  n: number,
  pgno: Pgno,
): number {
  const lim = start + Math.min(avail, total);
  const hn = readVarint(buf, start, lim, vslot);
  if (hn === 0) {
    if (avail < total) return -1;
    throw badRecord(pgno, 'header size varint runs past the payload');
  }
  const hdrSize = vslot.value;
  if (typeof hdrSize !== 'number' || hdrSize < hn || hdrSize > total) {
    throw badRecord(pgno, `header size ${hdrSize} outside a ${total}-byte payload`);
  }
  let hp = start + hn;
  const hdrEnd = start + hdrSize;
  let body = hdrSize;
  for (let i = 0; i < n && hp < hdrEnd; i++) {
    const k = readVarint(buf, hp, Math.min(hdrEnd, lim), vslot);
    if (k === 0) {
      if (lim < hdrEnd) return -1;
      throw badRecord(pgno, 'serial type varint runs past the header');
    }
    const t = vslot.value;
    if (typeof t !== 'number' || t < 0) throw badRecord(pgno, 'impossible serial type');
    hp += k;
    body += serialTypeSize(t);
    if (body > total) throw badRecord(pgno, 'column past the payload end');
  }
  return body;
}

// ---- encoding --------------------------------------------------------------------------------

/** Options of {@link encodeRecord}. */
export interface EncodeOptions {
  /**
   * Use serial types 8 and 9 for the integers 0 and 1 (schema format 4). Default true; pass
   * false for databases whose schema format (header offset 44) is below 4.
   */
  boolTypes?: boolean;
  /**
   * `asReal[i]` true stores a number in column i as REAL (serial type 7) even when integral.
   * Default: none (integral safe numbers are INTEGERs).
   */
  asReal?: readonly boolean[];
  /**
   * Return a view into a buffer that the next `transient` call overwrites (no allocation):
   * for a caller that copies the record before it encodes another one.
   */
  transient?: boolean;
}

/** Serial type SQLite uses for an integer `v` (sqlite3VdbeSerialType). */
function intSerialType(v: number, boolTypes: boolean): number {
  const u = v < 0 ? -v - 1 : v;
  if (u <= 127) return boolTypes && (v === 0 || v === 1) ? 8 + v : 1;
  if (u <= 32767) return 2;
  if (u <= 8388607) return 3;
  if (u <= 2147483647) return 4;
  if (u <= 140737488355327) return 5;
  return 6;
}

/**
 * Records are carved from 256 KiB blocks: a view on a shared block is much cheaper to make
 * than a small array with its own backing store, and encoding is on the bulk-insert path. A
 * record kept alive keeps its block alive (records are short-lived: copied into pages).
 */
let recordSlab = new ArrayBuffer(0);
let recordSlabOff = 0;

let transientBuf = new Uint8Array(4096);

function allocRecord(n: number): Uint8Array {
  if (n > 4096) return new Uint8Array(n);
  if (recordSlabOff + n > recordSlab.byteLength) {
    recordSlab = new ArrayBuffer(64 * 1024);
    recordSlabOff = 0;
  }
  const r = new Uint8Array(recordSlab, recordSlabOff, n);
  recordSlabOff += n;
  return r;
}

/** Per-call scratch of encodeRecord (it is synchronous and not re-entrant). */
const encTypes: number[] = [];
const encTextAt: number[] = [];
const encTexts: (Uint8Array | undefined)[] = [];

/** Writes the serial-type-`t` (1..6) two's-complement big-endian integer `v` at `bp`. */
function putInt(out: Uint8Array, bp: number, t: number, v: number | bigint): void {
  if (typeof v === 'number' && t <= 4) {
    const size = t === 4 ? 4 : t; // types 1..4 are 1..4 bytes
    for (let j = size - 1; j >= 0; j--) {
      out[bp + j] = v & 0xff;
      v >>= 8;
    }
    return;
  }
  const size = SIZES[t];
  let hi: number;
  let lo: number;
  if (typeof v === 'number') {
    hi = Math.floor(v / 4294967296);
    lo = v - hi * 4294967296;
  } else {
    const u = BigInt.asUintN(64, v);
    hi = Number(u >> 32n);
    lo = Number(u & 0xffffffffn);
  }
  for (let j = size - 1; j >= 0; j--) {
    out[bp + j] = lo & 0xff;
    lo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
    hi >>>= 8;
  }
}

/**
 * Encodes `values` as a record in `encoding`. See the module comment for the storage-class
 * rules (NaN → NULL, non-safe or non-integral numbers and -0 → REAL).
 */
export function encodeRecord(values: readonly SqlValue[], encoding: Encoding, options: EncodeOptions = {}): Uint8Array {
  const boolTypes = options.boolTypes ?? true;
  const asReal = options.asReal;
  const n = values.length;
  const types = encTypes;
  const textAt = encTextAt;
  const texts = encTexts;
  let hdr = 0;
  let body = 0;
  let scratchOff = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    let t: number;
    if (v === null) {
      t = 0;
    } else if (typeof v === 'number') {
      if (v !== v) t = 0;
      else if (Number.isSafeInteger(v) && !(v === 0 && 1 / v < 0) && !(asReal !== undefined && asReal[i])) t = intSerialType(v, boolTypes);
      else t = 7;
    } else if (typeof v === 'bigint') {
      if (v < -9223372036854775808n || v > 9223372036854775807n) {
        throw new QuireError(ErrorCode.RANGE, `integer ${v} does not fit in 64 bits`);
      }
      if (asReal !== undefined && asReal[i]) t = 7;
      else if (v >= -9007199254740991n && v <= 9007199254740991n) t = intSerialType(Number(v), boolTypes);
      else t = 6;
    } else if (typeof v === 'string') {
      if (encoding === 1) {
        if (v.length <= 32) {
          // Short text is written straight into the record below; only its length is needed.
          t = utf8Length(v) * 2 + 13;
        } else {
          // Longer text: encoded natively into a scratch area, copied into the record below.
          const need = scratchOff + v.length * 3;
          if (need > scratch.length) {
            const bigger = new Uint8Array(Math.max(need, scratch.length * 2));
            bigger.set(scratch.subarray(0, scratchOff));
            scratch = bigger;
          }
          utf8Enc ??= new TextEncoder();
          const written = utf8Enc.encodeInto(v, scratch.subarray(scratchOff)).written;
          textAt[i] = scratchOff;
          scratchOff += written;
          t = written * 2 + 13;
        }
      } else {
        const bytes = encodeText(v, encoding);
        texts[i] = bytes;
        t = bytes.length * 2 + 13;
      }
    } else if (v instanceof Uint8Array) {
      t = v.length * 2 + 12;
    } else {
      throw new QuireError(ErrorCode.MISUSE, `column ${i}: ${typeof v} is not a SQL value`);
    }
    types[i] = t;
    hdr += t < 0x80 ? 1 : varintLength(t);
    body += t < 12 ? SIZES[t] : (t - 12) >>> 1;
  }
  // The header size counts its own varint (as OP_MakeRecord computes nHdr).
  let hdrSize: number;
  if (hdr <= 126) {
    hdrSize = hdr + 1;
  } else {
    const k = varintLength(hdr);
    hdrSize = hdr + k;
    if (k < varintLength(hdrSize)) hdrSize++;
  }
  let out: Uint8Array;
  if (options.transient) {
    if (transientBuf.length < hdrSize + body) transientBuf = new Uint8Array(Math.max(hdrSize + body, transientBuf.length * 2));
    out = transientBuf.subarray(0, hdrSize + body);
  } else out = allocRecord(hdrSize + body);
  let hp = hdrSize < 0x80 ? ((out[0] = hdrSize), 1) : writeVarint(out, 0, hdrSize);
  let bp = hdrSize;
  for (let i = 0; i < n; i++) {
    const t = types[i];
    if (t < 0x80) out[hp++] = t;
    else hp += writeVarint(out, hp, t);
    if (t === 0 || t === 8 || t === 9) continue;
    const v = values[i];
    if (t <= 6) {
      putInt(out, bp, t, v as number | bigint);
      bp += SIZES[t];
    } else if (t === 7) {
      f64[0] = typeof v === 'bigint' ? Number(v) : (v as number);
      if (littleEndian) {
        out[bp] = f64b[7];
        out[bp + 1] = f64b[6];
        out[bp + 2] = f64b[5];
        out[bp + 3] = f64b[4];
        out[bp + 4] = f64b[3];
        out[bp + 5] = f64b[2];
        out[bp + 6] = f64b[1];
        out[bp + 7] = f64b[0];
      } else out.set(f64b, bp);
      bp += 8;
    } else if (t & 1) {
      const len = (t - 13) >>> 1;
      if (encoding === 1) {
        const str = v as string;
        if (str.length > 32) out.set(scratch.subarray(textAt[i], textAt[i] + len), bp);
        else if (len === str.length) for (let j = 0; j < len; j++) out[bp + j] = str.charCodeAt(j);
        else {
          utf8Enc ??= new TextEncoder();
          utf8Enc.encodeInto(str, out.subarray(bp, bp + len));
        }
      } else {
        out.set(texts[i] as Uint8Array, bp);
        texts[i] = undefined;
      }
      bp += len;
    } else {
      out.set(v as Uint8Array, bp);
      bp += (t - 12) >>> 1;
    }
  }
  return out;
}
