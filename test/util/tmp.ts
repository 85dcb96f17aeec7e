/** Temporary directories for tests, removed at process exit. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dirs: string[] = [];
let hooked = false;

export function tempDir(prefix = 'quire-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const x of dirs) {
        try {
          rmSync(x, { recursive: true, force: true });
        } catch {
          // best effort
        }
      }
    });
  }
  return d;
}
