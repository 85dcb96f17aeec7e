// One measurement process, started by run.mjs (never run by hand except for profiling):
//
//   node --expose-gc bench/child.mjs suite    <cfg.json> <out.json> <scenario> <group>
//   node --expose-gc bench/child.mjs once     <cfg.json> <out.json> <scenario> <group> <competitor> [repeat]
//   node --expose-gc bench/child.mjs baseline <cfg.json> <out.json>
//   node --expose-gc bench/child.mjs live     <cfg.json> <out.json>
//   node --expose-gc bench/child.mjs verify   <cfg.json> <out.json> <scenario>
//
// suite: setup + one warm-up run (checked) of every competitor, then a Benchmark.Suite over
// those that passed. A competitor may keep statistics of its own (per-commit latencies):
// `resetStats()` runs after its warm-up, and `stats()` after the suite lands in its result. once: setup and `repeat` (default 1) runs of one competitor, then the
// process's peak RSS (process.resourceUsage().maxRSS, taken before anything else is checked;
// with BENCH_PROFILE=1, as profile.mjs runs it, the result is not checked at all).
// baseline: the peak RSS of this process with the libraries loaded and nothing done.
// verify (run.mjs --verify): setup, one run and its check, cleanup and teardown of every
// competitor of every group of a scenario, nothing timed: whether each still makes a right result.
// Progress goes to stderr; the result is written as JSON to <out.json>.
import { readFileSync, writeFileSync } from 'node:fs';
import { SCENARIOS, loadSqlJs, settleWithoutSync } from './lib/scenarios.mjs';
import { runSuite } from './lib/measure.mjs';
import { runLive } from './lib/live.mjs';

const [, , mode, cfgPath, outPath, scenarioName, groupId, competitorId, repeatArg] = process.argv;
const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
if (cfg.verify) settleWithoutSync();
const log = (m) => process.stderr.write(m + '\n');
const peakRss = () => process.resourceUsage().maxRSS * 1024;

/** A competitor's check, with a thrown error counted as a failed check. */
function runCheck(c) {
  try {
    return c.check?.() ?? null;
  } catch (e) {
    return `check failed: ${e?.message ?? e}`;
  }
}

function findGroup() {
  const sc = SCENARIOS[scenarioName];
  if (!sc) throw new Error(`unknown scenario ${scenarioName}`);
  const g = sc.groups(cfg).find((x) => x.id === groupId);
  if (!g) throw new Error(`unknown group ${groupId} of ${scenarioName}`);
  return { sc, g };
}

/** Setup (once), one run and its check, then cleanup: the run's time and the check's verdict. */
async function checkedRun(c) {
  await c.setup?.();
  const t0 = performance.now();
  await c.run();
  const ms = performance.now() - t0;
  const bad = runCheck(c);
  const stats = c.stats?.();
  await c.cleanup?.();
  return { ms, check: bad ?? 'ok', stats };
}

async function suite() {
  const { sc, g } = findGroup();
  const comps = g.competitors();
  const ready = [];
  const warmup = {};
  for (const c of comps) {
    try {
      const { ms, check } = await checkedRun(c);
      const bad = check === 'ok' ? null : check;
      c.resetStats?.();
      warmup[c.id] = { ms, check };
      if (bad) log(`  ${c.label}: warm-up result is wrong: ${bad}`);
      else ready.push(c);
    } catch (e) {
      warmup[c.id] = { error: String(e?.stack ?? e) };
      log(`  ${c.label}: warm-up failed: ${e?.message ?? e}`);
    }
  }
  const timed = await runSuite(ready, { ...sc.sampling(cfg), log });
  for (const c of ready) {
    // The last timed run must still be right (where its result outlives the cycle's cleanup).
    if (c.checkLast === false) continue;
    const bad = runCheck(c);
    if (bad) timed[c.id].error = `last run's result is wrong: ${bad}`;
  }
  for (const c of comps) {
    try {
      await c.cleanup?.();
      await c.teardown?.();
    } catch (e) {
      log(`  ${c.label}: teardown failed: ${e?.message ?? e}`);
    }
  }
  const competitors = {};
  for (const c of comps) {
    competitors[c.id] = timed[c.id] ?? { label: c.label, error: warmup[c.id].error ?? `warm-up check failed: ${warmup[c.id].check}` };
    competitors[c.id].warmupMs = warmup[c.id].ms;
    if (c.throughput) competitors[c.id].throughput = c.throughput;
    if (c.stats && timed[c.id]) competitors[c.id].stats = c.stats();
    if (c.separate) competitors[c.id].separate = true;
  }
  return { competitors };
}

/** Every group of the scenario, one after the other in this process. */
async function verify() {
  const groups = {};
  for (const g of SCENARIOS[scenarioName].groups(cfg)) {
    log(`[${scenarioName} / ${g.label}] verify`);
    groups[g.id] = await verifyGroup(g);
  }
  return { groups };
}

async function verifyGroup(g) {
  const comps = g.competitors();
  const competitors = {};
  for (const c of comps) {
    try {
      competitors[c.id] = { label: c.label, ...(await checkedRun(c)) };
      competitors[c.id].checked = typeof c.check === 'function'; // false: it makes no result (a load, a row source)
    } catch (e) {
      competitors[c.id] = { label: c.label, check: `failed: ${e?.message ?? e}` };
    }
  }
  // Competitors of a group may share a working directory: tear down after all have run.
  for (const c of comps) {
    const r = competitors[c.id];
    try {
      await c.teardown?.();
    } catch (e) {
      if (r.check === 'ok') r.check = `teardown failed: ${e?.message ?? e}`;
    }
    if (r.check !== 'ok') log(`  ${c.label}: ${r.check}`);
  }
  return { competitors };
}

async function once() {
  const { g } = findGroup();
  const c = g.competitors().find((x) => x.id === competitorId);
  if (!c) throw new Error(`unknown competitor ${competitorId}`);
  const repeat = Number(repeatArg ?? 1);
  const before = peakRss();
  await c.setup?.();
  const afterSetup = peakRss();
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await c.run();
    times.push(performance.now() - t0);
    if (i < repeat - 1) await c.cleanup?.();
  }
  const peak = peakRss();
  const rssNow = process.memoryUsage().rss;
  const bad = process.env.BENCH_PROFILE === '1' ? 'not checked (profiling)' : runCheck(c);
  await c.cleanup?.();
  await c.teardown?.();
  return { peakRssBytes: peak, peakRssBeforeSetupBytes: before, peakRssAfterSetupBytes: afterSetup, rssAtEndBytes: rssNow, times, check: bad ?? 'ok' };
}

async function baseline() {
  // The libraries every child loads (dist, better-sqlite3, benchmark via the imports above);
  // sql.js is loaded lazily by its competitors, so it is reported separately.
  const base = peakRss();
  await loadSqlJs();
  return { peakRssBytes: base, peakRssWithSqlJsBytes: peakRss() };
}

/** --verify: the live scenario's phases with one timed copy each (every copy still checked). */
const VERIFY_SAMPLING = { rounds: 1, minSamples: 1, maxTime: 0 };
const modes = { suite, once, baseline, verify, live: () => runLive(cfg, cfg.verify ? VERIFY_SAMPLING : SCENARIOS.live.sampling(cfg), log) };

const fn = modes[mode];
if (!fn) {
  log(`usage: child.mjs suite|once|baseline|live|verify <cfg.json> <out.json> ...`);
  process.exit(2);
}
const result = await fn();
writeFileSync(outPath, JSON.stringify(result));
process.exit(0);
