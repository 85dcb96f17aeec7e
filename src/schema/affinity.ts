/**
 * Type affinity (datatype3.html) and SQLite's value conversions: how a declared type becomes an
 * affinity, and what a column's affinity does to a value on the way into a record and back out
 * (vdbe.c applyAffinity / applyNumericAffinity, vdbemem.c sqlite3VdbeMemNumerify / MemCast).
 *
 * Affinity from a declared type (sqlite3AffinityType): scan the type once, case-insensitively;
 *
 *   SEEN (first match wins, in scan order)   AFFINITY
 *   "INT"                                    INTEGER   (ends the scan: "FLOATING POINT" is INTEGER)
 *   "CHAR", "CLOB", "TEXT"                   TEXT
 *   "BLOB" (unless TEXT already chosen)      BLOB
 *   "REAL", "FLOA", "DOUB" (if none so far)  REAL
 *   none of these ("DECIMAL(10,5)", "", ...)  NUMERIC
 *   (no declared type at all)                 BLOB
 *
 * STRICT tables accept only INT, INTEGER, REAL, TEXT, BLOB and ANY; ANY has BLOB affinity there
 * (NUMERIC in ordinary tables). That is decided in parse.ts, which knows the table.
 *
 * Applying affinity to a value about to be stored (what `SELECT typeof(c), c` shows after an
 * INSERT), as SQLite does:
 *
 *   AFFINITY            INTEGER      REAL                  TEXT                   BLOB, NULL
 *   TEXT                its text     "%!.17g" text         unchanged              unchanged
 *   NUMERIC, INTEGER    unchanged    INTEGER if integral   INTEGER or REAL if it  unchanged
 *                                    and inside int64      is well-formed numeric
 *                                                          text (" 12 ", "1e3",
 *                                                          "5."; not "0x10", "1e",
 *                                                          "12abc"), else TEXT
 *   REAL                REAL         REAL                  REAL if numeric, else  unchanged
 *   BLOB (none)         unchanged    unchanged             unchanged              unchanged
 *
 * Integer vs real in JavaScript. A JS number cannot say whether it is the INTEGER 1 or the
 * REAL 1.0, so these functions work on {@link TypedValue}, which carries the storage class.
 * Plain SqlValues are accepted and classified the way btree/record.ts encodes them: a safe
 * integer other than -0 is an INTEGER, any other number a REAL, a bigint an INTEGER (int64).
 *
 * Logical value vs stored form. SQLite stores a REAL-affinity column's integral values as
 * INTEGERs when they fit in 48 bits (smaller records) and converts them back to REAL when the
 * column is read (OP_RealAffinity). So there are three functions:
 *
 *   applyAffinity(v, aff)   the value a reader sees (a REAL column yields 'real')
 *   storedValue(v, aff)     the value INSERT writes into the record: for REAL affinity an
 *                           integral value in [-2^47, 2^47) is an 'integer' (serial types 1..6)
 *                           and anything else numeric a 'real' (serial type 7)
 *   columnValue(v, aff)     what reading a stored value through the column yields
 *
 * A record encoder writes {type:'real', value: 1} as serial type 7 (pass asReal to
 * encodeRecord; see toRecordValue) and {type:'integer', value: 1} as an integer type.
 *
 * Conversions between TEXT and BLOB (CAST) use the database encoding's bytes (UTF-8 unless
 * given); numbers parse with SQLite's own text->number rules (fp.ts), so " 12 " is 12 and
 * "12\u0000abc" is 12 too (SQLite stops reading at a NUL), but "0x10" stays TEXT.
 */
import { encodeText, decodeText } from '../../btree/record.js';
import { ErrorCode, QuireError } from '../../pager/errors.js';
import type { Encoding } from '../../pager/header.js';
import { LARGEST_INT64, SMALLEST_INT64, atof, atoi64, intToText, realToText } from './fp.js';
import type { Affinity, ColumnDef, SqlValue, TypedValue } from './types.js';

// ---- declared type -> affinity -------------------------------------------------------------

/** The affinity of a declared type (sqlite3AffinityType). An empty string is NUMERIC. */
export function affinityOf(declType: string): Affinity {
  let h = 0;
  let aff: Affinity = 'NUMERIC';
  for (let i = 0; i < declType.length; i++) {
    let c = declType.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 32;
    // Only ASCII letters can complete a pattern; anything else just breaks the run.
    h = ((h << 8) | (c < 0x80 ? c : 0xff)) >>> 0;
    if (h === 0x63686172) {
      aff = 'TEXT'; // char
    } else if (h === 0x636c6f62) {
      aff = 'TEXT'; // clob
    } else if (h === 0x74657874) {
      aff = 'TEXT'; // text
    } else if (h === 0x626c6f62 && (aff === 'NUMERIC' || aff === 'REAL')) {
      aff = 'BLOB'; // blob
    } else if ((h === 0x7265616c || h === 0x666c6f61 || h === 0x646f7562) && aff === 'NUMERIC') {
      aff = 'REAL'; // real, floa, doub
    } else if ((h & 0x00ffffff) === 0x696e74) {
      return 'INTEGER'; // int
    }
  }
  return aff;
}

// ---- typed values --------------------------------------------------------------------------

const NULL_VALUE: TypedValue = { type: 'null', value: null };

/** An INTEGER from an int64 bigint (a number when safe). */
export function integer(v: bigint | number): TypedValue {
  if (typeof v === 'number') return { type: 'integer', value: v === 0 ? 0 : v }; // never -0
  if (v >= -9007199254740991n && v <= 9007199254740991n) return { type: 'integer', value: Number(v) };
  return { type: 'integer', value: v };
}

/** A REAL (NaN becomes NULL, as SQLite never stores NaN). */
export function real(v: number): TypedValue {
  return Number.isNaN(v) ? NULL_VALUE : { type: 'real', value: v };
}

export function text(v: string): TypedValue {
  return { type: 'text', value: v };
}

export function blob(v: Uint8Array): TypedValue {
  return { type: 'blob', value: v };
}

export function isTypedValue(v: unknown): v is TypedValue {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && 'type' in v && 'value' in v;
}

/**
 * Classifies a SqlValue (or passes a TypedValue through): null; a safe integer other than -0
 * is an INTEGER; other numbers REAL (NaN: NULL); bigint INTEGER (RANGE error outside int64);
 * string TEXT; Uint8Array BLOB.
 */
export function typed(v: SqlValue | TypedValue): TypedValue {
  if (v === null) return NULL_VALUE;
  switch (typeof v) {
    case 'number':
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? { type: 'integer', value: v } : real(v);
    case 'bigint':
      if (v < SMALLEST_INT64 || v > LARGEST_INT64) {
        throw new QuireError(ErrorCode.RANGE, `integer ${v} is outside the 64-bit range SQLite stores`);
      }
      return integer(v);
    case 'string':
      return { type: 'text', value: v };
    default:
      if (v instanceof Uint8Array) return { type: 'blob', value: v };
      if (isTypedValue(v)) return v;
      throw new QuireError(ErrorCode.MISUSE, `not an SQL value: ${String(v)}`);
  }
}

/** The plain SqlValue of a TypedValue (a REAL 1.0 becomes the number 1). */
export function toSqlValue(v: TypedValue): SqlValue {
  return v.value;
}

/**
 * A TypedValue as encodeRecord takes it: the value, and whether it must be stored as REAL
 * (serial type 7) although it is an integral number.
 */
export function toRecordValue(v: TypedValue): { value: SqlValue; asReal: boolean } {
  return { value: v.value, asReal: v.type === 'real' };
}

function big(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** sqlite3RealToI64: clamp, then truncate toward zero. */
export function realToI64(r: number): bigint {
  if (r < -9223372036854774784) return SMALLEST_INT64;
  if (r > 9223372036854774784) return LARGEST_INT64;
  if (Number.isNaN(r)) return 0n;
  return BigInt(Math.trunc(r));
}

/** sqlite3RealSameAsInt: r is exactly i and |i| < 2^51 (or r is zero). */
function realSameAsInt(r: number, i: bigint): boolean {
  return r === 0 || (Number(i) === r && i >= -2251799813685248n && i < 2251799813685248n);
}

/** sqlite3VdbeIntegerAffinity on a REAL: an INTEGER when exactly integral and strictly inside int64. */
function integerAffinity(r: number): TypedValue {
  // Fast paths (no BigInt): what the general rule below gives for these.
  if (!Number.isInteger(r)) return real(r);
  if (Number.isSafeInteger(r)) return integer(r);
  const ix = realToI64(r);
  if (r === Number(ix) && ix > SMALLEST_INT64 && ix < LARGEST_INT64) return integer(ix);
  return real(r);
}

/** A BLOB's bytes read as TEXT in the database encoding (what SQLite does when it must). */
function textOfBlob(b: Uint8Array, encoding: Encoding = 1): string {
  return decodeText(b, 0, encoding === 1 ? b.length : b.length & ~1, encoding);
}

/** applyNumericAffinity(pRec, 1): numeric-looking text becomes INTEGER or REAL, else unchanged. */
function numericFromText(t: string): TypedValue | undefined {
  const { value: r, rc } = atof(t);
  if (rc <= 0) return undefined;
  if ((rc & 2) === 0) {
    const ix = realToI64(r);
    if (realSameAsInt(r, ix)) return integer(ix);
    const a = atoi64(t);
    if (a.rc === 0) return integer(a.value);
  }
  return integerAffinity(r);
}

/**
 * The value SQLite holds after applying `aff` (vdbe.c applyAffinity), before the REAL-column
 * read-back conversion: for REAL affinity an integral value is still an INTEGER here.
 */
function affinityInternal(v: TypedValue, aff: Affinity): TypedValue {
  switch (aff) {
    case 'NUMERIC':
    case 'INTEGER':
    case 'REAL':
      if (v.type === 'real') return integerAffinity(v.value);
      if (v.type === 'text') return numericFromText(v.value) ?? v;
      return v;
    case 'TEXT':
      if (v.type === 'integer') return text(intToText(v.value));
      if (v.type === 'real') return text(realToText(v.value));
      return v;
    default:
      return v;
  }
}

/**
 * The value a column with affinity `aff` holds after storing `v` in it (what SQLite's
 * `SELECT typeof(c), c` returns after an INSERT). REAL affinity always yields a REAL for a
 * number.
 */
export function applyAffinity(v: SqlValue | TypedValue, aff: Affinity): TypedValue {
  const r = affinityInternal(typed(v), aff);
  if (aff === 'REAL' && r.type === 'integer') return real(Number(r.value));
  return r;
}

/**
 * The value INSERT writes into the record for a column with affinity `aff` (vdbe.c
 * OP_Affinity): like applyAffinity, except that a REAL-affinity column keeps an integral value
 * in [-2^47, 2^47) as an INTEGER (SQLite's "IntReal" space optimisation); reading it back
 * through {@link columnValue} makes it REAL again.
 */
export function storedValue(v: SqlValue | TypedValue, aff: Affinity): TypedValue {
  const r = affinityInternal(typed(v), aff);
  if (aff === 'REAL' && r.type === 'integer') {
    const i = r.value;
    if (typeof i === 'number' ? i <= 140737488355327 && i >= -140737488355328 : i <= 140737488355327n && i >= -140737488355328n) return r;
    return real(Number(i));
  }
  return r;
}

/**
 * A value read from a record, as the column presents it: REAL affinity turns an INTEGER into a
 * REAL (OP_RealAffinity); every other affinity returns the stored value unchanged.
 */
export function columnValue(v: SqlValue | TypedValue, aff: Affinity): TypedValue {
  const t = typed(v);
  if (aff === 'REAL' && t.type === 'integer') return real(Number(t.value));
  return t;
}

// ---- STRICT tables -------------------------------------------------------------------------

const CLASS_NAME = { null: 'NULL', integer: 'INT', real: 'REAL', text: 'TEXT', blob: 'BLOB' } as const;

/**
 * The value INSERT writes into a STRICT table's column (vdbe.c OP_TypeCheck): the column's
 * affinity is applied, then the result must be of the declared type — INT/INTEGER an INTEGER,
 * REAL a number (an integral one stored as INTEGER when it fits 48 bits, like storedValue),
 * TEXT a TEXT, BLOB a BLOB; ANY takes anything unchanged; NULL always passes (NOT NULL is a
 * separate check). Otherwise throws CONSTRAINT with SQLite's message ("cannot store TEXT value
 * in INTEGER column t.c").
 */
export function strictValue(v: SqlValue | TypedValue, column: ColumnDef, table: string): TypedValue {
  const r = affinityInternal(typed(v), column.affinity);
  if (r.type === 'null') return r;
  const want = column.standardType;
  let ok: boolean;
  switch (want) {
    case 'INT':
    case 'INTEGER':
      ok = r.type === 'integer';
      break;
    case 'REAL':
      if (r.type === 'integer') return storedValue(r, 'REAL');
      ok = r.type === 'real';
      break;
    case 'TEXT':
      ok = r.type === 'text';
      break;
    case 'BLOB':
      ok = r.type === 'blob';
      break;
    case 'ANY':
      ok = true;
      break;
    default:
      throw new QuireError(ErrorCode.MISUSE, `column ${table}.${column.name} has no STRICT type`);
  }
  if (!ok) {
    throw new QuireError(ErrorCode.CONSTRAINT, `cannot store ${CLASS_NAME[r.type]} value in ${want} column ${table}.${column.name}`);
  }
  return r;
}

// ---- conversions used by expressions -------------------------------------------------------

/**
 * sqlite3VdbeMemNumerify: forces TEXT/BLOB to a number, taking as much of the text as parses
 * ('12abc' -> 12, 'x' -> 0, '1.5e' -> 1.5); numbers and NULL are unchanged.
 */
export function numerify(v: TypedValue, encoding: Encoding = 1): TypedValue {
  if (v.type !== 'text' && v.type !== 'blob') return v;
  const t = v.type === 'text' ? v.value : textOfBlob(v.value, encoding);
  const { value: r, rc } = atof(t);
  if ((rc & 2) === 0) {
    const a = atoi64(t);
    if (a.rc < 2) return integer(a.value);
  }
  const ix = realToI64(r);
  if (realSameAsInt(r, ix)) return integer(ix);
  return real(r);
}

/** numericType(): the number arithmetic sees in a TEXT or BLOB operand (vdbe.c). */
function arithmeticValue(v: TypedValue, encoding: Encoding): TypedValue {
  if (v.type !== 'text' && v.type !== 'blob') return v;
  const t = v.type === 'text' ? v.value : textOfBlob(v.value, encoding);
  const { value: r, rc } = atof(t);
  if ((rc & 2) === 0) {
    const a = atoi64(t);
    if (rc <= 0 ? a.rc <= 1 : a.rc === 0) return integer(a.value);
  }
  return real(r);
}

/** The REAL value of an operand (sqlite3VdbeRealValue). */
function realValue(v: TypedValue, encoding: Encoding): number {
  switch (v.type) {
    case 'real':
      return v.value;
    case 'integer':
      return Number(v.value);
    case 'text':
      return atof(v.value).value;
    case 'blob':
      return atof(textOfBlob(v.value, encoding)).value;
    default:
      return 0;
  }
}

/** `0 - v` as OP_Subtract computes it (SQL's unary minus on a non-literal operand). */
export function negate(v: TypedValue, encoding: Encoding = 1): TypedValue {
  if (v.type === 'null') return v;
  const n = arithmeticValue(v, encoding);
  if (n.type === 'integer') {
    const i = big(n.value);
    if (i !== SMALLEST_INT64) return integer(-i);
  }
  return real(0 - realValue(v, encoding));
}

/**
 * CAST(v AS <type with affinity aff>), as sqlite3VdbeMemCast does it. TEXT becomes BLOB in the
 * database `encoding` (default UTF-8); a BLOB is read as text in `blobEncoding` (the encoding
 * SQLite tagged the blob with, normally the database's).
 */
export function castTo(v: TypedValue, aff: Affinity, encoding: Encoding = 1, blobEncoding: Encoding = encoding): TypedValue {
  if (v.type === 'null') return v;
  if (v.type === 'blob' && aff !== 'BLOB') return castTo(text(textOfBlob(v.value, blobEncoding)), aff, encoding);
  switch (aff) {
    case 'BLOB': {
      if (v.type === 'blob') return v;
      const t = affinityInternal(v, 'TEXT');
      return t.type === 'text' ? blob(encodeText(t.value, encoding)) : t;
    }
    case 'NUMERIC':
      return numerify(v, encoding);
    case 'INTEGER':
      switch (v.type) {
        case 'integer':
          return v;
        case 'real':
          return integer(realToI64(v.value));
        case 'text':
          return integer(atoi64(v.value).value);
        default:
          return integer(atoi64(textOfBlob(v.value, encoding)).value);
      }
    case 'REAL':
      return real(realValue(v, encoding));
    default:
      if (v.type === 'blob') return text(textOfBlob(v.value, encoding));
      return affinityInternal(v, 'TEXT');
  }
}

/**
 * applyAffinity as the VDBE sees it in a register (vdbe.c applyAffinity itself): like
 * {@link applyAffinity} but without the REAL column's read-back, so REAL affinity may still
 * leave an integral value as an INTEGER.
 */
export function applyAffinityRaw(v: TypedValue, aff: Affinity): TypedValue {
  return affinityInternal(v, aff);
}

/** applyNumericAffinity on TEXT: the INTEGER or REAL it reads as, or undefined if not numeric. */
export function textToNumeric(t: string): TypedValue | undefined {
  return numericFromText(t);
}
