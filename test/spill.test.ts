/**
 * Cache spill (pager note 8): a transaction larger than `spillBytes` writes pages to the file
 * before its commit and keeps only a bounded set in memory. What must hold: the commit is the
 * same as without a spill (SQLite reads every row, integrity_check ok), a rollback leaves the
 * file as it was, readers in this process keep seeing the last committed state meanwhile (and a
 * writable one does not take the spill's journal for a crashed transaction), a copy made while
 * the transaction commits holds exactly its result, and a journal rolled back by someone else
 * is detected.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { existsSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { backupFile, openDatabase } from '../src/node/index.js';
import type { Database } from '../src/database.js';
import { isQuireError } from '../pager/errors.js';
import { tempDir } from './util/tmp.js';

const SPILL = Number(process.env.SPILL ?? 256 * 1024); // 64 pages of 4 KiB
const text = (i: number) => `row ${i} `.repeat(1 + (i % 40));
const blob = (i: number) => new Uint8Array(i % 300).fill(i & 0xff);

function sqliteRows(file: string): { ic: string; rows: unknown[][] } {
  const db = new BetterSqlite(file, { readonly: true });
  try {
    const ic = db.pragma('integrity_check', { simple: true }) as string;
    return { ic, rows: db.prepare('SELECT id, a, b FROM t ORDER BY id').raw().all() as unknown[][] };
  } finally {
    db.close();
  }
}

function expected(from: number, to: number): unknown[][] {
  const out: unknown[][] = [];
  for (let i = from; i <= to; i++) out.push([i, text(i), Buffer.from(blob(i))]);
  return out;
}

/** A file database with table t holding rows 1..n (made by SQLite). */
function seed(dir: string, name: string, mode: 'delete' | 'wal', n: number): string {
  const file = path.join(dir, name);
  const db = new BetterSqlite(file);
  db.pragma(`journal_mode = ${mode}`);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB); CREATE INDEX ta ON t(a)');
  const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= n; i++) ins.run(i, text(i), Buffer.from(blob(i)));
  })();
  db.close();
  for (const s of ['-wal', '-shm']) if (existsSync(file + s)) unlinkSync(file + s);
  return file;
}

async function insertRange(db: Database, from: number, to: number, watch?: (dirty: number) => void): Promise<void> {
  await db.transaction(async (tx) => {
    for (let i = from; i <= to; i++) {
      await tx.insert('t', [i, text(i), blob(i)]);
      watch?.(tx.txn.dirtyCount);
    }
  });
}

describe('a transaction larger than spillBytes', () => {
  for (const mode of ['delete', 'wal'] as const) {
    it(`${mode}: commits what it wrote, holding a bounded number of pages in memory`, async () => {
      const dir = tempDir();
      const file = seed(dir, `commit-${mode}.db`, mode, 200);
      const db = await openDatabase(file, { readOnly: false, spillBytes: SPILL });
      let most = 0;
      let sawJournal = false;
      try {
        await insertRange(db, 201, 8_000, (d) => {
          most = Math.max(most, d);
          if (mode === 'delete' && existsSync(`${file}-journal`)) sawJournal = true;
        });
      } finally {
        await db.close();
      }
      // Without the spill the transaction would hold every page it wrote (well over 1,000);
      // with it, the pages written since the last spill stay too (at most about twice the
      // threshold, with the right-most path).
      expect(most).toBeLessThanOrEqual(3 * (SPILL / 4096));
      if (mode === 'delete') expect(sawJournal).toBe(true);
      const got = sqliteRows(file);
      expect(got.ic).toBe('ok');
      expect(got.rows).toEqual(expected(1, 8_000));
    });

    it(`${mode}: a rollback leaves the database as it was`, async () => {
      const dir = tempDir();
      const file = seed(dir, `rollback-${mode}.db`, mode, 300);
      const size = statSync(file).size;
      const db = await openDatabase(file, { readOnly: false, spillBytes: SPILL });
      try {
        const boom = new Error('stop');
        await expect(
          db.transaction(async (tx) => {
            for (let i = 301; i <= 6_000; i++) await tx.insert('t', [i, text(i), blob(i)]);
            expect(tx.txn.spill).not.toBeNull();
            throw boom;
          }),
        ).rejects.toBe(boom);
        if (mode === 'delete') {
          expect(statSync(file).size).toBe(size);
          expect(existsSync(`${file}-journal`)).toBe(false);
        }
        // quire reads the old rows, and the next transaction commits normally.
        expect((await db.get('t', 300))?.[2]).toBe(text(300));
        expect(await db.get('t', 301)).toBeUndefined();
        await insertRange(db, 301, 310);
      } finally {
        await db.close();
      }
      const got = sqliteRows(file);
      expect(got.ic).toBe('ok');
      expect(got.rows).toEqual(expected(1, 310));
    });
  }

  it('readers in this process see the last commit meanwhile, and a writable one leaves the journal alone', async () => {
    const dir = tempDir();
    const file = seed(dir, 'readers.db', 'delete', 100);
    const writer = await openDatabase(file, { readOnly: false, spillBytes: SPILL });
    const reader = await openDatabase(file, { readOnly: false });
    try {
      await writer.transaction(async (tx) => {
        for (let i = 101; i <= 8_000; i++) await tx.insert('t', [i, text(i), blob(i)]);
        expect(tx.txn.spill).not.toBeNull();
        expect(existsSync(`${file}-journal`)).toBe(true);
        // The other connection reads the committed state, not BUSY, and rolls nothing back.
        let n = 0;
        for await (const row of reader.rows('t')) n += row[0] === n + 1 ? 1 : 0;
        expect(n).toBe(100);
        expect(existsSync(`${file}-journal`)).toBe(true);
      });
      let n = 0;
      for await (const _ of reader.rows('t')) n++;
      expect(n).toBe(8_000);
    } finally {
      await reader.close();
      await writer.close();
    }
    const got = sqliteRows(file);
    expect(got.ic).toBe('ok');
    expect(got.rows.length).toBe(8_000);
  });

  for (const mode of ['delete', 'wal'] as const) {
    it(`${mode}: a copy made while such a transaction commits holds exactly its result`, async () => {
      const dir = tempDir();
      const file = seed(dir, `hook-${mode}.db`, mode, 1_500);
      const db = await openDatabase(file, { readOnly: false, spillBytes: SPILL });
      const out = path.join(dir, 'copy.db');
      const changed = (i: number) => (i <= 1_500 && i % 3 === 0 ? `${text(i)} changed` : text(i));
      try {
        // The copy's progress callback runs the transaction between two steps, once part of
        // the file is copied: it changes rows on pages already copied and adds new ones, and
        // it spills (in WAL mode, old pages too) before its commit.
        let ran = false;
        const src = await openDatabase(file);
        try {
          await src.backup(await openDatabase(out, { readOnly: false, create: true }), {
            pages: 40,
            sleep: 0,
            progress: async () => {
              if (ran) return;
              ran = true;
              await db.transaction(async (tx) => {
                for (let i = 3; i <= 1_500; i += 3) await tx.update('t', i, { a: changed(i) });
                for (let i = 1_501; i <= 5_000; i++) await tx.insert('t', [i, text(i), blob(i)]);
                expect(tx.txn.spill).not.toBeNull();
              });
            },
          });
        } finally {
          await src.close();
        }
        expect(ran).toBe(true);
      } finally {
        await db.close();
      }
      const got = sqliteRows(out);
      expect(got.ic).toBe('ok');
      expect(got.rows).toEqual(expected(1, 5_000).map((r) => [r[0], changed(r[0] as number), r[2]]));
    });
  }

  it('a journal rolled back by another connection meanwhile fails the commit (BUSY), never corrupts', async () => {
    const dir = tempDir();
    const file = seed(dir, 'stolen.db', 'delete', 100);
    const db = await openDatabase(file, { readOnly: false, spillBytes: SPILL });
    try {
      const err = await db
        .transaction(async (tx) => {
          for (let i = 101; i <= 5_000; i++) await tx.insert('t', [i, text(i), blob(i)]);
          expect(tx.txn.spill).not.toBeNull();
          // SQLite, finding a journal and no lock (quire takes none), rolls it back.
          const s = new BetterSqlite(file);
          expect(s.prepare('SELECT count(*) FROM t').pluck().get()).toBe(100);
          s.close();
          expect(existsSync(`${file}-journal`)).toBe(false);
        })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isQuireError(err) && err.code).toBe('BUSY');
    } finally {
      await db.close();
    }
    const got = sqliteRows(file);
    expect(got.ic).toBe('ok');
    expect(got.rows).toEqual(expected(1, 100));
  });
});

describe('backupFile of the result', () => {
  it('copies a database written by a spilled transaction', async () => {
    const dir = tempDir();
    const file = seed(dir, 'src.db', 'delete', 10);
    const db = await openDatabase(file, { readOnly: false, spillBytes: SPILL });
    try {
      await insertRange(db, 11, 3_000);
    } finally {
      await db.close();
    }
    const out = path.join(dir, 'out.db');
    await backupFile(file, out);
    expect(sqliteRows(out).rows).toEqual(expected(1, 3_000));
  });
});
