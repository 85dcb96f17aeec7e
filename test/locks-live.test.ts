/**
 * quire beside a live SQLite in another process (issue 10): a child process with
 * better-sqlite3, driven over IPC to a known state (never a sleep), holds a write transaction
 * (changes in cache, or spilled into the file), a read transaction, or crashes (kill -9); a
 * read-only WAL reader leaves a stale -shm. For each: what quire's write, copy and recover do,
 * and that SQLite's own transaction then commits and the file passes integrity_check with
 * both writers' rows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { backupFile, Database as QuireDatabase, NodeFileStorage, openDatabase, recoverFile } from '../src/node/index.js';
import { isQuireError } from '../pager/errors.js';
import { tempDir } from './util/tmp.js';
import { cli as quireCli } from './cli/run.js';

const LINUX = existsSync('/proc/locks');

const PEER = `
const Database = require('better-sqlite3');
let db;
process.on('message', (m) => {
  let result, error;
  try {
    if (m.cmd === 'open') { db = new Database(m.file); for (const p of m.pragmas || []) db.pragma(p); }
    else if (m.cmd === 'exec') db.exec(m.sql);
    else if (m.cmd === 'close') db.close();
    else if (m.cmd === 'all') result = db.prepare(m.sql).all();
    else if (m.cmd === 'insert') { const st = db.prepare('INSERT INTO t(who, pad) VALUES (?, randomblob(?))'); for (let i = 0; i < m.n; i++) st.run(m.who, m.pad); }
  } catch (e) { error = { code: e.code, message: e.message }; }
  process.send({ id: m.id, result, error });
});
`;

interface Peer {
  proc: ChildProcess;
  send(cmd: Record<string, unknown>): Promise<unknown>;
  kill9(): Promise<void>;
}

const peers: Peer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) if (p.proc.exitCode === null && p.proc.signalCode === null) await p.kill9();
});

function peer(dir: string): Peer {
  const script = path.join(dir, 'peer.cjs');
  writeFileSync(script, PEER);
  const proc = fork(script, [], { cwd: process.cwd(), env: { ...process.env, NODE_PATH: path.join(process.cwd(), 'node_modules') }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  proc.on('message', (m: { id: number; result?: unknown; error?: { code: string; message: string } }) => {
    const w = waiting.get(m.id)!;
    waiting.delete(m.id);
    if (m.error) w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    else w.resolve(m.result);
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const p: Peer = {
    proc,
    send: (cmd) =>
      new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        proc.send({ id, ...cmd });
      }),
    kill9: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
  peers.push(p);
  return p;
}

/** A rollback-mode (or WAL) database with table t(who, pad) and `n` rows by 'setup'. */
function makeDb(dir: string, mode: 'delete' | 'wal' = 'delete', n = 20): string {
  const file = path.join(dir, 'app.db');
  const db = new Database(file);
  db.pragma(`journal_mode = ${mode}`);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, who TEXT NOT NULL, pad BLOB)');
  const st = db.prepare("INSERT INTO t(who, pad) VALUES ('setup', randomblob(200))");
  for (let i = 0; i < n; i++) st.run();
  db.close();
  return file;
}

/** Rows by writer, after SQLite's integrity_check said ok. */
function sqliteView(file: string): Record<string, number> {
  const db = new Database(file);
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const out: Record<string, number> = {};
    for (const r of db.prepare('SELECT who, count(*) AS n FROM t GROUP BY who').all() as { who: string; n: number }[]) out[r.who] = r.n;
    return out;
  } finally {
    db.close();
  }
}

async function quireWrite(file: string, rows = 3): Promise<void> {
  const db = await openDatabase(file, { readOnly: false });
  try {
    for (let i = 0; i < rows; i++) await db.insert('t', { who: 'quire', pad: new Uint8Array(1) });
  } finally {
    await db.close();
  }
}

async function busy(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isQuireError(e) && e.code === 'BUSY') return e.message;
    throw e;
  }
  throw new Error('expected BUSY, got success');
}

describe.runIf(LINUX)('beside a live SQLite process (/proc/locks)', () => {
  it('SQLite inside BEGIN IMMEDIATE, changes in its cache: quire write, copy and recover are BUSY naming RESERVED; SQLite commits; both rows kept', async () => {
    const dir = tempDir();
    const file = makeDb(dir);
    const s = peer(dir);
    await s.send({ cmd: 'open', file });
    await s.send({ cmd: 'exec', sql: 'BEGIN IMMEDIATE' });
    await s.send({ cmd: 'insert', who: 'sqlite', n: 5, pad: 100 });
    const pid = s.proc.pid!;
    const w = await busy(quireWrite(file));
    expect(w).toContain(`a SQLite process (pid ${pid}) holds RESERVED on ${file} (a write transaction is in progress)`);
    expect(w).toContain('retry when that transaction ends');
    const c = await busy(backupFile(file, path.join(dir, 'copy.db'), { timeout: 300, sleep: 20 }));
    expect(c).toMatch(/mid-transaction|RESERVED|busy/i);
    expect(await busy(recoverFile(file))).toContain('RESERVED');
    const q = await quireCli(['recover', file]);
    expect(q.code).toBe(3);
    expect(q.stderr).toContain(`a SQLite process (pid ${pid}) holds RESERVED on ${file}`);
    await s.send({ cmd: 'exec', sql: 'COMMIT' });
    await quireWrite(file);
    expect(sqliteView(file)).toEqual({ setup: 20, sqlite: 5, quire: 3 });
  });

  it('SQLite with pages spilled into the file (small cache): quire write BUSY naming EXCLUSIVE, the journal is not rolled back; SQLite commits; both rows kept', async () => {
    const dir = tempDir();
    const file = makeDb(dir);
    const s = peer(dir);
    await s.send({ cmd: 'open', file, pragmas: ['cache_size = 10'] });
    await s.send({ cmd: 'exec', sql: 'BEGIN IMMEDIATE' });
    await s.send({ cmd: 'insert', who: 'sqlite', n: 300, pad: 1000 });
    expect(existsSync(file + '-journal')).toBe(true);
    const w = await busy(quireWrite(file));
    expect(w).toMatch(/holds (EXCLUSIVE|PENDING) on/);
    // A reader of this process reads around the live journal (the last committed state).
    const r = await openDatabase(file, { readOnly: false });
    let n = 0;
    for await (const _ of r.rows('t')) n++;
    expect(n).toBe(20);
    await r.close();
    expect(existsSync(file + '-journal')).toBe(true);
    await s.send({ cmd: 'exec', sql: 'COMMIT' });
    await quireWrite(file);
    expect(sqliteView(file)).toEqual({ setup: 20, sqlite: 300, quire: 3 });
  });

  it('SQLite inside a read transaction: quire write BUSY naming SHARED, the copy goes ahead, recover BUSY; after it ends quire writes', async () => {
    const dir = tempDir();
    const file = makeDb(dir);
    const s = peer(dir);
    await s.send({ cmd: 'open', file });
    await s.send({ cmd: 'exec', sql: 'BEGIN' });
    expect(await s.send({ cmd: 'all', sql: 'SELECT count(*) AS n FROM t' })).toEqual([{ n: 20 }]);
    expect(await busy(quireWrite(file))).toContain('holds SHARED on');
    const copy = await backupFile(file, path.join(dir, 'copy.db'));
    expect(copy.snapshot.lockInfo).toBe(true);
    expect(sqliteView(path.join(dir, 'copy.db'))).toEqual({ setup: 20 });
    expect(await busy(recoverFile(file))).toContain('SHARED');
    // The reader's snapshot did not change under it.
    expect(await s.send({ cmd: 'all', sql: 'SELECT count(*) AS n FROM t' })).toEqual([{ n: 20 }]);
    await s.send({ cmd: 'exec', sql: 'COMMIT' });
    await quireWrite(file);
    await s.send({ cmd: 'insert', who: 'sqlite', n: 2, pad: 10 });
    expect(sqliteView(file)).toEqual({ setup: 20, sqlite: 2, quire: 3 });
  });

  it('an open WAL connection is BUSY (names the -shm); a read-only reader that exited leaves a stale -shm: quire writes, recover checkpoints, SQLite keeps both', async () => {
    const dir = tempDir();
    const file = makeDb(dir, 'wal');
    // A WAL left beside the file (no checkpoint at close), its -shm removed, then a read-only
    // sqlite3 reader creates a -shm and exits.
    const cli = (args: string[], input = '') => {
      const r = spawnSync('sqlite3', args, { input, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    cli([file], ".dbconfig no_ckpt_on_close on\nINSERT INTO t(who, pad) VALUES ('cli', x'00');\n");
    const s = peer(dir);
    await s.send({ cmd: 'open', file });
    expect(await s.send({ cmd: 'all', sql: 'SELECT count(*) AS n FROM t' })).toEqual([{ n: 21 }]);
    await s.send({ cmd: 'insert', who: 'sqlite', n: 2, pad: 10 });
    expect(await busy(quireWrite(file))).toMatch(/has the WAL database open through .*-shm \(locks: .*dms/);
    expect(await busy(recoverFile(file))).toContain('-shm');
    await s.kill9();
    // kill -9 released its locks and left its -wal and -shm; a read-only reader then exits.
    cli(['-readonly', file, 'SELECT count(*) FROM t']);
    expect(existsSync(file + '-shm')).toBe(true);
    expect(existsSync(file + '-wal')).toBe(true);
    // recover on a copy of the files: folds the WAL in, leaves the stale -shm.
    const other = path.join(dir, 'other.db');
    for (const suffix of ['', '-wal', '-shm']) copyFileSync(file + suffix, other + suffix);
    const r = await recoverFile(other);
    expect(r.action).toBe('checkpointed');
    expect(r.count).toBeGreaterThan(0);
    expect(r.message).toContain('the -shm is stale');
    expect(existsSync(other + '-wal') ? readFileSync(other + '-wal').length : 0).toBe(0);
    expect(sqliteView(other)).toEqual({ setup: 20, cli: 1, sqlite: 2 });
    // quire writes beside the stale -shm; SQLite rebuilds its index and writes after it.
    await quireWrite(file);
    cli([file], "INSERT INTO t(who, pad) VALUES ('cli', x'00');\n");
    expect(sqliteView(file)).toEqual({ setup: 20, cli: 2, sqlite: 2, quire: 3 });
  });

  it('a crashed writer (kill -9 mid-transaction, pages spilled): copy refuses the hot journal by default and applies it on request, recover rolls back, quire writes; SQLite sees only committed rows', async () => {
    const dir = tempDir();
    const file = makeDb(dir);
    const s = peer(dir);
    await s.send({ cmd: 'open', file, pragmas: ['cache_size = 10'] });
    await s.send({ cmd: 'insert', who: 'sqlite', n: 1, pad: 10 });
    await s.send({ cmd: 'exec', sql: 'BEGIN IMMEDIATE' });
    await s.send({ cmd: 'insert', who: 'lost', n: 300, pad: 1000 });
    await s.kill9();
    expect(existsSync(file + '-journal')).toBe(true);
    // Copy: the hot journal is refused by default, applied on request.
    expect(await busy(backupFile(file, path.join(dir, 'refused.db'), { timeout: 300, sleep: 20 }))).toMatch(/journal/);
    const copy = await backupFile(file, path.join(dir, 'copy.db'), { hotJournal: 'apply' });
    expect(copy.snapshot.journalApplied).toBe(true);
    expect(copy.snapshot.lockInfo).toBe(true);
    expect(sqliteView(path.join(dir, 'copy.db'))).toEqual({ setup: 20, sqlite: 1 });
    // recover on a copy of the crashed files; quire's write on the original.
    const other = path.join(dir, 'other.db');
    copyFileSync(file, other);
    copyFileSync(file + '-journal', other + '-journal');
    const q = await quireCli(['recover', other]);
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/rolled back a hot journal \(an interrupted transaction\): restored [1-9]\d* pages/);
    expect(existsSync(other + '-journal')).toBe(false);
    expect(sqliteView(other)).toEqual({ setup: 20, sqlite: 1 });
    const again = await recoverFile(other);
    expect(again.action).toBe('none');
    expect(again.message).toContain('nothing to recover');
    await quireWrite(file);
    expect(existsSync(file + '-journal')).toBe(false);
    expect(sqliteView(file)).toEqual({ setup: 20, sqlite: 1, quire: 3 });
    expect(readFileSync(file).length % 4096).toBe(0);
  });
});

describe.runIf(LINUX)('one quire Database kept open beside SQLite connections that come and go', () => {
  // Each commit looks at /proc/locks through a descriptor kept open from the first look, and
  // skips the stat of both files when no lock is on their device: a lock taken after that
  // first look, on either file, must still stop the next commit, and the writes SQLite made
  // meanwhile must be read, not overwritten.
  for (const mode of ['delete', 'wal'] as const) {
    it(`${mode}: a connection opened after quire's first commit makes the next one BUSY; after it closes quire commits on top of its rows`, async () => {
      const dir = tempDir();
      const file = makeDb(dir, mode);
      const db = await openDatabase(file, { readOnly: false });
      try {
        await db.insert('t', { who: 'quire', pad: null });
        const s = peer(dir);
        await s.send({ cmd: 'open', file });
        if (mode === 'delete') await s.send({ cmd: 'exec', sql: 'BEGIN IMMEDIATE' });
        await s.send({ cmd: 'insert', who: 'sqlite', n: 3, pad: 10 });
        const m = await busy(db.insert('t', { who: 'quire', pad: null }));
        expect(m).toContain(`pid ${s.proc.pid}`);
        expect(m).toContain(mode === 'wal' ? '-shm' : 'RESERVED');
        if (mode === 'delete') await s.send({ cmd: 'exec', sql: 'COMMIT' });
        await s.send({ cmd: 'close' });
        await db.insert('t', { who: 'quire', pad: null });
        let n = 0;
        for await (const _ of db.rows('t')) n++;
        expect(n).toBe(20 + 3 + 2);
      } finally {
        await db.close();
      }
      expect(sqliteView(file)).toEqual({ setup: 20, sqlite: 3, quire: 2 });
    });
  }
});

/** Runs sqlite3 on `file` with `sql` as its input; it must succeed. */
function cli(file: string, sql: string): void {
  const r = spawnSync('sqlite3', [file], { input: sql, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

/**
 * One quire Database inserts 30 rows, `between` runs (other processes at work), the same
 * Database inserts one more: the rows by writer as it then reads them.
 */
async function quireAround(file: string, between: () => void): Promise<Record<string, number>> {
  const db = await openDatabase(file, { readOnly: false });
  try {
    for (let i = 0; i < 30; i++) await db.insert('t', { who: 'quire', pad: null });
    between();
    await db.insert('t', { who: 'quire', pad: null });
    const who: Record<string, number> = {};
    for await (const row of db.rows('t')) who[String(row[2])] = (who[String(row[2])] ?? 0) + 1;
    return who;
  } finally {
    await db.close();
  }
}

describe.runIf(LINUX)('a WAL that another process reset between two commits of one quire Database', () => {
  // Between commits quire looks only at the WAL (its size and header), not the db file: a
  // SQLite writer that restarts the log (a checkpoint, then new salts from frame 1) leaves a
  // WAL of the same size, so only the header tells. quire must read the new log, not append
  // to the old one.
  it('sqlite3 restarts the log and commits, leaving it at the same size: quire reads its row and commits after it', async () => {
    const file = makeDb(tempDir(), 'wal');
    const who = await quireAround(file, () => {
      const size = statSync(file + '-wal').size;
      const head = readFileSync(file + '-wal').subarray(0, 32);
      cli(file, ".dbconfig no_ckpt_on_close on\nPRAGMA wal_checkpoint(RESTART);\nINSERT INTO t(who, pad) VALUES ('cli', x'00');\n");
      expect(statSync(file + '-wal').size).toBe(size);
      expect(readFileSync(file + '-wal').subarray(0, 32).equals(head)).toBe(false);
    });
    expect(who).toEqual({ setup: 20, quire: 31, cli: 1 });
    expect(sqliteView(file)).toEqual({ setup: 20, quire: 31, cli: 1 });
  });
});

describe.runIf(LINUX)('a WAL that another process deleted and made anew between two commits of one quire Database', () => {
  // Between commits quire reads the WAL through the descriptor it holds, and, without a stat,
  // tells from /proc/self/fd that it is still the file named -wal. SQLite deletes the WAL when
  // its last connection closes (after checkpointing it), and the next one makes a new file:
  // the old descriptor then reads the deleted log, unchanged; quire must read the new one.
  it('sqlite3 checkpoints and deletes the log, another sqlite3 commits into a new one: quire reads its row and commits after it', async () => {
    const file = makeDb(tempDir(), 'wal');
    const who = await quireAround(file, () => {
      // A reader: closing, it checkpoints quire's log and deletes it, leaving its bytes as they were.
      cli(file, 'SELECT count(*) FROM t;\n');
      expect(existsSync(file + '-wal')).toBe(false);
      cli(file, ".dbconfig no_ckpt_on_close on\nINSERT INTO t(who, pad) VALUES ('cli', x'00');\n");
      expect(existsSync(file + '-wal')).toBe(true);
    });
    expect(who).toEqual({ setup: 20, quire: 31, cli: 1 });
    expect(sqliteView(file)).toEqual({ setup: 20, quire: 31, cli: 1 });
  });
});

describe('where locks cannot be seen (a storage without locks())', () => {
  it('keeps the conservative rules: a -shm beside a WAL database is BUSY saying how to get unstuck', async () => {
    const dir = tempDir();
    const file = makeDb(dir, 'wal');
    writeFileSync(file + '-shm', new Uint8Array(32768));
    const fs = await NodeFileStorage.open(file, { readOnly: false });
    const blind = Object.assign(Object.create(fs) as NodeFileStorage, { locks: undefined });
    const db = await QuireDatabase.open(blind, { readOnly: false });
    try {
      const m = await busy(db.insert('t', { who: 'quire', pad: null }));
      expect(m).toContain('this platform does not show file locks');
      expect(m).toContain('quire recover --assume-unlocked');
    } finally {
      await db.close();
      await fs.close();
    }
    // Seen through /proc/locks, the same -shm is stale: the write goes ahead.
    if (LINUX) {
      await quireWrite(file, 1);
      expect(sqliteView(file)).toEqual({ setup: 20, quire: 1 });
    }
  });
});
