// Stress loop for the live copier (not part of `npm run bench`): a real SQLite writer
// (test/live/writer.mjs, WAL mode, ~400 commits/s, PASSIVE/RESTART/TRUNCATE checkpoints every
// 60 commits, as test/live.test.ts's "several hundred commits/s" test) while copies are taken,
// alternately backupFile, Database.backup(pages -1) and Database.backup(pages 64), each checked
// with SQLite's integrity_check and the writer's invariants. A torn copy is kept with a trace
// of the engine's decisions (passes, runs, scans with WAL salt-1/mxFrame, moves and the pages
// they name, bridges, re-copies, failed frame reads, the pages written with a checksum).
//
//   npx esbuild src/node/index.ts --bundle --platform=node --format=esm \
//     --outfile=/tmp/x/quire.mjs --banner:js="import{createRequire}from'module';const require=createRequire(import.meta.url);"
//   node bench/lib/live-stress.mjs /tmp/x/quire.mjs <copies> <work dir> [seed]
//
// Environment: FRAME_DELAY=p delays a read of one WAL frame by up to DELAY_MS (default 4) with
// probability p, READ_DELAY=p any read of the source; both widen the windows that load opens
// (a bridged reset between a run's db-file read and its frame patching needed FRAME_DELAY=0.3
// to show in 1 copy of 7; without delays none in 290 copies). The trace wraps private methods
// of CopyEngine by name: when they are renamed, update the wrappers.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { WRITER, startWriter } from '../../test/live/client.mjs';

const [, , bundle, nArg, dirArg, seedArg] = process.argv;
if (!bundle || !nArg || !dirArg) {
  console.error('usage: node bench/lib/live-stress.mjs <bundle.mjs> <copies> <work dir> [seed]');
  process.exit(2);
}
const { backupFile, openDatabase, Database, CopyEngine, NodeFileStorage } = await import(path.resolve(bundle));
const N = Number(nArg);
const seed = Number(seedArg ?? 7);
const dir = path.resolve(dirArg);
mkdirSync(dir, { recursive: true });
const src = path.join(dir, 'src.db');
rmSync(src, { force: true });
// MODE=rollback: journal_mode=DELETE and a writer committing RATE times a second (default 25).
const ROLLBACK = process.env.MODE === 'rollback';
const made = spawnSync(process.execPath, [WRITER, 'setup', src, ROLLBACK ? 'delete' : 'wal', '40000'], { encoding: 'utf8' });
if (made.status !== 0) throw new Error(`writer setup: ${made.stderr}`);

// ---- injected delays
const DELAY_MS = Number(process.env.DELAY_MS || 4);
const nap = (p) => (p > 0 && Math.random() < p ? new Promise((r) => setTimeout(r, Math.random() * DELAY_MS)) : null);
const FRAME_DELAY = Number(process.env.FRAME_DELAY || 0);
const READ_DELAY = Number(process.env.READ_DELAY || 0);
if (FRAME_DELAY > 0 || READ_DELAY > 0) {
  const S = NodeFileStorage.prototype;
  for (const m of ['read', 'readInto']) {
    const o = S[m];
    S[m] = async function (kind, off, x) {
      await nap(READ_DELAY);
      const r = await o.call(this, kind, off, x);
      if (kind === 'wal' && typeof x === 'number' && x === 4096 + 24) await nap(FRAME_DELAY);
      await nap(READ_DELAY);
      return r;
    };
  }
}

// ---- trace
let trace = [];
const t0 = performance.now();
const log = (...a) => trace.push([+(performance.now() - t0).toFixed(2), ...a]);
const P = CopyEngine.prototype;
const walId = (w) => (w ? `${w.header.salt1 >>> 0}/${w.mxFrame}` : 'none');
function wrap(name, before, after) {
  const orig = P[name];
  if (typeof orig !== 'function') throw new Error(`CopyEngine.${name} is gone: update the trace`);
  P[name] = function (...args) {
    const b = before?.call(this, ...args);
    const r = orig.apply(this, args);
    if (r && typeof r.then === 'function') return r.then((v) => (after?.call(this, v, b, ...args), v));
    after?.call(this, r, b, ...args);
    return r;
  };
}
function sums(buf, ps) {
  if (buf.length > 8 * ps) return '';
  const out = [];
  for (let o = 0; o < buf.length; o += ps) {
    let h = 0;
    for (let i = o; i < o + ps; i++) h = (Math.imul(h, 31) + buf[i]) | 0;
    out.push((h >>> 0).toString(16));
  }
  return out.join(',');
}
let scanId = 0;
wrap('beginPass', function () { log('pass>', this.passes); }, function (v) { log('pass<', v, this.mode, walId(this.wal), 'count', this.pageCountV); });
wrap('followWal', function (final) { const id = ++scanId; log('scan>', id, !!final, walId(this.wal), 'reads', this.dbReads, 'seen', this.readsSeen, 'next', this.next); return id; },
  function (v, id) { log('scan<', id, v, walId(this.wal), 'recopy', this.recopy.size, this.trailLostBy); });
wrap('moveTo', function (idx, from) { log('move', from, walId(idx), 'next', this.next, 'pages', [...idx.pagesBetween(from, idx.mxFrame)].join(',')); });
wrap('bridge', function (prev, seen) { log('bridge>', walId(prev), walId(seen), 'unresolved', [...this.unresolved].join(',')); },
  function (v) { log('bridge<', v, walId(this.wal), this.trailLostBy, 'recopy', [...this.recopy].join(',')); });
wrap('copyRun', function (f, c) { log('run>', f, c, walId(this.wal)); }, function (v, b, f, c) { log('run<', f, c); });
wrap('recopyPage', function (p) { log('recopy', p, walId(this.wal), 'frame', this.wal ? this.wal.frameFor(p) : 0); });
wrap('readFrameChecked', null, function (v, b, p, f, w) { if (!v) log('frameFail', p, f, walId(w), 'now', walId(this.wal)); });
wrap('endPass', null, function (v) { log('end', v, walId(this.wal), this.lastReason); });
wrap('writePages', function (first, buf) { log('write', first, buf.length / this.pageSizeV, sums(buf, this.pageSizeV)); });
wrap('followJournal', function () { return this.jWatch ? 'watching' : 'none'; }, function (v, b) { if (v || b === 'watching') log('journal', b, JSON.stringify(v), 'now', this.jWatch ? 'watching' : 'none', 'next', this.next, 'recopy', [...this.recopy].join(','), 'count', this.pageCountV); });
wrap('writeDiffering', function (first, buf) { log('compare', first, buf.length / this.pageSizeV, sums(buf, this.pageSizeV)); });

function check(file) {
  const db = new BetterSqlite(file, { readonly: true, fileMustExist: true });
  try {
    const ic = db.pragma('integrity_check');
    if (ic.length !== 1 || ic[0].integrity_check !== 'ok') return { err: `integrity_check: ${JSON.stringify(ic.slice(0, 5))}` };
    const n = db.prepare("SELECT v FROM meta WHERE k = 'commits'").get().v;
    const s = db.prepare('SELECT sum(balance) AS s FROM accounts').get().s;
    const big = db.prepare("SELECT (SELECT sum(val) FROM big) AS s, (SELECT v FROM meta WHERE k = 'bigsum') AS m").get();
    if (s !== 0) return { err: `accounts sum ${s}`, n };
    if (big.s !== big.m) return { err: `sum(big.val) ${big.s}, meta ${big.m}`, n };
    return { n };
  } finally {
    db.close();
  }
}

async function copyOnce(i) {
  const out = path.join(dir, `copy-${i}.db`);
  if (i % 2 === 0) return { out, how: 'file', snapshot: (await backupFile(src, out, { timeout: 30000, sleep: 20 })).snapshot };
  const source = await openDatabase(src);
  const target = await Database.memory();
  try {
    const pages = i % 4 === 1 ? 64 : -1;
    const snapshot = await source.backup(target, { timeout: 30000, sleep: 20, pages });
    writeFileSync(out, target.storage.getFile('db'));
    return { out, how: `memory, pages ${pages}`, snapshot };
  } finally {
    await source.close();
    await target.close();
  }
}

const w = startWriter(src, ROLLBACK ? { rateHz: Number(process.env.RATE || 25), spillEvery: Number(process.env.SPILL || 0) || undefined, seed } : { rateHz: 500, checkpointEvery: 60, seed });
let bad = 0;
let busy = 0;
try {
  let before = (await w.ask('wait', ROLLBACK ? { commits: 5 } : { checkpoints: 3 })).counters.commits;
  for (let i = 0; i < N; i++) {
    trace = [];
    let got;
    try {
      got = await copyOnce(i);
    } catch (e) {
      busy++;
      console.log(`copy ${i}: ${String(e.message).slice(0, 200)}`);
      before = (await w.ask('wait', { commits: before + 10 })).counters.commits;
      continue;
    }
    const { out, how, snapshot: s } = got;
    const c = check(out);
    const stale = c.n !== undefined && c.n < before;
    const line = `copy ${i} (${how}): ${s.passes} passes, ${s.repasses} re-passes, ${s.restarts} restarts, ${s.snapshotMoves} moves, ${s.resetsBridged} resets bridged`;
    if (c.err || stale) {
      bad++;
      writeFileSync(`${out}.trace.json`, JSON.stringify({ i, how, snapshot: s, err: c.err, stale, before, trace }).replace(/\],\[/g, '],\n['));
      console.log(`TORN ${line}: ${c.err ?? `stale (${c.n} < ${before})`}; kept ${out} and ${out}.trace.json`);
    } else {
      console.log(line);
      rmSync(out);
      for (const side of ['-wal', '-shm']) rmSync(out + side, { force: true });
    }
    before = (await w.ask('wait', { commits: (c.n ?? before) + 10 })).counters.commits;
  }
} finally {
  const counters = await w.stop();
  console.log(`${bad} torn of ${N} copies (${busy} gave up BUSY); writer: ${counters.commits} commits, checkpoints ${JSON.stringify(counters.checkpoints)}, errors ${counters.errors}`);
  if (bad === 0) for (const f of ['', '-wal', '-shm']) rmSync(src + f, { force: true });
}
