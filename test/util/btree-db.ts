/**
 * Test helper: builds databases with real SQLite (better-sqlite3, and the sqlite3 CLI where
 * only it can do something, such as reserving bytes per page) in a temp directory, and reads
 * the file image back for quire to parse.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir as makeTempDir } from './tmp.js';

export interface BuildOptions {
  pageSize?: number;
  /** Reserved bytes per page (set with the sqlite3 CLI's `.filectrl reserve_bytes`). */
  reserved?: number;
  encoding?: 'UTF-8' | 'UTF-16le' | 'UTF-16be';
  autoVacuum?: 'NONE' | 'FULL' | 'INCREMENTAL';
}

let dir: string | undefined;
let counter = 0;

/** This process's temp directory for b-tree test databases (removed at exit by ./tmp.ts). */
export function tempDir(): string {
  dir ??= makeTempDir('quire-btree-');
  return dir;
}

/**
 * Creates a database file, runs `fill(db)` with a better-sqlite3 connection, closes it and
 * returns { path, image }. Journal mode is the rollback default so the file is complete.
 */
export function buildDb(opts: BuildOptions, fill: (db: Database.Database) => void): { path: string; image: Uint8Array } {
  const path = join(tempDir(), `db${++counter}.sqlite`);
  const pre: string[] = [];
  if (opts.pageSize !== undefined) pre.push(`PRAGMA page_size=${opts.pageSize};`);
  if (opts.encoding !== undefined) pre.push(`PRAGMA encoding='${opts.encoding}';`);
  if (opts.autoVacuum !== undefined) pre.push(`PRAGMA auto_vacuum=${opts.autoVacuum};`);
  if (opts.reserved !== undefined) {
    // The CLI applies reserve_bytes to the new database before the first table is created.
    const args = [path];
    for (const p of pre) args.push(p);
    args.push(`.filectrl reserve_bytes ${opts.reserved}`);
    args.push('CREATE TABLE quire_init(x); DROP TABLE quire_init;');
    execFileSync('sqlite3', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const db = new Database(path);
  try {
    if (opts.reserved === undefined) for (const p of pre) db.exec(p);
    fill(db);
  } finally {
    db.close();
  }
  return { path, image: new Uint8Array(readFileSync(path)) };
}

export function openReadonly(path: string): Database.Database {
  return new Database(path, { readonly: true });
}

/** The fast-check seed of the b-tree tests: QUIRE_SEED from the environment, else fixed. */
export const SEED = process.env.QUIRE_SEED !== undefined ? Number(process.env.QUIRE_SEED) : 0x5eed2026;

/** A value from better-sqlite3 (safeIntegers, raw) in quire's representation. */
export function fromSqlite(v: unknown): null | number | bigint | string | Uint8Array {
  if (typeof v === 'bigint') return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  if (Buffer.isBuffer(v)) return new Uint8Array(v);
  return v as null | number | string;
}

/** Rows of `sql` from better-sqlite3 with safe integers, in quire's representation. */
export function sqliteRows(db: Database.Database, sql: string, ...params: unknown[]): (null | number | bigint | string | Uint8Array)[][] {
  const rows = db.prepare(sql).safeIntegers(true).raw(true).all(...params) as unknown[][];
  return rows.map((r) => r.map(fromSqlite));
}

/** The root page of a table or index, as SQLite records it. */
export function rootOf(db: Database.Database, name: string): number {
  const r = db.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').pluck().get(name);
  if (typeof r !== 'number') throw new Error(`no ${name}`);
  return r;
}
