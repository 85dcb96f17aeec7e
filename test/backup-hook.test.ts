/**
 * A copy while quire itself writes the source in this process: the commits reach the copier
 * through the pager's commit hook, so the copy neither restarts nor waits as it would for
 * another process's journal, and it holds one committed state.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import path from 'node:path';
import { openDatabase, backupFile } from '../src/node/index.js';
import { checkInvariants } from './live/invariants.js';
import { tempDir } from './util/tmp.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'live', 'writer.mjs');

describe('copy while quire writes the source (commit hook)', () => {
  for (const mode of ['delete', 'wal']) {
    it(`${mode}: copies are consistent and do not restart`, async () => {
      const dir = tempDir();
      const src = path.join(dir, `hook-${mode}.db`);
      const r = spawnSync(process.execPath, [WRITER, 'setup', src, mode, '3000'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      if (mode === 'wal') {
        // quire writes WAL files only when no SQLite connection has them open (no -shm).
        const s = new BetterSqlite(src);
        s.close();
      }
      const db = await openDatabase(src, { readOnly: false });
      let stop = false;
      let commits = 0;
      // A writer keeping the same invariants as the live tests' SQLite writer.
      const writer = (async () => {
        while (!stop) {
          await db.transaction(async (tx) => {
            const meta = new Map<string, number>();
            for await (const row of tx.rows('meta')) meta.set(String(row[1]), Number(row[2]));
            const next = (meta.get('commits') ?? 0) + 1;
            const a = 1 + (next % 100);
            const b = 1 + ((next * 7) % 100);
            const acc = async (id: number, delta: number) => {
              const row = (await tx.get('accounts', id))!;
              await tx.update('accounts', id, { balance: Number(row[2]) + delta });
            };
            await acc(a, -5);
            await acc(b, 5);
            await tx.insert('log', { seq: next, commit_no: next, payload: new Uint8Array(100) });
            await tx.delete('log', next - 50);
            const c = (await collect(tx.rows('meta'))).find((m) => m[1] === 'commits')!;
            await tx.update('meta', c[0] as number, { v: next });
          });
          commits++;
          await new Promise((res) => setTimeout(res, 0));
        }
      })();
      let restarts = 0;
      let copies = 0;
      try {
        for (let i = 0; i < 5; i++) {
          const out = path.join(dir, `copy-${i}.db`);
          const res = await backupFile(src, out, { timeout: 20000 });
          restarts += res.snapshot.restarts;
          checkInvariants(out);
          copies++;
        }
      } finally {
        stop = true;
        await writer;
        await db.close();
      }
      expect(copies).toBe(5);
      expect(commits).toBeGreaterThan(5);
      // Own commits are applied from the hook: at most an occasional restart.
      expect(restarts).toBeLessThanOrEqual(2);
    }, 120_000);
  }
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
