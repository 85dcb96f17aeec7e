/**
 * Review of the -shm commit-counter bridge (issue 9): cases where iChange minus the new log's
 * commit frames equals the anchor's count although a commit the copier never scanned reached
 * the old log (and, through the checkpoint, the db file). Every write here is made by real
 * SQLite in a child process (better-sqlite3 through node, or the sqlite3 CLI), between the
 * copier's steps; the copy must still be the source's last commit.
 *
 *   recovery   iChange is not a durable count: walIndexRecover zeroes the header, and a
 *              recovery runs whenever the -shm is rebuilt (the first connection after every
 *              process using the database died). Counting restarts at 0, so c commits after
 *              the recovery repeat the anchor's count c exactly.
 *   padding    with psow=0 (no powersafe overwrite) and synchronous=FULL, walFrames pads every
 *              commit to a sector boundary with copies of its commit frame, each a commit frame
 *              with the db size; iChange counts the commit once. The new log's commit frames
 *              then overcount its commits, hiding as many unscanned commits of the old log.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CopyEngine } from '../src/index.js';
import { openDatabase } from '../src/node/index.js';
import { ImageSink } from './live/image-sink.js';
import { scanWal } from '../pager/wal.js';
import { readShmHint } from '../pager/shm.js';
import { tempDir } from './util/tmp.js';
import { copyAll, copyAround, createCounterDb, untilBridged } from './util/counter-db.js';

const ROWS = 6000;
const ROOT = path.resolve(__dirname, '..');

/** A WAL database of ROWS rows (id, v = 0, a 300-byte pad), every connection closed. */
function create(dir: string): string {
  const file = path.join(dir, 'src.db');
  createCounterDb(file, ROWS).close();
  return file;
}

/**
 * Runs `ops` in a child node process with its own better-sqlite3 connection: 'bump:ID' (one
 * transaction adding 1 to row ID's v) or 'truncate' (wal_checkpoint(TRUNCATE)); then the
 * child is killed (SIGKILL: a crash, the -wal and -shm stay as they are).
 */
function crashingWriter(file: string, ops: string[]): void {
  const code = `
    const D = require('better-sqlite3');
    const db = new D(${JSON.stringify(file)});
    const bump = db.prepare('UPDATE t SET v = v + 1 WHERE id = ?');
    for (const op of ${JSON.stringify(ops)}) {
      if (op === 'truncate') {
        const r = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').raw().get();
        if (r[0] !== 0) throw new Error('checkpoint busy');
      } else db.transaction(() => bump.run(Number(op.slice(5))))();
    }
    process.kill(process.pid, 'SIGKILL');
  `;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8' });
  if (r.signal !== 'SIGKILL') throw new Error(`writer failed: ${r.status} ${r.stderr}`);
}

/**
 * A sqlite3 CLI process kept open on a URI (so URI parameters such as psow apply): `run`
 * resolves once the SQL is done. One process all along: its connection is the one that
 * restarts the log (so the new log's salt-1 is the old one + 1), and the -shm pages it writes
 * are mapped writable before the copy starts (a first write to a mapped page can move the
 * file's times, which the copier would take for a rebuilt -shm).
 */
function cliSession(uri: string) {
  const p = spawn('sqlite3', ['-bail', uri], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let waiting: { tag: string; resolve: () => void; reject: (e: Error) => void } | null = null;
  const check = () => {
    if (!waiting) return;
    if (err) waiting.reject(new Error(`sqlite3: ${err}`));
    else if (out.includes(waiting.tag)) waiting.resolve();
    else return;
    waiting = null;
  };
  p.stdout.on('data', (d) => ((out += d), check()));
  p.stderr.on('data', (d) => ((err += d), check()));
  let n = 0;
  return {
    run(sql: string): Promise<void> {
      const tag = `@@done${++n}@@`;
      return new Promise<void>((resolve, reject) => {
        waiting = { tag, resolve, reject };
        p.stdin.write(`${sql}\n.print ${tag}\n`);
      });
    },
    close(): Promise<void> {
      return new Promise<void>((resolve) => {
        p.on('exit', () => resolve());
        p.stdin.end();
      });
    },
  };
}

function rowsOf(file: string): Array<{ id: number; v: number }> {
  const db = new BetterSqlite(file, { readonly: file.endsWith('copy.db') });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    return db.prepare('SELECT id, v FROM t ORDER BY id').all() as Array<{ id: number; v: number }>;
  } finally {
    db.close();
  }
}

/** A copy around `between` (test/util/counter-db.ts), checked: it holds the source's last commit. */
async function checkedCopy(file: string, dir: string, between: () => void | Promise<void>) {
  const { image, ...counters } = await copyAround(file, between);
  const out = path.join(dir, 'copy.db');
  writeFileSync(out, image);
  expect(rowsOf(out)).toEqual(rowsOf(file));
  return counters;
}

/**
 * A copy around `between`, SQL run by one sqlite3 CLI session with psow=0 and synchronous=FULL
 * (every commit padded to a 4096-byte sector with copies of its commit frame).
 */
async function paddedCopy(between: string) {
  const dir = tempDir();
  const file = create(dir);
  const sql = cliSession(`file:${file}?psow=0`);
  try {
    await sql.run('PRAGMA synchronous=FULL; PRAGMA wal_checkpoint(TRUNCATE); UPDATE t SET v = v + 1 WHERE id = 1;');
    const r = await checkedCopy(file, dir, () => sql.run(between));
    return { r, file };
  } finally {
    await sql.close();
  }
}

describe('the -shm commit counter does not hide an unscanned commit', () => {
  it('recovery between the anchor and the reset (a crashed writer, then a new one that commits, TRUNCATEs and commits): the copy is the last commit', async () => {
    const dir = tempDir();
    const file = create(dir);
    // A fresh -shm counts from 0: after this commit iChange is 1, the copier's anchor.
    crashingWriter(file, ['bump:1']);
    const r = await checkedCopy(file, dir, () => {
      // A new writer (the old one crashed): its recovery restarts iChange at 0. One commit the
      // copier does not scan (row 7's page is already copied) brings it back to 1; then a
      // TRUNCATE and a commit into the new log.
      crashingWriter(file, ['bump:7', 'truncate', 'bump:5000']);
    });
    expect(r).toMatchObject({ repasses: 1, restarts: 0 });
    expect(rowsOf(file)[6].v).toBe(1);
  });

  it('recovery without a crash (persistent WAL: each sqlite3 session ends cleanly, the next one rebuilds the -shm): the copy is the last commit', async () => {
    const dir = tempDir();
    const file = create(dir);
    // Each call is one sqlite3 session that keeps the -wal (and -shm) when it closes.
    const session = (...sql: string[]) => {
      const r = spawnSync('sqlite3', [file, '.filectrl persist_wal 1', ...sql], { encoding: 'utf8' });
      if (r.status !== 0 || r.stderr) throw new Error(`sqlite3 failed: ${r.status} ${r.stderr}`);
    };
    session('UPDATE t SET v = v + 1 WHERE id = 1;');
    const r = await checkedCopy(file, dir, () => {
      // The next session is the first connection: it rebuilds the -shm (iChange from 0).
      session('UPDATE t SET v = v + 1 WHERE id = 7;', 'PRAGMA wal_checkpoint(TRUNCATE);', 'UPDATE t SET v = v + 1 WHERE id = 5000;');
    });
    expect(r).toMatchObject({ repasses: 1, restarts: 0 });
    expect(rowsOf(file)[6].v).toBe(1);
  });

  it('psow=0 and synchronous=FULL (every commit padded with copies of its commit frame), a commit the copier did not scan: a re-pass; the copy is the last commit', async () => {
    // One commit the copier does not scan (row 7's page is already copied); then the TRUNCATE
    // and one commit into the new log, padded by one frame.
    const { r, file } = await paddedCopy('UPDATE t SET v = v + 1 WHERE id = 7; PRAGMA wal_checkpoint(TRUNCATE); UPDATE t SET v = v + 1 WHERE id = 5000;');
    expect(r).toMatchObject({ repasses: 1, restarts: 0 });
    expect(rowsOf(file)[6].v).toBe(1);
  });

  it('psow=0 and synchronous=FULL, no commit missed: the padding frames are not counted as commits, bridged', async () => {
    const { r } = await untilBridged(async () => {
      const p = await paddedCopy('PRAGMA wal_checkpoint(TRUNCATE); UPDATE t SET v = v + 1 WHERE id = 5000; UPDATE t SET v = v + 1 WHERE id = 5001;');
      return { ...p, repasses: p.r.repasses };
    });
    expect(r).toMatchObject({ repasses: 0, restarts: 0 });
    expect(r.bridged).toBeGreaterThanOrEqual(1);
  });
});

/**
 * Not the counter (before 87e42b5 too): a writer killed after its commit frame reached the log
 * (synchronous=FULL: during the WAL's fsync) and before it published the -shm header leaves a
 * valid commit in the log that no connection sees while another process keeps the -shm: the
 * next writer appends at the header's mxFrame, over it. The copier, which reads the log
 * without -shm, took it as committed: the copy held row 7 one higher than any reader saw. Now
 * the copier caps its scans at the -shm header while a connection holds the -shm (see
 * "phantom" in src/backup/engine.ts). The first case makes the phantom as it happens (a writer
 * killed at random, tried until one dies in the window); the others make it exactly: a commit
 * by a second connection, then the -shm's two header copies written back as they were before
 * it (what readers see is the header; SQLite's next writer clears the hash entries past
 * mxFrame, walCleanupHash, as after a real crash).
 */
describe('a commit whose writer died before publishing it (phantom frames)', () => {
  it('the copy is a state SQLite readers saw (before or after the next commit)', async () => {
    const dir = tempDir();
    const file = create(dir);
    const holder = new BetterSqlite(file);
    const source = await openDatabase(file);
    const state = () => holder.prepare('SELECT id, v FROM t ORDER BY id').all();
    try {
      holder.prepare('UPDATE t SET v = v + 1 WHERE id = 1').run();
      let phantom = false;
      for (let attempt = 0; attempt < 60 && !phantom; attempt++) {
        const code = `
          const D = require('better-sqlite3');
          const db = new D(${JSON.stringify(file)});
          db.pragma('synchronous = FULL');
          db.pragma('busy_timeout = 5000');
          const u = db.prepare('UPDATE t SET v = v + 1 WHERE id = 7');
          process.send('ready');
          for (;;) u.run();
        `;
        const c = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        await new Promise((r) => c.once('message', r));
        await new Promise((r) => setTimeout(r, 3 + attempt));
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await exited;
        const scan = await scanWal(source.storage);
        const shm = await readShmHint(source.storage, scan.index?.header);
        phantom = !!scan.index && !!shm && scan.index.mxFrame > shm.mxFrame;
      }
      expect(phantom).toBe(true);
      const before = state();
      const image = await copyAll(source.storage);
      // The next commit, by a connection that never saw the phantom one: over its frames.
      holder.prepare('UPDATE t SET v = v + 1 WHERE id = 5000').run();
      const after = state();
      const out = path.join(dir, 'copy.db');
      writeFileSync(out, image);
      expect([before, after]).toContainEqual(rowsOf(out));
    } finally {
      await source.close();
      holder.close();
    }
  }, 60_000);
  /**
   * Runs `sql` as a commit no reader sees: a second connection commits it, then the -shm's
   * WalIndexHdr copies (bytes 0..95) are written back as they were. Another connection must
   * hold the -shm (else the second one's close checkpoints and removes the log). The -shm is
   * read and written by a child process: closing a descriptor of it here would drop the POSIX
   * locks of every connection in this process.
   */
  function unpublishedCommit(file: string, sql: string): void {
    const shm = JSON.stringify(`${file}-shm`);
    const saved = spawnSync(process.execPath, ['-e', `process.stdout.write(require('fs').readFileSync(${shm}).subarray(0, 96).toString('hex'))`], { encoding: 'utf8' });
    expect(saved.stdout).toHaveLength(192);
    const w = new BetterSqlite(file);
    w.exec(sql);
    w.close();
    const back = `const fs = require('fs'); const fd = fs.openSync(${shm}, 'r+'); fs.writeSync(fd, Buffer.from('${saved.stdout}', 'hex'), 0, 96, 0);`;
    expect(spawnSync(process.execPath, ['-e', back]).status).toBe(0);
  }

  async function expectPhantom(file: string): Promise<void> {
    const st = await openDatabase(file);
    try {
      const scan = await scanWal(st.storage);
      const shm = await readShmHint(st.storage, scan.index?.header);
      expect(scan.index && shm && scan.index.mxFrame > shm.mxFrame).toBe(true);
    } finally {
      await st.close();
    }
  }

  /**
   * A database whose row 1 an open connection in this process (`holder`, which keeps the
   * -shm) bumped, and whose row 7 a phantom commit bumps: the holder still reads it as 0.
   */
  async function heldPhantom(dir: string) {
    const file = create(dir);
    const holder = new BetterSqlite(file);
    holder.prepare('UPDATE t SET v = v + 1 WHERE id = 1').run();
    unpublishedCommit(file, 'UPDATE t SET v = v + 1 WHERE id = 7');
    await expectPhantom(file);
    expect(holder.prepare('SELECT v FROM t WHERE id = 7').get()).toEqual({ v: 0 });
    return { file, holder };
  }

  it('followed: the next writer overwrites the phantom during the copy; the copy is its commit', async () => {
    const dir = tempDir();
    const { file, holder } = await heldPhantom(dir);
    try {
      const state = () => holder.prepare('SELECT id, v FROM t ORDER BY id').all();
      const { image } = await copyAround(file, () => {
        holder.prepare('UPDATE t SET v = v + 1 WHERE id = 5000').run();
      });
      const out = path.join(dir, 'copy.db');
      writeFileSync(out, image);
      expect(rowsOf(out)).toEqual(state());
    } finally {
      holder.close();
    }
  });

  it('a phantom in the old log, then a RESTART whose first commit is not published: the bridge does not take the phantom\'s (smaller) size; the copy is what readers see', async () => {
    const dir = tempDir();
    // auto_vacuum=FULL: a commit that deletes rows shrinks the database.
    const file = path.join(dir, 'src.db');
    const made = new BetterSqlite(file);
    made.pragma('auto_vacuum = FULL');
    made.close();
    createCounterDb(file, ROWS).close();
    const code = `
      const D = require('better-sqlite3');
      const db = new D(${JSON.stringify(file)});
      db.prepare('UPDATE t SET v = v + 1 WHERE id = 1').run();
      process.on('message', (m) => {
        if (m === 'restart') {
          const r = db.prepare('PRAGMA wal_checkpoint(RESTART)').raw().get();
          db.prepare('UPDATE t SET v = v + 1 WHERE id = 5000').run();
          process.send(r);
        } else process.send(db.prepare('SELECT id, v FROM t ORDER BY id').all());
      });
      process.send('ready');
      setInterval(() => {}, 1000);
    `;
    const c = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const ask = (m: string) => new Promise<unknown>((r) => { c.once('message', r); c.send(m); });
    try {
      await new Promise((r) => c.once('message', r));
      // The phantom shrinks the database by about half.
      unpublishedCommit(file, 'DELETE FROM t WHERE id > 3000');
      await expectPhantom(file);
      const shm = JSON.stringify(`${file}-shm`);
      const saved = spawnSync(process.execPath, ['-e', `process.stdout.write(require('fs').readFileSync(${shm}).subarray(0, 48).toString('hex'))`], { encoding: 'utf8' }).stdout;
      const { image, ...counters } = await copyAround(file, async () => {
        expect((await ask('restart')) as number[]).toEqual([0, expect.any(Number), expect.any(Number)]);
        // The header as walRestartHdr leaves it (new salts, mxFrame 0, the old log's count,
        // size and last checksum), as if the writer of the new log's first commit died
        // before publishing it.
        const back = `
          const fs = require('fs');
          const h = Buffer.from('${saved}', 'hex');
          const wal = fs.readFileSync(${JSON.stringify(`${file}-wal`)});
          wal.copy(h, 32, 16, 24);
          h.writeUInt32LE(0, 16);
          let s0 = 0, s1 = 0;
          for (let i = 0; i < 40; i += 8) { s0 = (s0 + h.readUInt32LE(i) + s1) >>> 0; s1 = (s1 + h.readUInt32LE(i + 4) + s0) >>> 0; }
          h.writeUInt32LE(s0, 40); h.writeUInt32LE(s1, 44);
          const fd = fs.openSync(${shm}, 'r+');
          fs.writeSync(fd, h, 0, 48, 48); fs.writeSync(fd, h, 0, 48, 0);
        `;
        expect(spawnSync(process.execPath, ['-e', back]).status).toBe(0);
      });
      const out = path.join(dir, 'copy.db');
      writeFileSync(out, image);
      const seen = (await ask('state')) as Array<{ id: number; v: number }>;
      // The trail is lost at the reset (a re-pass), not bridged with the phantom's size.
      expect(counters).toMatchObject({ bridged: 0, restarts: 0 });
      expect(seen).toHaveLength(ROWS);
      expect(seen[4999].v).toBe(0);
      expect(rowsOf(out)).toEqual(seen);
    } finally {
      c.kill('SIGKILL');
    }
  });

  /**
   * REVIEW3 finding (fails on phantom 33b4eec): the next writer's walRestartHdr has run (the
   * -shm header names the next log: salt-1 + 1, a new salt-2, mxFrame 0; nBackfill 0) but
   * its first frame, which writes the new WAL header, has not (it died there, or has not got
   * there yet). The WAL file is still the old log, whose phantom runs past the backfilled
   * frames; readers see the db file alone. publishedUpTo finds no header "of this log" and
   * the rounds return the scan whole: the copy holds the phantom.
   */
  it('a RESTART pending (the -shm names the next log, the WAL file is still the old one, a phantom past its checkpointed frames): the copy is what readers see', async () => {
    const dir = tempDir();
    const { file, holder } = await heldPhantom(dir);
    try {
      const r = holder.prepare('PRAGMA wal_checkpoint(PASSIVE)').raw().get() as number[];
      expect(r[0]).toBe(0);
      expect(r[1]).toBe(r[2]);
      const shm = JSON.stringify(`${file}-shm`);
      const restart = `
        const fs = require('fs');
        const fd = fs.openSync(${shm}, 'r+');
        const b = Buffer.alloc(136);
        fs.readSync(fd, b, 0, 136, 0);
        const h = b.subarray(0, 48);
        h.writeUInt32LE(0, 16);
        h.writeUInt32BE((h.readUInt32BE(32) + 1) >>> 0, 32);
        h.writeUInt32BE(0x5eed1234, 36);
        let s0 = 0, s1 = 0;
        for (let i = 0; i < 40; i += 8) { s0 = (s0 + h.readUInt32LE(i) + s1) >>> 0; s1 = (s1 + h.readUInt32LE(i + 4) + s0) >>> 0; }
        h.writeUInt32LE(s0, 40); h.writeUInt32LE(s1, 44);
        h.copy(b, 48, 0, 48);
        b.writeUInt32LE(0, 96);
        b.writeUInt32LE(0, 104);
        for (let i = 2; i < 5; i++) b.writeUInt32LE(0xffffffff, 100 + 4 * i);
        b.writeUInt32LE(0, 128);
        fs.writeSync(fd, b, 96, 40, 96);
        fs.writeSync(fd, b, 48, 48, 48);
        fs.writeSync(fd, b, 0, 48, 0);
      `;
      expect(spawnSync(process.execPath, ['-e', restart]).status).toBe(0);
      const seen = holder.prepare('SELECT id, v FROM t ORDER BY id').all() as Array<{ id: number; v: number }>;
      expect(seen[0].v).toBe(1);
      expect(seen[6].v).toBe(0);
      const source = await openDatabase(file);
      let image: Uint8Array;
      try {
        image = await copyAll(source.storage);
      } finally {
        await source.close();
      }
      const out = path.join(dir, 'copy.db');
      writeFileSync(out, image);
      expect(rowsOf(out)).toEqual(seen);
      // SQLite's own next commit takes the state as a restart pending: it writes the new log
      // from frame 1 (over the phantom), and row 7 stays 0.
      holder.prepare('UPDATE t SET v = v + 1 WHERE id = 5000').run();
      expect(holder.prepare('SELECT v FROM t WHERE id = 7').get()).toEqual({ v: 0 });
      expect(rowsOf(file)[6].v).toBe(0);
    } finally {
      holder.close();
    }
  });

  /**
   * REVIEW3 finding (fails on phantom 33b4eec): the -shm header read after the scan lands
   * while the next writer publishes (walIndexWriteHdr writes copy 1, then copy 0: a read in
   * between sees two copies that differ, which SQLite's readers retry). readShmHeader takes
   * that as "no header", publishedUpTo returns null and the scan, which read the phantom, is
   * taken whole without the lock look. The writer's commit has overwritten the phantom's
   * frames: later scans start past the phantom's end with its checksum and find nothing, so
   * the snapshot keeps the phantom's frame list over the new commit's bytes (row 7 from the
   * new commit, row 5000 from before it). Made exactly: a storage whose first -shm read runs
   * the commit in the holder and returns the header torn as that read would see it.
   */
  it('the -shm header read after the scan is torn (a writer publishing over the phantom): the copy is a state readers saw', async () => {
    const dir = tempDir();
    const { file, holder } = await heldPhantom(dir);
    const state = () => holder.prepare('SELECT id, v FROM t ORDER BY id').all() as Array<{ id: number; v: number }>;
    try {
      const before = state();
      const source = await openDatabase(file);
      let fired = false;
      const inner = source.storage;
      const torn = new Proxy(inner, {
        get(target, prop) {
          if (prop === 'read') {
            return async (kind: 'db' | 'wal' | 'shm' | 'journal', offset: number, length: number) => {
              if (kind === 'shm' && !fired) {
                fired = true;
                const pre = await inner.read('shm', 0, 136);
                holder.prepare('UPDATE t SET v = v + 10 WHERE id IN (7, 5000)').run();
                const post = await inner.read('shm', 0, 136);
                const b = new Uint8Array(post);
                b.set(pre.subarray(0, 48), 0);
                return b.subarray(offset, offset + length);
              }
              return inner.read(kind, offset, length);
            };
          }
          const v = Reflect.get(target, prop);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      let image: Uint8Array;
      try {
        image = await copyAll(torn);
      } finally {
        await source.close();
      }
      expect(fired).toBe(true);
      const after = state();
      expect(after[6].v).toBe(10);
      const out = path.join(dir, 'copy.db');
      writeFileSync(out, image);
      const got = rowsOf(out);
      // Rows 7 and 5000 as the copy has them, beside each state readers saw.
      expect([[before[6].v, before[4999].v], [after[6].v, after[4999].v]]).toContainEqual([got[6].v, got[4999].v]);
      expect([before, after]).toContainEqual(got);
    } finally {
      holder.close();
    }
  });

  /**
   * Found by review (REVIEW3): where locks cannot be seen (no Storage.locks: other runtimes;
   * or locks() null: Node off Linux), the scan was taken whole, phantom included; once the
   * next writer commits over the phantom during the copy, later scans extend the snapshot
   * from the phantom's end with the phantom's checksum, find nothing, and the snapshot keeps
   * the phantom's frame list, now holding the new commit's bytes: a copy no reader saw (row 7
   * from the new commit, row 5000 from before it). Not knowing whether the -shm is held now
   * counts as held: the scan is capped at the published header. Fails (the copy is [10, 0])
   * when shmHeld answers false for locks it cannot see.
   */
  it.each([
    ['no Storage.locks', undefined],
    ['locks() answers null', async () => null],
  ])('locks not visible (%s): a phantom, then overwritten by the next commit during the copy: the copy is one committed state', async (_name, locks) => {
    const dir = tempDir();
    const { file, holder } = await heldPhantom(dir);
    const state = () => holder.prepare('SELECT id, v FROM t ORDER BY id').all() as Array<{ id: number; v: number }>;
    try {
      const phantom = state().map((r) => (r.id === 7 ? { id: 7, v: 1 } : r));
      const source = await openDatabase(file);
      const blind = new Proxy(source.storage, {
        get(target, prop) {
          if (prop === 'locks') return locks;
          const v = Reflect.get(target, prop);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      const sink = new ImageSink();
      const engine = new CopyEngine(blind, sink);
      try {
        expect(await engine.step(1)).toBe('OK');
        holder.prepare('UPDATE t SET v = v + 10 WHERE id IN (7, 5000)').run();
        while ((await engine.step(-1)) !== 'DONE');
      } finally {
        engine.release();
        await source.close();
      }
      const after = state();
      const out = path.join(dir, 'copy.db');
      writeFileSync(out, sink.image);
      const got = rowsOf(out);
      expect([[1, 0], [10, 10]]).toContainEqual([got[6].v, got[4999].v]);
      expect([phantom, after]).toContainEqual(got);
    } finally {
      holder.close();
    }
  });

  it('the holder crashes during the copy (nobody keeps the -shm): the phantom is what the next opener recovers, and the copy holds it', async () => {
    const dir = tempDir();
    const file = create(dir);
    const code = `
      const D = require('better-sqlite3');
      const db = new D(${JSON.stringify(file)});
      db.prepare('UPDATE t SET v = v + 1 WHERE id = 1').run();
      process.send('ready');
      setInterval(() => {}, 1000);
    `;
    const c = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const exited = new Promise((r) => c.once('exit', r));
    try {
      await new Promise((r) => c.once('message', r));
      unpublishedCommit(file, 'UPDATE t SET v = v + 1 WHERE id = 7');
      await expectPhantom(file);
      const { image } = await copyAround(file, async () => {
        c.kill('SIGKILL');
        await exited;
      });
      const out = path.join(dir, 'copy.db');
      writeFileSync(out, image);
      // The first connection now rebuilds the -shm from the log: the phantom is committed.
      const rows = rowsOf(file);
      expect(rows[6].v).toBe(1);
      expect(rowsOf(out)).toEqual(rows);
    } finally {
      c.kill('SIGKILL');
    }
  });
});
