/**
 * The catalog: what sqlite_schema says, resolved into what quire needs to read and write rows.
 *
 * sqlite_schema (the table b-tree rooted at page 1) has one row per object:
 *
 *   COLUMN    MEANING
 *   type      'table', 'index', 'view' or 'trigger'
 *   name      the object's name
 *   tbl_name  the table an index or trigger belongs to
 *   rootpage  root page of the table/index b-tree (0 for views, triggers, virtual tables)
 *   sql       the CREATE statement (NULL for automatic indexes)
 *
 * Record layout of a row (what `storage` maps each declared column to):
 *
 *   rowid table      the declared columns in order, VIRTUAL generated columns omitted
 *                    (SQLite's sqlite3TableColumnToStorage); an INTEGER PRIMARY KEY column
 *                    is stored as NULL, its value is the rowid
 *   WITHOUT ROWID    the PRIMARY KEY columns in key order, then the other stored columns in
 *                    declaration order; the table b-tree is an index b-tree keyed by the
 *                    PRIMARY KEY columns (with their collations and sort orders)
 *   index            the indexed columns, then the rowid (or the table's PRIMARY KEY columns)
 *
 * Rows shorter than the schema (written before ALTER TABLE ADD COLUMN) take the column's
 * DEFAULT, with the column affinity applied (SQLite's sqlite3ColumnDefault).
 *
 * Objects whose SQL quire cannot parse are kept with `error` set, so that everything else in
 * the database stays readable.
 */
import { corrupt, ErrorCode, QuireError } from '../pager/errors.js';
import type { PageSource, Pgno } from '../pager/source.js';
import type { Encoding } from '../pager/header.js';
import type { KeyInfo } from '../btree/compare.js';
import { scanTable } from '../btree/cursor.js';
import type { Collation, SqlValue } from '../btree/value.js';
import { parseCreateTable, parseSchemaSql } from './schema/parse.js';
import { defaultFor } from './schema/default.js';
import { toSqlValue } from './schema/affinity.js';
import type { ColumnDef, ConflictResolution, IndexColumn, IndexDef, TableDef, TypedValue } from './schema/types.js';
import { automaticIndexes, indexColumns, recordColumns, withoutRowidKey } from './schema/autoindex.js';

export interface SchemaRow {
  rowid: number | bigint;
  type: string;
  name: string;
  tblName: string;
  rootPage: number;
  sql: string | null;
}

export interface Column {
  name: string;
  declType: string;
  def: ColumnDef;
  /** Slot in the record, or -1 for a VIRTUAL generated column (not stored). */
  slot: number;
  /** The value for rows shorter than the schema (DEFAULT with affinity, else NULL). */
  fallback: TypedValue | null;
}

export interface TableInfo {
  name: string;
  rootPage: Pgno;
  sql: string | null;
  def: TableDef | null;
  /** Why the SQL could not be used, if it could not. */
  error: string | null;
  withoutRowid: boolean;
  virtual: boolean;
  columns: Column[];
  /** Index in `columns` of the INTEGER PRIMARY KEY (rowid alias), or -1. */
  rowidAlias: number;
  /** Number of record slots (stored columns). */
  storedCount: number;
  /** WITHOUT ROWID: the key columns (indexes into `columns`) and the b-tree key order. */
  pkColumns: number[];
  keyInfo: KeyInfo;
  /** The table column held by each record field (src/schema/autoindex.ts recordColumns). */
  recordColumns: number[];
  indexes: IndexInfo[];
}

export interface IndexInfo {
  name: string;
  table: string;
  rootPage: Pgno;
  sql: string | null;
  def: IndexDef | null;
  error: string | null;
  unique: boolean;
  /** Automatic index of a PRIMARY KEY / UNIQUE constraint (sqlite_autoindex_*). */
  auto: boolean;
  /** Partial (WHERE) or expression index: quire can read it but not maintain it. */
  partial: boolean;
  expression: boolean;
  /** ON CONFLICT of the constraint behind an automatic index, if it named one. */
  onConflict: ConflictResolution | undefined;
  /** Every field of an entry (key columns, then the rowid or the table's key columns). */
  columns: IndexColumn[];
  /** Number of key fields (the leading `columns` with key = true). */
  nKey: number;
  keyInfo: KeyInfo;
}

export interface Catalog {
  rows: SchemaRow[];
  tables: Map<string, TableInfo>;
  indexes: Map<string, IndexInfo>;
  views: SchemaRow[];
  triggers: SchemaRow[];
  /** The schema cookie this catalog was read at. */
  cookie: number;
}

/** Lookups are case-insensitive for ASCII, as SQLite's are. */
export function nameKey(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
  }
  return name;
}

function asText(v: SqlValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return String(v);
}

function asInt(v: SqlValue | undefined): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return 0;
}

/** Reads sqlite_schema. */
export async function readSchemaRows(src: PageSource): Promise<SchemaRow[]> {
  const out: SchemaRow[] = [];
  if (src.pageCount === 0) return out;
  for await (const batch of scanTable(src, 1)) {
    for (const r of batch) {
      out.push({
        rowid: r[0] as number | bigint,
        type: asText(r[1]) ?? '',
        name: asText(r[2]) ?? '',
        tblName: asText(r[3]) ?? '',
        rootPage: asInt(r[4]),
        sql: asText(r[5]),
      });
    }
  }
  return out;
}

function collationOf(name: string): Collation {
  const u = name.toUpperCase();
  return u === 'NOCASE' || u === 'RTRIM' ? u : 'BINARY';
}

/** KeyInfo (collation and order per field) for index entry columns. */
export function keyInfoOf(cols: readonly IndexColumn[]): KeyInfo {
  return cols.map((c) => ({ collation: collationOf(c.collation), desc: c.desc }));
}

/** Builds the TableInfo for a parsed CREATE TABLE (record layout from src/schema/autoindex.ts). */
export function tableInfo(name: string, rootPage: Pgno, sql: string | null, def: TableDef, schemaFormat = 4, encoding: Encoding = 1): TableInfo {
  const layout = recordColumns(def, { schemaFormat });
  const slots = new Array<number>(def.columns.length).fill(-1);
  layout.forEach((col, slot) => {
    if (slots[col] < 0) slots[col] = slot;
  });
  const key = withoutRowidKey(def, { schemaFormat }) ?? [];
  const columns: Column[] = def.columns.map((c, i) => {
    let fallback: TypedValue | null = null;
    try {
      fallback = c.default && c.default.kind === 'constant' ? defaultFor(c, encoding) : null;
    } catch {
      fallback = null;
    }
    return { name: c.name, declType: c.declType, def: c, slot: slots[i], fallback };
  });
  return {
    name,
    rootPage,
    sql,
    def,
    error: null,
    withoutRowid: def.withoutRowid,
    virtual: def.virtual !== undefined,
    columns,
    rowidAlias: def.withoutRowid ? -1 : def.rowidAlias,
    storedCount: layout.length,
    pkColumns: key.map((k) => k.column),
    keyInfo: keyInfoOf(key),
    recordColumns: layout,
    indexes: [],
  };
}

/** sqlite_schema itself, as SQLite declares it. */
const SCHEMA_SQL = 'CREATE TABLE sqlite_schema(type text, name text, tbl_name text, rootpage int, sql text)';

function schemaTableInfo(): TableInfo {
  return tableInfo('sqlite_schema', 1, SCHEMA_SQL, parseCreateTable(SCHEMA_SQL));
}

/** Reads and resolves the whole schema. */
export async function readCatalog(src: PageSource, cookie: number, schemaFormat = 4): Promise<Catalog> {
  const rows = await readSchemaRows(src);
  const tables = new Map<string, TableInfo>();
  const indexes = new Map<string, IndexInfo>();
  const views: SchemaRow[] = [];
  const triggers: SchemaRow[] = [];
  const master = schemaTableInfo();
  tables.set('sqlite_schema', master);
  tables.set('sqlite_master', master);
  for (const r of rows) {
    if (r.type === 'table') {
      let info: TableInfo;
      try {
        if (r.sql === null) throw new QuireError(ErrorCode.SCHEMA, 'no SQL text');
        const def = parseSchemaSql(r.sql);
        if (def.type !== 'table') throw new QuireError(ErrorCode.SCHEMA, `sqlite_schema says table, the SQL creates a ${def.type}`);
        info = tableInfo(r.name, r.rootPage, r.sql, def, schemaFormat, src.encoding);
      } catch (e) {
        info = {
          name: r.name,
          rootPage: r.rootPage,
          sql: r.sql,
          def: null,
          error: e instanceof Error ? e.message : String(e),
          withoutRowid: false,
          virtual: false,
          columns: [],
          rowidAlias: -1,
          storedCount: 0,
          pkColumns: [],
          keyInfo: [],
          recordColumns: [],
          indexes: [],
        };
      }
      if (!info.virtual && info.def && (r.rootPage < 1 || r.rootPage > src.pageCount)) {
        throw corrupt(1, `table ${r.name} has root page ${r.rootPage}, outside 1..${src.pageCount}`);
      }
      tables.set(nameKey(r.name), info);
    } else if (r.type === 'index') {
      let def: IndexDef | null = null;
      let error: string | null = null;
      if (r.sql !== null) {
        try {
          const d = parseSchemaSql(r.sql);
          if (d.type !== 'index') throw new QuireError(ErrorCode.SCHEMA, `sqlite_schema says index, the SQL creates a ${d.type}`);
          def = d;
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
        }
      }
      indexes.set(nameKey(r.name), {
        name: r.name,
        table: r.tblName,
        rootPage: r.rootPage,
        sql: r.sql,
        def,
        error,
        unique: def ? def.unique : r.sql === null,
        auto: r.sql === null,
        partial: def?.where !== undefined,
        expression: def ? def.terms.some((t) => t.expr !== undefined) : false,
        onConflict: undefined,
        columns: [],
        nKey: 0,
        keyInfo: [],
      });
    } else if (r.type === 'view') views.push(r);
    else if (r.type === 'trigger') triggers.push(r);
  }
  for (const ix of indexes.values()) {
    const t = tables.get(nameKey(ix.table));
    if (!t) continue;
    t.indexes.push(ix);
    if (!t.def || ix.error) continue;
    try {
      if (ix.def) ix.columns = indexColumns(ix.def, t.def, { schemaFormat });
      else {
        const auto = automaticIndexes(t.def, { schemaFormat }).find((a) => a.inSchema && a.name === ix.name);
        if (!auto) throw new QuireError(ErrorCode.SCHEMA, `automatic index ${ix.name} does not match table ${t.name}'s constraints`);
        ix.columns = [...auto.columns];
        ix.onConflict = auto.onConflict;
      }
      ix.nKey = ix.columns.filter((c) => c.key).length;
      ix.keyInfo = keyInfoOf(ix.columns);
    } catch (e) {
      ix.error = e instanceof Error ? e.message : String(e);
    }
  }
  return { rows, tables, indexes, views, triggers, cookie };
}

/** The value a column shows for a row whose record is too short to hold it. */
export function fallbackValue(c: Column): SqlValue {
  return c.fallback ? toSqlValue(c.fallback) : null;
}
