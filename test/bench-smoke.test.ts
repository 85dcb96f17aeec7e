/**
 * Smoke test of the benchmark suite (bench/run.mjs): runs every scenario with --quick against
 * the built library (dist/) and checks the JSON results have the expected shape, positive
 * timings and peak RSS, checked copies, and the goals evaluated. No timing thresholds: the
 * numbers themselves are the benchmark's business, not the test's.
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
  runs: number;
  error?: string;
  peakRssBytes?: number;
}
interface Ratio {
  of: string;
  to: string;
  value: number | null;
  goal?: string;
  met?: boolean | null;
}
interface Group {
  label: string;
  dataset: { path: string; rows: number; bytes: number; pageSize: number; pageCount: number };
  competitors: Record<string, Competitor>;
  ratios: Ratio[];
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
    expect(existsSync(path.join(root, 'dist', 'node.js')), 'dist/node.js missing: run npm run build').toBe(true);
    const out = path.join(tempDir('quire-bench-'), 'results.json');
    const r = spawnSync(process.execPath, ['--expose-gc', 'bench/run.mjs', '--quick', '--only', 'scan,open,copy,live', '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect(r.status, `bench exited ${r.status}\n${r.stdout}\n${r.stderr}`).toBe(0);
    // The readable table names every scenario.
    for (const s of ['== scan', '== open', '== copy', '== live']) expect(r.stdout).toContain(s);
    expect(r.stdout).not.toContain('ERROR');

    const res = JSON.parse(readFileSync(out, 'utf8'));
    expect(res.meta.quick).toBe(true);
    expect(res.meta.scenarios).toEqual(['scan', 'open', 'copy', 'live']);
    for (const k of ['quire', 'better-sqlite3', 'sqlite', 'sql.js', 'benchmark']) expect(res.meta.versions[k]).toMatch(/^\d+\.\d+/);
    expect(res.baseline.peakRssBytes).toBeGreaterThan(0);

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
});
