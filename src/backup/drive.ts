/**
 * The step loop shared by every one-call copy (backup(), backupFile(), the CLI): step,
 * report progress after every step (BUSY included), sleep after BUSY, yield to the event loop
 * between steps (yieldToLoop: a message, not a clamped timer), honour an AbortSignal and a total time budget.
 */
import { ErrorCode, QuireError, misuse } from '../../pager/errors.js';
import { busyError, type CopyEngine, type StepStatus } from './engine.js';
import { yieldToLoop } from '../util/yield.js';

export type ProgressCallback = (status: StepStatus, remaining: number, total: number) => void | Promise<void>;

export interface DriveOptions {
  /** Pages per step; ≤ 0 or absent copies everything in one step (Python: pages=-1). */
  pages?: number;
  /** Called after every step, BUSY included, as progress(status, remaining, total). */
  progress?: ProgressCallback | null;
  /** Milliseconds to wait after a BUSY step before retrying (Python: sleep=0.250 s). Default 250. */
  sleep?: number;
  /**
   * Give up with BUSY after this many milliseconds when the copy keeps being interrupted (a
   * BUSY step, or a pass that had to start over). A copy that is merely long is not cut
   * short. Default: no limit (as Python).
   */
  timeout?: number;
  /** Cancels the copy: it stops with ABORT and the destination stays as it was. */
  signal?: AbortSignal;
}

export interface Stepper {
  step(n: number): Promise<StepStatus>;
  /**
   * Publishes a copy whose step returned DONE. drive() calls it after the last progress
   * callback returned, so a callback that throws (or an abort) leaves the destination as it was.
   */
  publish(): Promise<void>;
  /** Where remaining, pageCount, restarts and the last BUSY reason are read. */
  readonly engine: Pick<CopyEngine, 'remaining' | 'pageCount' | 'restarts' | 'repasses' | 'lastReason'>;
}

interface CheckedDrive {
  pages: number;
  progress: ProgressCallback | null;
  sleep: number;
  timeout: number;
  signal: AbortSignal | undefined;
}

/**
 * MISUSE unless `o` is an options object (or undefined): `backup(target, 1)` or
 * `backup(target, function progress() {})` would otherwise be read as an empty bag (or the
 * function's `.name` as the schema name).
 */
export function checkOptionsObject(o: unknown, what: string): void {
  if (o === undefined) return;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    const got = o === null ? 'null' : typeof o === 'function' ? 'a function (pass { progress } to report progress)' : typeof o;
    throw misuse(`${what} options must be an object, not ${got}`);
  }
}

/** Validates the options (MISUSE for bad types, as CPython raises TypeError). */
export function checkDriveOptions(o: DriveOptions = {}): CheckedDrive {
  checkOptionsObject(o, 'backup');
  const progress = o.progress;
  if (progress !== undefined && progress !== null && typeof progress !== 'function') {
    throw misuse('progress argument must be a callable');
  }
  const pagesOpt = o.pages ?? -1;
  if (typeof pagesOpt !== 'number' || Number.isNaN(pagesOpt)) throw misuse('pages must be a number');
  const sleep = o.sleep ?? 250;
  if (typeof sleep !== 'number' || !(sleep >= 0)) throw misuse('sleep must be a non-negative number of milliseconds');
  const timeout = o.timeout ?? Infinity;
  if (typeof timeout !== 'number' || !(timeout >= 0)) throw misuse('timeout must be a non-negative number of milliseconds');
  if (o.signal?.aborted) throw abortError(o.signal);
  return { pages: pagesOpt <= 0 ? -1 : Math.floor(pagesOpt), progress: progress ?? null, sleep, timeout, signal: o.signal };
}

export function abortError(signal: AbortSignal): QuireError {
  const r = signal.reason;
  const why = r instanceof Error ? `: ${r.message}` : r !== undefined ? `: ${String(r)}` : '';
  return new QuireError(ErrorCode.ABORT, `backup aborted${why}`, { cause: r });
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

/** Steps until DONE, then publishes the copy. Throws the progress callback's own error, ABORT, or BUSY past the budget. */
export async function drive(s: Stepper, o: CheckedDrive, label: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (o.signal?.aborted) throw abortError(o.signal);
    const status = await s.step(o.pages);
    if (o.progress) await o.progress(status, s.engine.remaining, s.engine.pageCount);
    if (o.signal?.aborted) throw abortError(o.signal);
    if (status === 'DONE') return s.publish();
    // The budget bounds a copy that keeps starting over (BUSY, restarts or re-passes), not a long one.
    const spent = Date.now() - started;
    const again = s.engine.restarts + s.engine.repasses;
    if ((status === 'BUSY' || again > 0) && spent >= o.timeout) throw busyError(label, s.engine.lastReason, again);
    if (status === 'BUSY') await sleepFor(Math.min(o.sleep, o.timeout - spent), o.signal);
    else await yieldToLoop();
  }
}
