/**
 * quire vacuum packs pages as SQLite's VACUUM does: on every fixture SQLite can vacuum, the
 * rebuilt file has exactly the page count the sqlite3 CLI's VACUUM gives the same file, and
 * passes integrity_check. Plus a generated table with an index, big enough for three-level
 * b-trees, overflow pages and interior pages split many times over.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { readManifest, fixturePath } from '../fixtures/index.mjs';
import { referenceExport, referenceIntegrity } from './util/reference.js';
import { openDatabase } from '../src/node/index.js';
import { cli } from './cli/run.js';
import { tempDir } from './util/tmp.js';

function pageCount(db: string): number {
  const s = new BetterSqlite(db, { readonly: true });
  try {
    return s.pragma('page_count', { simple: true }) as number;
  } finally {
    s.close();
  }
}

/** Vacuums a copy of `src` with sqlite3 and one with quire; returns both page counts. */
async function both(src: string, dir: string): Promise<{ sqlite: number; quire: number; q: string }> {
  const s = path.join(dir, 's.db');
  const q = path.join(dir, 'q.db');
  for (const [from, to] of [
    [src, s],
    [src, q],
  ]) {
    copyFileSync(from, to);
    for (const ext of ['-wal', '-journal']) if (existsSync(from + ext)) copyFileSync(from + ext, to + ext);
  }
  execFileSync('sqlite3', [s, 'VACUUM']);
  const r = await cli(['vacuum', q]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return { sqlite: pageCount(s), quire: pageCount(q), q };
}

describe('quire vacuum is as compact as SQLite VACUUM', () => {
  const manifest = readManifest();
  for (const f of manifest.fixtures) {
    if (f.corrupt || f.name === 'empty-file' || f.journalFile) continue;
    it(f.name, async () => {
      const { sqlite, quire, q } = await both(fixturePath(f), tempDir());
      expect(referenceIntegrity(q)).toEqual(['ok']);
      expect(quire).toBe(sqlite);
    }, 60_000);
  }

  it('a 60k-row table with an index on text and rows that overflow', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'src.db');
    const db = new BetterSqlite(src);
    db.pragma('page_size = 1024');
    db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB, c REAL); CREATE INDEX ta ON t(a); CREATE INDEX tc ON t(c, a)');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?)');
    let x = 7;
    const rnd = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
    db.transaction(() => {
      for (let i = 1; i <= 60_000; i++) {
        const a = 'w'.repeat(Math.floor(rnd() * 60)) + String(Math.floor(rnd() * 1e9));
        const b = Buffer.alloc(i % 500 === 0 ? 3000 : Math.floor(rnd() * 120));
        ins.run(i, a, b, rnd() * 100);
      }
    })();
    db.exec('DELETE FROM t WHERE id % 7 = 0');
    db.close();
    const { sqlite, quire, q } = await both(src, dir);
    expect(referenceIntegrity(q)).toEqual(['ok']);
    expect(quire).toBe(sqlite);
    // The same with the scratch pages written out every 64 KiB (a big file's are, every 4 MiB:
    // SCRATCH_HELD_BYTES in src/vacuum.ts): same pages, same rows.
    const seg = path.join(dir, 'seg.db');
    copyFileSync(src, seg);
    const qdb = await openDatabase(seg, { readOnly: false });
    await qdb.vacuum({ segmentBytes: 64 << 10 });
    await qdb.close();
    expect(referenceIntegrity(seg)).toEqual(['ok']);
    expect(pageCount(seg)).toBe(sqlite);
    expect(referenceExport(seg, 't')).toBe(referenceExport(src, 't'));
  }, 120_000);
});
