/**
 * The quire command line (Node). One command per file in src/cli/.
 *
 * Errors print one line, `quire: CODE: message`, on stderr. Exit codes: 0 success,
 * 1 failure, 2 usage, 3 busy (the source never held still). A stack trace only with
 * QUIRE_DEBUG=1.
 */
import { isQuireError } from '../../pager/errors.js';
import { VERSION } from '../version.js';
import { UsageError } from './args.js';
import type { CliIO, Command } from './io.js';
import { backupCommand, USAGE as BACKUP } from './backup.js';
import { verifyCommand, USAGE as VERIFY } from './verify.js';
import { infoCommand, USAGE as INFO } from './info.js';
import { tablesCommand, USAGE as TABLES } from './tables.js';
import { exportCommand, USAGE as EXPORT } from './export.js';
import { checkCommand, USAGE as CHECK } from './check.js';
import { importCommand, USAGE as IMPORT } from './import.js';
import { vacuumCommand, USAGE as VACUUM } from './vacuum.js';

interface Entry {
  run: Command;
  usage: string;
  summary: string;
}

export const COMMANDS: Record<string, Entry> = {
  info: { run: infoCommand, usage: INFO, summary: 'header fields, pages, freelist, WAL and journal state, schema summary' },
  tables: { run: tablesCommand, usage: TABLES, summary: 'list the tables' },
  export: { run: exportCommand, usage: EXPORT, summary: 'print every row of a table (JSON lines or CSV)' },
  check: { run: checkCommand, usage: CHECK, summary: 'check the file like PRAGMA integrity_check: ok, or one problem per line' },
  import: { run: importCommand, usage: IMPORT, summary: 'insert rows in the export format from standard input' },
  vacuum: { run: vacuumCommand, usage: VACUUM, summary: 'rebuild the database compactly (SQLite VACUUM)' },
  backup: { run: backupCommand, usage: BACKUP, summary: 'copy a (live) database consistently, without locks' },
  verify: { run: verifyCommand, usage: VERIFY, summary: 'check a forensic copy against its manifest' },
};

function help(): string {
  const lines = [`quire ${VERSION}: a pure-TypeScript engine for SQLite database files`, '', 'usage:'];
  for (const [name, e] of Object.entries(COMMANDS)) lines.push(`  ${e.usage}`, `      ${e.summary}`);
  return lines.join('\n') + '\n';
}

/** Runs the CLI with `argv` (without node and script). Returns the exit code. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    (cmd === undefined ? io.stderr : io.stdout)(help());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === 'version') {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    io.stderr(`quire: unknown command ${JSON.stringify(cmd)}\n${help()}`);
    return 2;
  }
  try {
    return await entry.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`quire: usage: ${e.message}\n`);
      return 2;
    }
    const debug = typeof process !== 'undefined' && process.env.QUIRE_DEBUG === '1';
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
}

const isEntry = typeof process !== 'undefined' && process.argv[1] !== undefined && /cli\.(c?js|ts)$/.test(process.argv[1]);
if (isEntry) {
  const io: CliIO = {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    isTTY: Boolean(process.stderr.isTTY),
    stdin: () => process.stdin,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`quire: ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
