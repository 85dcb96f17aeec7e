/**
 * Reading rows: iteration in b-tree order, lookups by rowid or primary key, and the export
 * format (one JSON array per row).
 *
 * Row shape: `[rowid, ...declared columns]` for rowid tables (an INTEGER PRIMARY KEY column
 * shows the rowid), `[...declared columns]` for WITHOUT ROWID tables. VIRTUAL generated
 * columns are not stored and quire does not evaluate SQL, so they are left out (their names
 * are omitted from `columnNames` too). A column missing from a short row takes its DEFAULT.
 *
 * Every iteration reads one snapshot (taken when it starts, released when it ends or the
 * loop breaks), so a row set is one committed state even while quire writes the file.
 */
import { corrupt, ErrorCode, QuireError } from '../pager/errors.js';
import type { PageSource, Pgno } from '../pager/source.js';
import type { Encoding } from '../pager/header.js';
import { IndexCursor, TableCursor, scanTable } from '../btree/cursor.js';
import type { SqlValue } from '../btree/value.js';
import { decodeRecord, encodeText, serialTypeSize } from '../btree/record.js';
import { readVarint, type Varint } from '../btree/varint.js';
import { toHex } from '../pager/bytes.js';
import { fallbackValue, type Column, type TableInfo } from './catalog.js';

export type Row = SqlValue[];

/** Names of the values in a row, in order ("rowid" first for rowid tables). */
export function columnNames(t: TableInfo, withRowid = !t.withoutRowid): string[] {
  const names = t.columns.filter((c) => c.slot >= 0 || !t.def).map((c) => c.name);
  return withRowid ? ['rowid', ...names] : names;
}

export function assertReadable(t: TableInfo): void {
  if (t.virtual) throw new QuireError(ErrorCode.UNSUPPORTED, `table ${t.name} is a virtual table (its rows belong to its module)`);
  if (t.error !== null || (!t.def && t.name !== 'sqlite_schema')) {
    throw new QuireError(ErrorCode.SCHEMA, `table ${t.name}: cannot use its schema: ${t.error ?? 'no definition'}`);
  }
}

/**
 * Offsets in a row (as rows() yields it) of REAL-affinity columns: an integral value stored
 * there (SQLite's IntReal) reads back as a REAL, so a bigint beyond 2^53 must become a number.
 */
function realSlots(t: TableInfo, withRowid: boolean): number[] {
  const out: number[] = [];
  let k = withRowid ? 1 : 0;
  for (let i = 0; i < t.columns.length; i++) {
    const c = t.columns[i];
    if (c.slot < 0) continue;
    if (c.def.affinity === 'REAL' && i !== t.rowidAlias) out.push(k);
    k++;
  }
  return out;
}

const realSlotCache = new WeakMap<TableInfo, number[]>();

/** realSlots, cached per table (rowid tables count the leading rowid). */
function realSlotsOf(t: TableInfo): number[] {
  let r = realSlotCache.get(t);
  if (!r) realSlotCache.set(t, (r = realSlots(t, !t.withoutRowid)));
  return r;
}

function realify(rows: Row[], slots: number[]): void {
  if (slots.length === 0) return;
  for (const r of rows) {
    for (const k of slots) {
      const v = r[k];
      if (typeof v === 'bigint') r[k] = Number(v);
    }
  }
}

/** Maps a rowid-table record (with its rowid) to a row `[rowid, ...stored columns]`. */
function rowidRow(t: TableInfo, rowid: SqlValue, rec: SqlValue[]): Row {
  const cols = t.columns;
  const out: Row = [rowid];
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (c.slot < 0) continue;
    if (i === t.rowidAlias) out.push(rowid);
    else out.push(c.slot < rec.length ? rec[c.slot] : fallbackValue(c));
  }
  return out;
}

/** Maps a WITHOUT ROWID record (key columns first) to a row in declaration order. */
function keyedRow(t: TableInfo, rec: SqlValue[]): Row {
  const cols = t.columns;
  const out: Row = [];
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (c.slot < 0) continue;
    out.push(c.slot < rec.length ? rec[c.slot] : fallbackValue(c));
  }
  return out;
}

/**
 * Iterates a table's rows in b-tree order over `snap`. `release` is called when the iteration
 * ends (exhausted, broken out of, or failed).
 */
export class RowIterator implements AsyncIterableIterator<Row> {
  private batch: Row[] = [];
  private pos = 0;
  private done = false;
  private readonly source: AsyncIterator<Row[]>;
  private readonly release: () => void;

  constructor(t: TableInfo, snap: PageSource, release: () => void) {
    assertReadable(t);
    this.release = release;
    this.source = t.withoutRowid ? keyedBatches(t, snap) : rowidBatches(t, snap);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Row>> {
    if (this.pos < this.batch.length) return Promise.resolve({ value: this.batch[this.pos++], done: false });
    return this.refill();
  }

  private async refill(): Promise<IteratorResult<Row>> {
    while (!this.done) {
      let r: IteratorResult<Row[]>;
      try {
        r = await this.source.next();
      } catch (e) {
        this.finish();
        throw e;
      }
      if (r.done) {
        this.finish();
        break;
      }
      if (r.value.length > 0) {
        this.batch = r.value;
        this.pos = 1;
        return { value: this.batch[0], done: false };
      }
    }
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<Row>> {
    if (!this.done) {
      await this.source.return?.();
      this.finish();
    }
    return { value: undefined, done: true };
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.batch = [];
    this.release();
  }
}

async function* rowidBatches(t: TableInfo, snap: PageSource): AsyncGenerator<Row[]> {
  // When records hold every column in declaration order (no VIRTUAL columns), the scan's
  // `[rowid, ...record]` is already the row: only the rowid alias slot (stored as NULL) and
  // short rows (defaults) need touching.
  const identity = t.columns.every((c, i) => c.slot === i);
  const alias = t.rowidAlias >= 0 ? t.rowidAlias + 1 : -1;
  const reals = realSlotsOf(t);
  for await (const batch of scanTable(snap, t.rootPage)) {
    if (identity) {
      const want = t.storedCount + 1;
      for (const r of batch) {
        if (r.length < want) for (let i = r.length - 1; i < t.storedCount; i++) r.push(fallbackValue(t.columns[i]));
        else if (r.length > want) r.length = want;
        if (alias > 0) r[alias] = r[0];
      }
      realify(batch, reals);
      yield batch;
    } else {
      const out: Row[] = new Array(batch.length);
      for (let k = 0; k < batch.length; k++) {
        const r = batch[k];
        out[k] = rowidRow(t, r[0], r.length > 1 ? r.slice(1) : []);
      }
      realify(out, realSlotsOf(t));
      yield out;
    }
  }
}

async function* keyedBatches(t: TableInfo, snap: PageSource): AsyncGenerator<Row[]> {
  const cur = new IndexCursor(snap, t.rootPage, t.keyInfo);
  let ok = await cur.first();
  let batch: Row[] = [];
  const reals = realSlotsOf(t);
  while (ok) {
    batch.push(keyedRow(t, (await cur.record()).slice()));
    if (batch.length >= 256) {
      realify(batch, reals);
      yield batch;
      batch = [];
    }
    ok = await cur.next();
  }
  realify(batch, reals);
  if (batch.length) yield batch;
}

/** One row by rowid (rowid tables) or primary key values (WITHOUT ROWID), or undefined. */
export async function lookup(t: TableInfo, snap: PageSource, key: number | bigint | readonly SqlValue[]): Promise<Row | undefined> {
  assertReadable(t);
  if (!t.withoutRowid) {
    if (typeof key !== 'number' && typeof key !== 'bigint') {
      throw new QuireError(ErrorCode.MISUSE, `table ${t.name} is a rowid table: look rows up by rowid (a number or bigint)`);
    }
    if (typeof key === 'number' && !Number.isSafeInteger(key)) throw new QuireError(ErrorCode.MISUSE, `rowid ${key} is not an integer`);
    const cur = new TableCursor(snap, t.rootPage);
    const exact = await cur.seek(key);
    if (!exact) return undefined;
    const rec = await cur.record();
    const row = rowidRow(t, cur.rowid as number | bigint, rec.slice());
    realify([row], realSlotsOf(t));
    return row;
  }
  const k = Array.isArray(key) ? key : [key as SqlValue];
  if (k.length !== t.pkColumns.length) {
    throw new QuireError(ErrorCode.MISUSE, `table ${t.name}'s primary key has ${t.pkColumns.length} columns, got ${k.length} values`);
  }
  const cur = new IndexCursor(snap, t.rootPage, t.keyInfo);
  const found = await cur.seek(k, { op: 'eq' });
  if (!found) return undefined;
  const row = keyedRow(t, (await cur.record()).slice());
  realify([row], realSlotsOf(t));
  return row;
}

// ---------------------------------------------------------------- export format

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** One value in the export format. */
export function exportValue(v: SqlValue): string {
  if (v === null) return 'null';
  if (typeof v === 'number') {
    if (v === Infinity) return '"Infinity"';
    if (v === -Infinity) return '"-Infinity"';
    return JSON.stringify(v);
  }
  if (typeof v === 'bigint') {
    return v >= -BigInt(MAX_SAFE) && v <= BigInt(MAX_SAFE) ? v.toString() : `"${v.toString()}"`;
  }
  if (typeof v === 'string') return JSON.stringify(v);
  return `{"blob":"${toHex(v)}"}`;
}

/** One row in the export format (a JSON array, no newline). */
export function exportRow(row: Row): string {
  let s = '[';
  for (let i = 0; i < row.length; i++) {
    if (i) s += ',';
    s += exportValue(row[i]);
  }
  return s + ']';
}

// ---------------------------------------------------------------- rows with storage classes

/**
 * Storage class of each value of an {@link ExactRow}, where the plain row cannot tell:
 *
 *   KIND          VALUE IN THE ROW     MEANING
 *   KIND_PLAIN    as rows() gives it    NULL, INTEGER, TEXT or BLOB (the JS type says which)
 *   KIND_REAL     number                a REAL, integral or not (1.0 is not the INTEGER 1)
 *   KIND_RAWTEXT  Uint8Array            TEXT whose bytes are not valid UTF-8 in a UTF-8
 *                                       database: the bytes as stored (decoding replaces
 *                                       them with U+FFFD). In UTF-16 databases TEXT is
 *                                       always the decoded string, as SQLite converts it.
 */
export const KIND_PLAIN = 0;
export const KIND_REAL = 1;
export const KIND_RAWTEXT = 2;

/** A row as rows() shapes it, with the storage class of each value (see KIND_*). */
export interface ExactRow {
  values: Row;
  kinds: Uint8Array;
}

const typeSlot: Varint = { value: 0 };

/** The serial types of a record's header (CORRUPT, naming `pgno`, when the header is bad). */
function serialTypes(payload: Uint8Array, pgno: Pgno): number[] {
  const end = payload.length;
  const n = readVarint(payload, 0, end, typeSlot);
  const size = typeSlot.value;
  if (n === 0 || typeof size !== 'number' || size > end || size < n) throw corrupt(pgno, 'bad record header');
  const out: number[] = [];
  for (let p = n; p < size; ) {
    const k = readVarint(payload, p, size, typeSlot);
    if (k === 0 || typeof typeSlot.value !== 'number') throw corrupt(pgno, 'bad serial type in a record header');
    out.push(typeSlot.value);
    p += k;
  }
  return out;
}

/**
 * Decodes a record keeping what a plain decode loses: which numbers are REALs, and the bytes
 * of TEXT that does not decode cleanly. `kinds` gets one KIND_* per value.
 */
function decodeExact(payload: Uint8Array, encoding: Encoding, pgno: Pgno, kinds: number[]): SqlValue[] {
  const values = decodeRecord(payload, encoding, pgno);
  const types = serialTypes(payload, pgno);
  let body = payload.length - types.reduce((s, t) => s + serialTypeSize(t), 0);
  for (let i = 0; i < types.length; i++) {
    const t = types[i];
    const size = serialTypeSize(t);
    let kind = KIND_PLAIN;
    if (t === 7 && values[i] !== null) kind = KIND_REAL;
    else if (t >= 13 && t & 1) {
      const s = values[i] as string;
      if (encoding === 1 && s.includes('\ufffd')) {
        const raw = payload.slice(body, body + size);
        if (!sameBytes(encodeText(s, encoding), raw)) {
          values[i] = raw;
          kind = KIND_RAWTEXT;
        }
      }
    }
    kinds.push(kind);
    body += size;
  }
  return values;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Kind of a column's fallback value (a short row's DEFAULT). */
function fallbackKind(c: Column): number {
  return c.fallback?.type === 'real' ? KIND_REAL : KIND_PLAIN;
}

/**
 * Maps a decoded record to an ExactRow in the shape rows() gives: `[rowid, ...stored columns]`
 * for rowid tables, the stored columns in declaration order for WITHOUT ROWID. A REAL-affinity
 * column's integer (SQLite stores integral REALs as integers there) is a REAL, as SQLite reads it.
 */
function exactRow(t: TableInfo, rowid: SqlValue | undefined, rec: SqlValue[], recKinds: number[]): ExactRow {
  const values: Row = [];
  const kinds: number[] = [];
  if (rowid !== undefined) {
    values.push(rowid);
    kinds.push(KIND_PLAIN);
  }
  for (let i = 0; i < t.columns.length; i++) {
    const c = t.columns[i];
    if (c.slot < 0) continue;
    let v: SqlValue;
    let k: number;
    if (i === t.rowidAlias) {
      v = rowid ?? null;
      k = KIND_PLAIN;
    } else if (c.slot < rec.length) {
      v = rec[c.slot];
      k = recKinds[c.slot];
    } else {
      v = fallbackValue(c);
      k = fallbackKind(c);
    }
    if (c.def.affinity === 'REAL' && i !== t.rowidAlias && (typeof v === 'number' || typeof v === 'bigint') && k === KIND_PLAIN) {
      v = Number(v);
      k = KIND_REAL;
    }
    values.push(v);
    kinds.push(k);
  }
  return { values, kinds: Uint8Array.from(kinds) };
}

/**
 * Iterates a table's rows in b-tree order over `snap` with their storage classes (for dump
 * and the lossless export). Slower than {@link RowIterator}: one payload copy per row.
 */
export async function* exactRows(t: TableInfo, snap: PageSource): AsyncGenerator<ExactRow> {
  assertReadable(t);
  const enc = snap.encoding;
  if (!t.withoutRowid) {
    const cur = new TableCursor(snap, t.rootPage);
    for (let ok = await cur.first(); ok; ok = await cur.next()) {
      const kinds: number[] = [];
      const rec = decodeExact(await cur.payload(), enc, t.rootPage, kinds);
      yield exactRow(t, cur.rowid as number | bigint, rec, kinds);
    }
    return;
  }
  const cur = new IndexCursor(snap, t.rootPage, t.keyInfo);
  for (let ok = await cur.first(); ok; ok = await cur.next()) {
    const kinds: number[] = [];
    const rec = decodeExact(await cur.payload(), enc, t.rootPage, kinds);
    yield exactRow(t, undefined, rec, kinds);
  }
}

/** The number of rows of a table (walks its leaves; decodes no record). */
export async function countRows(t: TableInfo, snap: PageSource): Promise<number> {
  assertReadable(t);
  const cur = t.withoutRowid ? new IndexCursor(snap, t.rootPage, t.keyInfo) : new TableCursor(snap, t.rootPage);
  let n = 0;
  for (let ok = await cur.first(); ok; ok = await cur.next()) n++;
  return n;
}
