/**
 * quire dump DB [TABLE...]
 *
 * SQL text that rebuilds the database, as the sqlite3 shell's `.dump --preserve-rowids`
 * writes it (shell.c 3.40, dump_callback and run_table_dump_query):
 *
 *   PRAGMA foreign_keys=OFF;
 *   BEGIN TRANSACTION;
 *   for each table with SQL, in sqlite_schema order, sqlite_sequence last:
 *     sqlite_sequence        DELETE FROM sqlite_sequence;   then its rows
 *     sqlite_stat1..4        ANALYZE sqlite_schema;         then its rows
 *     other sqlite_*         nothing
 *     virtual table          PRAGMA writable_schema=ON; (once) and
 *                            INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql)VALUES(...);
 *                            (no rows: they belong to the module; its shadow tables are dumped)
 *     table                  its CREATE (shell.ts schemaLine), then one
 *                            INSERT INTO t VALUES(...); per row in b-tree order
 *   the CREATE of every index, trigger and view with SQL, in sqlite_schema order
 *     (followed by "\n;" instead of ";" when the text holds "--")
 *   PRAGMA writable_schema=OFF;   (if turned on)
 *   COMMIT;
 *
 * Rows keep their rowids: a rowid table without an INTEGER PRIMARY KEY is written
 * `INSERT INTO t(rowid,a,b) VALUES(...)` (rowid, else _rowid_, else oid: the first that is
 * not a column's name; a table that uses all three cannot keep them), as --preserve-rowids
 * does; the plain shell `.dump` renumbers such rows. Generated columns are left out (SQLite
 * computes them). Values: see values.ts sqlLiteral (REALs exact, ±Infinity as ±1e999, TEXT
 * with replace(...,char(10)) for line breaks and ||char(0)|| for NULs, BLOBs as X'hex').
 *
 * With TABLE patterns (LIKE, as the shell: % and _, case-insensitive), only the objects whose
 * own name matches (so `dump DB t` gives t's CREATE and rows, not its indexes), plus the
 * shadow tables of a matching virtual table. A pattern that matches nothing is NOTFOUND.
 * Output is written 16 Ki characters at a time, waiting for a slow reader; SIGINT/SIGTERM stop it.
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';
import { openDatabase } from '../node/index.js';
import type { PageSource } from '../../pager/source.js';
import type { Catalog, SchemaRow, TableInfo } from '../catalog.js';
import { assertReadable, exactRows } from '../read.js';
import { asciiEqualNoCase } from '../schema/tokenize.js';
import { parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';
import { likeMatch, quoteIdentifier, schemaLine } from './shell.js';
import { sqlLiteral } from './values.js';
import { stdoutOutput, type ChunkedOutput } from './output.js';

export const DUMP: CommandSpec = {
  name: 'dump',
  interruptible: true,
  steadyMemory: true,
  args: 'DB [TABLE...]',
  summary: 'print SQL that rebuilds the database (as sqlite3 .dump)',
  description:
    'Prints SQL text that rebuilds DB, as the sqlite3 shell\'s .dump --preserve-rowids writes it:\n' +
    'PRAGMA foreign_keys=OFF; BEGIN TRANSACTION; each table\'s CREATE and its rows as INSERT\n' +
    'statements; then indexes, triggers and views; COMMIT. Rowids are kept (INSERT INTO t(rowid,...)\n' +
    'for tables without an INTEGER PRIMARY KEY), REALs are exact, text keeps line breaks and NULs.\n' +
    'With TABLE (a LIKE pattern, as the shell), only the objects so named. Load it with\n' +
    '`sqlite3 new.db < dump.sql`. Reads only.',
  options: [],
  examples: ['quire dump app.db > app.sql', 'quire dump app.db users | sqlite3 users.db', 'quire dump app.db | gzip > app.sql.gz'],
  run: dumpCommand,
};

/** The shell's .dump selection: objects named like a pattern, or a matching vtab's shadows. */
function selected(cat: Catalog, patterns: readonly string[], r: SchemaRow): boolean {
  if (patterns.length === 0) return true;
  return patterns.some(
    (p) =>
      likeMatch(p, r.name) ||
      cat.rows.some((v) => likeMatch(p, v.name) && (v.sql ?? '').toUpperCase().startsWith('CREATE VIRTUAL TABLE') && likeMatch(p + '_%', r.name)),
  );
}

/** The name the rowid is written under, or null when it is not written (see the header). */
function rowidName(t: TableInfo): string | null {
  if (t.withoutRowid || t.rowidAlias >= 0) return null;
  for (const n of ['rowid', '_rowid_', 'oid']) {
    if (!t.columns.some((c) => asciiEqualNoCase(c.name, n))) return n;
  }
  return null;
}

async function dumpRows(t: TableInfo, snap: PageSource, out: ChunkedOutput): Promise<void> {
  const rowid = rowidName(t);
  const offset = t.withoutRowid ? 0 : 1;
  // Offsets into the row of the values to write: stored, not generated, columns.
  const picks: number[] = [];
  const names: string[] = [];
  let k = offset;
  for (const c of t.columns) {
    if (c.slot < 0) continue;
    if (c.def.generated === undefined) {
      picks.push(k);
      names.push(quoteIdentifier(c.name));
    }
    k++;
  }
  const target = quoteIdentifier(t.name) + (rowid ? `(${rowid},${names.join(',')})` : '');
  const head = `INSERT INTO ${target} VALUES(`;
  for await (const { values, kinds } of exactRows(t, snap)) {
    let s = head;
    if (rowid) s += sqlLiteral(values[0], kinds[0]) + (picks.length ? ',' : '');
    for (let i = 0; i < picks.length; i++) {
      if (i) s += ',';
      s += sqlLiteral(values[picks[i]], kinds[picks[i]]);
    }
    await out.write(s + ');\n');
  }
}

async function dumpCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, DUMP.options);
  const [file, ...patterns] = positionals(p, DUMP, 1, Infinity);
  // A sequential read: a small page cache keeps memory flat (as export does).
  const db = await openDatabase(file, { cacheBytes: 2 << 20 });
  // One snapshot for the whole dump (the shell holds a read transaction the same way).
  const snap = await db.pager.read();
  try {
    const cat = await db.catalogAt(snap);
    for (const pat of patterns) {
      if (!cat.rows.some((r) => likeMatch(pat, r.name))) throw new QuireError(ErrorCode.NOTFOUND, `no table matches ${JSON.stringify(pat)} in ${file}`);
    }
    const tables = cat.rows
      .filter((r) => r.type === 'table' && r.sql !== null && selected(cat, patterns, r))
      .sort((a, b) => Number(a.tblName === 'sqlite_sequence') - Number(b.tblName === 'sqlite_sequence'));
    // Refuse before writing anything what cannot be read.
    for (const r of tables) {
      const t = db.tableIn(cat, r.name);
      if (!t.virtual && !(r.name.startsWith('sqlite_') && !isDumpedSystemTable(r.name))) assertReadable(t);
    }
    const out = stdoutOutput(io);
    await out.write('PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n');
    let writableSchema = false;
    for (const r of tables) {
      const t = db.tableIn(cat, r.name);
      if (r.name === 'sqlite_sequence') await out.write('DELETE FROM sqlite_sequence;\n');
      else if (/^sqlite_stat.$/.test(r.name)) await out.write('ANALYZE sqlite_schema;\n');
      else if (r.name.startsWith('sqlite_')) continue;
      else if (r.sql!.startsWith('CREATE VIRTUAL TABLE')) {
        if (!writableSchema) await out.write('PRAGMA writable_schema=ON;\n');
        writableSchema = true;
        const q = (s: string) => s.replace(/'/g, "''");
        await out.write(`INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql)VALUES('table','${q(r.name)}','${q(r.name)}',0,'${q(r.sql!)}');\n`);
        continue;
      } else await out.write(schemaLine(r.sql!));
      await dumpRows(t, snap, out);
    }
    for (const r of cat.rows) {
      if (r.sql === null || (r.type !== 'index' && r.type !== 'trigger' && r.type !== 'view') || !selected(cat, patterns, r)) continue;
      await out.write(r.sql + (r.sql.includes('--') ? '\n;\n' : ';\n'));
    }
    if (writableSchema) await out.write('PRAGMA writable_schema=OFF;\n');
    await out.write('COMMIT;\n');
    await out.flush();
    return 0;
  } finally {
    snap.release();
    await db.close();
  }
}

function isDumpedSystemTable(name: string): boolean {
  return name === 'sqlite_sequence' || /^sqlite_stat.$/.test(name);
}
