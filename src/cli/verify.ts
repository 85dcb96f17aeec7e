/**
 * quire verify MANIFEST COPY [--json]
 *
 * Checks a forensic copy against its manifest: the copy (size, SHA-256 of the whole file and
 * of every page) and each side-file copy beside it (src/node/verify-files.ts). Prints "ok"
 * and exits 0, or one line per problem, each naming the file, and exits 1.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCode, QuireError } from '../../pager/errors.js';
import { verifyFiles } from '../node/verify-files.js';
import { parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';


export const VERIFY: CommandSpec = {
  name: 'verify',
  args: 'MANIFEST COPY',
  summary: 'check a forensic copy against its manifest',
  description:
    'Checks a copy made by `quire backup --forensic` against the manifest written with it: its size,\n' +
    'the SHA-256 of the whole file and of every page, and each side-file copy the manifest lists\n' +
    '(COPY.source-wal, -journal, -shm from --side-files), looked for beside COPY, so a moved evidence\n' +
    'folder still verifies. A changed or missing side-file copy, or a COPY.source-* file the manifest\n' +
    'does not list, is a failure. Prints "ok" and exits 0, or one line per problem naming the file\n' +
    'and exits 1.',
  options: [{ name: 'json', help: 'print the result as one JSON object' }],
  examples: ['quire verify evidence.db.manifest.json evidence.db'],
  run: verifyCommand,
};

async function verifyCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, VERIFY.options);
  const [manifestPath, copyPath] = positionals(p, VERIFY);
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (e) {
    throw new QuireError(ErrorCode.CANTOPEN, `cannot read manifest ${manifestPath}: ${(e as Error).message}`, { cause: e });
  }
  const r = await verifyFiles(manifest, copyPath);
  if (p.flags.has('json')) io.stdout(JSON.stringify(r) + '\n');
  else if (r.ok) io.stdout('ok\n');
  else io.stdout(r.problems.join('\n') + '\n');
  return r.ok ? 0 : 1;
}
