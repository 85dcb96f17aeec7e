// The readable table printed after a run (the same numbers as bench/out/results.json).
//
// Columns: median time of the samples; runs = samples behind the median (ops per sample when
// more than one); peak RSS = process.resourceUsage().maxRSS of a process that did only that
// competitor's setup and one run (the "baseline" line is such a process that did nothing);
// quire/this = quire's median ÷ this competitor's median: below 1 quire is faster.

import { printWhole } from './whole.mjs';

const MB = 1e6;

function fmtMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}

const fmtMB = (b) => (b ? `${(b / MB).toFixed(0)} MB` : '');
const fmtX = (x) => (x === null || x === undefined ? '—' : `${x.toFixed(2)}×`);

function table(rows, aligns) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => (aligns[i] === 'r' ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join('  ').trimEnd());
}

function throughput(scenario, ds, ms, kind) {
  if (!ms || !ds) return '';
  if (kind === 'bytes') return `${(ds.bytes / MB / (ms / 1000)).toFixed(0)} MB/s`;
  if (kind === 'ops') return `${(ds.ops / (ms / 1000) / 1000).toFixed(1)} k ${ds.opsUnit}/s`;
  if (scenario === 'scan') return `${(ds.rows / ms / 1000).toFixed(2)} M rows/s`;
  if (scenario === 'copy' || scenario === 'live') return `${(ds.bytes / MB / (ms / 1000)).toFixed(0)} MB/s`;
  return '';
}

function competitorRows(scenario, ds, comps, quireMs) {
  const rows = [['competitor', 'median', 'runs', 'throughput', 'peak RSS', 'quire/this']];
  for (const [id, c] of Object.entries(comps)) {
    if (c.error) {
      rows.push([c.label ?? id, 'ERROR', '', '', '', '']);
      continue;
    }
    const runs = c.opsPerCycle > 1 ? `${c.runs}×${c.opsPerCycle}` : String(c.runs);
    const ratio = id === 'quire' || !quireMs || c.separate ? '' : fmtX(quireMs / c.medianMs);
    rows.push([c.label ?? id, fmtMs(c.medianMs), runs, throughput(scenario, ds, c.medianMs, c.throughput), fmtMB(c.peakRssBytes), ratio]);
  }
  return rows;
}

function goalLines(ratios, out) {
  for (const r of ratios ?? []) {
    if (!r.goal) {
      // Ratios against a sum of competitors are not in the table's last column.
      if (r.to.includes('+')) out(`  quire / (${r.to.split('+').join(' + ')}) = ${fmtX(r.value)}`);
      if (r.stat) out(`  ${r.text ?? r.stat}: ${r.of}/${r.to} = ${fmtX(r.value)}`);
      continue;
    }
    const verdict = r.met === null ? 'not measured' : r.met ? 'MET' : 'NOT MET';
    out(`  goal: ${r.goal}: ${r.of}/${r.to} = ${fmtX(r.value)} → ${verdict}`);
  }
}

/** Per-commit latencies (small-tx): competitors that report `stats.commitMedianMs`. */
function latencyLines(comps, quireId, out) {
  const withStats = Object.entries(comps).filter(([, c]) => !c.error && c.stats && c.stats.commitMedianMs !== undefined);
  if (withStats.length === 0) return;
  const q = comps[quireId]?.stats?.commitMedianMs;
  const rows = [['per-commit latency', 'median', 'p90', 'p99', 'max', 'mean', 'commits', 'quire/this']];
  for (const [id, c] of withStats) {
    const s = c.stats;
    rows.push([c.label ?? id, fmtMs(s.commitMedianMs), fmtMs(s.commitP90Ms), fmtMs(s.commitP99Ms), fmtMs(s.commitMaxMs), fmtMs(s.commitMeanMs), String(s.commits), id === quireId || !q ? '' : fmtX(q / s.commitMedianMs)]);
  }
  for (const line of table(rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'])) out('  ' + line);
}

/** Extra counters of the copy-hook scenario's writing competitor. */
function hookLines(comps, out) {
  const c = comps['quire-writing'];
  const s = c?.stats;
  if (!s) return;
  const seen = s.nSeen?.length ? `, writer states in the copies n = ${Math.min(...s.nSeen)}..${Math.max(...s.nSeen)}` : '';
  const spent = (c.samplesMs ?? []).reduce((a, b) => a + b, 0);
  const rate = spent > 0 ? ` (${((s.commitsDuring * 1000) / spent).toFixed(0)}/s)` : '';
  out(`  under the writer: ${s.copies} timed copies, ${s.commitsDuring} commits during them${rate} (${s.writerCommits} in all), ${s.snapshotMoves} snapshot moves, ${s.recopiedPages} pages re-copied, ${s.restarts} restarts, ${s.busySteps} BUSY steps${seen}; every copy passed quick_check + the writer's invariants`);
}

function errorLines(comps, out) {
  for (const [id, c] of Object.entries(comps ?? {})) {
    if (c.error) out(`  ERROR ${id}: ${c.error.split('\n')[0]}`);
    if (c.rssRunCheck) out(`  ERROR ${id} (RSS run): ${c.rssRunCheck}`);
  }
}

function dsLine(ds) {
  if (!ds) return '';
  if (ds.description) return ds.description;
  const what = ds.rows !== undefined ? `${ds.rows.toLocaleString('en-US')} rows` : `${ds.bigRows.toLocaleString('en-US')} rows in big`;
  return `${ds.path}: ${(ds.bytes / MB).toFixed(1)} MB, ${ds.pageCount} pages of ${ds.pageSize} bytes, ${what}, ${ds.journalMode} mode`;
}

/** Prints the report; returns the number of errors shown. */
export function printReport(results, out) {
  const m = results.meta;
  out('');
  out(`quire benchmarks${m.quick ? ' (--quick: small sizes, smoke test only)' : ''}`);
  out(`node ${m.node}, ${m.platform}, ${m.cpus}, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB`);
  out(`quire ${m.versions.quire} (git ${m.git.head}${m.git.dirty ? ', uncommitted changes' : ''}, dist built ${m.distBuiltAt}), better-sqlite3 ${m.versions['better-sqlite3']} (SQLite ${m.versions.sqlite}), sql.js ${m.versions['sql.js']}, benchmark ${m.versions.benchmark}`);
  out(`load average at start ${m.loadavgAtStart.map((x) => x.toFixed(2)).join(' ')}, at end ${(m.loadavgAtEnd ?? []).map((x) => x.toFixed(2)).join(' ')} (a shared machine: compare ratios, not absolute times)`);
  if (results.baseline) {
    out(`baseline peak RSS of a measuring process (node + quire + better-sqlite3 + benchmark loaded): ${fmtMB(results.baseline.peakRssBytes)}; with sql.js loaded: ${fmtMB(results.baseline.peakRssWithSqlJsBytes)}`);
  }
  out('median: of the benchmark.js samples, pooled over rounds that interleave the competitors (5 in a full run);');
  out('runs: samples (× operations per sample when an operation is short);');
  out('peak RSS: maxRSS of a separate process that did only this setup + one run; quire/this: quire median ÷ this median (below 1: quire faster).');
  let errors = 0;
  const countErr = (s) => {
    if (s.startsWith('  ERROR')) errors++;
    out(s);
  };
  for (const [name, s] of Object.entries(results.scenarios)) {
    out('');
    out(`== ${name}: ${s.title}`);
    if (s.error) {
      countErr(`  ERROR: scenario failed: ${s.error}`);
      continue;
    }
    if (name === 'live') {
      printLive(s, out, countErr);
      continue;
    }
    if (s.whole) {
      for (const size of s.sizes) out(`-- ${size.id}: ${dsLine(size.dataset)}`);
      printWhole(s, out, countErr, table);
      continue;
    }
    for (const g of Object.values(s.groups)) {
      out(`-- ${g.label}: ${dsLine(g.dataset)}`);
      const q = g.competitors.quire;
      const quireMs = q && !q.error ? q.medianMs : null;
      for (const line of table(competitorRows(name, g.dataset, g.competitors, quireMs), ['l', 'r', 'r', 'r', 'r', 'r'])) out('  ' + line);
      latencyLines(g.competitors, 'quire', out);
      hookLines(g.competitors, out);
      goalLines(g.ratios, out);
      errorLines(g.competitors, countErr);
    }
    for (const x of s.cross ?? []) out(`  ${x.text}: ${fmtX(x.value)}`);
  }
  return errors;
}

function printLive(s, out, countErr) {
  const ds = s.dataset;
  out(`-- ${dsLine(ds)}`);
  const w = s.writer ?? {};
  out(`  writer: test/live/writer.mjs run ${JSON.stringify(s.writerOptions)}: ${w.commits ?? '?'} commits in ${((w.ranMs ?? 0) / 1000).toFixed(1)} s (${(w.commitsPerSecond ?? 0).toFixed(0)}/s)${w.error ? `, ERROR ${w.error}` : ''}`);
  const comps = { ...(s.phases.idle?.competitors ?? {}) };
  const rows = [['phase / competitor', 'median', 'runs', 'throughput', '']];
  const add = (phase, c) => {
    if (!c) return;
    rows.push([`${phase}: ${c.label}`, c.error ? 'ERROR' : fmtMs(c.medianMs), c.error ? '' : String(c.runs), c.error ? '' : throughput('live', ds, c.medianMs), '']);
  };
  add('idle', comps.quire);
  add('idle', comps['bsqlite-100']);
  add('live', s.phases.live?.competitors?.quire);
  for (const line of table(rows, ['l', 'r', 'r', 'r', 'l'])) out('  ' + line);
  const sq = s.phases.sqliteLive;
  if (sq) {
    const how = sq.finished
      ? `finished in ${fmtMs(sq.ms)} (${sq.steps} steps, ${sq.restarts} restarts from page 1, the last at ${fmtMs(sq.lastRestartMs)})${sq.checkError ? `, copy INVALID: ${sq.checkError}` : ', copy passes the invariants'}`
      : sq.error
        ? `failed after ${fmtMs(sq.ms)}: ${sq.error.split('\n')[0]}`
        : `did not finish in ${(sq.capMs / 1000).toFixed(0)} s (${sq.steps} steps, ${sq.restarts} restarts, at most ${sq.maxPagesDone} of ${sq.totalPages} pages copied in one pass)`;
    out(`  live: better-sqlite3 backup step(100), writer running: ${how}`);
  }
  const st = s.phases.live?.quireStats;
  const ch = s.phases.live?.copyChecks;
  if (st) {
    out(`  quire under the writer: ${st.copies} copies, ${st.snapshotMoves} snapshot moves, ${st.resetsBridged} WAL resets bridged, ${st.recopiedPages} pages re-copied, ${st.restarts} restarts (${st.busySteps} BUSY steps, each followed by backupFile's default 250 ms sleep)`);
  }
  if (ch) {
    const seen = ch.commitsSeen.length ? `, commits in the copies ${Math.min(...ch.commitsSeen)}..${Math.max(...ch.commitsSeen)}` : '';
    out(`  copies made under the writer that pass quick_check + the writer's invariants: ${ch.ok} of ${ch.ok + ch.failed.length}${seen}`);
    for (const f of ch.failed) countErr(`  ERROR invalid live copy: ${f}`);
  }
  goalLines(s.ratios, out);
  for (const r of s.ratios ?? []) if (!r.goal) out(`  ${r.of} / ${r.to} = ${fmtX(r.value)}`);
  errorLines(s.phases.idle?.competitors, countErr);
  errorLines(s.phases.live?.competitors, countErr);
  if (s.matrix) printLiveMatrix(s.matrix, out, countErr);
}

/** The live matrix (lib/live-matrix.mjs): one row per journal mode and writer load. */
function printLiveMatrix(m, out, countErr) {
  out(`-- matrix: ${(m.dataset.bytes / 1e6).toFixed(1)} MB, ${m.dataset.pageCount} pages; ${m.options.copies} quire copies per load`);
  const sq = (r, stall) =>
    r.finished ? `${fmtMs(r.ms)}${r.restarts ? ` (${r.restarts} restarts)` : ''}${stall !== undefined ? `, writer stalled ${fmtMs(stall)}` : ''}${r.valid === false ? ' INVALID' : ''}` : r.error ? `ERROR ${r.error.slice(0, 40)}` : `not in ${(m.options.capMs / 1000).toFixed(0)} s (${r.restarts} restarts)`;
  const rows = [['mode', 'writer load', 'commits/s', 'idle', 'quire ≤10x idle', 'median', 'restarts', 'SQLite step(100)', 'SQLite step(-1)']];
  for (const r of m.rows) {
    rows.push([
      r.mode,
      r.load,
      (r.writerCounters.commitsPerSecond ?? 0).toFixed(0),
      fmtMs(r.idleMs),
      `${r.quire.within10x}/${r.quire.copies.length}`,
      r.quire.medianMs === null ? '-' : fmtMs(r.quire.medianMs),
      String(r.quire.restarts),
      sq(r.sqlite100),
      sq(r.sqliteAll, r.sqliteAll.writerStallMs),
    ]);
  }
  for (const line of table(rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'l'])) out('  ' + line);
  out('  SQLite step(-1): better-sqlite3 backup() whose progress asks for 2^31-1 pages a step (its first step is 100 pages); "writer stalled" is the writer\'s longest transaction meanwhile');
  for (const r of m.rows) {
    for (const f of r.quire.invalid) countErr(`  ERROR invalid live copy (${r.mode}, ${r.load}): ${f}`);
    // BUSY past the budget is a copy that did not finish (counted above), not a failure.
    for (const c of r.quire.copies) if (c.error && c.code !== 'BUSY') countErr(`  ERROR quire copy (${r.mode}, ${r.load}): ${c.error}`);
    if (r.writerCounters.error || r.writerCounters.errors) out(`  note: writer (${r.mode}, ${r.load}): ${r.writerCounters.error ?? `${r.writerCounters.errors} failed transactions`}`);
  }
}
