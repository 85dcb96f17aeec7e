/**
 * quire export DB TABLE [--format jsonl|csv]
 *
 * Prints every row of TABLE in b-tree order. jsonl (default): one JSON array per line, the
 * rowid first for rowid tables, then the stored columns (see src/read.ts for the value rules).
 * csv: a header line of column names, then RFC 4180 rows (BLOBs as hex, NULL as empty).
 */
import { openDatabase } from '../node/index.js';
import { columnNames } from '../read.js';
import { csvValue, exportRow } from '../read.js';
import { choiceOption, parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';


/** Characters of output gathered before one write (and one wait for a slow reader). */
const OUTPUT_CHUNK = 64 * 1024;

export const EXPORT: CommandSpec = {
  name: 'export',
  args: 'DB TABLE',
  summary: 'print every row of a table (JSON lines or CSV)',
  description:
    'Prints every row of TABLE in b-tree order. jsonl: one JSON array per line, the rowid first for\n' +
    'rowid tables, then the stored columns (BLOBs as {"blob":"hex"}, INTEGERs beyond 2^53 and\n' +
    '±Infinity as strings). csv: a header line of column names, then RFC 4180 rows (BLOBs as hex,\n' +
    'NULL as empty). Reads only.',
  options: [{ name: 'format', value: 'FORMAT', help: 'jsonl or csv', default: 'jsonl' }],
  examples: ['quire export app.db users > users.jsonl', 'quire export app.db users --format csv | head'],
  run: exportCommand,
};

async function exportCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, EXPORT.options);
  const [file, table] = positionals(p, EXPORT);
  const format = choiceOption(p, 'format', ['jsonl', 'csv'], 'jsonl');
  const db = await openDatabase(file);
  try {
    const t = await db.table(table);
    let buf = '';
    if (format === 'csv') buf += columnNames(t).map((n) => csvValue(n)).join(',') + '\r\n';
    for await (const row of db.rows(table)) {
      buf += format === 'csv' ? row.map(csvValue).join(',') + '\r\n' : exportRow(row) + '\n';
      if (buf.length > OUTPUT_CHUNK) {
        await io.stdout(buf);
        buf = '';
      }
    }
    if (buf) await io.stdout(buf);
    return 0;
  } finally {
    await db.close();
  }
}
