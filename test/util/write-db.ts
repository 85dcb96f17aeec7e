/**
 * Test helper for the b-tree writer: databases built by quire in memory (MemoryStorage +
 * Pager + BtreeWriter), dumped to a temp file and judged by real SQLite (better-sqlite3
 * PRAGMA integrity_check, row reads) and by quire's own cursors.
 */
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRecord } from '../../btree/record.js';
import { BtreeWriter, initializeDatabase } from '../../btree/write.js';
import type { SqlValue } from '../../btree/value.js';
import { put32, get32 } from '../../pager/bytes.js';
import { newHeader, type Encoding } from '../../pager/header.js';
import { MemoryStorage } from '../../pager/memory.js';
import { Pager, type WriteTxn } from '../../pager/pager.js';
import { tempDir } from './btree-db.js';

export interface WriteDbOptions {
  pageSize?: number;
  reserved?: number;
  autoVacuum?: 'none' | 'full' | 'incremental';
  encoding?: Encoding;
}

export interface WriteDb {
  storage: MemoryStorage;
  pager: Pager;
  /** Next rowid for sqlite_schema rows. */
  schemaRowid: number;
}

/** A new empty database (committed). */
export async function createDb(opts: WriteDbOptions = {}): Promise<WriteDb> {
  const pageSize = opts.pageSize ?? 4096;
  const storage = new MemoryStorage();
  const pager = await Pager.open(storage, { newPageSize: pageSize, synchronous: 'off' });
  const txn = await pager.beginWrite();
  await initializeDatabase(
    txn,
    newHeader({ pageSize, reservedBytes: opts.reserved ?? 0, autoVacuum: opts.autoVacuum ?? 'none', encoding: opts.encoding }),
  );
  await txn.commit();
  return { storage, pager, schemaRowid: 1 };
}

/** Adds a sqlite_schema row (type, name, tbl_name, rootpage, sql) and bumps the schema cookie. */
export async function addSchemaRow(
  db: WriteDb,
  txn: WriteTxn,
  w: BtreeWriter,
  type: 'table' | 'index',
  name: string,
  tblName: string,
  root: number,
  sql: string,
): Promise<number> {
  const rowid = db.schemaRowid++;
  await w.insert(1, rowid, encodeRecord([type, name, tblName, root, sql], txn.encoding));
  const p1 = await txn.writable(1);
  put32(p1, 40, get32(p1, 40) + 1);
  return rowid;
}

/** Updates the rootpage column of a sqlite_schema row. */
export async function setSchemaRoot(txn: WriteTxn, w: BtreeWriter, rowid: number, row: SqlValue[], root: number): Promise<void> {
  const r = row.slice();
  r[3] = root;
  await w.insert(1, rowid, encodeRecord(r, txn.encoding));
  const p1 = await txn.writable(1);
  put32(p1, 40, get32(p1, 40) + 1);
}

let n = 0;

/** Writes the committed database file to a temp path and returns the path. */
export function dumpDb(db: WriteDb): string {
  const img = db.storage.getFile('db');
  if (!img) throw new Error('no db file');
  const path = join(tempDir(), `w${process.pid}-${++n}.db`);
  writeFileSync(path, img);
  return path;
}

/** Runs PRAGMA integrity_check with SQLite on the committed file; returns its messages. */
export function sqliteCheck(path: string): string[] {
  const s = new Database(path, { readonly: true });
  try {
    return (s.prepare('PRAGMA integrity_check(1000)').pluck().all() as string[]).filter((x) => x !== 'ok');
  } finally {
    s.close();
  }
}

export function openSqlite(path: string): Database.Database {
  return new Database(path, { readonly: true });
}
