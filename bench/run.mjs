// quire's benchmark suite: `npm run bench` (builds first), or
//
//   node --expose-gc bench/run.mjs [--quick | --verify] [--only scan,open,...] [--no-big] [--out file]
//
//   --quick   small datasets and few samples (well under a few minutes)
//   --verify  tiny datasets, nothing timed: each competitor of each scenario makes one result
//             and it is checked as the warm-up's is (seconds; test/bench-smoke.test.ts); the
//             live scenario's phases each make and check one copy under the writer
//   --only    run just these scenarios (comma-separated): scan, open, copy, live (reads and
//             copies), insert-bulk, insert-random, small-tx, copy-hook (writes: lib/write.mjs),
//             check, vacuum, export, import, backup (whole-file CLI work: lib/whole.mjs)
//   --no-big  skip the ~1 GB leg of the copy scenario and the ~2.1 GB leg of the whole-file
//             ones (never run in --quick)
//   --out     write the JSON results here instead of bench/out/results.json
//
// It measures the BUILT library (dist/), against better-sqlite3, sql.js and cp, on datasets
// it generates into bench/out/ (lib/data.mjs; cached between runs). Each scenario group runs
// in its own child process (child.mjs): one checked warm-up run per competitor, then a
// Benchmark.Suite; each competitor's peak RSS comes from a further child that does only its
// setup and one run. Reported: medians of the benchmark samples and ratios quire / competitor
// from the same run (the machine is shared: single timings mean little). Results go to
// bench/out/results.json and a table on stdout.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BENCH_DIR, OUT_DIR, REPO_DIR, ensureIndexedDb, ensureLiveDb, ensureRandomDb, ensureScanDb } from './lib/data.mjs';
import { SCENARIOS } from './lib/scenarios.mjs';
import { printReport } from './lib/report.mjs';
import { WHOLE_SCENARIOS, runWhole, wholeVerdicts } from './lib/whole.mjs';
import { onInterrupt, reaped } from './lib/reap.mjs';

const ORDER = ['scan', 'open', 'copy', 'live', 'insert-bulk', 'insert-random', 'small-tx', 'copy-hook', ...Object.keys(WHOLE_SCENARIOS)];

function parseArgs(argv) {
  const o = { quick: false, verify: false, only: null, big: true, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--verify') o.verify = true;
    else if (a === '--no-big') o.big = false;
    else if (a === '--only') o.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--only=')) o.only = a.slice(7).split(',').filter(Boolean);
    else if (a === '--out') o.out = argv[++i];
    else if (a.startsWith('--out=')) o.out = a.slice(6);
    else if (a === '--help' || a === '-h') {
      console.log(`usage: node --expose-gc bench/run.mjs [--quick | --verify] [--only ${ORDER.join(',')}] [--no-big] [--out file]`);
      process.exit(0);
    } else {
      console.error(`bench: unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (o.out === undefined || o.out === '') {
    console.error('bench: --out needs a file name');
    process.exit(2);
  }
  for (const n of o.only ?? []) {
    if (!ORDER.includes(n)) {
      console.error(`bench: unknown scenario ${n} (known: ${ORDER.join(', ')})`);
      process.exit(2);
    }
  }
  return o;
}

const args = parseArgs(process.argv.slice(2));
const wanted = ORDER.filter((n) => !args.only || args.only.includes(n));
const log = (m) => process.stderr.write(m + '\n');

if (!existsSync(path.join(REPO_DIR, 'dist', 'node.js'))) {
  console.error('bench: dist/node.js is missing: run `npm run build` (or `npm run bench`, which builds first)');
  process.exit(1);
}

const sizes = args.verify
  ? { scanRows: 2_000, smallRows: 100, bigRows: 0, liveRows: 2_000, matrixRows: 2_000, randomRows: 1_000, commits: 20, indexedRows: 2_000, indexedBigRows: 0, wholeRuns: 1 }
  : args.quick
  ? { scanRows: 20_000, smallRows: 200, bigRows: 0, liveRows: 10_000, matrixRows: 10_000, randomRows: 5_000, commits: 100, indexedRows: 20_000, indexedBigRows: 100_000, wholeRuns: 1 }
  : { scanRows: 1_000_000, smallRows: 1_000, bigRows: args.big ? 4_000_000 : 0, liveRows: 550_000, matrixRows: 240_000, randomRows: 200_000, commits: 2_000, indexedRows: 1_000_000, indexedBigRows: args.big ? 5_400_000 : 0, wholeRuns: 3 };

// ---- datasets (only those the chosen scenarios need)
mkdirSync(OUT_DIR, { recursive: true });
const datasets = {};
const strip = (m) => m && { ...m };
if (wanted.some((n) => ['scan', 'open', 'copy', 'insert-bulk', 'copy-hook'].includes(n))) datasets.scan = strip(ensureScanDb(sizes.scanRows, log));
if (wanted.includes('open')) datasets.small = strip(ensureScanDb(sizes.smallRows, log));
if (wanted.includes('copy') && sizes.bigRows) datasets.big = strip(ensureScanDb(sizes.bigRows, log));
if (wanted.includes('live')) datasets.live = strip(ensureLiveDb(sizes.liveRows, log));
// The live matrix: 240,000 big rows (≈ 121 MB), a file the copier reads in a fraction of a commit gap.
if (wanted.includes('live')) datasets.liveMatrix = strip(ensureLiveDb(sizes.matrixRows, log));
if (wanted.includes('insert-random')) datasets.random = strip(ensureRandomDb(sizes.randomRows, log));
// The whole-file scenarios: the scan table + an index on a, ≈ 390 MB and ≈ 2.1 GB in a full run.
if (wanted.some((n) => n in WHOLE_SCENARIOS)) {
  datasets.indexed = strip(ensureIndexedDb(sizes.indexedRows, log));
  if (sizes.indexedBigRows) datasets.indexedBig = strip(ensureIndexedDb(sizes.indexedBigRows, log));
}

const short = args.quick || args.verify;
const cfg = {
  quick: short,
  verify: args.verify,
  datasets,
  live: {
    writer: { rateHz: 300, seed: 1 },
    capMs: args.verify ? 1_000 : args.quick ? 3_000 : 30_000,
    timeoutMs: short ? 20_000 : 120_000,
  },
  // lib/live-matrix.mjs: copies per workload, SQLite's cap, quire's budget, writer warm-up;
  // --verify: one gap per mode and no storm, one copy each (every copy still checked).
  liveMatrix: args.verify
    ? { copies: 1, capMs: 1_000, timeoutIdleX: 20, minTimeoutMs: 20_000, warmMs: 100, gaps: [40], storm: false }
    : args.quick
      ? { copies: 2, capMs: 3_000, timeoutIdleX: 20, minTimeoutMs: 3_000, warmMs: 200, gaps: [5, 40] }
      : { copies: 5, capMs: 10_000, timeoutIdleX: 20, minTimeoutMs: 3_000, warmMs: 500 },
  // The write scenarios (lib/write.mjs). insert-bulk writes the scan dataset's rows, so its
  // result can be compared with that file.
  write: {
    bulkRows: sizes.scanRows,
    randomRows: sizes.randomRows,
    commits: sizes.commits,
    hook: { rateHz: 300, timeoutMs: short ? 30_000 : 120_000 },
  },
};
const tmpDir = path.join(OUT_DIR, 'tmp');
mkdirSync(tmpDir, { recursive: true });
const cfgPath = path.join(tmpDir, `cfg-${process.pid}.json`);
writeFileSync(cfgPath, JSON.stringify(cfg));
onInterrupt(() => rmSync(cfgPath, { force: true }));

let childSeq = 0;
/** Runs child.mjs in a fresh process and returns its JSON result. */
function child(mode, ...rest) {
  const out = path.join(tmpDir, `out-${process.pid}-${childSeq++}.json`);
  rmSync(out, { force: true });
  return new Promise((resolve, reject) => {
    // Its own process group, ended with this one (lib/reap.mjs): with it the writers it starts.
    const p = reaped(spawn(process.execPath, ['--expose-gc', path.join(BENCH_DIR, 'child.mjs'), mode, cfgPath, out, ...rest], {
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    }));
    // A child's scratch is bench/out/work/<tag>-<its pid> (lib/live.mjs, write.mjs, scenarios.mjs):
    // removed here too, in case the child could not (a signal, a crash).
    const scratch = () => {
      rmSync(out, { force: true });
      const work = path.join(OUT_DIR, 'work');
      if (!existsSync(work)) return;
      for (const d of readdirSync(work)) if (d.endsWith(`-${p.pid}`)) rmSync(path.join(work, d), { recursive: true, force: true });
    };
    const forget = onInterrupt(scratch);
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      forget();
      if (code !== 0) {
        scratch();
        return reject(new Error(`child ${mode} ${rest.join(' ')} exited with ${code ?? signal}`));
      }
      try {
        const r = JSON.parse(readFileSync(out, 'utf8'));
        rmSync(out, { force: true });
        resolve(r);
      } catch (e) {
        reject(e);
      }
    });
  });
}

function sqliteVersion() {
  const db = new Database(':memory:');
  try {
    return db.prepare('SELECT sqlite_version()').pluck().get();
  } finally {
    db.close();
  }
}

const pkgVersion = (p) => JSON.parse(readFileSync(p, 'utf8')).version;
const git = (...a) => spawnSync('git', a, { cwd: REPO_DIR, encoding: 'utf8' }).stdout?.trim() ?? '';

const results = {
  meta: {
    startedAt: new Date().toISOString(),
    args: process.argv.slice(2),
    quick: args.quick,
    verify: args.verify,
    scenarios: wanted,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    memoryBytes: os.totalmem(),
    loadavgAtStart: os.loadavg(),
    git: { head: git('rev-parse', '--short', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no').length > 0 },
    distBuiltAt: statSync(path.join(REPO_DIR, 'dist', 'node.js')).mtime.toISOString(),
    versions: {
      quire: pkgVersion(path.join(REPO_DIR, 'package.json')),
      'better-sqlite3': pkgVersion(path.join(REPO_DIR, 'node_modules', 'better-sqlite3', 'package.json')),
      sqlite: sqliteVersion(),
      'sql.js': pkgVersion(path.join(REPO_DIR, 'node_modules', 'sql.js', 'package.json')),
      benchmark: pkgVersion(path.join(REPO_DIR, 'node_modules', 'benchmark', 'package.json')),
    },
    datasets: Object.fromEntries(Object.entries(datasets).map(([k, d]) => [k, describeDataset(d)])),
  },
  baseline: null,
  scenarios: {},
};

function describeDataset(d) {
  const { expect: _e, generator: _g, ...rest } = d;
  return d.path ? { ...rest, path: path.relative(REPO_DIR, d.path) } : rest;
}

function ratioEntry(groupResult, of, to, goal) {
  const a = groupResult.competitors[of];
  const tos = Array.isArray(to) ? to : [to];
  const bs = tos.map((t) => groupResult.competitors[t]);
  const ok = a && !a.error && a.medianMs > 0 && bs.every((b) => b && !b.error && b.medianMs > 0);
  const value = ok ? a.medianMs / bs.reduce((s, b) => s + b.medianMs, 0) : null;
  const e = { of, to: tos.join('+'), value };
  if (goal) {
    e.goal = goal.text;
    e.goalMax = goal.max;
    e.met = value === null ? null : value <= goal.max;
  }
  return e;
}

async function runScenario(name) {
  const sc = SCENARIOS[name];
  const loadBefore = os.loadavg();
  if (sc.whole) {
    log(`\n[${name}] ${sc.title}`);
    // One big-file run: at ≈ 2.1 GB a run takes tens of seconds, and it is there for memory.
    const sets = [{ id: 'base', dataset: datasets.indexed, runs: sizes.wholeRuns }];
    if (datasets.indexedBig) sets.push({ id: 'big', dataset: datasets.indexedBig, runs: 1 });
    const r = await runWhole(name, sets, log);
    for (const size of r.sizes) size.dataset = describeDataset(size.dataset);
    return { ...r, loadavg: { before: loadBefore, after: os.loadavg() } };
  }
  if (sc.custom) {
    log(`\n[${name}] ${sc.title}`);
    const r = await child('live');
    const idleQ = r.phases.idle?.competitors?.quire;
    const liveQ = r.phases.live?.competitors?.quire;
    const idleS = r.phases.idle?.competitors?.['bsqlite-100'];
    const ratio = (a, b) => (a && b && !a.error && !b.error && b.medianMs > 0 ? a.medianMs / b.medianMs : null);
    const live = ratio(liveQ, idleQ);
    r.ratios = [
      { of: 'quire live', to: 'quire idle', value: live, goal: 'quire live copy ≤ 3× its idle copy', goalMax: 3, met: live === null ? null : live <= 3 },
      { of: 'quire idle', to: 'better-sqlite3 step(100) idle', value: ratio(idleQ, idleS) },
    ];
    if (r.phases.sqliteLive?.finished && liveQ) {
      r.ratios.push({ of: 'quire live', to: 'better-sqlite3 step(100) live', value: liveQ.medianMs / r.phases.sqliteLive.ms });
    }
    r.dataset = describeDataset(r.dataset);
    return { title: sc.title, ...r, loadavg: { before: loadBefore, after: os.loadavg() } };
  }
  if (args.verify) {
    const { groups } = await child('verify', name);
    for (const g of sc.groups(cfg)) groups[g.id] = { label: g.label, dataset: describeDataset(g.dataset), ...groups[g.id] };
    return { title: sc.title, groups };
  }
  const out = { title: sc.title, sampling: sc.sampling(cfg), groups: {}, cross: [] };
  for (const g of sc.groups(cfg)) {
    log(`\n[${name} / ${g.label}] ${sc.title}`);
    const r = await child('suite', name, g.id);
    for (const cid of g.rss) {
      if (!r.competitors[cid] || r.competitors[cid].error) continue;
      log(`  peak RSS: ${cid} ...`);
      const o = await child('once', name, g.id, cid);
      Object.assign(r.competitors[cid], {
        peakRssBytes: o.peakRssBytes,
        peakRssAfterSetupBytes: o.peakRssAfterSetupBytes,
        rssRunMs: o.times[0],
        ...(o.check !== 'ok' ? { rssRunCheck: o.check } : {}),
      });
    }
    out.groups[g.id] = {
      label: g.label,
      dataset: describeDataset(g.dataset),
      competitors: r.competitors,
      ratios: g.ratios.map(([of, to, goal]) => ratioEntry(r, of, to, goal)),
    };
    // Ratios of a statistic competitors report beside their timings (per-commit latency).
    for (const [of, to, key, text] of g.statRatios ?? []) {
      const a = r.competitors[of]?.stats?.[key];
      const b = r.competitors[to]?.stats?.[key];
      out.groups[g.id].ratios.push({ of, to, stat: key, text, value: a > 0 && b > 0 ? a / b : null });
    }
  }
  for (const x of sc.cross ?? []) {
    const a = out.groups[x.a[0]]?.competitors[x.a[1]];
    const b = out.groups[x.b[0]]?.competitors[x.b[1]];
    if (!a || !b) continue;
    const key = x.kind === 'rss' ? 'peakRssBytes' : 'medianMs';
    out.cross.push({ text: x.text, kind: x.kind, a: x.a.join('/'), b: x.b.join('/'), value: a[key] > 0 && b[key] > 0 ? a[key] / b[key] : null });
  }
  out.loadavg = { before: loadBefore, after: os.loadavg() };
  return out;
}

try {
  if (!args.verify) results.baseline = await child('baseline');
  for (const name of wanted) {
    try {
      results.scenarios[name] = await runScenario(name);
    } catch (e) {
      log(`bench: scenario ${name} failed: ${e?.stack ?? e}`);
      results.scenarios[name] = { title: SCENARIOS[name].title, error: String(e?.message ?? e) };
    }
  }
} finally {
  rmSync(cfgPath, { force: true });
}
results.meta.finishedAt = new Date().toISOString();
results.meta.loadavgAtEnd = os.loadavg();
const resultsPath = args.out ? path.resolve(args.out) : path.join(OUT_DIR, 'results.json');
writeFileSync(resultsPath, JSON.stringify(results, null, 2) + '\n');
const errors = args.verify ? printVerified(results) : printReport(results, (s) => process.stdout.write(s + '\n'));
console.log(`\nresults: ${path.relative(process.cwd(), resultsPath)}`);
if (errors > 0) {
  console.log(`${errors} error(s): see the ERROR lines above`);
  process.exitCode = 1;
}

/** --verify: one line per competitor (its check's verdict); returns the number of failures. */
function printVerified(r) {
  let bad = 0;
  for (const [name, sc] of Object.entries(r.scenarios)) {
    console.log(`== ${name}: ${sc.title}`);
    if (sc.error) {
      console.log(`  ERROR: ${sc.error}`);
      bad++;
      continue;
    }
    const checks = sc.whole
      ? wholeVerdicts(sc)
      : sc.groups
      ? Object.entries(sc.groups).flatMap(([gid, g]) => Object.entries(g.competitors).map(([id, c]) => [`${gid}/${id}${c.checked === false ? ' (makes no result to check)' : ''}`, c.check]))
      : [
          ...Object.entries(sc.phases.idle.competitors).map(([id, c]) => [`idle/${id}`, c.error ?? 'ok']),
          ['live/quire', sc.phases.live.copyChecks.failed.length === 0 ? 'ok' : sc.phases.live.copyChecks.failed.join('; ')],
          ['sqliteLive', sc.phases.sqliteLive.checkError ?? sc.phases.sqliteLive.error ?? 'ok'],
        ];
    for (const [id, check] of checks) {
      if (check !== 'ok') bad++;
      console.log(`  ${id}: ${check === 'ok' ? 'ok' : `ERROR: ${check}`}`);
    }
  }
  return bad;
}
