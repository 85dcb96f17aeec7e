/**
 * What real SQLite (better-sqlite3) says about a CREATE TABLE: the stored schema text and the
 * PRAGMA introspection the schema tests compare quire's parse against.
 */
import Database from 'better-sqlite3';
import type { Affinity } from '../src/schema/types.js';

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
    const name = row.name;
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
    db.exec(`CREATE TEMP TABLE quire_aff AS SELECT * FROM ${quote(name)}`);
    const affinityOfType: Record<string, Affinity> = { '': 'BLOB', TEXT: 'TEXT', NUM: 'NUMERIC', INT: 'INTEGER', REAL: 'REAL' };
    const affinities = (db.prepare('PRAGMA temp.table_info(quire_aff)').all() as OracleColumn[]).map((c) => affinityOfType[c.type]);
    return { ok: true, name, storedSql: row.sql, columns, affinities, indexes, withoutRowid: list.wr === 1, strict: list.strict === 1, foreignKeys };
  } finally {
    db.close();
  }
}
