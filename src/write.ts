/**
 * Writing: creating databases, schema changes (CREATE/DROP TABLE and INDEX), and row changes
 * with SQLite's semantics, inside transactions that commit atomically through the pager.
 *
 * A Transaction wraps the pager's WriteTxn and a BtreeWriter. Every statement (exec, insert,
 * update, delete, each row of insertMany) is atomic on its own, whatever makes it fail: it runs
 * inside a statement savepoint (the pager keeps the image each page had before the statement
 * first changed it, as SQLite's statement journal does), and any error (a constraint, a
 * UNIQUE index over duplicate rows, an I/O error reading an index page half-way through)
 * restores those images before it is rethrown. A failed statement leaves the transaction
 * usable, as in SQLite. The exceptions are the small inserts and deletes of a table
 * without indexes, which need no savepoint (as SQLite runs a single-row INSERT that cannot
 * abort half-way without a statement journal): each reads (waits for) and checks everything
 * it depends on before its first write, and none of its writes can fail, so it either
 * changes nothing or completes: an append writes one cell into the right-most leaf
 * (tryAppend), or, when that leaf is full, starts the next page past the end with it and
 * appends the divider to the parent (the append's balance_quick); a given rowid goes into a
 * leaf whose gap holds the cell, or splits a full leaf with its siblings after reading them
 * all (tryInsert); a delete drops a cell without overflow from a
 * leaf that stays a third full (tryDelete). Anything else (an overflow chain, a split
 * that reaches the parent's parent, a merge, a free page to reuse, a table with indexes) is a
 * statement.
 *
 * What quire writes, and what it refuses (UNSUPPORTED) because it would need to evaluate SQL:
 *
 *   writes                                   refuses to write
 *   ---------------------------------------  ---------------------------------------------
 *   declared-type affinity, STRICT types     tables with CHECK constraints
 *   NOT NULL, UNIQUE, PRIMARY KEY            tables with generated columns
 *   INTEGER PRIMARY KEY (rowid alias)        tables with expression or partial indexes
 *   AUTOINCREMENT + sqlite_sequence          tables with triggers
 *   literal and CURRENT_* DEFAULTs           DEFAULT (expression) for an omitted column
 *   column indexes (COLLATE, DESC)           views, virtual tables, sqlite_schema
 *   WITHOUT ROWID tables                     CREATE of expression/partial indexes, views,
 *                                            triggers, virtual tables
 *
 * FOREIGN KEY clauses are recorded and, as in SQLite by default (PRAGMA foreign_keys=OFF),
 * not enforced. ON CONFLICT clauses in the schema: REPLACE and IGNORE are honoured for UNIQUE
 * and PRIMARY KEY conflicts when the caller does not choose a resolution; ROLLBACK, FAIL and
 * ABORT all fail the statement (quire has no partial statements to keep).
 *
 * Errors: CONSTRAINT with SQLite's message ("UNIQUE constraint failed: t.a", "NOT NULL
 * constraint failed: t.b", "cannot store TEXT value in INTEGER column t.c", "datatype
 * mismatch"), NOTFOUND for unknown tables, SCHEMA for SQL quire cannot parse, UNSUPPORTED as
 * above, FULL when no rowid is left.
 */
import { ErrorCode, QuireError, misuse } from '../pager/errors.js';
import { get32, put32 } from '../pager/bytes.js';
import type { WriteTxn } from '../pager/pager.js';
import { newHeader, type Encoding } from '../pager/header.js';
import { IndexCursor, TableCursor } from '../btree/cursor.js';
import { encodeRecord } from '../btree/record.js';
import type { SqlValue } from '../btree/value.js';
import { BtreeWriter, initializeDatabase } from '../btree/write.js';
import { nameKey, readCatalog, type Catalog, type IndexInfo, type TableInfo } from './catalog.js';
import { assertReadable, lookup, RowIterator, type Row } from './read.js';
import { parseCreateIndex, parseCreateTable, parseSchemaSql } from './schema/parse.js';
import { automaticIndexes, indexColumns } from './schema/autoindex.js';
import { storedValue, strictValue, typed, toSqlValue } from './schema/affinity.js';
import { dequoteToken, tokenize } from './schema/tokenize.js';
import type { TypedValue } from './schema/types.js';
import type { Database } from './database.js';

/** Options for a new database (used when the file is empty at the first write). */
export interface CreateOptions {
  /** Page size, a power of two 512..65536. Default 4096. */
  pageSize?: number;
  /** Text encoding. Default 'UTF-8'. */
  encoding?: 'UTF-8' | 'UTF-16le' | 'UTF-16be';
  /** Auto-vacuum mode. Default 'none'. */
  autoVacuum?: 'none' | 'full' | 'incremental';
  /** Journal mode of the new file: 'rollback' (default) or 'wal'. */
  journalMode?: 'rollback' | 'wal';
  /** Bytes reserved at the end of every page. Default 0. */
  reservedBytes?: number;
}

/** A value as callers pass it: an SQL value, a boolean (stored as 1/0) or undefined (omitted). */
export type InputValue = SqlValue | boolean | undefined | TypedValue;

export type RowInput = Record<string, InputValue> | readonly InputValue[];

export type ConflictMode = 'abort' | 'replace' | 'ignore';

/** A row's identity: rowid (rowid tables) or primary-key values (WITHOUT ROWID). */
type Identity = bigint | SqlValue[];

function sameIdentity(a: Identity, b: Identity): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') return a === b;
  return sameValues(a, b);
}

export interface WriteOptions {
  /** What to do when a UNIQUE / PRIMARY KEY constraint would be violated. Default: the
   * constraint's own ON CONFLICT clause, else 'abort' (CONSTRAINT error, nothing written). */
  onConflict?: ConflictMode;
}

/** A rowid: a number within ±(2^53−1), a bigint beyond. */
export type Rowid = number | bigint;

/**
 * What `insert` gives for the row it wrote: the rowid of a rowid table, or the primary-key
 * values of a WITHOUT ROWID table (which has no rowid: ask for them with `insert<SqlValue[]>`).
 */
export type InsertedKey = Rowid | SqlValue[];

const ENCODINGS: Record<string, Encoding> = { 'UTF-8': 1, 'UTF-16le': 2, 'UTF-16be': 3 };

/** Formats page 1 of an empty database file as `options` asks. */
export async function initializeFile(txn: WriteTxn, options: CreateOptions): Promise<void> {
  const enc = ENCODINGS[options.encoding ?? 'UTF-8'];
  if (!enc) throw misuse(`unknown encoding ${options.encoding}`);
  const h = newHeader({
    pageSize: options.pageSize ?? txn.pageSize,
    reservedBytes: options.reservedBytes ?? 0,
    encoding: enc,
    autoVacuum: options.autoVacuum ?? 'none',
    wal: options.journalMode === 'wal',
  });
  if (h.pageSize !== txn.pageSize) {
    throw misuse(`page size ${h.pageSize} requested for a database the pager opened with page size ${txn.pageSize}`);
  }
  await initializeDatabase(txn, h);
}

function constraint(message: string): QuireError {
  return new QuireError(ErrorCode.CONSTRAINT, message);
}

function unsupported(message: string): QuireError {
  return new QuireError(ErrorCode.UNSUPPORTED, message);
}

/** Normalises a caller's value (see InputValue). */
function inputValue(v: InputValue): TypedValue {
  if (typeof v === 'boolean') return typed(v ? 1 : 0);
  if (v === undefined) return typed(null);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !('type' in v)) {
    throw misuse(`cannot store a value of type ${Object.prototype.toString.call(v)}`);
  }
  return typed(v as SqlValue | TypedValue);
}

const NULL: TypedValue = typed(null);
/** recordOf's scratch (it is synchronous: encodeRecord consumes them before it returns). */
const recordFields: SqlValue[] = [];
const recordAsReal: boolean[] = [];
/** The statistics tables ANALYZE may have made; column 0 is tbl, column 1 idx in each. */
const STAT_TABLES = ['sqlite_stat1', 'sqlite_stat2', 'sqlite_stat3', 'sqlite_stat4'];
const SMALLEST = -(1n << 63n);
const LARGEST = (1n << 63n) - 1n;

/** The text SQLite keeps in sqlite_schema: "CREATE <KIND> " + the statement from the name on. */
function schemaText(sql: string, kind: 'TABLE' | 'INDEX' | 'UNIQUE INDEX', name: string): string {
  const toks = tokenize(sql).filter((t) => t.type !== 'EOF');
  // The name token is the first one after TABLE/INDEX [IF NOT EXISTS] (possibly schema-qualified).
  let i = toks.findIndex((t) => /^(TABLE|INDEX)$/i.test(t.text));
  i++;
  if (toks[i] && /^IF$/i.test(toks[i].text)) i += 3;
  if (toks[i + 1] && toks[i + 1].text === '.') i += 2;
  const start = toks[i]?.start ?? 0;
  let body = sql.slice(start).trim();
  while (body.endsWith(';')) body = body.slice(0, -1).trimEnd();
  void name;
  return `CREATE ${kind} ${body}`;
}

/** Splits a script into statements (on ';' outside strings, identifiers and comments). */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (const t of tokenize(sql)) {
    if (t.type === 'SEMI') {
      const s = sql.slice(start, t.start).trim();
      if (s) out.push(s);
      start = t.start + t.text.length;
    }
  }
  const last = sql.slice(start).trim();
  if (last) out.push(last);
  return out;
}

function nowUtc(): Date {
  return new Date();
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function timeDefault(which: 'CURRENT_TIME' | 'CURRENT_DATE' | 'CURRENT_TIMESTAMP'): TypedValue {
  const d = nowUtc();
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return typed(which === 'CURRENT_DATE' ? date : which === 'CURRENT_TIME' ? time : `${date} ${time}`);
}

/** A prepared row: stored values per column, the rowid (rowid tables) and record fields. */
interface PreparedRow {
  values: TypedValue[];
  rowid: bigint | null;
}

/**
 * Tables checked writable (Transaction.assertWritable), per catalog: the check depends on the
 * table and its catalog only, and a schema change makes a new catalog.
 */
const writableTables = new WeakMap<Catalog, Map<string, TableInfo>>();

/** Whether new rows of `t` may take the append path (no key that could conflict), per table. */
const appendableCache = new WeakMap<TableInfo, boolean>();
function appendable(t: TableInfo): boolean {
  let a = appendableCache.get(t);
  if (a === undefined) {
    a = !t.withoutRowid && !t.def!.autoincrement && !t.indexes.some((ix) => ix.unique);
    appendableCache.set(t, a);
  }
  return a;
}

/** plainFields' answer when the row needs prepare(). */
const NOT_PLAIN = -1.5;
const INT47 = 140737488355327;

/**
 * The record fields of a row given as an array of every column's value, into recordFields and
 * recordAsReal, when each value is stored exactly as given (what prepare would produce with no
 * conversion): a non-STRICT rowid table, and per column a null (not NOT NULL), a blob, a text
 * under TEXT or no affinity, an integer (safe, not -0; within ±2^47 under REAL affinity; not
 * under TEXT affinity) or a non-integral number (not under TEXT affinity). Returns the rowid
 * (the INTEGER PRIMARY KEY's safe integer, or null for a new one), or NOT_PLAIN when any value
 * needs prepare() (which then gives the same record, or the error).
 */
function plainFields(t: TableInfo, row: readonly InputValue[]): number | null {
  const cols = t.columns;
  const rc = t.recordColumns;
  // (Columns not in the record, none in a writable table, would need prepare's checks.)
  if (t.def!.strict || row.length !== cols.length || rc.length !== cols.length) return NOT_PLAIN;
  const fields = recordFields;
  const asReal = recordAsReal;
  if (fields.length !== rc.length) fields.length = asReal.length = rc.length;
  let rowid: number | null = null;
  for (let f = 0; f < rc.length; f++) {
    const i = rc[f];
    const v = row[i];
    let real = false;
    if (i === t.rowidAlias) {
      if (v === null) rowid = null;
      else if (typeof v === 'number' && Number.isSafeInteger(v) && !(v === 0 && 1 / v < 0)) rowid = v;
      else return NOT_PLAIN;
      fields[f] = null;
      asReal[f] = false;
      continue;
    }
    const cd = cols[i].def;
    const aff = cd.affinity;
    if (v === null) {
      if (cd.notNull) return NOT_PLAIN;
    } else if (typeof v === 'string') {
      if (aff !== 'TEXT' && aff !== 'BLOB') return NOT_PLAIN;
    } else if (typeof v === 'number') {
      if (aff === 'TEXT') return NOT_PLAIN;
      if (Number.isSafeInteger(v)) {
        if ((v === 0 && 1 / v < 0) || (aff === 'REAL' && (v > INT47 || v < -INT47 - 1))) return NOT_PLAIN;
      } else if (Number.isInteger(v) || v !== v) return NOT_PLAIN;
      else real = true;
    } else if (!(v instanceof Uint8Array)) return NOT_PLAIN;
    fields[f] = v;
    asReal[f] = real;
  }
  return rowid;
}

/** The resolution of a conflict: the caller's mode, else the constraint's ON CONFLICT clause, else abort. */
function conflictMode(mode: ConflictMode | undefined, declared: string | undefined): ConflictMode {
  return mode ?? (declared === 'REPLACE' ? 'replace' : declared === 'IGNORE' ? 'ignore' : 'abort');
}

function asBig(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

function smallest(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

export class Transaction {
  readonly db: Database;
  /** @internal */
  readonly txn: WriteTxn;
  private writer: BtreeWriter;
  private catalog: Catalog | null = null;
  /**
   * Integers 0 and 1 take serial types 8/9 (no body bytes) only in schema format 4, the
   * format of every database made since SQLite 3.3.0 (and of a new one); as OP_MakeRecord
   * does, a file of an older format gets the one-byte integer forms. Set by schema().
   */
  private boolTypes = true;

  /** @internal */
  constructor(db: Database, txn: WriteTxn) {
    this.db = db;
    this.txn = txn;
    this.writer = new BtreeWriter(txn);
  }

  get active(): boolean {
    return this.txn.active;
  }

  private check(): void {
    if (!this.txn.active) throw misuse('the transaction has ended');
  }

  /** The catalog as this transaction sees it (its own schema changes included). */
  async schema(): Promise<Catalog> {
    this.check();
    if (!this.catalog) {
      const p1 = await this.txn.page(1);
      const cookie = get32(p1, 40);
      this.boolTypes = (get32(p1, 44) || 4) >= 4;
      // Unchanged schema: the database's cached catalog (parsed once, not per transaction).
      this.catalog =
        cookie === this.txn.base.header?.schemaCookie && !this.txn.isDirty(1)
          ? await this.db.catalogAt(this.txn.base)
          : await readCatalog(this.txn, cookie, get32(p1, 44) || 4);
    }
    return this.catalog;
  }

  private async table(name: string): Promise<TableInfo> {
    if (typeof name !== 'string') throw misuse('a table name must be a string');
    const t = (await this.schema()).tables.get(nameKey(name));
    if (!t) throw new QuireError(ErrorCode.NOTFOUND, `no such table: ${name}`);
    return t;
  }

  /**
   * Runs `fn` as one statement: on any error every page it changed is restored (the writer's
   * append tails see the restored images and drop themselves), then the error is rethrown.
   * After it succeeds, a safe point for the pager's cache spill (no page image is held across
   * statements).
   */
  private statement<T>(fn: () => Promise<T>): Promise<T> {
    let sp: number;
    let run: Promise<T>;
    try {
      this.check();
      sp = this.txn.savepoint();
      run = fn();
    } catch (e) {
      return Promise.reject(e);
    }
    // Without an async frame of its own (one per row on the insert paths).
    return run.then(
      (r) => {
        this.txn.release(sp);
        const spill = this.txn.maybeSpill();
        return spill ? spill.then(() => r) : r;
      },
      (e: unknown) => {
        if (this.txn.active) {
          this.txn.rollbackTo(sp);
          this.txn.release(sp);
          this.writer = new BtreeWriter(this.txn);
          this.catalog = null;
        }
        throw e;
      },
    );
  }

  // ------------------------------------------------------------------ schema changes

  /** Runs CREATE TABLE / CREATE INDEX / DROP TABLE / DROP INDEX statements (';'-separated). */
  async exec(sql: string): Promise<void> {
    this.check();
    if (typeof sql !== 'string') throw misuse('exec() takes SQL text');
    for (const stmt of splitStatements(sql)) await this.statement(() => this.execOne(stmt));
  }

  private async execOne(sql: string): Promise<void> {
    const words = tokenize(sql)
      .filter((t) => t.type !== 'EOF')
      .slice(0, 4)
      .map((t) => t.text.toUpperCase());
    if (words[0] === 'CREATE') {
      const kind = words[1] === 'UNIQUE' ? 'INDEX' : words[1] === 'TEMP' || words[1] === 'TEMPORARY' ? words[2] : words[1];
      if (words[1] === 'TEMP' || words[1] === 'TEMPORARY') throw unsupported('quire databases have no TEMP schema');
      if (kind === 'TABLE') return this.createTable(sql);
      if (kind === 'INDEX') return this.createIndex(sql);
      if (kind === 'VIRTUAL') throw unsupported('CREATE VIRTUAL TABLE needs the module, which quire does not have');
      if (kind === 'VIEW' || kind === 'TRIGGER') throw unsupported(`CREATE ${kind} is not supported by quire (it stores SQL quire cannot check)`);
    } else if (words[0] === 'DROP') {
      const ifExists = words[2] === 'IF' && words[3] === 'EXISTS';
      const toks = tokenize(sql).filter((t) => t.type !== 'EOF');
      let i = ifExists ? 4 : 2;
      if (toks[i + 1]?.text === '.') i += 2;
      const nameTok = toks[i];
      if (!nameTok || toks.length > i + 1) throw new QuireError(ErrorCode.SCHEMA, `cannot parse: ${sql}`);
      const name = dequoteToken(nameTok.text);
      if (words[1] === 'TABLE') return this.dropTable(name, ifExists);
      if (words[1] === 'INDEX') return this.dropIndex(name, ifExists);
    }
    throw unsupported(`quire runs only CREATE TABLE, CREATE INDEX, DROP TABLE and DROP INDEX statements, not: ${sql.slice(0, 60)}`);
  }

  private async bumpCookie(): Promise<void> {
    const p1 = await this.txn.writable(1);
    put32(p1, 40, (get32(p1, 40) + 1) >>> 0);
    if (get32(p1, 44) === 0) put32(p1, 44, 4);
    this.catalog = null;
  }

  private async addSchemaRow(type: string, name: string, tblName: string, root: number, sql: string | null): Promise<void> {
    const max = await this.writer.maxRowid(1);
    const rowid = max === null ? 1n : asBig(max) + 1n;
    const rec = encodeRecord([type, name, tblName, root, sql], this.txn.encoding, { boolTypes: this.boolTypes });
    await this.writer.insert(1, smallest(rowid), rec);
  }

  private async createTable(sql: string): Promise<void> {
    const def = parseCreateTable(sql);
    if (def.temp) throw unsupported('quire databases have no TEMP schema');
    if (def.schema !== undefined && nameKey(def.schema) !== 'main') throw new QuireError(ErrorCode.ERROR, `unknown database ${def.schema}`);
    if (def.virtual) throw unsupported('CREATE VIRTUAL TABLE needs the module, which quire does not have');
    const cat = await this.schema();
    if (cat.tables.has(nameKey(def.name)) || cat.indexes.has(nameKey(def.name)) || cat.views.some((v) => nameKey(v.name) === nameKey(def.name))) {
      if (def.ifNotExists && cat.tables.has(nameKey(def.name))) return;
      throw new QuireError(ErrorCode.ERROR, `${cat.tables.has(nameKey(def.name)) ? 'table' : 'object'} ${def.name} already exists`);
    }
    if (nameKey(def.name).startsWith('sqlite_')) {
      throw new QuireError(ErrorCode.ERROR, `object name reserved for internal use: ${def.name}`);
    }
    const autos = automaticIndexes(def);
    if (def.autoincrement && !cat.tables.has('sqlite_sequence')) {
      const root = await this.writer.createBtree('table');
      await this.addSchemaRow('table', 'sqlite_sequence', 'sqlite_sequence', root, 'CREATE TABLE sqlite_sequence(name,seq)');
    }
    const root = await this.writer.createBtree(def.withoutRowid ? 'index' : 'table');
    await this.addSchemaRow('table', def.name, def.name, root, schemaText(sql, 'TABLE', def.name));
    for (const a of autos) {
      if (!a.inSchema) continue;
      const r = await this.writer.createBtree('index');
      await this.addSchemaRow('index', a.name, def.name, r, null);
    }
    await this.bumpCookie();
  }

  private async createIndex(sql: string): Promise<void> {
    const def = parseCreateIndex(sql);
    if (def.schema !== undefined && nameKey(def.schema) !== 'main') throw new QuireError(ErrorCode.ERROR, `unknown database ${def.schema}`);
    const cat = await this.schema();
    if (cat.indexes.has(nameKey(def.name)) || cat.tables.has(nameKey(def.name))) {
      if (def.ifNotExists && cat.indexes.has(nameKey(def.name))) return;
      throw new QuireError(ErrorCode.ERROR, `${cat.indexes.has(nameKey(def.name)) ? 'index' : 'object'} ${def.name} already exists`);
    }
    if (nameKey(def.name).startsWith('sqlite_')) throw new QuireError(ErrorCode.ERROR, `object name reserved for internal use: ${def.name}`);
    const t = cat.tables.get(nameKey(def.table));
    if (!t) throw new QuireError(ErrorCode.NOTFOUND, `no such table: main.${def.table}`);
    if (t.name.toLowerCase().startsWith('sqlite_')) throw new QuireError(ErrorCode.ERROR, `table ${t.name} may not be indexed`);
    if (def.where !== undefined) throw unsupported('partial indexes (CREATE INDEX ... WHERE) need SQL evaluation, which quire does not do');
    if (def.terms.some((x) => x.expr !== undefined)) throw unsupported('expression indexes need SQL evaluation, which quire does not do');
    assertReadable(t);
    indexColumns(def, t.def!); // SCHEMA error for a term naming no column
    const root = await this.writer.createBtree('index');
    await this.addSchemaRow('index', def.name, t.name, root, schemaText(sql, def.unique ? 'UNIQUE INDEX' : 'INDEX', def.name));
    await this.bumpCookie();
    // Fill it from the table's rows (the table's pages are not touched while we iterate).
    const cat2 = await this.schema();
    const ix = cat2.indexes.get(nameKey(def.name))!;
    const table = cat2.tables.get(nameKey(t.name))!;
    for await (const row of new RowIterator(table, this.txn, () => undefined)) {
      const v = this.valuesFromRow(table, row);
      const key = this.indexKey(table, ix, v.values, v.rowid);
      if (ix.unique && (await this.indexDuplicates(table, ix, key)).length > 0) {
        throw constraint(`UNIQUE constraint failed: ${this.constraintColumns(table, ix)}`);
      }
      await this.writer.insertIndex(ix.rootPage, this.encode(key), ix.keyInfo);
    }
  }

  private async dropTable(name: string, ifExists: boolean): Promise<void> {
    const cat = await this.schema();
    const t = dropTarget(cat.tables, 'table', name, ifExists);
    if (!t) return;
    if (nameKey(t.name).startsWith('sqlite_')) throw new QuireError(ErrorCode.ERROR, `table ${t.name} may not be dropped`);
    if (t.virtual) throw unsupported('dropping a virtual table needs its module, which quire does not have');
    const roots: Array<{ root: number; name: string }> = [];
    for (const ix of t.indexes) roots.push({ root: ix.rootPage, name: ix.name });
    roots.push({ root: t.rootPage, name: t.name });
    // Remove the schema rows: the table's own row (by name), and the indexes and triggers ON
    // it (by tbl_name: a trigger has its own namespace, so one named like the table may belong
    // to another table, and stays).
    const key = nameKey(t.name);
    const doomed = cat.rows.filter((r) =>
      r.type === 'table' ? nameKey(r.name) === key : (r.type === 'index' || r.type === 'trigger') && nameKey(r.tblName) === key,
    );
    for (const r of doomed) await this.writer.delete(1, r.rowid);
    // sqlite_sequence and the sqlite_stat tables forget the table (sqlite3ClearStatTables).
    await this.deleteSystemRows(cat, 'sqlite_sequence', 0, t.name);
    for (const stat of STAT_TABLES) await this.deleteSystemRows(cat, stat, 0, t.name);
    // Free the b-trees, largest root first (auto-vacuum moves the last root into holes).
    roots.sort((a, b) => b.root - a.root);
    for (const { root } of roots) {
      if (root <= 0) continue;
      const moved = await this.writer.dropBtree(root);
      if (moved) await this.rootMoved(moved.movedFrom, moved.movedTo);
    }
    await this.bumpCookie();
  }

  /**
   * Deletes the rows of system table `name` (if the database has it) whose column `col` is the
   * text `value`, as SQLite's DROP does with "DELETE FROM <name> WHERE <col> = <value>".
   */
  private async deleteSystemRows(cat: Catalog, name: string, col: number, value: string): Promise<void> {
    const t = cat.tables.get(name);
    if (!t || !t.def || t.withoutRowid) return;
    const doomed: Array<number | bigint> = [];
    for await (const row of new RowIterator(t, this.txn, () => undefined)) {
      if (row[col + 1] === value) doomed.push(row[0] as number | bigint);
    }
    for (const rowid of doomed) await this.writer.delete(t.rootPage, rowid);
  }

  /** Auto-vacuum moved a root page: its sqlite_schema row must follow. */
  private async rootMoved(from: number, to: number): Promise<void> {
    this.catalog = null;
    const cur = new TableCursor(this.txn, 1);
    let ok = await cur.first();
    while (ok) {
      const rec = (await cur.record()).slice();
      if (rec[3] === from || rec[3] === BigInt(from)) {
        rec[3] = to;
        await this.writer.insert(1, cur.rowid as number | bigint, encodeRecord(rec, this.txn.encoding, { boolTypes: this.boolTypes }));
        return;
      }
      ok = await cur.next();
    }
  }

  private async dropIndex(name: string, ifExists: boolean): Promise<void> {
    const cat = await this.schema();
    const ix = dropTarget(cat.indexes, 'index', name, ifExists);
    if (!ix) return;
    if (ix.auto) throw new QuireError(ErrorCode.ERROR, `index associated with UNIQUE or PRIMARY KEY constraint cannot be dropped`);
    const row = cat.rows.find((r) => r.type === 'index' && nameKey(r.name) === nameKey(ix.name))!;
    await this.writer.delete(1, row.rowid);
    for (const stat of STAT_TABLES) await this.deleteSystemRows(cat, stat, 1, ix.name);
    const moved = await this.writer.dropBtree(ix.rootPage);
    if (moved) await this.rootMoved(moved.movedFrom, moved.movedTo);
    await this.bumpCookie();
  }

  // ------------------------------------------------------------------ rows

  private assertWritable(t: TableInfo, cat: Catalog): void {
    assertReadable(t);
    const def = t.def!;
    if (nameKey(t.name) === 'sqlite_schema' || nameKey(t.name) === 'sqlite_master') throw unsupported('sqlite_schema is written through CREATE and DROP only');
    if (def.checks.length) throw unsupported(`table ${t.name} has CHECK constraints, which quire cannot evaluate; writes are refused`);
    if (def.columns.some((c) => c.generated)) throw unsupported(`table ${t.name} has generated columns, which quire cannot compute; writes are refused`);
    if (cat.triggers.some((r) => nameKey(r.tblName) === nameKey(t.name))) throw unsupported(`table ${t.name} has triggers, which quire cannot run; writes are refused`);
    for (const ix of t.indexes) {
      if (ix.partial || ix.expression) throw unsupported(`index ${ix.name} on ${t.name} is a partial or expression index, which quire cannot maintain; writes are refused`);
      if (ix.error) throw new QuireError(ErrorCode.SCHEMA, `index ${ix.name}: ${ix.error}`);
    }
  }

  /** Stored values for every column from a caller's row (defaults, affinity, STRICT, NOT NULL). */
  private prepare(t: TableInfo, input: RowInput): PreparedRow {
    const cols = t.columns;
    let given: readonly InputValue[];
    let explicitRowid: InputValue | undefined;
    if (Array.isArray(input)) {
      if (input.length > cols.length) throw misuse(`table ${t.name} has ${cols.length} columns but ${input.length} values were given`);
      given = input;
    } else if (input && typeof input === 'object') {
      const byColumn: InputValue[] = new Array(cols.length);
      for (const [k, v] of Object.entries(input as Record<string, InputValue>)) {
        if (v === undefined) continue;
        const kk = nameKey(k);
        const i = cols.findIndex((c) => nameKey(c.name) === kk);
        if (i >= 0) byColumn[i] = v;
        else if (!t.withoutRowid && (kk === 'rowid' || kk === 'oid' || kk === '_rowid_')) {
          if (t.rowidAlias >= 0) byColumn[t.rowidAlias] = v;
          else explicitRowid = v;
        } else throw new QuireError(ErrorCode.ERROR, `table ${t.name} has no column named ${k}`);
      }
      given = byColumn;
    } else throw misuse('a row is an object of column values or an array in column order');

    const def = t.def!;
    const values: TypedValue[] = new Array(cols.length);
    for (let i = 0; i < cols.length; i++) {
      const cd = cols[i].def;
      const g = given[i];
      let v: TypedValue;
      if (g !== undefined) v = inputValue(g);
      else if (cd.default === undefined) v = NULL;
      else if (cd.default.kind === 'constant' && cd.default.value !== undefined) v = cd.default.value;
      else if (cd.default.kind === 'time') v = timeDefault(cd.default.which);
      else throw unsupported(`column ${t.name}.${cols[i].name} has DEFAULT ${cd.default.text}, which quire cannot evaluate: give a value`);
      if (i === t.rowidAlias) {
        values[i] = v;
        continue;
      }
      v = def.strict ? strictValue(v, cd, t.name) : storedValue(v, cd.affinity);
      if (cd.notNull && v.type === 'null') throw constraint(`NOT NULL constraint failed: ${t.name}.${cols[i].name}`);
      values[i] = v;
    }
    // The rowid: the INTEGER PRIMARY KEY's value, or an explicit rowid/oid/_rowid_.
    let rowid: bigint | null = null;
    if (!t.withoutRowid) {
      let rv: TypedValue | null = null;
      if (t.rowidAlias >= 0 && given[t.rowidAlias] !== undefined) rv = values[t.rowidAlias];
      else if (t.rowidAlias < 0 && explicitRowid !== undefined) rv = inputValue(explicitRowid);
      if (rv && rv.type !== 'null') {
        const n = rv.type === 'integer' ? rv : storedValue(rv, 'INTEGER');
        if (n.type !== 'integer') throw new QuireError(ErrorCode.CONSTRAINT, 'datatype mismatch');
        rowid = asBig(n.value);
      }
    }
    return { values, rowid };
  }

  /** The values of a stored row (as rows() yields it) in the PreparedRow shape. */
  private valuesFromRow(t: TableInfo, row: Row): PreparedRow {
    const values: TypedValue[] = [];
    let k = t.withoutRowid ? 0 : 1;
    for (let i = 0; i < t.columns.length; i++) {
      if (t.columns[i].slot < 0) {
        values.push(typed(null));
        continue;
      }
      values.push(typed(row[k++]));
    }
    return { values, rowid: t.withoutRowid ? null : asBig(row[0] as number | bigint) };
  }

  /**
   * The stored record of a row. `transient`: a view that the next transient record overwrites
   * (for the append path, which copies it into the leaf at once).
   */
  private recordOf(t: TableInfo, values: TypedValue[], transient = false): Uint8Array {
    const cols = t.recordColumns;
    const fields = recordFields;
    const asReal = recordAsReal;
    if (fields.length !== cols.length) fields.length = asReal.length = cols.length;
    for (let i = 0; i < cols.length; i++) {
      const col = cols[i];
      const v = col === t.rowidAlias ? NULL : values[col];
      fields[i] = v.value;
      asReal[i] = v.type === 'real';
    }
    return encodeRecord(fields, this.txn.encoding, { boolTypes: this.boolTypes, asReal, transient });
  }

  private encode(fields: TypedValue[]): Uint8Array {
    return encodeRecord(
      fields.map((f) => f.value),
      this.txn.encoding,
      { boolTypes: this.boolTypes, asReal: fields.map((f) => f.type === 'real') },
    );
  }

  /** The entry of index `ix` for a row. */
  private indexKey(t: TableInfo, ix: IndexInfo, values: TypedValue[], rowid: bigint | null): TypedValue[] {
    return ix.columns.map((c) => {
      if (c.column === -1) return typed(smallest(rowid!));
      if (c.column === t.rowidAlias) return typed(smallest(rowid!));
      return values[c.column];
    });
  }

  private constraintColumns(t: TableInfo, ix: IndexInfo): string {
    return ix.columns
      .filter((c) => c.key)
      .map((c) => `${t.name}.${c.column >= 0 ? t.columns[c.column].name : 'rowid'}`)
      .join(', ');
  }

  /** A row's identity: its rowid, or its primary-key values (WITHOUT ROWID). */
  private identityOfRow(t: TableInfo, values: TypedValue[], rowid: bigint | null): Identity {
    return t.withoutRowid ? t.pkColumns.map((c) => values[c].value) : rowid!;
  }

  /** The identity of the row an index entry points at. */
  private identityOfEntry(t: TableInfo, ix: IndexInfo, rec: readonly SqlValue[]): Identity {
    if (!t.withoutRowid) return asBig(rec[rec.length - 1] as number | bigint);
    return t.pkColumns.map((pc) => {
      const i = ix.columns.findIndex((c) => c.column === pc);
      return i >= 0 ? rec[i] : null;
    });
  }

  private async rowExists(t: TableInfo, id: Identity): Promise<boolean> {
    if (typeof id === 'bigint') return new TableCursor(this.txn, t.rootPage).seek(smallest(id));
    return new IndexCursor(this.txn, t.rootPage, t.keyInfo).seek(id, { op: 'eq' });
  }

  /** Identities of the rows whose entry in unique index `ix` has the same key as `key`. */
  private async indexDuplicates(t: TableInfo, ix: IndexInfo, key: TypedValue[]): Promise<Identity[]> {
    const prefix = key.slice(0, ix.nKey).map(toSqlValue);
    if (prefix.some((v) => v === null)) return []; // NULLs are distinct
    const out: Identity[] = [];
    const cur = new IndexCursor(this.txn, ix.rootPage, ix.keyInfo);
    let ok = await cur.seek(prefix, { op: 'ge' });
    while (ok && (await cur.compareKey(prefix)) === 0) {
      out.push(this.identityOfEntry(t, ix, await cur.record()));
      ok = await cur.next();
    }
    return out;
  }

  private async nextRowid(t: TableInfo): Promise<bigint> {
    // SQLite's OP_NewRowid: the largest rowid + 1 (1 for an empty table); with AUTOINCREMENT
    // at least the sqlite_sequence value + 1.
    const max = await this.writer.maxRowid(t.rootPage);
    let next = max === null ? 1n : asBig(max) < LARGEST ? asBig(max) + 1n : null;
    if (t.def!.autoincrement) {
      const seq = await this.sequenceOf(t);
      if (max !== null && asBig(max) >= LARGEST) next = null;
      else if (next === null || next < seq + 1n) next = seq + 1n;
      if (next === null || next > LARGEST) throw new QuireError(ErrorCode.FULL, 'database or disk is full (no AUTOINCREMENT rowid left)');
    }
    if (next !== null) return next;
    // As SQLite: with the largest rowid taken, try random ones.
    for (let i = 0; i < 100; i++) {
      const cand = BigInt.asUintN(63, (BigInt(Math.floor(Math.random() * 2 ** 32)) << 31n) ^ BigInt(Math.floor(Math.random() * 2 ** 31)));
      if (cand !== 0n && !(await this.rowExists(t, cand))) return cand;
    }
    throw new QuireError(ErrorCode.FULL, 'database or disk is full (no unused rowid found)');
  }

  private async sequenceRow(t: TableInfo): Promise<{ rowid: number | bigint; seq: bigint } | null> {
    const seq = (await this.schema()).tables.get('sqlite_sequence');
    if (!seq) return null;
    for await (const row of new RowIterator(seq, this.txn, () => undefined)) {
      if (row[1] === t.name) {
        const v = row[2];
        return { rowid: row[0] as number | bigint, seq: typeof v === 'number' || typeof v === 'bigint' ? asBig(v) : 0n };
      }
    }
    return null;
  }

  private async sequenceOf(t: TableInfo): Promise<bigint> {
    return (await this.sequenceRow(t))?.seq ?? 0n;
  }

  private async setSequence(t: TableInfo, rowid: bigint): Promise<void> {
    const seqTable = (await this.schema()).tables.get('sqlite_sequence');
    if (!seqTable) return;
    const cur = await this.sequenceRow(t);
    if (cur && cur.seq >= rowid) return;
    const rec = encodeRecord([t.name, smallest(rowid)], this.txn.encoding, { boolTypes: this.boolTypes });
    if (cur) await this.writer.insert(seqTable.rootPage, cur.rowid, rec);
    else {
      const max = await this.writer.maxRowid(seqTable.rootPage);
      await this.writer.insert(seqTable.rootPage, max === null ? 1 : smallest(asBig(max) + 1n), rec);
    }
  }

  /**
   * Inserts a row; returns its rowid (rowid tables; `K` defaults to `Rowid`) or its primary-key
   * values (WITHOUT ROWID tables: `insert<SqlValue[]>(...)`), or null when the row was ignored:
   * with `onConflict: 'ignore'`, or, when no `onConflict` is given, by a constraint declared
   * ON CONFLICT IGNORE.
   */
  insert<K extends InsertedKey = Rowid>(table: string, row: RowInput, options?: WriteOptions & { onConflict?: 'abort' | 'replace' }): Promise<K>;
  insert<K extends InsertedKey = Rowid>(table: string, row: RowInput, options: WriteOptions): Promise<K | null>;
  insert(table: string, row: RowInput, options: WriteOptions = {}): Promise<InsertedKey | null> {
    // Bulk loads: a row that goes straight onto the end of a table without indexes is written
    // without an await (the append path of writeRow, synchronously).
    let t: TableInfo | undefined;
    let p: PreparedRow | undefined;
    try {
      this.check();
      t = this.writableCached(table);
      if (t !== undefined && t.indexes.length === 0 && appendable(t)) {
        // Plain values (no conversion, no default): the record straight from the row, without
        // the PreparedRow (its TypedValue per column and BigInt rowid); else prepare().
        const given = Array.isArray(row) ? plainFields(t, row as readonly InputValue[]) : NOT_PLAIN;
        let id: number | bigint | undefined;
        let rec: Uint8Array;
        if (given !== NOT_PLAIN) {
          id = given ?? this.writer.nextRowidHint(t.rootPage);
          rec = encodeRecord(recordFields, this.txn.encoding, { boolTypes: this.boolTypes, asReal: recordAsReal, transient: true });
        } else {
          p = this.prepare(t, row);
          id = p.rowid !== null ? smallest(p.rowid) : this.writer.nextRowidHint(t.rootPage);
          rec = this.recordOf(t, p.values, true);
        }
        if (id !== undefined && (typeof id === 'number' || (id >= SMALLEST && id <= LARGEST))) {
          if (this.writer.tryAppend(t.rootPage, id, rec)) return this.inserted(id);
          // A given rowid anywhere in the table, when writing it is one change to one page
          // (tryInsert): nothing can fail half-way, so no statement savepoint is needed.
          const explicit = given !== NOT_PLAIN ? given !== null : p!.rowid !== null;
          const onKey = conflictMode(options.onConflict, t.def!.primaryKey?.onConflict);
          if (explicit && onKey !== 'replace') {
            const done = this.writer.tryInsert(t.rootPage, id, rec);
            if (!(done instanceof Promise)) return this.afterTryInsert(t, id, done, onKey, rec);
            const [tt, rowid, record] = [t, id, rec.slice()];
            return done.then((d) => this.afterTryInsert(tt, rowid, d, onKey, record));
          }
        }
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return this.insertAsync(table, row, options, t, p);
  }

  /**
   * insert() after tryInsert: the row written (true), the rowid taken (false), or else the
   * statement writeRow would run, with the record at hand (a copy: a transient one may be
   * overwritten before the writer copies it into a page).
   */
  private afterTryInsert(t: TableInfo, rowid: number | bigint, done: boolean | undefined, onKey: ConflictMode, rec: Uint8Array): Promise<number | bigint | null> {
    if (done === true) return this.inserted(rowid);
    if (done === false) return onKey === 'ignore' ? Promise.resolve(null) : Promise.reject(this.keyConflict(t));
    const record = rec.slice();
    return this.statement(async () => {
      if (await this.writer.insertIfAbsent(t.rootPage, rowid, record)) return rowid;
      if (onKey === 'ignore') return null;
      throw this.keyConflict(t);
    });
  }

  /** insert()'s answer for a row written synchronously, after the statement's safe point. */
  private inserted(rowid: number | bigint): Promise<number | bigint> {
    const spill = this.txn.maybeSpill();
    return spill ? spill.then(() => rowid) : Promise.resolve(rowid);
  }

  private insertAsync(table: string, row: RowInput, options: WriteOptions, t?: TableInfo, p?: PreparedRow): Promise<number | bigint | SqlValue[] | null> {
    if (t !== undefined && p !== undefined) return this.statement(() => this.writeRow(t, p, options.onConflict, null));
    return this.statement(async () => {
      const tt = t ?? (await this.writableTable(table));
      return this.writeRow(tt, p ?? this.prepare(tt, row), options.onConflict, null);
    });
  }

  /**
   * Inserts many rows, each its own statement (a failed row is undone whole and its error
   * thrown; the rows before it stay); returns how many were inserted.
   */
  async insertMany(table: string, rows: Iterable<RowInput> | AsyncIterable<RowInput>, options: WriteOptions = {}): Promise<number> {
    this.check();
    const t = await this.writableTable(table);
    let n = 0;
    for await (const row of rows as AsyncIterable<RowInput>) {
      const p = this.prepare(t, row);
      if ((await this.statement(() => this.writeRow(t, p, options.onConflict, null))) !== null) n++;
    }
    return n;
  }

  /**
   * writableTable when the answer is at hand (the table seen writable in this catalog, by this
   * or an earlier transaction), else undefined. A transaction that has not read the schema yet
   * takes the database's cached catalog when it is current (what schema() would return), so
   * that an auto-commit insert reaches the synchronous paths of insert().
   */
  private writableCached(name: string): TableInfo | undefined {
    if (this.catalog === null) {
      const txn = this.txn;
      const h = txn.base.header;
      if (h === null || txn.isDirty(1)) return undefined;
      const cat = this.db.cachedCatalogAt(txn.base);
      if (cat === null) return undefined;
      this.boolTypes = (h.schemaFormat || 4) >= 4;
      this.catalog = cat;
    }
    return writableTables.get(this.catalog)?.get(name);
  }

  private async writableTable(name: string): Promise<TableInfo> {
    const cat = this.catalog ?? (await this.schema());
    let tables = writableTables.get(cat);
    if (tables === undefined) writableTables.set(cat, (tables = new Map()));
    const hit = tables.get(name);
    if (hit) return hit;
    const t = await this.table(name);
    this.assertWritable(t, cat);
    tables.set(name, t);
    return t;
  }

  /**
   * Writes a prepared row, replacing `old` (an update) if given. Every constraint is checked
   * before anything is written; the caller's statement savepoint undoes the writes when
   * something else (an I/O error) fails half-way.
   */
  private async writeRow(
    t: TableInfo,
    p: PreparedRow,
    mode: ConflictMode | undefined,
    old: { rowid: bigint | null; values: TypedValue[] } | null,
  ): Promise<number | bigint | SqlValue[] | null> {
    if (!t.withoutRowid) {
      if (p.rowid === null) p.rowid = old?.rowid ?? (await this.nextRowid(t));
      if (p.rowid < SMALLEST || p.rowid > LARGEST) throw new QuireError(ErrorCode.RANGE, `rowid ${p.rowid} is outside the 64-bit range`);
    }
    // The append path: a rowid beyond every rowid in the table cannot conflict, and the writer
    // appends it to the right-most leaf without a seek (bulk loads).
    if (old === null && appendable(t)) {
      const id = smallest(p.rowid!);
      if (this.writer.tryAppend(t.rootPage, id, this.recordOf(t, p.values, true))) {
        await this.insertIndexEntries(t, p);
        return id;
      }
    }
    const resolve = (declared: string | undefined): ConflictMode => conflictMode(mode, declared);
    // A new row of a rowid table whose only key is the rowid (no UNIQUE index): one seek both
    // checks the key and inserts (nothing is written when it exists).
    const onKey = resolve(t.def!.primaryKey?.onConflict);
    if (old === null && appendable(t) && onKey !== 'replace') {
      const id = smallest(p.rowid!);
      if (!(await this.writer.insertIfAbsent(t.rootPage, id, this.recordOf(t, p.values)))) {
        if (onKey === 'ignore') return null;
        throw this.keyConflict(t);
      }
      await this.insertIndexEntries(t, p);
      return id;
    }
    const oldId = old ? this.identityOfRow(t, old.values, old.rowid) : null;
    const newId = this.identityOfRow(t, p.values, p.rowid);
    const victims: Identity[] = [];
    const isOld = (id: Identity) => oldId !== null && sameIdentity(id, oldId);
    const known = (id: Identity) => victims.some((v) => sameIdentity(v, id));
    if (!isOld(newId) && (await this.rowExists(t, newId))) {
      if (onKey === 'abort') throw this.keyConflict(t);
      if (onKey === 'ignore') return null;
      victims.push(newId);
    }
    for (const ix of t.indexes) {
      if (!ix.unique) continue;
      for (const id of await this.indexDuplicates(t, ix, this.indexKey(t, ix, p.values, p.rowid))) {
        if (isOld(id) || known(id)) continue;
        const how = resolve(ix.onConflict);
        if (how === 'abort') throw constraint(`UNIQUE constraint failed: ${this.constraintColumns(t, ix)}`);
        if (how === 'ignore') return null;
        victims.push(id);
      }
    }
    // Writes: conflicting rows (REPLACE), the old version of an updated row, then the new row.
    for (const v of victims) if (!isOld(v)) await this.deleteRow(t, typeof v === 'bigint' ? smallest(v) : v);
    if (oldId !== null) await this.deleteRow(t, typeof oldId === 'bigint' ? smallest(oldId) : oldId);
    const rec = this.recordOf(t, p.values);
    if (t.withoutRowid) await this.writer.insertIndex(t.rootPage, rec, t.keyInfo);
    else await this.writer.insert(t.rootPage, smallest(p.rowid!), rec);
    await this.insertIndexEntries(t, p);
    if (!t.withoutRowid && t.def!.autoincrement) await this.setSequence(t, p.rowid!);
    return typeof newId === 'bigint' ? smallest(newId) : newId;
  }

  /** Adds the entries of a new row to every index of its table. */
  private async insertIndexEntries(t: TableInfo, p: PreparedRow): Promise<void> {
    for (const ix of t.indexes) await this.writer.insertIndex(ix.rootPage, this.encode(this.indexKey(t, ix, p.values, p.rowid)), ix.keyInfo);
  }

  /** The CONSTRAINT error of a new row whose rowid or primary key is taken. */
  private keyConflict(t: TableInfo): QuireError {
    const cols = t.withoutRowid ? t.pkColumns.map((c) => t.columns[c].name) : [t.rowidAlias >= 0 ? t.columns[t.rowidAlias].name : 'rowid'];
    return constraint(`UNIQUE constraint failed: ${cols.map((c) => `${t.name}.${c}`).join(', ')}`);
  }

  private async deleteRow(t: TableInfo, key: number | bigint | readonly SqlValue[]): Promise<boolean> {
    const row = await lookup(t, this.txn, key);
    if (!row) return false;
    const v = this.valuesFromRow(t, row);
    for (const ix of t.indexes) {
      await this.writer.deleteIndex(ix.rootPage, this.indexKey(t, ix, v.values, v.rowid).map(toSqlValue), ix.keyInfo);
    }
    if (t.withoutRowid) await this.writer.deleteIndex(t.rootPage, t.pkColumns.map((c) => v.values[c].value), t.keyInfo);
    else await this.writer.delete(t.rootPage, smallest(v.rowid!));
    return true;
  }

  /** Deletes the row with this rowid (rowid tables) or primary key (WITHOUT ROWID); false if absent. */
  async delete(table: string, key: number | bigint | readonly SqlValue[]): Promise<boolean> {
    this.check();
    const t = await this.writableTable(table);
    const k = normaliseKey(t, key);
    if (t.indexes.length === 0 && typeof k === 'number' && Number.isSafeInteger(k) && !t.withoutRowid) {
      // One change to one page (tryDelete): nothing can fail half-way, no savepoint needed.
      let done = this.writer.tryDelete(t.rootPage, k);
      if (done instanceof Promise) done = await done;
      if (done !== undefined) {
        const spill = this.txn.maybeSpill();
        if (spill) await spill;
        return done;
      }
    }
    // Without indexes nothing needs the row's values: the writer's delete seeks it once.
    if (t.indexes.length === 0 && !t.withoutRowid && (typeof k === 'number' ? Number.isSafeInteger(k) : typeof k === 'bigint' && k >= SMALLEST && k <= LARGEST)) {
      return this.statement(() => this.writer.delete(t.rootPage, typeof k === 'bigint' ? smallest(k) : (k as number)));
    }
    return this.statement(() => this.deleteRow(t, k));
  }

  /**
   * Changes some columns of one row (by rowid or primary key). Returns false when there is no
   * such row. Changing the rowid alias or key columns moves the row.
   */
  async update(table: string, key: number | bigint | readonly SqlValue[], changes: Record<string, InputValue>, options: WriteOptions = {}): Promise<boolean> {
    this.check();
    const t = await this.writableTable(table);
    return this.statement(() => this.updateRow(t, key, changes, options));
  }

  private async updateRow(t: TableInfo, key: number | bigint | readonly SqlValue[], changes: Record<string, InputValue>, options: WriteOptions): Promise<boolean> {
    const row = await lookup(t, this.txn, normaliseKey(t, key));
    if (!row) return false;
    const old = this.valuesFromRow(t, row);
    const merged: Record<string, InputValue> = {};
    t.columns.forEach((c, i) => {
      if (c.slot >= 0) merged[c.name] = old.values[i];
    });
    if (!t.withoutRowid && t.rowidAlias < 0) merged.rowid = smallest(old.rowid!);
    if (!t.withoutRowid && t.rowidAlias >= 0) merged[t.columns[t.rowidAlias].name] = smallest(old.rowid!);
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) continue;
      const kk = nameKey(k);
      const c = t.columns.find((x) => nameKey(x.name) === kk);
      if (!c && !(!t.withoutRowid && (kk === 'rowid' || kk === 'oid' || kk === '_rowid_'))) {
        throw new QuireError(ErrorCode.ERROR, `table ${t.name} has no column named ${k}`);
      }
      if (c) merged[c.name] = v;
      else if (t.rowidAlias >= 0) merged[t.columns[t.rowidAlias].name] = v;
      else merged.rowid = v;
    }
    const p = this.prepare(t, merged);
    await this.writeRow(t, p, options.onConflict, { rowid: old.rowid, values: old.values });
    return true;
  }

  /** One row, as this transaction sees it. */
  async get(table: string, key: number | bigint | readonly SqlValue[]): Promise<Row | undefined> {
    this.check();
    const t = await this.table(table);
    return lookup(t, this.txn, normaliseKey(t, key));
  }

  /** Rows as this transaction sees them (its own writes included). */
  rows(table: string): AsyncIterableIterator<Row> {
    this.check();
    let inner: RowIterator | null = null;
    const start = async () => (inner ??= new RowIterator(await this.table(table), this.txn, () => undefined));
    const it: AsyncIterableIterator<Row> = {
      [Symbol.asyncIterator]: () => it,
      next: async () => (await start()).next(),
      return: async () => (inner ? inner.return() : { value: undefined, done: true }),
    };
    return it;
  }

  /** PRAGMA incremental_vacuum(n): frees up to n pages from the end (all when n <= 0). */
  async incrementalVacuum(n = 0): Promise<number> {
    this.check();
    return this.statement(() => this.writer.incrementalVacuum(n));
  }

  /** @internal Work the b-tree layer does before the pager commits (auto-vacuum). */
  async beforeCommit(): Promise<void> {
    await this.writer.beforeCommit();
  }
}

/** The object a DROP names; undefined for DROP ... IF EXISTS of a missing one, else NOTFOUND. */
function dropTarget<T>(objects: ReadonlyMap<string, T>, kind: 'table' | 'index', name: string, ifExists: boolean): T | undefined {
  const x = objects.get(nameKey(name));
  if (x === undefined && !ifExists) throw new QuireError(ErrorCode.NOTFOUND, `no such ${kind}: ${name}`);
  return x;
}

function normaliseKey(t: TableInfo, key: number | bigint | readonly SqlValue[]): number | bigint | readonly SqlValue[] {
  if (t.withoutRowid) return Array.isArray(key) ? key : [key as SqlValue];
  if (Array.isArray(key)) {
    if (key.length !== 1) throw misuse(`table ${t.name} is a rowid table: give one rowid`);
    return key[0] as number | bigint;
  }
  return key as number | bigint;
}

function sameValues(a: readonly SqlValue[], b: readonly SqlValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x instanceof Uint8Array && y instanceof Uint8Array) {
      if (x.length !== y.length || x.some((v, k) => v !== y[k])) return false;
    } else if (typeof x === 'bigint' || typeof y === 'bigint') {
      if (x === null || y === null || typeof x === 'string' || typeof y === 'string' || x instanceof Uint8Array || y instanceof Uint8Array) return false;
      if (BigInt(x as number | bigint) !== BigInt(y as number | bigint)) return false;
    } else if (x !== y) return false;
  }
  return true;
}

/** Re-exported for callers that build schema SQL. */
export { parseSchemaSql };
