/**
 * Typed errors. Every failure quire reports is a {@link QuireError} with a stable string `code`
 * from {@link ErrorCode}; messages name the page (or file) involved wherever there is one.
 *
 * Codes follow SQLite's primary result codes where one fits:
 *
 *   NOTADB      the file is not a SQLite database (bad magic, impossible header field)
 *   CORRUPT     the file is a database but its structure is damaged (names the page)
 *   IOERR       the storage failed (the underlying error is in `cause`)
 *   BUSY        another writer kept the source changing / the database is locked
 *   READONLY    a write was attempted on a read-only database or storage
 *   MISUSE      the API was called wrongly (bad argument, closed object, wrong state)
 *   CANTOPEN    the file does not exist or cannot be opened
 *   FULL        the database reached its maximum size
 *   ABORT       an operation was cancelled (AbortSignal, callback threw)
 *   CONSTRAINT  a UNIQUE / NOT NULL / PRIMARY KEY constraint would be violated
 *   NOTFOUND    a named table, index or row does not exist
 *   SCHEMA      schema text quire cannot parse, or a schema feature it does not support
 *   UNSUPPORTED an operation quire deliberately refuses (e.g. writes needing SQL evaluation)
 *   RANGE       a value outside what the format can store
 *   ERROR       anything else
 *
 * The guard {@link isQuireError} does not depend on `instanceof`, so errors that cross realms
 * (workers, duplicated bundles) are still recognised.
 */

export const ErrorCode = {
  NOTADB: 'NOTADB',
  CORRUPT: 'CORRUPT',
  IOERR: 'IOERR',
  BUSY: 'BUSY',
  READONLY: 'READONLY',
  MISUSE: 'MISUSE',
  CANTOPEN: 'CANTOPEN',
  FULL: 'FULL',
  ABORT: 'ABORT',
  CONSTRAINT: 'CONSTRAINT',
  NOTFOUND: 'NOTFOUND',
  SCHEMA: 'SCHEMA',
  UNSUPPORTED: 'UNSUPPORTED',
  RANGE: 'RANGE',
  ERROR: 'ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface QuireErrorOptions {
  /** The underlying error (an I/O failure, a callback's exception). */
  cause?: unknown;
  /** The page the problem was found on, 1-based; absent when no page is involved. */
  pgno?: number;
}

export class QuireError extends Error {
  readonly code: ErrorCode;
  readonly pgno: number | undefined;

  constructor(code: ErrorCode, message: string, options: QuireErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'QuireError';
    this.code = code;
    this.pgno = options.pgno;
  }
}

const codes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** True for any QuireError, including one from another realm or another copy of the library. */
export function isQuireError(e: unknown): e is QuireError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { name?: unknown }).name === 'QuireError' &&
    typeof (e as { code?: unknown }).code === 'string' &&
    codes.has((e as { code: string }).code)
  );
}

/** A CORRUPT error naming the page. */
export function corrupt(pgno: number, message: string): QuireError {
  return new QuireError(ErrorCode.CORRUPT, `page ${pgno}: ${message}`, { pgno });
}

export function misuse(message: string): QuireError {
  return new QuireError(ErrorCode.MISUSE, message);
}

/** Wraps an exception thrown by storage into IOERR (QuireErrors pass through unchanged). */
/** What a system error code means, in words (the runtime's own message may name other paths). */
const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  ENOENT: 'no such file or directory',
  EBADF: 'bad file descriptor',
};

export function ioerr(what: string, cause: unknown): QuireError {
  if (isQuireError(cause)) return cause;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code in ERRNO_WORDS) {
    // A full disk is FULL, as SQLITE_FULL; either way the message names only `what`.
    const full = code === 'ENOSPC' || code === 'EDQUOT';
    return new QuireError(full ? ErrorCode.FULL : ErrorCode.IOERR, `${what}: ${ERRNO_WORDS[code]}`, { cause });
  }
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new QuireError(ErrorCode.IOERR, `${what}: ${detail}`, { cause });
}
