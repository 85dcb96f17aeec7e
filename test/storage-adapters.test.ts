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
import { BlobStorage, Database, HttpStorage, MemoryStorage, ReadDatabase, exportRow, isQuireError } from '../src/index.js';
import { yieldToLoop } from '../src/util/yield.js';
import { referenceExport } from './util/reference.js';

const manifest = readManifest();
const byName = (n: string) => manifest.fixtures.find((f) => f.name === n)!;

async function exportAll(db: ReadDatabase, table: string): Promise<string> {
  let s = '';
  for await (const row of db.rows(table)) s += exportRow(row) + '\n';
  return s;
}

/** A static file server with Range and If-Match support; `files` maps paths to bytes. */
function serve(files: Map<string, Uint8Array>): Promise<{ url: string; server: Server; bytesSent: () => number }> {
  let sent = 0;
  const server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    if (!body) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    res.setHeader('etag', etag);
    res.setHeader('accept-ranges', 'bytes');
    if (req.method === 'HEAD') {
      res.setHeader('content-length', body.length);
      res.end();
      return;
    }
    const im = req.headers['if-match'];
    if (im && im !== etag) {
      res.statusCode = 412;
      res.end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m) {
      sent += body.length;
      res.end(body);
      return;
    }
    const a = Number(m[1]);
    const b = Math.min(Number(m[2]), body.length - 1);
    res.statusCode = 206;
    res.setHeader('content-range', `bytes ${a}-${b}/${body.length}`);
    sent += b - a + 1;
    res.end(body.subarray(a, b + 1));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, server, bytesSent: () => sent });
    }),
  );
}

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

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
    const { url, server, bytesSent } = await serve(files);
    servers.push(server);
    const db = await Database.open(new HttpStorage(`${url}/big.db`));
    expect((await db.tables()).length).toBeGreaterThan(0);
    // Opening and reading the schema of a 12 MB file moved a few pages, not the file.
    expect(bytesSent()).toBeLessThan(files.get('/big.db')!.length / 10);
    for (const t of Object.keys(big.tables!)) expect(await exportAll(db, t)).toBe(referenceExport(fixturePath(big), t));
    await db.close();
    const w = await Database.open(new HttpStorage(`${url}/w.db`, { sideFiles: true }));
    for (const t of Object.keys(ex.tables!)) expect(await exportAll(w, t)).toBe(referenceExport(fixturePath(ex), t));
    await w.close();
  });

  it('calls fetch unbound, as browsers and Workers require (no "Illegal invocation")', async () => {
    const f = byName('example');
    const files = new Map<string, Uint8Array>([['/e.db', new Uint8Array(readFileSync(fixturePath(f)))]]);
    const { url, server } = await serve(files);
    servers.push(server);
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

  it('a file replaced on the server mid-read is BUSY, not a torn read; a missing one CANTOPEN', async () => {
    const f = byName('example');
    const files = new Map<string, Uint8Array>([['/a.db', new Uint8Array(readFileSync(fixturePath(f)))]]);
    const { url, server } = await serve(files);
    servers.push(server);
    const db = await Database.open(new HttpStorage(`${url}/a.db`, { }), { cacheBytes: 64 * 1024 });
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
});
