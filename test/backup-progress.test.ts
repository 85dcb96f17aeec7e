/**
 * Honest progress (issue 9, scope 3): what `quire backup` and backupFile report is the copy's
 * size, with the work of restarts reported apart; the bar shows the pass under way and its own
 * progress; a BUSY wait is said on its own line.
 *
 * SQLite writes the source in this process (better-sqlite3, synchronous) at chosen points: from
 * inside the CLI's stderr writer, i.e. right after a given progress line was printed.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import path from 'node:path';
import { main } from '../src/cli/main.js';
import { backupFile } from '../src/node/index.js';
import { tempDir } from './util/tmp.js';

function makeDb(file: string, rows: number): void {
  const db = new BetterSqlite(file);
  db.pragma('journal_mode = delete');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad BLOB)');
  const ins = db.prepare('INSERT INTO t(v, pad) VALUES (0, randomblob(300))');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run();
  })();
  db.close();
}

function pageCount(file: string): number {
  const db = new BetterSqlite(file, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    return db.pragma('page_count', { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe('quire backup: progress and summary under a writer', () => {
  it('a transaction held open mid-pass: the pass restarts, BUSY is said on its own line, the bar shows pass 2, the summary gives the copy\'s size and the restart apart', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'src.db');
    const dst = path.join(dir, 'dst.db');
    makeDb(src, 3000);
    const writer = new BetterSqlite(src);
    let out = '';
    let err = '';
    let bars = 0;
    let held = false;
    let committed = false;
    const code = await main(['backup', src, dst, '--pages', '16', '--sleep', '0'], {
      stdout: (s) => void (out += s),
      stderr: (s) => {
        err += s;
        if (s.startsWith('\r') && ++bars === 3 && !held) {
          // A transaction that stays open after spilling pages into the file through a tiny
          // cache: its journal is active (SQLite writes the magic when it syncs the journal
          // before the first db write; an open transaction that has not spilled writes none).
          held = true;
          writer.pragma('cache_size = 4');
          writer.exec('BEGIN IMMEDIATE');
          writer.prepare('UPDATE t SET pad = randomblob(300) WHERE id % 3 = 0').run();
          writer.prepare('INSERT INTO t(v, pad) SELECT 1, randomblob(300) FROM t WHERE id <= 200').run();
        }
        if (s.includes('is busy') && held && !committed) {
          committed = true;
          writer.exec('COMMIT');
        }
      },
      isTTY: true,
      stdin: async function* () {},
    });
    writer.close();
    expect(err).not.toMatch(/quire: [A-Z]+:/);
    expect(code).toBe(0);
    expect(committed, JSON.stringify(err) + out).toBe(true);
    const n = pageCount(dst);
    expect(n).toBe(pageCount(src));
    // The copy's size, not the sum of the passes; the restart and its work apart.
    const m = /^copied (\d+) pages \(([\d.]+) MB\) in [\d.]+ s, snapshot at change counter \d+; 1 restarts \(2 passes, ([\d.]+) MB rewritten\), 0 snapshot moves\n$/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBe(n);
    expect(m![2]).toBe(((n * 4096) / 1048576).toFixed(1));
    expect(Number(m![3])).toBeGreaterThan(0);
    // BUSY on its own line: the bar's line was ended before it, and it holds no bar.
    const lines = err.split('\n');
    const busy = lines.filter((l) => l.includes('is busy'));
    expect(busy).toHaveLength(1);
    expect(busy[0], busy[0]).toMatch(/^quire: .*src\.db is busy \(.+\); waiting$/);
    // The bar shows the pass and that pass's own progress.
    expect(err).toMatch(/\r\[[#.]+\]\s+\d+% pass 1: 48\/\d+ pages/);
    expect(err).toMatch(/\r\[[#.]+\]\s+\d+% pass 2: 16\/\d+ pages/);
    expect(err).toMatch(/100% pass 2: (\d+)\/\1 pages/);
  });

  it('backupFile: bytes is the copy\'s size, bytesWritten the work of every pass', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'src.db');
    makeDb(src, 3000);
    const writer = new BetterSqlite(src);
    let steps = 0;
    const r = await backupFile(src, path.join(dir, 'dst.db'), {
      pages: 16,
      onProgress: (p) => {
        // One commit in the middle of pass 1.
        if (++steps === 4 && p.pass === 1) writer.prepare('UPDATE t SET v = v + 1 WHERE id = 5').run();
      },
    });
    writer.close();
    const n = pageCount(path.join(dir, 'dst.db'));
    expect(r.snapshot.restarts).toBe(1);
    expect(r.bytes).toBe(n * 4096);
    expect(r.bytesWritten).toBeGreaterThan(r.bytes);
    expect(r.bytesWritten).toBe(r.snapshot.pagesWritten * 4096);
  });
});
