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

export interface OpenOptions extends PagerOptions {
  /** Close the storage when the database closes. Default false. */
  ownsStorage?: boolean;
}

export class Database {
  readonly storage: Storage;
  readonly pager: Pager;
  private readonly ownsStorage: boolean;
  private isClosed = false;
  /** The write transaction opened through this Database, if any. */
  protected currentTxn: WriteTxn | null = null;

  protected constructor(storage: Storage, pager: Pager, ownsStorage: boolean) {
    this.storage = storage;
    this.pager = pager;
    this.ownsStorage = ownsStorage;
  }

  /**
   * Opens the database held by `storage`. Read-only unless `readOnly: false` (or the storage
   * itself is writable and `readOnly` is left unset).
   */
  static async open(storage: Storage, options: OpenOptions = {}): Promise<Database> {
    const pager = await Pager.open(storage, options);
    return new Database(storage, pager, options.ownsStorage ?? false);
  }

  /** A new, empty, writable in-memory database. */
  static async memory(options: OpenOptions = {}): Promise<Database> {
    return Database.open(new MemoryStorage(), { ...options, readOnly: false, ownsStorage: true });
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
