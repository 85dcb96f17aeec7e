/**
 * A consistent snapshot of a (live) database as a stream of bytes: a ReadableStream of the
 * database file image, page 1 first, memory bounded by one run of pages (backpressure: a run
 * is read only when the consumer asks for more).
 *
 * A stream cannot take back bytes it has emitted, so it makes one pass (without following the
 * WAL, see EngineOptions.follow) and, if that pass turns out not to be one committed state, it
 * errors with BUSY instead of finishing: a consumer that sees the stream end normally has a
 * consistent image. Before anything is emitted, BUSY passes are retried (after `sleep` ms,
 * within `timeout` ms).
 */
import { ErrorCode, QuireError, misuse } from '../../pager/errors.js';
import type { Storage } from '../../pager/storage.js';
import { isDatabase, type Database } from '../database.js';
import { CopyEngine, busyError, type PageSink, type SnapshotIdentity } from './engine.js';

export interface StreamOptions {
  /** A hot rollback journal: 'refuse' (BUSY, default) or 'apply' it to the image. */
  hotJournal?: 'refuse' | 'apply';
  /** Bytes per chunk (rounded to whole pages). Default 1 MiB. */
  chunkBytes?: number;
  /** Milliseconds between retries while nothing has been emitted. Default 50. */
  sleep?: number;
  /** Give up with BUSY after this many milliseconds. Default 30000. */
  timeout?: number;
  /** Called with the snapshot identity when the stream completes consistently. */
  onComplete?: (snapshot: SnapshotIdentity) => void;
}

class StreamSink implements PageSink {
  readonly retainsBuffers = true;
  emitted = 0;
  private nextPage = 1;
  pending: Uint8Array[] = [];

  private pageSize = 4096;

  async begin(pageSize: number): Promise<void> {
    this.pageSize = pageSize;
    if (this.emitted > 0) {
      throw new QuireError(ErrorCode.BUSY, 'the source changed while it was being streamed; the stream cannot be made consistent (retry)');
    }
    this.nextPage = 1;
  }

  async write(first: number, data: Uint8Array): Promise<void> {
    if (first !== this.nextPage) {
      throw new QuireError(ErrorCode.BUSY, 'the source changed while it was being streamed; the stream cannot be made consistent (retry)');
    }
    this.pending.push(data);
    this.emitted += data.length;
    this.nextPage += data.length / this.pageSize;
  }

  setPageCount(): void {
    throw new QuireError(ErrorCode.BUSY, 'the source changed size while it was being streamed (retry)');
  }

  async finish(): Promise<void> {}
  async abort(): Promise<void> {}
}

/** Streams a consistent image of `source` (a Database or a Storage). */
export function backupStream(source: Database | Storage, options: StreamOptions = {}): ReadableStream<Uint8Array> {
  const storage: Storage = isDatabase(source) ? source.storage : (source as Storage);
  if (!storage || typeof storage.read !== 'function') throw misuse('backupStream needs a Database or a Storage');
  const sink = new StreamSink();
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  const sleep = options.sleep ?? 50;
  const timeout = options.timeout ?? 30000;
  let engine: CopyEngine | null = null;
  let started = 0;
  return new ReadableStream<Uint8Array>({
    start() {
      engine = new CopyEngine(storage, sink, { hotJournal: options.hotJournal ?? 'refuse', follow: false, runBytes: chunkBytes });
      started = Date.now();
    },
    async pull(controller) {
      const e = engine!;
      try {
        while (sink.pending.length === 0) {
          if (e.done) {
            e.release();
            options.onComplete?.(e.result!);
            controller.close();
            return;
          }
          const st = await e.step(Math.max(1, Math.floor(chunkBytes / (e.pageSize || 4096))));
          if (st === 'BUSY') {
            if (sink.emitted > 0) throw new QuireError(ErrorCode.BUSY, `${storage.label}: the source changed while it was being streamed (retry)`);
            if (Date.now() - started >= timeout) throw busyError(storage.label, e.lastReason, e.restarts + e.repasses);
            await new Promise((r) => setTimeout(r, sleep));
          }
        }
        controller.enqueue(sink.pending.shift()!);
      } catch (err) {
        e.release();
        controller.error(err);
      }
    },
    cancel() {
      engine?.release();
    },
  }, { highWaterMark: 0 });
}
