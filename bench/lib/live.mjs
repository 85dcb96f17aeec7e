// The live-copy scenario: a real SQLite writer (test/live/writer.mjs, better-sqlite3 in a child
// process, WAL mode) commits at a steady rate while copies are taken of the same file.
//
//   phase            what is timed (Benchmark.Suite, deferred)        writer
//   1 idle           quire backupFile; better-sqlite3 backup step(100)  not running
//                    (each preceded by syncfs and a read-through of the source, as in copy)
//   2 live           quire backupFile (time to a consistent copy)      running (rateHz)
//   3 SQLite live    better-sqlite3 backup step(100), one attempt,       running
//                    capped: SQLite restarts its pass whenever another
//                    connection changes the source, so it may never end
//   4 matrix         lib/live-matrix.mjs: both journal modes, commit gaps 1..100 ms and the
//                    WAL checkpoint storm, quire vs SQLite step(100) and step(-1)
//
// Every copy made under the writer is checked outside the timed region: SQLite's quick_check
// and the writer's invariants (the same ones as test/live/invariants.ts: accounts sum to 0,
// the log window matches meta.commits, sum(big.val) = meta.bigsum). quire's copies use
// backupFile's defaults (one-call copy, sleep 250 ms after a BUSY step) plus a time budget.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { backupFile } from '../../dist/node.js';
import { OUT_DIR, WRITER, workingCopy } from './data.mjs';
import { runSuite } from './measure.mjs';
import { runLiveMatrix } from './live-matrix.mjs';
import { settle } from './scenarios.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The writer's invariants on a copy (mirrors test/live/invariants.ts). Returns commits. */
export function checkLiveCopy(file, window = 50) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const qc = db.pragma('quick_check', { simple: true });
    if (qc !== 'ok') throw new Error(`quick_check: ${qc}`);
    const acc = db.prepare('SELECT sum(balance) AS s, count(*) AS c FROM accounts').get();
    if (acc.s !== 0 || acc.c !== 100) throw new Error(`accounts: sum ${acc.s} count ${acc.c}`);
    const n = db.prepare("SELECT v FROM meta WHERE k = 'commits'").pluck().get();
    const log = db.prepare('SELECT count(*) AS c, min(seq) AS lo, max(seq) AS hi, sum(seq = commit_no) AS same FROM log').get();
    const want = Math.min(n, window);
    if (log.c !== want || (n > 0 && (log.hi !== n || log.lo !== Math.max(1, n - window + 1) || log.same !== want))) {
      throw new Error(`log window: commits ${n}, rows ${JSON.stringify(log)}`);
    }
    const big = db.prepare("SELECT (SELECT sum(val) FROM big) AS s, (SELECT v FROM meta WHERE k = 'bigsum') AS m").get();
    if (big.s !== big.m) throw new Error(`big: sum(val) ${big.s}, meta ${big.m}`);
    return n;
  } finally {
    db.close();
  }
}

function startWriter(file, options) {
  const child = spawn(process.execPath, [WRITER, 'run', file, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    pid: child.pid,
    exited,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`writer exited with ${code}: ${err}`);
      return JSON.parse(out.trim().split('\n').pop());
    },
  };
}

function targets(dir) {
  mkdirSync(dir, { recursive: true });
  let seq = 0;
  return {
    next: () => path.join(dir, `copy-${seq++}.db`),
    clear() {
      for (const f of readdirSync(dir)) rmSync(path.join(dir, f), { force: true });
    },
  };
}

/** One quire copy with counters (backupFile defaults + a time budget). */
async function quireCopy(src, dst, timeoutMs, stats) {
  let busy = 0;
  const r = await backupFile(src, dst, {
    timeout: timeoutMs,
    onProgress: (p) => {
      if (p.status === 'BUSY') busy++;
    },
  });
  const s = r.snapshot;
  stats.copies++;
  stats.busySteps += busy;
  stats.restarts += s.restarts;
  stats.snapshotMoves += s.snapshotMoves;
  stats.resetsBridged += s.resetsBridged;
  stats.recopiedPages += s.recopied;
  return r;
}

async function sqliteBackup(src, dst, pagesPerStep, capMs) {
  const db = new Database(src, { fileMustExist: true });
  const t0 = performance.now();
  // A restart shows as no more pages done than after the previous step (SQLite's backup sets
  // iNext back to 1 when another connection changed the source, and the step then copies
  // pages 1..n again); a growing page count alone raises `remaining` but not this.
  const info = { finished: false, ms: 0, steps: 0, restarts: 0, maxPagesDone: 0, totalPages: 0, lastRestartMs: 0, capMs, error: null };
  let prevDone = 0;
  const CAP = Symbol('cap');
  try {
    await db.backup(dst, {
      progress({ totalPages, remainingPages }) {
        info.steps++;
        info.totalPages = totalPages;
        const done = totalPages - remainingPages;
        if (info.steps > 1 && done <= prevDone) {
          info.restarts++;
          info.lastRestartMs = performance.now() - t0;
        }
        prevDone = done;
        info.maxPagesDone = Math.max(info.maxPagesDone, done);
        if (performance.now() - t0 > capMs) throw CAP;
        return pagesPerStep;
      },
    });
    info.finished = true;
  } catch (e) {
    if (e !== CAP) info.error = String(e?.stack ?? e);
  } finally {
    info.ms = performance.now() - t0;
    db.close();
  }
  return info;
}

/** Runs the three phases; `cfg.live` = { writer options, capMs, timeoutMs }. */
export async function runLive(cfg, sampling, log) {
  const ds = cfg.datasets.live;
  const work = path.join(OUT_DIR, 'work', `live-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const src = workingCopy(ds.path, path.join(work, 'source.db'));
  const { capMs, timeoutMs, writer: writerOptions } = cfg.live;
  const result = { dataset: { ...ds, workingCopy: src }, writerOptions, phases: {} };
  try {
    // ---- phase 1: idle
    log('  phase 1: idle source');
    const idleStats = { copies: 0, busySteps: 0, restarts: 0, snapshotMoves: 0, resetsBridged: 0, recopiedPages: 0 };
    const tq = targets(path.join(work, 'idle-quire'));
    const ts = targets(path.join(work, 'idle-sqlite'));
    let lastQ = null;
    let lastS = null;
    const idleComps = [
      {
        id: 'quire',
        label: 'quire: backupFile, idle source',
        run: async () => quireCopy(src, (lastQ = tq.next()), timeoutMs, idleStats),
        cleanup: () => {
          tq.clear();
          settle(src);
        },
      },
      {
        id: 'bsqlite-100',
        label: 'better-sqlite3: backup step(100), idle source',
        async run() {
          const r = await sqliteBackup(src, (lastS = ts.next()), 100, Infinity);
          if (!r.finished) throw new Error(r.error ?? 'backup did not finish');
        },
        cleanup: () => {
          ts.clear();
          settle(src);
        },
      },
    ];
    const warm = {};
    for (const c of idleComps) {
      await c.run();
      const f = c.id === 'quire' ? lastQ : lastS;
      try {
        warm[c.id] = { commits: checkLiveCopy(f) };
      } catch (e) {
        warm[c.id] = { error: String(e.message) };
      }
      c.cleanup();
    }
    const idle = await runSuite(idleComps, { ...sampling, log });
    for (const id of Object.keys(warm)) if (warm[id].error) idle[id].error = `warm-up copy invalid: ${warm[id].error}`;
    result.phases.idle = { competitors: idle, quireStats: idleStats };

    // ---- phase 2: quire under the writer
    log(`  phase 2: writer running ${JSON.stringify(writerOptions)}`);
    const w = startWriter(src, writerOptions);
    const writerStarted = performance.now();
    let writerCounters = null;
    const liveStats = { copies: 0, busySteps: 0, restarts: 0, snapshotMoves: 0, resetsBridged: 0, recopiedPages: 0 };
    const checks = { ok: 0, failed: [], commitsSeen: [] };
    try {
      await sleep(1000);
      const tl = targets(path.join(work, 'live-quire'));
      let made = [];
      const verify = () => {
        for (const f of made) {
          try {
            checks.commitsSeen.push(checkLiveCopy(f));
            checks.ok++;
          } catch (e) {
            checks.failed.push(String(e.message));
          }
        }
        made = [];
        tl.clear();
      };
      const liveComps = [
        {
          id: 'quire',
          label: 'quire: backupFile, writer running',
          async run() {
            const f = tl.next();
            await quireCopy(src, f, timeoutMs, liveStats);
            made.push(f);
          },
          cleanup: verify,
        },
      ];
      await liveComps[0].run(); // warm-up
      verify();
      const live = await runSuite(liveComps, { ...sampling, log });
      result.phases.live = { competitors: live, quireStats: liveStats, copyChecks: checks };

      // ---- phase 3: SQLite's own backup under the same writer
      log(`  phase 3: better-sqlite3 backup step(100) with the writer running (cap ${capMs / 1000} s)`);
      const sq = await sqliteBackup(src, path.join(work, 'sqlite-live.db'), 100, capMs);
      if (sq.finished) {
        try {
          sq.commitsInCopy = checkLiveCopy(path.join(work, 'sqlite-live.db'));
        } catch (e) {
          sq.checkError = String(e.message);
        }
      }
      result.phases.sqliteLive = sq;
    } finally {
      writerCounters = await w.stop().catch((e) => ({ error: String(e.message) }));
    }
    const ranMs = performance.now() - writerStarted;
    result.writer = { ...writerCounters, ranMs, commitsPerSecond: writerCounters.commits ? writerCounters.commits / (ranMs / 1000) : 0 };

    // ---- phase 4: the matrix of writer loads, both journal modes
    if (cfg.datasets.liveMatrix && cfg.liveMatrix) {
      log(`  phase 4: matrix (${(cfg.datasets.liveMatrix.bytes / 1e6).toFixed(0)} MB)`);
      result.matrix = await runLiveMatrix(cfg.datasets.liveMatrix, work, cfg.liveMatrix, log);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return result;
}
