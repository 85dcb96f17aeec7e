// Measurement with the `benchmark` package: every competitor is a deferred Benchmark (async
// and sync operations alike, so no competitor pays benchmark.js's extra "pretest" call of
// synchronous tests), and a Benchmark.Suite runs them one after the other in this process.
//
// Reported per competitor: the median of `bench.stats.sample` (seconds per operation, one
// entry per cycle; big operations run once per cycle because one call exceeds minTime), the
// samples themselves, and benchmark.js's relative margin of error. Between cycles the
// competitor's `cleanup` runs (e.g. deleting copies) and the heap is collected (with
// --expose-gc), outside the timed region, so one competitor's garbage is not billed to the
// next sample.
//
// Closures: benchmark.js can decompile `fn` into a new Function, which silently breaks
// closures; decompilation is switched off here so `fn` is always called as itself.
import Benchmark from 'benchmark';

Benchmark.support.decompilation = false;

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `competitors` ([{ id, label, run: () => Promise|value, cleanup?: () => void }]) as one
 * Benchmark.Suite. `opts`: { minSamples, maxTime (s), log }. Resolves with
 * { [id]: { label, medianMs, samplesMs, runs, rme, error? } }.
 */
export function runSuite(competitors, opts) {
  const log = opts.log ?? (() => {});
  return new Promise((resolve, reject) => {
    const suite = new Benchmark.Suite();
    const errors = new Map();
    for (const c of competitors) {
      suite.add(c.label, {
        defer: true,
        minSamples: opts.minSamples,
        maxTime: opts.maxTime,
        // 'fn' receives the Deferred; errors are recorded and end the competitor's run.
        fn(deferred) {
          let p;
          try {
            p = Promise.resolve(c.run());
          } catch (e) {
            p = Promise.reject(e);
          }
          p.then(
            () => deferred.resolve(),
            (e) => {
              errors.set(c.id, e);
              deferred.benchmark.abort();
              deferred.resolve();
            },
          );
        },
        onCycle() {
          try {
            c.cleanup?.();
          } catch (e) {
            errors.set(c.id, e);
          }
          globalThis.gc?.();
        },
        onStart() {
          log(`  timing ${c.label} ...`);
        },
      });
    }
    suite.on('error', (ev) => errors.set(competitors.find((c) => c.label === ev.target.name)?.id, ev.target.error));
    suite.on('complete', function () {
      const out = {};
      this.forEach((bench, i) => {
        const c = competitors[i];
        const samplesMs = bench.stats.sample.map((s) => s * 1000);
        const err = errors.get(c.id);
        out[c.id] = {
          label: c.label,
          medianMs: median(samplesMs),
          samplesMs,
          runs: samplesMs.length,
          opsPerCycle: bench.count,
          rme: bench.stats.rme,
          ...(err ? { error: String(err?.stack ?? err) } : {}),
        };
        log(`    ${c.label}: median ${out[c.id].medianMs.toFixed(1)} ms over ${samplesMs.length} samples${err ? ' (ERROR)' : ''}`);
      });
      resolve(out);
    });
    try {
      suite.run({ async: true });
    } catch (e) {
      reject(e);
    }
  });
}
