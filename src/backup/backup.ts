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
import { Database } from '../database.js';
import { CopyEngine, busyError, type SnapshotIdentity, type StepStatus } from './engine.js';
import { DatabaseSink, type DestinationJournalMode } from './sink.js';

export type { StepStatus, SnapshotIdentity } from './engine.js';

export interface BackupInitOptions {
  /** A hot rollback journal in the source: 'refuse' (BUSY, default) or 'apply' it to the copy. */
  hotJournal?: 'refuse' | 'apply';
  /** Journal mode of the copy: 'source' (default: WAL source → WAL copy), 'wal' or 'rollback'. */
  journalMode?: DestinationJournalMode;
}

function isDatabase(x: unknown): x is Database {
  return x instanceof Database;
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

  /** Restarts, snapshot moves and caveats of the copy so far. */
  get stats(): { restarts: number; snapshotMoves: number; recopied: number; lastBusyReason: string } {
    return {
      restarts: this.engine.restarts,
      snapshotMoves: this.engine.snapshotMoves,
      recopied: this.engine.recopied,
      lastBusyReason: this.engine.lastReason,
    };
  }

  /**
   * Copies up to `n` pages (every page when n < 0) (sqlite3_backup_step). Returns 'DONE' when
   * the copy is complete and published, 'OK' when there is more to copy, 'BUSY' when the
   * source is being written and the pass must start again (retry after a pause).
   */
  async step(n: number): Promise<StepStatus> {
    if (this.error !== null) throw this.error;
    if (this.finished) throw misuse('backup already finished');
    if (typeof n !== 'number' || Number.isNaN(n)) throw misuse('step() takes a number of pages');
    if (this.last === 'DONE') return 'DONE';
    this.source.assertOpen();
    this.dest.assertOpen();
    try {
      const st = await this.engine.step(n === 0 ? 0 : n < 0 ? -1 : Math.floor(n));
      this.last = st;
      return st;
    } catch (e) {
      this.error = e;
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
    if (this.last !== 'DONE') await this.sink.abort();
    if (this.error !== null) throw this.error;
  }

  /** @internal Abandons the copy after a caller-side failure (progress threw, abort signal). */
  async abandon(reason: unknown): Promise<void> {
    if (this.error === null) this.error = reason;
    this.finished = true;
    this.engine.release();
    await this.sink.abort().catch(() => undefined);
  }
}

export type ProgressCallback = (status: StepStatus, remaining: number, total: number) => void | Promise<void>;

export interface BackupOptions extends BackupInitOptions {
  /** Pages per step; ≤ 0 or absent copies everything in one step (Python: pages=-1). */
  pages?: number;
  /** Called after every step, BUSY included, as progress(status, remaining, total). */
  progress?: ProgressCallback | null;
  /** Source schema name; only "main" exists. Default "main". */
  name?: string;
  /** Milliseconds to wait after a BUSY step before retrying (Python: sleep=0.250 s). Default 250. */
  sleep?: number;
  /** Give up with BUSY after this many milliseconds of trying. Default: no limit (as Python). */
  timeout?: number;
  /** Cancels the copy: it stops with ABORT and the destination stays as it was. */
  signal?: AbortSignal;
}

function abortError(signal: AbortSignal): QuireError {
  const r = signal.reason;
  return new QuireError(ErrorCode.ABORT, `backup aborted${r instanceof Error ? `: ${r.message}` : r !== undefined ? `: ${String(r)}` : ''}`, {
    cause: r,
  });
}

function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Copies `source` into `target` (Python's Connection.backup). Resolves with the identity of the
 * snapshot copied; rejects with the progress callback's own error if it throws (the target is
 * then unchanged), ABORT on `signal`, BUSY past `timeout`.
 */
export async function backup(source: Database, target: Database, options: BackupOptions = {}): Promise<SnapshotIdentity> {
  if (!isDatabase(target)) throw misuse('target is not a database');
  const progress = options.progress;
  if (progress !== undefined && progress !== null && typeof progress !== 'function') {
    throw misuse('progress argument must be a callable');
  }
  const pagesOpt = options.pages ?? -1;
  if (typeof pagesOpt !== 'number' || Number.isNaN(pagesOpt)) throw misuse('pages must be a number');
  const pages = pagesOpt <= 0 ? -1 : Math.floor(pagesOpt);
  const sleep = options.sleep ?? 250;
  if (typeof sleep !== 'number' || sleep < 0 || Number.isNaN(sleep)) throw misuse('sleep must be a non-negative number of milliseconds');
  const timeout = options.timeout ?? Infinity;
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal);

  const b = await Backup.init(target, 'main', source, options.name ?? 'main', options);
  const started = Date.now();
  try {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const status = await b.step(pages);
      if (progress) await progress(status, b.remaining, b.pageCount);
      if (status === 'DONE') break;
      if (signal?.aborted) throw abortError(signal);
      if (status === 'BUSY') {
        if (Date.now() - started >= timeout) throw busyError(source.name, b.stats.lastBusyReason, b.stats.restarts);
        await sleepFor(Math.min(sleep, Math.max(0, timeout - (Date.now() - started))), signal);
      } else {
        // Yield to the event loop between steps.
        await new Promise<void>((r) => setTimeout(r, 0));
      }
    }
  } catch (e) {
    await b.abandon(e);
    throw e;
  }
  await b.finish();
  return b.identity!;
}
