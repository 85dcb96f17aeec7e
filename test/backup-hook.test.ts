/**
 * A copy while quire itself writes the source in this process: the commits reach the copier
 * through the pager's commit hook, so the copy neither restarts nor waits as it would for
 * another process's journal, and it holds one committed state.
 *
 * The writer's commits are placed between the copier's steps (no scheduling assumed), and a
 * free-running writer checks what holds whatever the interleaving.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Backup, Database, MemoryStorage, type Transaction } from '../src/index.js';
import { openDatabase, backupFile } from '../src/node/index.js';
import { checkInvariants } from './live/invariants.js';
import { tempDir } from './util/tmp.js';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'live', 'writer.mjs');

/** A source made by the SQLite writer's setup, opened for writing by quire. */
async function source(mode: string): Promise<{ dir: string; src: string; db: Database }> {
  const dir = tempDir();
  const src = path.join(dir, `hook-${mode}.db`);
  const r = spawnSync(process.execPath, [WRITER, 'setup', src, mode, '3000'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  if (mode === 'wal') {
    // quire writes WAL files only when no SQLite connection has them open (no -shm).
    const s = new BetterSqlite(src);
    s.close();
  }
  return { dir, src, db: await openDatabase(src, { readOnly: false }) };
}

/** One transaction keeping the live writer's invariants (test/live/invariants.ts); returns its number. */
async function commitOne(db: Database): Promise<number> {
  let next = 0;
  await db.transaction(async (tx: Transaction) => {
    let commitsRow: unknown[] | undefined;
    for await (const row of tx.rows('meta')) if (row[1] === 'commits') commitsRow = row;
    next = Number(commitsRow![2]) + 1;
    const acc = async (id: number, delta: number) => {
      const row = (await tx.get('accounts', id))!;
      await tx.update('accounts', id, { balance: Number(row[2]) + delta });
    };
    await acc(1 + (next % 100), -5);
    await acc(1 + ((next * 7) % 100), 5);
    await tx.insert('log', { seq: next, commit_no: next, payload: new Uint8Array(100) });
    await tx.delete('log', next - 50);
    await tx.update('meta', commitsRow![0] as number, { v: next });
  });
  return next;
}

describe('copy while quire writes the source (commit hook)', () => {
  for (const mode of ['delete', 'wal']) {
    it(`${mode}: commits made between the copy's steps reach it through the hook: no restart, no wait, and the copy holds the last of them`, async () => {
      const { dir, src, db } = await source(mode);
      const reader = await openDatabase(src);
      const target = await Database.memory();
      try {
        let last = await commitOne(db);
        const b = await Backup.init(target, 'main', reader, 'main');
        let steps = 0;
        for (let st = await b.step(4); st !== 'DONE'; st = await b.step(4)) {
          expect(st).toBe('OK'); // never BUSY
          steps++;
          last = await commitOne(db);
        }
        expect(steps).toBeGreaterThan(5);
        expect(b.restarts).toBe(0);
        expect(b.identity!.caveats.join('\n')).toContain('commit hook');
        await b.finish();
        const out = path.join(dir, 'stepped.db');
        writeFileSync(out, (target.storage as MemoryStorage).getFile('db')!);
        const wal = (target.storage as MemoryStorage).getFile('wal');
        if (wal) writeFileSync(`${out}-wal`, wal);
        expect(checkInvariants(out).commits).toBe(last);
      } finally {
        await target.close();
        await reader.close();
        await db.close();
      }
    }, 120_000);

    if (mode === 'delete') {
      it('delete: a commit by another connection just before quire\'s own commit is not taken for quire\'s (the copy is not torn: it holds both)', async () => {
        const { dir, src, db } = await source(mode);
        const reader = await openDatabase(src);
        const target = await Database.memory();
        const sqlite = new BetterSqlite(src);
        try {
          const b = await Backup.init(target, 'main', reader, 'main');
          // Past the first rows of big (and accounts, meta): those pages are in the copy.
          for (let i = 0; i < 8; i++) expect(await b.step(4)).toBe('OK');
          // Another connection's commit (seen by the copier only through the file), then one
          // through quire (its pages reach the copier through the hook; its change to meta
          // includes the other's). A big page only the first changed was copied before it.
          sqlite.transaction(() => {
            sqlite.prepare('UPDATE big SET val = val + 1 WHERE id = 1').run();
            sqlite.prepare("UPDATE meta SET v = v + 1 WHERE k = 'bigsum'").run();
          })();
          const last = await commitOne(db);
          let st = await b.step(4);
          while (st !== 'DONE') st = await b.step(4);
          await b.finish();
          const out = path.join(dir, 'mixed.db');
          writeFileSync(out, (target.storage as MemoryStorage).getFile('db')!);
          expect(checkInvariants(out).commits).toBe(last);
        } finally {
          sqlite.close();
          await target.close();
          await reader.close();
          await db.close();
        }
      }, 60_000);
    }

    it(`${mode}: copies made while quire commits concurrently are consistent, in commit order, and at least as new as the writer at their start`, async () => {
      const { dir, src, db } = await source(mode);
      let stop = false;
      let commits = 0;
      const writer = (async () => {
        while (!stop) {
          commits = await commitOne(db);
          await new Promise((res) => setTimeout(res, 0));
        }
      })();
      const seen: number[] = [];
      let restarts = 0;
      try {
        for (let i = 0; i < 5; i++) {
          // The writer has gone past the previous copy's state before the next copy starts.
          while (commits <= (seen[i - 1] ?? 0)) await new Promise((res) => setTimeout(res, 1));
          const before = commits;
          const out = path.join(dir, `copy-${i}.db`);
          const res = await backupFile(src, out, { timeout: 20000 });
          restarts += res.snapshot.restarts;
          const n = checkInvariants(out).commits;
          expect(n).toBeGreaterThanOrEqual(before);
          seen.push(n);
        }
      } finally {
        stop = true;
        await writer;
        await db.close();
      }
      console.log(`hook ${mode}: ${commits} commits, copies saw ${seen.join(',')}, ${restarts} restarts`);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    }, 120_000);
  }
});
