/**
 * quire check DB [--max-errors N]
 *
 * Checks DB like PRAGMA integrity_check (src/check.ts): prints `ok` and exits 0 when nothing is
 * wrong, else one problem per line on stdout (at most N, default 100) and exits 1. A file quire
 * cannot open at all (not a database, unreadable header, a page count beyond the file) fails
 * the usual way: `quire: CODE: message` on stderr, exit 1.
 */
import { openDatabase } from '../node/index.js';
import { intOption, parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';


export const CHECK: CommandSpec = {
  name: 'check',
  args: 'DB',
  // Allocates fast and keeps little: bin.ts holds V8's young generation at its first size.
  steadyMemory: true,
  summary: 'check the file like PRAGMA integrity_check: ok, or one problem per line',
  description:
    'Walks every b-tree, overflow chain, the freelist and pointer map, and checks every index\n' +
    'against its table, as PRAGMA integrity_check does. Prints "ok" and exits 0, or one problem\n' +
    'per line and exits 1. Reads only.',
  options: [{ name: 'max-errors', value: 'N', help: 'stop after N problems', default: '100' }],
  examples: ['quire check app.db', 'quire check damaged.db --max-errors 10'],
  run: checkCommand,
};

async function checkCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, CHECK.options);
  const [file] = positionals(p, CHECK);
  const maxErrors = intOption(p, 'max-errors', 100, 1);
  // Every page is read once or twice in order: a small page cache (the interior pages the
  // checks descend through) keeps memory flat, as export does.
  const db = await openDatabase(file, { cacheBytes: 8 << 20 });
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
