/**
 * Smoke test of the benchmark suite (bench/run.mjs): runs every scenario with --quick against
 * the built library (dist/) and checks the JSON results have the expected shape, positive
 * timings and peak RSS, checked copies and written files, and the goals evaluated. No timing
 * thresholds: the numbers themselves are the benchmark's business, not the test's.
 *
 * Two runs: the read/copy scenarios, and the write scenarios (bench/lib/write.mjs).
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './util/tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Competitor {
  label: string;
  medianMs: number;
  samplesMs: number[];
  maxMs: number;
  runs: number;
  opsPerCycle: number;
  error?: string;
  peakRssBytes?: number;
  stats?: Record<string, number | number[]>;
}
interface Ratio {
  of: string;
  to: string;
  value: number | null;
  goal?: string;
  met?: boolean | null;
  stat?: string;
}
interface Group {
  label: string;
  dataset: { path: string; rows: number; bytes: number; pageSize: number; pageCount: number; ops?: number; description?: string };
  competitors: Record<string, Competitor>;
  ratios: Ratio[];
}

/** Runs bench/run.mjs --quick on `scenarios`; returns stdout and the parsed results. */
function runBench(scenarios: string[], timeout: number): { stdout: string; res: any } {
  expect(existsSync(path.join(root, 'dist', 'node.js')), 'dist/node.js missing: run npm run build').toBe(true);
  const out = path.join(tempDir('quire-bench-'), 'results.json');
  const r = spawnSync(process.execPath, ['--expose-gc', 'bench/run.mjs', '--quick', '--only', scenarios.join(','), '--out', out], {
    cwd: root,
    encoding: 'utf8',
    timeout,
  });
  expect(r.status, `bench exited ${r.status}\n${r.stdout}\n${r.stderr}`).toBe(0);
  // The readable table names every scenario.
  for (const s of scenarios) expect(r.stdout).toContain(`== ${s}:`);
  expect(r.stdout).not.toContain('ERROR');
  const res = JSON.parse(readFileSync(out, 'utf8'));
  expect(res.meta.quick).toBe(true);
  expect(res.meta.scenarios).toEqual(scenarios);
  expect(res.baseline.peakRssBytes).toBeGreaterThan(0);
  return { stdout: r.stdout, res };
}

function expectTimed(c: Competitor | undefined, name: string): void {
  expect(c, name).toBeDefined();
  expect(c!.error, `${name}: ${c!.error}`).toBeUndefined();
  expect(c!.runs, name).toBeGreaterThanOrEqual(3);
  expect(c!.samplesMs.length, name).toBe(c!.runs);
  for (const s of c!.samplesMs) expect(s, name).toBeGreaterThan(0);
  expect(c!.medianMs, name).toBeGreaterThan(0);
  // The median lies within the samples.
  expect(c!.medianMs).toBeGreaterThanOrEqual(Math.min(...c!.samplesMs));
  expect(c!.medianMs).toBeLessThanOrEqual(Math.max(...c!.samplesMs));
}

function expectRatios(g: Group, want: number): void {
  expect(g.ratios.length).toBe(want);
  for (const r of g.ratios) {
    expect(r.value, `${r.of}/${r.to}`).toBeGreaterThan(0);
    if (r.goal) expect(typeof r.met).toBe('boolean');
  }
}

describe('bench/run.mjs --quick', () => {
  it('runs scan, open, copy and live on the built library and writes complete results', () => {
    const { res } = runBench(['scan', 'open', 'copy', 'live'], 170_000);
    for (const k of ['quire', 'better-sqlite3', 'sqlite', 'sql.js', 'benchmark']) expect(res.meta.versions[k]).toMatch(/^\d+\.\d+/);

    // scan
    const scan: Group = res.scenarios.scan.groups.table;
    expect(scan.dataset.rows).toBe(20_000);
    expect(Object.keys(scan.competitors).sort()).toEqual(['bsqlite', 'bsqlite-raw', 'quire', 'sqljs', 'sqljs-load']);
    for (const [id, c] of Object.entries(scan.competitors)) expectTimed(c, `scan ${id}`);
    for (const id of ['quire', 'bsqlite', 'bsqlite-raw', 'sqljs']) expect(scan.competitors[id].peakRssBytes).toBeGreaterThan(res.baseline.peakRssBytes / 2);
    expectRatios(scan, 4);
    expect(scan.ratios[0]).toMatchObject({ of: 'quire', to: 'bsqlite' });
    // The ratio is the quotient of the medians printed beside it.
    expect(scan.ratios[0].value).toBeCloseTo(scan.competitors.quire.medianMs / scan.competitors.bsqlite.medianMs, 10);

    // open
    const open = res.scenarios.open;
    expect(Object.keys(open.groups)).toEqual(['small', 'large']);
    for (const g of Object.values(open.groups) as Group[]) {
      expect(Object.keys(g.competitors)).toEqual(['quire', 'bsqlite', 'sqljs']);
      for (const [id, c] of Object.entries(g.competitors)) expectTimed(c, `open ${id}`);
      expectRatios(g, 2);
    }
    expect(open.cross.length).toBe(2);
    for (const x of open.cross) expect(x.value).toBeGreaterThan(0);

    // copy (no 1 GB leg in --quick)
    const copy = res.scenarios.copy;
    expect(Object.keys(copy.groups)).toEqual(['base']);
    const base: Group = copy.groups.base;
    expect(Object.keys(base.competitors)).toEqual(['quire', 'bsqlite', 'bsqlite-all', 'cp', 'cp-sync', 'copyFileSync', 'copyFileSync-fsync']);
    for (const [id, c] of Object.entries(base.competitors)) expectTimed(c, `copy ${id}`);
    expect(base.competitors.quire.peakRssBytes).toBeGreaterThan(0);
    expectRatios(base, 6);
    expect(base.ratios.filter((x) => x.goal).map((x) => x.to)).toEqual(['bsqlite', 'cp']);

    // live
    const live = res.scenarios.live;
    expectTimed(live.phases.idle.competitors.quire, 'live idle quire');
    expectTimed(live.phases.idle.competitors['bsqlite-100'], 'live idle sqlite');
    expectTimed(live.phases.live.competitors.quire, 'live quire');
    expect(live.writer.commits).toBeGreaterThan(0);
    expect(live.phases.live.copyChecks.failed).toEqual([]);
    expect(live.phases.live.copyChecks.ok).toBe(live.phases.live.quireStats.copies);
    expect(live.phases.live.copyChecks.ok).toBeGreaterThanOrEqual(4);
    expect(typeof live.phases.sqliteLive.finished).toBe('boolean');
    expect(live.phases.sqliteLive.error).toBeNull();
    expect(live.ratios[0]).toMatchObject({ of: 'quire live', to: 'quire idle' });
    expect(live.ratios[0].value).toBeGreaterThan(0);
  }, 180_000);

  it('runs the write scenarios (insert-bulk, insert-random, small-tx, copy-hook) with every result verified', () => {
    const { stdout, res } = runBench(['insert-bulk', 'insert-random', 'small-tx', 'copy-hook'], 170_000);
    // One operation per benchmark cycle (each needs a fresh file; cleanup verifies its result).
    const timedOnce = (g: Group, where: string) => {
      for (const [id, c] of Object.entries(g.competitors)) {
        expectTimed(c, `${where} ${id}`);
        expect(c.opsPerCycle, `${where} ${id}`).toBe(1);
      }
    };

    // insert-bulk: the scan table's 20,000 rows (--quick), four writers and the row source.
    const bulk: Group = res.scenarios['insert-bulk'].groups.bulk;
    expect(Object.keys(res.scenarios['insert-bulk'].groups)).toEqual(['bulk']);
    expect(bulk.dataset.rows).toBe(20_000);
    expect(bulk.dataset.path).toBe('bench/out/scan-v1-20000.db');
    expect(Object.keys(bulk.competitors)).toEqual(['quire', 'bsqlite', 'sqljs-mem', 'sqljs-file', 'source']);
    timedOnce(bulk, 'insert-bulk');
    for (const id of ['quire', 'bsqlite', 'sqljs-mem', 'sqljs-file']) expect(bulk.competitors[id].peakRssBytes).toBeGreaterThan(res.baseline.peakRssBytes / 2);
    expectRatios(bulk, 3);
    expect(bulk.ratios[0]).toMatchObject({ of: 'quire', to: 'bsqlite', goal: 'quire ≤ 1.0× better-sqlite3' });
    expect(bulk.ratios[0].value).toBeCloseTo(bulk.competitors.quire.medianMs / bulk.competitors.bsqlite.medianMs, 10);
    expect(stdout).toMatch(/goal: quire ≤ 1\.0× better-sqlite3: quire\/bsqlite = [\d.]+× → (MET|NOT MET)/);

    // insert-random: random-order insert of 5,000 rows, then delete half of them.
    const random = res.scenarios['insert-random'];
    expect(Object.keys(random.groups)).toEqual(['insert', 'delete']);
    expect(random.groups.insert.dataset.ops).toBe(5_000);
    expect(random.groups.delete.dataset.ops).toBe(2_500);
    expect(random.groups.delete.dataset.path).toBe('bench/out/random-v1-5000.db');
    for (const [gid, g] of Object.entries(random.groups) as [string, Group][]) {
      expect(Object.keys(g.competitors)).toEqual(['quire', 'bsqlite']);
      timedOnce(g, `insert-random ${gid}`);
      for (const c of Object.values(g.competitors)) expect(c.peakRssBytes).toBeGreaterThan(0);
      expectRatios(g, 1);
    }

    // small-tx: 100 auto-commit inserts per run, each commit timed: every timed run's commits
    // and nothing else are in the latency statistics.
    const small = res.scenarios['small-tx'];
    expect(Object.keys(small.groups)).toEqual(['rollback', 'wal']);
    for (const [gid, g] of Object.entries(small.groups) as [string, Group][]) {
      expect(Object.keys(g.competitors)).toEqual(['quire', 'bsqlite']);
      timedOnce(g, `small-tx ${gid}`);
      for (const [id, c] of Object.entries(g.competitors)) {
        const st = c.stats as Record<string, number>;
        expect(st.commits, `${gid} ${id}`).toBe(c.runs * 100);
        expect(st.commitMedianMs).toBeGreaterThan(0);
        expect(st.commitP90Ms).toBeGreaterThanOrEqual(st.commitMedianMs);
        expect(st.commitP99Ms).toBeGreaterThanOrEqual(st.commitP90Ms);
        expect(st.commitMaxMs).toBeGreaterThanOrEqual(st.commitP99Ms);
        // A run's time holds its commits (plus open, CREATE TABLE and close).
        expect(st.commitMeanMs * 100).toBeLessThanOrEqual(c.maxMs);
      }
      expect(g.ratios.length).toBe(2);
      const lat = g.ratios.find((x) => x.stat === 'commitMedianMs')!;
      expect(lat).toMatchObject({ of: 'quire', to: 'bsqlite' });
      expect(lat.value).toBeCloseTo((g.competitors.quire.stats!.commitMedianMs as number) / (g.competitors.bsqlite.stats!.commitMedianMs as number), 10);
    }
    expect(stdout).toContain('per-commit latency');

    // copy-hook: every copy made under the in-process writer was checked and counted.
    const hook = res.scenarios['copy-hook'];
    expect(Object.keys(hook.groups)).toEqual(['rollback', 'wal']);
    for (const [gid, g] of Object.entries(hook.groups) as [string, Group][]) {
      expect(Object.keys(g.competitors)).toEqual(['quire-idle', 'quire-writing']);
      timedOnce(g, `copy-hook ${gid}`);
      const st = g.competitors['quire-writing'].stats as Record<string, number & number[]>;
      expect(st.copies).toBe(g.competitors['quire-writing'].runs);
      expect(st.nSeen.length).toBe(st.copies);
      expect(st.writerCommits).toBeGreaterThan(0);
      expect(g.competitors['quire-idle'].stats).toBeUndefined();
      expectRatios(g, 1);
      expect(g.ratios[0]).toMatchObject({ of: 'quire-writing', to: 'quire-idle' });
    }
  }, 180_000);
});
