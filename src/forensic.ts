/**
 * Forensic support: hashing source files without changing them, the manifest that describes
 * a forensic copy, and verification of a copy against its manifest. Runtime-neutral: files
 * are read through Storage (the Node entry supplies file storages).
 *
 * Manifest (JSON, `format: "quire-forensic-manifest/1"`):
 *
 *   source.files.{db,wal,journal,shm}.before/after   size and SHA-256 of each source file,
 *                                                    read before the copy and after it
 *   source.unchanged                                 every file identical before and after
 *   header                                           the copied page 1's header fields
 *   snapshot                                         what the copy holds: mode, page size and
 *                                                    count, change counter, WAL salts and last
 *                                                    commit frame, journal applied, restarts,
 *                                                    snapshot moves, caveats
 *   copy                                             size, SHA-256, and SHA-256 of every page
 *   sideFiles                                        raw -wal/-journal copies, when asked
 *   timings                                          ISO start/end, phase durations in ms
 *
 * A forensic copy is the consistent snapshot page for page, page 1 unmodified, free pages
 * included; nothing is written beside the source.
 */
import { toHex } from '../pager/bytes.js';
import { ErrorCode, QuireError, ioerr } from '../pager/errors.js';
import type { DbHeader } from '../pager/header.js';
import type { FileKind, Storage } from '../pager/storage.js';
import type { SnapshotIdentity } from './backup/engine.js';
import { Sha256 } from './util/sha256.js';

export const MANIFEST_FORMAT = 'quire-forensic-manifest/1';

export interface FileHash {
  size: number;
  sha256: string;
}

/** SHA-256 and size of one file of `storage`, streamed; null when the file does not exist. */
export async function hashFile(storage: Storage, kind: FileKind, chunk = 4 << 20): Promise<FileHash | null> {
  try {
    if (!(await storage.exists(kind))) return null;
    const size = await storage.size(kind);
    const h = new Sha256();
    let off = 0;
    while (off < size) {
      const b = await storage.read(kind, off, Math.min(chunk, size - off));
      if (b.length === 0) break;
      h.update(b);
      off += b.length;
    }
    return { size: off, sha256: toHex(h.digest()) };
  } catch (e) {
    throw ioerr(`hashing ${storage.label} (${kind})`, e);
  }
}

export type SourceHashes = Record<FileKind, FileHash | null>;

export async function hashSource(storage: Storage): Promise<SourceHashes> {
  return {
    db: await hashFile(storage, 'db'),
    wal: await hashFile(storage, 'wal'),
    journal: await hashFile(storage, 'journal'),
    shm: await hashFile(storage, 'shm'),
  };
}

export interface CopyHashes {
  size: number;
  sha256: string;
  pageSize: number;
  pageCount: number;
  /** SHA-256 of each page, page 1 first. */
  pages: string[];
}

/** Hashes a copy (as a whole and page by page) read through `read(offset, length)`. */
export async function hashCopy(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  size: number,
  pageSize: number,
): Promise<CopyHashes> {
  const whole = new Sha256();
  const pages: string[] = [];
  const run = Math.max(1, Math.floor((4 << 20) / pageSize)) * pageSize;
  let off = 0;
  while (off < size) {
    const b = await read(off, Math.min(run, size - off));
    if (b.length === 0) break;
    whole.update(b);
    for (let p = 0; p < b.length; p += pageSize) pages.push(toHex(new Sha256().update(b.subarray(p, p + pageSize)).digest()));
    off += b.length;
  }
  return { size: off, sha256: toHex(whole.digest()), pageSize, pageCount: pages.length, pages };
}

export interface ForensicManifest {
  format: typeof MANIFEST_FORMAT;
  tool: { name: 'quire'; version: string };
  source: {
    path: string;
    files: Record<FileKind, { before: FileHash | null; after: FileHash | null }>;
    unchanged: boolean;
  };
  header: DbHeader | null;
  snapshot: Omit<SnapshotIdentity, 'header'> & { changeCounter: number | null };
  copy: CopyHashes & { path: string };
  sideFiles: Partial<Record<'wal' | 'journal', FileHash & { path: string }>>;
  timings: { started: string; finished: string; hashBeforeMs: number; copyMs: number; hashAfterMs: number; totalMs: number };
}

function sameHash(a: FileHash | null, b: FileHash | null): boolean {
  return a === null || b === null ? a === b : a.size === b.size && a.sha256 === b.sha256;
}

export function buildManifest(args: {
  version: string;
  sourcePath: string;
  before: SourceHashes;
  after: SourceHashes;
  snapshot: SnapshotIdentity;
  copyPath: string;
  copy: CopyHashes;
  sideFiles: ForensicManifest['sideFiles'];
  started: number;
  copyStarted: number;
  copyEnded: number;
  finished: number;
}): ForensicManifest {
  const kinds: FileKind[] = ['db', 'wal', 'journal', 'shm'];
  const files = {} as ForensicManifest['source']['files'];
  let unchanged = true;
  for (const k of kinds) {
    files[k] = { before: args.before[k], after: args.after[k] };
    if (!sameHash(args.before[k], args.after[k])) unchanged = false;
  }
  const { header, ...rest } = args.snapshot;
  return {
    format: MANIFEST_FORMAT,
    tool: { name: 'quire', version: args.version },
    source: { path: args.sourcePath, files, unchanged },
    header,
    snapshot: { ...rest, changeCounter: header?.changeCounter ?? null },
    copy: { path: args.copyPath, ...args.copy },
    sideFiles: args.sideFiles,
    timings: {
      started: new Date(args.started).toISOString(),
      finished: new Date(args.finished).toISOString(),
      hashBeforeMs: args.copyStarted - args.started,
      copyMs: args.copyEnded - args.copyStarted,
      hashAfterMs: args.finished - args.copyEnded,
      totalMs: args.finished - args.started,
    },
  };
}

export interface VerifyResult {
  ok: boolean;
  problems: string[];
}

/** Checks a copy against a manifest: size, whole-file SHA-256 and every page's SHA-256. */
export async function verifyCopy(
  manifest: unknown,
  read: (offset: number, length: number) => Promise<Uint8Array>,
  size: number,
): Promise<VerifyResult> {
  const m = manifest as Partial<ForensicManifest>;
  if (!m || m.format !== MANIFEST_FORMAT || !m.copy || !Array.isArray(m.copy.pages) || typeof m.copy.pageSize !== 'number') {
    throw new QuireError(ErrorCode.MISUSE, `not a quire forensic manifest (expected format ${MANIFEST_FORMAT})`);
  }
  const problems: string[] = [];
  const got = await hashCopy(read, size, m.copy.pageSize);
  if (got.size !== m.copy.size) problems.push(`size is ${got.size}, the manifest says ${m.copy.size}`);
  if (got.sha256 !== m.copy.sha256) problems.push(`SHA-256 is ${got.sha256}, the manifest says ${m.copy.sha256}`);
  const n = Math.max(got.pages.length, m.copy.pages.length);
  let listed = 0;
  for (let i = 0; i < n; i++) {
    if (got.pages[i] !== m.copy.pages[i]) {
      if (listed < 20) problems.push(`page ${i + 1} differs`);
      listed++;
    }
  }
  if (listed > 20) problems.push(`... ${listed - 20} more pages differ`);
  return { ok: problems.length === 0, problems };
}
