/**
 * quire dump: for every fixture SQLite made, quire's dump loaded into a fresh database by the
 * sqlite3 CLI equals the original, table by table, row by row, rowids, storage classes and
 * text bytes included; SQLite's own `.dump --preserve-rowids` loaded the same way is held to
 * the same comparison (its known losses listed). The statements other than INSERT are the
 * shell's, line for line.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readManifest, fixturePath } from '../../fixtures/index.mjs';
import { withOracle } from '../util/reference.js';
import { tempDir } from '../util/tmp.js';
import { cli } from './run.js';

type Db = BetterSqlite.Database;

const manifest = readManifest();
const readable = manifest.fixtures.filter((f) => f.error === null && f.corrupt === null && f.tables !== null);

function q(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** Runs the sqlite3 CLI on `file` with `input`; returns stdout, and stderr minus `ignore`d lines. */
function sqlite3(file: string, input: string | Buffer): { stdout: Buffer; stderr: string } {
  // Bytes, not strings: the shell writes TEXT that is not valid UTF-8 as it is stored.
  const r = spawnSync('sqlite3', [file], { input, maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

/**
 * The Debian sqlite3 CLI is built without STAT4: `ANALYZE sqlite_schema` makes no sqlite_stat4
 * there, so its rows cannot be loaded (from either dump). Those errors, and only those, are
 * expected.
 */
function unexpectedErrors(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .filter((l) => !/no such table: sqlite_stat4/.test(l) && !/^\s*INSERT INTO sqlite_stat4/.test(l) && !/^\s*\^--- error here/.test(l));
}

/** Every stored table's rows, as comparable text: rowid, and per value its class and content. */
function contents(db: Db, utf8Text: boolean, skip: (t: string) => boolean): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type='table' AND NOT (sql LIKE 'create virtual%') ORDER BY name")
    .pluck()
    .all() as string[];
  for (const t of tables) {
    if (skip(t)) continue;
    const info = db.prepare('SELECT name, hidden FROM pragma_table_xinfo(?)').all(t) as { name: string; hidden: number }[];
    const wr = (db.prepare("SELECT wr FROM pragma_table_list WHERE schema='main' AND name=?").get(t) as { wr: number }).wr;
    const declared = new Set(info.map((c) => c.name.toLowerCase()));
    const alias = wr ? undefined : ['rowid', '_rowid_', 'oid'].find((a) => !declared.has(a));
    const parts: string[] = [];
    if (alias) parts.push(alias);
    for (const c of info) {
      const col = q(c.name);
      parts.push(`typeof(${col})`, `CASE typeof(${col}) WHEN 'text' THEN ${utf8Text ? `'hex:' || hex(${col})` : col} ELSE ${col} END`);
    }
    const rows = db
      .prepare(`SELECT ${parts.join(', ')} FROM ${q(t)}${alias ? ` ORDER BY ${alias}` : ''}`)
      .raw(true)
      .safeIntegers(true)
      .all() as unknown[][];
    const text = rows.map((r) =>
      JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? `int:${v}` : typeof v === 'number' ? `real:${Object.is(v, -0) ? '0' : String(v)}` : v instanceof Uint8Array || (v && v.type === 'Buffer') ? `blob:${Buffer.from(v.data ?? v).toString('hex')}` : v)),
    );
    // WITHOUT ROWID order depends on the encoding (BINARY compares UTF-8 or UTF-16 bytes).
    if (wr || !alias) text.sort();
    out.set(t, text);
  }
  return out;
}

/** The differences between two table sets, one line each (capped per table). */
function differences(want: Map<string, string[]>, got: Map<string, string[]>, excused = (_row: string) => false): string[] {
  const out: string[] = [];
  for (const [t, rows] of want) {
    const g = got.get(t);
    if (!g) {
      out.push(`${t}: missing`);
      continue;
    }
    if (g.length !== rows.length) out.push(`${t}: ${g.length} rows, want ${rows.length}`);
    let n = 0;
    for (let i = 0; i < Math.min(g.length, rows.length) && n < 3; i++) {
      if (g[i] !== rows[i] && !excused(rows[i])) {
        out.push(`${t}: ${g[i].slice(0, 200)} != ${rows[i].slice(0, 200)}`);
        n++;
      }
    }
  }
  for (const t of got.keys()) if (!want.has(t)) out.push(`${t}: extra`);
  return out;
}

function schemaOf(db: Db): unknown[] {
  return db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name <> 'sqlite_stat4' ORDER BY type, name").raw(true).all();
}

/**
 * Known losses of SQLite's own dump, where the original row holds: a TEXT with a NUL (the
 * shell's C strings end there: 'a\0b' loads as 'a'), or a subnormal REAL (3.40 reads its own
 * 4.9406564584124654428e-324 back as 0.0).
 */
function shellLoss(wantRow: string): boolean {
  const values = JSON.parse(wantRow) as unknown[];
  return values.some(
    (v) =>
      typeof v === 'string' &&
      (v.includes('\0') || /^real:-?[0-9.]+e-3(0[89]|[1-2]\d)$/.test(v) || (v.startsWith('hex:') && /^(..)*00/.test(v.slice(4)))),
  );
}

describe('quire dump loads into sqlite3 as the original', () => {
  for (const f of readable) {
    it(f.name, async () => {
      const file = fixturePath(f);
      const dir = tempDir();
      const got = await cli(['dump', file]);
      expect(got.stderr).toBe('');
      expect(got.code).toBe(0);

      // SQLite's own dump, from a copy (the CLI recovers WAL and hot journals in place).
      const copy = path.join(dir, 'orig.db');
      copyFileSync(file, copy);
      for (const s of ['-wal', '-journal']) if (existsSync(file + s)) copyFileSync(file + s, copy + s);
      const shell = sqlite3(copy, '.dump --preserve-rowids\n');
      expect(shell.stderr).toBe('');
      const shellText = shell.stdout.toString('utf8');

      // Every statement but the INSERTs is the shell's, in the shell's order.
      const head = (s: string) => s.split('\n').map((l) => (l.startsWith('INSERT INTO ') && !l.startsWith('INSERT INTO sqlite_schema') ? l.slice(0, l.indexOf(' VALUES(')) : l));
      const lines = (s: string) => head(s).filter((l, i, a) => !(l.startsWith('INSERT INTO ') && a[i - 1] === l));
      expect(lines(got.stdout)).toEqual(lines(shellText));
      expect(got.stdout.split('\n').length).toBe(shellText.split('\n').length);

      const mine = path.join(dir, 'quire.db');
      const theirs = path.join(dir, 'shell.db');
      writeFileSync(path.join(dir, 'quire.sql'), got.stdout);
      expect(unexpectedErrors(sqlite3(mine, got.stdout).stderr)).toEqual([]);
      expect(unexpectedErrors(sqlite3(theirs, shell.stdout).stderr)).toEqual([]);

      const utf8 = f.encoding === 'UTF-8';
      const open = (p: string) => new BetterSqlite(p, { readonly: true });
      const a = open(mine);
      const b = open(theirs);
      try {
        const noStat4 = !a.prepare("SELECT 1 FROM sqlite_schema WHERE name='sqlite_stat4'").get();
        const skip = (t: string) => noStat4 && t === 'sqlite_stat4';
        const want = withOracle(file, (db) => contents(db, utf8, skip));
        const wantSchema = withOracle(file, schemaOf);
        expect(differences(want, contents(a, utf8, skip))).toEqual([]);
        expect(schemaOf(a)).toEqual(wantSchema);
        expect(a.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(differences(want, contents(b, utf8, skip), shellLoss)).toEqual([]);
      } finally {
        a.close();
        b.close();
      }
    });
  }
});

describe('quire dump TABLE, usage, output', () => {
  const many = fixturePath(manifest.fixtures.find((f) => f.name === 'schema-many')!);

  it('TABLE patterns select as the shell does (objects so named, a virtual table with its shadows)', async () => {
    const dir = tempDir();
    const copy = path.join(dir, 'many.db');
    copyFileSync(many, copy);
    for (const args of [['t01'], ['fts'], ['sqlite_sequence'], ['v0', 't03'], ['T0_'], ['odd%']]) {
      const got = await cli(['dump', many, ...args]);
      expect(got.stderr).toBe('');
      expect(got.code).toBe(0);
      const quoted = args.map((a) => `'${a}'`).join(' ');
      expect(got.stdout, args.join(' ')).toBe(sqlite3(copy, `.dump --preserve-rowids ${quoted}\n`).stdout.toString('utf8'));
    }
  });

  it('a pattern that matches nothing is NOTFOUND, before any output', async () => {
    expect(await cli(['dump', many, 'nosuch'])).toEqual({ code: 1, stdout: '', stderr: `quire: NOTFOUND: no table matches "nosuch" in ${many}\n` });
  });

  it('waits for each write to finish before the next (backpressure)', async () => {
    const big = fixturePath(manifest.fixtures.find((f) => f.name === 'large-payload')!);
    let pending = false;
    let writes = 0;
    let overlapped = false;
    let worst = 0;
    const { main } = await import('../../src/cli/main.js');
    const code = await main(['dump', big], {
      stdout: (s) => {
        if (pending) overlapped = true;
        pending = true;
        writes++;
        // What came before the chunk's last line: under 64 KiB (a chunk is sent once full).
        worst = Math.max(worst, s.lastIndexOf('\n', s.length - 2) + 1);
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            pending = false;
            resolve();
          }),
        );
      },
      stderr: () => {},
      isTTY: false,
      stdin: async function* () {},
    });
    expect(code).toBe(0);
    expect(overlapped).toBe(false);
    expect(writes).toBeGreaterThan(10);
    expect(worst).toBeLessThan(64 * 1024);
  });

  it('an interrupt ends it while the reader has stopped reading (exit 130)', async () => {
    const controller = new AbortController();
    let stderr = '';
    let writes = 0;
    const { main } = await import('../../src/cli/main.js');
    const code = await main(['dump', fixturePath(manifest.fixtures.find((f) => f.name === 'large-payload')!)], {
      // The reader takes the first chunk and never drains: the write stays pending.
      stdout: () => {
        writes++;
        queueMicrotask(() => controller.abort('SIGINT'));
        return new Promise<void>(() => {});
      },
      stderr: (s) => void (stderr += s),
      isTTY: false,
      signal: controller.signal,
      stdin: async function* () {},
    });
    expect(code).toBe(130);
    expect(writes).toBe(1);
    expect(stderr).toBe('quire: interrupted (SIGINT); nothing was changed\n');
  });

  it('--help shows usage, description and examples', async () => {
    const r = await cli(['dump', '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: quire dump DB \[TABLE\.\.\.\]\n\nPrints SQL text that rebuilds DB/);
    expect(r.stdout).toContain('examples:\n  quire dump app.db > app.sql\n');
  });
});
