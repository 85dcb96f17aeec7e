/**
 * Copying a live database file to another file (Node): the CLI's `quire backup` and the
 * benchmarks' "idle copy".
 *
 * Pages go straight into a temporary file beside the destination (positional writes, so
 * re-copied pages overwrite in place; memory stays flat whatever the database size); when the
 * copy is consistent, page 1 gets the destination header rules (src/backup/sink.ts), the file
 * is fsynced and renamed over the destination, and the directory is fsynced: readers of the
 * destination see the old file or the new one, never a half-copied one.
 *
 * Before anything is read, the destination is checked as `cp` would: its directory must exist
 * (else CANTOPEN) and be writable, an existing destination must be writable (else READONLY:
 * a read-only copy is not replaced), and it must not be a directory. It must not be in use: a
 * -wal or -shm beside it, or an active -journal, is BUSY (SQLite would apply them to the new
 * file). A destination that exists and is not a database (and not empty) is NOTADB. The same
 * file as the source is refused. A replaced destination keeps its permission bits. Errors
 * name the paths the caller gave, never the temporary file. On any failure, or when
 * `signal` aborts, the temporary file is removed and the destination is as it was.
 *
 * Forensic mode keeps page 1 as the source had it, hashes the source files before and after,
 * optionally copies the source's -wal (the committed prefix of the snapshot's log), -journal
 * and -shm raw as `<copy>.source-wal` / `-journal` / `-shm` (copySideFiles), and writes a
 * manifest.
 */
import { access, chmod, constants as fsConstants, copyFile, open, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { writeSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, QuireError, ioerr, misuse } from '../../pager/errors.js';
import type { Storage } from '../../pager/storage.js';
import { HEADER_SIZE, parseHeader, type DbHeader } from '../../pager/header.js';
import { journalState } from '../../pager/journal.js';
import { WAL_HEADER_SIZE, frameOffset, parseWalHeader } from '../../pager/wal.js';
import { CopyEngine, type PageSink, type SnapshotIdentity, type StepStatus } from '../backup/engine.js';
import { checkDriveOptions, drive, type DriveOptions, type Stepper } from '../backup/drive.js';
import { applyDestinationHeader, type DestinationJournalMode, type DestinationRules } from '../backup/sink.js';
import { SIDE_FILE_KINDS, buildManifest, hashCopy, hashSource, hashStream, type FileHash, type ForensicManifest, type SideFileKind } from '../forensic.js';
import { NodeFileStorage } from './file-storage.js';
import { VERSION } from '../version.js';

/** Writes up to this size go to the copy synchronously (FileSink.write). */
const SYNC_WRITE_BYTES = 64 << 10;

/** Buffer's memcmp for a compare re-pass (EngineOptions.bytesEqual). */
const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

class FileSink implements PageSink {
  readonly dst: string;
  private readonly rules: DestinationRules;
  private tmp: string | null = null;
  private fh: FileHandle | null = null;
  private ps = 0;
  private count = 0;
  private oldHeader: DbHeader | null = null;
  private checked = false;
  bytesWritten = 0;
  /** Set by finish in forensic mode: hashes of the published copy. */
  hashes: Awaited<ReturnType<typeof hashCopy>> | null = null;
  wantHashes = false;

  /** The destination as the caller named it (for messages). */
  private readonly shown: string;
  /** Permission bits of the destination being replaced (kept by the new file). */
  mode = 0o644;

  constructor(dst: string, rules: DestinationRules) {
    this.dst = path.resolve(dst);
    this.shown = dst;
    this.rules = rules;
  }

  private async checkDestination(): Promise<void> {
    for (const side of ['-wal', '-shm']) {
      if (await exists(this.dst + side)) {
        throw new QuireError(ErrorCode.BUSY, `destination ${this.shown} is in use (${path.basename(this.dst + side)} exists beside it)`);
      }
    }
    const st = await stat(this.dst).catch(() => null);
    if (st && st.isDirectory()) throw new QuireError(ErrorCode.CANTOPEN, `destination ${this.shown} is a directory`);
    if (st && st.size > 0) {
      const dstStorage = await NodeFileStorage.open(this.dst);
      try {
        if ((await journalState(dstStorage)).active) {
          throw new QuireError(ErrorCode.BUSY, `destination ${this.shown} is in use (it has an active -journal)`);
        }
        const head = await dstStorage.read('db', 0, HEADER_SIZE);
        this.oldHeader = parseHeader(head, this.shown);
      } finally {
        await dstStorage.close();
      }
    }
  }

  async begin(pageSize: number, pageCount: number): Promise<void> {
    if (!this.checked) {
      await this.checkDestination();
      this.checked = true;
    }
    if (!this.fh) {
      this.tmp = `${this.dst}.quire-tmp-${process.pid}-${Date.now().toString(36)}`;
      try {
        this.fh = await open(this.tmp, 'w+', 0o600);
      } catch (e) {
        this.tmp = null;
        throw new QuireError(ErrorCode.CANTOPEN, `cannot create ${this.shown}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
      }
    } else if (this.ps !== pageSize) {
      await this.fh.truncate(0);
    }
    this.ps = pageSize;
    this.count = pageCount;
  }

  async write(first: number, data: Uint8Array): Promise<void> {
    try {
      let done = 0;
      const pos = (first - 1) * this.ps;
      if (data.length <= SYNC_WRITE_BYTES) {
        // A few pages (a re-copy, a re-pass's changed pages): one pwrite into the page cache
        // costs ~3 us made synchronously, ~35 us of CPU through the thread pool.
        while (done < data.length) done += writeSync(this.fh!.fd, data, done, data.length - done, pos + done);
      }
      while (done < data.length) {
        const { bytesWritten } = await this.fh!.write(data, done, data.length - done, pos + done);
        done += bytesWritten;
      }
      this.bytesWritten += data.length;
    } catch (e) {
      throw ioerr(`writing the copy ${this.shown}`, e);
    }
  }

  setPageCount(n: number): void {
    this.count = n;
  }

  async readBack(first: number, into: Uint8Array): Promise<number> {
    let done = 0;
    const pos = (first - 1) * this.ps;
    try {
      while (done < into.length) {
        const { bytesRead } = await this.fh!.read(into, done, into.length - done, pos + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } catch (e) {
      throw ioerr(`reading the copy ${this.shown}`, e);
    }
    return done;
  }

  /** The kernel's file copy (copy_file_range / reflink via fs.copyFile) for a whole pass. */
  async copyFile(source: Storage, pageCount: number, pageSize: number): Promise<boolean> {
    if (!(source instanceof NodeFileStorage) || !this.fh || !this.tmp) return false;
    // The kernel's copy opens and closes the source by its path: where an SQLite connection
    // in this process holds locks on it (or that cannot be told), that close would drop them.
    // The engine then copies run by run, through the storage's own descriptor.
    if (source.ownLocksOnDb() !== false) return false;
    try {
      await this.fh.close();
      this.fh = null;
      await copyFile(source.path, this.tmp);
      this.fh = await open(this.tmp, 'r+');
      const size = (await this.fh.stat()).size;
      if (size < pageCount * pageSize) await this.fh.truncate(pageCount * pageSize);
      this.bytesWritten += pageCount * pageSize;
      return true;
    } catch (e) {
      throw ioerr(`copying to ${this.shown}`, e);
    }
  }

  async finish(_snapshot: SnapshotIdentity): Promise<void> {
    const fh = this.fh!;
    const ps = this.ps;
    try {
      await fh.truncate(this.count * ps);
      if (this.count > 0) {
        const p1 = new Uint8Array(ps);
        await fh.read(p1, 0, ps, 0);
        applyDestinationHeader(p1, this.oldHeader, this.count, this.rules);
        await fh.write(p1, 0, ps, 0);
      }
      await fh.sync();
      if (this.wantHashes) {
        this.hashes = await hashCopy(
          async (off, len) => {
            const b = new Uint8Array(len);
            const { bytesRead } = await fh.read(b, 0, len, off);
            return b.subarray(0, bytesRead);
          },
          this.count * ps,
          ps,
        );
      }
      await fh.chmod(this.mode);
      await fh.close();
      this.fh = null;
      await rename(this.tmp!, this.dst);
      this.tmp = null;
      await syncDir(path.dirname(this.dst));
    } catch (e) {
      await this.abort();
      throw ioerr(`publishing ${this.shown}`, e);
    }
  }

  async abort(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close().catch(() => undefined);
    if (this.tmp) await unlink(this.tmp).catch(() => undefined);
    this.tmp = null;
  }
}

/**
 * What `cp` would refuse, refused before the copy starts: a missing or unwritable directory,
 * a destination that is a directory or is read-only. Returns the permission bits the new file
 * gets (those of the file it replaces, else 0644 less the umask's usual bits).
 */
async function checkWritableDestination(shown: string, abs: string): Promise<number> {
  const dir = path.dirname(abs);
  const dst = await stat(dir).catch(() => null);
  if (!dst || !dst.isDirectory()) throw new QuireError(ErrorCode.CANTOPEN, `cannot create ${shown}: no such directory ${path.dirname(shown)}`);
  if (!(await access(dir, fsConstants.W_OK).then(() => true, () => false))) {
    throw new QuireError(ErrorCode.READONLY, `cannot create ${shown}: its directory is not writable`);
  }
  const st = await stat(abs).catch(() => null);
  if (!st) return 0o644;
  if (st.isDirectory()) throw new QuireError(ErrorCode.CANTOPEN, `destination ${shown} is a directory`);
  // No write bit for anyone (chmod 444): a copy someone made read-only is not replaced, even
  // by root, to whom access(2) would allow it.
  if ((st.mode & 0o222) === 0 || !(await access(abs, fsConstants.W_OK).then(() => true, () => false))) {
    throw new QuireError(ErrorCode.READONLY, `destination ${shown} is read-only; not replaced`);
  }
  return st.mode & 0o7777;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => null);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await fh.close();
  }
}

export interface BackupFileProgress {
  status: StepStatus;
  /** Pages still to copy in this pass. */
  remaining: number;
  /** Pages in the snapshot (the copy's size in pages). */
  pageCount: number;
  pageSize: number;
  /** The pass under way: 1, then one more per restart or re-pass. */
  pass: number;
  /** Milliseconds since this pass started. */
  passElapsedMs: number;
  /** Bytes written into the copy so far, every pass included (work, not the copy's size). */
  bytesWritten: number;
  restarts: number;
  /** WAL mode: digest re-passes begun because a log reset hid commits (not restarts). */
  repasses: number;
  snapshotMoves: number;
  /** Why the last pass started over or the last BUSY step waited ('' before either happened). */
  reason: string;
  elapsedMs: number;
}

export interface BackupFileOptions extends Omit<DriveOptions, 'progress'> {
  /** Called after every step with counters for a progress display. */
  onProgress?: (p: BackupFileProgress) => void;
  /** A hot rollback journal in the source: 'refuse' (BUSY, default) or 'apply' it to the copy. */
  hotJournal?: 'refuse' | 'apply';
  /** Journal mode of the copy: 'source' (default), 'wal' or 'rollback'. Ignored when forensic. */
  journalMode?: DestinationJournalMode;
  /** Forensic copy: page 1 unmodified, source hashed before and after, manifest. */
  forensic?: boolean;
  /** Forensic: also copy the source's -wal / -journal raw beside the copy. */
  sideFiles?: boolean;
  /** Forensic: write the manifest JSON here. Default `<copy>.manifest.json` when forensic. */
  manifest?: string;
}

export interface BackupFileResult {
  snapshot: SnapshotIdentity;
  /** The copy's size: snapshot.pageCount x snapshot.pageSize. */
  bytes: number;
  /** Bytes written into the copy over every pass and re-copy (restarts and re-passes cost the difference). */
  bytesWritten: number;
  elapsedMs: number;
  manifest: ForensicManifest | null;
  manifestPath: string | null;
}

/**
 * Copies the database file `src` (which may be live: written by SQLite in another process) to
 * `dst`, consistently and without locks. See the module comment.
 */
export async function backupFile(src: string, dst: string, options: BackupFileOptions = {}): Promise<BackupFileResult> {
  const o = checkDriveOptions(options);
  const started = Date.now();
  const source = await NodeFileStorage.open(src, { readOnly: true });
  try {
    const dstAbs = path.resolve(dst);
    const sst = await source.stat('db');
    const dstat = await stat(dstAbs, { bigint: true }).catch(() => null);
    if (dstat && sst && dstat.ino === sst.ino && dstat.dev === sst.dev) {
      throw misuse(`source and destination are the same file (${src})`);
    }
    const forensic = options.forensic ?? false;
    const sink = new FileSink(dst, { journalMode: options.journalMode ?? 'source', raw: forensic });
    sink.mode = await checkWritableDestination(dst, dstAbs);
    // The manifest's place is checked as the copy's is, before anything is copied.
    const manifestShown = options.manifest ?? `${dst}.manifest.json`;
    const manifestAbs = path.resolve(manifestShown);
    if (forensic) await checkWritableDestination(manifestShown, manifestAbs);
    sink.wantHashes = forensic;
    const before = forensic ? await hashSource(source) : null;
    const copyStarted = Date.now();
    // A forensic copy's re-passes write every page (no digest argument in its proof).
    const engine = new CopyEngine(source, sink, { hotJournal: options.hotJournal ?? 'refuse', repass: forensic ? 'full' : 'digest', bytesEqual });
    const stepper: Stepper = { step: (n) => engine.step(n, true), publish: () => engine.publish(), engine };
    if (options.onProgress) {
      const cb = options.onProgress;
      o.progress = (status, remaining, pageCount) =>
        cb({
          status,
          remaining,
          pageCount,
          pageSize: engine.pageSize,
          pass: engine.passes,
          passElapsedMs: engine.passes > 0 ? Date.now() - engine.passStartedAt : 0,
          bytesWritten: sink.bytesWritten,
          restarts: engine.restarts,
          repasses: engine.repasses,
          snapshotMoves: engine.snapshotMoves,
          reason: engine.lastReason,
          elapsedMs: Date.now() - copyStarted,
        });
    }
    try {
      await drive(stepper, o, src);
    } catch (e) {
      await engine.settleWrites();
      await sink.abort();
      throw e;
    } finally {
      engine.release();
    }
    const copyEnded = Date.now();
    const snapshot = engine.result!;
    let manifest: ForensicManifest | null = null;
    let manifestPath: string | null = null;
    if (forensic) {
      let sideFiles: Awaited<ReturnType<typeof copySideFiles>> = {};
      if (options.sideFiles) sideFiles = await copySideFiles(source, snapshot, dstAbs);
      const after = await hashSource(source);
      const finished = Date.now();
      manifest = buildManifest({
        version: VERSION,
        sourcePath: source.path,
        before: before!,
        after,
        snapshot,
        copyPath: dstAbs,
        copy: sink.hashes!,
        sideFiles,
        started,
        copyStarted,
        copyEnded,
        finished,
      });
      manifestPath = manifestAbs;
      // Whole or not at all: written beside, then renamed into place.
      const tmp = `${manifestAbs}.quire-tmp-${process.pid}`;
      try {
        await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
        await rename(tmp, manifestAbs);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw ioerr(`writing the manifest ${manifestShown}`, e);
      }
    }
    return {
      snapshot,
      bytes: snapshot.pageCount * snapshot.pageSize,
      bytesWritten: sink.bytesWritten,
      elapsedMs: Date.now() - started,
      manifest,
      manifestPath,
    };
  } finally {
    await source.close();
  }
}

type RawCopy = FileHash & { path: string };

/**
 * Forensic `--side-files`: the source's -wal (the snapshot's committed prefix), -journal and
 * -shm copied raw as `<copy>.source-<kind>`, after the page copy, each hashed as it is
 * written. The -shm of a live WAL database changes all the time: its copy is a hint, the bytes
 * as read now. The source storage is read-only: reading creates nothing beside the source.
 * A `<copy>.source-<kind>` left by an earlier copy to the same path, of a side file the
 * source no longer has, is removed: it belonged to the copy just replaced (quire verify
 * would call it extra).
 */
async function copySideFiles(source: NodeFileStorage, snap: SnapshotIdentity, dstAbs: string): Promise<Partial<Record<SideFileKind, RawCopy>>> {
  const out: Partial<Record<SideFileKind, RawCopy>> = {};
  for (const kind of SIDE_FILE_KINDS) {
    const to = `${dstAbs}.source-${kind}`;
    const copied = kind === 'wal' ? await copyWalPrefix(source, snap, to) : await copyRaw(source, kind, to);
    if (copied) out[kind] = copied;
    else await unlink(to).catch(() => undefined);
  }
  return out;
}

/**
 * Copies the committed prefix of the snapshot's WAL (header + frames 1..mxFrame), if still
 * intact: the WAL header carries the snapshot's salts before and after the copy (a reset
 * always draws new salts, and frames up to mxFrame are not rewritten without one).
 */
async function copyWalPrefix(source: NodeFileStorage, snap: SnapshotIdentity, to: string): Promise<RawCopy | null> {
  if (!snap.wal || snap.wal.mxFrame === 0) return copyRaw(source, 'wal', to);
  const wal = snap.wal;
  const intact = async (): Promise<boolean> => {
    const h = parseWalHeader(await source.read('wal', 0, WAL_HEADER_SIZE));
    return h !== null && h.salt1 === wal.salt1 && h.salt2 === wal.salt2;
  };
  const end = frameOffset(snap.pageSize, wal.mxFrame + 1);
  const copied = (await intact()) ? await copyRaw(source, 'wal', to, end) : null;
  if (!copied || copied.size !== end || !(await intact())) {
    await unlink(to).catch(() => undefined);
    throw new QuireError(ErrorCode.BUSY, `${source.label}-wal was reset before its raw copy could be taken`);
  }
  return copied;
}

/**
 * Streams `kind` of the source (its first `end` bytes; default all) into `to`, hashing what
 * is written: a file that changes meanwhile (a live -shm) is copied as read, and the hash is
 * of the copy.
 */
async function copyRaw(source: NodeFileStorage, kind: SideFileKind, to: string, end?: number): Promise<RawCopy | null> {
  if (!(await source.exists(kind))) return null;
  const size = end ?? (await source.size(kind));
  let fh: FileHandle | null = null;
  try {
    fh = await open(to, 'w', 0o644);
    const out = fh;
    const h = await hashStream(async (off, len) => {
      const b = await source.read(kind, off, len);
      for (let done = 0; done < b.length; ) done += (await out.write(b, done, b.length - done, off + done)).bytesWritten;
      return b;
    }, size);
    await out.sync();
    // Deleted between the look and the read (a journal at the end of a commit): not copied.
    if (h.size === 0 && !(await source.exists(kind))) {
      await unlink(to);
      return null;
    }
    return { path: to, ...h };
  } catch (e) {
    throw ioerr(`copying ${source.pathOf(kind)} to ${to}`, e);
  } finally {
    await fh?.close();
  }
}
