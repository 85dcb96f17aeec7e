/**
 * quire vacuum: every table of a fixture reads back identically in SQLite after the rebuild,
 * integrity_check passes, the freelist is empty and the file is compact.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { readManifest, fixturePath } from '../fixtures/index.mjs';
import { referenceExport, referenceIntegrity } from './util/reference.js';
import { cli } from './cli/run.js';
import { tempDir } from './util/tmp.js';

const NAMES = ['freelist-heavy', 'autovacuum-full-1024', 'autovacuum-incremental-1024', 'without-rowid', 'schema-features', 'schema-many', 'encoding-utf-16be', 'page-512', 'large-payload', 'alter-defaults', 'wal-uncheckpointed-4096'];

describe('quire vacuum', () => {
  const manifest = readManifest();
  for (const name of NAMES) {
    const f = manifest.fixtures.find((x) => x.name === name);
    if (!f) throw new Error(`fixture ${name} missing`);
    it(name, async () => {
      const src = fixturePath(f);
      const dir = tempDir();
      const db = path.join(dir, 'v.db');
      copyFileSync(src, db);
      if (f.walFile) copyFileSync(src + '-wal', db + '-wal');
      const before = statSync(db).size;
      const r = await cli(['vacuum', db]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(existsSync(db + '-journal')).toBe(false);
      expect(referenceIntegrity(db)).toEqual(['ok']);
      for (const t of Object.keys(f.tables!)) expect(referenceExport(db, t), `${name}.${t}`).toBe(referenceExport(src, t));
      const s = new BetterSqlite(db, { readonly: true });
      expect(s.pragma('freelist_count', { simple: true })).toBe(0);
      s.close();
      // Compact: no free pages, and no bigger than before (test/vacuum-compact.test.ts checks
      // the page count equals SQLite VACUUM's exactly).
      const ps = f.pageSize!;
      if (!f.walFile) expect(statSync(db).size).toBeLessThanOrEqual(before * 1.05 + 2 * ps);
      if (name === 'freelist-heavy') expect(statSync(db).size).toBeLessThan(before / 2);
    }, 120_000);
  }
});

describe('vacuum and a concurrent writer in the same process', () => {
  it('a commit made while the image is built is not lost (the writer waits for VACUUM)', async () => {
    const { openDatabase } = await import('../src/node/index.js');
    const dir = tempDir();
    const file = path.join(dir, 'c.db');
    const s = new BetterSqlite(file);
    s.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v)');
    const ins = s.prepare('INSERT INTO t(v) VALUES (?)');
    s.transaction(() => {
      for (let i = 0; i < 20_000; i++) ins.run(`row ${i} ${'x'.repeat(i % 50)}`);
    })();
    s.exec('DELETE FROM t WHERE id % 3 = 0');
    s.close();
    const a = await openDatabase(file, { readOnly: false });
    const b = await openDatabase(file, { readOnly: false });
    try {
      // Both run interleaved on the microtask queue: b's commit is asked for while a builds.
      const vacuum = a.vacuum();
      const insert = b.insert('t', [null, 'written during the vacuum']);
      await Promise.all([vacuum, insert]);
    } finally {
      await a.close();
      await b.close();
    }
    expect(referenceIntegrity(file)).toEqual(['ok']);
    const r = new BetterSqlite(file, { readonly: true });
    try {
      expect(r.prepare("SELECT count(*) FROM t WHERE v = 'written during the vacuum'").pluck().get()).toBe(1);
      expect(r.prepare('SELECT count(*) FROM t').pluck().get()).toBe(20_000 - 6_666 + 1);
    } finally {
      r.close();
    }
  });
});
