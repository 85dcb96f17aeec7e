/** Runs the CLI in-process (fast) or as a child process (exit codes, stderr as users see them). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[], stdin?: Uint8Array | string): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const input = typeof stdin === 'string' ? new TextEncoder().encode(stdin) : stdin;
  const code = await main(args, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    isTTY: false,
    stdin: async function* () {
      if (input) yield input;
    },
  });
  return { code, stdout, stderr };
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The built CLI (dist/cli.js), as a child process. */
export function cliProcess(args: string[], env: Record<string, string> = {}, input?: string): CliResult {
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    input,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
