import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../util/tmp.js';
import { cli, cliProcess } from './run.js';
import { crashedCopy } from '../util/hot-journal.js';

function makeDb(file: string, rows = 500, wal = false): void {
  const db = new BetterSqlite(file);
  if (wal) db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  const ins = db.prepare('INSERT INTO t(v) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(`value ${i}`);
  })();
  db.close();
}

function rows(file: string): unknown[] {
  const db = new BetterSqlite(file, { readonly: true });
  try {
    return db.prepare('SELECT * FROM t ORDER BY id').all();
  } finally {
    db.close();
  }
}

describe('quire backup / verify', () => {
  it('copies a database; the copy reads the same in SQLite', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'a.db');
    const dst = path.join(dir, 'b.db');
    makeDb(src);
    const r = await cli(['backup', src, dst]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^copied \d+ pages/);
    expect(rows(dst)).toEqual(rows(src));
    // No temporary file is left behind, and nothing beside the source.
    expect(existsSync(src + '-journal') || existsSync(src + '-wal') || existsSync(src + '-shm')).toBe(false);
  });

  it('--json reports the snapshot', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'a.db');
    makeDb(src, 100, true);
    const r = await cli(['backup', src, path.join(dir, 'b.db'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.snapshot.mode).toBe('wal');
    expect(j.snapshot.pageCount).toBeGreaterThan(1);
  });

  it('--forensic writes a manifest that quire verify accepts, and flags a changed copy', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'a.db');
    const dst = path.join(dir, 'evidence.db');
    makeDb(src, 2000);
    const before = readFileSync(src);
    const r = await cli(['backup', src, dst, '--forensic', '--manifest', path.join(dir, 'm.json')]);
    expect(r.code).toBe(0);
    // A forensic copy is the source byte for byte (an idle rollback-mode source).
    expect(readFileSync(dst)).toEqual(before);
    expect(readFileSync(src)).toEqual(before);
    const m = JSON.parse(readFileSync(path.join(dir, 'm.json'), 'utf8'));
    expect(m.source.unchanged).toBe(true);
    expect(m.copy.pages.length).toBe(before.length / 4096);
    expect((await cli(['verify', path.join(dir, 'm.json'), dst])).stdout).toBe('ok\n');
    const changed = Buffer.from(before);
    changed[4096 * 2 + 100] ^= 1;
    writeFileSync(dst, changed);
    const bad = await cli(['verify', path.join(dir, 'm.json'), dst]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('page 3 differs');
  });

  it('errors are one line: quire: CODE: message, exit 1; usage exit 2; busy exit 3', () => {
    const dir = tempDir();
    const missing = cliProcess(['backup', path.join(dir, 'nope.db'), path.join(dir, 'x.db')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^quire: CANTOPEN: .*nope\.db.*\n$/);
    const notdb = path.join(dir, 'text.db');
    writeFileSync(notdb, 'hello, this is not a database at all, just some text that is long enough to matter '.repeat(4));
    const n = cliProcess(['backup', notdb, path.join(dir, 'y.db')]);
    expect(n.code).toBe(1);
    expect(n.stderr).toMatch(/^quire: NOTADB: /);
    expect(n.stderr.split('\n').length).toBe(2);
    expect(cliProcess(['backup', 'only-one-arg']).code).toBe(2);
    expect(cliProcess(['backup', 'a', 'b', '--bogus']).code).toBe(2);
    expect(cliProcess([]).code).toBe(2);
    // A hot journal that never goes away: BUSY after the timeout, exit 3.
    const src = path.join(dir, 'hot.db');
    makeDb(src, 5000);
    const crashed = path.join(dir, 'crashed.db');
    crashedCopy(src, crashed, "UPDATE t SET v = v || 'x'");
    const busy = cliProcess(['backup', crashed, path.join(dir, 'z.db'), '--timeout', '0.3', '--sleep', '50']);
    expect(busy.code).toBe(3);
    expect(busy.stderr).toMatch(/^quire: BUSY: /);
    const applied = cliProcess(['backup', crashed, path.join(dir, 'z.db'), '--hot-journal', 'apply']);
    expect(applied.code).toBe(0);
    // Stack traces only with QUIRE_DEBUG=1.
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const dbg = cliProcess(['backup', path.join(dir, 'nope.db'), path.join(dir, 'x.db')], { QUIRE_DEBUG: '1' });
    expect(dbg.stderr).toMatch(/\n\s+at /);
  });

  it('refuses to copy a file onto itself, and a destination in use', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'a.db');
    makeDb(src);
    const same = await cli(['backup', src, src]);
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/MISUSE: .*same file/);
    const dst = path.join(dir, 'b.db');
    makeDb(dst, 10);
    writeFileSync(dst + '-wal', '');
    const inUse = await cli(['backup', src, dst]);
    expect(inUse.code).toBe(3);
    expect(inUse.stderr).toMatch(/BUSY: destination .* in use/);
  });
});
