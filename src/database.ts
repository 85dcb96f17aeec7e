/**
 * Database: what users open. It owns a Storage and a Pager, and is the unit the copier
 * (backup) takes as source and destination.
 *
 * Lifecycle: open → (reads, writes, backups) → close. After close every method fails MISUSE.
 * A Database opened on a Storage does not own it unless `ownsStorage` is set (the Node entry
 * opens storages for paths and sets it), so closing releases exactly what it opened.
 */
import { ErrorCode, QuireError, misuse } from '../pager/errors.js';
import { MemoryStorage } from '../pager/memory.js';
import { Pager, type PagerOptions, type WriteTxn } from '../pager/pager.js';
import type { Storage } from '../pager/storage.js';
import { backup as runBackup, type BackupOptions } from './backup/backup.js';
import type { SnapshotIdentity } from './backup/engine.js';
import { nameKey, readCatalog, type Catalog, type TableInfo } from './catalog.js';
import { RowIterator, columnNames, lookup, type Row } from './read.js';
import { checkDatabase, type CheckOptions } from './check.js';
import { vacuumDatabase, type VacuumOptions, type VacuumResult } from './vacuum.js';
import { Transaction, initializeFile, type CreateOptions, type InputValue, type RowInput, type WriteOptions, type InsertedKey, type Rowid } from './write.js';
import type { SqlValue } from '../btree/value.js';

export interface RowsOptions {
  /** Include the rowid as the first value (rowid tables). Default true for rowid tables. */
  rowid?: boolean;
}

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

/** True for a quire Database, whichever copy of the library made it. */
export function isDatabase(x: unknown): x is Database {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[DATABASE_BRAND] === true;
}

export class Database {
  readonly storage: Storage;
  readonly pager: Pager;
  private readonly ownsStorage: boolean;
  private readonly createOptions: CreateOptions;
  private isClosed = false;
  /** The write transaction opened through this Database, if any. */
  protected currentTxn: WriteTxn | null = null;

  protected constructor(storage: Storage, pager: Pager, ownsStorage: boolean, createOptions: CreateOptions) {
    this.storage = storage;
    this.pager = pager;
    this.ownsStorage = ownsStorage;
    this.createOptions = createOptions;
    (this as unknown as Record<symbol, boolean>)[DATABASE_BRAND] = true;
  }

  /**
   * Opens the database held by `storage`. Read-only unless `readOnly: false` (or the storage
   * itself is writable and `readOnly` is left unset).
   */
  static async open(storage: Storage, options: OpenOptions = {}): Promise<Database> {
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

  get closed(): boolean {
    return this.isClosed;
  }

  get readOnly(): boolean {
    return this.pager.readOnly;
  }

  /** A name for messages: the path or "memory". */
  get name(): string {
    return this.storage.label;
  }

  /** True while a write transaction is open on this database (through quire). */
  get inTransaction(): boolean {
    return (this.currentTxn !== null && this.currentTxn.active) || this.pager.inWriteTransaction;
  }

  private catalogCache: { cookie: number; empty: boolean; catalog: Catalog } | null = null;

  /**
   * The schema: tables (with columns, keys and indexes), indexes, views and triggers, as
   * sqlite_schema describes them. Cached until the schema cookie changes.
   */
  async schema(): Promise<Catalog> {
    this.assertOpen();
    const snap = await this.pager.read();
    try {
      return await this.catalogAt(snap);
    } finally {
      snap.release();
    }
  }

  /** @internal The catalog as of `snap`. */
  async catalogAt(snap: import('../pager/pager.js').Snapshot): Promise<Catalog> {
    const cookie = snap.header?.schemaCookie ?? 0;
    const empty = snap.pageCount === 0;
    const c = this.catalogCache;
    if (c && c.cookie === cookie && c.empty === empty) return c.catalog;
    // SQLite reads the schema format's low byte only, and 0 as 1 (sqlite3InitOne); below 4,
    // DESC in index definitions is ignored.
    const raw = snap.header?.schemaFormat;
    const catalog = await readCatalog(snap, cookie, raw === undefined ? 4 : (raw & 0xff) || 1);
    this.catalogCache = { cookie, empty, catalog };
    return catalog;
  }

  /** Names of the tables, in sqlite_schema order. */
  async tables(): Promise<string[]> {
    return (await this.schema()).rows.filter((r) => r.type === 'table').map((r) => r.name);
  }

  /** @internal */
  tableIn(catalog: Catalog, name: string): TableInfo {
    if (typeof name !== 'string') throw misuse('a table name must be a string');
    const t = catalog.tables.get(nameKey(name));
    if (!t) throw new QuireError(ErrorCode.NOTFOUND, `no such table: ${name}`);
    return t;
  }

  /** Information about one table (NOTFOUND if there is none). */
  async table(name: string): Promise<TableInfo> {
    return this.tableIn(await this.schema(), name);
  }

  /** Names of the values `rows()` yields for `table`. */
  async columns(table: string, options: RowsOptions = {}): Promise<string[]> {
    const t = await this.table(table);
    return columnNames(t, !t.withoutRowid && (options.rowid ?? true));
  }

  /**
   * Iterates a table's rows in b-tree order (rowid order; primary-key order for WITHOUT
   * ROWID), each an array: the rowid first for rowid tables, then the stored columns in
   * declaration order. One snapshot for the whole iteration.
   *
   *     for await (const row of db.rows('t')) ...
   */
  rows(table: string, options: RowsOptions = {}): AsyncIterableIterator<Row> {
    this.assertOpen();
    const withRowid = options.rowid ?? true;
    let inner: RowIterator | null = null;
    let snapshot: import('../pager/pager.js').Snapshot | null = null;
    const start = async (): Promise<RowIterator> => {
      if (inner) return inner;
      const snap = await this.pager.read();
      snapshot = snap;
      try {
        const t = this.tableIn(await this.catalogAt(snap), table);
        inner = new RowIterator(t, snap, () => snap.release());
      } catch (e) {
        snap.release();
        throw e;
      }
      return inner;
    };
    const strip = (r: IteratorResult<Row>): IteratorResult<Row> => {
      if (!r.done && !withRowid && inner && r.value.length) r.value.shift();
      return r;
    };
    const it: AsyncIterableIterator<Row> = {
      [Symbol.asyncIterator]() {
        return it;
      },
      next() {
        // Once started, rows with the rowid come straight from the inner iterator.
        if (inner !== null && withRowid) return inner.next();
        return start().then((i) => i.next().then(strip));
      },
      async return() {
        if (inner) return inner.return();
        snapshot?.release();
        return { value: undefined, done: true };
      },
    };
    return it;
  }

  /**
   * One row by rowid (rowid tables) or by primary-key values (WITHOUT ROWID tables), in the
   * shape `rows()` yields, or undefined.
   */
  async get(table: string, key: number | bigint | readonly SqlValue[]): Promise<Row | undefined> {
    this.assertOpen();
    const snap = await this.pager.read();
    try {
      const t = this.tableIn(await this.catalogAt(snap), table);
      return await lookup(t, snap, key);
    } finally {
      snap.release();
    }
  }

  /**
   * Checks the database's structure like PRAGMA integrity_check: returns the problems found,
   * an empty list when the database is sound.
   */
  async check(options: CheckOptions = {}): Promise<string[]> {
    this.assertOpen();
    return checkDatabase(this, options);
  }

  /** @internal Throws MISUSE when closed. */
  assertOpen(): void {
    if (this.isClosed) throw misuse(`database ${this.name} is closed`);
  }

  /** Closes the database (and its storage when owned). Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    if (this.currentTxn?.active) await this.currentTxn.rollback();
    this.currentTxn = null;
    await this.pager.close();
    this.isClosed = true;
    if (this.ownsStorage) await this.storage.close();
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
