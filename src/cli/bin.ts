#!/usr/bin/env node
/**
 * The `quire` executable: runs main.ts with the process's streams, whatever name it was
 * started under (npm's bin link `quire`, npx, a global install, `node dist/cli.js`).
 *
 * - The whole-file commands (`steadyMemory` in their CommandSpec: export, dump, check, import,
 *   vacuum) keep V8's young generation at its first size (--semi-space-growth-factor=1, set
 *   before anything is allocated): they allocate fast and keep little, and letting the
 *   semi-spaces grow to 16 MiB put a 1M-row export into a slow pipe at 103-118 MB peak RSS
 *   (so held, 84-87 MB) and a check of a 385 MB file at ~200 MB (so held, ~95 MB), for a
 *   little more time in scavenges. `import` (compactHeap) also runs with --optimize-for-size:
 *   its garbage reaches the old generation (page images the spill's cache drops, rows held
 *   across awaits), and V8's default growth of it put a 200k-row CSV import into an indexed
 *   table at 119 MB peak RSS, 94 MB with the flag (16.5 s against 15.1 s, medians of 3).
 *   (The interpreter line stays a plain `#!/usr/bin/env node`: `env -S` is not in POSIX nor
 *   in BusyBox, so an option there would break the bin on Alpine.)
 * - Standard output honours backpressure: a write that fills the pipe returns a promise that
 *   resolves on 'drain', so `quire export big.db t | slow-reader` holds memory flat. Written
 *   through at once, it still lets the event loop turn every YIELD_BYTES, so that the stream's
 *   per-write callbacks (called on the next tick) do not pile up over a long export.
 * - A reader that went away (EPIPE, e.g. `| head -1`) ends the command quietly with exit 0;
 *   any other output error (ENOSPC: `> /dev/full`) is `quire: FULL: ...` / `IOERR`, exit 1.
 * - SIGINT / SIGTERM abort `io.signal`: a command that writes stops at a safe point, removes
 *   its temporary files and leaves the destination as it was; the exit status is 130 / 143.
 *   A second signal exits at once. Commands that only read end at once (nothing to undo).
 */
import { setFlagsFromString } from 'node:v8';
import { ErrorCode, QuireError } from '../../pager/errors.js';
import { COMMANDS, main, reportError } from './main.js';
import { OutputClosed, type CliIO } from './io.js';

const SIGNAL_NUMBER: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

/** Bytes written synchronously to standard output between two turns of the event loop. */
const YIELD_BYTES = 4 << 20;

function outputError(e: NodeJS.ErrnoException): Error {
  if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return new OutputClosed();
  if (e.code === 'ENOSPC') return new QuireError(ErrorCode.FULL, 'cannot write to standard output: no space left on device', { cause: e });
  return new QuireError(ErrorCode.IOERR, `cannot write to standard output: ${e.message}`, { cause: e });
}

function processIO(signal: AbortSignal): { io: CliIO; failure: () => Error | null; release: () => void } {
  const out = process.stdout;
  let failed: Error | null = null;
  const waiters = new Set<(e: Error | null) => void>();
  let stdinUsed = false;
  out.on('error', (e: NodeJS.ErrnoException) => {
    failed ??= outputError(e);
    for (const w of waiters) w(failed);
    waiters.clear();
  });
  const stdout = (s: string | Uint8Array): void | Promise<void> => {
    if (failed) throw failed;
    if (out.write(s)) return;
    const wait = new Promise<void>((resolve, reject) => {
      const done = (e: Error | null) => {
        out.off('drain', onDrain);
        waiters.delete(done);
        if (e) reject(e);
        else resolve();
      };
      const onDrain = () => done(null);
      out.on('drain', onDrain);
      waiters.add(done);
    });
    // A command that does not await its write must not die of an unhandled rejection: the
    // failure is recorded (failed) and decides the exit status when the command returns.
    wait.catch(() => undefined);
    return wait;
  };
  // Bytes: the caller reuses the buffer once this is done with it (see CliIO.stdoutBytes).
  let syncBytes = 0;
  const stdoutBytes = (b: Uint8Array): void | Promise<void> => {
    if (failed) throw failed;
    let settle: ((e: Error | null) => void) | null = null;
    let early: { e: Error | null } | null = null;
    const room = out.write(b, (e) => {
      if (settle) settle(e ?? null);
      else early = { e: e ?? null };
    });
    // Written through at once (a pipe, file or terminal is written synchronously here): the
    // buffer is free. Else wait until this chunk is written (and so the output has room).
    if (room && out.writableLength === 0) {
      // The stream calls each write's callback on the next tick, which never comes while a
      // command runs on resolved promises and synchronous reads: let the event loop turn
      // every YIELD_BYTES, or the callbacks pile up (~0.3 MB of heap per 64 MB written).
      syncBytes += b.length;
      if (syncBytes < YIELD_BYTES) return;
      syncBytes = 0;
      return new Promise<void>((resolve) => setImmediate(resolve));
    }
    const wait = new Promise<void>((resolve, reject) => {
      const done = (e: Error | null) => {
        waiters.delete(done);
        if (e) reject(failed ?? outputError(e));
        else resolve();
      };
      if (early !== null) return done(early.e);
      settle = done;
      waiters.add(done);
    });
    wait.catch(() => undefined);
    return wait;
  };
  const io: CliIO = {
    stdout,
    stdoutBytes,
    stderr: (s) => void process.stderr.write(s),
    isTTY: Boolean(process.stderr.isTTY),
    stdin: () => {
      stdinUsed = true;
      return untilAborted(process.stdin, signal);
    },
    signal,
  };
  // A command that stopped reading early (an error, an interrupt) must not be kept alive by
  // a writer that still holds the other end of the pipe.
  const release = () => {
    if (stdinUsed) process.stdin.destroy();
  };
  return { io, failure: () => failed, release };
}

/**
 * Standard input, ending early (with the signal's reason) when `signal` aborts. Each read
 * races a promise of its own, dropped with its abort listener once the read is in: a race
 * against one promise that never settles would keep every chunk read (each race leaves a
 * reaction on it that holds the chunk), all of standard input for a long import.
 */
async function* untilAborted(input: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const it = input[Symbol.asyncIterator]();
  const reason = () => new QuireError(ErrorCode.ABORT, `interrupted (${String(signal.reason)})`);
  try {
    for (;;) {
      if (signal.aborted) throw reason();
      let onAbort = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(reason());
        signal.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => undefined);
      let r: IteratorResult<Uint8Array>;
      try {
        r = await Promise.race([it.next(), aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    // Not awaited: a pipe's pending read would hold it until more input came.
    void it.return?.()?.catch(() => undefined);
  }
}

export async function run(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const command = COMMANDS.find((c) => c.name === argv[0]);
  // Whole-file commands: memory held flat (see above), set before the work allocates.
  if (command?.steadyMemory) setFlagsFromString('--semi-space-growth-factor=1');
  if (command?.compactHeap) setFlagsFromString('--optimize-for-size');
  const cooperative = command?.interruptible === true;
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    const code = 128 + (SIGNAL_NUMBER[sig] ?? 1);
    if (signalled || !cooperative) {
      // Nothing to undo (a reader), or the user insists: go now.
      if (process.stderr.isTTY) process.stderr.write('\n');
      process.exit(code);
    }
    signalled = true;
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const { io, failure, release } = processIO(controller.signal);
  let code = await main(argv, io);
  release();
  // Let what was written reach the output (or fail: a full disk reports asynchronously).
  if (!failure()) await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  // An output error the command did not see (its last write) still decides the status.
  const f = failure();
  if (f && code === 0 && !(f instanceof OutputClosed)) code = reportError(f, io);
  return code;
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`quire: ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
