/**
 * DEFAULT values: evaluating the literal forms SQLite can compute without running SQL, and the
 * value a column takes in a row that was written before the column existed.
 *
 * Two different evaluations exist in SQLite, and they disagree on purpose-made corner cases:
 *
 *   INSERT time     the DEFAULT expression is run like any SQL expression (expr.c), then the
 *                   column's affinity is applied: `x TEXT DEFAULT 1.50` stores '1.5'.
 *                   -> {@link evaluateLiteral} (DefaultValue.value) then applyAffinity.
 *   short rows      a record with fewer fields than the table has columns (written before
 *                   ALTER TABLE ADD COLUMN) reads the missing ones from the DEFAULT through
 *                   sqlite3ValueFromExpr with the column's affinity (vdbemem.c
 *                   valueFromExpr), then REAL columns get OP_RealAffinity: `x TEXT DEFAULT
 *                   1.50` reads as '1.50' (the token's text), `x DEFAULT (1+1)` as NULL (not a
 *                   literal), CURRENT_TIME as NULL.
 *                   -> {@link defaultFor}
 *
 * valueFromExpr, as ported here (e is the expression, aff the affinity asked for):
 *
 *   +e                       e (unary plus is skipped)
 *   CAST(e AS t)             valueFromExpr(e, aff(t)), CAST to aff(t), then apply aff
 *   -<integer or float>      the negative number in one step ("-9223372036854775808" is an
 *                            INTEGER), except for a hex literal that does not fit 31 bits
 *   <integer|float|string>   integers that fit int64 are INTEGERs, other tokens TEXT; then
 *                            aff applied, except under BLOB affinity where a float token
 *                            becomes REAL and an oversized integer token gets NUMERIC affinity
 *   -e (any other e)         numerify(valueFromExpr(e, aff)), negate, apply aff
 *   NULL, x'..', TRUE/FALSE  NULL, the BLOB, INTEGER 1/0 (with aff)
 *   anything else            no value (NULL)
 */
import {
  applyAffinityRaw,
  affinityOf,
  castTo,
  columnValue,
  integer,
  negate,
  textToNumeric,
  numerify,
  real,
  text,
} from './affinity.js';
import { SMALLEST_INT64, atof, decOrHexToI64 } from './fp.js';
import { dequote } from './tokenize.js';
import type { Encoding } from '../../pager/header.js';
import type { Affinity, ColumnDef, LiteralExpr, TypedValue } from './types.js';

const NULL_VALUE: TypedValue = { type: 'null', value: null };

/** sqlite3GetInt32: would the token be stored as a 32-bit EP_IntValue? */
function fitsInt32(tok: string): boolean {
  let s = tok;
  if (s.length > 2 && s[0] === '0' && (s[1] === 'x' || s[1] === 'X')) {
    s = s.slice(2).replace(/^0+/, '');
    if (s.length > 8 || !/^[0-9a-fA-F]*$/.test(s)) return false;
    return s === '' || parseInt(s, 16) <= 0x7fffffff;
  }
  if (!/^[0-9]+$/.test(s)) return false;
  s = s.replace(/^0+/, '');
  return s.length <= 10 && (s === '' || Number(s) <= 2147483647);
}

function isHexToken(tok: string): boolean {
  return tok.length > 1 && tok[0] === '0' && (tok[1] === 'x' || tok[1] === 'X');
}

/**
 * The value SQL computes for a literal expression (expr.c codeInteger / codeReal / OP_Subtract
 * / CAST), before any column affinity; undefined when SQLite would refuse to run it (a hex
 * literal too big for 64 bits).
 */
export function evaluateLiteral(e: LiteralExpr, encoding: Encoding = 1): TypedValue | undefined {
  switch (e.op) {
    case 'integer':
      return codeInteger(e.text, false);
    case 'float':
      return real(atof(e.text).value);
    case 'string':
      return text(e.value);
    case 'blob':
      return { type: 'blob', value: e.value };
    case 'null':
      return NULL_VALUE;
    case 'bool':
      return integer(e.value ? 1 : 0);
    case 'plus':
      return evaluateLiteral(e.arg, encoding);
    case 'negate': {
      if (e.arg.op === 'integer') return codeInteger(e.arg.text, true);
      if (e.arg.op === 'float') return real(-atof(e.arg.text).value);
      const v = evaluateLiteral(e.arg, encoding);
      return v === undefined ? undefined : negate(v, encoding);
    }
    case 'cast': {
      const v = evaluateLiteral(e.arg, encoding);
      return v === undefined ? undefined : castTo(v, affinityOf(dequote(e.type)), encoding);
    }
  }
}

function codeInteger(tok: string, neg: boolean): TypedValue | undefined {
  const { value, rc } = decOrHexToI64(tok);
  if ((rc === 3 && !neg) || rc === 2 || (neg && value === SMALLEST_INT64)) {
    if (isHexToken(tok)) return undefined; // "hex literal too big"
    const r = atof(tok).value;
    return real(neg ? -r : r);
  }
  if (neg) return integer(rc === 3 ? SMALLEST_INT64 : -value);
  return integer(value);
}

function blobLiteral(e: LiteralExpr): boolean {
  while (e.op === 'plus') e = e.arg;
  return e.op === 'blob';
}

/** sqlite3ValueFromExpr(e, aff); undefined means "no value" (SQLite then reads NULL). */
export function valueFromExpr(e: LiteralExpr, aff: Affinity, encoding: Encoding = 1): TypedValue | undefined {
  while (e.op === 'plus') e = e.arg;
  if (e.op === 'cast') {
    const castAff = affinityOf(dequote(e.type));
    const v = valueFromExpr(e.arg, castAff, encoding);
    if (v === undefined) return undefined;
    // A blob literal is tagged UTF-8 here (sqlite3VdbeMemSetStr with enc 0), whatever the
    // database encoding; a blob made by CAST keeps the database encoding.
    return applyAffinityRaw(castTo(v, castAff, encoding, blobLiteral(e.arg) ? 1 : encoding), aff);
  }
  let neg = false;
  if (e.op === 'negate' && (e.arg.op === 'integer' || e.arg.op === 'float')) {
    const t = e.arg.text;
    if (e.arg.op === 'float' || fitsInt32(t) || !isHexToken(t)) {
      e = e.arg;
      neg = true;
    }
  }
  if (e.op === 'integer' || e.op === 'float' || e.op === 'string') {
    let v: TypedValue;
    if (e.op === 'integer' && fitsInt32(e.text)) {
      const i = Number(decOrHexToI64(e.text).value);
      v = integer(neg ? -i : i);
    } else if (e.op === 'integer' && decOrHexToI64(e.text).rc === 0) {
      const i = decOrHexToI64(e.text).value;
      v = integer(neg ? BigInt.asIntN(64, -i) : i);
    } else {
      v = text((neg ? '-' : '') + (e.op === 'string' ? e.value : e.text));
    }
    if (aff === 'BLOB') {
      if (e.op === 'float') return real(atof(v.value as string).value);
      if (e.op === 'integer' && v.type === 'text') return textToNumeric(v.value) ?? v;
      return v;
    }
    return applyAffinityRaw(v, aff);
  }
  if (e.op === 'negate') {
    const inner = valueFromExpr(e.arg, aff, encoding);
    if (inner === undefined) return undefined;
    let v = numerify(inner, blobLiteral(e.arg) ? 1 : encoding);
    if (v.type === 'real') v = real(-v.value);
    else if (v.type === 'integer') {
      const i = typeof v.value === 'bigint' ? v.value : BigInt(v.value);
      v = i === SMALLEST_INT64 ? real(9223372036854775808) : integer(-i);
    }
    return applyAffinityRaw(v, aff);
  }
  switch (e.op) {
    case 'null':
      return NULL_VALUE;
    case 'blob':
      return { type: 'blob', value: e.value };
    case 'bool':
      return applyAffinityRaw(integer(e.value ? 1 : 0), aff);
    default:
      return undefined;
  }
}

/**
 * The value of column `column` in a row whose record ends before it (a row written before
 * ALTER TABLE ADD COLUMN), as SQLite reads it: the DEFAULT through valueFromExpr with the
 * column's affinity, NULL when there is no DEFAULT or it is not a literal (CURRENT_TIME, any
 * expression), and REAL columns read their integers as REAL. `encoding` (the database's, 1
 * UTF-8 by default) only matters for a CAST between TEXT and BLOB in the DEFAULT.
 */
export function defaultFor(column: ColumnDef, encoding: Encoding = 1): TypedValue {
  const d = column.default;
  if (d === undefined || d.kind !== 'constant') return NULL_VALUE;
  const v = valueFromExpr(d.expr, column.affinity, encoding) ?? NULL_VALUE;
  return columnValue(v, column.affinity);
}
