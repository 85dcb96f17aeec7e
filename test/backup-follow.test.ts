/**
 * The WAL follower (src/backup/engine.ts) runs beside the copy loop: a log reset can be bridged
 * between a run's db-file read and the patching of that run's pages with their frames. The
 * pages read from the db file then hold the state the log they were read under describes (the
 * old generation), not the new one: each page must be patched from the old log's frames, the
 * bridge re-copying what changed after. Patched from the new log instead, a page whose last
 * change lived only in the old log's frames (checkpointed into the db file after the run read
 * it) kept its stale db-file image: a torn copy ('row N missing from index', seen under load).
 *
 * The same reset can tear a frame read: SQLite overwrites a frame's header, then its data, and
 * one read may return the old header with the new data (a page's image from another page).
 * The frame's header, read again after it, shows the new log: the page is re-copied.
 *
 * SQLite writes the source in this process (better-sqlite3, synchronous), at a point chosen
 * by a storage wrapper: when the run patches its first page from the log.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CopyEngine, type Storage } from '../src/index.js';
import { NodeFileStorage } from '../src/node/index.js';
import { WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE, frameOffset } from '../pager/wal.js';
import { ImageSink } from './live/image-sink.js';
import { tempDir } from './util/tmp.js';

/** The page numbers of the WAL's frames, in frame order. */
function walPages(file: string, ps: number): number[] {
  const wal = readFileSync(`${file}-wal`);
  const out: number[] = [];
  for (let off = WAL_HEADER_SIZE; off + WAL_FRAME_HEADER_SIZE + ps <= wal.length; off += WAL_FRAME_HEADER_SIZE + ps) out.push(wal.readUInt32BE(off));
  return out;
}

/**
 * `inner` with one read of the log intercepted, the first `hit` after a read of more than one
 * page from the db file (a run): `hook` runs after its bytes were read and before they are
 * handed back (a read that finished, its caller not yet resumed); what it returns, if
 * anything, is handed back instead.
 */
function interceptWalRead(
  inner: Storage,
  ps: number,
  hit: (offset: number, length: number) => boolean,
  hook: (read: Uint8Array) => Promise<Uint8Array | void>,
): Storage {
  let fired = false;
  let runRead = false;
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'readInto') {
        return async (kind: 'db' | 'wal', offset: number, dest: Uint8Array) => {
          const n = await target.readInto!(kind, offset, dest);
          if (kind === 'db' && dest.length > ps) runRead = true;
          return n;
        };
      }
      if (prop === 'read') {
        return async (kind: 'db' | 'wal', offset: number, length: number) => {
          const b = await target.read(kind, offset, length);
          if (kind === 'db' && length > ps) runRead = true;
          if (kind === 'wal' && runRead && !fired && hit(offset, length)) {
            fired = true;
            return (await hook(b)) ?? b;
          }
          return b;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('the WAL follower beside the copy loop', () => {
  for (const torn of [false, true]) {
    const name = torn
      ? 'a frame read torn by the new log (the old header, the new frame\'s data): the frame is taken as overwritten and its page re-copied; the copy is the last commit'
      : 'a reset bridged while a run patches its pages: the run is patched from the log it was read under; the copy is the last commit, not torn';
    it(name, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'src.db');
      const setup = new BetterSqlite(file);
      setup.pragma('journal_mode = wal');
      setup.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER NOT NULL, pad BLOB); CREATE INDEX t_v ON t(v)');
      const ins = setup.prepare('INSERT INTO t(id, v, pad) VALUES (?, 0, randomblob(300))');
      setup.transaction(() => {
        for (let i = 1; i <= 3000; i++) ins.run(i);
      })();
      setup.close(); // checkpointed: the db file holds everything, no log

      const writer = new BetterSqlite(file);
      writer.pragma('wal_autocheckpoint = 0');
      const ps = writer.pragma('page_size', { simple: true }) as number;
      // Commit A: two table leaves, far apart, live only in the log (generation G).
      writer.prepare('UPDATE t SET v = 1 WHERE id IN (5, 2900)').run();
      const framesA = walPages(file, ps);
      const leaves = [...new Set(framesA)].sort((a, b) => a - b);
      const firstPatched = leaves[0];
      const frameOfFirst = framesA.lastIndexOf(firstPatched) + 1;

      const source = await NodeFileStorage.open(file);
      let engine: CopyEngine | null = null;
      let bridgedInTime = false;
      const wrapped = interceptWalRead(
        source,
        ps,
        // The run's first frame read.
        (offset, length) => offset === frameOffset(ps, frameOfFirst) && length === WAL_FRAME_HEADER_SIZE + ps,
        async (read) => {
          // The run has read the db file (commit A's pages there are stale). Now SQLite
          // checkpoints everything into the db file and restarts the log (commit B, generation
          // G+1, one page that is neither of A's).
          writer.pragma('wal_checkpoint(RESTART)');
          writer.prepare('UPDATE t SET v = 2 WHERE id = 1500').run();
          // The follower sees the new log and bridges the reset while this read is held.
          for (let i = 0; i < 2000 && engine!.resetsBridged === 0; i++) await new Promise((r) => setTimeout(r, 1));
          bridgedInTime = engine!.resetsBridged > 0;
          if (!torn) return;
          // Torn: the read copied the frame's header before SQLite overwrote the frame, and
          // its data after (SQLite writes a frame's header, then its data, in two writes).
          const now = await source.read('wal', frameOffset(ps, frameOfFirst), WAL_FRAME_HEADER_SIZE + ps);
          const t = read.slice();
          t.set(now.subarray(WAL_FRAME_HEADER_SIZE), WAL_FRAME_HEADER_SIZE);
          expect(t.subarray(WAL_FRAME_HEADER_SIZE)).not.toEqual(read.subarray(WAL_FRAME_HEADER_SIZE));
          return t;
        },
      );
      const sink = new ImageSink();
      engine = new CopyEngine(wrapped, sink);
      try {
        let st = await engine.step(-1);
        for (let i = 0; st === 'OK' && i < 10; i++) st = await engine.step(-1);
        expect(st).toBe('DONE');
        expect(bridgedInTime).toBe(true);
        expect(engine.result!.resetsBridged).toBe(1);
        expect(engine.result!.repasses + engine.result!.restarts).toBe(0);
      } finally {
        engine.release();
        await source.close();
      }
      const out = path.join(dir, 'copy.db');
      writeFileSync(out, sink.image);
      const want = writer.prepare('SELECT id, v FROM t WHERE v <> 0 ORDER BY id').all();
      writer.close();
      expect(want).toEqual([
        { id: 5, v: 1 },
        { id: 1500, v: 2 },
        { id: 2900, v: 1 },
      ]);
      const copy = new BetterSqlite(out, { readonly: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(copy.prepare('SELECT id, v FROM t WHERE v <> 0 ORDER BY id').all()).toEqual(want);
      } finally {
        copy.close();
      }
    });
  }
});
