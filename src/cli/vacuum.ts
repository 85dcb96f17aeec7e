/**
 * quire vacuum DB
 *
 * Rebuilds DB compactly, as SQLite's VACUUM does, in one atomic transaction. Prints the page
 * counts before and after.
 */
import { openDatabase } from '../node/index.js';
import { parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';

export const VACUUM: CommandSpec = {
  name: 'vacuum',
  interruptible: true,
  steadyMemory: true,
  args: 'DB',
  summary: 'rebuild the database compactly (SQLite VACUUM)',
  description:
    'Rebuilds DB with no free pages and full b-tree pages, as SQLite\'s VACUUM does, and swaps the\n' +
    'new image in with one atomic (journaled) commit. The new image is built in a scratch file\n' +
    'beside DB, removed afterwards. Needs write access to DB and its directory. Interrupted\n' +
    '(Ctrl-C), it leaves DB as it was.',
  options: [],
  examples: ['quire vacuum app.db'],
  run: vacuumCommand,
};

async function vacuumCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, VACUUM.options);
  const [file] = positionals(p, VACUUM);
  // The rebuild reads each source page once: a small cache holds the b-tree paths.
  const db = await openDatabase(file, { readOnly: false, cacheBytes: 4 << 20 });
  try {
    const r = await db.vacuum({ signal: io.signal });
    io.stdout(`${r.pagesBefore} pages before, ${r.pagesAfter} after\n`);
    return 0;
  } finally {
    await db.close();
  }
}
