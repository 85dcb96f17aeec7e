/**
 * The WAL source of the -shm commit-counter tests (test/backup-counter*.test.ts): a table
 * t(id INTEGER PRIMARY KEY, v INTEGER, pad BLOB) of `rows` rows, v = 0, 300-byte pads, so
 * that a row's page is found by its id (~12 rows a page) and the copier reads the low ids
 * first.
 */
import { expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { CopyEngine } from '../../src/index.js';
import { openDatabase } from '../../src/node/index.js';
import { ImageSink } from '../live/image-sink.js';

/** Creates `file` (WAL mode) and returns the open connection that wrote it. */
export function createCounterDb(file: string, rows: number): BetterSqlite.Database {
  const db = new BetterSqlite(file);
  db.pragma('journal_mode = wal');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad BLOB)');
  const ins = db.prepare('INSERT INTO t(v, pad) VALUES (0, randomblob(300))');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run();
  })();
  return db;
}

/**
 * Runs a copy scenario (each run checks its own copy) up to `attempts` times until one is
 * bridged without a re-pass, and returns the last run's counters. The -shm's times move when a
 * process first writes a -shm page the kernel has written back (more often under I/O load),
 * and the copier then re-passes rather than trust the commit counter: a bridge is expected in
 * a few tries, not in every one.
 */
export async function untilBridged<T extends { repasses: number }>(run: () => Promise<T>, attempts = 3): Promise<T> {
  let r = await run();
  for (let i = 1; i < attempts && r.repasses !== 0; i++) r = await run();
  return r;
}

/**
 * Copies `file` 32 pages a step; after the 5th step (the copier has scanned the log since the
 * last commit, so its snapshot is anchored) runs `between`, then steps to the end. Returns the
 * copy's image and the engine's counters; the caller checks the image.
 */
export async function copyAround(file: string, between: () => void | Promise<void>) {
  const source = await openDatabase(file);
  const sink = new ImageSink();
  const engine = new CopyEngine(source.storage, sink);
  // The copier anchors its count only on a -shm whose status-change time is a clock tick old
  // (a recovery in the same tick could leave it equal); the setup wrote it just now.
  await new Promise((r) => setTimeout(r, 40));
  try {
    let st = 'OK';
    for (let steps = 0; st !== 'DONE'; steps++) {
      st = await engine.step(32);
      if (steps === 4) {
        expect(st).toBe('OK');
        await between();
      }
    }
    return { image: sink.image, repasses: engine.repasses, restarts: engine.restarts, bridged: engine.resetsBridged, passes: engine.passes };
  } finally {
    engine.release();
    await source.close();
  }
}

/** One copy of `storage`, stepped to the end in one go. */
export async function copyAll(storage: ConstructorParameters<typeof CopyEngine>[0]): Promise<Uint8Array> {
  const sink = new ImageSink();
  const engine = new CopyEngine(storage, sink);
  try {
    while ((await engine.step(-1)) !== 'DONE');
  } finally {
    engine.release();
  }
  return sink.image;
}
