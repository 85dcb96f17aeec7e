// Measurement with the `benchmark` package: every competitor is a deferred Benchmark (async
// and sync operations alike, so no competitor pays benchmark.js's extra "pretest" call of
// synchronous tests), and a Benchmark.Suite runs them one after the other in this process.
//
// Reported per competitor: the median of `bench.stats.sample` (seconds per operation, one
// entry per cycle; big operations run once per cycle because one call exceeds minTime),
// pooled over the rounds, and the samples themselves. Between cycles the
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
 * Times `competitors` ([{ id, label, run: () => Promise|value, cleanup?: () => void }]) in
 * `opts.rounds` rounds (default 1), each one Benchmark.Suite over all of them with
 * { minSamples, maxTime (s), minTime? (s) } per competitor, and pools each competitor's samples. Rounds
 * interleave the competitors, so a change in the machine's load mid-run lands on all of them
 * instead of on whichever was running. Resolves with
 * { [id]: { label, medianMs, minMs, maxMs, samplesMs, runs, opsPerCycle, error? } }.
 */
export async function runSuite(competitors, opts) {
  const rounds = Math.max(1, opts.rounds ?? 1);
  const pooled = new Map(competitors.map((c) => [c.id, { label: c.label, samplesMs: [], opsPerCycle: 1, error: undefined }]));
  let active = competitors;
  for (let r = 0; r < rounds && active.length > 0; r++) {
    if (rounds > 1) opts.log?.(`  round ${r + 1}/${rounds}`);
    const out = await runRound(active, opts);
    for (const c of active) {
      const p = pooled.get(c.id);
      const o = out[c.id];
      p.samplesMs.push(...o.samplesMs);
      p.opsPerCycle = o.opsPerCycle;
      if (o.error) p.error = o.error;
    }
    active = active.filter((c) => !pooled.get(c.id).error);
  }
  const result = {};
  for (const c of competitors) {
    const p = pooled.get(c.id);
    result[c.id] = {
      label: p.label,
      medianMs: median(p.samplesMs),
      minMs: Math.min(...p.samplesMs),
      maxMs: Math.max(...p.samplesMs),
      samplesMs: p.samplesMs,
      runs: p.samplesMs.length,
      opsPerCycle: p.opsPerCycle,
      ...(p.error ? { error: p.error } : {}),
    };
    opts.log?.(`    ${p.label}: median ${result[c.id].medianMs.toFixed(1)} ms over ${p.samplesMs.length} samples${p.error ? ' (ERROR)' : ''}`);
  }
  return result;
}

/** One Benchmark.Suite over `competitors`. */
function runRound(competitors, opts) {
  const log = opts.log ?? (() => {});
  return new Promise((resolve, reject) => {
    const suite = new Benchmark.Suite();
    const errors = new Map();
    for (const c of competitors) {
      suite.add(c.label, {
        defer: true,
        minSamples: opts.minSamples,
        maxTime: opts.maxTime,
        // A tiny minTime keeps one operation per cycle, so `cleanup` runs between any two
        // operations (write scenarios: each run needs a fresh file); unset: benchmark.js's
        // default (≥ 50 ms per cycle, short operations repeated within a cycle).
        ...(opts.minTime ? { minTime: opts.minTime } : {}),
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
        out[c.id] = { samplesMs, opsPerCycle: bench.count, ...(err ? { error: String(err?.stack ?? err) } : {}) };
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
