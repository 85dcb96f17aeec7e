/** quire tables: kinds, counts, internal tables only with --all, JSON; checked against SQLite. */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import path from 'node:path';
import { tempDir } from '../util/tmp.js';
import { cli } from './run.js';

function makeDb(): string {
  const file = path.join(tempDir(), 'k.db');
  const db = new BetterSqlite(file);
  db.exec(`
    CREATE TABLE users(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
    CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
    CREATE VIEW names AS SELECT name FROM users;
    CREATE VIRTUAL TABLE docs USING fts5(body);
    INSERT INTO users(name) VALUES ('a'), ('b'), ('c');
    INSERT INTO kv VALUES ('x', 1), ('y', 2);
    INSERT INTO docs VALUES ('hello');
  `);
  db.close();
  return file;
}

describe('quire tables', () => {
  it('lists tables and views with their kind, in sqlite_schema order, without sqlite_* tables', async () => {
    const r = await cli(['tables', makeDb()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'users         table',
        'kv            without rowid',
        'names         view',
        'docs          virtual',
        'docs_data     table',
        'docs_idx      without rowid',
        'docs_content  table',
        'docs_docsize  table',
        'docs_config   without rowid',
        '',
      ].join('\n'),
    );
  });

  it('--count --all: row counts as SQLite counts them; sqlite_sequence listed', async () => {
    const file = makeDb();
    const r = await cli(['tables', file, '--count', '--all']);
    expect(r.code).toBe(0);
    const db = new BetterSqlite(file, { readonly: true });
    const count = (t: string) => (db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n;
    const lines = r.stdout.trim().split('\n').map((l) => l.split(/\s{2,}|\s(?=\S+$)/));
    const byName = new Map(lines.map((l) => [l[0], l[l.length - 1]]));
    expect([...byName.keys()]).toEqual(['users', 'sqlite_sequence', 'kv', 'names', 'docs', 'docs_data', 'docs_idx', 'docs_content', 'docs_docsize', 'docs_config']);
    for (const t of ['users', 'sqlite_sequence', 'kv', 'docs_data', 'docs_idx', 'docs_content', 'docs_docsize', 'docs_config']) {
      expect(byName.get(t), t).toBe(String(count(t)));
    }
    expect(byName.get('names')).toBe('-');
    expect(byName.get('docs')).toBe('-');
    expect(r.stdout.split('\n')[0]).toBe('users            table          3');
    db.close();
  });

  it('--json has kind, root page, columns, indexes and, with --count, count', async () => {
    const r = await cli(['tables', makeDb(), '--json', '--count']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { name: string; kind: string; count: number | null; columns: string[] }[];
    expect(j.slice(0, 4).map((e) => [e.name, e.kind, e.count])).toEqual([
      ['users', 'table', 3],
      ['kv', 'without rowid', 2],
      ['names', 'view', null],
      ['docs', 'virtual', null],
    ]);
    expect(j[0].columns).toEqual(['id', 'name']);
  });

  it('--help; a bad option names the nearest', async () => {
    const h = await cli(['tables', '--help']);
    expect(h.code).toBe(0);
    expect(h.stderr).toBe('');
    expect(h.stdout).toMatch(/^usage: quire tables DB \[options\]\n\nLists the tables and views/);
    expect(h.stdout).toContain('--count');
    expect(h.stdout).toContain('examples:\n  quire tables app.db\n');
    const bad = await cli(['tables', 'x.db', '--cout']);
    expect(bad).toEqual({ code: 2, stdout: '', stderr: 'quire: usage: unknown option --cout (did you mean --count?)\n' });
  });
});
