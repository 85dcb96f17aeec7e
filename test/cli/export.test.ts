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
import { csvField, jsonValue } from '../../src/cli/values.js';
import { openDatabase } from '../../src/node/index.js';
import { columnNames, RowIterator } from '../../src/read.js';
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

describe('quire export, records straight to text (src/cli/rowtext.ts)', () => {
  /** Every value class the byte path writes itself, and those it leaves to values.ts. */
  function trickyDb(file: string, encoding: string): void {
    const db = new BetterSqlite(file);
    db.pragma(`encoding = '${encoding}'`);
    db.exec(`
      CREATE TABLE x(id INTEGER PRIMARY KEY, t TEXT, b BLOB, r REAL, i INTEGER, v);
      INSERT INTO x(t, b, r, i, v) VALUES
        ('', x'', 1.5, 0, NULL), ('plain', x'00ff10', -0.0, 1, 'quote " and , comma'),
        ('line' || char(10) || 'break' || char(13, 10), x'7f', 3.0, -1, 'tab' || char(9) || ' bs\\ ctl ' || char(1, 31, 127, 8, 12)),
        ('ünïcødé 😀 ' || char(8232), zeroblob(300), 1e300, 127, 'a' || char(0) || 'b'),
        (CAST(x'ff61c0' AS TEXT), NULL, 1e-7, -128, CAST(x'eda080' AS TEXT)),
        (CAST(x'f4908080' AS TEXT), NULL, 123456789012345678901234.0, 2147483648, CAST(x'e0a0' AS TEXT)),
        (CAST(x'c0af' AS TEXT), NULL, 9e999, 9007199254740991, 9007199254740993),
        (NULL, NULL, -9e999, -9223372036854775808, 9223372036854775807),
        ('"', NULL, 4611686018427387904, 140737488355328, 2.5),
        (printf('%.500c', 'x'), NULL, 0.1, 32768, printf('%.300c', '"'));
      CREATE TABLE big(a, rowid_ TEXT);
      INSERT INTO big(rowid, a) VALUES (9007199254740993, 1), (-9223372036854775808, 2);
    `);
    db.exec(`ALTER TABLE x ADD COLUMN d DEFAULT 'dflt'; ALTER TABLE x ADD COLUMN e REAL DEFAULT 2;
      INSERT INTO x(t, d, e) VALUES ('after', 'own', 7);`);
    db.close();
  }

  /** The line the general path writes: read.ts rows, each value by values.ts. */
  async function generalExport(file: string, table: string, format: 'jsonl' | 'csv' | 'objects'): Promise<string> {
    const db = await openDatabase(file, { readOnly: true });
    const snap = await db.pager.read();
    try {
      const t = db.tableIn(await db.catalogAt(snap), table);
      const names = columnNames(t);
      let out = format === 'csv' ? names.map(csvField).join(',') + '\r\n' : '';
      for await (const row of new RowIterator(t, snap, () => {})) {
        if (format === 'csv') out += row.map(csvField).join(',') + '\r\n';
        else if (format === 'jsonl') out += '[' + row.map(jsonValue).join(',') + ']\n';
        else out += '{' + row.map((v, i) => `${JSON.stringify(i === 0 ? 'rowid' : names[i])}:${jsonValue(v)}`).slice(t.rowidAlias >= 0 ? 1 : 0).join(',') + '}\n';
      }
      return out;
    } finally {
      snap.release();
      await db.close();
    }
  }

  for (const encoding of ['UTF-8', 'UTF-16le']) {
    it(`writes what the general path writes, for every value class (${encoding})`, async () => {
      const file = path.join(tempDir(), 'x.db');
      trickyDb(file, encoding);
      for (const table of ['x', 'big']) {
        for (const format of ['jsonl', 'csv', 'objects'] as const) {
          const args = format === 'csv' ? ['--format', 'csv'] : format === 'objects' ? ['--objects'] : [];
          // Through a file, to compare bytes: TEXT that is not UTF-8 must come out as U+FFFD.
          const dst = path.join(path.dirname(file), 'out');
          expect(await cli(['export', file, table, ...args, '-o', dst])).toEqual({ code: 0, stdout: '', stderr: '' });
          expect(readFileSync(dst).equals(Buffer.from(await generalExport(file, table, format))), `${table} ${format}`).toBe(true);
        }
      }
    });
  }

  it('pins the bytes of the values it writes itself', async () => {
    const file = path.join(tempDir(), 'x.db');
    trickyDb(file, 'UTF-8');
    const lines = (await cli(['export', file, 'x'])).stdout.split('\n');
    expect(lines[1]).toBe('[2,2,"plain",{"blob":"00ff10"},0,1,"quote \\" and , comma","dflt",2]');
    expect(lines[2]).toBe('[3,3,"line\\nbreak\\r\\n",{"blob":"7f"},3,-1,"tab\\t bs\\\\ ctl \\u0001\\u001f\x7f\\b\\f","dflt",2]');
    expect(lines[4]).toBe('[5,5,"\ufffda\ufffd",null,1e-7,-128,"\ufffd\ufffd\ufffd","dflt",2]');
    expect(lines[7]).toBe('[8,8,null,null,"-Infinity","-9223372036854775808","9223372036854775807","dflt",2]');
    const csv = (await cli(['export', file, 'x', '--format', 'csv'])).stdout.split('\r\n');
    expect(csv[1]).toBe('1,1,"","",1.5,0,,dflt,2');
    expect(csv[2]).toBe('2,2,plain,00ff10,0,1,"quote "" and , comma",dflt,2');
    expect(csv.at(-2)).toBe('11,11,after,,,,,own,7');
  });
});
