/**
 * Forensic support: hashing source files without changing them, the manifest that describes
 * a forensic copy, and verification of a copy against its manifest. Runtime-neutral: files
 * are read through Storage or a read callback (the Node entry supplies file access, and
 * src/node/verify-files.ts checks a copy with its side files on disk).
 *
 * Manifest (JSON, `format: "quire-forensic-manifest/2"`):
 *
 *   source.files.{db,wal,journal,shm}.before/after   size and SHA-256 of each source file,
 *                                                    read before the copy and after it
 *   source.unchanged                                 every file identical before and after
 *   header                                           the copied page 1's header fields
 *   snapshot                                         what the copy holds: mode, page size and
 *                                                    count, change counter, WAL salts and last
 *                                                    commit frame, journal applied, restarts,
 *                                                    snapshot moves, caveats
 *   copy.path / copy.name                            the copy's absolute path when written, and
 *                                                    its file name
 *   copy.size, sha256, pageSize, pageCount, pages    size, SHA-256, and SHA-256 of every page
 *   sideFiles.{wal,journal,shm}                      raw copies of the source's side files,
 *                                                    when asked: path (absolute, when written),
 *                                                    name (relative to the copy's directory),
 *                                                    size and SHA-256 of the bytes copied
 *   timings                                          ISO start/end, phase durations in ms
 *
 * Side-file copies are taken after the page copy: `wal` is the committed prefix of the
 * snapshot's log (header + frames 1..mxFrame), `journal` and `shm` the files as they were
 * then. The -shm of a live WAL database changes all the time and is only a hint (the WAL
 * index): its copy is the bytes as read at that moment, and its hash is of those bytes.
 *
 * Verification finds side-file copies by `name` beside the copy, so an evidence folder (copy,
 * side files, manifest) can be moved and still verifies; the absolute `path` is a record only.
 * Format 1 (no `name` fields, no `shm`) is still read: a side file's name is the last part of
 * its path.
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

/** The format written. */
export const MANIFEST_FORMAT = 'quire-forensic-manifest/2';
/** The formats read (format 1: side files by absolute path only, no -shm copy). */
export const MANIFEST_FORMATS_READ: readonly string[] = ['quire-forensic-manifest/1', MANIFEST_FORMAT];

/** Bytes read per call while hashing. */
const HASH_CHUNK = 4 << 20;

export interface FileHash {
  size: number;
  sha256: string;
}

/** SHA-256 and size of `size` bytes read through `read(offset, length)`, streamed. */
export async function hashStream(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  size: number,
  chunk = HASH_CHUNK,
): Promise<FileHash> {
  const h = new Sha256();
  let off = 0;
  while (off < size) {
    const b = await read(off, Math.min(chunk, size - off));
    if (b.length === 0) break;
    h.update(b);
    off += b.length;
  }
  return { size: off, sha256: toHex(h.digest()) };
}

/** SHA-256 and size of one file of `storage`, streamed; null when the file does not exist. */
export async function hashFile(storage: Storage, kind: FileKind, chunk = HASH_CHUNK): Promise<FileHash | null> {
  try {
    if (!(await storage.exists(kind))) return null;
    return await hashStream((off, len) => storage.read(kind, off, len), await storage.size(kind), chunk);
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
  const run = Math.max(1, Math.floor(HASH_CHUNK / pageSize)) * pageSize;
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

/** The source's side files that `--side-files` copies raw, as `<copy>.source-<kind>`. */
export type SideFileKind = 'wal' | 'journal' | 'shm';
export const SIDE_FILE_KINDS: readonly SideFileKind[] = ['wal', 'journal', 'shm'];

/** A raw side-file copy as the manifest records it. */
export interface SideFileCopy extends FileHash {
  /** Absolute path when it was written (a record only: verification looks beside the copy). */
  path: string;
  /** File name, relative to the copy's directory. */
  name: string;
}

export interface ForensicManifest {
  /** MANIFEST_FORMAT when written; a manifest read by parseManifest keeps the format it has. */
  format: typeof MANIFEST_FORMAT | 'quire-forensic-manifest/1';
  tool: { name: 'quire'; version: string };
  source: {
    path: string;
    files: Record<FileKind, { before: FileHash | null; after: FileHash | null }>;
    unchanged: boolean;
  };
  header: DbHeader | null;
  snapshot: Omit<SnapshotIdentity, 'header'> & { changeCounter: number | null };
  copy: CopyHashes & { path: string; name: string };
  sideFiles: Partial<Record<SideFileKind, SideFileCopy>>;
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
  /** Raw side-file copies written beside the copy (their names are taken from the paths). */
  sideFiles: Partial<Record<SideFileKind, FileHash & { path: string }>>;
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
  const sideFiles: ForensicManifest['sideFiles'] = {};
  for (const k of SIDE_FILE_KINDS) {
    const f = args.sideFiles[k];
    if (f) sideFiles[k] = { path: f.path, name: baseName(f.path), size: f.size, sha256: f.sha256 };
  }
  const { header, ...rest } = args.snapshot;
  return {
    format: MANIFEST_FORMAT,
    tool: { name: 'quire', version: args.version },
    source: { path: args.sourcePath, files, unchanged },
    header,
    snapshot: { ...rest, changeCounter: header?.changeCounter ?? null },
    copy: { path: args.copyPath, name: baseName(args.copyPath), ...args.copy },
    sideFiles,
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

/** The last component of a path (either separator): names in manifests are kept as file names. */
export function baseName(p: string): string {
  return p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
}

function notManifest(why: string): QuireError {
  return new QuireError(ErrorCode.MISUSE, `not a quire forensic manifest (expected format ${MANIFEST_FORMAT}): ${why}`);
}

function isHash(x: unknown): x is FileHash {
  const h = x as Partial<FileHash> | null;
  return typeof h === 'object' && h !== null && typeof h.size === 'number' && typeof h.sha256 === 'string';
}

/**
 * Checks the parts of a manifest that verification relies on and returns it in the current
 * shape: a format-1 manifest gets `copy.name` and each side file's `name` from its path. A
 * name is a file name only (a manifest cannot point verification outside the copy's folder).
 * MISUSE when it is not a manifest quire can read.
 */
export function parseManifest(manifest: unknown): ForensicManifest {
  const m = manifest as Partial<ForensicManifest> | null;
  if (typeof m !== 'object' || m === null || !MANIFEST_FORMATS_READ.includes(m.format as string)) {
    throw notManifest(`format is ${JSON.stringify((m as { format?: unknown } | null)?.format ?? null)}`);
  }
  const c = m.copy;
  if (!isHash(c) || !Array.isArray(c.pages) || typeof c.pageSize !== 'number' || c.pageSize <= 0 || typeof c.path !== 'string') {
    throw notManifest('no copy size, path, page size and page hashes');
  }
  const sideFiles: ForensicManifest['sideFiles'] = {};
  for (const [k, f] of Object.entries(m.sideFiles ?? {})) {
    if (!(SIDE_FILE_KINDS as readonly string[]).includes(k)) throw notManifest(`unknown side file ${JSON.stringify(k)}`);
    const named = f as Partial<SideFileCopy>;
    const name = baseName(typeof named.name === 'string' ? named.name : typeof named.path === 'string' ? named.path : '');
    if (!isHash(f) || name === '' || name === '.' || name === '..') throw notManifest(`side file ${k} has no name, size and SHA-256`);
    sideFiles[k as SideFileKind] = { path: String(named.path ?? name), name, size: f.size, sha256: f.sha256 };
  }
  const name = baseName(typeof c.name === 'string' ? c.name : c.path);
  return { ...(m as ForensicManifest), copy: { ...c, name }, sideFiles };
}

/** What differs between a file's hash and the manifest's: size and SHA-256 (empty when equal). */
export function hashDifferences(got: FileHash, want: FileHash): string[] {
  const out: string[] = [];
  if (got.size !== want.size) out.push(`size is ${got.size}, the manifest says ${want.size}`);
  if (got.sha256 !== want.sha256) out.push(`SHA-256 is ${got.sha256}, the manifest says ${want.sha256}`);
  return out;
}

/**
 * Checks a copy's image against a manifest: size, whole-file SHA-256 and every page's
 * SHA-256. The side-file copies are not looked at here (this reads one image through `read`
 * and runs anywhere); `verifyFiles` of `quire/node` checks a copy with its side files.
 */
export async function verifyCopy(
  manifest: unknown,
  read: (offset: number, length: number) => Promise<Uint8Array>,
  size: number,
): Promise<VerifyResult> {
  const m = parseManifest(manifest);
  const got = await hashCopy(read, size, m.copy.pageSize);
  const problems = hashDifferences(got, m.copy);
  const n = Math.max(got.pages.length, m.copy.pages.length);
  let listed = 0;
  for (let i = 0; i < n; i++) {
    if (got.pages[i] !== m.copy.pages[i]) {
      if (listed < MAX_PAGES_LISTED) problems.push(`page ${i + 1} differs`);
      listed++;
    }
  }
  if (listed > MAX_PAGES_LISTED) problems.push(`... ${listed - MAX_PAGES_LISTED} more pages differ`);
  return { ok: problems.length === 0, problems };
}

/** Differing pages named one by one before the rest are counted. */
const MAX_PAGES_LISTED = 20;
