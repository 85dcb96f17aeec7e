/**
 * ReadDatabase: the read half of a Database (schema, tables, rows, lookups), on its own so
 * that an app that only reads bundles only the reading code: the pager, the b-tree cursors,
 * the schema parser. Writing, vacuum, backup and check live in Database (src/database.ts),
 * which extends this class; `quire/read` exports this class without them.
 *
 * Lifecycle: open → reads → close. After close every method fails MISUSE. A database opened
 * on a Storage does not own it unless `ownsStorage` is set.
 */
import { ErrorCode, QuireError, misuse } from '../pager/errors.js';
import { Pager, type PagerOptions, type Snapshot, type WriteTxn } from '../pager/pager.js';
import type { Storage } from '../pager/storage.js';
import { nameKey, readCatalog, type Catalog, type TableInfo } from './catalog.js';
import { RowIterator, columnNames, lookup, type Row } from './read.js';
import type { SqlValue } from '../btree/value.js';

export interface RowsOptions {
  /** Include the rowid as the first value (rowid tables). Default true for rowid tables. */
  rowid?: boolean;
}

export interface ReadOptions extends Omit<PagerOptions, 'readOnly'> {
  /** Close the storage when the database closes. Default false. */
  ownsStorage?: boolean;
}

/** Marks ReadDatabase instances, Databases included (recognised across two bundled copies of quire). */
const READER_BRAND = Symbol.for('quire.ReadDatabase');

/** True for a quire ReadDatabase or Database, whichever copy of the library made it. */
export function isReadDatabase(x: unknown): x is ReadDatabase {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[READER_BRAND] === true;
}

export class ReadDatabase {
  readonly storage: Storage;
  readonly pager: Pager;
  private readonly ownsStorage: boolean;
  private isClosed = false;
  /** The write transaction opened through this database, if any (Database opens them). */
  protected currentTxn: WriteTxn | null = null;

  protected constructor(storage: Storage, pager: Pager, ownsStorage: boolean) {
    this.storage = storage;
    this.pager = pager;
    this.ownsStorage = ownsStorage;
    (this as unknown as Record<symbol, boolean>)[READER_BRAND] = true;
  }

  /** Opens the database held by `storage`, read-only (a hot journal is read around, never rolled back). */
  static async open(storage: Storage, options: ReadOptions = {}): Promise<ReadDatabase> {
    const pager = await Pager.open(storage, { ...options, readOnly: true });
    return new ReadDatabase(storage, pager, options.ownsStorage ?? false);
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

  /** @internal catalogAt's answer when it is at hand (read before, same schema cookie), else null. */
  cachedCatalogAt(snap: Snapshot): Catalog | null {
    const c = this.catalogCache;
    return c !== null && c.cookie === (snap.header?.schemaCookie ?? 0) && c.empty === (snap.pageCount === 0) ? c.catalog : null;
  }

  /** @internal The catalog as of `snap`. */
  async catalogAt(snap: Snapshot): Promise<Catalog> {
    const cached = this.cachedCatalogAt(snap);
    if (cached !== null) return cached;
    const cookie = snap.header?.schemaCookie ?? 0;
    const empty = snap.pageCount === 0;
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
    let snapshot: Snapshot | null = null;
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

}
