/**
 * Where export and dump write: standard output (with backpressure) or files that appear
 * only whole.
 *
 * - `ChunkedOutput` gathers text into chunks of 16 Ki characters (larger strings go to
 *   V8's large-object space: 64 Ki-character chunks cost 2x the time and ~20 MB more RSS)
 *   and hands each to a sink, awaiting it
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

/** Characters of output gathered before one write (and one wait for a slow reader). */
export const OUTPUT_CHUNK = 16 * 1024;

export type Sink = (s: string) => void | Promise<void>;

export class ChunkedOutput {
  private buf = '';
  private readonly sink: Sink;
  private readonly signal: AbortSignal | undefined;

  constructor(sink: Sink, signal: AbortSignal | undefined) {
    this.sink = sink;
    this.signal = signal;
  }

  /** Adds text; writes (and waits) once a chunk is full. */
  write(s: string): void | Promise<void> {
    this.buf += s;
    if (this.buf.length >= OUTPUT_CHUNK) return this.flush();
  }

  async flush(): Promise<void> {
    if (this.signal?.aborted) throw interrupted();
    const s = this.buf;
    this.buf = '';
    const w = s ? this.sink(s) : undefined;
    // A reader that stopped reading must not keep an interrupt waiting: race the write.
    if (w) await (this.signal ? Promise.race([w, this.abortWait()]) : w);
  }

  private abortPromise: Promise<never> | null = null;

  /** Rejects when the signal fires (one listener for the whole output). */
  private abortWait(): Promise<never> {
    if (!this.abortPromise) {
      const signal = this.signal!;
      this.abortPromise = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(interrupted()), { once: true }));
      this.abortPromise.catch(() => {});
    }
    return this.abortPromise;
  }
}

function interrupted(): QuireError {
  return new QuireError(ErrorCode.ABORT, 'interrupted');
}

/** A ChunkedOutput onto the CLI's standard output. */
export function stdoutOutput(io: CliIO): ChunkedOutput {
  return new ChunkedOutput((s) => io.stdout(s), io.signal);
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
    return new ChunkedOutput((s) => {
      const b = Buffer.from(s, 'utf8');
      try {
        for (let off = 0; off < b.length; ) off += writeSync(f.fd, b, off);
      } catch (e) {
        throw fileError(e, path, 'write');
      }
    }, this.signal);
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
