// The live-copy matrix (issue 9, scope 5): a real SQLite writer (test/live/writer.mjs, in
// another process) commits at fixed gaps while copies are taken of the same >= 100 MB file.
//
//   workloads  rollback (journal_mode=DELETE) and WAL, commit gaps 1, 5, 20, 40, 100 ms (the
//              writer's rateHz = 1000 / gap, a period between commit starts: a gap shorter
//              than a commit means back to back, and the writer catches up after a stall);
//              and the WAL checkpoint storm: no pause, a checkpoint every 60 commits cycling
//              PASSIVE, RESTART, TRUNCATE
//   per mode   the idle copy time: median of 3 quire backupFile copies of the idle source
//              (each after `sync -f` and a read-through, as in the copy scenario)
//   per load   quire: `copies` backupFile copies one after another (backupFile defaults: one
//              step per pass, sleep 250 ms after a BUSY step; a budget of timeoutIdleX x the
//              idle time, at least minTimeoutMs, then BUSY: "not finished"); each is timed
//              and checked (quick_check + the writer's invariants); counted "within 10x idle"
//              when it finished in at most 10x the idle copy time
//              SQLite step(100): better-sqlite3 db.backup() (100 pages a step), capped
//              SQLite step(-1): better-sqlite3 db.backup() whose progress asks for 2^31-1
//              pages a step (its first step is better-sqlite3's fixed 100 pages; after it the
//              whole copy is one step under one read lock); the writer's longest transaction
//              during it (writer.mjs resetMax) is how long it was stalled
//
// Nothing here is asserted: the table is printed (lib/report.mjs) and kept in results.json.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { backupFile } from '../../dist/node.js';
import { removeDb, workingCopy } from './data.mjs';
import { startWriter } from '../../test/live/client.mjs';
import { settle } from './scenarios.mjs';
import { checkLiveCopy } from './live.mjs';

const GAPS_MS = [1, 5, 20, 40, 100];
const STEP_ALL = 0x7fffffff;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (a) => {
  if (a.length === 0) return null;
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** SQLite's backup of `src` into `dst`, `pages` a step, given up after capMs. */
async function sqliteBackup(src, dst, pages, capMs) {
  removeDb(dst);
  const db = new Database(src, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const t0 = performance.now();
  const info = { finished: false, ms: 0, steps: 0, restarts: 0, error: null, valid: null };
  let prevDone = 0;
  const CAP = Symbol('cap');
  try {
    await db.backup(dst, {
      progress({ totalPages, remainingPages }) {
        info.steps++;
        const done = totalPages - remainingPages;
        // SQLite restarts from page 1 when another connection changed the source (fewer pages
        // done than after the previous step); as many as before is a step that met a lock.
        if (info.steps > 1 && done < prevDone) info.restarts++;
        prevDone = done;
        if (performance.now() - t0 > capMs) throw CAP;
        return pages;
      },
    });
    info.finished = true;
  } catch (e) {
    if (e !== CAP) info.error = String(e?.message ?? e);
  } finally {
    info.ms = performance.now() - t0;
    db.close();
  }
  if (info.finished) {
    try {
      checkLiveCopy(dst);
      info.valid = true;
    } catch (e) {
      info.valid = false;
      info.error = String(e.message);
    }
  }
  removeDb(dst);
  return info;
}

async function idleCopyMs(src, dir) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const dst = path.join(dir, 'idle.db');
    settle(src);
    const t0 = performance.now();
    // Nothing writes the source here, so a copy that has not finished in 2 minutes is a fault
    // to report, not a run to wait for (bench-smoke's budget is 400 s).
    await backupFile(src, dst, { signal: AbortSignal.timeout(120_000) });
    times.push(performance.now() - t0);
    removeDb(dst);
  }
  return median(times);
}

async function oneWorkload(src, dir, w, idleMs, o, log) {
  const writer = startWriter(src, { ...w.writer, seed: 1 });
  const started = performance.now();
  const row = { mode: w.mode, load: w.label, writer: w.writer, idleMs, quire: { copies: [], valid: 0, invalid: [] } };
  try {
    // The writer runs before the first copy (and has done its first checkpoints in a storm).
    await writer.ask('status');
    await sleep(o.warmMs);
    for (let i = 0; i < o.copies; i++) {
      const dst = path.join(dir, `copy-${i}.db`);
      const t0 = performance.now();
      let busy = 0;
      try {
        const r = await backupFile(src, dst, { timeout: Math.max(o.timeoutIdleX * idleMs, o.minTimeoutMs), onProgress: (p) => void (p.status === 'BUSY' && busy++) });
        const ms = performance.now() - t0;
        row.quire.copies.push({ ms, restarts: r.snapshot.restarts, repasses: r.snapshot.repasses ?? 0, passes: r.snapshot.passes, moves: r.snapshot.snapshotMoves, bridged: r.snapshot.resetsBridged, busy, rewrittenBytes: r.bytesWritten - r.bytes });
        try {
          checkLiveCopy(dst);
          row.quire.valid++;
        } catch (e) {
          row.quire.invalid.push(String(e.message));
        }
      } catch (e) {
        row.quire.copies.push({ ms: performance.now() - t0, code: e?.code ?? null, error: String(e.message).slice(0, 200), busy });
      }
      removeDb(dst);
    }
    row.sqlite100 = await sqliteBackup(src, path.join(dir, 'sqlite-100.db'), 100, o.capMs);
    await writer.ask('resetMax');
    row.sqliteAll = await sqliteBackup(src, path.join(dir, 'sqlite-all.db'), STEP_ALL, o.capMs);
    row.sqliteAll.writerStallMs = (await writer.ask('resetMax')).result;
  } finally {
    const c = await writer.stop().catch((e) => ({ error: String(e.message) }));
    const ranMs = performance.now() - started;
    row.writerCounters = { ...c, ranMs, commitsPerSecond: c.commits ? c.commits / (ranMs / 1000) : 0 };
  }
  const ok = row.quire.copies.filter((c) => !c.error);
  row.quire.within10x = ok.filter((c) => c.ms <= 10 * idleMs).length;
  row.quire.medianMs = median(row.quire.copies.map((c) => c.ms));
  row.quire.within5x = ok.filter((c) => c.ms <= 5 * idleMs).length;
  row.quire.restarts = ok.reduce((a, c) => a + c.restarts, 0);
  // WAL mode: digest re-passes after a log reset hid commits (not restarts).
  row.quire.repasses = ok.reduce((a, c) => a + c.repasses, 0);
  log(
    `    ${w.mode} ${w.label}: quire ${row.quire.within10x}/${o.copies} within 10x idle, median ${row.quire.medianMs?.toFixed(0)} ms, ` +
      `${row.quire.restarts} restarts, ${row.quire.repasses} re-passes; SQLite step(100) ${row.sqlite100.finished ? row.sqlite100.ms.toFixed(0) + ' ms' : 'not finished'}, ` +
      `step(-1) ${row.sqliteAll.finished ? row.sqliteAll.ms.toFixed(0) + ' ms' : 'not finished'} (writer stalled ${row.sqliteAll.writerStallMs?.toFixed(0)} ms)`,
  );
  return row;
}

/**
 * Runs the matrix on `ds` (a writer.mjs `setup` base, WAL mode). `o` = { copies, capMs,
 * timeoutIdleX, minTimeoutMs, warmMs, gaps?, storm?, only? } (only: rows to keep, named
 * `${mode} ${label}`, e.g. 'rollback 40 ms gaps', 'wal checkpoint storm'; a mode with none is skipped).
 */
export async function runLiveMatrix(ds, workDir, o, log) {
  const rows = [];
  const gaps = o.gaps ?? GAPS_MS;
  const keep = (mode, label) => !o.only || o.only.includes(`${mode} ${label}`);
  for (const mode of ['rollback', 'wal']) {
    const loads = gaps.map((g) => ({ mode, label: `${g} ms gaps`, writer: { rateHz: 1000 / g } }));
    if (mode === 'wal' && o.storm !== false) loads.push({ mode, label: 'checkpoint storm', writer: { rateHz: 0, checkpointEvery: 60 } });
    const kept = loads.filter((w) => keep(mode, w.label));
    if (kept.length === 0) continue;
    const dir = path.join(workDir, `matrix-${mode}`);
    mkdirSync(dir, { recursive: true });
    const src = workingCopy(ds.path, path.join(dir, 'source.db'));
    if (mode === 'rollback') {
      const db = new Database(src);
      db.pragma('journal_mode = DELETE');
      db.close();
    }
    const idleMs = await idleCopyMs(src, dir);
    log(`  matrix, ${mode} mode: idle copy ${idleMs.toFixed(0)} ms`);
    for (const w of kept) rows.push(await oneWorkload(src, dir, w, idleMs, o, log));
    rmSync(dir, { recursive: true, force: true });
  }
  return { dataset: { bytes: ds.bytes, pageCount: ds.pageCount, pageSize: ds.pageSize, bigRows: ds.bigRows }, options: o, rows };
}
