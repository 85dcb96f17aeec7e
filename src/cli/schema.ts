/**
 * quire schema DB [TABLE...]
 *
 * Prints the CREATE statements as the sqlite3 shell's `.schema` does: every sqlite_schema row
 * that has SQL (automatic indexes have none), in sqlite_schema (rowid) order, each followed by
 * `;` (src/cli/shell.ts schemaLine). With TABLE patterns, only the objects whose table
 * (tbl_name) matches one: a table with its indexes and triggers, a view with its triggers.
 * A pattern is matched as the shell matches it: LIKE (case-insensitive, % and _) unless it
 * holds * ? or [, then GLOB against the lower-cased name. A view or a virtual table whose
 * columns quire can name gets the shell's `/* name(col,...) *\/` comment (view.ts).
 * A pattern LIKE sqlite_schema (or sqlite_master, ...) first prints the schema table's own
 * definition, as the shell does. Unlike the shell, a pattern that matches nothing is an
 * error (NOTFOUND), not silence; and the eponymous virtual tables of the shell's build
 * (`/* fts3tokenize(...) *\/;`, which it adds for some patterns) are no part of a file.
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';
import { openDatabase } from '../node/index.js';
import type { Catalog, SchemaRow } from '../catalog.js';
import { parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';
import { likeMatch, patternMatch, schemaLine } from './shell.js';
import { columnsComment } from './view.js';

export const SCHEMA: CommandSpec = {
  name: 'schema',
  args: 'DB [TABLE...]',
  summary: 'print the CREATE statements (as sqlite3 .schema)',
  description:
    'Prints the CREATE statements of DB as the sqlite3 shell\'s .schema does: each followed by ";",\n' +
    'in sqlite_schema order, SQLite\'s own tables (sqlite_sequence, sqlite_stat1) included. With\n' +
    'TABLE, only that table\'s CREATE and its indexes and triggers (a view: the view and its\n' +
    'triggers). TABLE is a pattern as in the shell: LIKE (% and _, case-insensitive), or GLOB\n' +
    'when it holds * ? or [. A TABLE that matches nothing is an error. Reads only.',
  options: [],
  examples: ['quire schema app.db', 'quire schema app.db users', "quire schema app.db 'log_%'"],
  run: schemaCommand,
};

/** The rows `.schema PATTERN...` prints (every row with SQL when no pattern is given). */
export function schemaRows(cat: Catalog, patterns: readonly string[]): SchemaRow[] {
  return cat.rows.filter((r) => r.sql !== null && (patterns.length === 0 || patterns.some((p) => patternMatch(p, r.tblName))));
}

const SCHEMA_NAMES = ['sqlite_master', 'sqlite_schema', 'sqlite_temp_master', 'sqlite_temp_schema'];

async function schemaCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, SCHEMA.options);
  const [file, ...patterns] = positionals(p, SCHEMA, 1, Infinity);
  const db = await openDatabase(file);
  try {
    const cat = await db.schema();
    let out = '';
    for (const pat of patterns) {
      // The shell answers a pattern naming the schema table itself with its definition.
      const isSchema = SCHEMA_NAMES.some((n) => likeMatch(pat, n));
      if (isSchema) out += `CREATE TABLE ${pat} (\n  type text,\n  name text,\n  tbl_name text,\n  rootpage integer,\n  sql text\n);\n`;
      else if (!cat.rows.some((r) => r.sql !== null && patternMatch(pat, r.tblName))) {
        throw new QuireError(ErrorCode.NOTFOUND, `no table matches ${JSON.stringify(pat)} in ${file}`);
      }
    }
    for (const r of schemaRows(cat, patterns)) {
      const comment = columnsComment(cat, r);
      out += schemaLine(comment ? `${r.sql}\n/* ${comment} */` : r.sql!);
    }
    await io.stdout(out);
    return 0;
  } finally {
    await db.close();
  }
}
