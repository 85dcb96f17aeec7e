/**
 * Memory that does not grow with the file (issue 11, scope 1).
 *
 * 1. The page cache holds what its capacity says: a page it keeps for long (an interior page)
 *    is a buffer of its own, not a view that keeps its whole read-ahead run (1 MiB) alive.
 *    (Before, interior pages scattered over a big file kept a run each: check's peak RSS grew
 *    with the file.)
 * 2. The built CLI (dist/cli.js; run `npx tsup` first): `import` from standard input and
 *    `check` have the same peak RSS for an input / a file three times as large (before,
 *    every chunk of standard input stayed reachable until the import ended; check's peak
 *    grew with the file up to about 250 MB).
 * 3. `check` and `export` stay within their page cache plus a fixed allowance above the
 *    loaded CLI (issue 11's 64 MB + cache): their passes read each page once into reused
 *    buffers, so a file's pages are no garbage.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './util/tmp.js';
import { Pager } from '../pager/pager.js';
import { MemoryStorage } from '../pager/memory.js';
import { NodeFileStorage } from '../src/node/file-storage.js';
import type { Storage } from '../pager/storage.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'dist', 'cli.js');

/** A database of about `mb` MiB: one table of 2 KiB blobs, with an index on a text column. */
function makeDb(file: string, mb: number): void {
  const db = new BetterSqlite(file);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB); CREATE INDEX t_a ON t(a)');
  const rows = Math.round((mb * 1024 * 1024) / 2200);
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
    INSERT INTO t SELECT i, hex(randomblob(8)), randomblob(2048) FROM n`);
  db.close();
}

/** Total bytes of the distinct ArrayBuffers behind the pages left in the pager's cache. */
function cacheBytesHeld(pager: Pager): { pages: number; bytes: number } {
  const buffers = new Set<ArrayBufferLike>();
  let pages = 0;
  for (let p = 1; p <= pager.pageCount; p++) {
    const img = pager.cached(p);
    if (img === undefined) continue;
    pages++;
    buffers.add(img.buffer);
  }
  let bytes = 0;
  for (const b of buffers) bytes += b.byteLength;
  return { pages, bytes };
}

describe('the page cache keeps pages, not the read-ahead runs they came in', () => {
  let file: string;
  beforeAll(() => {
    file = path.join(tempDir('quire-flat-'), 'twenty.db');
    makeDb(file, 20);
  });

  const storages: Array<[string, () => Promise<Storage>]> = [
    ['file storage', () => NodeFileStorage.open(file)],
    ['memory storage', async () => new MemoryStorage({ db: readFileSync(file), readOnly: true })],
  ];
  for (const [name, open] of storages) {
    it(`${name}: hot pages scattered over the file (as interior pages are) do not keep their runs`, async () => {
      const st = await open();
      const pager = await Pager.open(st, { cacheBytes: 512 * 4096 });
      try {
        const snap = await pager.read();
        const ps = snap.pageSize;
        expect(snap.pageCount * ps).toBeGreaterThan(16 << 20);
        // A sequential pass (read ahead in runs of up to 1 MiB) that keeps going back to every
        // 128th page seen so far, as a scan goes back to the interior pages above its leaves.
        const hot: number[] = [];
        for (let p = 1; p <= snap.pageCount; p++) {
          await snap.getPage(p);
          if (p % 128 === 0) hot.push(p);
          if (p % 8 === 0) for (const h of hot) await snap.getPage(h);
        }
        snap.release();
        const held = cacheBytesHeld(pager);
        expect(held.pages).toBeGreaterThan(hot.length);
        expect(held.pages).toBeLessThanOrEqual(512);
        // The pages themselves, plus at most the last two runs of the pass.
        expect(held.bytes).toBeLessThanOrEqual(512 * ps + 2 * (1 << 20));
      } finally {
        await pager.close();
        await st.close();
      }
    });
  }
});

/** Peak RSS in MiB of a shell pipeline whose quire is `$Q` (timed by /usr/bin/time). */
function peakRss(script: string, cwd: string): number {
  const r = spawnSync('bash', ['-c', `/usr/bin/time -f %M -o rss ${script}`], { encoding: 'utf8', cwd, env: { ...process.env, Q: `${process.execPath} ${bin}` } });
  expect(r.status, r.stderr).toBe(0);
  const kib = Number(readFileSync(path.join(cwd, 'rss'), 'utf8').trim().split('\n').pop());
  expect(kib).toBeGreaterThan(1000);
  return kib / 1024;
}

describe('the built CLI: peak RSS flat in the size of the input', () => {
  it('dist/cli.js exists (npx tsup)', () => {
    expect(existsSync(bin)).toBe(true);
  });

  it('import from standard input: 3x the input, same peak', () => {
    const dir = tempDir('quire-flat-import-');
    // Rows of a 6 KiB blob (12 KiB of hex each): 3,400 rows are 42 MB of input, 10,200 are 125 MB.
    const gen = (rows: number) =>
      `${process.execPath} -e 'const h = "ab".repeat(6144); let s = ""; for (let i = 1; i <= ${rows}; i++) { s += "[" + i + "," + i + ",{\\"blob\\":\\"" + h + "\\"}]\\n"; if (s.length > 1 << 20 || i === ${rows}) { process.stdout.write(s); s = ""; } }'`;
    const create = `--create 'CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)'`;
    const small = peakRss(`$Q import small.db t ${create} < <(${gen(3400)}) > out`, dir);
    expect(readFileSync(path.join(dir, 'out'), 'utf8')).toBe('3400 rows\n');
    const large = peakRss(`$Q import large.db t ${create} < <(${gen(10200)}) > out`, dir);
    expect(readFileSync(path.join(dir, 'out'), 'utf8')).toBe('10200 rows\n');
    console.log(`import peak RSS: ${small.toFixed(0)} MB, ${large.toFixed(0)} MB for 3x the input`);
    expect(large - small, `import peak RSS ${small.toFixed(0)} MB, then ${large.toFixed(0)} MB for 3x the input`).toBeLessThan(30);
  }, 180_000);

  it('check: a file 3x as large, same peak', () => {
    const dir = tempDir('quire-flat-check-');
    makeDb(path.join(dir, 'a.db'), 30);
    makeDb(path.join(dir, 'b.db'), 90);
    const small = peakRss('$Q check a.db > out', dir);
    expect(readFileSync(path.join(dir, 'out'), 'utf8')).toBe('ok\n');
    const large = peakRss('$Q check b.db > out', dir);
    expect(readFileSync(path.join(dir, 'out'), 'utf8')).toBe('ok\n');
    console.log(`check peak RSS: ${small.toFixed(0)} MB, ${large.toFixed(0)} MB for 3x the file`);
    expect(large - small, `check peak RSS ${small.toFixed(0)} MB, then ${large.toFixed(0)} MB for 3x the file`).toBeLessThan(20);
  }, 180_000);

  // Issue 11's goal is 64 MB plus the command's page cache; node itself and the loaded CLI
  // take ~46 MB of that here. So a whole-file command may add its cache and a fixed allowance
  // above `quire --version` (which loads the same bundle), whatever the file. Before the
  // check walk and the export pass read past the cache into reused buffers, check of a
  // 385 MB file added ~55 MB (8 MiB cache) and export ~42 MB (2 MiB cache); now ~19 and ~14.
  it('check and export: peak RSS at most the page cache and 24 MB above the loaded CLI', () => {
    const dir = tempDir('quire-flat-whole-');
    makeDb(path.join(dir, 'c.db'), 120);
    const base = Math.max(peakRss('$Q --version > out', dir), peakRss('$Q --version > out', dir));
    const allowance = 24;
    const runs: Array<[string, string, number]> = [
      ['check', '$Q check c.db > out', 8],
      ['export jsonl', '$Q export c.db t | wc -l > out', 2],
      ['export csv', '$Q export c.db t --format csv | wc -l > out', 2],
    ];
    const rows = String(Math.round((120 * 1024 * 1024) / 2200));
    const peaks = runs.map(([name, script]) => {
      const peak = peakRss(script, dir);
      const out = readFileSync(path.join(dir, 'out'), 'utf8').trim();
      expect(out).toBe(name === 'check' ? 'ok' : name === 'export csv' ? String(Number(rows) + 1) : rows);
      console.log(`${name} peak RSS: ${peak.toFixed(0)} MB (quire --version ${base.toFixed(0)} MB)`);
      return peak;
    });
    runs.forEach(([name, , cacheMiB], i) => {
      expect(peaks[i] - base, `${name}: peak RSS ${peaks[i].toFixed(0)} MB, quire --version ${base.toFixed(0)} MB`).toBeLessThan(cacheMiB + allowance);
    });
  }, 300_000);

  // Node's stdout calls a write's callback on the next tick, and a command running on
  // resolved promises and synchronous reads never gives it one: each 64 KiB chunk of an
  // export left a callback (and its closure) behind until the command ended, ~0.3 MB of heap
  // per 64 MB written, so a 2.1 GB table's export peaked at 73-75 MB RSS (63-64 now). The
  // CLI lets the event loop turn every few MB it writes. Counted by a preload that wraps
  // process.stdout.write: callbacks handed over, not yet called.
  it('export: the write callbacks of standard output do not pile up', () => {
    const dir = tempDir('quire-flat-ticks-');
    makeDb(path.join(dir, 'd.db'), 24);
    writeFileSync(
      path.join(dir, 'count.cjs'),
      `let issued = 0, called = 0, most = 0;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, enc, cb) => {
  if (typeof enc === 'function') { cb = enc; enc = undefined; }
  if (typeof cb === 'function') { const f = cb; issued++; most = Math.max(most, issued - called); cb = (e) => { called++; f(e); }; }
  return write(chunk, enc, cb);
};
process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(path.join(dir, 'pending'))}, issued + ' ' + most));`,
    );
    for (const script of [`$Q export d.db t > out`, `$Q export d.db t | wc -c > out`]) {
      const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: dir, env: { ...process.env, Q: `${process.execPath} -r ./count.cjs ${bin}` } });
      expect(r.status, r.stderr).toBe(0);
      const [issued, most] = readFileSync(path.join(dir, 'pending'), 'utf8').split(' ').map(Number);
      // ~50 MB of JSONL in 64 KiB chunks; at most one yield's worth (4 MiB) waiting.
      expect(issued, script).toBeGreaterThan(500);
      expect(most, script).toBeLessThanOrEqual(80);
    }
  }, 120_000);

  // A CSV import into a table with an index on a random text column (the bench's import):
  // the index's pages go to the file and come back (the spill) all along. Its page memory is
  // 4 MiB of cache and 8 MiB of spill. Before, the import held the spill's pages plus as many
  // again, 64 KiB blocks kept alive by one page each, and V8's old generation grown with the
  // page images and rows it had dropped: 120 MB peak for these 120,000 rows, 74 above the
  // loaded CLI; now 91, 45 above. (Issue 11's goal is 24 above the cache, as for check and
  // export: not met; this bound is what holds.)
  it('import into an indexed table: peak RSS at most its cache and spill and 40 MB above the loaded CLI', () => {
    const dir = tempDir('quire-flat-import-index-');
    const rows = 120_000;
    // Seeded rows: a 80-character random text (the indexed column), a 100-byte blob as hex, a REAL.
    const gen = spawnSync(
      process.execPath,
      [
        '-e',
        `let x = 12345; const r = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
        const az = 'abcdefghijklmnopqrstuvwxyz ';
        const out = ['id,a,b,c'];
        for (let i = 1; i <= ${rows}; i++) {
          let a = '', b = '';
          for (let k = 0; k < 80; k++) a += az[Math.floor(r() * az.length)];
          for (let k = 0; k < 100; k++) b += Math.floor(r() * 256).toString(16).padStart(2, '0');
          out.push(i + ',"' + a + '",' + b + ',' + ((r() - 0.5) * 1e6).toFixed(9));
        }
        require('fs').writeFileSync('in.csv', out.join('\\n') + '\\n');`,
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(gen.status, gen.stderr).toBe(0);
    const base = Math.max(peakRss('$Q --version > out', dir), peakRss('$Q --version > out', dir));
    const schema = 'CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB, c REAL); CREATE INDEX t_a ON t(a)';
    const peak = peakRss(`$Q import i.db t --format csv --create '${schema}' < in.csv > out`, dir);
    expect(readFileSync(path.join(dir, 'out'), 'utf8')).toBe(`${rows} rows\n`);
    const db = new BetterSqlite(path.join(dir, 'i.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(rows);
    } finally {
      db.close();
    }
    console.log(`import into an indexed table: peak RSS ${peak.toFixed(0)} MB (quire --version ${base.toFixed(0)} MB)`);
    expect(peak - base, `import: peak RSS ${peak.toFixed(0)} MB, quire --version ${base.toFixed(0)} MB`).toBeLessThan(4 + 8 + 40);
  }, 180_000);
});
