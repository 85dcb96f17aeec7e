#!/usr/bin/env node
// `npm run web`: serves the page (src/web) at / and the built library (dist) at /dist/ on
// 127.0.0.1 (PORT, default 8080). Static files only; the page does all the work itself.
// (Node-only, so it lives in src/node, apart from the page it serves.)
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const roots = [['/dist/', path.resolve(here, '../../dist')], ['/', path.resolve(here, '../web')]];
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json' };
const port = Number(process.env.PORT ?? 8080);

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const [prefix, root] = roots.find(([p]) => url.pathname.startsWith(p));
  const rel = decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html';
  const file = path.join(root, rel);
  if (!file.startsWith(root + path.sep)) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end('not found (run npm run build first for /dist/)');
  }
}).listen(port, '127.0.0.1', () => console.log(`quire page: http://127.0.0.1:${port}/`));
