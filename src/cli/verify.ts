/**
 * quire verify MANIFEST COPY [--json]
 *
 * Checks a forensic copy against its manifest: size, SHA-256 of the whole file and of every
 * page. Prints "ok" and exits 0, or the differences and exits 1.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCode, QuireError } from '../../pager/errors.js';
import { verifyCopy } from '../forensic.js';
import { NodeFileStorage } from '../node/file-storage.js';
import { parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';


export const VERIFY: CommandSpec = {
  name: 'verify',
  args: 'MANIFEST COPY',
  summary: 'check a forensic copy against its manifest',
  description:
    'Checks a copy made by `quire backup --forensic` against the manifest written with it: its size,\n' +
    'the SHA-256 of the whole file and of every page. Prints "ok" and exits 0, or each difference\n' +
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
  const copy = await NodeFileStorage.open(copyPath);
  try {
    const size = await copy.size('db');
    const r = await verifyCopy(manifest, (off, len) => copy.read('db', off, len), size);
    if (p.flags.has('json')) io.stdout(JSON.stringify(r) + '\n');
    else if (r.ok) io.stdout('ok\n');
    else io.stdout(r.problems.join('\n') + '\n');
    return r.ok ? 0 : 1;
  } finally {
    await copy.close();
  }
}
