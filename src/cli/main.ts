/**
 * The quire command line (Node). One command per file in src/cli/, each described by a
 * `CommandSpec` (args.ts) from which its parser and its help are made. This module only
 * dispatches; bin.ts wires it to the process (signals, standard output, exit code).
 *
 * Errors print one line, `quire: CODE: message`, on stderr. Exit codes: 0 success,
 * 1 failure, 2 usage, 3 busy (the source never held still, or another process holds it),
 * 128 + N when stopped by signal N (130 for SIGINT, 143 for SIGTERM). A closed standard
 * output (the reader of a pipe went away) ends quietly with 0. A stack trace only with
 * QUIRE_DEBUG=1.
 */
import { isQuireError } from '../../pager/errors.js';
import { VERSION } from '../version.js';
import { UsageError, commandHelp, nearest, type CommandSpec } from './args.js';
import { OutputClosed, type CliIO } from './io.js';
import { BACKUP } from './backup.js';
import { VERIFY } from './verify.js';
import { INFO } from './info.js';
import { TABLES } from './tables.js';
import { SCHEMA } from './schema.js';
import { DUMP } from './dump.js';
import { EXPORT } from './export.js';
import { CHECK } from './check.js';
import { IMPORT } from './import.js';
import { VACUUM } from './vacuum.js';
import { RECOVER } from './recover.js';

export const COMMANDS: readonly CommandSpec[] = [INFO, TABLES, SCHEMA, EXPORT, DUMP, CHECK, IMPORT, VACUUM, RECOVER, BACKUP, VERIFY];

/** `quire --help`: every command with what it does, the exit codes, examples. */
export function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `quire ${VERSION}: read, check, copy and write SQLite database files (pure TypeScript, no native code)`,
    '',
    'usage: quire COMMAND [arguments] [options]',
    '       quire COMMAND --help      what a command does, its options and their defaults',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'options:',
    '  -h, --help        show this help (or a command\'s, after the command)',
    '  -V, --version     print the version',
    '',
    'exit status: 0 ok, 1 failure (or problems found by check/verify), 2 usage error,',
    '             3 busy (another process kept the file changing or holds it), 130/143 interrupted',
    'errors print one line: quire: CODE: message (QUIRE_DEBUG=1 adds a stack trace)',
    '',
    'examples:',
    '  quire info app.db',
    '  quire export app.db users --format csv > users.csv',
    '  quire backup live.db copy.db --timeout 30',
    '',
  ].join('\n');
}

function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** Runs the CLI with `argv` (without node and script). Returns the exit code. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) {
    io.stderr(topHelp());
    return 2;
  }
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
    const about = cmd === 'help' && rest[0] !== undefined ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.stdout(about ? commandHelp(about) : topHelp());
    return 0;
  }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    io.stdout(`quire ${VERSION}\n`);
    return 0;
  }
  const spec = COMMANDS.find((c) => c.name === cmd);
  if (!spec) {
    const near = nearest(cmd.replace(/^-+/, ''), COMMANDS.map((c) => c.name));
    const what = cmd.startsWith('-') ? `unknown option ${cmd}` : `unknown command ${JSON.stringify(cmd)}`;
    io.stderr(`quire: usage: ${what}${near ? ` (did you mean ${cmd.startsWith('-') ? '--' : ''}${near}?)` : ''}; quire --help lists the commands\n`);
    return 2;
  }
  if (wantsHelp(rest)) {
    io.stdout(commandHelp(spec));
    return 0;
  }
  try {
    return await spec.run(rest, io);
  } catch (e) {
    return reportError(e, io);
  }
}

/** Prints an error the CLI way and gives the exit code. */
export function reportError(e: unknown, io: CliIO): number {
  if (e instanceof OutputClosed) return 0;
  const debug = typeof process !== 'undefined' && process.env.QUIRE_DEBUG === '1';
  if (io.signal?.aborted) {
    const sig = String(io.signal.reason instanceof Error ? io.signal.reason.message : io.signal.reason);
    io.stderr(`quire: interrupted (${sig}); nothing was changed\n`);
    if (debug && e instanceof Error && e.stack) io.stderr(e.stack + '\n');
    return sig === 'SIGTERM' ? 143 : 130;
  }
  if (e instanceof UsageError) {
    io.stderr(`quire: usage: ${e.message}\n`);
    return 2;
  }
  if (isQuireError(e)) {
    io.stderr(`quire: ${e.code}: ${e.message}\n`);
    if (debug && e.stack) io.stderr(e.stack + '\n');
    return e.code === 'BUSY' ? 3 : 1;
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.stderr(`quire: ERROR: ${msg}\n`);
  if (debug && e instanceof Error && e.stack) io.stderr(e.stack + '\n');
  return 1;
}
