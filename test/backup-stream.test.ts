import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { backupStream, MemoryStorage, isQuireError } from '../src/index.js';
import { openDatabase } from '../src/node/index.js';
import { tempDir } from './util/tmp.js';

async function collect(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of s as unknown as AsyncIterable<Uint8Array>) parts.push(c);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('backupStream', () => {
  it('streams the snapshot image of a WAL database in bounded chunks', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'w.db');
    const db = new BetterSqlite(f);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)');
    const ins = db.prepare('INSERT INTO t(v) VALUES (randomblob(500))');
    for (let i = 0; i < 3000; i++) ins.run();
    const src = await openDatabase(f);
    const chunks: number[] = [];
    const stream = backupStream(src, { chunkBytes: 64 * 1024 });
    const parts: Uint8Array[] = [];
    for await (const c of stream as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(c.length);
      parts.push(c);
    }
    expect(Math.max(...chunks)).toBeLessThanOrEqual(64 * 1024);
    const img = Buffer.concat(parts);
    const out = path.join(dir, 'img.db');
    writeFileSync(out, img);
    const check = new BetterSqlite(out);
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(check.prepare('SELECT count(*) c FROM t').get()).toEqual({ c: 3000 });
    check.close();
    db.close();
    await src.close();
  });

  it('errors (BUSY) rather than finishing when the source changed during the stream', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'r.db');
    const db = new BetterSqlite(f);
    db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)');
    const ins = db.prepare('INSERT INTO t(v) VALUES (randomblob(500))');
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) ins.run();
    })();
    const orig = new Uint8Array(readFileSync(f));
    // An idle source streams to exactly its own bytes.
    expect(Buffer.from(await collect(backupStream(new MemoryStorage({ db: orig })))).equals(Buffer.from(orig))).toBe(true);
    // A source that a commit changes between chunks: the stream errors instead of finishing.
    const storage = new MemoryStorage({ db: orig });
    const reader = backupStream(storage, { chunkBytes: 16 * 1024 }).getReader();
    await reader.read();
    ins.run();
    storage.setFile('db', new Uint8Array(readFileSync(f)));
    let err: unknown = null;
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
      }
    } catch (e) {
      err = e;
    }
    expect(isQuireError(err) && err.code).toBe('BUSY');
    db.close();
  });
});
