/**
 * What real SQLite (better-sqlite3) says about a CREATE TABLE: the stored schema text and the
 * PRAGMA introspection the schema tests compare quire's parse against.
 */
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { automaticIndexes, recordColumns, withoutRowidKey } from '../src/schema/autoindex.js';
import type { Affinity, TableDef } from '../src/schema/types.js';

export interface OracleColumn {
  cid: number;
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
  hidden: number;
}

export interface OracleIndexColumn {
  seqno: number;
  cid: number;
  name: string | null;
  desc: number;
  coll: string;
  key: number;
}

export interface OracleIndex {
  name: string;
  unique: number;
  origin: string;
  partial: number;
  inSchema: boolean;
  xinfo: OracleIndexColumn[];
}

export interface OracleForeignKey {
  id: number;
  seq: number;
  table: string;
  from: string;
  to: string | null;
  on_update: string;
  on_delete: string;
  match: string;
}

export type OracleTable =
  | {
      ok: true;
      name: string;
      storedSql: string;
      columns: OracleColumn[];
      /** Affinity of each column, in PRAGMA table_xinfo order. */
      affinities: (Affinity | undefined)[];
      indexes: OracleIndex[];
      withoutRowid: boolean;
      strict: boolean;
      foreignKeys: OracleForeignKey[];
    }
  | { ok: false; error: string };

const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** Runs `sql` (one CREATE TABLE) in a fresh in-memory database and introspects the result. */
export function oracleTable(sql: string): OracleTable {
  const db = new Database(':memory:');
  try {
    try {
      db.exec(sql);
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
    const row = db
      .prepare("SELECT name, sql FROM (SELECT * FROM sqlite_schema UNION ALL SELECT * FROM sqlite_temp_schema) WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .get() as { name: string; sql: string };
    return introspectTable(db, row.name, row.sql);
  } finally {
    db.close();
  }
}

/**
 * SQLite's introspection of table `name` in an open database (whose text in sqlite_schema is
 * `storedSql`). Creates and drops a TEMP helper table, so `db` must be writable.
 */
export function introspectTable(db: Database.Database, name: string, storedSql: string): Extract<OracleTable, { ok: true }> {
  const columns = db.prepare(`PRAGMA table_xinfo(${quote(name)})`).all() as OracleColumn[];
  const schemaIndexNames = new Set(
    db.prepare("SELECT name FROM (SELECT * FROM sqlite_schema UNION ALL SELECT * FROM sqlite_temp_schema) WHERE type = 'index'").pluck().all() as string[],
  );
  const indexes = (db.prepare(`PRAGMA index_list(${quote(name)})`).all() as Omit<OracleIndex, 'xinfo' | 'inSchema'>[]).map((ix) => ({
    ...ix,
    inSchema: schemaIndexNames.has(ix.name),
    xinfo: db.prepare(`PRAGMA index_xinfo(${quote(ix.name)})`).all() as OracleIndexColumn[],
  }));
  const list = db.prepare(`PRAGMA table_list(${quote(name)})`).get() as { wr: number; strict: number };
  const foreignKeys = db.prepare(`PRAGMA foreign_key_list(${quote(name)})`).all() as OracleForeignKey[];
  // CREATE TABLE ... AS SELECT writes each column's affinity as its type (createTableStmt);
  // SELECT * lists the columns in order (it may rename some, e.g. one called "true").
  db.exec(`CREATE TEMP TABLE quire_aff AS SELECT * FROM ${quote(name)} LIMIT 0`);
  const affinityOfType: Record<string, Affinity> = { '': 'BLOB', TEXT: 'TEXT', NUM: 'NUMERIC', INT: 'INTEGER', REAL: 'REAL' };
  const affinities = (db.prepare('PRAGMA temp.table_info(quire_aff)').all() as OracleColumn[]).map((c) => affinityOfType[c.type]);
  db.exec('DROP TABLE temp.quire_aff');
  return { ok: true, name, storedSql, columns, affinities, indexes, withoutRowid: list.wr === 1, strict: list.strict === 1, foreignKeys };
}

/** Asserts that quire's parse `t` says what SQLite's introspection `o` says. */
export function expectMatchesOracle(t: TableDef, o: Extract<OracleTable, { ok: true }>, sql: string): void {
  const ctx = { sql };
  expect({ ...ctx, name: t.name }).toEqual({ ...ctx, name: o.name });
  expect({ ...ctx, wr: t.withoutRowid, strict: t.strict }).toEqual({ ...ctx, wr: o.withoutRowid, strict: o.strict });
  expect({
    ...ctx,
    columns: t.columns.map((c, i) => ({
      cid: i,
      name: c.name,
      type: c.declType,
      notnull: c.notNull ? 1 : 0,
      dflt_value: c.default?.text ?? null,
      pk: c.pk,
      hidden: c.hidden,
    })),
  }).toEqual({ ...ctx, columns: o.columns });
  expect({ ...ctx, affinities: t.columns.map((c) => c.affinity) }).toEqual({ ...ctx, affinities: o.affinities });
  // Automatic indexes, with every column of their entries.
  const autos = automaticIndexes(t);
  const sqliteAutos = o.indexes.filter((x) => x.origin !== 'c').sort((a, b) => a.name.localeCompare(b.name));
  expect({
    ...ctx,
    indexes: autos
      .map((x) => ({
        name: x.name,
        unique: 1,
        origin: x.origin,
        partial: 0,
        inSchema: x.inSchema,
        xinfo: x.columns.map((c, k) => ({ seqno: k, cid: c.column, name: c.name, desc: c.desc ? 1 : 0, coll: c.collation.toUpperCase(), key: c.key ? 1 : 0 })),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  }).toEqual({
    ...ctx,
    indexes: sqliteAutos.map(({ name, unique, origin, partial, inSchema, xinfo }) => ({
      name,
      unique,
      origin,
      partial,
      inSchema,
      xinfo: xinfo.map((c) => ({ ...c, coll: c.coll.toUpperCase() })),
    })),
  });
  // The rowid alias: a rowid table whose PRIMARY KEY made no index.
  const aliasExpected = !o.withoutRowid && o.columns.some((c) => c.pk > 0) && !o.indexes.some((x) => x.origin === 'pk');
  expect({ ...ctx, alias: t.rowidAlias >= 0 }).toEqual({ ...ctx, alias: aliasExpected });
  if (t.rowidAlias >= 0) expect(o.columns[t.rowidAlias].pk).toBe(1);
  // Foreign keys (PRAGMA foreign_key_list numbers them from the last declared).
  const fks: unknown[] = [];
  [...t.foreignKeys].reverse().forEach((fk, id) => {
    fk.columns.forEach((from, seq) => {
      fks.push({ id, seq, table: fk.table, from, to: fk.parentColumns?.[seq] ?? null, on_update: fk.onUpdate, on_delete: fk.onDelete, match: 'NONE' });
    });
  });
  expect({ ...ctx, fks }).toEqual({ ...ctx, fks: o.foreignKeys });
  // Record layout: a WITHOUT ROWID record follows its PRIMARY KEY index.
  if (t.withoutRowid) {
    const pk = o.indexes.find((x) => x.origin === 'pk');
    expect({ ...ctx, record: recordColumns(t) }).toEqual({ ...ctx, record: pk?.xinfo.map((c) => c.cid) });
    expect(withoutRowidKey(t)?.length).toBe(pk?.xinfo.filter((c) => c.key).length);
  } else {
    expect(recordColumns(t)).toEqual(o.columns.filter((c) => c.hidden !== 2).map((c) => c.cid));
  }
}
