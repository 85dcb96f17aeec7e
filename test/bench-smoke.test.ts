/**
 * The benchmark suite still measures right results: `bench/run.mjs --verify` runs every
 * competitor of every scenario once on tiny datasets against the built library (dist/),
 * nothing timed, and checks each result as the timed runs' warm-up is checked (the
 * generator's scan checksum, SQLite's quick_check and row-by-row comparison of written
 * files, the live writers' invariants on every copy). A scenario that breaks (a wrong
 * result, a throw, a missing competitor or group) fails here. Timings are the benchmark's
 * business, not the test's.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './util/tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Verified {
  label: string;
  ms: number;
  /** 'ok', or what was wrong with the result. */
  check: string;
  /** False for a competitor that makes no result (loading a file, replaying the row source). */
  checked: boolean;
  stats?: Record<string, number | number[]>;
}

/** Every scenario's groups and the competitors in each (the benchmark's table). */
const EXPECTED: Record<string, Record<string, string[]>> = {
  scan: { table: ['quire', 'bsqlite', 'bsqlite-raw', 'sqljs', 'sqljs-load'] },
  open: { small: ['quire', 'bsqlite', 'sqljs'], large: ['quire', 'bsqlite', 'sqljs'] },
  copy: { base: ['quire', 'bsqlite', 'bsqlite-all', 'cp', 'cp-sync', 'copyFileSync', 'copyFileSync-fsync'] },
  'insert-bulk': { bulk: ['quire', 'bsqlite', 'sqljs-mem', 'sqljs-file', 'source'] },
  'insert-random': { insert: ['quire', 'bsqlite'], delete: ['quire', 'bsqlite'] },
  'small-tx': { rollback: ['quire', 'bsqlite'], wal: ['quire', 'bsqlite'] },
  'copy-hook': { rollback: ['quire-idle', 'quire-writing'], wal: ['quire-idle', 'quire-writing'] },
};
/** The whole-file scenarios (bench/lib/whole.mjs): the quire CLI vs the sqlite3 CLI, and their works. */
const WHOLE: Record<string, string[]> = {
  check: ['check'],
  vacuum: ['vacuum'],
  export: ['jsonl', 'csv'],
  import: ['csv'],
  backup: ['backup'],
};
/** The only competitors with no result of their own. */
const UNCHECKED = ['scan/table/sqljs-load', 'insert-bulk/bulk/source'];

describe('bench/run.mjs --verify', () => {
  it('every competitor of every scenario makes a result that passes its check', () => {
    expect(existsSync(path.join(root, 'dist', 'node.js')), 'dist/node.js missing: run npm run build').toBe(true);
    const out = path.join(tempDir('quire-bench-'), 'results.json');
    const r = spawnSync(process.execPath, ['--expose-gc', 'bench/run.mjs', '--verify', '--out', out], { cwd: root, encoding: 'utf8', timeout: 400_000 });
    expect(r.status, `bench exited ${r.status}\n${r.stdout}\n${r.stderr}`).toBe(0);
    const res = JSON.parse(readFileSync(out, 'utf8'));
    expect(res.meta.verify).toBe(true);
    expect(Object.keys(res.scenarios).sort()).toEqual([...Object.keys(EXPECTED), ...Object.keys(WHOLE), 'live'].sort());

    const unchecked: string[] = [];
    for (const [name, groups] of Object.entries(EXPECTED)) {
      const sc = res.scenarios[name];
      expect(sc.error, `${name}: ${sc.error}`).toBeUndefined();
      expect(Object.keys(sc.groups), name).toEqual(Object.keys(groups));
      for (const [gid, ids] of Object.entries(groups)) {
        const comps = sc.groups[gid].competitors as Record<string, Verified>;
        expect(Object.keys(comps), `${name}/${gid}`).toEqual(ids);
        for (const [id, c] of Object.entries(comps)) {
          expect(c.check, `${name}/${gid}/${id}`).toBe('ok');
          if (!c.checked) unchecked.push(`${name}/${gid}/${id}`);
        }
      }
    }
    expect(unchecked).toEqual(UNCHECKED);

    // The whole-file scenarios: each work ran once a side on the one (tiny) dataset, and every
    // result passed its check (exit status, line counts, SQLite's integrity_check, page counts).
    for (const [name, works] of Object.entries(WHOLE)) {
      const sc = res.scenarios[name];
      expect(sc.error, `${name}: ${sc.error}`).toBeUndefined();
      expect(sc.sizes.map((z: { id: string }) => z.id), name).toEqual(['base']);
      const got = sc.sizes[0].works as { id: string; errors: string[]; quire: { samplesMs: number[] }; sqlite: { samplesMs: number[] } }[];
      expect(got.map((w) => w.id), name).toEqual(works);
      for (const w of got) {
        expect(w.errors, `${name}/${w.id}`).toEqual([]);
        expect([w.quire.samplesMs.length, w.sqlite.samplesMs.length], `${name}/${w.id}`).toEqual([1, 1]);
      }
    }

    // Statistics the write scenarios keep beside their results: small-tx committed each row
    // alone; copy-hook's copy under the writer was checked against the writer's counter.
    for (const gid of ['rollback', 'wal']) {
      for (const id of ['quire', 'bsqlite']) expect(res.scenarios['small-tx'].groups[gid].competitors[id].stats.commits, `small-tx ${gid} ${id}`).toBe(20);
      const hook = res.scenarios['copy-hook'].groups[gid].competitors['quire-writing'].stats;
      expect(hook.copies, `copy-hook ${gid}`).toBe(1);
      expect(hook.nSeen.length, `copy-hook ${gid}`).toBe(1);
    }

    // live: the idle copies (quire and SQLite's backup) and every copy made under the SQLite
    // writer passed quick_check and the writer's invariants.
    const live = res.scenarios.live;
    expect(live.error, live.error).toBeUndefined();
    for (const [id, c] of Object.entries(live.phases.idle.competitors as Record<string, { error?: string }>)) expect(c.error, `live idle ${id}`).toBeUndefined();
    expect(live.phases.live.copyChecks.failed).toEqual([]);
    expect(live.phases.live.copyChecks.ok).toBe(live.phases.live.quireStats.copies);
    expect(live.phases.live.copyChecks.ok).toBeGreaterThanOrEqual(1);
    expect(live.phases.sqliteLive.error).toBeNull();
    expect(live.phases.sqliteLive.checkError).toBeUndefined();
  }, 420_000);
});
