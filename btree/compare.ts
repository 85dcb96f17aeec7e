/**
 * Key comparison for index b-trees and WITHOUT ROWID tables (like sqlite3MemCompare and
 * sqlite3VdbeRecordCompare in vdbeaux.c).
 *
 * Storage classes order NULL < INTEGER/REAL < TEXT < BLOB. Two NULLs are equal here (the
 * b-tree's order; SQL's "NULL = NULL is unknown" is the query layer's business). INTEGER and
 * REAL compare numerically and exactly: a bigint against a double compares the mathematical
 * values (sqlite3IntFloatCompare). BLOBs compare with memcmp, then by length.
 *
 * TEXT compares through the column's collation, as SQLite registers them:
 *
 *   BINARY  memcmp of the text in the database encoding, then length. In UTF-8 that is
 *           code-point order (NOT JS's UTF-16 code-unit order: U+FFFD < U+1F600 here);
 *           in UTF-16be it is code-unit order; in UTF-16le it is the order of the
 *           byte-swapped code units (SQLite really does memcmp little-endian bytes).
 *   NOCASE  registered for UTF-8 only, so always code-point order, with ASCII A-Z folded to
 *           a-z first (so '_' < 'a' = 'A'), then length (nocaseCollatingFunc). Like
 *           sqlite3StrNICmp it stops at a NUL both strings have at the same place: the rest
 *           is ignored and the UTF-8 lengths decide.
 *   RTRIM   registered for UTF-8 only: trailing U+0020 spaces ignored, then as BINARY in UTF-8.
 *
 * Other collation names are UNSUPPORTED (quire cannot run user collating functions).
 *
 * A key (the search key, a SqlValue[]) is compared against a record column by column; each
 * column may be DESC, which flips its result. When one side runs out of columns first, the
 * result is 0: an equal prefix counts as equal for seeks (the cursor decides ge/gt/eq).
 */
import type { Encoding } from '../pager/header.js';
import { ErrorCode, QuireError } from '../pager/errors.js';
import type { Collation, SqlValue } from './value.js';

/** Sort rules of one key column. Defaults: BINARY, ascending. */
export interface KeyColumn {
  collation?: Collation | string;
  desc?: boolean;
}

export type KeyInfo = readonly KeyColumn[];

/** Compares a search key with a record (or record prefix): <0, 0 (equal prefix), >0. */
export type KeyComparator = (key: readonly SqlValue[], record: readonly SqlValue[]) => number;

function classOf(v: SqlValue): number {
  if (v === null) return 0;
  const t = typeof v;
  if (t === 'number' || t === 'bigint') return 1;
  if (t === 'string') return 2;
  return 3;
}

/** Exact comparison of a double with a bigint: sign of (d - b). */
function compareNumBig(d: number, b: bigint): number {
  if (d === Infinity) return 1;
  if (d === -Infinity) return -1;
  const f = Math.floor(d);
  const bf = BigInt(f);
  if (bf < b) return -1;
  if (bf > b) return 1;
  return d === f ? 0 : 1;
}

function compareNumeric(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'number') {
    if (typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
    return compareNumBig(a, b);
  }
  if (typeof b === 'number') return -compareNumBig(b, a);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Maps a UTF-16 code unit so that code-unit order becomes code-point order (both >= 0xD800). */
function cpFix(c: number): number {
  return c < 0xe000 ? c + 0x2000 : c - 0x800;
}

/** Code-point order of two JS strings (= memcmp of their UTF-8 forms). */
export function compareCodePoints(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = cpFix(x);
        y = cpFix(y);
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

function compareUtf16be(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareUtf16le(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return (((x & 0xff) << 8) | (x >>> 8)) - (((y & 0xff) << 8) | (y >>> 8));
  }
  return a.length - b.length;
}

/** Bytes of `s` in UTF-8 (lone surrogates count as U+FFFD, 3 bytes, as encoding makes them). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 2 code units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}

function compareNocase(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    // sqlite3StrNICmp stops at a NUL: what follows one at the same place in both is ignored,
    // and nocaseCollatingFunc then orders by length in bytes.
    if (x === 0 && y === 0) return utf8Length(a) - utf8Length(b);
    if (x !== y) {
      if (x >= 0x41 && x <= 0x5a) x += 32;
      if (y >= 0x41 && y <= 0x5a) y += 32;
      if (x === y) continue;
      if (x >= 0xd800 && y >= 0xd800) {
        x = cpFix(x);
        y = cpFix(y);
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

function rtrim(s: string): string {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) === 0x20) n--;
  return n === s.length ? s : s.slice(0, n);
}

/** Compares two TEXT values under `collation` in a database of `encoding`. */
export function compareText(a: string, b: string, collation: Collation | string = 'BINARY', encoding: Encoding = 1): number {
  switch (collation) {
    case 'BINARY':
      return encoding === 1 ? compareCodePoints(a, b) : encoding === 3 ? compareUtf16be(a, b) : compareUtf16le(a, b);
    case 'NOCASE':
      return compareNocase(a, b);
    case 'RTRIM':
      return compareCodePoints(rtrim(a), rtrim(b));
    default: {
      const upper = collation.toUpperCase();
      if (upper !== collation && (upper === 'BINARY' || upper === 'NOCASE' || upper === 'RTRIM')) {
        return compareText(a, b, upper, encoding);
      }
      throw unsupportedCollation(collation);
    }
  }
}

function unsupportedCollation(name: string): QuireError {
  return new QuireError(ErrorCode.UNSUPPORTED, `collation ${name} is not supported (only BINARY, NOCASE, RTRIM)`);
}

function compareBlobs(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * Compares two values in SQLite's order: <0 when a sorts first, 0 when equal, >0 otherwise.
 * `collation` applies to TEXT; `encoding` matters only for BINARY on UTF-16 databases.
 */
export function compareValues(
  a: SqlValue,
  b: SqlValue,
  collation: Collation | string = 'BINARY',
  encoding: Encoding = 1,
): number {
  const ca = classOf(a);
  const cb = classOf(b);
  if (ca !== cb) return ca - cb;
  switch (ca) {
    case 0:
      return 0;
    case 1:
      return compareNumeric(a as number | bigint, b as number | bigint);
    case 2:
      return compareText(a as string, b as string, collation, encoding);
    default:
      return compareBlobs(a as Uint8Array, b as Uint8Array);
  }
}

/**
 * A comparator for keys under `keyInfo` (columns past its end: BINARY ascending, e.g. the
 * rowid that ends every index record). Throws UNSUPPORTED for an unknown collation up front.
 */
export function keyComparator(keyInfo: KeyInfo, encoding: Encoding = 1): KeyComparator {
  const colls: string[] = [];
  const desc: boolean[] = [];
  for (const k of keyInfo) {
    const c = (k.collation ?? 'BINARY').toUpperCase();
    if (c !== 'BINARY' && c !== 'NOCASE' && c !== 'RTRIM') throw unsupportedCollation(c);
    colls.push(c);
    desc.push(k.desc === true);
  }
  const nInfo = colls.length;
  return (key, record) => {
    const n = key.length < record.length ? key.length : record.length;
    for (let i = 0; i < n; i++) {
      const c = compareValues(key[i], record[i], i < nInfo ? colls[i] : 'BINARY', encoding);
      if (c !== 0) return i < nInfo && desc[i] ? -c : c;
    }
    return 0;
  };
}
