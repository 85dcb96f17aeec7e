/**
 * quire import: the export format's INTEGER PRIMARY KEY is the rowid; a disagreement is an
 * error naming the line and nothing is written; --typed and CSV read what export writes;
 * an interrupt rolls the whole import back. SQLite reads every result.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { tempDir } from '../util/tmp.js';
import { cli } from './run.js';

function sqliteRows(file: string, sql: string): unknown[] {
  const db = new BetterSqlite(file, { readonly: true });
  try {
    return db.prepare(sql).raw(true).safeIntegers(true).all();
  } finally {
    db.close();
  }
}

function makeDb(file: string, sql: string): void {
  const db = new BetterSqlite(file);
  db.exec(sql);
  db.close();
}

const T = 'CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT)';

describe('quire import: an INTEGER PRIMARY KEY is the rowid', () => {
  it('[null, 7, "y"] stores rowid 7; [7, null, "z"] too', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'i.db');
    const r = await cli(['import', file, 't', '--create', T], '[null,7,"y"]\n[8,null,"z"]\n[9,9,"w"]\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('3 rows\n');
    expect(r.code).toBe(0);
    expect(sqliteRows(file, 'SELECT rowid, id, b FROM t')).toEqual([
      [7n, 7n, 'y'],
      [8n, 8n, 'z'],
      [9n, 9n, 'w'],
    ]);
  });

  it('[5, 6, "x"] (rowid and key disagree) is an error naming the line; nothing is written', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'i.db');
    makeDb(file, T);
    const r = await cli(['import', file, 't'], '[1,1,"a"]\n[5,6,"x"]\n');
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('quire: CONSTRAINT: line 2: rowid 5 and t.id 6 disagree (an INTEGER PRIMARY KEY is the rowid)\n');
    expect(r.code).toBe(1);
    expect(sqliteRows(file, 'SELECT * FROM t')).toEqual([]);
  });

  it('objects: "rowid" and the key column are one value', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'i.db');
    makeDb(file, T + '; CREATE TABLE p(a, rowid TEXT)');
    expect((await cli(['import', file, 't'], '{"rowid":3,"b":"c"}\n{"id":4,"rowid":null,"b":"d"}\n')).stdout).toBe('2 rows\n');
    expect(sqliteRows(file, 'SELECT rowid, b FROM t')).toEqual([
      [3n, 'c'],
      [4n, 'd'],
    ]);
    const bad = await cli(['import', file, 't'], '{"id":4,"rowid":5,"b":"d"}\n');
    expect(bad.stderr).toMatch(/^quire: CONSTRAINT: line 1: rowid 5 and t.id 4 disagree/);
    // A column named rowid is the column (as in SQLite); the rowid is then _rowid_.
    expect((await cli(['import', file, 'p'], '{"_rowid_":10,"a":1,"rowid":"r"}\n[11,2,"s"]\n')).stdout).toBe('2 rows\n');
    expect(sqliteRows(file, 'SELECT _rowid_, a, rowid FROM p')).toEqual([
      [10n, 1n, 'r'],
      [11n, 2n, 's'],
    ]);
  });
});

describe('quire import reads what quire export writes', () => {
  const SCHEMA = 'CREATE TABLE v(k INTEGER PRIMARY KEY, x, r REAL, t TEXT)';
  const INSERTS = [
    "INSERT INTO v VALUES (1, '9007199254740993', 1.5, 'a,b')",
    'INSERT INTO v VALUES (2, 9007199254740993, 3.0, \'say "hi"\')',
    "INSERT INTO v VALUES (3, 3.0, 9e999, 'line\nbreak')",
    "INSERT INTO v VALUES (4, -9e999, -9e999, '')",
    "INSERT INTO v VALUES (5, x'00ff', NULL, NULL)",
    "INSERT INTO v VALUES (6, 'Infinity', -0.0, 'Infinity')",
    "INSERT INTO v VALUES (7, -9223372036854775808, 2.5, '')",
  ];
  const Q = 'SELECT k, typeof(x), x, typeof(r), r, typeof(t), t FROM v ORDER BY k';

  function source(): string {
    const dir = tempDir();
    const file = path.join(dir, 'src.db');
    makeDb(file, [SCHEMA, ...INSERTS].join(';\n'));
    return file;
  }

  it('--typed: lossless, TEXT 9007199254740993 and INTEGER 9007199254740993 apart', async () => {
    const src = source();
    const out = await cli(['export', src, 'v', '--typed']);
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe(
      [
        '[1,1,"9007199254740993",1.5,"a,b"]',
        '[2,2,{"int":"9007199254740993"},{"real":"3"},"say \\"hi\\""]',
        '[3,3,{"real":"3"},{"real":"Infinity"},"line\\nbreak"]',
        '[4,4,{"real":"-Infinity"},{"real":"-Infinity"},""]',
        '[5,5,{"blob":"00ff"},null,null]',
        '[6,6,"Infinity",{"real":"0"},"Infinity"]',
        '[7,7,{"int":"-9223372036854775808"},2.5,""]',
        '',
      ].join('\n'),
    );
    const dst = path.join(path.dirname(src), 'dst.db');
    const r = await cli(['import', dst, 'v', '--typed', '--create', SCHEMA], out.stdout);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('7 rows\n');
    expect(sqliteRows(dst, Q)).toEqual(sqliteRows(src, Q));
  });

  it('--objects --typed round trip', async () => {
    const src = source();
    const out = await cli(['export', src, 'v', '--objects', '--typed']);
    expect(out.stdout.split('\n')[1]).toBe('{"k":2,"x":{"int":"9007199254740993"},"r":{"real":"3"},"t":"say \\"hi\\""}');
    const dst = path.join(path.dirname(src), 'dst.db');
    expect((await cli(['import', dst, 'v', '--typed', '--create', SCHEMA], out.stdout)).stdout).toBe('7 rows\n');
    expect(sqliteRows(dst, Q)).toEqual(sqliteRows(src, Q));
  });

  it('the default format reads back as before (big integers and Infinity from strings outside TEXT)', async () => {
    const src = source();
    const out = await cli(['export', src, 'v']);
    const dst = path.join(path.dirname(src), 'dst.db');
    expect((await cli(['import', dst, 'v', '--create', SCHEMA], out.stdout)).stdout).toBe('7 rows\n');
    const got = sqliteRows(dst, Q) as unknown[][];
    const want = sqliteRows(src, Q) as unknown[][];
    // The default format's known ambiguity: TEXT '9007199254740993' in an untyped column
    // comes back as the INTEGER, and an integral REAL in it as an INTEGER.
    expect(got[0].slice(1, 3)).toEqual(['integer', 9007199254740993n]);
    expect(got[2].slice(1, 3)).toEqual(['integer', 3n]);
    expect(got.map((r) => r.slice(3))).toEqual(want.map((r) => r.slice(3)));
  });

  it('--format csv reads the header and RFC 4180 rows export --format csv writes', async () => {
    const src = source();
    const out = await cli(['export', src, 'v', '--format', 'csv']);
    expect(out.stdout.split('\r\n').slice(0, 3)).toEqual(['rowid,k,x,r,t', '1,1,9007199254740993,1.5,"a,b"', '2,2,9007199254740993,3,"say ""hi"""']);
    const dst = path.join(path.dirname(src), 'dst.db');
    const r = await cli(['import', dst, 'v', '--format', 'csv', '--create', SCHEMA], out.stdout);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('7 rows\n');
    // CSV keeps text, NULL vs '', and what the column's affinity gives back; untyped x is text.
    expect(sqliteRows(dst, 'SELECT k, r, t FROM v ORDER BY k')).toEqual(sqliteRows(src, 'SELECT k, r, t FROM v ORDER BY k'));
    expect(sqliteRows(dst, 'SELECT x FROM v WHERE k = 5')).toEqual([['00ff']]);
  });

  it('csv: a header naming an unknown column, a short row, a stray quote are errors naming the line', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'i.db');
    makeDb(file, T);
    expect((await cli(['import', file, 't', '--format', 'csv'], 'id,nope\n1,2\n')).stderr).toBe('quire: MISUSE: line 1: table t has no column named "nope"\n');
    expect((await cli(['import', file, 't', '--format', 'csv'], 'id,b\n1,x\n2\n')).stderr).toBe('quire: MISUSE: line 3: 1 fields, the header has 2\n');
    expect((await cli(['import', file, 't', '--format', 'csv'], 'b,id\n"a\nb",1\nx"y,2\n')).stderr).toBe(
      'quire: MISUSE: line 4: a quote inside an unquoted CSV field (quote the field and double the quote)\n',
    );
    const ok = await cli(['import', file, 't', '--format', 'csv'], 'b,id\r\n"multi\r\nline",1\r\n,2\r\n"",3');
    expect(ok.stdout).toBe('3 rows\n');
    expect(sqliteRows(file, 'SELECT id, b FROM t')).toEqual([
      [1n, 'multi\r\nline'],
      [2n, null],
      [3n, ''],
    ]);
  });

  it('an interrupt stops the import before the next row and writes nothing', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'i.db');
    makeDb(file, T);
    const controller = new AbortController();
    let stderr = '';
    const code = await main(['import', file, 't'], {
      stdout: () => {},
      stderr: (s) => void (stderr += s),
      isTTY: false,
      signal: controller.signal,
      stdin: async function* () {
        yield new TextEncoder().encode('[1,1,"a"]\n[2,2,"b"]\n');
        controller.abort('SIGINT');
        yield new TextEncoder().encode('[3,3,"c"]\n');
      },
    });
    expect(code).toBe(130);
    expect(stderr).toBe('quire: interrupted (SIGINT); nothing was changed\n');
    expect(sqliteRows(file, 'SELECT * FROM t')).toEqual([]);
    expect(existsSync(file + '-journal')).toBe(false);
  });

  it('--help shows usage, every option with its default, examples', async () => {
    const r = await cli(['import', '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: quire import DB TABLE \[options\]\n/);
    expect(r.stdout).toContain('--format FORMAT');
    expect(r.stdout).toContain('(default: jsonl)');
    expect(r.stdout).toContain('--typed');
    expect(r.stdout).toContain('examples:\n  quire export old.db users | quire import new.db users');
  });
});
