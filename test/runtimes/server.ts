/**
 * The server every runtime test talks to (node:http on 127.0.0.1): static files from a few
 * roots (/fixtures → fixtures/out, /dist → dist, /runtimes → test/runtimes, /web → src/web),
 * with Range, ETag and If-Match / If-Range, and CORS that exposes what HttpStorage needs
 * (a page served from another origin can read the fixtures). Counts requests.
 */
import { createServer, type Server } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.map': 'application/json',
  '.json': 'application/json',
};

export interface FixtureServer {
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}

/**
 * One byte range of a Range header ("bytes=a-b", "bytes=a-", "bytes=-n") as [first, last],
 * null to send the whole file (no or unparsable header), 'unsatisfiable' past the end.
 */
export function parseRange(header: string | undefined, size: number): [number, number] | null | 'unsatisfiable' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') return size === 0 ? 'unsatisfiable' : [Math.max(0, size - Number(m[2])), size - 1];
  const first = Number(m[1]);
  if (first >= size) return 'unsatisfiable';
  return [first, m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)];
}

export function startServer(roots: Record<string, string> = {}): Promise<FixtureServer> {
  const mounts: Record<string, string> = {
    '/fixtures/': path.join(ROOT, 'fixtures/out'),
    '/dist/': path.join(ROOT, 'dist'),
    '/runtimes/': path.join(ROOT, 'test/runtimes'),
    '/web/': path.join(ROOT, 'src/web'),
    ...roots,
  };
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'ETag, Last-Modified, Content-Range, Content-Length');
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-headers', 'Range, If-Match, If-Range, If-None-Match, If-Modified-Since, If-Unmodified-Since');
      res.statusCode = 204;
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const mount = Object.keys(mounts).find((m) => url.pathname.startsWith(m));
    const file = mount ? path.join(mounts[mount], decodeURIComponent(url.pathname.slice(mount.length))) : '';
    let body: Buffer;
    try {
      if (!mount || !file.startsWith(mounts[mount]) || !statSync(file).isFile()) throw new Error('no');
      body = readFileSync(file);
    } catch {
      res.statusCode = 404;
      res.end();
      return;
    }
    const st = statSync(file);
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    res.setHeader('etag', etag);
    res.setHeader('accept-ranges', 'bytes');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream');
    const h = req.headers;
    if (h['if-match'] && h['if-match'] !== etag) {
      res.statusCode = 412;
      res.end();
      return;
    }
    if (h['if-none-match'] === etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    const range = h['if-range'] && h['if-range'] !== etag ? null : parseRange(h.range, body.length);
    if (range === 'unsatisfiable') res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    else if (range === null) res.writeHead(200, { 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
    else {
      const [first, last] = range;
      res.writeHead(206, { 'content-range': `bytes ${first}-${last}/${body.length}`, 'content-length': last - first + 1 });
      res.end(req.method === 'HEAD' ? undefined : body.subarray(first, last + 1));
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests: () => requests,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    }),
  );
}

/** A port nobody listens on now (the OS picks it; closed again at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Polls `ready` (every 50 ms, up to 20 s) until it is true; throws `why()` after that. */
export async function waitFor(ready: () => Promise<boolean>, why: () => string): Promise<void> {
  const until = Date.now() + 20_000;
  for (;;) {
    if (await ready().catch(() => false)) return;
    if (Date.now() > until) throw new Error(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}
