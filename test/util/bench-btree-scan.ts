/**
 * Benchmark: full scan of a 1M-row rowid table, quire's b-tree layer vs better-sqlite3.
 *
 *   npx esbuild test/util/bench-btree-scan.ts --bundle --platform=node --format=esm \
 *     --external:better-sqlite3 --outfile=/tmp/qbench/scan.mjs && node /tmp/qbench/scan.mjs [rows]
 *
 * The database is built once in the temp directory; quire reads it from an in-memory image
 * (file read time excluded, as SQLite's reads come from the OS cache). Each measurement is the
 * best of several runs.
 */
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableCursor, scanTable } from '../../btree/cursor.js';
import type { SqlValue } from '../../btree/value.js';
import { ImageSource } from './image-source.js';
import { MemoryStorage } from '../../pager/memory.js';
import { Pager } from '../../pager/pager.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const path = join(tmpdir(), `quire-bench-scan-${ROWS}.db`);

if (!existsSync(path)) {
  const db = new Database(path);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b REAL, c TEXT, d TEXT)');
  const ins = db.prepare('INSERT INTO t(a, b, c, d) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      ins.run(BigInt((i * 7919) % 1000003), i / 7, `name-${i % 5000}`, i % 3 === 0 ? null : `some longer text value number ${i}`);
    }
  })();
  db.close();
}

function best(label: string, runs: number, f: () => number | Promise<number>): Promise<void> {
  return (async () => {
    let min = Infinity;
    let n = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      n = await f();
      const dt = performance.now() - t0;
      if (dt < min) min = dt;
    }
    console.log(`${label.padEnd(44)} ${min.toFixed(1).padStart(8)} ms  (${n} rows, ${((n / min) * 1000 / 1e6).toFixed(2)} M rows/s)`);
  })();
}

const image = new Uint8Array(readFileSync(path));
const db = new Database(path, { readonly: true });
const root = db.prepare(`SELECT rootpage FROM sqlite_schema WHERE name = 't'`).pluck().get() as number;
const stmtRaw = db.prepare('SELECT rowid, * FROM t').raw(true);
const stmtObj = db.prepare('SELECT rowid, * FROM t');

await best('better-sqlite3 iterate() raw arrays', 5, () => {
  let n = 0;
  for (const _ of stmtRaw.iterate()) n++;
  return n;
});
await best('better-sqlite3 iterate() objects', 5, () => {
  let n = 0;
  for (const _ of stmtObj.iterate()) n++;
  return n;
});
await best('quire scanTable (sync source)', 5, async () => {
  const src = new ImageSource(image);
  let n = 0;
  for await (const batch of scanTable(src, root)) n += batch.length;
  return n;
});
await best('quire scanTable (async source)', 5, async () => {
  const src = new ImageSource(image, { async: true });
  let n = 0;
  for await (const batch of scanTable(src, root)) n += batch.length;
  return n;
});
for (const cacheBytes of [64 << 20, 32 << 20]) {
  await best(`quire scanTable via Pager (MemoryStorage, ${cacheBytes >> 20} MiB cache)`, 5, async () => {
    const pager = await Pager.open(new MemoryStorage({ db: image, readOnly: true }), { cacheBytes });
    const snap = await pager.read();
    let n = 0;
    for await (const batch of scanTable(snap, root)) n += batch.length;
    snap.release();
    await pager.close();
    return n;
  });
}
await best('quire TableCursor next()+record() (sync)', 5, () => {
  const src = new ImageSource(image);
  const c = new TableCursor(src, root);
  let n = 0;
  let row: SqlValue[] = [];
  for (let ok = c.first() as boolean; ok; ok = c.next() as boolean) {
    row = c.record() as SqlValue[];
    n++;
  }
  void row;
  return n;
});
db.close();
