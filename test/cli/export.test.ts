/**
 * quire export options: --objects keys, --output FILE (whole or nothing; a directory is
 * refused), --all --output DIR, the usage errors, and --help. (The differential test of the
 * values against SQLite on every fixture is test/export.test.ts.)
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { tempDir } from '../util/tmp.js';
import { cli } from './run.js';

function makeDb(dir: string): string {
  const file = path.join(dir, 'e.db');
  const db = new BetterSqlite(file);
  db.exec(`
    CREATE TABLE ipk(id INTEGER PRIMARY KEY, v TEXT);
    CREATE TABLE plain(a, b);
    CREATE TABLE named(rowid TEXT, v);
    CREATE TABLE wr(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
    CREATE TABLE "a/b"(x);
    CREATE TABLE seq(id INTEGER PRIMARY KEY AUTOINCREMENT, v);
    CREATE VIEW vv AS SELECT 1;
    INSERT INTO ipk VALUES (5, 'five');
    INSERT INTO plain(rowid, a, b) VALUES (9, 1, x'01');
    INSERT INTO named(rowid, v) VALUES ('r', 2);
    INSERT INTO wr VALUES ('k', 3.5);
    INSERT INTO "a/b" VALUES (1);
    INSERT INTO seq(v) VALUES (1);
  `);
  db.close();
  return file;
}

describe('quire export --objects', () => {
  it('keys by column name; the rowid under "rowid", "_rowid_" when a column is named rowid, none with an INTEGER PRIMARY KEY', async () => {
    const file = makeDb(tempDir());
    const out = async (t: string) => {
      const r = await cli(['export', file, t, '--objects']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return r.stdout;
    };
    expect(await out('ipk')).toBe('{"id":5,"v":"five"}\n');
    expect(await out('plain')).toBe('{"rowid":9,"a":1,"b":{"blob":"01"}}\n');
    expect(await out('named')).toBe('{"_rowid_":1,"rowid":"r","v":2}\n');
    expect(await out('wr')).toBe('{"k":"k","v":3.5}\n');
  });
});

describe('quire export --output', () => {
  it('writes FILE (stdout stays empty) and replaces an existing file', async () => {
    const dir = tempDir();
    const file = makeDb(dir);
    const dst = path.join(dir, 'out.jsonl');
    writeFileSync(dst, 'old\n');
    const r = await cli(['export', file, 'ipk', '-o', dst]);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readFileSync(dst, 'utf8')).toBe('[5,5,"five"]\n');
    expect(readdirSync(dir).sort()).toEqual(['e.db', 'out.jsonl']);
  });

  it('refuses a directory, and a missing table leaves no file', async () => {
    const dir = tempDir();
    const file = makeDb(dir);
    const sub = path.join(dir, 'sub');
    mkdirSync(sub);
    const r = await cli(['export', file, 'ipk', '--output', sub]);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `quire: CANTOPEN: ${sub} is a directory (give a file name)\n` });
    const missing = await cli(['export', file, 'nope', '--output', path.join(dir, 'x.jsonl')]);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'quire: NOTFOUND: no such table: nope\n' });
    expect(readdirSync(dir).sort()).toEqual(['e.db', 'sub']);
  });

  it('an interrupt leaves no partial file and an existing file as it was', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'big.db');
    const db = new BetterSqlite(src);
    db.exec('CREATE TABLE t(v)');
    const ins = db.prepare('INSERT INTO t VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 20000; i++) ins.run('x'.repeat(50) + i);
    })();
    db.close();
    const dst = path.join(dir, 'out.jsonl');
    writeFileSync(dst, 'old\n');
    // A signal that is raised once the first 64 KiB chunk has been written: the export
    // checks it before each chunk, so the second check stops it mid-file.
    let checks = 0;
    const signal = {
      get aborted() {
        return ++checks > 1;
      },
      reason: 'SIGTERM',
    } as unknown as AbortSignal;
    let stderr = '';
    const code = await main(['export', src, 't', '-o', dst], { stdout: () => {}, stderr: (s) => void (stderr += s), isTTY: false, signal, stdin: async function* () {} });
    expect(code).toBe(143);
    expect(stderr).toBe('quire: interrupted (SIGTERM); nothing was changed\n');
    expect(checks).toBeGreaterThan(1);
    expect(readFileSync(dst, 'utf8')).toBe('old\n');
    expect(readdirSync(dir).sort()).toEqual(['big.db', 'out.jsonl']);
  });

  it('an interrupt before the first write: exit 130, no file', async () => {
    const dir = tempDir();
    const file = makeDb(dir);
    const controller = new AbortController();
    controller.abort('SIGINT');
    let stderr = '';
    const code = await main(['export', file, 'ipk', '-o', path.join(dir, 'o.jsonl')], {
      stdout: () => {},
      stderr: (s) => void (stderr += s),
      isTTY: false,
      signal: controller.signal,
      stdin: async function* () {},
    });
    expect(code).toBe(130);
    expect(stderr).toBe('quire: interrupted (SIGINT); nothing was changed\n');
    expect(readdirSync(dir)).toEqual(['e.db']);
  });

  it('--all --output DIR: one file per table (not views, virtual or sqlite_* tables), DIR made', async () => {
    const dir = tempDir();
    const file = makeDb(dir);
    const out = path.join(dir, 'dump', 'here');
    const r = await cli(['export', file, '--all', '--output', out, '--format', 'csv']);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readdirSync(out).sort()).toEqual(['a%2Fb.csv', 'ipk.csv', 'named.csv', 'plain.csv', 'seq.csv', 'wr.csv']);
    expect(readFileSync(path.join(out, 'plain.csv'), 'utf8')).toBe('rowid,a,b\r\n9,1,01\r\n');
    expect(existsSync(path.join(out, 'sqlite_sequence.csv'))).toBe(false);
  });

  it('usage errors: --all without --output, csv with --objects', async () => {
    const file = makeDb(tempDir());
    expect(await cli(['export', file, '--all'])).toEqual({ code: 2, stdout: '', stderr: 'quire: usage: --all needs --output DIR (one file per table)\n' });
    expect(await cli(['export', file, 'ipk', '--format', 'csv', '--objects'])).toEqual({ code: 2, stdout: '', stderr: 'quire: usage: --objects and --typed are for --format jsonl\n' });
  });

  it('--help lists every option with its default and examples', async () => {
    const r = await cli(['export', '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: quire export DB \[TABLE\] \[options\]\n/);
    for (const o of ['--format FORMAT', '--objects', '--typed', '-o, --output PATH', '--all', '(default: jsonl)']) expect(r.stdout).toContain(o);
    expect(r.stdout).toContain('examples:\n  quire export app.db users > users.jsonl\n');
  });
});
