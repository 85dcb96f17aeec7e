/**
 * Database: what users open: a ReadDatabase (src/reader.ts: schema, rows, lookups) plus
 * writing, vacuum, check and backup. It owns a Storage and a Pager, and is the unit the copier
 * (backup) takes as source and destination.
 *
 * Lifecycle: open → (reads, writes, backups) → close. After close every method fails MISUSE.
 * A Database opened on a Storage does not own it unless `ownsStorage` is set (the Node entry
 * opens storages for paths and sets it), so closing releases exactly what it opened.
 */
import { ErrorCode, QuireError, misuse } from '../pager/errors.js';
import { MemoryStorage } from '../pager/memory.js';
import { Pager, type PagerOptions } from '../pager/pager.js';
import type { Storage } from '../pager/storage.js';
import { backup as runBackup, type BackupOptions } from './backup/backup.js';
import type { SnapshotIdentity } from './backup/engine.js';
import { checkDatabase, type CheckOptions } from './check.js';
import { vacuumDatabase, type VacuumOptions, type VacuumResult } from './vacuum.js';
import { Transaction, initializeFile, type CreateOptions, type InputValue, type RowInput, type WriteOptions, type InsertedKey, type Rowid } from './write.js';
import type { SqlValue } from '../btree/value.js';
import { ReadDatabase } from './reader.js';

export type { RowsOptions } from './reader.js';

export interface OpenOptions extends PagerOptions {
  /** Close the storage when the database closes. Default false. */
  ownsStorage?: boolean;
  /**
   * How to format the file if it is empty when first written (page size, encoding,
   * auto-vacuum, journal mode). Ignored for a file that already holds a database.
   */
  create?: CreateOptions;
}

/** Marks Database instances (recognised even across two bundled copies of quire). */
const DATABASE_BRAND = Symbol.for('quire.Database');

/** True for a quire Database (not a mere ReadDatabase), whichever copy of the library made it. */
export function isDatabase(x: unknown): x is Database {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[DATABASE_BRAND] === true;
}

export class Database extends ReadDatabase {
  private readonly createOptions: CreateOptions;

  protected constructor(storage: Storage, pager: Pager, ownsStorage: boolean, createOptions: CreateOptions) {
    super(storage, pager, ownsStorage);
    this.createOptions = createOptions;
    (this as unknown as Record<symbol, boolean>)[DATABASE_BRAND] = true;
  }

  /**
   * Opens the database held by `storage`. Read-only unless `readOnly: false` (or the storage
   * itself is writable and `readOnly` is left unset).
   */
  static override async open(storage: Storage, options: OpenOptions = {}): Promise<Database> {
    const create = options.create ?? {};
    const pager = await Pager.open(storage, { ...options, newPageSize: create.pageSize ?? options.newPageSize });
    return new Database(storage, pager, options.ownsStorage ?? false, create);
  }

  /** A new, empty, writable in-memory database. */
  static async memory(options: OpenOptions = {}): Promise<Database> {
    return Database.open(new MemoryStorage(), { ...options, readOnly: false, ownsStorage: true });
  }

  /**
   * Runs `fn` in a write transaction: commits when it resolves, rolls back when it throws
   * (and rethrows). Every statement inside is atomic on its own. One transaction at a time
   * per Database: a second call while one is open is MISUSE (use the Transaction object).
   * A database whose file is empty is formatted first (OpenOptions.create).
   */
  async transaction<T>(fn: (tx: Transaction) => T | Promise<T>): Promise<T> {
    this.assertOpen();
    if (this.pager.readOnly) throw this.readOnlyError();
    if (typeof fn !== 'function') throw misuse('transaction() takes a function');
    if (this.inTransaction) throw misuse('a transaction is already open on this database; use its Transaction object');
    const w = await this.pager.beginWrite();
    this.currentTxn = w;
    try {
      if (w.pageCount === 0) await initializeFile(w, this.createOptions);
      const tx = new Transaction(this, w);
      const result = await fn(tx);
      if (!w.active) throw misuse('the transaction ended inside its function');
      await tx.beforeCommit();
      await w.commit();
      return result;
    } catch (e) {
      await w.rollback();
      throw e;
    } finally {
      this.currentTxn = null;
    }
  }

  /**
   * Rebuilds the database compactly (SQLite's VACUUM): every b-tree rewritten in key order,
   * no free pages; swapped in as one journaled transaction.
   */
  async vacuum(options: VacuumOptions = {}): Promise<VacuumResult> {
    return vacuumDatabase(this, options);
  }

  /** Runs schema statements (CREATE/DROP TABLE and INDEX) in their own transaction. */
  async exec(sql: string): Promise<void> {
    await this.transaction((tx) => tx.exec(sql));
  }

  /** Inserts one row in its own transaction (see Transaction.insert). */
  insert<K extends InsertedKey = Rowid>(table: string, row: RowInput, options?: WriteOptions & { onConflict?: 'abort' | 'replace' }): Promise<K>;
  insert<K extends InsertedKey = Rowid>(table: string, row: RowInput, options: WriteOptions): Promise<K | null>;
  async insert(table: string, row: RowInput, options: WriteOptions = {}): Promise<InsertedKey | null> {
    return this.transaction((tx) => tx.insert(table, row, options));
  }

  /** Updates one row in its own transaction (see Transaction.update). */
  async update(table: string, key: number | bigint | readonly SqlValue[], changes: Record<string, InputValue>, options: WriteOptions = {}): Promise<boolean> {
    return this.transaction((tx) => tx.update(table, key, changes, options));
  }

  /** Deletes one row in its own transaction (see Transaction.delete). */
  async delete(table: string, key: number | bigint | readonly SqlValue[]): Promise<boolean> {
    return this.transaction((tx) => tx.delete(table, key));
  }

  /**
   * Checks the database's structure like PRAGMA integrity_check: returns the problems found,
   * an empty list when the database is sound.
   */
  async check(options: CheckOptions = {}): Promise<string[]> {
    this.assertOpen();
    return checkDatabase(this, options);
  }

  /**
   * Copies this database into `target` online (Python's Connection.backup): see
   * src/backup/backup.ts for the options. Resolves with the identity of the snapshot copied.
   */
  async backup(target: Database, options: BackupOptions = {}): Promise<SnapshotIdentity> {
    this.assertOpen();
    return runBackup(this, target, options);
  }

  /** @internal */
  protected readOnlyError(): QuireError {
    return new QuireError(ErrorCode.READONLY, `attempt to write a readonly database (${this.name})`);
  }
}
