/**
 * HttpStorage: a read-only Storage over HTTP range requests (`Range: bytes=a-b`), for reading
 * a database from a static file server or object store without downloading it whole.
 * Runtime-neutral: it calls the `fetch` it is given (default: the global one, looked up when
 * first used), unbound.
 *
 * What a read costs (the pager asks `size` once per file at the start of every read snapshot,
 * then reads page runs):
 *
 *  - Validation, once per snapshot and file: `size`/`exists`/`stat` send one range GET for the
 *    first `firstBytes` of the file, conditional on the validator already held
 *    (`If-None-Match: <etag>` or `If-Modified-Since`). 304: the file is unchanged and the cache
 *    stays. 206: the size (Content-Range), the validator (ETag, else Last-Modified) and the
 *    first bytes (the header and the schema's first pages) arrive in that one answer; a new
 *    validator drops the cache. No HEAD, no separate header GET.
 *  - Reads: one range GET per run of bytes not in the cache, carrying the validator
 *    (`If-Match` and `If-Range` with a strong ETag; `If-Unmodified-Since` and `If-Range` with
 *    a Last-Modified date), and every answer's own validator and total size are compared too:
 *    a file replaced mid-read is BUSY, never a torn read. Sequential reads grow the range
 *    (each request at least twice the last, up to `readAheadBytes`: page-by-page readers such
 *    as WAL frame reads become a few large ranges); other reads fetch what they need.
 *  - The cache is bounded (`cacheBytes`, least recently used blocks go first).
 *
 * Servers must answer ranges with 206: one that sends the whole file (200) is an error, as is
 * one whose answers carry no validator or hide it (cross-origin, the server must send
 * `Access-Control-Expose-Headers: ETag, Content-Range, Content-Length`), unless
 * `allowUnvalidated` accepts the risk of torn reads.
 * Side files are looked up at `<url>-wal` and `<url>-journal` only with `sideFiles: true`.
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';
import type { FileKind, FileStat, Storage } from '../../pager/storage.js';
import { ReadOnlyStorage } from './read-only.js';


/** How many times a request that got no response at all is sent again (see request). */
const NETWORK_RETRIES = 2;
export interface HttpStorageOptions {
  /** The fetch to use. Default: globalThis.fetch. */
  fetch?: typeof fetch;
  /** Extra request headers (authorisation...). */
  headers?: Record<string, string>;
  /** Also look for `<url>-wal` and `<url>-journal`. Default false. */
  sideFiles?: boolean;
  /** Bytes of the file kept in memory (whole blocks, least recently used dropped). Default 8 MiB. */
  cacheBytes?: number;
  /** Unit of the cache and of every range: requests start and end on block bounds. Default 16 KiB. */
  blockBytes?: number;
  /** Bytes fetched by the validation request at each snapshot start. Default 64 KiB. */
  firstBytes?: number;
  /** Largest read-ahead added to a sequential read. Default 1 MiB. */
  readAheadBytes?: number;
  /**
   * Read a file whose server sends neither ETag nor Last-Modified (or hides them): a file
   * replaced mid-read may then read torn. Default false (such a server is an error).
   */
  allowUnvalidated?: boolean;
}

/** One remote file as the current validation describes it. */
interface Remote {
  url: string;
  size: number;
  /** The ETag, if the server sent one. */
  etag: string | null;
  /** The Last-Modified header, as sent. */
  lastModified: string | null;
  /** Cached blocks by index; Map order is recency (oldest first). */
  blocks: Map<number, Uint8Array>;
  /** Where the last read ended, and the read-ahead it used (sequential reads double it). */
  lastEnd: number;
  ahead: number;
}

/** Counts of what the storage asked the server, for tests and measurements. */
export interface HttpStats {
  /** Requests answered (any status). */
  requests: number;
  validations: number;
  bytes: number;
  /** Requests sent again because the first try got no response (see NETWORK_RETRIES). */
  retries: number;
}

const SUFFIX: Record<FileKind, string> = { db: '', wal: '-wal', journal: '-journal', shm: '-shm' };

const EXPOSE = 'Access-Control-Expose-Headers: ETag, Content-Range, Content-Length';

export class HttpStorage extends ReadOnlyStorage implements Storage {
  readonly label: string;
  readonly id: string;
  readonly stats: HttpStats = { requests: 0, validations: 0, bytes: 0, retries: 0 };
  private readonly url: string;
  private readonly options: HttpStorageOptions;
  private readonly block: number;
  private readonly firstBlocks: number;
  private readonly maxAhead: number;
  private readonly cacheBlocks: number;
  private readonly remotes = new Map<FileKind, Remote | null>();
  private cachedBlocks = 0;

  constructor(url: string, options: HttpStorageOptions = {}) {
    super();
    this.url = url;
    this.label = url;
    this.id = `http:${url}`;
    this.options = options;
    this.block = positive(options.blockBytes, 16 << 10);
    this.firstBlocks = Math.max(1, Math.ceil(positive(options.firstBytes, 64 << 10) / this.block));
    this.maxAhead = Math.max(0, Math.floor(options.readAheadBytes ?? 1 << 20));
    this.cacheBlocks = Math.max(1, Math.floor(positive(options.cacheBytes, 8 << 20) / this.block));
  }

  /**
   * Calls the fetch unbound (`this` undefined): browsers and Workers throw "Illegal invocation"
   * when their fetch is called as a method of any object but the global one.
   */
  private async request(url: string, headers: Record<string, string>): Promise<Response> {
    const f = this.options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!f) throw new QuireError(ErrorCode.MISUSE, 'HttpStorage needs fetch (pass options.fetch)');
    // A request that fails before any response (fetch rejects with a TypeError: say, a kept-alive
    // connection the server closed just as it was reused, ECONNRESET) is sent again, up to
    // NETWORK_RETRIES times: every request here is a GET (a range GET, conditional on the
    // snapshot's validator once there is one), so repeating it cannot change or mix anything.
    // Any response, an error status included, is final.
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await f(url, { headers: { ...this.options.headers, ...headers } });
        this.stats.requests++;
        return res;
      } catch (e) {
        if (e instanceof TypeError && attempt < NETWORK_RETRIES) {
          this.stats.retries++;
          continue;
        }
        throw new QuireError(ErrorCode.IOERR, `GET ${url}: ${(e as Error).message}`, { cause: e });
      }
    }
  }

  private async body(res: Response, url: string): Promise<Uint8Array> {
    try {
      const b = new Uint8Array(await res.arrayBuffer());
      this.stats.bytes += b.length;
      return b;
    } catch (e) {
      throw new QuireError(ErrorCode.IOERR, `GET ${url}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Asks the server for the file as it is now (one conditional range GET, see the top): the
   * Remote to read this snapshot from, or null for an absent side file.
   */
  private async validate(kind: FileKind): Promise<Remote | null> {
    if (kind !== 'db' && (!this.options.sideFiles || kind === 'shm')) return null;
    const url = this.url + SUFFIX[kind];
    const prev = this.remotes.get(kind) ?? null;
    const headers: Record<string, string> = { range: `bytes=0-${this.firstBlocks * this.block - 1}` };
    if (prev?.etag) headers['if-none-match'] = prev.etag;
    else if (prev?.lastModified) headers['if-modified-since'] = prev.lastModified;
    this.stats.validations++;
    const res = await this.request(url, headers);
    if (res.status === 304 && prev) {
      await discard(res);
      return prev;
    }
    if (res.status === 404 || res.status === 410) {
      await discard(res);
      this.forget(kind);
      if (kind === 'db') throw new QuireError(ErrorCode.CANTOPEN, `cannot open ${url}: HTTP ${res.status}`);
      this.remotes.set(kind, null);
      return null;
    }
    let size: number;
    let data: Uint8Array;
    if (res.status === 416) {
      // Nothing to range over: an empty file ("Content-Range: bytes */0").
      await discard(res);
      size = totalOf(res) ?? 0;
      if (size !== 0) throw new QuireError(ErrorCode.IOERR, `GET ${url}: HTTP 416 for the first bytes of a ${size}-byte file`);
      data = new Uint8Array(0);
    } else if (res.status === 206) {
      const total = totalOf(res);
      if (total === null) {
        await discard(res);
        throw new QuireError(ErrorCode.IOERR, `GET ${url}: a range answer without a readable Content-Range; cross-origin, the server must send ${EXPOSE}`);
      }
      size = total;
      data = await this.body(res, url);
      if (data.length !== Math.min(size, this.firstBlocks * this.block)) throw short(url, data.length);
    } else if (res.status === 200) {
      // The whole file: acceptable only when it is no more than was asked for.
      data = await this.body(res, url);
      if (data.length >= this.firstBlocks * this.block) throw this.ignoresRanges(url);
      size = data.length;
    } else {
      await discard(res);
      throw new QuireError(ErrorCode.IOERR, `GET ${url}: HTTP ${res.status}`);
    }
    const etag = res.headers.get('etag');
    const lastModified = res.headers.get('last-modified');
    if (!etag && !lastModified && !this.options.allowUnvalidated) {
      throw new QuireError(
        ErrorCode.IOERR,
        `GET ${url}: the answer carries no ETag or Last-Modified, so a file replaced while it is read could not be told from a torn read; send one (cross-origin, also ${EXPOSE}), or pass allowUnvalidated: true`,
      );
    }
    let r = prev;
    if (!r || r.size !== size || r.etag !== etag || r.lastModified !== lastModified) {
      this.forget(kind);
      r = { url, size, etag, lastModified, blocks: new Map(), lastEnd: -1, ahead: 0 };
      this.remotes.set(kind, r);
    }
    this.keep(r, 0, data);
    return r;
  }

  private ignoresRanges(url: string): QuireError {
    return new QuireError(
      ErrorCode.IOERR,
      `GET ${url}: the server ignored the Range header (HTTP 200 with the whole file); HttpStorage needs a server that answers range requests with 206 Partial Content`,
    );
  }

  private forget(kind: FileKind): void {
    const r = this.remotes.get(kind);
    if (r) this.cachedBlocks -= r.blocks.size;
    this.remotes.delete(kind);
  }

  /** Caches the whole blocks of `data` (fetched from block `first` on), evicting the oldest. */
  private keep(r: Remote, first: number, data: Uint8Array): void {
    const b = this.block;
    for (let i = 0; i * b < data.length; i++) {
      const blockEnd = Math.min(r.size, (first + i + 1) * b);
      if ((first + i) * b + Math.min(b, data.length - i * b) < blockEnd) break; // a partial block
      if (r.blocks.has(first + i)) r.blocks.delete(first + i);
      else this.cachedBlocks++;
      r.blocks.set(first + i, data.subarray(i * b, Math.min(data.length, (i + 1) * b)));
    }
    while (this.cachedBlocks > this.cacheBlocks) {
      // The least recently used block of the file holding the most (each Map is oldest-first).
      let victim: Remote | null = null;
      for (const other of this.remotes.values()) if (other && other.blocks.size && (!victim || other.blocks.size > victim.blocks.size)) victim = other;
      if (!victim) break;
      victim.blocks.delete(victim.blocks.keys().next().value as number);
      this.cachedBlocks--;
    }
  }

  private async remote(kind: FileKind): Promise<Remote | null> {
    return this.remotes.has(kind) ? this.remotes.get(kind)! : this.validate(kind);
  }

  async exists(kind: FileKind): Promise<boolean> {
    return (await this.validate(kind)) !== null;
  }

  async size(kind: FileKind): Promise<number> {
    return (await this.validate(kind))?.size ?? 0;
  }

  async stat(kind: FileKind): Promise<FileStat | null> {
    const r = await this.validate(kind);
    if (!r) return null;
    const lm = r.lastModified ? Date.parse(r.lastModified) : NaN;
    return { size: r.size, mtimeMs: Number.isNaN(lm) ? undefined : lm };
  }

  async read(kind: FileKind, offset: number, length: number): Promise<Uint8Array> {
    const r = await this.remote(kind);
    if (!r || length <= 0 || offset >= r.size) return new Uint8Array(0);
    const end = Math.min(r.size, offset + length);
    const b = this.block;
    const b0 = Math.floor(offset / b);
    const b1 = Math.floor((end - 1) / b);
    const got = new Map<number, Uint8Array>();
    let firstMissing = -1;
    let lastMissing = -1;
    for (let i = b0; i <= b1; i++) {
      const c = r.blocks.get(i);
      if (c) {
        got.set(i, c);
        r.blocks.delete(i); // most recently used now
        r.blocks.set(i, c);
      } else {
        if (firstMissing < 0) firstMissing = i;
        lastMissing = i;
      }
    }
    // Sequential reads grow the read-ahead; a jump ends it.
    r.ahead = offset === r.lastEnd ? Math.min(this.maxAhead, Math.max(r.ahead * 2, 4 * b)) : 0;
    r.lastEnd = end;
    if (firstMissing >= 0) {
      let last = lastMissing;
      // A request at least `ahead` long (the pager's own read-ahead may already ask more),
      // stopping short of blocks already here.
      const target = r.ahead > 0 ? Math.floor((Math.min(r.size, firstMissing * b + r.ahead) - 1) / b) : last;
      while (last < target && !r.blocks.has(last + 1)) last++;
      const data = await this.fetchRange(r, firstMissing * b, Math.min(r.size, (last + 1) * b));
      for (let i = firstMissing; i <= lastMissing; i++) got.set(i, data.subarray((i - firstMissing) * b, (i - firstMissing + 1) * b));
      this.keep(r, firstMissing, data);
    }
    const out = new Uint8Array(end - offset);
    for (let i = b0; i <= b1; i++) {
      const c = got.get(i)!;
      const from = Math.max(offset, i * b);
      const to = Math.min(end, i * b + c.length);
      out.set(c.subarray(from - i * b, to - i * b), from - offset);
    }
    return out;
  }

  /** Bytes [start, end) of the file this snapshot reads, or BUSY if it is no longer that file. */
  private async fetchRange(r: Remote, start: number, end: number): Promise<Uint8Array> {
    const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}` };
    const strong = r.etag && !r.etag.startsWith('W/') ? r.etag : null;
    if (strong) {
      headers['if-match'] = strong;
      headers['if-range'] = strong;
    } else if (r.lastModified) {
      headers['if-unmodified-since'] = r.lastModified;
      headers['if-range'] = r.lastModified;
    }
    const res = await this.request(r.url, headers);
    const changed = (): QuireError => new QuireError(ErrorCode.BUSY, `${r.url} changed on the server while it was being read`);
    if (res.status === 412 || res.status === 404 || res.status === 410) {
      await discard(res);
      throw changed();
    }
    const sameFile = this.sameFile(r, res);
    if (res.status === 200) {
      await discard(res);
      // With If-Range, a whole-file answer means the validator no longer matches.
      if (!sameFile || headers['if-range']) throw changed();
      throw this.ignoresRanges(r.url);
    }
    if (res.status !== 206) {
      await discard(res);
      throw new QuireError(ErrorCode.IOERR, `GET ${r.url}: HTTP ${res.status}`);
    }
    if (!sameFile || totalOf(res) !== r.size) {
      await discard(res);
      throw changed();
    }
    const body = await this.body(res, r.url);
    if (body.length !== end - start) throw short(r.url, body.length, end - start);
    return body;
  }

  /** False when the answer names another version of the file than `r` (a validator it shows differs). */
  private sameFile(r: Remote, res: Response): boolean {
    const etag = res.headers.get('etag');
    const lm = res.headers.get('last-modified');
    if (r.etag && etag && etag !== r.etag) return false;
    if (!r.etag && r.lastModified && lm && lm !== r.lastModified) return false;
    return true;
  }

  protected readOnlyReason(): string {
    return `${this.url} is read over HTTP (read-only)`;
  }

  /** Bytes held in the cache now (at most `cacheBytes`, rounded down to whole blocks). */
  get cachedBytes(): number {
    let n = 0;
    for (const r of this.remotes.values()) if (r) for (const b of r.blocks.values()) n += b.length;
    return n;
  }

  async close(): Promise<void> {
    this.remotes.clear();
    this.cachedBlocks = 0;
  }
}

function positive(v: number | undefined, dflt: number): number {
  return v !== undefined && Number.isFinite(v) && v >= 1 ? Math.floor(v) : dflt;
}

/** The total size from a Content-Range header (`bytes a-b/total`, or `bytes *\/total` for an empty file), or null. */
function totalOf(res: Response): number | null {
  const m = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : null;
}

function short(url: string, got: number, want?: number): QuireError {
  return new QuireError(ErrorCode.IOERR, `GET ${url}: ${got} bytes${want === undefined ? '' : ` for a ${want}-byte range`}`);
}

/** Drops an answer's body unread (a 200 with the whole file must not be downloaded). */
async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // already consumed or closed: nothing to drop
  }
}
