/**
 * Runtime-neutral storage adapters: a database read from a Blob (browser File) and over HTTP
 * range requests reads exactly as SQLite reads the file; HTTP reads fetch only what they need,
 * and a file replaced on the server mid-read is BUSY, never a torn read.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { readManifest, fixturePath } from '../fixtures/index.mjs';
import { BlobStorage, Database, HttpStorage, MemoryStorage, ReadDatabase, exportRow, isQuireError, type Row } from '../src/index.js';
import { yieldToLoop } from '../src/util/yield.js';
import { referenceExport } from './util/reference.js';

const manifest = readManifest();
const byName = (n: string) => manifest.fixtures.find((f) => f.name === n)!;

async function exportAll(db: ReadDatabase, table: string): Promise<string> {
  let s = '';
  for await (const row of db.rows(table)) s += exportRow(row) + '\n';
  return s;
}

interface ServeOptions {
  /** Answer every GET with 200 and the whole file (a server without range support). */
  ignoreRanges?: boolean;
  /** Send neither ETag nor Last-Modified (or, cross-origin, not exposed). */
  noValidator?: boolean;
  /** Send Last-Modified only, no ETag. */
  lastModifiedOnly?: boolean;
}

interface Served {
  url: string;
  server: Server;
  bytesSent: () => number;
  requests: () => number;
  /** Requests and body bytes served so far. */
  counts: () => { requests: number; bytes: number };
}

/**
 * A static file server (node:http on 127.0.0.1) with Range, If-Match, If-Range,
 * If-None-Match, If-Unmodified-Since and If-Modified-Since support; `files` maps paths to
 * bytes (replace an entry to replace the file). It counts requests and body bytes.
 */
function serve(files: Map<string, Uint8Array>, opts: ServeOptions = {}): Promise<Served> {
  let sent = 0;
  let requests = 0;
  const versions = new Map<Uint8Array, string>();
  const stamp = (body: Uint8Array) => {
    // A Last-Modified per version of a file (1 s apart, as HTTP dates are).
    if (!versions.has(body)) versions.set(body, new Date(Date.UTC(2020, 0, 1) + versions.size * 1000).toUTCString());
    return versions.get(body)!;
  };
  const server = createServer((req, res) => {
    requests++;
    const body = files.get(req.url ?? '');
    if (!body) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    const lm = stamp(body);
    if (!opts.noValidator && !opts.lastModifiedOnly) res.setHeader('etag', etag);
    if (!opts.noValidator) res.setHeader('last-modified', lm);
    res.setHeader('accept-ranges', 'bytes');
    if (req.method === 'HEAD') {
      res.setHeader('content-length', body.length);
      res.end();
      return;
    }
    const h = req.headers;
    const validator = opts.noValidator ? null : opts.lastModifiedOnly ? lm : etag;
    if ((h['if-match'] && h['if-match'] !== etag) || (h['if-unmodified-since'] && h['if-unmodified-since'] !== lm)) {
      res.statusCode = 412;
      res.end();
      return;
    }
    if ((h['if-none-match'] && h['if-none-match'] === etag) || (!h['if-none-match'] && h['if-modified-since'] && h['if-modified-since'] === lm)) {
      res.statusCode = 304;
      res.end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(h.range ?? '');
    const rangeOk = m && !opts.ignoreRanges && (!h['if-range'] || h['if-range'] === validator);
    if (!rangeOk) {
      sent += body.length;
      res.end(body);
      return;
    }
    const a = Number(m[1]);
    if (a >= body.length) {
      res.statusCode = 416;
      res.setHeader('content-range', `bytes */${body.length}`);
      res.end();
      return;
    }
    const b = Math.min(Number(m[2]), body.length - 1);
    res.statusCode = 206;
    res.setHeader('content-range', `bytes ${a}-${b}/${body.length}`);
    sent += b - a + 1;
    res.end(body.subarray(a, b + 1));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      servers.push(server);
      resolve({ url: `http://127.0.0.1:${port}`, server, bytesSent: () => sent, requests: () => requests, counts: () => ({ requests, bytes: sent }) });
    }),
  );
}

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/**
 * A Storage over the same bytes that counts what the pager asks: `size('db')` once per
 * snapshot, `read('db')` once per page run it needs (and once for the header per snapshot).
 * The HTTP storage must not make more requests than page runs + snapshots.
 */
function countingStorage(bytes: Uint8Array<ArrayBuffer>): { storage: BlobStorage; snapshots: () => number; runs: () => number } {
  const storage = new BlobStorage(new Blob([bytes]));
  let snapshots = 0;
  let runs = 0;
  const size = storage.size.bind(storage);
  const read = storage.read.bind(storage);
  storage.size = (kind) => ((snapshots += kind === 'db' ? 1 : 0), size(kind));
  // Page runs only: the 100-byte header read at each snapshot start is not a page.
  storage.read = (kind, off, len) => ((runs += kind === 'db' && len >= 512 ? 1 : 0), read(kind, off, len));
  return { storage, snapshots: () => snapshots, runs: () => runs };
}

/** Runs `work` on a ReadDatabase over HTTP and over a counting Blob; prints and compares. */
async function measure(what: string, url: string, served: Served, bytes: Uint8Array<ArrayBuffer>, work: (db: ReadDatabase) => Promise<void>) {
  const ref = countingStorage(bytes);
  const rdb = await ReadDatabase.open(ref.storage);
  await work(rdb);
  await rdb.close();
  const before = served.counts();
  const http = new HttpStorage(url);
  const db = await ReadDatabase.open(http);
  await work(db);
  await db.close();
  const after = served.counts();
  const requests = after.requests - before.requests;
  const bytesMoved = after.bytes - before.bytes;
  console.log(
    `http: ${what}: ${requests} requests (${http.stats?.validations} validations), ${bytesMoved} bytes of ${bytes.length}; the pager asked ${ref.runs()} page runs in ${ref.snapshots()} snapshots`,
  );
  expect(requests).toBeLessThanOrEqual(ref.runs() + ref.snapshots());
  expect(http.stats.requests).toBe(requests);
  expect(http.stats.validations).toBe(ref.snapshots());
  return { requests, bytes: bytesMoved, runs: ref.runs(), snapshots: ref.snapshots() };
}

describe('BlobStorage', () => {
  it('reads a database (and its WAL) from Blobs exactly as SQLite reads the files', async () => {
    for (const name of ['example', 'wal-uncheckpointed-4096', 'encoding-utf-16le']) {
      const f = byName(name);
      const file = fixturePath(f);
      const wal = f.walFile ? new Blob([readFileSync(file + '-wal')]) : undefined;
      const db = await Database.open(new BlobStorage(new Blob([readFileSync(file)]), { wal, label: name }));
      for (const t of Object.keys(f.tables!)) expect(await exportAll(db, t), `${name}.${t}`).toBe(referenceExport(file, t));
      expect(await db.check()).toEqual([]);
      const e = await db.exec('CREATE TABLE x(a)').catch((x) => x);
      expect(isQuireError(e) && e.code).toBe('READONLY');
      await db.close();
    }
  });
});

describe('BlobStorage windows', () => {
  it('reads a Blob in large slices, not one slice().arrayBuffer() per page', async () => {
    const f = byName('large-payload');
    const bytes = readFileSync(fixturePath(f));
    const st = new BlobStorage(new Blob([bytes]));
    const db = await ReadDatabase.open(st);
    for (const t of Object.keys(f.tables!)) expect(await exportAll(db, t)).toBe(referenceExport(fixturePath(f), t));
    const pages = Math.ceil(bytes.length / (await db.schema().then(() => db.pager.pageSize)));
    console.log(`blob: full read of ${bytes.length} bytes (${pages} pages): ${st.blobReads} Blob reads`);
    // One Blob read per MiB of a sequential scan (plus the header and a few jumps back).
    expect(st.blobReads).toBeLessThanOrEqual(Math.ceil(bytes.length / (1 << 20)) * 2 + 4);
    await db.close();
    const small = new BlobStorage(new Blob([bytes]), { windowBytes: 4096 });
    const a = await small.read('db', 100, 50);
    a[0] ^= 0xff; // the caller's own copy
    expect(Array.from(await small.read('db', 100, 50))).toEqual(Array.from(bytes.subarray(100, 150)));
    expect(small.blobReads).toBe(1);
  });
});

describe('ReadDatabase (quire/read)', () => {
  it('reads without the write half and stays read-only on a writable storage', async () => {
    const mem = new MemoryStorage();
    const w = await Database.open(mem, { readOnly: false });
    await w.exec('CREATE TABLE t(a, b)');
    await w.insert('t', [1, 'x']);
    await w.close();
    const r = await ReadDatabase.open(mem);
    expect(r.readOnly).toBe(true);
    expect(await r.tables()).toEqual(['t']);
    expect(await r.get('t', 1)).toEqual([1, 1, 'x']);
    expect('transaction' in r).toBe(false);
    await r.close();
    const e = await r.tables().catch((x) => x);
    expect(isQuireError(e) && e.code).toBe('MISUSE');
  });
});

describe('yieldToLoop', () => {
  it('turns the event loop with scheduler.yield, else a MessageChannel, else setTimeout', async () => {
    const g = globalThis as { scheduler?: unknown; MessageChannel?: unknown };
    const realTimeout = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      timers++;
      return realTimeout(fn, ms);
    }) as typeof setTimeout;
    const savedSched = g.scheduler;
    const savedMC = g.MessageChannel;
    try {
      // A MessageChannel (Node has one): a macrotask, no timer.
      let turned = false;
      const t = realTimeout(() => (turned = true), 0);
      for (let i = 0; i < 50 && !turned; i++) await yieldToLoop();
      clearTimeout(t);
      expect(turned).toBe(true);
      expect(timers).toBe(0);
      let yields = 0;
      g.scheduler = { yield: () => (yields++, Promise.resolve()) };
      await yieldToLoop();
      expect(yields).toBe(1);
      g.scheduler = undefined;
      g.MessageChannel = undefined;
      await yieldToLoop();
      expect(timers).toBe(1);
    } finally {
      globalThis.setTimeout = realTimeout;
      g.scheduler = savedSched;
      g.MessageChannel = savedMC;
    }
  });
});

describe('HttpStorage', () => {
  it('reads over range requests, fetching only what it needs', async () => {
    const big = byName('large-payload');
    const ex = byName('wal-passive-checkpoint-4096');
    const files = new Map<string, Uint8Array>([
      ['/big.db', new Uint8Array(readFileSync(fixturePath(big)))],
      ['/w.db', new Uint8Array(readFileSync(fixturePath(ex)))],
      ['/w.db-wal', new Uint8Array(readFileSync(fixturePath(ex) + '-wal'))],
    ]);
    const { url, bytesSent, requests } = await serve(files);
    const db = await Database.open(new HttpStorage(`${url}/big.db`));
    expect((await db.tables()).length).toBeGreaterThan(0);
    console.log(`http: open + tables of large-payload: ${requests()} requests, ${bytesSent()} bytes`);
    // Opening and reading the schema of a 12 MB file moved a few pages, not the file.
    expect(bytesSent()).toBeLessThan(files.get('/big.db')!.length / 10);
    for (const t of Object.keys(big.tables!)) expect(await exportAll(db, t)).toBe(referenceExport(fixturePath(big), t));
    await db.close();
    const [r0, b0] = [requests(), bytesSent()];
    const w = await Database.open(new HttpStorage(`${url}/w.db`, { sideFiles: true }));
    for (const t of Object.keys(ex.tables!)) expect(await exportAll(w, t)).toBe(referenceExport(fixturePath(ex), t));
    await w.close();
    console.log(`http: WAL database (sideFiles), open + every table: ${requests() - r0} requests, ${bytesSent() - b0} bytes (db + wal ${files.get('/w.db')!.length + files.get('/w.db-wal')!.length})`);
  });

  it('calls fetch unbound, as browsers and Workers require (no "Illegal invocation")', async () => {
    const f = byName('example');
    const files = new Map<string, Uint8Array>([['/e.db', new Uint8Array(readFileSync(fixturePath(f)))]]);
    const { url } = await serve(files);
    // Like the browser's fetch: called with any `this` but undefined or the global object, it throws.
    const realFetch = globalThis.fetch;
    let calls = 0;
    const strictFetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
      if (this !== undefined && this !== globalThis) throw new TypeError("Failed to execute 'fetch' on 'Window': Illegal invocation");
      calls++;
      return realFetch(input, init);
    };
    const readAll = async (storage: HttpStorage) => {
      const db = await Database.open(storage);
      for (const t of Object.keys(f.tables!)) expect(await exportAll(db, t)).toBe(referenceExport(fixturePath(f), t));
      await db.close();
    };
    // A fetch passed in the options...
    await readAll(new HttpStorage(`${url}/e.db`, { fetch: strictFetch }));
    expect(calls).toBeGreaterThan(0);
    // ...and the global one, looked up by default.
    const before = calls;
    globalThis.fetch = strictFetch as typeof fetch;
    try {
      await readAll(new HttpStorage(`${url}/e.db`));
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(calls).toBeGreaterThan(before);
  });

  it('sends a request again when it got no response at all (a reset kept-alive connection), at most twice', async () => {
    const f = byName('example');
    const files = new Map<string, Uint8Array>([['/e.db', new Uint8Array(readFileSync(fixturePath(f)))]]);
    const { url, requests } = await serve(files);
    const realFetch = globalThis.fetch;
    // Every other call fails as undici fails on a connection the server closed: a TypeError.
    let calls = 0;
    const flaky = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      calls++;
      if (calls % 2 === 1) return Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) }));
      return realFetch(input, init);
    };
    const storage = new HttpStorage(`${url}/e.db`, { fetch: flaky });
    const db = await Database.open(storage);
    for (const t of Object.keys(f.tables!)) expect(await exportAll(db, t)).toBe(referenceExport(fixturePath(f), t));
    await db.close();
    expect(requests()).toBe(calls / 2);
    expect(storage.stats).toMatchObject({ requests: calls / 2, retries: calls / 2 });
    // A server that never answers: IOERR after three attempts, naming the URL and the cause.
    let dead = 0;
    const down = (): Promise<Response> => {
      dead++;
      return Promise.reject(new TypeError('fetch failed'));
    };
    await expect(Database.open(new HttpStorage(`${url}/e.db`, { fetch: down }))).rejects.toMatchObject({ code: 'IOERR', message: expect.stringContaining(`GET ${url}/e.db: fetch failed`) });
    expect(dead).toBe(3);
  });

  it('a file replaced on the server mid-read is BUSY, not a torn read; a missing one CANTOPEN', async () => {
    const f = byName('example');
    const files = new Map<string, Uint8Array>([['/a.db', new Uint8Array(readFileSync(fixturePath(f)))]]);
    const { url } = await serve(files);
    // Caches smaller than the file, so the rest of the scan must come from the server.
    const db = await Database.open(new HttpStorage(`${url}/a.db`, { cacheBytes: 64 * 1024 }), { cacheBytes: 64 * 1024 });
    const it = db.rows('orders');
    await it.next();
    const changed = files.get('/a.db')!.slice();
    changed[changed.length - 1] ^= 1;
    files.set('/a.db', changed);
    let err: unknown = null;
    try {
      for (;;) if ((await it.next()).done) break;
    } catch (e) {
      err = e;
    }
    expect(isQuireError(err) && err.code).toBe('BUSY');
    await db.close();
    const missing = await Database.open(new HttpStorage(`${url}/nope.db`)).catch((x) => x);
    expect(isQuireError(missing) && missing.code).toBe('CANTOPEN');
  });

  it('costs one validation per snapshot plus at most one request per page run (open, tables, lookups; full scans)', async () => {
    const big = byName('large-payload');
    const vals = byName('values');
    const bigBytes = new Uint8Array(readFileSync(fixturePath(big)));
    const valBytes = new Uint8Array(readFileSync(fixturePath(vals)));
    const files = new Map<string, Uint8Array>([['/big.db', bigBytes], ['/values.db', valBytes]]);
    const served = await serve(files);
    const bigTable = Object.keys(big.tables!)[0];
    // Two keys far apart: the second row and the last.
    const keys: Row[] = [];
    const ref = await ReadDatabase.open(new BlobStorage(new Blob([bigBytes])));
    for await (const r of ref.rows(bigTable)) keys.push(r);
    await ref.close();
    const [k1, k2] = [keys[1][0] as number, keys[keys.length - 1][0] as number];
    const lookups = await measure('open + tables + two lookups (large-payload)', `${served.url}/big.db`, served, bigBytes, async (db) => {
      expect((await db.tables()).length).toBeGreaterThan(0);
      expect(exportRow((await db.get(bigTable, k1))!)).toBe(exportRow(keys[1]));
      expect(exportRow((await db.get(bigTable, k2))!)).toBe(exportRow(keys[keys.length - 1]));
    });
    // Four snapshots (open, tables, two lookups): four validations, three of them a 304; the
    // bytes are the last row's 256 KiB overflow chain and the pager's read-ahead along it.
    expect(lookups.snapshots).toBe(4);
    expect(lookups.bytes).toBeLessThan(bigBytes.length / 4);
    for (const [name, f, bytes, path] of [['large-payload', big, bigBytes, '/big.db'], ['values', vals, valBytes, '/values.db']] as const) {
      const scan = await measure(`full scan of ${name}`, `${served.url}${path}`, served, bytes, async (db) => {
        for (const t of Object.keys(f.tables!)) expect(await exportAll(db, t)).toBe(referenceExport(fixturePath(f), t));
      });
      // Read-ahead: a sequential scan moves the file in a few large ranges, not page by page,
      // and no byte twice.
      expect(scan.requests).toBeLessThan(bytes.length / (128 * 1024) + scan.snapshots);
      expect(scan.bytes).toBeLessThanOrEqual(bytes.length);
    }
  });

  it('a file unchanged between snapshots costs a 304; a file replaced between them is read anew', async () => {
    const f = byName('example');
    const t = Object.keys(f.tables!)[0];
    const bytes = new Uint8Array(readFileSync(fixturePath(f)));
    const files = new Map<string, Uint8Array>([['/e.db', bytes]]);
    const served = await serve(files);
    const http = new HttpStorage(`${served.url}/e.db`);
    const db = await ReadDatabase.open(http);
    const first = await exportAll(db, t);
    const before = served.counts();
    expect(await exportAll(db, t)).toBe(first);
    const again = served.counts();
    console.log(`http: second scan of an unchanged file: ${again.requests - before.requests} requests, ${again.bytes - before.bytes} bytes`);
    expect(again.requests - before.requests).toBe(1);
    expect(again.bytes - before.bytes).toBe(0);
    // Replaced by another database (a row changed by SQLite's own hand).
    const other = byName('values');
    files.set('/e.db', new Uint8Array(readFileSync(fixturePath(other))));
    expect(await db.tables()).toEqual(Object.keys(other.tables!).length ? expect.arrayContaining(Object.keys(other.tables!)) : []);
    const ot = Object.keys(other.tables!)[0];
    expect(await exportAll(db, ot)).toBe(referenceExport(fixturePath(other), ot));
    await db.close();
  });

  it('a server that ignores ranges, or hides its validator, is a clear error; Last-Modified alone validates', async () => {
    const f = byName('example');
    const t = Object.keys(f.tables!)[0];
    const bytes = new Uint8Array(readFileSync(fixturePath(f)));
    const files = new Map<string, Uint8Array>([['/e.db', bytes]]);
    const noRanges = await serve(files, { ignoreRanges: true });
    const e1 = await ReadDatabase.open(new HttpStorage(`${noRanges.url}/e.db`)).catch((x) => x);
    expect(isQuireError(e1) && e1.code).toBe('IOERR');
    expect(String(e1.message)).toMatch(/ignored the Range header \(HTTP 200 with the whole file\).*206/);
    // The body of the 200 is dropped, not downloaded... (the server counts what it sent, so
    // look at the storage's own count)
    const hidden = await serve(files, { noValidator: true });
    const st = new HttpStorage(`${hidden.url}/e.db`);
    const e2 = await ReadDatabase.open(st).catch((x) => x);
    expect(isQuireError(e2) && e2.code).toBe('IOERR');
    expect(String(e2.message)).toContain('Access-Control-Expose-Headers: ETag, Content-Range, Content-Length');
    const loose = await ReadDatabase.open(new HttpStorage(`${hidden.url}/e.db`, { allowUnvalidated: true }));
    expect(await exportAll(loose, t)).toBe(referenceExport(fixturePath(f), t));
    await loose.close();
    // Last-Modified only: conditional on the date; a replacement mid-read is BUSY.
    const lmOnly = await serve(files, { lastModifiedOnly: true });
    const lmStorage = new HttpStorage(`${lmOnly.url}/e.db`, { cacheBytes: 64 * 1024 });
    const db = await ReadDatabase.open(lmStorage, { cacheBytes: 64 * 1024 });
    expect(await exportAll(db, 'orders')).toBe(referenceExport(fixturePath(f), 'orders'));
    // The cache stayed bounded through a scan of a file 12 times its size.
    expect(lmStorage.cachedBytes).toBeGreaterThan(0);
    expect(lmStorage.cachedBytes).toBeLessThanOrEqual(64 * 1024);
    const it = db.rows('orders');
    await it.next();
    const changed = bytes.slice();
    changed[changed.length - 1] ^= 1;
    files.set('/e.db', changed);
    const err = await (async () => {
      for (;;) if ((await it.next()).done) return null;
    })().catch((x) => x);
    expect(isQuireError(err) && err.code).toBe('BUSY');
    await db.close();
  });
});
