/**
 * quire check DB [--max-errors N]
 *
 * Checks DB like PRAGMA integrity_check (src/check.ts): prints `ok` and exits 0 when nothing is
 * wrong, else one problem per line on stdout (at most N, default 100) and exits 1. A file quire
 * cannot open at all (not a database, unreadable header, a page count beyond the file) fails
 * the usual way: `quire: CODE: message` on stderr, exit 1.
 */
import { openDatabase } from '../node/index.js';
import { intOption, parseArgs, positionals } from './args.js';
import type { CliIO } from './io.js';

export const USAGE = 'quire check DB [--max-errors N]';

export async function checkCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, { 'max-errors': { value: true } });
  const [file] = positionals(p, ['DB'], USAGE);
  const maxErrors = intOption(p, 'max-errors', 100, 1);
  const db = await openDatabase(file);
  try {
    const problems = await db.check({ maxErrors });
    if (problems.length === 0) {
      io.stdout('ok\n');
      return 0;
    }
    // One problem per line, whatever a name inside it holds.
    io.stdout(problems.map((s) => s.replace(/\r?\n/g, ' ') + '\n').join(''));
    return 1;
  } finally {
    await db.close();
  }
}
