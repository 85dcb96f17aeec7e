/**
 * quire recover DB
 *
 * Gets DB unstuck after a crash: rolls back a hot journal, or folds a WAL into the database
 * (checkpoint), when, and only when, no process holds a lock on it. Says what it did; BUSY
 * (exit 3) naming the holder otherwise. See src/node/recover.ts.
 */
import { recoverFile } from '../node/recover.js';
import { parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';

export const RECOVER: CommandSpec = {
  name: 'recover',
  args: 'DB',
  summary: 'roll back a hot journal or checkpoint a WAL, when no process holds a lock',
  description:
    'After a crash, rolls back DB\'s hot journal (undoing the interrupted transaction) or copies\n' +
    'the frames of its WAL into the database and empties the WAL, as the next SQLite connection\n' +
    'would. On Linux it first reads /proc/locks: while any process holds a SQLite lock on DB or\n' +
    'its -shm, it changes nothing and exits 3 (busy), naming what is held. A -shm that no process\n' +
    'holds is stale and needs nothing. Where locks cannot be seen (not Linux) it exits 3 unless\n' +
    '--assume-unlocked says that no other program has DB open (then a -shm is removed too).',
  options: [{ name: 'assume-unlocked', help: 'where locks cannot be seen, act as if no process held one' }],
  examples: ['quire recover app.db'],
  run: recoverCommand,
};

async function recoverCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, RECOVER.options);
  const [file] = positionals(p, RECOVER);
  const r = await recoverFile(file, { assumeUnlocked: p.flags.has('assume-unlocked') });
  io.stdout(`${r.message}\n`);
  return 0;
}
