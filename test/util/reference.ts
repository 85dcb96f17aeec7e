// The oracle side of the differential tests: what real SQLite (better-sqlite3) reads from a
// database file, written in the export format quire's tests compare byte for byte.
//
// Export format (exact):
//   - one JSON array per row, one row per line, every line ending in "\n" (an empty table
//     exports as the empty string);
//   - rows in b-tree order: rowid order for rowid tables, primary-key order (with the key's
//     collations and DESC columns) for WITHOUT ROWID tables;
//   - rowid tables lead with the rowid, then the declared columns in order (an INTEGER
//     PRIMARY KEY column shows the rowid again); WITHOUT ROWID tables have no leading rowid;
//   - VIRTUAL generated columns are omitted (not stored); STORED generated columns appear in
//     declaration order (table_xinfo hidden = 2 is virtual, 3 is stored);
//   - NULL -> null; INTEGER -> a JSON number when |v| <= 2^53-1, else a JSON string of its
//     decimal digits; REAL -> the number as JSON.stringify writes it (so -0.0 is 0), ±Infinity
//     as the strings "Infinity" / "-Infinity"; TEXT -> JSON.stringify of the string;
//     BLOB -> {"blob":"<lowercase hex>"};
//   - a column missing from a short row (added later by ALTER TABLE) shows its DEFAULT, as
//     SQLite reads it.
// The rowid is selected through whichever of rowid, _rowid_, oid is not a declared column name
// (a table that declares all three cannot be exported: its rowid is unreachable from SQL).
//
// The oracle never changes a fixture. A database whose header says WAL, or that has a -wal or
// -journal file beside it, is copied (with those files) into a fresh temporary directory and
// opened read-write there: SQLite creates -shm, recovers the WAL, rolls back a hot journal
// and may checkpoint on close, all on the copy. Anything else is opened read-only in place.

import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

type Db = Database.Database;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function needsCopy(dbPath: string): boolean {
  if (fs.existsSync(dbPath + '-wal') || fs.existsSync(dbPath + '-journal')) return true;
  const fd = fs.openSync(dbPath, 'r');
  try {
    const b = new Uint8Array(2);
    const n = fs.readSync(fd, b, 0, 2, 18);
    return n === 2 && (b[0] === 2 || b[1] === 2);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Open `dbPath` as the oracle (see the module comment), run fn, close, clean up.
 * For anything beyond the three helpers below (e.g. a specific query in a test).
 */
export function withOracle<T>(dbPath: string, fn: (db: Db) => T): T {
  if (!fs.existsSync(dbPath)) throw new Error(`reference: no such file ${dbPath}`);
  if (!needsCopy(dbPath)) {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-oracle-'));
  try {
    const copy = path.join(dir, path.basename(dbPath));
    fs.copyFileSync(dbPath, copy);
    for (const s of ['-wal', '-journal']) {
      if (fs.existsSync(dbPath + s)) fs.copyFileSync(dbPath + s, copy + s);
    }
    const db = new Database(copy, { fileMustExist: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

function tablesOf(db: Db): string[] {
  return db
    .prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND NOT (ltrim(sql) LIKE 'create virtual%') ORDER BY rowid",
    )
    .pluck()
    .all() as string[];
}

/**
 * Stored tables of the database in sqlite_schema order: every type 'table' entry that is not a
 * virtual table (shadow tables of virtual tables, sqlite_sequence and sqlite_stat* included).
 */
export function referenceTables(dbPath: string): string[] {
  return withOracle(dbPath, tablesOf);
}

/** One value in the export format (see the module comment). */
export function exportValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') {
    return v <= MAX_SAFE && v >= -MAX_SAFE ? v.toString() : JSON.stringify(v.toString());
  }
  if (typeof v === 'number') {
    if (v === Infinity) return '"Infinity"';
    if (v === -Infinity) return '"-Infinity"';
    if (Number.isNaN(v)) throw new Error('reference: SQLite returned NaN');
    return JSON.stringify(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `{"blob":"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}"}`;
  throw new Error(`reference: unexpected value of type ${typeof v}`);
}

interface XInfo {
  cid: number;
  name: string;
  hidden: number;
}

interface IndexXInfo {
  name: string | null;
  desc: number;
  coll: string;
  key: number;
}

function exportQuery(db: Db, table: string): string {
  const list = db
    .prepare("SELECT type, wr FROM pragma_table_list WHERE schema = 'main' AND name = ?")
    .get(table) as { type: string; wr: number } | undefined;
  if (!list) throw new Error(`reference: no table ${table}`);
  if (list.type === 'virtual' || list.type === 'view') throw new Error(`reference: ${table} is a ${list.type}`);
  const xinfo = db.prepare('SELECT cid, name, hidden FROM pragma_table_xinfo(?) ORDER BY cid').all(table) as XInfo[];
  const cols = xinfo.filter((c) => c.hidden === 0 || c.hidden === 3).map((c) => quoteIdent(c.name));
  const from = `main.${quoteIdent(table)} NOT INDEXED`;
  if (list.wr === 0) {
    const declared = new Set(xinfo.map((c) => c.name.toLowerCase()));
    const alias = ['rowid', '_rowid_', 'oid'].find((a) => !declared.has(a));
    if (!alias) throw new Error(`reference: ${table} declares rowid, _rowid_ and oid; its rowid is unreachable`);
    return `SELECT ${[alias, ...cols].join(', ')} FROM ${from} ORDER BY ${alias}`;
  }
  const pk = (db.prepare('SELECT name FROM pragma_index_list(?) WHERE origin = ?').get(table, 'pk') as
    | { name: string }
    | undefined)?.name;
  if (!pk) throw new Error(`reference: WITHOUT ROWID table ${table} has no primary-key index`);
  const keys = (db.prepare('SELECT name, desc, coll, key FROM pragma_index_xinfo(?) ORDER BY seqno').all(pk) as IndexXInfo[])
    .filter((k) => k.key === 1 && k.name !== null)
    .map((k) => `${quoteIdent(k.name as string)} COLLATE ${quoteIdent(k.coll)} ${k.desc ? 'DESC' : 'ASC'}`);
  return `SELECT ${cols.join(', ')} FROM ${from} ORDER BY ${keys.join(', ')}`;
}

/** Export one table of `dbPath` in the format described in the module comment. */
export function referenceExport(dbPath: string, table: string): string {
  return withOracle(dbPath, (db) => {
    const stmt = db.prepare(exportQuery(db, table)).raw(true).safeIntegers(true);
    let out = '';
    for (const row of stmt.iterate() as IterableIterator<unknown[]>) {
      out += '[' + row.map(exportValue).join(',') + ']\n';
    }
    return out;
  });
}

/**
 * PRAGMA integrity_check as SQLite reports it: the rows (['ok'] for a sound file). When
 * SQLite raises an error (at open, or after reporting some rows, as newer SQLite does for
 * badly damaged b-trees), the error is the last element, as "<code>: <message>", e.g.
 * "SQLITE_NOTADB: file is not a database". Never throws for a damaged file.
 */
export function referenceIntegrity(dbPath: string): string[] {
  const rows: string[] = [];
  try {
    withOracle(dbPath, (db) => {
      for (const r of db.prepare('PRAGMA integrity_check').raw(true).iterate() as IterableIterator<unknown[]>) {
        rows.push(String(r[0]));
      }
    });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (typeof err.code !== 'string' || !err.code.startsWith('SQLITE_')) throw e;
    rows.push(`${err.code}: ${err.message}`);
  }
  return rows;
}
