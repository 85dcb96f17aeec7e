/**
 * Verifying a forensic copy as a whole (Node): the copy and every side-file copy its manifest
 * lists, on disk. `verifyCopy` (src/forensic.ts) checks the copy's image and runs anywhere;
 * this adds the files around it, which only a runtime with a file system can see.
 *
 * Where the files are looked for: beside the copy, by the names the manifest records (a side
 * file's `name` is relative to the copy's directory; format 1 manifests hold only absolute
 * paths, whose last part is the name). The absolute paths in a manifest are not used, so an
 * evidence folder (copy, side files, manifest) that was moved or copied elsewhere verifies
 * against the files that are in it. If the copy was renamed and its side files with it,
 * `<copy>.source-<kind>` is looked for as well.
 *
 * Each file is ok, changed (size or SHA-256 differs; for the copy, also which pages), missing,
 * or extra: a `<copy>.source-*` file beside the copy that the manifest does not list (say a
 * -journal copy planted next to a copy whose source had none). Every problem names the file,
 * by the copy's path as the caller gave it (a relative path stays relative).
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ioerr } from '../../pager/errors.js';
import { SIDE_FILE_KINDS, hashDifferences, hashFile, parseManifest, verifyCopy, type FileHash, type SideFileKind, type VerifyResult } from '../forensic.js';
import { NodeFileStorage } from './file-storage.js';

export type FileStatus = 'ok' | 'changed' | 'missing' | 'extra';

export interface FileCheck {
  /** The file checked: the copy's path as given, or a path beside it. */
  file: string;
  /** What the manifest lists it as: 'copy', a side-file kind, or null (an extra file). */
  role: 'copy' | SideFileKind | null;
  status: FileStatus;
  /** What differs (size, SHA-256, pages), or why the file is extra. */
  details: string[];
}

export interface VerifyFilesResult extends VerifyResult {
  /** The copy first, then each listed side file, then any extra ones. */
  files: FileCheck[];
}

/**
 * Checks the copy at `copyPath` and the side-file copies beside it against `manifest` (the
 * parsed JSON). `problems` holds one line per problem, each beginning with the file's path.
 * CANTOPEN when the copy cannot be opened; MISUSE when `manifest` is not a quire manifest.
 */
export async function verifyFiles(manifest: unknown, copyPath: string): Promise<VerifyFilesResult> {
  const m = parseManifest(manifest);
  const files: FileCheck[] = [];
  const copy = await NodeFileStorage.open(copyPath);
  try {
    const r = await verifyCopy(m, (off, len) => copy.read('db', off, len), await copy.size('db'));
    files.push({ file: copyPath, role: 'copy', status: r.ok ? 'ok' : 'changed', details: r.problems });
  } finally {
    await copy.close();
  }

  const dir = path.dirname(copyPath);
  const copyName = path.basename(copyPath);
  const seen = new Set<string>();
  for (const kind of SIDE_FILE_KINDS) {
    const want = m.sideFiles[kind];
    if (!want) continue;
    const names = [want.name];
    if (copyName !== m.copy.name) names.push(`${copyName}.source-${kind}`);
    let name = want.name;
    let got: FileHash | null = null;
    for (const n of names) {
      got = await hashPath(path.join(dir, n));
      if (got) {
        name = n;
        break;
      }
    }
    seen.add(name);
    const file = path.join(dir, name);
    if (!got) {
      files.push({ file, role: kind, status: 'missing', details: [] });
    } else {
      const details = hashDifferences(got, want);
      files.push({ file, role: kind, status: details.length === 0 ? 'ok' : 'changed', details });
    }
  }

  const prefixes = [`${copyName}.source-`, `${m.copy.name}.source-`];
  let entries: string[];
  try {
    entries = (await readdir(dir)).sort();
  } catch (e) {
    throw ioerr(`listing ${dir}`, e);
  }
  for (const entry of entries) {
    if (seen.has(entry) || !prefixes.some((p) => entry.startsWith(p))) continue;
    files.push({ file: path.join(dir, entry), role: null, status: 'extra', details: ['a side-file copy the manifest does not list'] });
  }

  const problems = files.flatMap(problemLines);
  return { ok: problems.length === 0, problems, files };
}

/** The copy's differences one per line (pages); a side file's in one line with its status. */
function problemLines(f: FileCheck): string[] {
  if (f.status === 'ok') return [];
  if (f.role === 'copy') return f.details.map((d) => `${f.file}: ${d}`);
  return [`${f.file}: ${f.status}${f.details.length > 0 ? ` (${f.details.join('; ')})` : ''}`];
}

/** Size and SHA-256 of the file at `p`, or null when there is none. */
async function hashPath(p: string): Promise<FileHash | null> {
  if (!(await stat(p).then(() => true, () => false))) return null;
  const s = await NodeFileStorage.open(p);
  try {
    return await hashFile(s, 'db');
  } finally {
    await s.close();
  }
}
