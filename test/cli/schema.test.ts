/**
 * quire schema prints what `sqlite3 DB .schema [PATTERN]` prints, byte for byte, on every
 * fixture SQLite made (and for table patterns on the richest ones).
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { readManifest, fixturePath } from '../../fixtures/index.mjs';
import { tempDir } from '../util/tmp.js';
import { cli } from './run.js';

const manifest = readManifest();
const readable = manifest.fixtures.filter((f) => f.error === null && f.corrupt === null && f.tables !== null);

/** `sqlite3 COPY .schema ARG`, on a copy (the CLI recovers WAL files and hot journals in place). */
function shellSchema(file: string, arg = ''): string {
  const dir = tempDir();
  const copy = path.join(dir, path.basename(file));
  copyFileSync(file, copy);
  for (const s of ['-wal', '-journal']) if (existsSync(file + s)) copyFileSync(file + s, copy + s);
  const r = spawnSync('sqlite3', [copy, `.schema ${arg}`], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout;
}

describe('quire schema equals sqlite3 .schema', () => {
  for (const f of readable) {
    it(f.name, async () => {
      const r = await cli(['schema', fixturePath(f)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(shellSchema(fixturePath(f)));
    });
  }

  const patterns: [string, string[]][] = [
    ['example', ['orders', 'ORDER_ITEMS', 'order_totals', 'cust%', 'o*', 'products']],
    // (Not 'fts*': with a pattern the shell also lists the eponymous virtual tables its own
    // build provides, e.g. "/* fts3tokenize(...) */;", which belong to no database file.)
    ['schema-many', ['t01', 't0_', 'T0_', 'v0', 'fts', 'fts_*', '"odd ""quoted"" name"', 'tâble ü 😀', 'select', 'sqlite_sequence', 'sqlite_schema', 'SQLITE_MASTER']],
    ['schema-features', ['gen', 'child']],
  ];
  for (const [name, pats] of patterns) {
    it(`${name}: quire schema DB TABLE`, async () => {
      const file = fixturePath(manifest.fixtures.find((f) => f.name === name)!);
      for (const p of pats) {
        // The shell takes one argument; a quoted name there is the text between the quotes.
        const unquoted = p.startsWith('"') ? p.slice(1, -1).replace(/""/g, '"') : p;
        const want = shellSchema(file, p.includes(' ') || p.includes('"') ? `'${unquoted.replace(/'/g, "''")}'` : p);
        if (want === '') continue;
        const r = await cli(['schema', file, unquoted]);
        expect(r.stderr, p).toBe('');
        expect(r.stdout, p).toBe(want);
      }
    });
  }

  it('several patterns print what matches any, in sqlite_schema order', async () => {
    const file = fixturePath(manifest.fixtures.find((f) => f.name === 'example')!);
    const r = await cli(['schema', file, 'orders', 'customers']);
    expect(r.stdout).toBe(shellSchema(file, 'customers') + shellSchema(file, 'orders'));
  });

  it('a pattern that matches nothing is NOTFOUND (exit 1); no DB is usage (exit 2)', async () => {
    const file = fixturePath(manifest.fixtures.find((f) => f.name === 'example')!);
    const r = await cli(['schema', file, 'nosuch']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `quire: NOTFOUND: no table matches "nosuch" in ${file}\n` });
    const u = await cli(['schema']);
    expect(u.code).toBe(2);
    expect(u.stdout).toBe('');
    expect(u.stderr).toBe('quire: usage: schema: missing DB\nusage: quire schema DB [TABLE...] (quire schema --help for more)\n');
  });

  it('--help shows usage, description and examples', async () => {
    const r = await cli(['schema', '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^usage: quire schema DB \[TABLE\.\.\.\]\n\nPrints the CREATE statements/);
    expect(r.stdout).toContain('examples:\n  quire schema app.db\n  quire schema app.db users\n');
  });
});
