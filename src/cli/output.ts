/**
 * Where export and dump write: standard output (with backpressure) or files that appear
 * only whole.
 *
 * - `ChunkedOutput` gathers UTF-8 bytes into chunks of 64 KiB (off V8's heap: no string is
 *   built for a chunk) and hands each to a sink, awaiting it
 *   (a slow pipe holds memory flat) and checking the interrupt signal between chunks.
 * - `FileOutputs` writes each named file under a temporary sibling name
 *   (`FILE.quire-tmp-<pid>-<time>`) and renames every one into place only when all are
 *   complete (`commit`); on any failure or interrupt `discard` removes the temporary files
 *   (and a directory it created), so no partial file is left and an existing file keeps
 *   its old content.
 */
import { accessSync, closeSync, constants, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
import { ErrorCode, QuireError } from '../../pager/errors.js';
import type { CliIO } from './io.js';

/**
 * Bytes of output gathered before one write (and one wait for a slow reader): a pipe's
 * buffer on Linux. Each chunk is a fresh buffer handed to the sink, which may keep it (a
 * stream queues what it cannot write at once).
 */
export const OUTPUT_CHUNK = 64 * 1024;

/**
 * Room past a chunk: a batch of rows (one leaf's) written after the chunk is nearly full
 * fits without growing (and copying) the buffer.
 */
const CHUNK_SLACK = 32 * 1024;

export type Sink = (b: Uint8Array) => void | Promise<void>;

let utf8: TextEncoder | undefined;

/**
 * Output text as UTF-8 bytes, gathered into chunks. Encoders that write bytes themselves
 * (src/cli/rowtext.ts) reserve room with `room(n)`, then write `buf[pos..]` and advance
 * `pos`; `write(s)` encodes a string.
 */
export class ChunkedOutput {
  buf = new Uint8Array(OUTPUT_CHUNK + CHUNK_SLACK);
  pos = 0;
  private readonly sink: Sink;
  private readonly signal: AbortSignal | undefined;

  /**
   * The sink is done with a chunk when it returns nothing (it copied it, or wrote it
   * synchronously), or when the promise it returns resolves (see CliIO.stdoutBytes).
   */
  private readonly sinkDone: boolean;

  /**
   * `sinkDone`: see the field. Otherwise the sink may keep a chunk it returned nothing for
   * (a fresh chunk follows), and is done with one only once a promise it returned resolves.
   */
  constructor(sink: Sink, signal: AbortSignal | undefined, sinkDone = false) {
    this.sink = sink;
    this.signal = signal;
    this.sinkDone = sinkDone;
  }

  /** Makes room for `n` more bytes at `pos` (growing the buffer for a long row); returns buf. */
  room(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) {
      const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
      b.set(this.buf.subarray(0, this.pos));
      this.buf = b;
    }
    return this.buf;
  }

  /** Adds `s` as UTF-8 (a lone surrogate as U+FFFD) without writing. */
  text(s: string): void {
    this.room(s.length * 3);
    utf8 ??= new TextEncoder();
    this.pos += utf8.encodeInto(s, this.buf.subarray(this.pos)).written;
  }

  /** True once a chunk is gathered: time to flush. */
  get full(): boolean {
    return this.pos >= OUTPUT_CHUNK;
  }

  /** Adds text; writes (and waits) once a chunk is full. */
  write(s: string): void | Promise<void> {
    this.text(s);
    if (this.pos >= OUTPUT_CHUNK) return this.flush();
  }

  async flush(): Promise<void> {
    if (this.signal?.aborted) throw interrupted();
    if (this.pos === 0) return;
    const b = this.buf.subarray(0, this.pos);
    const w = this.sink(b);
    this.pos = 0;
    // A reader that stopped reading must not keep an interrupt waiting: race the write.
    if (w) await (this.signal ? untilAborted(w, this.signal) : w);
    // The chunk is reused once the sink is done with it: at once when the sink copies or
    // writes synchronously, after its promise when it waited for everything queued to be
    // written. Else (a stream that may still hold it) a fresh one: fresh buffers are
    // garbage outside V8's heap that a young-generation collection frees only when the
    // heap itself fills, so reuse is what keeps the peak RSS down.
    if ((!this.sinkDone && !w) || this.buf.length !== OUTPUT_CHUNK + CHUNK_SLACK) this.buf = new Uint8Array(OUTPUT_CHUNK + CHUNK_SLACK);
  }

}

/**
 * `w`, or the interrupt if `signal` fires first. Each wait has its own abort listener, removed
 * once `w` settles: a race against one promise that never settles would leave a reaction on it
 * per wait, all of them kept until the output ends (~1 MB per 385 MB written into a slow pipe).
 */
function untilAborted(w: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(interrupted());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    w.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function interrupted(): QuireError {
  return new QuireError(ErrorCode.ABORT, 'interrupted');
}

/**
 * A ChunkedOutput onto the CLI's standard output: as bytes when the IO takes them, else as
 * text (a chunk ends between whole strings or rows, never inside a character).
 */
export function stdoutOutput(io: CliIO): ChunkedOutput {
  if (io.stdoutBytes) return new ChunkedOutput(io.stdoutBytes, io.signal, true);
  const dec = new TextDecoder();
  return new ChunkedOutput((b) => io.stdout(dec.decode(b)), io.signal, true);
}

function fileError(e: unknown, path: string, doing: string): QuireError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return new QuireError(ErrorCode.FULL, `cannot write ${path}: no space left on device`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new QuireError(ErrorCode.READONLY, `cannot ${doing} ${path}: permission denied`, { cause: e });
  const why: Record<string, string> = { ENOENT: 'no such directory', ENOTDIR: 'a parent is not a directory', EISDIR: 'is a directory' };
  if (code !== undefined && code in why) return new QuireError(ErrorCode.CANTOPEN, `cannot ${doing} ${path}: ${why[code]}`, { cause: e });
  return new QuireError(ErrorCode.IOERR, `cannot ${doing} ${path}: ${(e as Error).message}`, { cause: e });
}

interface PendingFile {
  path: string;
  tmp: string;
  fd: number;
}

export class FileOutputs {
  private readonly files: PendingFile[] = [];
  private createdDir: string | null = null;
  private readonly signal: AbortSignal | undefined;

  constructor(signal: AbortSignal | undefined) {
    this.signal = signal;
  }

  /** Makes `dir` (and its parents) if missing; it is removed again by discard() if still empty. */
  ensureDir(dir: string): void {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new QuireError(ErrorCode.CANTOPEN, `${dir} exists and is not a directory`);
      return;
    }
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw fileError(e, dir, 'create directory');
    }
    this.createdDir = dir;
  }

  /** Starts `path` (refusing a directory); returns the output that writes its temporary file. */
  open(path: string): ChunkedOutput {
    const old = existsSync(path) ? statSync(path) : null;
    if (old?.isDirectory()) throw new QuireError(ErrorCode.CANTOPEN, `${path} is a directory (give a file name)`);
    // A file someone made read-only is not replaced (as cp refuses it, even for root); a
    // replaced file keeps its permission bits (a private 0600 file stays private).
    if (old && ((old.mode & 0o222) === 0 || !writable(path))) throw new QuireError(ErrorCode.READONLY, `${path} is read-only; not replaced`);
    const tmp = `${path}.quire-tmp-${process.pid}-${Date.now().toString(36)}`;
    let fd: number;
    try {
      fd = openSync(tmp, 'wx', 0o600);
      fchmodSync(fd, old ? old.mode & 0o7777 : 0o666 & ~process.umask());
    } catch (e) {
      throw fileError(e, path, 'create');
    }
    const f = { path, tmp, fd };
    this.files.push(f);
    return new ChunkedOutput((b) => {
      try {
        for (let off = 0; off < b.length; ) off += writeSync(f.fd, b, off);
      } catch (e) {
        throw fileError(e, path, 'write');
      }
    }, this.signal, true);
  }

  /** Closes every file and renames each into place. */
  commit(): void {
    for (const f of this.files) {
      try {
        // On disk before it replaces anything: a crash must not leave an empty file in place.
        fsyncSync(f.fd);
        closeSync(f.fd);
        f.fd = -1;
      } catch (e) {
        throw fileError(e, f.path, 'write');
      }
    }
    for (const f of this.files) {
      try {
        renameSync(f.tmp, f.path);
      } catch (e) {
        throw fileError(e, f.path, 'replace');
      }
    }
    this.files.length = 0;
    this.createdDir = null;
  }

  /** Removes every temporary file (and the directory made for them). Never throws. */
  discard(): void {
    for (const f of this.files) {
      try {
        if (f.fd >= 0) closeSync(f.fd);
      } catch {
        // already closed or broken: removing it is what matters
      }
      try {
        unlinkSync(f.tmp);
      } catch {
        // gone already
      }
    }
    this.files.length = 0;
    if (this.createdDir) {
      try {
        rmdirSync(this.createdDir);
      } catch {
        // not empty (someone else wrote there): leave it
      }
    }
  }
}
