import { describe, it, expect } from 'vitest';
import Database from 'better-sqlite3';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseShmHeader } from '../pager/shm.js';
import { parseWalHeader, scanWal } from '../pager/wal.js';
import { MemoryStorage } from '../pager/memory.js';
import { tempDir } from './util/tmp.js';

describe('-shm header (hint only)', () => {
  it('parses and validates what SQLite wrote, and rejects damaged or foreign headers', async () => {
    const dir = tempDir();
    const f = path.join(dir, 's.db');
    const db = new Database(f);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)');
    db.pragma('wal_checkpoint(PASSIVE)');
    copyFileSync(f + '-shm', path.join(dir, 'copy-shm'));
    copyFileSync(f + '-wal', path.join(dir, 'copy-wal'));
    copyFileSync(f, path.join(dir, 'copy'));
    db.close();
    const shm = new Uint8Array(readFileSync(path.join(dir, 'copy-shm')));
    const walBytes = new Uint8Array(readFileSync(path.join(dir, 'copy-wal')));
    const walHeader = parseWalHeader(walBytes.subarray(0, 32))!;
    const idx = (await scanWal(new MemoryStorage({ db: new Uint8Array(readFileSync(path.join(dir, 'copy'))), wal: walBytes }))).index!;
    const h = parseShmHeader(shm, walHeader);
    expect(h).not.toBeNull();
    expect(h!.mxFrame).toBe(idx.mxFrame);
    expect(h!.nPage).toBe(idx.dbSize);
    expect(h!.pageSize).toBe(idx.pageSize);
    // The checkpoint copied every frame back.
    expect(h!.nBackfill).toBe(h!.mxFrame);
    expect(h!.nBackfillAttempted).toBe(h!.mxFrame);
    // Copies that differ, a bad checksum, or other salts: not trusted.
    const torn = shm.slice();
    torn[16] ^= 1;
    expect(parseShmHeader(torn, walHeader)).toBeNull();
    const both = shm.slice();
    both[16] ^= 1;
    both[64] ^= 1;
    expect(parseShmHeader(both, walHeader)).toBeNull();
    expect(parseShmHeader(shm, { ...walHeader, salt1: walHeader.salt1 + 1 })).toBeNull();
    expect(parseShmHeader(shm.subarray(0, 100))).toBeNull();
  });
});
