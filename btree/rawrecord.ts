/**
 * Records read in place, and an order-independent hash of record entries.
 *
 * {@link RawRecord} parses a record's header (see btree/record.ts for the format) into
 * reused arrays: each field's serial type and the offset of its body bytes. Nothing is
 * decoded and nothing is allocated per record, for code that needs to look at the fields
 * rather than their values: the integrity check (src/check.ts) hashes index entries and
 * checks column types straight from the page bytes.
 *
 * {@link MultisetHash} folds entries (lists of values) into a 64-bit sum that does not depend
 * on their order. An entry can be given as JS values or as fields of a RawRecord; either way
 * a value hashes as its record image would, with numbers normalized:
 *
 *   NULL (serial types 0, 10, 11; a NaN REAL, which reads as NULL)   tag 1
 *   an integer, or a REAL with an integral value in [-2^63, 2^63)    tag 2, low and high
 *                                                                     32-bit words (two's
 *                                                                     complement)
 *   any other REAL                                                   tag 3, its IEEE words
 *   TEXT (its bytes in the database's encoding)                      tag 5, length, bytes
 *   BLOB                                                             tag 6, length, bytes
 *
 * so values that compare equal under BINARY hash equally (an INTEGER 3 and a REAL 3.0, which
 * SQLite may store either way in a REAL column; equal TEXT in the same encoding), and values
 * that differ hash differently but for collisions (about 2^-64 per comparison).
 */
import { fmix32 } from '../pager/bytes.js';
import type { Encoding } from '../pager/header.js';
import { compareText, compareValues } from './compare.js';
import { decodeText, encodeText, getDouble, serialInt } from './record.js';
import type { SqlValue } from './value.js';
import { readVarint, type Varint } from './varint.js';

const EMPTY = new Uint8Array(0);
const TWO32 = 4294967296;
const TWO63 = 9223372036854775808;
const vslot: Varint = { value: 0 };
const scratch = new DataView(new ArrayBuffer(8));

/** Body bytes of serial types 0..11 (12 and up: (t - 12) >> 1). */
const FIXED_SIZE = [0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0];

/** One record's header, parsed in place (see the module comment). */
export class RawRecord {
  /** The buffer the record lies in (valid until the next parse). */
  buf: Uint8Array = EMPTY;
  /** Number of fields. */
  n = 0;
  /** Serial type of each field (only the first `n` count). */
  readonly types: number[] = [];
  /** Offset in `buf` of each field's body bytes. */
  readonly offs: number[] = [];
  /** Where the record starts in `buf`, and where it ends. */
  start = 0;
  end = 0;

  /**
   * Parses the record in `buf[start, end)`. Returns false when the record is malformed,
   * exactly when decodeRecordInto (btree/record.ts) would throw CORRUPT for it: a header
   * size or serial type past its bounds, a body running past `end` or ending before it.
   */
  parse(buf: Uint8Array, start: number, end: number): boolean {
    this.buf = buf;
    this.n = 0;
    this.start = start;
    this.end = end;
    if (start >= end) return false;
    let hdrSize = buf[start];
    let hp = start + 1;
    if (hdrSize >= 0x80) {
      const k = readVarint(buf, start, end, vslot);
      if (k === 0 || typeof vslot.value !== 'number' || vslot.value < 0) return false;
      hdrSize = vslot.value;
      hp = start + k;
    }
    const hdrEnd = start + hdrSize;
    if (hdrEnd > end || hdrEnd < hp) return false;
    let bp = hdrEnd;
    let n = 0;
    const types = this.types;
    const offs = this.offs;
    while (hp < hdrEnd) {
      let t = buf[hp];
      if (t < 0x80) {
        hp++;
      } else {
        const k = readVarint(buf, hp, hdrEnd, vslot);
        if (k === 0 || typeof vslot.value !== 'number' || vslot.value < 0 || vslot.value > 0xffffffff) return false;
        t = vslot.value;
        hp += k;
      }
      const size = t < 12 ? FIXED_SIZE[t] : (t - 12) >>> 1;
      if (bp + size > end) return false;
      types[n] = t;
      offs[n] = bp;
      n++;
      bp += size;
    }
    this.n = n;
    return bp === end;
  }

  /** The body length of field i. */
  size(i: number): number {
    const t = this.types[i];
    return t < 12 ? FIXED_SIZE[t] : (t - 12) >>> 1;
  }

  /** Field i reads as NULL (serial type 0, 10 or 11, or a NaN REAL). */
  isNull(i: number): boolean {
    const t = this.types[i];
    if (t === 7) {
      const d = this.real(i);
      return d !== d;
    }
    return t === 0 || t === 10 || t === 11;
  }

  /** Field i's class as compareValues orders them: 0 NULL, 1 number, 2 TEXT, 3 BLOB. */
  classOf(i: number): number {
    const t = this.types[i];
    if (t >= 12) return t & 1 ? 2 : 3;
    if (t === 7) return this.isNull(i) ? 0 : 1;
    return t === 0 || t === 10 || t === 11 ? 0 : 1;
  }

  /** The number in field i (class 1): a number, or a bigint past 2^53. */
  number(i: number): number | bigint {
    const t = this.types[i];
    if (t >= 1 && t <= 6) return serialInt(this.buf, this.offs[i], t);
    return t === 7 ? this.real(i) : t === 9 ? 1 : 0;
  }

  /** The REAL in field i (serial type 7). */
  real(i: number): number {
    return getDouble(this.buf, this.offs[i]);
  }
}

/** A record copied out of the page it lies in (into a buffer reused from copy to copy), parsed. */
export class RecordCopy {
  readonly rec = new RawRecord();
  private buf = new Uint8Array(256);

  /** Copies the record `r` was parsed from. */
  copy(r: RawRecord): void {
    const { start, end } = r;
    if (end - start > this.buf.length) this.buf = new Uint8Array(Math.max(end - start, this.buf.length * 2));
    const src = r.buf;
    const dst = this.buf;
    for (let i = start, j = 0; i < end; i++, j++) dst[j] = src[i];
    this.rec.parse(dst, 0, end - start);
  }
}

/**
 * Compares fields [0, n) of records `a` and `b` as keyComparator (btree/compare.ts) compares
 * decoded keys: classes first (NULL < numbers < TEXT < BLOB), numbers by value, TEXT under the
 * field's collation (`colls[i]`, BINARY past its end), BLOBs and BINARY TEXT by their bytes
 * (memcmp, then length, as SQLite's BINARY), `desc[i]` reversing. NOCASE and RTRIM text is
 * decoded in `enc` and compared as compareText does.
 */
export function compareRecords(a: RawRecord, b: RawRecord, n: number, colls: readonly string[], desc: readonly boolean[], enc: Encoding): number {
  for (let i = 0; i < n; i++) {
    const ca = a.classOf(i);
    let c = ca - b.classOf(i);
    if (c === 0) {
      if (ca === 1) {
        c = compareValues(a.number(i), b.number(i));
      } else if (ca >= 2) {
        const coll = i < colls.length ? colls[i] : 'BINARY';
        const ao = a.offs[i];
        const bo = b.offs[i];
        if (ca === 3 || coll === 'BINARY') c = memcmp(a.buf, ao, ao + a.size(i), b.buf, bo, bo + b.size(i));
        else c = compareText(decodeText(a.buf, ao, ao + a.size(i), enc), decodeText(b.buf, bo, bo + b.size(i), enc), coll, enc);
      }
    }
    if (c !== 0) return i < desc.length && desc[i] ? -c : c;
  }
  return 0;
}

function memcmp(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const n = ae - as < be - bs ? ae - as : be - bs;
  for (let i = 0; i < n; i++) {
    const d = a[as + i] - b[bs + i];
    if (d !== 0) return d;
  }
  return ae - as - (be - bs);
}

/**
 * An order-independent hash of a multiset of entries (see the module comment): the count and
 * two 32-bit sums of two independent 32-bit hashes of each entry. `encoding` is the
 * database's, in which JS strings are hashed (as their record bytes).
 */
export class MultisetHash {
  count = 0;
  sumA = 0;
  sumB = 0;
  private a = 0;
  private b = 0;
  private readonly encoding: Encoding;

  constructor(encoding: Encoding = 1) {
    this.encoding = encoding;
  }

  /** Adds the entry row[fields[0]], row[fields[1]], ... */
  addFields(row: readonly SqlValue[], fields: readonly number[]): void {
    this.begin();
    for (let i = 0; i < fields.length; i++) this.value(row[fields[i]]);
    this.end(fields.length);
  }

  /** Adds the entry `values`. */
  add(values: readonly SqlValue[]): void {
    this.begin();
    for (let i = 0; i < values.length; i++) this.value(values[i]);
    this.end(values.length);
  }

  /** Adds the entry made of every field of `rec`. */
  addRecord(rec: RawRecord): void {
    this.begin();
    for (let i = 0; i < rec.n; i++) this.field(rec, i);
    this.end(rec.n);
  }

  equals(o: MultisetHash): boolean {
    return this.count === o.count && this.sumA === o.sumA && this.sumB === o.sumB;
  }

  /** Starts an entry given piece by piece: begin, then field or value for each, then end(n). */
  begin(): void {
    this.a = 0x243f6a88;
    this.b = 0x85a308d3;
  }

  /** Ends the entry begun last, of `n` values, and adds it. */
  end(n: number): void {
    this.mix(n);
    this.count++;
    this.sumA = (this.sumA + fmix32(this.a)) >>> 0;
    this.sumB = (this.sumB + fmix32(this.b ^ 0x5bd1e995)) >>> 0;
  }

  /** Hashes field i of `rec` into the current entry. */
  field(rec: RawRecord, i: number): void {
    const t = rec.types[i];
    const b = rec.buf;
    const o = rec.offs[i];
    switch (t) {
      case 0:
      case 10:
      case 11:
        this.mix(1);
        return;
      case 1:
        this.int((b[o] << 24) >> 24);
        return;
      case 2:
        this.int(((b[o] << 24) >> 16) | b[o + 1]);
        return;
      case 3:
        this.int(((b[o] << 24) >> 8) | (b[o + 1] << 8) | b[o + 2]);
        return;
      case 4:
        this.int((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
        return;
      case 5:
        this.words(((b[o] << 24) >> 16) | b[o + 1], (b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]);
        return;
      case 6:
        this.words((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3], (b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]);
        return;
      case 7:
        this.num(rec.real(i));
        return;
      case 8:
        this.int(0);
        return;
      case 9:
        this.int(1);
        return;
      default: {
        const len = (t - 12) >>> 1;
        this.mix(t & 1 ? 5 : 6);
        this.bytes(b, o, o + len);
      }
    }
  }

  /** Hashes the JS value `v` into the current entry. */
  value(v: SqlValue): void {
    if (v === null) {
      this.mix(1);
    } else if (typeof v === 'number') {
      this.num(v);
    } else if (typeof v === 'bigint') {
      this.words(Number(BigInt.asIntN(32, v >> 32n)), Number(BigInt.asIntN(32, v)));
    } else if (typeof v === 'string') {
      const e = encodeText(v, this.encoding);
      this.mix(5);
      this.bytes(e, 0, e.length);
    } else {
      this.mix(6);
      this.bytes(v, 0, v.length);
    }
  }

  private num(d: number): void {
    if (d !== d) {
      this.mix(1); // NaN reads as NULL
    } else if (Number.isInteger(d) && d >= -TWO63 && d < TWO63) {
      // Exact: d is integral, so are d / 2^32 (floored) and the remainder.
      const hi = Math.floor(d / TWO32);
      this.words(hi, d - hi * TWO32);
    } else {
      scratch.setFloat64(0, d);
      this.mix(3);
      this.mix(scratch.getUint32(0));
      this.mix(scratch.getUint32(4));
    }
  }

  /** A 32-bit signed integer. */
  private int(v: number): void {
    this.words(v < 0 ? -1 : 0, v);
  }

  /** A 64-bit integer by its high and low 32-bit words. */
  private words(hi: number, lo: number): void {
    this.mix(2);
    this.mix(lo | 0);
    this.mix(hi | 0);
  }

  /** The length, then the bytes four at a time (the length tells "ab" from "ab\0"). */
  private bytes(b: Uint8Array, start: number, end: number): void {
    this.mix(end - start);
    let p = start;
    for (; p + 4 <= end; p += 4) this.word(b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24));
    if (p < end) {
      let w = 0;
      for (let s = 0; p < end; p++, s += 8) w |= b[p] << s;
      this.word(w);
    }
  }

  private mix(k: number): void {
    this.a = Math.imul(((this.a ^ k) << 13) | ((this.a ^ k) >>> 19), 0x9e3779b1) + 0x7f4a7c15;
    this.b = Math.imul(this.b + k, 0xcc9e2d51);
    this.b = ((this.b << 15) | (this.b >>> 17)) ^ 0x1b873593;
  }

  /** A cheaper mix for the words of a text or blob. */
  private word(k: number): void {
    const a = Math.imul(this.a ^ k, 0x9e3779b1);
    this.a = (a << 13) | (a >>> 19);
    const b = Math.imul(this.b + k, 0xcc9e2d51);
    this.b = (b << 15) | (b >>> 17);
  }
}

