/**
 * Temporary directories for tests. Each is removed when its test file ends (an afterAll hook
 * registered by test/setup/cleanup.ts for every file: vitest's forks pool ends a worker
 * without running process 'exit' handlers), and the run as a whole is checked: every test
 * process works under one run directory (TMPDIR, set by test/setup/tmp.ts), which must be
 * empty when the run ends, or the run fails naming what was left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dirs: string[] = [];

export function tempDir(prefix = 'quire-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Removes every directory tempDir made in this process so far. */
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
