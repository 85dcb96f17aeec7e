/**
 * The online backup API: SQLite's sqlite3_backup object, and Python's Connection.backup on
 * top of it.
 *
 *   SQLite                         quire
 *   -----------------------------  ---------------------------------------------------------
 *   sqlite3_backup_init(D,dn,S,sn) await Backup.init(dest, destName, source, sourceName)
 *   sqlite3_backup_step(p, n)      await b.step(n)  → 'OK' | 'DONE' | 'BUSY', or throws
 *   sqlite3_backup_remaining(p)    b.remaining      (0 before the first successful step)
 *   sqlite3_backup_pagecount(p)    b.pageCount      (0 before the first successful step)
 *   sqlite3_backup_finish(p)       await b.finish() (rethrows the sticky error, if any)
 *   Connection.backup(target, *, pages=-1, progress=None, name="main", sleep=0.250)
 *                                  await backup(source, target, { pages, progress, name,
 *                                                                 sleep, signal, timeout })
 *
 * Errors are sticky: once a step throws, every later step throws the same error, and
 * finish() rethrows it. Until finish() (or DONE) the destination's write lock is held and its
 * content is unchanged; DONE publishes the copy in one transaction.
 */
import { ErrorCode, QuireError, misuse } from '../../pager/errors.js';
import { isDatabase, type Database } from '../database.js';
import { CopyEngine, type SnapshotIdentity, type StepStatus } from './engine.js';
import { checkDriveOptions, checkOptionsObject, drive, type DriveOptions, type Stepper } from './drive.js';
import { DatabaseSink, type DestinationJournalMode } from './sink.js';

export type { StepStatus, SnapshotIdentity } from './engine.js';
export type { ProgressCallback, DriveOptions } from './drive.js';

export interface BackupInitOptions {
  /** A hot rollback journal in the source: 'refuse' (BUSY, default) or 'apply' it to the copy. */
  hotJournal?: 'refuse' | 'apply';
  /** Journal mode of the copy: 'source' (default: WAL source → WAL copy), 'wal' or 'rollback'. */
  journalMode?: DestinationJournalMode;
}

function checkName(name: unknown, which: string): void {
  if (typeof name !== 'string') throw misuse(`${which} name must be a string`);
  // quire databases have one schema, "main" (SQLite's "temp" and attached names don't exist).
  if (name !== 'main') throw new QuireError(ErrorCode.ERROR, `unknown database ${name}`);
}

export class Backup {
  readonly source: Database;
  readonly dest: Database;
  private readonly engine: CopyEngine;
  private readonly sink: DatabaseSink;
  private error: unknown = null;
  private finished = false;
  private last: StepStatus | null = null;

  private constructor(dest: Database, source: Database, engine: CopyEngine, sink: DatabaseSink) {
    this.dest = dest;
    this.source = source;
    this.engine = engine;
    this.sink = sink;
  }

  /**
   * Prepares a copy of `source` into `dest` (sqlite3_backup_init). Fails MISUSE for a target
   * that is not a database, the same database, or a closed one; ERROR for an unknown name or
   * a destination inside a write transaction; READONLY for a read-only destination.
   */
  static async init(
    dest: Database,
    destName: string,
    source: Database,
    sourceName: string,
    options: BackupInitOptions = {},
  ): Promise<Backup> {
    checkOptionsObject(options, 'backup');
    if (!isDatabase(dest)) throw misuse('target is not a database');
    if (!isDatabase(source)) throw misuse('source is not a database');
    if (dest === source) throw misuse('target cannot be the same database');
    source.assertOpen();
    dest.assertOpen();
    checkName(sourceName, 'source');
    checkName(destName, 'destination');
    if (dest.inTransaction) throw new QuireError(ErrorCode.ERROR, 'destination database is in use');
    if (dest.readOnly) throw new QuireError(ErrorCode.READONLY, `attempt to write a readonly database (${dest.name})`);
    if (dest.storage.id === source.storage.id) {
      throw misuse(`source and destination are the same file (${source.name})`);
    }
    const sink = new DatabaseSink(dest, { journalMode: options.journalMode ?? 'source', raw: false });
    const engine = new CopyEngine(source.storage, sink, { hotJournal: options.hotJournal ?? 'refuse' });
    return new Backup(dest, source, engine, sink);
  }

  /** Pages still to copy (sqlite3_backup_remaining). */
  get remaining(): number {
    return this.engine.remaining;
  }

  /** Pages in the source (sqlite3_backup_pagecount). */
  get pageCount(): number {
    return this.engine.pageCount;
  }

  /** The snapshot the copy holds, once the backup is DONE. */
  get identity(): SnapshotIdentity | null {
    return this.engine.result;
  }

  /** Full passes started over because the source changed. */
  get restarts(): number {
    return this.engine.restarts;
  }

  /** WAL mode: digest re-passes begun because a log reset hid commits (not counted as restarts). */
  get repasses(): number {
    return this.engine.repasses;
  }

  /** Times a WAL snapshot moved forward instead of restarting. */
  get snapshotMoves(): number {
    return this.engine.snapshotMoves;
  }

  /** Why the last pass started over. */
  get lastBusyReason(): string {
    return this.engine.lastReason;
  }

  /**
   * Copies up to `n` pages (every page when n < 0) (sqlite3_backup_step). Returns 'DONE' when
   * the copy is complete and published, 'OK' when there is more to copy, 'BUSY' when the
   * source is being written and the pass must start again (retry after a pause).
   */
  async step(n: number): Promise<StepStatus> {
    return this.run(n, false);
  }

  /** @internal The step loop's view: DONE steps leave publishing to drive(). */
  stepper(): Stepper {
    return { step: (n) => this.run(n, true), publish: () => this.run(0, false).then(() => undefined), engine: this.engine };
  }

  private async run(n: number, hold: boolean): Promise<StepStatus> {
    if (this.error !== null) throw this.error;
    if (this.finished) throw misuse('backup already finished');
    if (typeof n !== 'number' || Number.isNaN(n)) throw misuse('step() takes a number of pages');
    if (this.last === 'DONE' && this.engine.published) return 'DONE';
    this.source.assertOpen();
    this.dest.assertOpen();
    try {
      const st = await this.engine.step(n === 0 ? 0 : n < 0 ? -1 : Math.floor(n), hold);
      this.last = st;
      return st;
    } catch (e) {
      this.error = e;
      await this.engine.settleWrites();
      await this.sink.abort().catch(() => undefined);
      this.engine.release();
      throw e;
    }
  }

  /**
   * Ends the backup (sqlite3_backup_finish): releases the destination (unchanged unless the
   * copy completed) and rethrows the error of a failed step, if any.
   */
  async finish(): Promise<void> {
    if (this.finished) {
      if (this.error !== null) throw this.error;
      return;
    }
    this.finished = true;
    this.engine.release();
    if (!this.engine.published) {
      await this.engine.settleWrites();
      await this.sink.abort();
    }
    if (this.error !== null) throw this.error;
  }

  /** @internal Abandons the copy after a caller-side failure (progress threw, abort signal). */
  async abandon(reason: unknown): Promise<void> {
    if (this.error === null) this.error = reason;
    this.finished = true;
    this.engine.release();
    await this.engine.settleWrites();
    await this.sink.abort().catch(() => undefined);
  }
}

export interface BackupOptions extends BackupInitOptions, DriveOptions {
  /** Source schema name; only "main" exists. Default "main". */
  name?: string;
}

/**
 * Copies `source` into `target` (Python's Connection.backup). Resolves with the identity of the
 * snapshot copied; rejects with the progress callback's own error if it throws (the target is
 * then unchanged), ABORT on `signal`, BUSY past `timeout`.
 */
export async function backup(source: Database, target: Database, options: BackupOptions = {}): Promise<SnapshotIdentity> {
  if (!isDatabase(target)) throw misuse('target is not a database');
  const o = checkDriveOptions(options);
  const b = await Backup.init(target, 'main', source, options.name ?? 'main', options);
  try {
    await drive(b.stepper(), o, source.name);
  } catch (e) {
    await b.abandon(e);
    throw e;
  }
  await b.finish();
  return b.identity!;
}
