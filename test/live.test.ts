/**
 * Live copies: a real SQLite writer (better-sqlite3 in a child process) keeps invariants in
 * every transaction while quire copies the file without locks. Every copy must pass SQLite's
 * integrity_check and the invariants (test/live/invariants.ts); a copy that cannot be made
 * consistent must end in BUSY, never in a torn file.
 */
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Database, MemoryStorage, isQuireError } from '../src/index.js';
import { backupFile, openDatabase } from '../src/node/index.js';
import { checkInvariants } from './live/invariants.js';
import { tempDir } from './util/tmp.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const WRITER = path.join(here, 'live', 'writer.mjs');

interface WriterCounters {
  commits: number;
  checkpoints: { PASSIVE: number; RESTART: number; TRUNCATE: number };
  spills: number;
  errors: number;
}

function setup(file: string, mode: string, bigRows: number): void {
  const r = spawnSync(process.execPath, [WRITER, 'setup', file, mode, String(bigRows)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`writer setup failed: ${r.stderr}`);
}

function startWriter(file: string, options: Record<string, unknown>): { child: ChildProcess; stop: () => Promise<WriterCounters> } {
  const child = spawn(process.execPath, [WRITER, 'run', file, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`writer exited with ${code}: ${err}`);
      return JSON.parse(out.trim().split('\n').pop()!) as WriterCounters;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One copy: alternately through backupFile (temp + rename) and Database.backup into memory. */
async function copyOnce(src: string, dir: string, i: number, timeout: number) {
  const out = path.join(dir, `copy-${i}.db`);
  if (i % 2 === 0) {
    const r = await backupFile(src, out, { timeout, sleep: 20 });
    return { out, snapshot: r.snapshot };
  }
  const source = await openDatabase(src);
  const target = await Database.memory();
  try {
    // Small steps make a pass span many commits and WAL resets.
    const snapshot = await source.backup(target, { timeout, sleep: 20, pages: i % 4 === 1 ? 64 : -1 });
    writeFileSync(out, (target.storage as MemoryStorage).getFile('db')!);
    return { out, snapshot };
  } finally {
    await source.close();
    await target.close();
  }
}

describe('live copies under a real SQLite writer', () => {
  it('WAL mode at several hundred commits/s with PASSIVE, RESTART and TRUNCATE checkpoints: every copy finishes consistent', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'live-wal.db');
    setup(src, 'wal', 40000);
    const w = startWriter(src, { rateHz: 500, checkpointEvery: 60, seed: 7 });
    await sleep(300);
    let moves = 0;
    let restarts = 0;
    let bridged = 0;
    let last = 0;
    const commitsSeen: number[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const { out, snapshot } = await copyOnce(src, dir, i, 30000);
        const facts = checkInvariants(out);
        expect(facts.commits).toBeGreaterThanOrEqual(last);
        last = facts.commits;
        commitsSeen.push(facts.commits);
        moves += snapshot.snapshotMoves;
        restarts += snapshot.restarts;
        bridged += snapshot.resetsBridged;
        expect(snapshot.mode).toBe('wal');
      }
    } finally {
      var counters = await w.stop();
    }
    console.log(`WAL: ${counters.commits} commits, checkpoints ${JSON.stringify(counters.checkpoints)}, copies saw commits ${commitsSeen.join(',')}, moves ${moves}, resets bridged ${bridged}, restarts ${restarts}`);
    // The writer really was writing, checkpointing and restarting the WAL during the copies.
    expect(counters.commits).toBeGreaterThan(300);
    expect(counters.checkpoints.RESTART).toBeGreaterThan(0);
    expect(counters.checkpoints.TRUNCATE).toBeGreaterThan(0);
    expect(new Set(commitsSeen).size).toBeGreaterThan(5);
    // Snapshot moves and bridged resets are how copies converge without restarting.
    expect(moves).toBeGreaterThan(0);
    expect(bridged).toBeGreaterThan(0);
  }, 120_000);

  it('rollback mode with quiet gaps (and rolled-back cache spills): every copy finishes consistent', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'live-rb.db');
    setup(src, 'delete', 20000);
    const w = startWriter(src, { rateHz: 0, burstMs: 150, gapMs: 250, spillEvery: 30, seed: 11 });
    await sleep(200);
    let restarts = 0;
    try {
      for (let i = 0; i < 8; i++) {
        const { out, snapshot } = await copyOnce(src, dir, i, 20000);
        checkInvariants(out);
        expect(snapshot.mode).toBe('rollback');
        restarts += snapshot.restarts;
      }
    } finally {
      var counters = await w.stop();
    }
    console.log(`rollback with gaps: ${counters.commits} commits, ${restarts} restarts`);
    // The writer was really writing (and spilling) while the copies ran; the machine may be
    // slow, so no rate is assumed.
    expect(counters.commits).toBeGreaterThan(10);
    expect(counters.spills).toBeGreaterThan(0);
    // Some copies overlapped a burst and had to wait for a quiet window.
    expect(restarts).toBeGreaterThanOrEqual(0);
  }, 120_000);

  for (const journalMode of ['delete', 'truncate', 'persist']) {
    it(`rollback mode (journal_mode=${journalMode}) at full rate with rolled-back cache spills: consistent or BUSY, never torn`, async () => {
      const dir = tempDir();
      const src = path.join(dir, `live-full-${journalMode}.db`);
      setup(src, journalMode, 20000);
      const w = startWriter(src, { rateHz: 0, spillEvery: 25, seed: 3 });
      await sleep(200);
      let ok = 0;
      let busy = 0;
      try {
        for (let i = 0; i < 8; i++) {
          try {
            const { out } = await copyOnce(src, dir, i, 1000);
            checkInvariants(out);
            ok++;
          } catch (e) {
            if (isQuireError(e) && e.code === 'BUSY') busy++;
            else throw e;
          }
        }
      } finally {
        var counters = await w.stop();
      }
      console.log(`journal_mode=${journalMode}: ${ok} consistent copies, ${busy} BUSY`);
      expect(ok + busy).toBe(8);
      expect(counters.commits).toBeGreaterThan(10);
      expect(counters.spills).toBeGreaterThan(0);
    }, 120_000);
  }
});
