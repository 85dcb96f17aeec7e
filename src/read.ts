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
import { ErrorCode, QuireError } from '../pager/errors.js';
import type { PageSource } from '../pager/source.js';
import { IndexCursor, TableCursor, scanTable } from '../btree/cursor.js';
import type { SqlValue } from '../btree/value.js';
import { toHex } from '../pager/bytes.js';
import { fallbackValue, type TableInfo } from './catalog.js';

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

/** A CSV field (RFC 4180: quoted when it holds a comma, quote or line break). */
export function csvValue(v: SqlValue): string {
  let s: string;
  if (v === null) return '';
  if (typeof v === 'number') s = Number.isFinite(v) ? String(v) : v > 0 ? 'Inf' : '-Inf';
  else if (typeof v === 'bigint') s = v.toString();
  else if (typeof v === 'string') s = v;
  else s = toHex(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
