/**
 * quire tables DB [--json]
 *
 * Lists the tables of DB, one per line (with --json: name, columns, kind, root page, indexes).
 */
import { openDatabase } from '../node/index.js';
import { columnNames } from '../read.js';
import { nameKey } from '../catalog.js';
import { parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';


export const TABLES: CommandSpec = {
  name: 'tables',
  args: 'DB',
  summary: 'list the tables',
  description: 'Lists the tables of DB, one per line. Reads only.',
  options: [{ name: 'json', help: 'print name, kind, root page, columns and indexes of each table as JSON' }],
  examples: ['quire tables app.db', 'quire tables app.db --json'],
  run: tablesCommand,
};

async function tablesCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, TABLES.options);
  const [file] = positionals(p, TABLES);
  const db = await openDatabase(file);
  try {
    const cat = await db.schema();
    const names = cat.rows.filter((r) => r.type === 'table').map((r) => r.name);
    if (!p.flags.has('json')) {
      io.stdout(names.map((n) => n + '\n').join(''));
      return 0;
    }
    const out = names.map((n) => {
      const t = cat.tables.get(nameKey(n))!;
      return {
        name: t.name,
        rootPage: t.rootPage,
        kind: t.virtual ? 'virtual' : t.withoutRowid ? 'without rowid' : 'rowid',
        columns: t.def ? columnNames(t, false) : [],
        indexes: t.indexes.map((i) => i.name),
        error: t.error,
      };
    });
    io.stdout(JSON.stringify(out, null, 2) + '\n');
    return 0;
  } finally {
    await db.close();
  }
}
