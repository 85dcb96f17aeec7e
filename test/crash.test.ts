/**
 * Crash tests for the pager's commit: a faulty storage fails the commit at every operation
 * index, and the crash keeps only synced writes plus a random (possibly torn) subset of the
 * rest. After every crash, SQLite — and quire, opening the files for writing — must find the
 * database at exactly the state before or after the transaction, with integrity_check ok.
 *
 * The transaction rewrites database A into database B (both made by SQLite; B adds, updates
 * and deletes rows, so pages change, appear and disappear), page by page through
 * WriteTxn.writable, so the test exercises only the pager's commit protocol.
 *
 * The backup destination's commit (WriteTxn.replaceAll, the same rollback-journal commit) is
 * crash-tested the same way: a backup into a database that has content, crashed at every
 * storage call, must leave the old destination or the whole copy.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { copyFileSync, readFileSync, writeFileSync, existsSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { Pager, type JournalMode } from '../pager/pager.js';
import { Database } from '../src/database.js';
import { backup } from '../src/backup/backup.js';
import { MemoryStorage } from '../pager/memory.js';
import { isQuireError } from '../pager/errors.js';
import type { FileKind } from '../pager/storage.js';
import { CrashError, FaultyStorage } from './util/faulty-storage.js';
import { tempDir } from './util/tmp.js';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

function dump(file: string): string {
  const db = new BetterSqlite(file);
  try {
    const ic = db.pragma('integrity_check', { simple: true });
    if (ic !== 'ok') return `CORRUPT: ${ic}`;
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    return tables.map((t) => `${t}:${JSON.stringify(db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).raw().all())}`).join('\n');
  } finally {
    db.close();
  }
}

function makePair(dir: string, wal: boolean): { a: Uint8Array; b: Uint8Array; dumpA: string; dumpB: string } {
  const fa = path.join(dir, 'a.db');
  const db = new BetterSqlite(fa);
  db.pragma('page_size = 1024');
  if (wal) db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB); CREATE INDEX tv ON t(v)');
  const ins = db.prepare('INSERT INTO t(v, b) VALUES (?, randomblob(?))');
  db.transaction(() => {
    for (let i = 0; i < 400; i++) ins.run(`a-${i}`, i % 7 === 0 ? 1500 : 60);
  })();
  db.close();
  const fb = path.join(dir, 'b.db');
  copyFileSync(fa, fb);
  const db2 = new BetterSqlite(fb);
  db2.exec("UPDATE t SET v = 'b-' || id WHERE id % 3 = 0; DELETE FROM t WHERE id % 5 = 0; CREATE TABLE u(x)");
  const ins2 = db2.prepare('INSERT INTO t(v, b) VALUES (?, randomblob(?))');
  db2.transaction(() => {
    for (let i = 0; i < 150; i++) ins2.run(`new-${i}`, 200);
  })();
  db2.close();
  for (const f of [fa, fb]) for (const s of ['-wal', '-shm']) if (existsSync(f + s)) unlinkSync(f + s);
  return { a: new Uint8Array(readFileSync(fa)), b: new Uint8Array(readFileSync(fb)), dumpA: dump(fa), dumpB: dump(fb) };
}

/**
 * Rewrites the database in `storage` into `b` in one transaction and commits it. With `spill`,
 * the transaction spills changed pages to the file (spillBytes: 16 pages) between page writes,
 * as a large transaction does; with `rollback`, it then rolls back instead of committing.
 */
async function rewrite(
  storage: FaultyStorage,
  b: Uint8Array,
  journalMode: JournalMode,
  { spill = false, rollback = false }: { spill?: boolean; rollback?: boolean } = {},
): Promise<void> {
  const p = await Pager.open(storage, { readOnly: false, journalMode, walAutoCheckpoint: 0, spillBytes: spill ? 16 * 1024 : Infinity, newPageSize: 1024 });
  const t = await p.beginWrite();
  const ps = p.pageSize;
  const n = b.length / ps;
  t.setPageCount(n);
  for (let i = 1; i <= n; i++) {
    const img = b.subarray((i - 1) * ps, i * ps);
    const cur = await t.page(i);
    let same = cur.length === img.length;
    for (let k = 0; same && k < img.length; k++) if (k < 24 || k >= 28 || i !== 1) same = cur[k] === img[k];
    if (!same) (await t.writable(i)).set(img);
    if (spill) await t.maybeSpill();
  }
  if (spill && t.spill === null) throw new Error('the transaction did not spill');
  if (rollback) await t.rollback();
  else await t.commit();
}

function materialize(dir: string, name: string, files: Partial<Record<FileKind, Uint8Array>>): string {
  const f = path.join(dir, name);
  const suffix: Record<FileKind, string> = { db: '', wal: '-wal', journal: '-journal', shm: '-shm' };
  for (const k of ['db', 'wal', 'journal', 'shm'] as const) {
    if (existsSync(f + suffix[k])) unlinkSync(f + suffix[k]);
    if (files[k]) writeFileSync(f + suffix[k], files[k]!);
  }
  return f;
}

const MODES: Array<{ name: string; wal: boolean; journalMode: JournalMode }> = [
  { name: 'rollback journal (delete)', wal: false, journalMode: 'delete' },
  { name: 'rollback journal (truncate)', wal: false, journalMode: 'truncate' },
  { name: 'rollback journal (persist)', wal: false, journalMode: 'persist' },
  { name: 'WAL', wal: true, journalMode: 'delete' },
];

describe('crash at every step of a commit', () => {
  for (const mode of MODES) {
    for (const spill of [false, true]) {
      const name = spill ? `${mode.name}, a transaction that spilled pages before its commit` : mode.name;
      it(`${name}: SQLite and quire recover the state before or after`, async () => {
        const dir = tempDir();
        const { a, b, dumpA, dumpB } = makePair(dir, mode.wal);
        expect(dumpA).not.toBe(dumpB);

        // The uncrashed commit, to count its operations and check the result.
        const clean = new FaultyStorage({ db: a });
        await rewrite(clean, b, mode.journalMode, { spill });
        const total = clean.ops;
        expect(dump(materialize(dir, 'clean.db', clean.current()))).toBe(dumpB);

        const seen = { before: 0, after: 0 };
        const random = rng(1234 + total);
        for (let k = 0; k <= total; k++) {
          const st = new FaultyStorage({ db: a });
          st.failAt = k;
          let crashed = false;
          try {
            await rewrite(st, b, mode.journalMode, { spill });
          } catch (e) {
            // The pager reports the failed write as IOERR with the crash as its cause.
            if (!(e instanceof CrashError) && !(isQuireError(e) && e.code === 'IOERR' && e.cause instanceof CrashError)) throw e;
            crashed = true;
          }
          expect(crashed).toBe(k < total);
          for (let trial = 0; trial < 3; trial++) {
            const files = crashed ? st.crashImage(random) : st.current();
            // SQLite recovers (hot journal rollback / WAL recovery) on its own.
            const got = dump(materialize(dir, `sqlite-${k}-${trial}.db`, files));
            expect([dumpA, dumpB], `crash at op ${k}/${total}, trial ${trial}`).toContain(got);
            if (got === dumpA) seen.before++;
            else seen.after++;
            // quire opens the same files for writing: it rolls back / reads the WAL itself.
            const mem = new MemoryStorage(files);
            const p = await Pager.open(mem, { readOnly: false });
            await p.close();
            const recovered = mem.getFile('db')!;
            const quireFiles: Partial<Record<FileKind, Uint8Array>> = { db: recovered };
            const w = mem.getFile('wal');
            if (w) quireFiles.wal = w;
            // No journal that could still be rolled back is left behind.
            const j = mem.getFile('journal');
            expect(!j || j.length === 0 || j[0] === 0).toBe(true);
            const viaQuire = dump(materialize(dir, `quire-${k}-${trial}.db`, quireFiles));
            expect(viaQuire, `quire recovery, crash at op ${k}/${total}`).toBe(got);
          }
        }
        // Both outcomes occur across the crash points.
        expect(seen.before).toBeGreaterThan(0);
        expect(seen.after).toBeGreaterThan(0);
      }, 300_000);
    }
  }
});

describe('crash at every step of the first commit into an empty file', () => {
  for (const mode of MODES.filter((m) => !m.wal)) {
    it(`${mode.name}: SQLite and quire find no table or the whole database`, async () => {
      const dir = tempDir();
      const { b, dumpB } = makePair(dir, false);
      const empty = dump(materialize(dir, 'empty.db', { db: new Uint8Array(0) }));
      expect(empty).toBe('');
      const clean = new FaultyStorage({ db: new Uint8Array(0) });
      await rewrite(clean, b, mode.journalMode);
      const total = clean.ops;
      expect(await recoveredBoth(dir, 'clean', clean.current())).toEqual([dumpB, dumpB]);
      const random = rng(77 + total);
      const seen = { before: 0, after: 0 };
      for (let k = 0; k < total; k++) {
        const st = new FaultyStorage({ db: new Uint8Array(0) });
        st.failAt = k;
        await rewrite(st, b, mode.journalMode).then(
          () => expect.unreachable(`no crash at op ${k}`),
          (e) => expect(e instanceof CrashError || (isQuireError(e) && e.code === 'IOERR' && e.cause instanceof CrashError), String(e)).toBe(true),
        );
        for (const outcome of outcomes(random)) {
          const [bySqlite, byQuire] = await recoveredBoth(dir, `e-${k}`, st.crashImage(outcome));
          expect([empty, dumpB], `crash at op ${k}/${total}`).toContain(bySqlite);
          expect(byQuire, `quire recovery, crash at op ${k}/${total}`).toBe(bySqlite);
          if (bySqlite === empty) seen.before++;
          else seen.after++;
        }
      }
      expect(seen.before).toBeGreaterThan(0);
      expect(seen.after).toBeGreaterThan(0);
    }, 300_000);
  }
});

/** The files after a crash (or none), as SQLite and as quire (opened for writing) recover them. */
async function recoveredBoth(dir: string, tag: string, files: Partial<Record<FileKind, Uint8Array>>): Promise<[string, string]> {
  const got = dump(materialize(dir, `sqlite-${tag}.db`, files));
  const mem = new MemoryStorage(files);
  const p = await Pager.open(mem, { readOnly: false });
  await p.close();
  const quireFiles: Partial<Record<FileKind, Uint8Array>> = { db: mem.getFile('db')! };
  const w = mem.getFile('wal');
  if (w) quireFiles.wal = w;
  return [got, dump(materialize(dir, `quire-${tag}.db`, quireFiles))];
}

describe('crash at every step of a spilled transaction that rolls back', () => {
  for (const mode of MODES) {
    it(`${mode.name}: the database is as before, whatever survives`, async () => {
      const dir = tempDir();
      const { a, b, dumpA } = makePair(dir, mode.wal);
      const clean = new FaultyStorage({ db: a });
      await rewrite(clean, b, mode.journalMode, { spill: true, rollback: true });
      const total = clean.ops;
      expect(total).toBeGreaterThan(0);
      // The rollback put the file back: no journal left that could be rolled back again.
      const after = clean.current();
      expect(after.journal === undefined || after.journal.length === 0 || after.journal[0] === 0).toBe(true);
      if (!mode.wal) expect(after.db!.length).toBe(a.length);
      expect(await recoveredBoth(dir, 'clean', after)).toEqual([dumpA, dumpA]);
      const random = rng(99 + total);
      for (let k = 0; k < total; k++) {
        const st = new FaultyStorage({ db: a });
        st.failAt = k;
        // A crash inside a spill is not the statement's failure (the spill is retried, the
        // rollback then finds the storage gone, or, in WAL mode, has nothing to write).
        await rewrite(st, b, mode.journalMode, { spill: true, rollback: true }).then(
          () => undefined,
          (e) => expect(e instanceof CrashError || (isQuireError(e) && e.code === 'IOERR' && e.cause instanceof CrashError), String(e)).toBe(true),
        );
        expect(st.crashed).toBe(true);
        for (let trial = 0; trial < 3; trial++) {
          expect(await recoveredBoth(dir, `${k}-${trial}`, st.crashImage(random)), `crash at op ${k}/${total}`).toEqual([dumpA, dumpA]);
        }
      }
    }, 300_000);
  }
});

/**
 * Crash outcomes for FaultyStorage.crashImage: every unsynced operation lost; every one landed;
 * every write torn (every other 512-byte sector lands) — deterministic — and `random` twice.
 */
function outcomes(random: () => number): Array<() => number> {
  let i = 0;
  const tearing = () => (i++ % 2 === 0 ? 0.5 : 0.3);
  return [() => 0, () => 0.99, tearing, random, random];
}

/** A database made by SQLite with `rows` rows of table t (and an index), in rollback mode. */
function sqliteDb(dir: string, name: string, pageSize: number, rows: number): { bytes: Uint8Array; dump: string } {
  const f = path.join(dir, name);
  const db = new BetterSqlite(f);
  db.pragma(`page_size = ${pageSize}`);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB); CREATE INDEX tv ON t(v)');
  const ins = db.prepare('INSERT INTO t(v, b) VALUES (?, randomblob(?))');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(`${name}-${i}`, i % 5 === 0 ? 3000 : 100);
  })();
  db.close();
  return { bytes: new Uint8Array(readFileSync(f)), dump: dump(f) };
}

/** Backs `source` up into the database in `storage` (a rollback-mode destination). */
async function backupInto(storage: FaultyStorage, source: Uint8Array, journalMode: JournalMode): Promise<void> {
  const src = await Database.open(new MemoryStorage({ db: source, readOnly: true }));
  const dest = await Database.open(storage, { readOnly: false, journalMode });
  try {
    await backup(src, dest, { journalMode: 'rollback' });
  } finally {
    await dest.close().catch(() => undefined);
    await src.close();
  }
}

describe('crash at every step of a backup into an existing database', () => {
  // The destination (1024-byte pages, 300 rows) receives a larger copy with its page size, a
  // copy with another page size, and a smaller copy (the file shrinks).
  const SOURCES = [
    { name: 'larger, same page size', pageSize: 1024, rows: 700 },
    { name: 'another page size', pageSize: 4096, rows: 500 },
    { name: 'smaller', pageSize: 512, rows: 20 },
  ];
  for (const mode of MODES.filter((m) => !m.wal)) {
    for (const source of SOURCES) {
      it(`${mode.name}, ${source.name}: SQLite and quire find the old destination or the whole copy`, async () => {
        const dir = tempDir();
        const old = sqliteDb(dir, 'dest.db', 1024, 300);
        const copy = sqliteDb(dir, 'src.db', source.pageSize, source.rows);
        expect(old.dump).not.toBe(copy.dump);

        const clean = new FaultyStorage({ db: old.bytes });
        await backupInto(clean, copy.bytes, mode.journalMode);
        const total = clean.ops;
        expect(total).toBeGreaterThan(4);
        expect(await recoveredBoth(dir, 'clean', clean.current())).toEqual([copy.dump, copy.dump]);

        const seen = { before: 0, after: 0 };
        const random = rng(4321 + total);
        for (let k = 0; k < total; k++) {
          const st = new FaultyStorage({ db: old.bytes });
          st.failAt = k;
          const err = await backupInto(st, copy.bytes, mode.journalMode).then(
            () => null,
            (e: unknown) => e,
          );
          expect(err instanceof CrashError || (isQuireError(err) && err.code === 'IOERR' && err.cause instanceof CrashError), String(err)).toBe(true);
          for (const [trial, outcome] of outcomes(random).entries()) {
            // The crash image is written to disk, hot journal included, for SQLite to recover.
            const [bySqlite, byQuire] = await recoveredBoth(dir, `b-${k}-${trial}`, st.crashImage(outcome));
            expect([old.dump, copy.dump], `crash at op ${k}/${total}, trial ${trial}`).toContain(bySqlite);
            expect(byQuire, `quire recovery, crash at op ${k}/${total}, trial ${trial}`).toBe(bySqlite);
            if (bySqlite === old.dump) seen.before++;
            else seen.after++;
          }
        }
        expect(seen.before).toBeGreaterThan(0);
        expect(seen.after).toBeGreaterThan(0);
      }, 300_000);
    }
  }
});
