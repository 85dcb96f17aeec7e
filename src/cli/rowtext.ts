/**
 * Export lines straight from record bytes: the fast path of `quire export` (jsonl, --objects
 * and csv; not --typed) for rowid tables whose records hold every column in declaration order
 * (no VIRTUAL generated columns), which is nearly every table.
 *
 * The general path decodes each record to JS values (src/read.ts RowIterator) and formats
 * them as strings (values.ts jsonValue, csvField). Here the record's header is parsed in place
 * (btree/rawrecord.ts) and each field goes from the page bytes to the output bytes
 * (output.ts ChunkedOutput) with nothing allocated per row, writing exactly what the general
 * path writes:
 *
 *   FIELD                          JSONL                       CSV
 *   NULL, NaN REAL                 null                        (empty)
 *   INTEGER (safe)                 digits                      digits
 *   REAL, integral and safe        digits (as String(x))       digits
 *   other REAL                     String(x)                   String(x)
 *   UTF-8 TEXT, valid              "bytes" with \" \\ and      bytes, quoted ("" for ") when
 *                                  control characters escaped  they hold " , CR or LF; ''
 *                                  as JSON.stringify does       as ""
 *   BLOB                           {"blob":"hex"}              hex ('' as "")
 *
 * Everything else takes the general formatter on the decoded value, so it cannot differ:
 * INTEGERs beyond 2^53, ±Infinity, TEXT that is not valid UTF-8 (the decoder's U+FFFD must
 * appear) or in a UTF-16 database, a rowid beyond 2^53, a short row's DEFAULTs. A REAL-affinity
 * column's integer reads as a REAL, as read.ts realify does. A malformed record throws the
 * CORRUPT that decodeRecordInto throws.
 */
import { corrupt, ErrorCode, QuireError } from '../../pager/errors.js';
import type { Encoding } from '../../pager/header.js';
import type { Pgno } from '../../pager/source.js';
import { RawRecord } from '../../btree/rawrecord.js';
import { decodeRecordInto, decodeText, getDouble, serialInt } from '../../btree/record.js';
import type { SqlValue } from '../../btree/value.js';
import { fallbackValue, type TableInfo } from '../catalog.js';
import type { ChunkedOutput } from './output.js';
import { csvField, jsonValue } from './values.js';

/** '0'..'9', 'a'..'f' */
const HEX = new TextEncoder().encode('0123456789abcdef');

/** Each byte's two hex digits as one 16-bit store (in the platform's byte order). */
const HEX_PAIR = new Uint16Array(256);
{
  const b = new Uint8Array(HEX_PAIR.buffer);
  for (let x = 0; x < 256; x++) {
    b[2 * x] = HEX[x >> 4];
    b[2 * x + 1] = HEX[x & 15];
  }
}

/**
 * Byte classes for JSON strings: 0 copied as is, 1 escaped (", \ and C0 controls), 2 the
 * start of a multi-byte sequence (validated, then copied).
 */
const JSON_CLASS = new Uint8Array(256);
/** For CSV fields: 0 copied, 1 forces quoting (", comma, CR, LF), 2 multi-byte. */
const CSV_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  JSON_CLASS[c] = c >= 0x80 ? 2 : c < 0x20 || c === 0x22 || c === 0x5c ? 1 : 0;
  CSV_CLASS[c] = c >= 0x80 ? 2 : c === 0x22 || c === 0x2c || c === 0x0d || c === 0x0a ? 1 : 0;
}
/** JSON.stringify's short escapes: \b \t \n \f \r (others are \u00xx). */
const SHORT_ESCAPE: Record<number, number> = { 8: 0x62, 9: 0x74, 10: 0x6e, 12: 0x66, 13: 0x72, 0x22: 0x22, 0x5c: 0x5c };
const ESCAPE_CHAR = new Uint8Array(128);
for (const [c, e] of Object.entries(SHORT_ESCAPE)) ESCAPE_CHAR[Number(c)] = e;

/**
 * True when `b[i, end)` is well-formed UTF-8 (what TextDecoder decodes without U+FFFD): no
 * overlong forms, surrogates or code points past U+10FFFF.
 */
function validUtf8(b: Uint8Array, i: number, end: number): boolean {
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return false;
    if (i + n >= end) return false;
    const c1 = b[i + 1];
    if (c1 < lo || c1 > hi) return false;
    for (let k = 2; k <= n; k++) if ((b[i + k] & 0xc0) !== 0x80) return false;
    i += n + 1;
  }
  return true;
}

const EMPTY = new Uint8Array(0);

/** A row held until its batch is written (RowText.add, drain). */
interface HeldRow {
  rowid: number | bigint;
  buf: Uint8Array;
  start: number;
  end: number;
  pgno: Pgno;
}

/** A REAL written as String(x) writes it (not NaN, ±Infinity or a safe integer). */
function stringified(d: number): boolean {
  return d === d && d !== Infinity && d !== -Infinity && !Number.isSafeInteger(d);
}

/** A table the fast path can write: a rowid table with every column stored in order. */
export function rowTextApplies(t: TableInfo): boolean {
  return !t.withoutRowid && t.storedCount === t.columns.length && t.columns.every((c, i) => c.slot === i);
}

/** One row's line from its record (see the module comment). */
export class RowText {
  private readonly csv: boolean;
  private readonly encoding: Encoding;
  /** Per row position (0 the rowid, j the column j - 1): bytes before the value, or null to leave it out. */
  private readonly prefix: (Uint8Array | null)[];
  private readonly end: Uint8Array;
  /** Position of the INTEGER PRIMARY KEY column (it shows the rowid), or -1. */
  private readonly alias: number;
  /** Per position: 1 for a REAL-affinity column (an integer there reads as a REAL). */
  private readonly real: Uint8Array;
  /** Per position: a short row's value there, formatted. */
  private readonly fallback: Uint8Array[];
  private readonly rec = new RawRecord();
  private readonly scratch: SqlValue[] = [];
  /** A 16-bit view of the output buffer `wideOf` (for hex). */
  private wideOf: Uint8Array | null = null;
  private wide: Uint16Array<ArrayBufferLike> = new Uint16Array(0);
  /** Rows added and not yet drained: the first nHeld of held (reused objects). */
  private readonly held: HeldRow[] = [];
  private nHeld = 0;
  /** The held rows' REALs that String(x) formats, then their text as JSON.stringify writes it. */
  private readonly reals: number[] = [];
  private realText = '';
  /** Where the next REAL starts in realText. */
  private realPos = 0;

  /** `prefix` and `end` as export.ts lineShape gives them, for `t` (see rowTextApplies). */
  constructor(t: TableInfo, csv: boolean, prefix: readonly (string | null)[], end: string, encoding: Encoding) {
    const enc = new TextEncoder();
    this.csv = csv;
    this.encoding = encoding;
    this.prefix = prefix.map((p) => (p === null ? null : enc.encode(p)));
    this.end = enc.encode(end);
    this.alias = t.rowidAlias >= 0 ? t.rowidAlias + 1 : -1;
    this.real = new Uint8Array(prefix.length);
    this.fallback = [new Uint8Array(0)];
    t.columns.forEach((c, i) => {
      const real = c.def.affinity === 'REAL' && i !== t.rowidAlias;
      this.real[i + 1] = real ? 1 : 0;
      const v = fallbackValue(c);
      this.fallback.push(enc.encode(this.format(real && typeof v === 'bigint' ? Number(v) : v)));
    });
  }

  /** The general formatter (values.ts), for the values the byte path leaves to it. */
  private format(v: SqlValue): string {
    return this.csv ? csvField(v) : jsonValue(v);
  }

  /**
   * Holds the row `rowid` whose record is `buf[start, end)` (read from leaf `pgno`) until
   * {@link drain}; the record must stay in place until then (scanRecords: until it resumes).
   */
  add(rowid: number | bigint, buf: Uint8Array, start: number, end: number, pgno: Pgno): void {
    let h = this.held[this.nHeld];
    if (h === undefined) this.held.push((h = { rowid, buf, start, end, pgno }));
    else {
      h.rowid = rowid;
      h.buf = buf;
      h.start = start;
      h.end = end;
      h.pgno = pgno;
    }
    this.nHeld++;
  }

  /**
   * Writes the held rows. The REALs that need String(x) are formatted together first: one
   * JSON.stringify of them all costs half of a String(x) each (and allocates one string).
   */
  drain(out: ChunkedOutput): void {
    const n = this.nHeld;
    this.nHeld = 0;
    const reals = this.reals;
    reals.length = 0;
    const rec = this.rec;
    for (let i = 0; i < n; i++) {
      const h = this.held[i];
      if (!rec.parse(h.buf, h.start, h.end)) break; // row() throws there
      const last = Math.min(rec.n, this.prefix.length - 1);
      for (let j = 1; j <= last; j++) {
        if (rec.types[j - 1] !== 7 || this.prefix[j] === null || j === this.alias) continue;
        const d = rec.real(j - 1);
        if (stringified(d)) reals.push(d);
      }
    }
    this.realText = reals.length > 0 ? JSON.stringify(reals) : '';
    this.realPos = 1;
    for (let i = 0; i < n; i++) {
      const h = this.held[i];
      this.row(out, h.rowid, h.buf, h.start, h.end, h.pgno);
      h.buf = EMPTY; // an overflowing payload is not kept past its row
    }
    if (this.realPos < this.realText.length) throw new QuireError(ErrorCode.ERROR, 'export: a REAL was formatted but not written (internal error)');
  }

  /** The next REAL of those drain formatted. */
  private nextReal(out: ChunkedOutput): void {
    const s = this.realText;
    let i = this.realPos;
    const o = out.room(32);
    let p = out.pos;
    for (let c = s.charCodeAt(i); c !== 0x2c && c !== 0x5d; c = s.charCodeAt(++i)) o[p++] = c;
    out.pos = p;
    this.realPos = i + 1;
  }

  /** Writes the line of the row `rowid` whose record is `buf[start, end)` (read from leaf `pgno`). */
  private row(out: ChunkedOutput, rowid: number | bigint, buf: Uint8Array, start: number, end: number, pgno: Pgno): void {
    const rec = this.rec;
    if (!rec.parse(buf, start, end)) {
      decodeRecordInto(buf, start, end, this.encoding, pgno, this.scratch); // throws the CORRUPT
      throw corrupt(pgno, 'malformed record');
    }
    const prefix = this.prefix;
    const n = prefix.length;
    const fields = rec.n;
    for (let j = 0; j < n; j++) {
      const pre = prefix[j];
      if (pre === null) continue;
      this.bytes(out, pre);
      if (j === 0 || j === this.alias) this.rowid(out, rowid);
      else if (j <= fields) this.field(out, buf, rec.types[j - 1], rec.offs[j - 1], this.real[j] === 1);
      else this.bytes(out, this.fallback[j]);
    }
    this.bytes(out, this.end);
  }

  private bytes(out: ChunkedOutput, b: Uint8Array): void {
    const n = b.length;
    const o = out.room(n);
    let p = out.pos;
    for (let i = 0; i < n; i++) o[p++] = b[i];
    out.pos = p;
  }

  private rowid(out: ChunkedOutput, rowid: number | bigint): void {
    if (typeof rowid === 'number') putInt(out, rowid);
    else out.text(this.format(rowid));
  }

  /** One field of serial type `t` whose body starts at `buf[o]`. */
  private field(out: ChunkedOutput, buf: Uint8Array, t: number, o: number, real: boolean): void {
    if (t === 0 || t === 10 || t === 11) {
      if (!this.csv) putAscii(out, 'null');
    } else if (t <= 6) {
      const v = serialInt(buf, o, t);
      if (typeof v === 'number') putInt(out, v);
      else out.text(this.format(real ? Number(v) : v));
    } else if (t === 7) {
      const d = getDouble(buf, o);
      if (d !== d) {
        if (!this.csv) putAscii(out, 'null');
      } else if (stringified(d)) this.nextReal(out);
      else if (Number.isSafeInteger(d)) putInt(out, d);
      else out.text(this.format(d)); // ±Infinity
    } else if (t === 8 || t === 9) {
      putInt(out, t - 8);
    } else {
      const len = (t - 12) >>> 1;
      if (t & 1) this.text(out, buf, o, o + len);
      else this.blob(out, buf, o, o + len);
    }
  }

  private text(out: ChunkedOutput, buf: Uint8Array, s: number, e: number): void {
    if (this.encoding !== 1) {
      out.text(this.format(decodeText(buf, s, e, this.encoding)));
      return;
    }
    const csv = this.csv;
    // One pass copies the bytes (after an opening quote for JSON) and notes their classes;
    // a special byte rewinds and writes the field again the slow way.
    const start = out.pos;
    const o = out.room(e - s + 2);
    let p = start;
    if (!csv) o[p++] = 0x22;
    const cls = csv ? CSV_CLASS : JSON_CLASS;
    let special = 0;
    for (let i = s; i < e; i++) {
      const c = buf[i];
      special |= cls[c];
      o[p++] = c;
    }
    if (special === 0) {
      if (csv) {
        if (s === e) {
          o[p++] = 0x22;
          o[p++] = 0x22;
        }
      } else o[p++] = 0x22;
      out.pos = p;
      return;
    }
    if (special & 2 && !validUtf8(buf, s, e)) {
      out.pos = start;
      out.text(this.format(decodeText(buf, s, e, 1)));
    } else if (special & 1) {
      out.pos = start;
      if (csv) csvQuoted(out, buf, s, e);
      else jsonEscaped(out, buf, s, e);
    } else {
      // valid multi-byte UTF-8, nothing to escape: the copy stands
      if (!csv) o[p++] = 0x22;
      out.pos = p;
    }
  }

  private blob(out: ChunkedOutput, buf: Uint8Array, s: number, e: number): void {
    if (this.csv && s === e) {
      putAscii(out, '""');
      return;
    }
    if (!this.csv) putAscii(out, '{"blob":"');
    // Two hex digits per store through a 16-bit view (a third faster than byte stores); the
    // view is aligned, so at an odd position the digits go one byte up and are moved down.
    const n = e - s;
    const o = out.room(2 * n + 1);
    const p = out.pos;
    const odd = p & 1;
    if (this.wideOf !== o) {
      this.wideOf = o;
      this.wide = new Uint16Array(o.buffer, o.byteOffset, o.length >> 1);
    }
    const w = this.wide;
    let q = (p + odd) >> 1;
    for (let i = s; i < e; i++) w[q++] = HEX_PAIR[buf[i]];
    if (odd) o.copyWithin(p, p + 1, p + 1 + 2 * n);
    out.pos = p + 2 * n;
    if (!this.csv) putAscii(out, '"}');
  }
}

/** A safe integer's decimal digits. */
function putInt(out: ChunkedOutput, v: number): void {
  const o = out.room(17);
  let p = out.pos;
  if (v < 0) {
    o[p++] = 0x2d;
    v = -v;
  }
  if (v < 10) {
    o[p++] = 0x30 + v;
    out.pos = p;
    return;
  }
  let digits = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
  p += digits;
  out.pos = p;
  while (v >= 10) {
    const q = Math.floor(v / 10);
    o[--p] = 0x30 + (v - q * 10);
    v = q;
  }
  o[--p] = 0x30 + v;
}

/** An ASCII string's bytes. */
function putAscii(out: ChunkedOutput, s: string): void {
  const n = s.length;
  const o = out.room(n);
  let p = out.pos;
  for (let i = 0; i < n; i++) o[p++] = s.charCodeAt(i);
  out.pos = p;
}

/** TEXT as a JSON string, escaped as JSON.stringify escapes it (lowercase \u00xx). */
function jsonEscaped(out: ChunkedOutput, buf: Uint8Array, s: number, e: number): void {
  const o = out.room(6 * (e - s) + 2);
  let p = out.pos;
  o[p++] = 0x22;
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (JSON_CLASS[c] !== 1) {
      o[p++] = c;
      continue;
    }
    o[p++] = 0x5c;
    const short = ESCAPE_CHAR[c];
    if (short !== 0) o[p++] = short;
    else {
      o[p] = 0x75; // u00xx
      o[p + 1] = 0x30;
      o[p + 2] = 0x30;
      o[p + 3] = HEX[c >> 4];
      o[p + 4] = HEX[c & 15];
      p += 5;
    }
  }
  o[p++] = 0x22;
  out.pos = p;
}

/** A CSV field in quotes, each " doubled. */
function csvQuoted(out: ChunkedOutput, buf: Uint8Array, s: number, e: number): void {
  const o = out.room(2 * (e - s) + 2);
  let p = out.pos;
  o[p++] = 0x22;
  for (let i = s; i < e; i++) {
    const c = buf[i];
    o[p++] = c;
    if (c === 0x22) o[p++] = 0x22;
  }
  o[p++] = 0x22;
  out.pos = p;
}
