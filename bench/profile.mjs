// Where the time goes: runs one competitor of a scenario under `node --cpu-prof` and prints
// the functions with the most self time (dist/ frames mapped back to the TypeScript sources
// through dist's source maps), the same grouped by source file, and the share of GC and
// native/idle time.
//
//   node bench/profile.mjs <scenario> [group] [competitor] [--repeat N] [--top N]
//   node bench/profile.mjs scan                 (quire's scan of the 1M-row table, 3 runs)
//   node bench/profile.mjs copy                 (quire's backupFile of the 270 MB file, 5 runs)
//   node bench/profile.mjs scan table bsqlite   (any competitor, for comparison)
//   node bench/profile.mjs insert-bulk          (quire inserting the 1M rows into a new file, 1 run)
//   node bench/profile.mjs insert-random delete (quire deleting 100k of 200k rows, 1 run)
//   node bench/profile.mjs small-tx wal         (quire's 2,000 auto-commit inserts, WAL, 1 run)
//
// Uses the datasets and sizes of a full run (generated if missing). Profiles land in
// bench/out/prof/. The profiled process skips the result checks (BENCH_PROFILE=1), which
// would otherwise show up in the profile (SQLite verifying what was written).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, OUT_DIR, REPO_DIR, ensureRandomDb, ensureScanDb } from './lib/data.mjs';

const argv = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  argv.splice(i, 2);
  return v;
};
const DEFAULTS = {
  scan: ['table', 'quire', 3],
  copy: ['base', 'quire', 5],
  open: ['large', 'quire', 200],
  'insert-bulk': ['bulk', 'quire', 1],
  'insert-random': ['insert', 'quire', 1],
  'small-tx': ['rollback', 'quire', 1],
};
const repeatFlag = flag('--repeat', 0);
const top = flag('--top', 25);
const [scenario = 'scan', group, competitor] = argv;
if (!DEFAULTS[scenario]) {
  console.error(`usage: node bench/profile.mjs ${Object.keys(DEFAULTS).join('|')} [group] [competitor] [--repeat N] [--top N]`);
  process.exit(2);
}
const g = group ?? DEFAULTS[scenario][0];
const c = competitor ?? DEFAULTS[scenario][1];
const repeat = repeatFlag || DEFAULTS[scenario][2];

const datasets = { scan: ensureScanDb(1_000_000, console.error), small: ensureScanDb(1_000, console.error) };
if (scenario === 'insert-random') datasets.random = ensureRandomDb(200_000, console.error);
const profDir = path.join(OUT_DIR, 'prof');
mkdirSync(profDir, { recursive: true });
const cfgPath = path.join(profDir, 'cfg.json');
// The full run's sizes (run.mjs).
const write = { bulkRows: 1_000_000, randomRows: 200_000, commits: 2_000, hook: { rateHz: 300, timeoutMs: 120_000 } };
writeFileSync(cfgPath, JSON.stringify({ quick: false, datasets, write }));
const tag = `${scenario}-${g}-${c}`;
for (const f of readdirSync(profDir)) if (f.startsWith(tag) && f.endsWith('.cpuprofile')) rmSync(path.join(profDir, f));
const outJson = path.join(profDir, `${tag}.json`);
console.error(`profiling ${scenario}/${g}/${c}, ${repeat} run(s) ...`);
const r = spawnSync(
  process.execPath,
  ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${tag}.cpuprofile`, path.join(BENCH_DIR, 'child.mjs'), 'once', cfgPath, outJson, scenario, g, c, String(repeat)],
  { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, BENCH_PROFILE: '1' } },
);
if (r.status !== 0) process.exit(1);
const run = JSON.parse(readFileSync(outJson, 'utf8'));
const prof = JSON.parse(readFileSync(path.join(profDir, `${tag}.cpuprofile`), 'utf8'));

// ---- self time per node, from samples and timeDeltas (µs)
const selfUs = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const maps = new Map();
function mapFor(url) {
  if (maps.has(url)) return maps.get(url);
  let m = null;
  try {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (file.startsWith(path.join(REPO_DIR, 'dist')) && existsSync(file + '.map')) m = new SourceMap(JSON.parse(readFileSync(file + '.map', 'utf8')));
  } catch {
    m = null;
  }
  maps.set(url, m);
  return m;
}

function where(cf) {
  const sm = cf.url ? mapFor(cf.url) : null;
  if (sm) {
    const e = sm.findEntry(cf.lineNumber, cf.columnNumber);
    if (e && e.originalSource) {
      const src = e.originalSource.replace(/^.*?((src|pager|btree)\/)/, '$1');
      return { file: src, at: `${src}:${e.originalLine + 1}` };
    }
  }
  if (!cf.url) return { file: '(native)', at: '(native)' };
  const rel = cf.url.startsWith('file://') ? path.relative(REPO_DIR, fileURLToPath(cf.url)) : cf.url;
  const file = rel.startsWith('node_modules/') ? rel.split('/').slice(0, 2).join('/') : rel;
  return { file, at: `${rel}:${cf.lineNumber + 1}` };
}

const byFn = new Map();
const byFile = new Map();
for (const n of prof.nodes) {
  const us = selfUs.get(n.id) ?? 0;
  if (!us) continue;
  const cf = n.callFrame;
  const w = where(cf);
  const name = cf.functionName || '(anonymous)';
  const key = `${name}  ${w.at}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  const fk = name.startsWith('(') && !cf.url ? name : w.file;
  byFile.set(fk, (byFile.get(fk) ?? 0) + us);
}

const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const sorted = [...run.times].sort((a, b) => a - b);
const timesText = run.times.length <= 10 ? run.times.map((t) => t.toFixed(0)).join(', ') + ' ms' : `median ${sorted[sorted.length >> 1].toFixed(2)} ms (min ${sorted[0].toFixed(2)}, max ${sorted[sorted.length - 1].toFixed(2)})`;
console.log(`\n${scenario}/${g}/${c}: ${repeat} run(s), ${timesText}; profile ${(total / 1000).toFixed(0)} ms of samples; check: ${run.check}`);
console.log(`\ntop ${top} functions by self time:`);
for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)} ${ms(us)}  ${k}`);
console.log('\nself time by source file / category:');
for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(us)} ${ms(us)}  ${k}`);
console.log(`\nprofile: ${path.relative(process.cwd(), path.join(profDir, `${tag}.cpuprofile`))} (open in Chrome DevTools → Performance)`);
