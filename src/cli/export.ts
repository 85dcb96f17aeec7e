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
import { UsageError, parseArgs, positionals } from './args.js';
import type { CliIO } from './io.js';

export const USAGE = 'quire export DB TABLE [--format jsonl|csv]';

export async function exportCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, { format: { value: true } });
  const [file, table] = positionals(p, ['DB', 'TABLE'], USAGE);
  const format = p.values.get('format') ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw new UsageError('--format must be jsonl or csv');
  const db = await openDatabase(file);
  try {
    const t = await db.table(table);
    let buf = '';
    if (format === 'csv') buf += columnNames(t).map((n) => csvValue(n)).join(',') + '\r\n';
    for await (const row of db.rows(table)) {
      buf += format === 'csv' ? row.map(csvValue).join(',') + '\r\n' : exportRow(row) + '\n';
      if (buf.length > 1 << 16) {
        io.stdout(buf);
        buf = '';
      }
    }
    if (buf) io.stdout(buf);
    return 0;
  } finally {
    await db.close();
  }
}
