/**
 * quire tables DB [--count] [--all] [--json]
 *
 * Lists the tables and views of DB in sqlite_schema order, one per line: the name, then its
 * kind (table, without rowid, virtual, view), then with --count its number of rows (a view or
 * a virtual table has none to count: "-"). Columns are padded to line up. SQLite's own tables
 * (names starting sqlite_: sqlite_sequence, sqlite_stat1, ...) only with --all. --json prints
 * the same list as a JSON array of {name, kind, rootPage, columns, indexes, count?, error}.
 */
import { openDatabase } from '../node/index.js';
import { columnNames, countRows } from '../read.js';
import type { Catalog, SchemaRow } from '../catalog.js';
import { nameKey } from '../catalog.js';
import type { PageSource } from '../../pager/source.js';
import { parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';

export const TABLES: CommandSpec = {
  name: 'tables',
  args: 'DB',
  summary: 'list the tables and views, with their kind (and row counts)',
  description:
    'Lists the tables and views of DB in sqlite_schema order, one per line: the name and its kind\n' +
    '(table, without rowid, virtual or view), lined up in columns; with --count a third column gives\n' +
    'the number of rows ("-" for views and virtual tables). SQLite\'s own tables (sqlite_sequence,\n' +
    'sqlite_stat1, ...) are listed only with --all. Reads only.',
  options: [
    { name: 'count', help: 'add each table\'s row count (reads every table)' },
    { name: 'all', help: 'include SQLite\'s internal tables (names starting sqlite_)' },
    { name: 'json', help: 'print name, kind, root page, columns, indexes (and count) of each as JSON' },
  ],
  examples: ['quire tables app.db', 'quire tables app.db --count --all', 'quire tables app.db --json'],
  run: tablesCommand,
};

interface Entry {
  name: string;
  kind: 'table' | 'without rowid' | 'virtual' | 'view';
  rootPage: number;
  columns: string[];
  indexes: string[];
  count?: number | null;
  error: string | null;
}

async function entryOf(cat: Catalog, r: SchemaRow, snap: PageSource, count: boolean): Promise<Entry> {
  if (r.type === 'view') return { name: r.name, kind: 'view', rootPage: 0, columns: [], indexes: [], ...(count ? { count: null } : {}), error: null };
  const t = cat.tables.get(nameKey(r.name))!;
  const kind = t.virtual ? 'virtual' : t.withoutRowid ? 'without rowid' : 'table';
  const e: Entry = { name: t.name, kind, rootPage: t.rootPage, columns: t.def ? columnNames(t, false) : [], indexes: t.indexes.map((i) => i.name), error: t.error };
  if (count) e.count = t.virtual || t.error ? null : await countRows(t, snap);
  return e;
}

async function tablesCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, TABLES.options);
  const [file] = positionals(p, TABLES);
  const count = p.flags.has('count');
  const db = await openDatabase(file);
  const snap = await db.pager.read();
  try {
    const cat = await db.catalogAt(snap);
    const rows = cat.rows.filter((r) => (r.type === 'table' || r.type === 'view') && (p.flags.has('all') || !r.name.startsWith('sqlite_')));
    const entries: Entry[] = [];
    for (const r of rows) entries.push(await entryOf(cat, r, snap, count));
    if (p.flags.has('json')) {
      await io.stdout(JSON.stringify(entries, null, 2) + '\n');
      return 0;
    }
    const w = Math.max(0, ...entries.map((e) => e.name.length)) + 2;
    const k = Math.max(0, ...entries.map((e) => e.kind.length)) + 2;
    const lines = entries.map((e) => (count ? `${e.name.padEnd(w)}${e.kind.padEnd(k)}${e.count ?? '-'}` : `${e.name.padEnd(w)}${e.kind}`));
    await io.stdout(lines.map((l) => l + '\n').join(''));
    return 0;
  } finally {
    snap.release();
    await db.close();
  }
}
