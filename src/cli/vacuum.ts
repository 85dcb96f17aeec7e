/**
 * quire vacuum DB
 *
 * Rebuilds DB compactly, as SQLite's VACUUM does, in one atomic transaction. Prints the page
 * counts before and after.
 */
import { openDatabase } from '../node/index.js';
import { parseArgs, positionals } from './args.js';
import type { CliIO } from './io.js';

export const USAGE = 'quire vacuum DB';

export async function vacuumCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, {});
  const [file] = positionals(p, ['DB'], USAGE);
  const db = await openDatabase(file, { readOnly: false });
  try {
    const r = await db.vacuum();
    io.stdout(`${r.pagesBefore} pages before, ${r.pagesAfter} after\n`);
    return 0;
  } finally {
    await db.close();
  }
}
