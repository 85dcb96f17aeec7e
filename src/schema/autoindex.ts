/**
 * The indexes SQLite creates by itself for PRIMARY KEY and UNIQUE constraints, the key of a
 * WITHOUT ROWID table, and the column layout of index and table records (build.c
 * sqlite3CreateIndex, sqlite3AddPrimaryKey, convertToWithoutRowidTable).
 *
 * How SQLite builds them, replayed here in the same order:
 *
 *   1. Each PRIMARY KEY / UNIQUE constraint, in source order (column constraints as their
 *      column is parsed, then table constraints), creates an index named
 *      sqlite_autoindex_<table>_<N>, N = 1 + the number of indexes the table has so far —
 *      except an INTEGER PRIMARY KEY (one column declared exactly INTEGER, not written
 *      `INTEGER PRIMARY KEY DESC` as a column constraint), which makes that column the rowid.
 *   2. A key column's collation is the one written in the constraint, else the column's.
 *      DESC is kept when the schema format (header offset 44) is 4, dropped below.
 *   3. A new index with the same key columns and collations (case-insensitively; sort order
 *      ignored) as an earlier one is not created: the earlier one takes its ON CONFLICT if it
 *      had none (both explicit and different: "conflicting ON CONFLICT clauses specified"),
 *      and becomes the PRIMARY KEY index if the new one was the PRIMARY KEY. Numbering stays
 *      dense.
 *   4. WITHOUT ROWID, at the end: an INTEGER PRIMARY KEY now becomes an ordinary PRIMARY KEY
 *      index (created last, so numbered last; its collation is the column's, even if the
 *      constraint named another); repeated columns (same column and collation) are dropped
 *      from the PRIMARY KEY; every other index gets the PRIMARY KEY columns it lacks appended
 *      (ASC, whatever the key's order: SQLite's "bAscKeyBug" indexes); the PRIMARY KEY index
 *      gets every other non-VIRTUAL column appended: it is the table b-tree.
 *   5. Rowid tables: every index entry ends with the rowid.
 *
 * Records: a rowid table's record holds every non-VIRTUAL column in declaration order (the
 * INTEGER PRIMARY KEY column as NULL, its value being the rowid); a WITHOUT ROWID table's
 * record holds the PRIMARY KEY index's columns in that index's order.
 */
import { asciiEqualNoCase, asciiLower, schemaError } from './tokenize.js';
import type { AutoIndex, ConflictResolution, IndexColumn, IndexDef, TableDef } from './types.js';

/** Options for the functions of this module. */
export interface IndexLayoutOptions {
  /**
   * The database's schema format number (header offset 44). Formats below 4 ignore DESC in
   * index definitions. Default 4.
   */
  schemaFormat?: number;
}

interface SimKey {
  column: number;
  collation: string;
  desc: boolean;
}

/** An index as sqlite3CreateIndex leaves it while the CREATE TABLE is processed. */
export interface SimIndex {
  name: string;
  origin: 'pk' | 'u';
  onError: ConflictResolution | undefined;
  keys: SimKey[];
  aux: SimKey[];
  inSchema: boolean;
}

/**
 * The column an INTEGER PRIMARY KEY makes the rowid alias while parsing (SQLite's iPKey before
 * a WITHOUT ROWID conversion), or -1.
 */
export function integerPrimaryKeyColumn(table: TableDef): number {
  const pk = table.primaryKey;
  if (!pk || pk.columns.length !== 1) return -1;
  const c = pk.columns[0];
  if (table.columns[c.column]?.standardType !== 'INTEGER') return -1;
  if (pk.origin === 'column' && c.desc) return -1;
  return c.column;
}

function sameCollation(a: string, b: string): boolean {
  return asciiEqualNoCase(a, b);
}

/**
 * Replays SQLite's index construction for a parsed table. `error` is set when SQLite would
 * have rejected the statement (conflicting ON CONFLICT clauses).
 */
export function simulateIndexes(table: TableDef, schemaFormat: number): { indexes: SimIndex[]; error?: string } {
  const honorDesc = schemaFormat >= 4;
  const indexes: SimIndex[] = [];
  // Key signature (columns and case-folded collations) -> index, for SQLite's duplicate check.
  const bySignature = new Map<string, SimIndex>();
  let error: string | undefined;
  const colColl = (i: number): string => table.columns[i]?.collation ?? 'BINARY';
  const create = (keys: { column: number; collation: string | undefined; desc: boolean }[], onError: ConflictResolution | undefined, origin: 'pk' | 'u'): void => {
    const name = `sqlite_autoindex_${table.name}_${indexes.length + 1}`;
    const k: SimKey[] = keys.map((x) => ({ column: x.column, collation: x.collation ?? colColl(x.column), desc: honorDesc && x.desc }));
    const signature = JSON.stringify(k.map((x) => [x.column, asciiLower(x.collation)]));
    const prev = bySignature.get(signature);
    if (prev) {
      if (prev.onError !== onError) {
        if (prev.onError !== undefined && onError !== undefined) error ??= 'conflicting ON CONFLICT clauses specified';
        if (prev.onError === undefined) prev.onError = onError;
      }
      if (origin === 'pk') prev.origin = 'pk';
      return;
    }
    const created: SimIndex = { name, origin, onError, keys: k, aux: [], inSchema: true };
    indexes.push(created);
    bySignature.set(signature, created);
  };

  const ipk = integerPrimaryKeyColumn(table);
  const constraints = [
    ...(table.primaryKey ? [{ kind: 'pk' as const, def: table.primaryKey }] : []),
    ...table.uniques.map((def) => ({ kind: 'u' as const, def })),
  ].sort((a, b) => a.def.ordinal - b.def.ordinal);
  for (const c of constraints) {
    if (c.kind === 'pk' && ipk >= 0) continue;
    create(c.def.columns.map((x) => ({ column: x.column, collation: x.collation, desc: x.desc })), c.def.onConflict, c.kind);
  }

  if (table.withoutRowid && table.primaryKey) {
    const pkDef = table.primaryKey;
    if (ipk >= 0) {
      const desc = pkDef.origin === 'table' && pkDef.columns[0].desc;
      create([{ column: ipk, collation: undefined, desc }], pkDef.onConflict, 'pk');
    }
    const pk = indexes.find((x) => x.origin === 'pk');
    if (pk) {
      if (ipk < 0) {
        const kept: SimKey[] = [];
        for (const key of pk.keys) {
          if (!kept.some((x) => x.column === key.column && sameCollation(x.collation, key.collation))) kept.push(key);
        }
        pk.keys = kept;
      }
      pk.inSchema = false;
      for (const idx of indexes) {
        if (idx === pk) continue;
        for (const key of pk.keys) {
          const dup = idx.keys.some((x) => x.column === key.column && sameCollation(x.collation, key.collation));
          if (!dup) idx.aux.push({ column: key.column, collation: key.collation, desc: false });
        }
      }
      for (let i = 0; i < table.columns.length; i++) {
        const col = table.columns[i];
        if (pk.keys.some((x) => x.column === i) || col.hidden === 2) continue;
        pk.aux.push({ column: i, collation: col.collation, desc: false });
      }
    }
  } else {
    for (const idx of indexes) idx.aux.push({ column: -1, collation: 'BINARY', desc: false });
  }
  return error === undefined ? { indexes } : { indexes, error };
}

function toColumns(table: TableDef, keys: SimKey[], key: boolean): IndexColumn[] {
  return keys.map((k) => ({
    column: k.column,
    name: k.column >= 0 ? table.columns[k.column].name : null,
    collation: k.collation,
    desc: k.desc,
    key,
  }));
}

/**
 * The sqlite_autoindex_* indexes of a table, in their numbering order, with every column of
 * their entries (PRAGMA index_xinfo). For a WITHOUT ROWID table the PRIMARY KEY's index is
 * included with inSchema false: its columns are the table b-tree's record layout.
 */
export function automaticIndexes(table: TableDef, options: IndexLayoutOptions = {}): AutoIndex[] {
  if (table.virtual) return [];
  const { indexes, error } = simulateIndexes(table, options.schemaFormat ?? 4);
  if (error) throw schemaError(error);
  return indexes.map((x) => ({
    name: x.name,
    origin: x.origin,
    onConflict: x.onError,
    columns: [...toColumns(table, x.keys, true), ...toColumns(table, x.aux, false)],
    nKey: x.keys.length,
    inSchema: x.inSchema,
  }));
}

/**
 * The key of a WITHOUT ROWID table (its PRIMARY KEY columns after SQLite drops repeats, with
 * the collation and order the table b-tree is sorted by), or undefined for rowid tables.
 */
export function withoutRowidKey(table: TableDef, options: IndexLayoutOptions = {}): IndexColumn[] | undefined {
  if (!table.withoutRowid) return undefined;
  const pk = automaticIndexes(table, options).find((x) => x.origin === 'pk');
  return pk?.columns.filter((c) => c.key);
}

/**
 * Which table column each field of the table b-tree's records holds: for a rowid table the
 * non-VIRTUAL columns in order (the rowid alias is among them, stored as NULL); for a WITHOUT
 * ROWID table the PRIMARY KEY columns, then the other non-VIRTUAL columns.
 */
export function recordColumns(table: TableDef, options: IndexLayoutOptions = {}): number[] {
  if (table.virtual) return [];
  if (table.withoutRowid) {
    const pk = automaticIndexes(table, options).find((x) => x.origin === 'pk');
    return pk ? pk.columns.map((c) => c.column) : [];
  }
  const out: number[] = [];
  table.columns.forEach((c, i) => {
    if (c.hidden !== 2) out.push(i);
  });
  return out;
}

/**
 * Every column of an explicit index's entries (PRAGMA index_xinfo for a CREATE INDEX): the
 * terms, then the rowid, or the WITHOUT ROWID table's PRIMARY KEY columns the terms lack (with
 * the key's collation and order). Throws SCHEMA for a term naming no column of the table.
 */
export function indexColumns(index: IndexDef, table: TableDef, options: IndexLayoutOptions = {}): IndexColumn[] {
  const honorDesc = (options.schemaFormat ?? 4) >= 4;
  const keys: IndexColumn[] = index.terms.map((t) => {
    if (t.name === undefined) {
      return { column: -2, name: null, collation: t.collation ?? 'BINARY', desc: honorDesc && t.desc, key: true, expr: t.expr };
    }
    const name = t.name;
    // SQLite 3.53 rejects rowid in an index ("no such column: rowid") unless a column has that name.
    const j = table.columns.findIndex((c) => asciiEqualNoCase(c.name, name));
    if (j < 0) throw schemaError(`no such column: ${name}`);
    return {
      column: j,
      name: j >= 0 ? table.columns[j].name : null,
      collation: t.collation ?? (j >= 0 ? table.columns[j].collation : 'BINARY'),
      desc: honorDesc && t.desc,
      key: true,
    };
  });
  if (!table.withoutRowid) return [...keys, { column: -1, name: null, collation: 'BINARY', desc: false, key: false }];
  const pkKey = withoutRowidKey(table, options) ?? [];
  const tail = pkKey
    .filter((k) => !keys.some((x) => x.column === k.column && sameCollation(x.collation, k.collation)))
    .map((k) => ({ ...k, key: false }));
  return [...keys, ...tail];
}
