import { describe, it, expect } from 'vitest';
import Database from 'better-sqlite3';
import path from 'node:path';
import { openDatabase } from '../src/node/index.js';
import { tempDir } from './util/tmp.js';

/**
 * Auto-commit writes (db.insert outside a transaction) take the schema each transaction
 * starts from without reading it again while its cookie is unchanged (the database's cached
 * catalog and the tables already checked writable). A schema another connection changed
 * between two of them must be the one the next insert writes by.
 */
describe('auto-commit inserts across a schema change by another connection', () => {
  for (const mode of ['wal', 'delete'] as const) {
    it(`${mode}: SQLite adds a column and a table between two inserts; the next inserts use them`, async () => {
      const file = path.join(tempDir(), 'a.db');
      const s = new Database(file);
      s.pragma(`journal_mode = ${mode}`);
      s.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT)');
      s.close();
      const db = await openDatabase(file, { readOnly: false });
      try {
        for (let i = 1; i <= 3; i++) await db.insert('t', [i, `q${i}`]);
        const s2 = new Database(file);
        s2.exec("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'dflt'; CREATE TABLE u(x)");
        s2.close();
        await db.insert('t', { id: 4, a: 'q4' });
        await db.insert('t', [5, 'q5', 'given']);
        await db.insert('u', ['in u']);
        // Two values for three columns: the third takes its default (as of the new schema).
        await db.insert('t', [6, 'q6']);
      } finally {
        await db.close();
      }
      const r = new Database(file, { readonly: true });
      try {
        expect(r.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(r.prepare('SELECT id, a, b FROM t ORDER BY id').raw(true).all()).toEqual([
          [1, 'q1', 'dflt'],
          [2, 'q2', 'dflt'],
          [3, 'q3', 'dflt'],
          [4, 'q4', 'dflt'],
          [5, 'q5', 'given'],
          [6, 'q6', 'dflt'],
        ]);
        expect(r.prepare('SELECT x FROM u').raw(true).all()).toEqual([['in u']]);
      } finally {
        r.close();
      }
    });
  }
});
