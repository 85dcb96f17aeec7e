// vitest globalSetup: one run directory for every temporary file the tests (and the
// processes they start) make. TMPDIR points there before the test workers start; at the end
// it must be empty, else the run fails and names what was left behind (then removes it).
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

let runDir = '';

export function setup(): void {
  runDir = mkdtempSync(path.join(tmpdir(), 'quire-test-run-'));
  // Traversable by the unprivileged user that the read-only CLI cases run as.
  chmodSync(runDir, 0o755);
  process.env.TMPDIR = runDir;
}

export function teardown(): void {
  const left = readdirSync(runDir);
  rmSync(runDir, { recursive: true, force: true });
  if (left.length > 0) {
    process.exitCode = 1;
    throw new Error(`the test run left ${left.length} temporary entries behind: ${left.slice(0, 20).join(', ')}`);
  }
}
