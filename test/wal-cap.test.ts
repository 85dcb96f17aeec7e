/**
 * The copier's cut of a WAL index back to a commit (src/backup/wal-cap.ts, cutWal): the cut
 * index answers as a scan that ended at that commit would, and a later incremental scan from
 * it (scanWal(storage, cut)) reads on from the next frame and finds what a fresh scan finds,
 * including when the frames after the cut were overwritten by other commits. The log is
 * written by real SQLite (better-sqlite3).
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../src/node/index.js';
import { scanWal, type WalIndex } from '../pager/wal.js';
import { cutWal } from '../src/backup/wal-cap.js';
import { tempDir } from './util/tmp.js';

/** What an index answers: its commit, the newest frame of every page up to it, its commit list. */
function view(w: WalIndex, maxPage: number) {
  const frames: number[] = [];
  for (let p = 1; p <= maxPage; p++) frames.push(w.frameFor(p));
  return { mxFrame: w.mxFrame, dbSize: w.dbSize, checksum: [...w.checksum], commits: w.commits.map((c) => ({ ...c })), frames, pages: w.pages().sort((a, b) => a - b) };
}

/** A WAL database (autocheckpoint off) with `commits` commits of 1..3 rows each; the connection stays open. */
function walDb(dir: string, commits: number): BetterSqlite.Database {
  const db = new BetterSqlite(path.join(dir, 'w.db'));
  db.pragma('journal_mode = wal');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, pad BLOB)');
  const ins = db.prepare('INSERT INTO t(pad) VALUES (randomblob(1500))');
  for (let i = 0; i < commits; i++) db.transaction(() => {
    for (let r = 0; r <= i % 3; r++) ins.run();
  })();
  return db;
}

describe('cutWal', () => {
  it('a cut at each commit answers as the scan up to it, and a rescan from the cut finds the whole log again', async () => {
    const dir = tempDir();
    const db = walDb(dir, 12);
    const st = await openDatabase(path.join(dir, 'w.db'));
    try {
      const full = (await scanWal(st.storage)).index!;
      const n = full.commits.length;
      expect(n).toBeGreaterThan(10);
      const maxPage = full.dbSize;
      const whole = view(full, maxPage);
      for (let k = 0; k <= n; k++) {
        const s = (await scanWal(st.storage)).index!;
        const x = k > 0 ? s.commits[k - 1].frame : 0;
        const cks = k > 0 ? checksumAt(dir, s.pageSize, x) : new Uint32Array([s.header.checksum1, s.header.checksum2]);
        const cut = cutWal(s, x, k, cks);
        const expected = {
          mxFrame: x,
          dbSize: k > 0 ? full.commits[k - 1].dbSize : 0,
          commits: whole.commits.slice(0, k),
          frames: [] as number[],
          pages: [] as number[],
        };
        for (let p = 1; p <= maxPage; p++) expected.frames.push(full.frameFor(p, x));
        expected.pages = whole.pages.filter((p) => full.frameFor(p, x) > 0);
        const v = view(cut, maxPage);
        expect({ ...v, checksum: undefined }).toEqual({ ...expected, checksum: undefined });
        expect(v.checksum).toEqual([...cks]);
        const again = await scanWal(st.storage, cut);
        expect(view(again.index!, maxPage)).toEqual(whole);
        expect(again.kind).toBe(k === n ? 'same' : 'extended');
      }
    } finally {
      await st.close();
      db.close();
    }
  });

  it('frames after the cut overwritten by other commits: the rescan from the cut finds the new ones', async () => {
    const dir = tempDir();
    const db = walDb(dir, 6);
    const st = await openDatabase(path.join(dir, 'w.db'));
    try {
      const s = (await scanWal(st.storage)).index!;
      const k = 3;
      const x = s.commits[k - 1].frame;
      const cut = cutWal(s, x, k, checksumAt(dir, s.pageSize, x));
      // A second database whose log is the first x frames of this one (same salts and
      // checksums), continued by SQLite with other commits: what the frames after a cut look
      // like once the next writer has written over a phantom.
      const frameSize = 24 + s.pageSize;
      const dir2 = tempDir();
      const db2Path = path.join(dir2, 'w.db');
      writeFileSync(db2Path, readFileSync(path.join(dir, 'w.db')));
      writeFileSync(`${db2Path}-wal`, readFileSync(path.join(dir, 'w.db-wal')).subarray(0, 32 + x * frameSize));
      const db2 = new BetterSqlite(db2Path);
      db2.pragma('wal_autocheckpoint = 0');
      db2.exec('INSERT INTO t(pad) VALUES (randomblob(3000)); UPDATE t SET pad = zeroblob(10) WHERE id = 1;');
      const st2 = await openDatabase(db2Path);
      try {
        const fresh = (await scanWal(st2.storage)).index!;
        // The cut index of the first log describes the same first x frames of the second.
        const again = await scanWal(st2.storage, cut);
        expect(again.kind).toBe('extended');
        expect(view(again.index!, fresh.dbSize)).toEqual(view(fresh, fresh.dbSize));
        expect(fresh.mxFrame).toBeGreaterThan(x);
        expect(fresh.header).toEqual(s.header);
      } finally {
        await st2.close();
        db2.close();
      }
    } finally {
      await st.close();
      db.close();
    }
  });
});

/** The cumulative checksum after commit frame `frame`, from its frame header in the log file. */
function checksumAt(dir: string, pageSize: number, frame: number): Uint32Array {
  const b = readFileSync(path.join(dir, 'w.db-wal'));
  const at = 32 + (frame - 1) * (24 + pageSize);
  return new Uint32Array([b.readUInt32BE(at + 16), b.readUInt32BE(at + 20)]);
}
