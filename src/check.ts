/**
 * The integrity check (PRAGMA integrity_check): pages first (btree/integrity.ts), then rows.
 *
 * Phases, in the order SQLite's pragma.c reports them:
 *
 *   1. schema: sqlite_schema is read into the catalog. If it cannot be (a damaged page 1 tree,
 *      a root page out of range), that is the first problem ("malformed database schema: ...")
 *      and only page 1's tree and the freelist are checked (SQLite's partial check). Entries
 *      SQLite's loader would refuse are problems too ("malformed database schema (X) - why",
 *      see {@link schemaProblems}): SQL that does not parse, a name or table name that differs
 *      from the SQL's, a name used twice, an automatic index that matches no constraint.
 *      (quire parses what SQLite's grammar accepts; a statement it rejects is taken as damage,
 *      not as an unsupported feature.)
 *   2. pages: every b-tree (page 1, then each table and index in sqlite_schema order), the
 *      freelist, overflow chains and pointer maps; see btree/integrity.ts.
 *   3. counts: every index that is not partial holds as many entries as its table has rows
 *      ("wrong # of entries in index X"; counted during phase 2, as SQLite's nRow). An
 *      automatic index the table's PRIMARY KEY / UNIQUE constraints imply but sqlite_schema
 *      lacks counts as empty, as in SQLite.
 *   4. rows: each table whose b-tree was walked cleanly in phase 2 is scanned once. For every
 *      row (numbered from 1 in b-tree order, as SQLite numbers them):
 *        - NOT NULL columns hold no NULL ("NULL value in T.C"); STRICT columns hold their
 *          type or NULL ("non-INT value in T.C", REAL also accepting integers); in other
 *          tables a TEXT-affinity column holds no number ("NUMERIC value in T.C") and a
 *          numeric-affinity column no text that would convert losslessly to a number
 *          ("TEXT value in T.C"). The INTEGER PRIMARY KEY and VIRTUAL generated columns are
 *          skipped, as SQLite skips them (quire does not evaluate expressions);
 *        - every index quire can evaluate has exactly this row's entry: the key columns'
 *          values, then the rowid (or the WITHOUT ROWID table's key). "row N missing from
 *          index X"; "rowid not at end-of-record for row N of index X"; "row N values differ
 *          from index X" (a NOCASE/RTRIM key found by its collation but not byte-equal); and
 *          for UNIQUE indexes "non-unique entry in index X" (equal keys without NULLs).
 *      Indexes quire cannot evaluate are skipped in this phase: partial indexes (SQLite
 *      evaluates the WHERE clause and checks only matching rows; quire cannot evaluate it, and
 *      SQLite itself does not count-check them), expression indexes and indexes on VIRTUAL
 *      generated columns (their counts are still checked in phase 3), and indexes with a
 *      collation quire does not have. CHECK constraints are not evaluated.
 *
 * How entries are matched, in constant memory: every checkable index's expected entries (the
 * key columns' values, then the rowid or the WITHOUT ROWID key) are folded into an
 * order-independent 64-bit multiset hash (two 32-bit sums of per-entry hashes), and so are the
 * entries each index holds, with UNIQUE indexes comparing neighbours. Equal hashes (and
 * counts) mean every row has its entry (a false match needs a 2^-64 collision). In the default
 * mode this is done during phase 2 (TableWatch, IndexWatch: visitors of the page walk), from
 * the record bytes, with the type checks read from serial types, so a sound table is read once
 * in all. Any doubt (a type problem, a hash difference, a collision, a record that does not
 * parse) makes the table be read again: a scan that hashes decoded values, and if the indexes
 * still differ a check the way SQLite checks (OP_Found), which names the rows: each row's
 * entries are sought through an index cursor (O(R·K·log R), constant memory). The 'merge'
 * mode (expected entries in memory, one merge per index; for tests) reports the same problems
 * in row order.
 *
 * Row-level checks run cursors only over trees that phase 2 found clean (every page referenced
 * once, keys in order, no cycle), so a hostile file cannot make them loop or revisit pages. A
 * CORRUPT error met while scanning (a malformed record) becomes a problem naming the table or
 * index, and the check goes on with the next one. Problems stop at `maxErrors`.
 */
import { isQuireError } from '../pager/errors.js';
import type { Snapshot } from '../pager/pager.js';
import { IndexCursor, TableCursor } from '../btree/cursor.js';
import { compareValues, keyComparator, type KeyComparator } from '../btree/compare.js';
import { checkIntegrity, type TreeReport, type TreeSpec, type TreeVisitor } from '../btree/integrity.js';
import { compareRecords, MultisetHash, RawRecord, RecordCopy } from '../btree/rawrecord.js';
import { decodeText } from '../btree/record.js';
import type { SqlValue } from '../btree/value.js';
import { readVarint, type Varint } from '../btree/varint.js';
import { fallbackValue, keyInfoOf, nameKey, type Catalog, type IndexInfo, type TableInfo } from './catalog.js';
import type { Database } from './database.js';
import { RowIterator } from './read.js';
import { textToNumeric } from './schema/affinity.js';
import { parseSchemaSql } from './schema/parse.js';
import { automaticIndexes } from './schema/autoindex.js';
import type { AutoIndex, SchemaObjectDef } from './schema/types.js';

export { MultisetHash };

export interface CheckOptions {
  /** Stop after this many problems (PRAGMA integrity_check(N)). Default 100. */
  maxErrors?: number;
  /**
   * @internal How index entries are matched: 'merge' (expected entries in memory, one scan
   * of each index), 'seek' (one cursor seek per entry), or 'auto' (multiset hashes, one
   * scan of each index; seek when they differ). Default 'auto'.
   */
  indexMode?: 'auto' | 'merge' | 'seek';
  /**
   * @internal Filled in when given: the tables whose rows were read again after the page walk
   * (in 'auto' mode, those the walk could not vouch for: see TableWatch). For tests.
   */
  stats?: { rechecked: string[] };
}

/** Returns the problems found; an empty list means the database is sound. */
export async function checkDatabase(db: Database, options: CheckOptions = {}): Promise<string[]> {
  const snap = await db.pager.read();
  try {
    let catalog: Catalog | null = null;
    let schemaProblem: string | null = null;
    try {
      catalog = await db.catalogAt(snap);
    } catch (e) {
      if (!isQuireError(e) || e.code !== 'CORRUPT') throw e;
      schemaProblem = `malformed database schema: ${e.message}`;
    }
    return await checkSource(snap, catalog, options, schemaProblem);
  } finally {
    snap.release();
  }
}

/**
 * The whole check over one snapshot with its catalog; `catalog` null means
 * the schema could not be read (`schemaProblem` says why) and only page 1 is checked.
 */
export async function checkSource(
  src: Snapshot,
  catalog: Catalog | null,
  options: CheckOptions = {},
  schemaProblem: string | null = null,
): Promise<string[]> {
  const maxErrors = options.maxErrors !== undefined && options.maxErrors > 0 ? Math.floor(options.maxErrors) : 100;
  const out: string[] = [];
  if (schemaProblem !== null) out.push(schemaProblem);
  if (catalog === null) {
    const page = await checkIntegrity(src, [{ root: 1, kind: 'table' }], { maxErrors: maxErrors - out.length, partial: true });
    out.push(...page.problems);
    return out.slice(0, maxErrors);
  }

  out.push(...schemaProblems(catalog));

  // The tables, once each, in sqlite_schema order.
  const tables: TableInfo[] = [];
  const seen = new Set<TableInfo>();
  for (const r of catalog.rows) {
    if (r.type !== 'table') continue;
    const t = catalog.tables.get(nameKey(r.name));
    if (t && !seen.has(t) && !t.virtual) {
      seen.add(t);
      tables.push(t);
    }
  }

  // ---- phase 2: pages (and, in 'auto' mode, phase 4's checks of sound tables on the way)
  const { specs, owners } = treesOf(catalog);
  const watches = new Map<TableInfo, TableWatch>();
  if ((options.indexMode ?? 'auto') === 'auto') {
    const visitors = new Map<TableInfo | IndexInfo, TreeVisitor>();
    for (const t of tables) {
      if (!t.def || t.error !== null) continue;
      const w = new TableWatch(t, indexesOf(catalog, t), src);
      watches.set(t, w);
      visitors.set(t, w);
      for (const x of w.indexes) visitors.set(x.c.ix, x);
    }
    owners.forEach((o, i) => {
      const v = o === null ? undefined : visitors.get(o);
      if (v === undefined) return;
      specs[i] = { ...specs[i], visit: v };
      visitors.delete(o!); // the first tree of an owner is its tree (as treeOf below)
    });
  }
  const page = await checkIntegrity(src, specs, { maxErrors: maxErrors - out.length });
  out.push(...page.problems);
  if (out.length >= maxErrors) return out.slice(0, maxErrors);

  const treeOf = new Map<TableInfo | IndexInfo, TreeReport>();
  owners.forEach((o, i) => {
    if (o !== null && !treeOf.has(o)) treeOf.set(o, page.trees[i]);
  });

  // ---- phase 3: entry counts
  for (const t of tables) {
    const tt = treeOf.get(t);
    if (!tt) continue;
    // An automatic index the table's constraints call for but sqlite_schema lacks (say, a
    // type no longer exactly INTEGER, so the PRIMARY KEY is no rowid alias) has no entries:
    // SQLite counts 0 for it.
    if (t.def !== null && t.error === null && tt.entries > 0) {
      let autos: string[] = [];
      try {
        autos = automaticIndexes(t.def).filter((a) => a.inSchema).map((a) => a.name);
      } catch {
        autos = []; // a schema error, reported above
      }
      for (const name of autos) {
        if (!indexesOf(catalog, t).some((ix) => nameKey(ix.name) === nameKey(name))) out.push(`wrong # of entries in index ${name}`);
      }
    }
    for (const ix of indexesOf(catalog, t)) {
      if (ix.partial || ix.rootPage <= 0) continue;
      const it = treeOf.get(ix);
      if (!it) continue;
      if (it.entries !== tt.entries) out.push(`wrong # of entries in index ${ix.name}`);
    }
  }
  if (out.length >= maxErrors) return out.slice(0, maxErrors);

  // ---- phase 4: rows
  for (const t of tables) {
    if (out.length >= maxErrors) break;
    const tt = treeOf.get(t);
    if (!tt || !tt.clean || !t.def || t.error !== null) continue;
    if (watches.get(t)?.passed(treeOf) === true) continue;
    options.stats?.rechecked.push(t.name);
    await checkRows(src, t, indexesOf(catalog, t), treeOf, out, maxErrors, options.indexMode ?? 'auto');
  }
  return out.slice(0, maxErrors);
}

/**
 * What would stop SQLite from loading the schema (sqlite3InitCallback, sqlite3CheckObjectName):
 * an entry of unknown type, SQL that does not parse or creates another kind of object, a
 * name (or an index's or trigger's table name) that differs from the one in its SQL, a name
 * used twice, an automatic index that matches no constraint. Each is "malformed database
 * schema (NAME)", with the reason after " - " when there is one, as SQLite words it.
 */
export function schemaProblems(catalog: Catalog): string[] {
  const out: string[] = [];
  const names = new Set<string>();
  for (const r of catalog.rows) {
    const bad = (why?: string): void => {
      out.push(`malformed database schema (${r.name})${why ? ` - ${why}` : ''}`);
    };
    const key = nameKey(r.name);
    if (r.sql === null) {
      // Taken for an automatic index whatever its type, found by name among every table's
      // (sqlite3FindIndex), as SQLite's loader does.
      if (findAutoIndex(catalog, key) === undefined) bad('orphan index');
      continue;
    }
    if (r.type === 'table' || r.type === 'index' || r.type === 'view') {
      if (names.has(key)) {
        bad(`${r.type} ${r.name} already exists`);
        continue;
      }
      names.add(key);
    }
    if (r.type === 'table' || r.type === 'index') {
      const o = r.type === 'table' ? catalog.tables.get(key) : catalog.indexes.get(key);
      if (!o) continue;
      if (o.error !== null) {
        bad(o.error);
        continue;
      }
      const def = o.def;
      if (def === null) continue; // an automatic index (its SQL is NULL)
      const table = def.type === 'index' ? def.table : def.name;
      if (nameKey(def.name) !== key || nameKey(table) !== nameKey(r.tblName)) bad();
    } else if (r.type === 'view' || r.type === 'trigger') {
      if (r.sql === null) {
        bad();
        continue;
      }
      let def: SchemaObjectDef;
      try {
        def = parseSchemaSql(r.sql);
      } catch (e) {
        if (!isQuireError(e)) throw e;
        bad(e.message);
        continue;
      }
      const table = def.type === 'trigger' ? def.table : def.name;
      if (def.type !== r.type || nameKey(def.name) !== key || nameKey(table) !== nameKey(r.tblName)) bad();
    } else {
      bad();
    }
  }
  return out;
}

/**
 * sqlite_schema rows with NULL SQL that are not typed 'index', which SQLite's loader still
 * takes for automatic indexes (sqlite3InitCallback looks them up by name, whatever their
 * type): the IndexInfo each would be, keyed by row name, when a table's constraints create an
 * automatic index of that name. The catalog lists only rows typed 'index'. Memoized per
 * catalog so that every phase sees the same objects.
 */
const adoptedCache = new WeakMap<Catalog, Map<string, IndexInfo>>();

export function adoptedIndexes(catalog: Catalog): Map<string, IndexInfo> {
  const hit = adoptedCache.get(catalog);
  if (hit) return hit;
  const out = new Map<string, IndexInfo>();
  for (const r of catalog.rows) {
    if (r.sql !== null || r.type === 'index') continue;
    const key = nameKey(r.name);
    const found = findAutoIndex(catalog, key);
    if (found !== undefined) {
      const { t, auto } = found;
      const columns = [...auto.columns];
      out.set(key, {
        name: r.name,
        table: t.name,
        rootPage: r.rootPage,
        sql: null,
        def: null,
        error: null,
        unique: true,
        auto: true,
        partial: false,
        expression: false,
        onConflict: auto.onConflict,
        columns,
        nKey: auto.nKey,
        keyInfo: keyInfoOf(columns),
      });
    }
  }
  adoptedCache.set(catalog, out);
  return out;
}

/** The automatic index named `key` (nameKey) that some table's constraints create, if any. */
function findAutoIndex(catalog: Catalog, key: string): { t: TableInfo; auto: AutoIndex } | undefined {
  for (const t of new Set(catalog.tables.values())) {
    if (t.def === null || t.error !== null || t.virtual) continue;
    try {
      const auto = automaticIndexes(t.def).find((a) => a.inSchema && nameKey(a.name) === key);
      if (auto) return { t, auto };
    } catch {
      // a table whose constraints SQLite would reject: reported as its own problem
    }
  }
  return undefined;
}

/** The indexes of table `t`: the catalog's, then adopted ones (see {@link adoptedIndexes}). */
function indexesOf(catalog: Catalog, t: TableInfo): IndexInfo[] {
  const extra = [...adoptedIndexes(catalog).values()].filter((ix) => nameKey(ix.table) === nameKey(t.name));
  return extra.length === 0 ? t.indexes : [...t.indexes, ...extra];
}

/**
 * The b-trees of a database for the page-level check, with what each belongs to: page 1
 * (sqlite_schema), then every table and index of sqlite_schema with a root page, in its order
 * (WITHOUT ROWID tables as index trees keyed by their PRIMARY KEY; trees whose SQL quire cannot
 * use take their kind from their root page and get no key-order check).
 */
export function treesOf(catalog: Catalog): { specs: TreeSpec[]; owners: (TableInfo | IndexInfo | null)[] } {
  const specs: TreeSpec[] = [{ root: 1, kind: 'table' }];
  const owners: (TableInfo | IndexInfo | null)[] = [null];
  const adopted = adoptedIndexes(catalog);
  for (const r of catalog.rows) {
    if (r.rootPage <= 0) continue;
    const ax = r.sql === null && r.type !== 'index' ? adopted.get(nameKey(r.name)) : undefined;
    if (ax !== undefined) {
      owners.push(ax);
      specs.push({ root: r.rootPage, kind: 'index', keyInfo: ax.keyInfo });
    } else if (r.type === 'table') {
      const t = catalog.tables.get(nameKey(r.name));
      if (!t || t.virtual) continue;
      owners.push(t);
      if (!t.def) specs.push({ root: r.rootPage });
      else if (t.withoutRowid) specs.push({ root: r.rootPage, kind: 'index', keyInfo: t.keyInfo, nKey: t.pkColumns.length });
      else specs.push({ root: r.rootPage, kind: 'table' });
    } else if (r.type === 'index') {
      const ix = catalog.indexes.get(nameKey(r.name));
      owners.push(ix ?? null);
      const usable = ix !== undefined && ix.error === null && ix.columns.length > 0;
      specs.push({ root: r.rootPage, kind: 'index', keyInfo: usable ? ix.keyInfo : undefined });
    }
  }
  return { specs, owners };
}

// ---------------------------------------------------------------- rows

/**
 * True when quire can rebuild every entry of index `ix` from the rows of table `t` (phase 4):
 * not partial, no expression, no VIRTUAL generated column, collations quire has, a usable
 * schema. Other indexes get only the entry-count check.
 */
export function rowCheckable(t: TableInfo, ix: IndexInfo): boolean {
  if (ix.error !== null || ix.partial || ix.expression || ix.columns.length === 0 || ix.rootPage <= 0) return false;
  if (t.def === null || t.error !== null || t.virtual) return false;
  for (const c of ix.columns) {
    if (c.column === -1 ? t.withoutRowid : c.column < 0 || c.column >= t.columns.length || t.columns[c.column].slot < 0) return false;
  }
  try {
    keyComparator(ix.keyInfo);
  } catch {
    return false; // a collation quire does not have
  }
  return true;
}

/** An index quire can rebuild entries for, with what the checks need. */
interface Checked {
  ix: IndexInfo;
  /** Position among the table's indexes (messages for one row come in this order). */
  order: number;
  cmp: KeyComparator;
  /** Row positions of the entry's fields; -1 = the rowid. */
  fields: number[];
  /** Key columns compared byte-exactly after a match (non-BINARY collations). */
  exact: number[];
  nKey: number;
  /** Key columns that may hold NULL (NULL keys never collide in a UNIQUE index). */
  nullable: boolean[];
}

interface Finding {
  row: number;
  order: number;
  text: string;
}

const STRICT_NAMES = new Set(['INT', 'INTEGER', 'REAL', 'TEXT', 'BLOB']);

function isInteger(v: SqlValue): boolean {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v) && !Object.is(v, -0));
}

/**
 * The type-check message for value v of column c in table t, or null (see phase 4). `real`:
 * the record stores a REAL (serial type 7) there, which a JS number cannot tell from an
 * INTEGER when it is integral.
 */
function typeProblem(t: TableInfo, ci: number, v: SqlValue, real: boolean): string | null {
  const def = t.def!;
  const c = def.columns[ci];
  const where = `${t.name}.${c.name}`;
  if (c.notNull && v === null) return `NULL value in ${where}`;
  if (def.strict) {
    const ty = c.standardType;
    if (ty === undefined || !STRICT_NAMES.has(ty) || v === null) return null;
    let ok: boolean;
    switch (ty) {
      case 'INT':
      case 'INTEGER':
        ok = isInteger(v) && !real;
        break;
      case 'REAL':
        ok = typeof v === 'number' || typeof v === 'bigint';
        break;
      case 'TEXT':
        ok = typeof v === 'string';
        break;
      default:
        ok = v instanceof Uint8Array;
    }
    return ok ? null : `non-${ty} value in ${where}`;
  }
  if (c.affinity === 'TEXT') {
    return typeof v === 'number' || typeof v === 'bigint' ? `NUMERIC value in ${where}` : null;
  }
  if (c.affinity === 'NUMERIC' || c.affinity === 'INTEGER' || c.affinity === 'REAL') {
    return typeof v === 'string' && textToNumeric(v) !== undefined ? `TEXT value in ${where}` : null;
  }
  return null;
}

/**
 * For a STRICT table with INT/INTEGER columns: the "row:column" pairs (rows numbered from 1 in
 * b-tree order) whose record stores a REAL (serial type 7) in such a column, at most `max` of
 * them. Read from the record headers, since decoded values lose the INTEGER/REAL distinction.
 */
async function strictReals(src: Snapshot, t: TableInfo, max: number): Promise<Set<string> | null> {
  const cols: [number, number][] = []; // [column, record slot]
  t.def!.columns.forEach((c, i) => {
    if ((c.standardType === 'INT' || c.standardType === 'INTEGER') && i !== t.rowidAlias && t.columns[i].slot >= 0) {
      cols.push([i, t.columns[i].slot]);
    }
  });
  if (cols.length === 0) return null;
  const maxSlot = Math.max(...cols.map((c) => c[1]));
  const out = new Set<string>();
  const cur = t.withoutRowid ? new IndexCursor(src, t.rootPage, t.keyInfo) : new TableCursor(src, t.rootPage);
  const v: Varint = { value: 0 };
  const types: number[] = [];
  let n = 0;
  try {
    for (let ok = await cur.first(); ok && out.size < max; ok = await cur.next()) {
      n++;
      const b = await cur.payload();
      types.length = 0;
      const hl = readVarint(b, 0, b.length, v);
      const hdrEnd = typeof v.value === 'number' ? Math.min(v.value, b.length) : 0;
      for (let q = hl; q > 0 && q < hdrEnd && types.length <= maxSlot; ) {
        const k = readVarint(b, q, hdrEnd, v);
        if (k === 0) break;
        types.push(Number(v.value));
        q += k;
      }
      for (const [ci, slot] of cols) if (types[slot] === 7) out.add(`${n}:${ci}`);
    }
  } catch (e) {
    if (!isQuireError(e) || e.code !== 'CORRUPT') throw e;
    // The main scan meets the same damage and reports it.
  }
  return out;
}

function fail(e: unknown): string {
  if (!isQuireError(e) || e.code !== 'CORRUPT') throw e;
  return e.message;
}

async function checkRows(
  src: Snapshot,
  t: TableInfo,
  indexes: readonly IndexInfo[],
  treeOf: Map<TableInfo | IndexInfo, TreeReport>,
  out: string[],
  maxErrors: number,
  mode: 'auto' | 'merge' | 'seek',
): Promise<void> {
  const def = t.def!;
  const rowid = !t.withoutRowid;
  // Row layout (src/read.ts): [rowid,] then the stored columns in declaration order.
  const pos: number[] = [];
  let p = rowid ? 1 : 0;
  for (const c of t.columns) pos.push(c.slot >= 0 ? p++ : -2);
  if (rowid && t.rowidAlias >= 0) pos[t.rowidAlias] = 0;

  const checked: Checked[] = [];
  indexes.forEach((ix, order) => {
    if (!rowCheckable(t, ix)) return;
    const it = treeOf.get(ix);
    if (!it || !it.clean) return;
    checked.push(checkedIndex(t, ix, order, (col) => (col === -1 ? 0 : pos[col]), src));
  });

  // Columns whose values are type-checked.
  const typed = typedColumns(t).filter((i) => pos[i] >= 0);

  // STRICT INT/INTEGER columns: which rows store a REAL there (read from serial types).
  const realAt = def.strict ? await strictReals(src, t, maxErrors) : null;

  const setup: RowSetup = { t, rowid, pos, checked, typed, realAt, maxErrors };
  let findings = mode === 'auto' ? await scanRows(src, setup, 'hash', out) : null;
  if (findings === null) findings = (await scanRows(src, setup, mode === 'merge' ? 'merge' : 'seek', out))!;
  flush(findings, out, maxErrors);
}

/** Index `ix` of table `t` as the row checks need it; `field` maps a column (-1: rowid) to an entry field's source. */
function checkedIndex(t: TableInfo, ix: IndexInfo, order: number, field: (column: number) => number, src: Snapshot): Checked {
  const def = t.def!;
  const fields = ix.columns.map((c) => field(c.column));
  const cmp = keyComparator(ix.keyInfo, src.encoding);
  const exact: number[] = [];
  const nullable: boolean[] = [];
  for (let k = 0; k < ix.nKey; k++) {
    const coll = ix.columns[k].collation.toUpperCase();
    if (coll !== 'BINARY') exact.push(k);
    const col = ix.columns[k].column;
    nullable.push(col < 0 || !def.columns[col].notNull);
  }
  return { ix, order, cmp, fields, exact, nKey: ix.nKey, nullable };
}

/** The columns of `t` whose values are type-checked (not the INTEGER PRIMARY KEY, stored ones only). */
function typedColumns(t: TableInfo): number[] {
  const def = t.def!;
  const out: number[] = [];
  def.columns.forEach((c, i) => {
    if (i === t.rowidAlias || t.columns[i].slot < 0) return;
    const strictCheck = def.strict && c.standardType !== undefined && c.standardType !== 'ANY';
    const affCheck = !def.strict && c.affinity !== 'BLOB';
    if (c.notNull || strictCheck || affCheck) out.push(i);
  });
  return out;
}

/** How a column's value is type-checked from its serial type (see TableWatch). */
const Want = {
  None: 0,
  StrictInt: 1,
  StrictReal: 2,
  StrictText: 3,
  StrictBlob: 4,
  /** TEXT affinity: no number. */
  NoNumber: 5,
  /** Numeric affinity: no text that converts to a number. */
  NoNumericText: 6,
} as const;
type Want = (typeof Want)[keyof typeof Want];

/** A type-checked column as TableWatch checks it. */
interface WatchedColumn {
  /** Record slot. */
  slot: number;
  notNull: boolean;
  want: Want;
  /** The column's value in a row too short to hold it (its default) has a type problem. */
  shortBad: boolean;
}

/**
 * Phase 4 for a table, done while phase 2 walks its pages (so they are read once): every
 * record parses, no stored value has a type problem (decided from serial types; a TEXT is
 * decoded only in a numeric-affinity column), and each checkable index's expected entries
 * (hashed from the record bytes, see btree/rawrecord.ts) hash as the entries its own walk
 * finds ({@link IndexWatch}). It can only say that all is well ({@link passed}); anything
 * else (a type problem, a difference, a record that does not parse) leaves the table to
 * checkRows, which reads it again, as before, and names the rows.
 */
class TableWatch implements TreeVisitor {
  ok = true;
  readonly indexes: IndexWatch[] = [];
  private readonly sums: MultisetHash[] = [];
  /** Per index: record slot of each entry field (-1: the rowid), and its value in short rows. */
  private readonly slots: number[][] = [];
  private readonly fallbacks: SqlValue[][] = [];
  private readonly typed: WatchedColumn[] = [];
  private readonly rec = new RawRecord();
  private readonly enc: Snapshot['encoding'];

  constructor(t: TableInfo, indexes: readonly IndexInfo[], src: Snapshot) {
    this.enc = src.encoding;
    const def = t.def!;
    const slotOf = (col: number): number => (col === -1 || col === t.rowidAlias ? -1 : t.columns[col].slot);
    indexes.forEach((ix, order) => {
      if (!rowCheckable(t, ix)) return;
      const c = checkedIndex(t, ix, order, slotOf, src);
      this.indexes.push(new IndexWatch(c, src));
      this.sums.push(new MultisetHash(src.encoding));
      this.slots.push(c.fields);
      this.fallbacks.push(ix.columns.map((x) => (x.column < 0 ? null : fallbackValue(t.columns[x.column]))));
    });
    for (const i of typedColumns(t)) {
      const c = def.columns[i];
      let want: Want = Want.None;
      if (def.strict) {
        const ty = c.standardType;
        want = ty === 'INT' || ty === 'INTEGER' ? Want.StrictInt : ty === 'REAL' ? Want.StrictReal : ty === 'TEXT' ? Want.StrictText : ty === 'BLOB' ? Want.StrictBlob : Want.None;
      } else if (c.affinity === 'TEXT') {
        want = Want.NoNumber;
      } else if (c.affinity === 'NUMERIC' || c.affinity === 'INTEGER' || c.affinity === 'REAL') {
        want = Want.NoNumericText;
      }
      const shortBad = typeProblem(t, i, fallbackValue(t.columns[i]), false) !== null;
      this.typed.push({ slot: t.columns[i].slot, notNull: c.notNull, want, shortBad });
    }
  }

  entry(rowid: number | bigint, buf: Uint8Array | null, start: number, end: number): void {
    if (!this.ok) return;
    const r = this.rec;
    if (buf === null || !r.parse(buf, start, end) || !this.typesOk(r)) {
      this.ok = false;
      return;
    }
    for (let k = 0; k < this.sums.length; k++) {
      const h = this.sums[k];
      const slots = this.slots[k];
      h.begin();
      for (let f = 0; f < slots.length; f++) {
        const s = slots[f];
        if (s < 0) h.value(rowid);
        else if (s < r.n) h.field(r, s);
        else h.value(this.fallbacks[k][f]);
      }
      h.end(slots.length);
    }
  }

  /** True when no value of record `r` has a type problem (see typeProblem). */
  private typesOk(r: RawRecord): boolean {
    for (const c of this.typed) {
      if (c.slot >= r.n) {
        if (c.shortBad) return false;
        continue;
      }
      const ty = r.types[c.slot];
      // 0 NULL, 1 INTEGER, 2 REAL, 3 TEXT, 4 BLOB
      const cls = ty >= 12 ? (ty & 1 ? 3 : 4) : ty === 7 ? (r.isNull(c.slot) ? 0 : 2) : ty === 0 || ty === 10 || ty === 11 ? 0 : 1;
      if (cls === 0) {
        if (c.notNull) return false;
        continue;
      }
      switch (c.want) {
        case Want.StrictInt:
          if (cls !== 1) return false;
          break;
        case Want.StrictReal:
          if (cls > 2) return false;
          break;
        case Want.StrictText:
          if (cls !== 3) return false;
          break;
        case Want.StrictBlob:
          if (cls !== 4) return false;
          break;
        case Want.NoNumber:
          if (cls <= 2) return false;
          break;
        case Want.NoNumericText:
          if (cls === 3) {
            const o = r.offs[c.slot];
            if (textToNumeric(decodeText(r.buf, o, o + r.size(c.slot), this.enc)) !== undefined) return false;
          }
          break;
        default:
      }
    }
    return true;
  }

  /** True when the table needs no other row check: every value typed well, every clean index matching. */
  passed(treeOf: Map<TableInfo | IndexInfo, TreeReport>): boolean {
    if (!this.ok) return false;
    return this.indexes.every((x, k) => {
      const it = treeOf.get(x.c.ix);
      return !it || !it.clean || (x.ok && x.sum.equals(this.sums[k]));
    });
  }
}

/** An index's entries hashed during its walk (from the record bytes), with UNIQUE neighbours compared. */
class IndexWatch implements TreeVisitor {
  ok = true;
  readonly c: Checked;
  readonly sum: MultisetHash;
  /** UNIQUE indexes: the entry met before (the walk goes in descending order: the next one in order). */
  private prev: RecordCopy | null = null;
  private readonly rec = new RawRecord();
  private readonly colls: string[];
  private readonly desc: boolean[];
  private readonly enc: Snapshot['encoding'];

  constructor(c: Checked, src: Snapshot) {
    this.c = c;
    this.sum = new MultisetHash(src.encoding);
    this.colls = c.ix.keyInfo.map((k) => (k.collation ?? 'BINARY').toUpperCase());
    this.desc = c.ix.keyInfo.map((k) => k.desc === true);
    this.enc = src.encoding;
  }

  entry(_rowid: number | bigint, buf: Uint8Array | null, start: number, end: number, parsed: RawRecord | null): void {
    if (!this.ok) return;
    const r = parsed ?? this.rec;
    if (parsed === null && (buf === null || !r.parse(buf, start, end))) {
      this.ok = false;
      return;
    }
    this.sum.addRecord(r);
    if (this.c.ix.unique) {
      if (this.prev !== null && this.collides(r, this.prev.rec)) this.ok = false;
      (this.prev ??= new RecordCopy()).copy(r);
    }
  }

  /** collides() on records: equal keys, no NULL in a nullable key column of `a`. */
  private collides(a: RawRecord, b: RawRecord): boolean {
    const c = this.c;
    for (let k = 0; k < c.nKey && k < a.n; k++) if (c.nullable[k] && a.isNull(k)) return false;
    return compareRecords(a, b, Math.min(a.n, b.n, c.nKey), this.colls, this.desc, this.enc) === 0;
  }
}

/** What one scan of a table's rows needs (see checkRows). */
interface RowSetup {
  t: TableInfo;
  rowid: boolean;
  /** Row positions of the table's columns (-2: not stored). */
  pos: number[];
  checked: Checked[];
  /** Columns whose values are type-checked. */
  typed: number[];
  /** STRICT INT/INTEGER columns storing a REAL, as "row:column". */
  realAt: Set<string> | null;
  maxErrors: number;
}

/**
 * One scan of the table's rows with the type checks and the index checks of `mode`. Returns
 * the findings, or null in 'hash' mode when an index disagrees with the rows (then a 'seek'
 * scan names the rows).
 */
async function scanRows(src: Snapshot, s: RowSetup, mode: 'merge' | 'seek' | 'hash', out: string[]): Promise<Finding[] | null> {
  const { t, rowid, pos, checked, typed, realAt, maxErrors } = s;
  const useMerge = mode === 'merge';
  const useHash = mode === 'hash';
  const findings: Finding[] = [];
  const room = (): boolean => out.length + findings.length < maxErrors;
  // Merge mode: each index's expected entries by row (row n at n - 1), and the rowids.
  const expected: SqlValue[][][] = checked.map(() => []);
  const rowids: (number | bigint)[] | null = rowid ? [] : null;
  const cursors = mode === 'seek' ? checked.map((c) => new IndexCursor(src, c.ix.rootPage, c.ix.keyInfo)) : [];
  const sums = checked.map(() => new MultisetHash(src.encoding));

  let n = 0;
  let it: RowIterator;
  try {
    it = new RowIterator(t, src, () => {});
  } catch (e) {
    if (isQuireError(e) && (e.code === 'UNSUPPORTED' || e.code === 'SCHEMA')) return findings;
    throw e;
  }
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      const row = r.value;
      n++;
      for (const ci of typed) {
        const msg = typeProblem(t, ci, row[pos[ci]], realAt !== null && realAt.has(`${n}:${ci}`));
        if (msg !== null) findings.push({ row: n, order: -1, text: msg });
      }
      if (useMerge && rowids !== null) rowids.push(row[0] as number | bigint);
      for (let k = 0; k < checked.length; k++) {
        const c = checked[k];
        if (useHash) {
          sums[k].addFields(row, c.fields);
          continue;
        }
        const key = c.fields.map((f) => row[f]);
        if (useMerge) expected[k].push(key);
        else await seekEntry(c, cursors[k], key, n, rowid, src, findings);
      }
      if (!room()) {
        if (useHash) {
          await it.return();
          return null; // the seek scan decides which rows the last findings name
        }
        break;
      }
    }
  } catch (e) {
    findings.push({ row: n + 1, order: -1, text: `Table ${t.name}: ${fail(e)}` });
    await it.return();
    // The rows seen so far cannot tell which entries are missing: no index merge.
    return findings;
  }

  if (useMerge) {
    for (let k = 0; k < checked.length && room(); k++) {
      await mergeIndex(checked[k], expected[k], rowids, src, findings);
      expected[k] = [];
    }
  } else if (useHash) {
    for (let k = 0; k < checked.length; k++) {
      if (!(await indexMatches(checked[k], sums[k], n, src))) return null;
    }
  }
  return findings;
}

/**
 * One in-order scan of index `c`: true when its entries hash as the rows' expected entries
 * (`rows` of them) and, for a UNIQUE index, no two neighbours collide.
 */
async function indexMatches(c: Checked, expected: MultisetHash, rows: number, src: Snapshot): Promise<boolean> {
  const got = new MultisetHash(src.encoding);
  const cur = new IndexCursor(src, c.ix.rootPage, c.ix.keyInfo);
  let prev: SqlValue[] | null = null;
  try {
    let ok = cur.first();
    if (ok instanceof Promise) ok = await ok;
    while (ok) {
      if (got.count >= rows) return false;
      let r = cur.record();
      if (r instanceof Promise) r = await r;
      got.add(r);
      if (prev !== null && collides(c, prev, r)) return false;
      if (c.ix.unique) prev = r;
      ok = cur.next();
      if (ok instanceof Promise) ok = await ok;
    }
  } catch (e) {
    fail(e); // CORRUPT: the seek scan reports it; anything else propagates
    return false;
  }
  return got.equals(expected);
}

function flush(findings: Finding[], out: string[], maxErrors: number): void {
  findings.sort((a, b) => a.row - b.row || a.order - b.order);
  for (const f of findings) {
    if (out.length >= maxErrors) break;
    out.push(f.text);
  }
}

/** Checks a found entry against the row's: rowid at the end, exact values, then nothing else. */
function compareFound(c: Checked, rec: readonly SqlValue[], key: readonly SqlValue[], row: number, rowid: boolean, src: Snapshot, findings: Finding[]): void {
  const name = c.ix.name;
  if (rowid && (rec.length !== key.length || compareValues(rec[rec.length - 1], key[key.length - 1]) !== 0)) {
    findings.push({ row, order: c.order, text: `rowid not at end-of-record for row ${row} of index ${name}` });
  }
  for (const k of c.exact) {
    if (compareValues(rec[k], key[k], 'BINARY', src.encoding) !== 0) {
      findings.push({ row, order: c.order, text: `row ${row} values differ from index ${name}` });
      break;
    }
  }
}

/** True when two entries of a UNIQUE index collide: equal keys, no NULL in a nullable column. */
function collides(c: Checked, a: readonly SqlValue[], b: readonly SqlValue[]): boolean {
  if (!c.ix.unique) return false;
  for (let k = 0; k < c.nKey; k++) if (a[k] === null && c.nullable[k]) return false;
  return c.cmp(a.slice(0, c.nKey), b.slice(0, c.nKey)) === 0;
}

/**
 * Matches index `c` against the expected entries (`keys[n - 1]` for row n) in one in-order
 * scan of the index. Rowid tables (`rowids` given, ascending as the rows came): each entry is
 * looked up by the rowid it ends with (binary search) and must equal that row's entry under
 * the index's collations. WITHOUT ROWID tables: the expected entries are sorted with the
 * index's comparator and merged with the scan. Rows left unmatched are missing.
 */
async function mergeIndex(c: Checked, keys: SqlValue[][], rowids: (number | bigint)[] | null, src: Snapshot, findings: Finding[]): Promise<void> {
  const cmp = c.cmp;
  const name = c.ix.name;
  const n = keys.length;
  const matched = new Uint8Array(n);
  let order: number[] | null = null;
  if (rowids === null) {
    order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => cmp(keys[a], keys[b]) || a - b);
  }
  const last = c.fields.length - 1;
  const cur = new IndexCursor(src, c.ix.rootPage, c.ix.keyInfo);
  let j = 0; // merge position in `order`
  let prev: SqlValue[] | null = null;
  let prevRow = 0;
  try {
    let ok = cur.first();
    if (ok instanceof Promise) ok = await ok;
    while (ok) {
      let r = cur.record();
      if (r instanceof Promise) r = await r;
      const rec = r;
      let at = -1; // the row this entry belongs to, if it matches
      if (order === null) {
        const i = findRowid(rowids!, rec[last]);
        if (i >= 0 && matched[i] === 0 && cmp(keys[i], rec) === 0) at = i;
      } else {
        while (j < n && cmp(keys[order[j]], rec) < 0) j++;
        if (j < n && cmp(keys[order[j]], rec) === 0) at = order[j++];
      }
      let row = 0;
      if (at >= 0) {
        matched[at] = 1;
        row = at + 1;
        compareFound(c, rec, keys[at], row, rowids !== null, src, findings);
      }
      if (prev !== null && collides(c, prev, rec)) {
        findings.push({ row: prevRow || row, order: c.order, text: `non-unique entry in index ${name}` });
      }
      prev = rec;
      prevRow = row;
      ok = cur.next();
      if (ok instanceof Promise) ok = await ok;
    }
  } catch (e) {
    findings.push({ row: Infinity, order: c.order, text: `Index ${name}: ${fail(e)}` });
    return;
  }
  for (let i = 0; i < n; i++) {
    if (matched[i] === 0) findings.push({ row: i + 1, order: c.order, text: `row ${i + 1} missing from index ${name}` });
  }
}

/** Position of `rowid` in the ascending `rowids`, or -1 (also for a value that is no integer). */
function findRowid(rowids: readonly (number | bigint)[], v: SqlValue): number {
  if (typeof v !== 'number' && typeof v !== 'bigint') return -1;
  let lo = 0;
  let hi = rowids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = rowids[mid];
    const c = typeof x === 'number' && typeof v === 'number' ? x - v : compareValues(x, v);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

async function seekEntry(c: Checked, cur: IndexCursor, key: SqlValue[], row: number, rowid: boolean, src: Snapshot, findings: Finding[]): Promise<void> {
  const name = c.ix.name;
  try {
    if (!(await cur.seek(key, { op: 'eq' }))) {
      findings.push({ row, order: c.order, text: `row ${row} missing from index ${name}` });
      return;
    }
    const rec = (await cur.record()).slice();
    compareFound(c, rec, key, row, rowid, src, findings);
    if (c.ix.unique) {
      // The entry after this one must have another key (or a NULL in it).
      if ((await cur.next()) && collides(c, rec, await cur.record())) {
        findings.push({ row, order: c.order, text: `non-unique entry in index ${name}` });
      }
    }
  } catch (e) {
    findings.push({ row, order: c.order, text: `Index ${name}: ${fail(e)}` });
  }
}
