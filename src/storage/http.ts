/**
 * HttpStorage: a read-only Storage over HTTP range requests (`Range: bytes=a-b`), for reading
 * a database from a static file server or object store without downloading it whole.
 * Runtime-neutral: it calls the `fetch` it is given (default: the global one, looked up when
 * first used).
 *
 * The database's size and identity come from a HEAD request (Content-Length, ETag,
 * Last-Modified); every read checks that the server answered 206 with the requested range
 * (or 200 with the whole file, which is then sliced) and, when the server sent an ETag, that
 * it has not changed (If-Match) — a file replaced mid-read is an error, not a torn read.
 * Side files are looked up at `<url>-wal` and `<url>-journal` only with `sideFiles: true`.
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';
import type { FileKind, FileStat, Storage } from '../../pager/storage.js';
import { ReadOnlyStorage } from './read-only.js';

export interface HttpStorageOptions {
  /** The fetch to use. Default: globalThis.fetch. */
  fetch?: typeof fetch;
  /** Extra request headers (authorisation...). */
  headers?: Record<string, string>;
  /** Also look for `<url>-wal` and `<url>-journal`. Default false. */
  sideFiles?: boolean;
}

interface Remote {
  url: string;
  size: number;
  etag: string | null;
  lastModified: number | undefined;
}

const SUFFIX: Record<FileKind, string> = { db: '', wal: '-wal', journal: '-journal', shm: '-shm' };

export class HttpStorage extends ReadOnlyStorage implements Storage {
  readonly label: string;
  readonly id: string;
  private readonly url: string;
  private readonly options: HttpStorageOptions;
  private readonly remotes = new Map<FileKind, Remote | null>();

  constructor(url: string, options: HttpStorageOptions = {}) {
    super();
    this.url = url;
    this.label = url;
    this.id = `http:${url}`;
    this.options = options;
  }

  /**
   * Calls the fetch unbound (`this` undefined): browsers and Workers throw "Illegal invocation"
   * when their fetch is called as a method of any object but the global one.
   */
  private request(url: string, init: RequestInit): Promise<Response> {
    const f = this.options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!f) throw new QuireError(ErrorCode.MISUSE, 'HttpStorage needs fetch (pass options.fetch)');
    return f(url, init);
  }

  private async head(kind: FileKind): Promise<Remote | null> {
    if (kind !== 'db' && (!this.options.sideFiles || kind === 'shm')) return null;
    const url = this.url + SUFFIX[kind];
    let res: Response;
    try {
      res = await this.request(url, { method: 'HEAD', headers: this.options.headers });
    } catch (e) {
      throw new QuireError(ErrorCode.IOERR, `HEAD ${url}: ${(e as Error).message}`, { cause: e });
    }
    if (res.status === 404 || res.status === 410) {
      if (kind === 'db') throw new QuireError(ErrorCode.CANTOPEN, `cannot open ${url}: HTTP ${res.status}`);
      return null;
    }
    if (!res.ok) throw new QuireError(ErrorCode.IOERR, `HEAD ${url}: HTTP ${res.status}`);
    const len = Number(res.headers.get('content-length'));
    if (!Number.isSafeInteger(len) || len < 0) throw new QuireError(ErrorCode.IOERR, `HEAD ${url}: no usable Content-Length`);
    const lm = res.headers.get('last-modified');
    return { url, size: len, etag: res.headers.get('etag'), lastModified: lm ? Date.parse(lm) : undefined };
  }

  /** The remote file as the server describes it now (re-asked at every exists/size/stat). */
  private async refresh(kind: FileKind): Promise<Remote | null> {
    const r = await this.head(kind);
    this.remotes.set(kind, r);
    return r;
  }

  private async remote(kind: FileKind): Promise<Remote | null> {
    return this.remotes.has(kind) ? this.remotes.get(kind)! : this.refresh(kind);
  }

  async exists(kind: FileKind): Promise<boolean> {
    return (await this.refresh(kind)) !== null;
  }

  async size(kind: FileKind): Promise<number> {
    return (await this.refresh(kind))?.size ?? 0;
  }

  async stat(kind: FileKind): Promise<FileStat | null> {
    const r = await this.refresh(kind);
    return r ? { size: r.size, mtimeMs: r.lastModified } : null;
  }

  async read(kind: FileKind, offset: number, length: number): Promise<Uint8Array> {
    const r = await this.remote(kind);
    if (!r || length <= 0 || offset >= r.size) return new Uint8Array(0);
    const end = Math.min(r.size, offset + length) - 1;
    const headers: Record<string, string> = { ...this.options.headers, range: `bytes=${offset}-${end}` };
    if (r.etag) headers['if-match'] = r.etag;
    let res: Response;
    try {
      res = await this.request(r.url, { headers });
    } catch (e) {
      throw new QuireError(ErrorCode.IOERR, `GET ${r.url}: ${(e as Error).message}`, { cause: e });
    }
    if (res.status === 412) throw new QuireError(ErrorCode.BUSY, `${r.url} changed on the server while it was being read`);
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status === 206) {
      if (body.length !== end - offset + 1) throw new QuireError(ErrorCode.IOERR, `GET ${r.url}: ${body.length} bytes for a ${end - offset + 1}-byte range`);
      return body;
    }
    if (res.status === 200) {
      // A server that ignores Range sends the whole file.
      if (body.length !== r.size) throw new QuireError(ErrorCode.IOERR, `GET ${r.url}: ${body.length} bytes, the file has ${r.size}`);
      return body.slice(offset, end + 1);
    }
    throw new QuireError(ErrorCode.IOERR, `GET ${r.url}: HTTP ${res.status}`);
  }

  protected readOnlyReason(): string {
    return `${this.url} is read over HTTP (read-only)`;
  }

  async close(): Promise<void> {
    this.remotes.clear();
  }
}
