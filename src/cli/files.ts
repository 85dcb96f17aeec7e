/**
 * Files a command creates: made only when needed, and gone again when the command fails or is
 * interrupted, so that a failed command leaves the directory as it found it.
 */
import { existsSync, unlinkSync } from 'node:fs';

const SIDE_SUFFIXES = ['', '-journal', '-wal', '-shm'];

/**
 * Runs `fn`; if it throws and `file` did not exist before, removes `file` and the side files
 * (journal, WAL, shared memory) this process made beside it, then rethrows.
 */
export async function removedOnFailure<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const before = SIDE_SUFFIXES.map((s) => existsSync(file + s));
  try {
    return await fn();
  } catch (e) {
    if (!before[0]) {
      SIDE_SUFFIXES.forEach((s, i) => {
        if (before[i]) return;
        try {
          unlinkSync(file + s);
        } catch {
          // not made after all
        }
      });
    }
    throw e;
  }
}
