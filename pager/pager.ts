/**
 * The pager: pages of one database file, read snapshots, and atomic write transactions.
 *
 * Design notes (numbered as in SQLite's pager.c, whose roles this file plays):
 *
 *  (1) A *snapshot* is an immutable view of the database: the db file, overlaid with the WAL
 *      up to its last valid commit frame (mxFrame), or — in rollback mode with an active
 *      journal and the 'view' policy — overlaid with the journal's original page images, which
 *      is the last committed state. The snapshot's page count follows SQLite's lockBtree():
 *      the file's pages (or the WAL commit frame's size, or the journal's original size), and
 *      the in-header count at offset 28 instead when offset 92 equals offset 24; an in-header
 *      count larger than the file is CORRUPT.
 *  (2) Reading never writes: no -shm, no -journal, no recovery in place. A read-only pager
 *      that finds a hot journal presents the pre-transaction state ('view', the default) or
 *      fails with BUSY ('refuse'). Only a writable pager rolls a hot journal back, as SQLite
 *      does when it opens such a file, and only when no process holds a lock on it (note 5).
 *  (3) Each `read()` re-examines the file (db header bytes 24..39 and size, the journal, the
 *      WAL's header and new frames) and starts a new generation when anything changed; the
 *      page cache holds images of the current generation only.
 *  (4) Writes are in-memory until commit (`WriteTxn` holds dirty page copies). Commit in
 *      rollback mode (commitJournaled, one routine for every transaction and for the backup
 *      destination's replaceAll): journal the original images (header with nRec 0, records,
 *      sync, nRec, sync; a journal even when the file was empty), write the pages in
 *      ascending order — page 1 first — with the change counter, version-valid-for, page
 *      count and version number updated, truncate, sync, then delete (or truncate, or zero)
 *      the journal; the lock-byte page is neither journaled nor written, and every write is
 *      a run of at most IO_RUN_BYTES. Commit in WAL mode: append frames, the last one a
 *      commit frame carrying the page count, cumulative checksums, sync; checkpoint when the
 *      log passes `walAutoCheckpoint` frames and no snapshot still needs it.
 *  (5) One writer per file in this process (an async mutex shared by every pager on the same
 *      storage id). quire takes no file locks. Where the storage shows other processes' locks
 *      (Storage.locks: /proc/locks on Linux), a write transaction starts only while no other
 *      process holds any lock on the db file or its -shm, and the commit looks again before
 *      writing; a -shm nobody holds is stale and no obstacle (beginWrite zeroes its header); a
 *      journal is hot (rolled back) only when nobody holds a lock on the db, as in SQLite's
 *      hasHotJournal. Where it cannot (other platforms), a journal is hot whenever active and
 *      a WAL write is refused while a -shm exists (BUSY). Either way a process that locks
 *      right after the look is not seen.
 *  (6) Snapshot isolation inside the process: before a commit overwrites pages, open snapshots
 *      of every pager on the file receive the old images ("preserved" pages), so a long read
 *      never sees a later commit. Snapshots must be released.
 *  (7) Commit listeners (the copier's hook, as sqlite3BackupUpdate is SQLite's) hear which
 *      pages each commit changed, with their new images, after the commit is durable.
 *  (8) Cache spill (pagerStress): once a transaction's changed pages pass `spillBytes`, the
 *      caller's next safe point (between statements, no savepoint open) writes those not
 *      written since the previous spill (second chance: hot pages stay) to the file; they
 *      move to a bounded cache of clean spilled images, and past it are read from the file. Rollback mode
 *      spills only pages past the original end of the file, after writing and syncing a
 *      journal header that records the original page count (playback truncates them away; a
 *      crash leaves a hot journal that SQLite and quire both roll back). WAL mode appends
 *      them as frames without a commit mark (recovery and readers ignore such frames; the
 *      commit's frames follow them and its commit frame makes them part of it). A rollback
 *      truncates the file back (rollback mode) or just leaves the frames to be overwritten.
 *
 * States (cf. assert_pager_state): OPEN (no snapshot) → READER (snapshots held) →
 * WRITER (a WriteTxn is open; readers may also be open) → back to READER/OPEN on commit or
 * rollback; CLOSED is final. `checkState()` verifies the invariants; tests call it.
 */
import { ErrorCode, QuireError, corrupt, ioerr, isQuireError, misuse } from './errors.js';
import {
  HEADER_SIZE,
  decodePageSize,
  encodeHeader,
  parseHeader,
  QUIRE_SQLITE_VERSION_NUMBER,
  type DbHeader,
  type Encoding,
} from './header.js';
import { get32, put32 } from './bytes.js';
import { PageCache } from './cache.js';
import { lockConflict, readExactly, type FileKind, type Storage } from './storage.js';
import { lockBytePageFor, type PageSource, type Pgno, type WritablePageSource } from './source.js';
import {
  appendCommit,
  encodeFrames,
  encodeWalHeader,
  frameOffset,
  readFrame,
  scanWal,
  walUnchanged,
  WAL_FRAME_HEADER_SIZE,
  type WalHeader,
  type WalIndex,
} from './wal.js';
import {
  encodeJournalHeader,
  putJournalRecord,
  hasJournalMagic,
  journalState,
  JOURNAL_HEADER_FIELDS,
  readHotJournal,
  JOURNAL_SECTOR_SIZE,
  type HotJournal,
} from './journal.js';

export type JournalMode = 'delete' | 'truncate' | 'persist';
export type Synchronous = 'off' | 'normal' | 'full';

export interface PagerOptions {
  /** Refuse writes. Default: the storage's readOnly. */
  readOnly?: boolean;
  /** Page cache budget in bytes. Default 32 MiB. */
  cacheBytes?: number;
  /**
   * What a read-only pager does with a hot rollback journal: 'view' (default) presents the
   * last committed state by overlaying the journal's original pages in memory; 'refuse'
   * fails with BUSY. A writable pager rolls the journal back, as SQLite does, unless another
   * process holds a lock on the database (then it is that process's live transaction).
   */
  hotJournal?: 'view' | 'refuse';
  /** How a rollback-mode commit ends its journal. Default 'delete'. */
  journalMode?: JournalMode;
  /** 'full' (default) syncs journal and db / the WAL at every commit; 'normal' skips the
   * WAL sync at commit; 'off' never syncs (a crash may corrupt the file). */
  synchronous?: Synchronous;
  /** Checkpoint the WAL after a commit that leaves at least this many frames. Default 1000;
   * 0 disables automatic checkpoints. */
  walAutoCheckpoint?: number;
  /** Largest run of consecutive pages read at once on sequential access. Default 1 MiB. */
  readAheadBytes?: number;
  /** Page size for a database created in an empty file. Default 4096. */
  newPageSize?: number;
  /**
   * Bytes of changed pages a write transaction keeps in memory before it writes some of them
   * to the file ahead of the commit (SQLite's cache spill), so a large transaction runs in
   * bounded memory. Rollback mode spills the pages the transaction added past the file's
   * original end (their rollback is a truncation recorded in the journal header, written and
   * synced first); WAL mode spills any changed page but page 1 as frames without a commit mark.
   * Default 32 MiB; Infinity keeps everything in memory. Never done on in-memory storage.
   */
  spillBytes?: number;
}

export interface CommitInfo {
  /** New images of every page the commit wrote, by pgno. */
  pages: ReadonlyMap<Pgno, Uint8Array>;
  /** Page count after the commit. */
  pageCount: number;
  /** Page count before the commit (pages above the new count were truncated away). */
  previousPageCount: number;
  mode: 'rollback' | 'wal';
  /**
   * Pages the commit also changed whose images are not in `pages`: a large transaction wrote
   * them to the file before the commit (a spill). Read them from the file (the db file in
   * rollback mode; in WAL mode they are frames of this commit).
   */
  spilled: readonly Pgno[];
}

export type CommitListener = (info: CommitInfo) => void;

type PagerStateName = 'OPEN' | 'READER' | 'WRITER' | 'CLOSED';

/** Per-file state shared by every pager of this process on the same storage id. */
interface SharedFile {
  pagers: Set<Pager>;
  listeners: Set<CommitListener>;
  writeQueue: Promise<void>;
  writing: boolean;
  /** Resolves when the commit now writing to the file is done (null when none is). */
  committing: Promise<void> | null;
  /** Readers outside any pager (the copier) that need the WAL kept: no restart, no truncate. */
  pins: number;
  /**
   * While a rollback-mode transaction of this process has spilled pages: the db file's size
   * before it (readers of this process see the journal and the longer file as that
   * transaction's, not as another process's hot journal).
   */
  spillBase: number | null;
  /**
   * The WAL as the last checkpoint of this process left it, every frame copied to the db
   * file: a writer that still finds exactly this log (same salts, no frame since) may restart
   * it from frame 1; a commit made after the checkpoint keeps the log going.
   */
  walCheckpointed: { salt1: number; salt2: number; mxFrame: number } | null;
}

const registry = new Map<string, SharedFile>();

function sharedFor(id: string): SharedFile {
  let s = registry.get(id);
  if (!s) {
    s = {
      pagers: new Set(),
      listeners: new Set(),
      writeQueue: Promise.resolve(),
      writing: false,
      committing: null,
      pins: 0,
      spillBase: null,
      walCheckpointed: null,
    };
    registry.set(id, s);
  }
  return s;
}

/** Subscribes to commits made by any quire pager of this process on the file `storageId`. */
export function onFileCommit(storageId: string, listener: CommitListener): () => void {
  const s = sharedFor(storageId);
  s.listeners.add(listener);
  return () => {
    s.listeners.delete(listener);
    if (s.pagers.size === 0 && s.listeners.size === 0 && s.pins === 0) registry.delete(storageId);
  };
}

/**
 * Pins the file: while pinned, quire writers of this process do not checkpoint or restart
 * the WAL (the copier reads WAL frames directly). Returns the unpin function.
 */
export function pinFile(storageId: string): () => void {
  const s = sharedFor(storageId);
  s.pins++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    s.pins--;
    if (s.pagers.size === 0 && s.listeners.size === 0 && s.pins === 0) registry.delete(storageId);
  };
}

/**
 * The commit a quire pager of this process is writing to the file right now, or null. (The
 * copier waits for it instead of mistaking its journal for another process's transaction.)
 */
export function commitInFlight(storageId: string): Promise<void> | null {
  return registry.get(storageId)?.committing ?? null;
}

/**
 * Bytes a commit writes per storage call (a run of journal records, of database pages, of WAL
 * frames): large sequential writes, with the memory a commit holds bounded by the run, not by
 * the size of the transaction.
 */
const IO_RUN_BYTES = 1 << 20;

/** Consecutive pages `first`, `first + 1`, ... whose images fill `bytes` (a multiple of the page size). */
interface PageRun {
  first: Pgno;
  bytes: Uint8Array;
}

/** What a rollback-journal commit writes (see Pager.commitJournaled). */
interface JournalCommit {
  /** The journal's nonce (a spill already wrote a header with it). */
  nonce: number;
  /**
   * Pages whose original images the journal must hold, ascending, each ≤ the base's page
   * count; 'all' for every page (replaceAll: no array of a whole file's page numbers).
   */
  journaled: readonly Pgno[] | 'all';
  /** Page size and page count after the commit. */
  pageSize: number;
  pageCount: number;
  /** The new pages, ascending (page 1 first when it is written). */
  runs: Iterable<PageRun> | AsyncIterable<PageRun>;
  /** How many bytes the db file may hold now: it is truncated when that is past the new end. */
  fileEnd: number;
}

/** What identifies the committed state seen by a refresh. */
interface Stamp {
  dbSize: number;
  /** Bytes 24..39 of the db file (change counter, page count, freelist), as hex-ish key. */
  counter: string;
  walSalt: string;
  walMx: number;
  journal: boolean;
}

function stampEqual(a: Stamp, b: Stamp): boolean {
  return a.dbSize === b.dbSize && a.counter === b.counter && a.walSalt === b.walSalt && a.walMx === b.walMx && a.journal === b.journal;
}

/** Where a transaction's WAL frames go (see Pager.walAppendPoint). */
interface WalAppend {
  header: WalHeader;
  /** The running checksum after the last frame written. */
  cks: Uint32Array;
  /** The transaction's first frame, and the next one to write. */
  start: number;
  next: number;
  /** Pages of the frames written so far (start .. next-1), in order. */
  pgnos: number[];
}

/**
 * @internal The pages a transaction has spilled and where each one's image is: rollback mode
 * writes a page at its own place in the db file, so a bit per page says it all (memory flat
 * in the transaction's size: a Map held ~40 bytes a page, ~20 MB for a 2 GB import); WAL
 * mode keeps each page's frame offset.
 */
export class SpilledPages {
  private bits = new Uint8Array(0);
  private readonly frames: Map<number, number> | null;
  private readonly pageSize: number;

  constructor(pageSize: number, wal: boolean) {
    this.pageSize = pageSize;
    this.frames = wal ? new Map() : null;
  }

  /** Byte offset of page p's spilled image (db file or WAL), or undefined. */
  get(p: number): number | undefined {
    if (this.frames !== null) return this.frames.get(p);
    const i = p >>> 3;
    return i < this.bits.length && (this.bits[i] & (1 << (p & 7))) !== 0 ? (p - 1) * this.pageSize : undefined;
  }

  has(p: number): boolean {
    return this.get(p) !== undefined;
  }

  /** Records page p's image at `at` (rollback mode: always its own place, (p - 1) * pageSize). */
  set(p: number, at: number): void {
    if (this.frames !== null) {
      this.frames.set(p, at);
      return;
    }
    const i = p >>> 3;
    if (i >= this.bits.length) {
      const grown = new Uint8Array(Math.max(i + 1, this.bits.length * 2, 64));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[i] |= 1 << (p & 7);
  }

  delete(p: number): void {
    if (this.frames !== null) this.frames.delete(p);
    else if (p >>> 3 < this.bits.length) this.bits[p >>> 3] &= ~(1 << (p & 7));
  }

  /** The spilled pages (rollback mode: ascending). */
  *keys(): Generator<number> {
    if (this.frames !== null) {
      yield* this.frames.keys();
      return;
    }
    const b = this.bits;
    for (let i = 0; i < b.length; i++) {
      if (b[i] === 0) continue;
      for (let k = 0; k < 8; k++) if (b[i] & (1 << k)) yield i * 8 + k;
    }
  }
}

/** @internal What a write transaction has spilled to the file (note 8). */
export interface SpillState {
  /** Spilled pages and the byte offset of each one's image in the db file, or in the WAL. */
  pages: SpilledPages;
  /**
   * Rollback mode: the journal's nonce, whether its header is written and synced (no page is
   * written to the db file before), and the end of the db file's written bytes.
   */
  nonce: number;
  journaled: boolean;
  dbEnd: number;
  /** WAL mode: where the frames go. */
  wal: WalAppend | null;
}

/**
 * A savepoint of a write transaction (SQLite's sub-journal): the image each page had when it
 * was taken, saved on the page's first write after it (null: it was not dirty), and the
 * spilled pages a shrink dropped since (where their images are in the file).
 */
interface Savepoint {
  saved: Map<number, Uint8Array | null>;
  unspilled: Map<number, number>;
  pageCount: number;
}

/** A transaction older than this looks at the locks again at commit (see commitTxn). */
const RECHECK_AFTER_MS = 2;

/** Milliseconds from a monotonic clock where the runtime has one. */
function nowMs(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/** Spare page images a write transaction keeps for its savepoints' copies (WriteTxn.spares). */
const MAX_SPARES = 64;

/** `img`, or a copy of it in a buffer of its own when it is a view into a larger one. */
function ownBuffer(img: Uint8Array): Uint8Array {
  return img.byteLength === img.buffer.byteLength ? img : img.slice();
}

/** The state a refresh computes: everything a snapshot needs. */
interface View {
  header: DbHeader | null;
  pageCount: number;
  pageSize: number;
  wal: WalIndex | null;
  journal: HotJournal | null;
  dbFileSize: number;
}

export class Pager {
  readonly storage: Storage;
  readonly readOnly: boolean;
  private readonly options: Required<Omit<PagerOptions, 'readOnly'>>;
  private readonly shared: SharedFile;
  private state: PagerStateName = 'OPEN';
  private view!: View;
  private stamp: Stamp | null = null;
  /** Generation of the cached view; bumped on every change. */
  gen = 0;
  private cache!: PageCache;
  private cachePageSize = 0;
  private readonly snapshots = new Set<Snapshot>();
  private readonly inflight = new Map<number, Promise<Uint8Array>>();
  private txn: WriteTxn | null = null;
  /** Read-ahead: the page after the last run read from the db file, and the run length. */
  private nextSeq = 0;
  private window = 1;
  /** The buffer coalesceRuns assembles runs in (commits and spills of this pager are serial). */
  private readonly runScratch: { buf: Uint8Array | null } = { buf: null };
  /** The buffer read-ahead runs are read into (null while a read into it is in flight). */
  private runBuf: Uint8Array | null = null;
  /** The block pages read ahead are copied into, and the offset of its free part. */
  private block: ArrayBuffer | null = null;
  private blockOff = 0;
  /** walUnchanged's buffer (a WAL header, a frame header). */
  private readonly walScratch = new Uint8Array(32);
  /** appendFrames' reused frame buffer (storage writes do not keep what they are given). */
  private readonly frameScratch: { buf: Uint8Array | null } = { buf: null };

  private constructor(storage: Storage, options: PagerOptions) {
    this.storage = storage;
    this.readOnly = options.readOnly ?? storage.readOnly;
    if (!this.readOnly && storage.readOnly) throw new QuireError(ErrorCode.READONLY, `${storage.label} is read-only`);
    this.options = {
      cacheBytes: options.cacheBytes ?? 32 << 20,
      hotJournal: options.hotJournal ?? 'view',
      journalMode: options.journalMode ?? 'delete',
      synchronous: options.synchronous ?? 'full',
      walAutoCheckpoint: options.walAutoCheckpoint ?? 1000,
      readAheadBytes: options.readAheadBytes ?? 1 << 20,
      newPageSize: options.newPageSize ?? 4096,
      spillBytes: options.spillBytes ?? 32 << 20,
    };
    if (!(this.options.spillBytes >= 0)) throw misuse(`invalid spillBytes ${String(options.spillBytes)}`);
    if (decodePageSize(this.options.newPageSize) === 0) throw misuse(`invalid page size ${this.options.newPageSize}`);
    this.shared = sharedFor(storage.id);
  }

  /** Opens a pager and reads the file's current state (header, WAL, journal). */
  static async open(storage: Storage, options: PagerOptions = {}): Promise<Pager> {
    const p = new Pager(storage, options);
    p.shared.pagers.add(p);
    try {
      await p.refresh();
    } catch (e) {
      p.shared.pagers.delete(p);
      throw e;
    }
    return p;
  }

  get label(): string {
    return this.storage.label;
  }

  /** Header of the latest view (null for an empty file). */
  get header(): DbHeader | null {
    return this.view.header;
  }

  get pageSize(): number {
    return this.view.pageSize;
  }

  get pageCount(): number {
    return this.view.pageCount;
  }

  /** 'wal' when the latest view reads through a WAL, else 'rollback'. */
  get mode(): 'rollback' | 'wal' {
    return this.view.wal || (this.view.header?.readVersion === 2) ? 'wal' : 'rollback';
  }

  /** The WAL index of the latest view, if any. */
  get walIndex(): WalIndex | null {
    return this.view.wal;
  }

  /** True while a write transaction is open on this pager. */
  get inWriteTransaction(): boolean {
    return this.txn !== null;
  }

  /** The hot journal the latest view overlays, if any. */
  get hotJournal(): HotJournal | null {
    return this.view.journal;
  }

  private checkOpen(): void {
    if (this.state === 'CLOSED') throw misuse(`database ${this.label} is closed`);
  }

  /** Verifies internal invariants (tests call this). Throws on violation. */
  checkState(): void {
    const want: PagerStateName = this.state === 'CLOSED' ? 'CLOSED' : this.txn ? 'WRITER' : this.snapshots.size ? 'READER' : 'OPEN';
    if (want !== this.state) throw new Error(`pager state ${this.state}, expected ${want}`);
    if (this.txn && !this.shared.writing) throw new Error('writer without the file write lock');
    if (this.view.pageCount > 0 && !this.view.header) throw new Error('pages without a header');
    if (this.cache.size > this.cache.capacity) throw new Error('cache over capacity');
  }

  private setState(): void {
    if (this.state === 'CLOSED') return;
    this.state = this.txn ? 'WRITER' : this.snapshots.size ? 'READER' : 'OPEN';
  }

  // ---------------------------------------------------------------- refresh (note 3)

  /**
   * Re-examines the file and updates the view. Starts a new generation (dropping the cache)
   * when the committed state changed. Called by read() and beginWrite().
   */
  private async refresh(): Promise<void> {
    // Another process may be in the middle of a commit or checkpoint while we look: a page
    // count beyond the file, or a WAL frame that vanished, is then a moving target, not
    // corruption. Retry while the files keep changing; report what persists.
    // (The happy path costs nothing extra: stamps are taken only after a failure.)
    let before: string | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.refreshOnce();
      } catch (e) {
        const transient = isQuireError(e) && (e.code === 'CORRUPT' || e.code === 'BUSY' || e.code === 'NOTADB');
        if (!transient || attempt >= 8) throw e;
        const now = await this.fileStamp();
        if (before !== null && now === before) throw e;
        before = now;
        await new Promise((r) => setTimeout(r, attempt * 5));
      }
    }
  }

  /** Sizes and change stamps of the db and WAL files (to tell a moving file from a bad one). */
  private async fileStamp(): Promise<string> {
    const st = this.storage;
    try {
      const parts: string[] = [];
      for (const kind of ['db', 'wal'] as const) {
        const s = st.stat ? await st.stat(kind) : { size: await st.size(kind) };
        parts.push(s ? `${s.size}:${s.mtimeMs ?? ''}:${s.ctimeMs ?? ''}:${String(s.ino ?? '')}` : '-');
      }
      parts.push(Array.from(await st.read('wal', 0, 32)).join(','));
      return parts.join('|');
    } catch (e) {
      throw ioerr(`reading ${st.label}`, e);
    }
  }

  private async refreshOnce(): Promise<void> {
    const st = this.storage;
    let dbSize: number;
    let head: Uint8Array;
    // A transaction of this process that spilled pages: its journal and the pages past the
    // old end are its own, not another process's (note 8).
    const spillBase = this.shared.spillBase;
    // WAL mode: a WAL as the last look left it (same file and header, ending at the last
    // commit it knew: scanWal hands back that very index) means nothing changed, and the db
    // file is not looked at, as SQLite trusts an unchanged wal-index header: a checkpoint
    // copies into the db file only what the WAL holds, and every other change to the file
    // (a WAL reset, a rollback-mode writer) first rewrites or deletes the WAL.
    const known = this.view?.wal;
    if (this.stamp && known && known.mxFrame > 0 && spillBase === null) {
      if ((await walUnchanged(st, known, this.walScratch)) || (await scanWal(st, known)).index === known) return;
    }
    try {
      dbSize = spillBase ?? (await st.size('db'));
      head = dbSize > 0 ? await st.read('db', 0, HEADER_SIZE) : new Uint8Array(0);
    } catch (e) {
      throw ioerr(`reading ${st.label}`, e);
    }
    // A WAL is read when it exists and the database is not empty (pagerOpenWalIfPresent).
    let wal: WalIndex | null = null;
    let walSalt = '';
    if (dbSize > 0) {
      const scan = await scanWal(st, this.view?.wal ?? null);
      wal = scan.index;
      if (wal && wal.mxFrame === 0 && !this.isWalHeader(head)) wal = null;
      if (wal) walSalt = `${wal.header.salt1}:${wal.header.salt2}:${wal.header.checksum1}`;
    }
    let journal: HotJournal | null = null;
    let journalActive = false;
    if (dbSize > 0 && !wal && spillBase === null) {
      const js = await journalState(st);
      journalActive = js.active;
    }
    const counter = head.length >= 40 ? Array.from(head.subarray(24, 40)).join(',') : '';
    const stamp: Stamp = { dbSize, counter, walSalt, walMx: wal?.mxFrame ?? 0, journal: journalActive };
    if (this.stamp && stampEqual(stamp, this.stamp) && !journalActive) return;

    if (journalActive) {
      // Hot only when no process holds a lock on the db (hasHotJournal): a journal beside a
      // lock is another process's transaction in progress, read around like a reader would.
      const conflict = await this.lockConflict();
      if (!this.readOnly && !conflict) {
        await this.rollbackHotJournal();
        return this.refreshOnce();
      }
      if (this.options.hotJournal === 'refuse') {
        throw new QuireError(
          ErrorCode.BUSY,
          conflict
            ? `${st.label}: ${conflict}; retry when it has committed or rolled back`
            : `${st.label}: a hot journal is present (a transaction was interrupted or is in progress)`,
        );
      }
      journal = await readHotJournal(st, head);
      if (!journal) journalActive = false;
    }

    // Page 1 as this view sees it.
    let page1Head = head;
    let pageSizeHint = 0;
    if (wal) {
      pageSizeHint = wal.pageSize;
      const f = wal.frameFor(1);
      if (f) page1Head = (await readFrame(st, wal.pageSize, f)).subarray(0, HEADER_SIZE);
    }
    if (journal) {
      const j1 = journal.pages.get(1);
      if (j1) page1Head = j1.subarray(0, HEADER_SIZE);
    }

    let header: DbHeader | null = null;
    let pageSize = this.options.newPageSize;
    let pageCount = 0;
    if (dbSize > 0 || (wal && wal.mxFrame > 0)) {
      header = parseHeader(page1Head, st.label);
      pageSize = header.pageSize;
      if (pageSizeHint && pageSizeHint !== pageSize) {
        throw corrupt(1, `page size ${pageSize} differs from the WAL's ${pageSizeHint}`);
      }
      // A partial last page counts as a page (read zero-padded), as pagerPagecount rounds up.
      const nPageFile = wal && wal.mxFrame > 0 ? wal.dbSize : journal ? journal.originalPageCount : Math.ceil(dbSize / pageSize);
      pageCount = header.pageCountValid ? header.headerPageCount : nPageFile;
      if (pageCount > nPageFile) {
        throw corrupt(1, `header says ${pageCount} pages but the file holds ${nPageFile}`);
      }
    }

    if (this.cachePageSize !== pageSize || !this.cache) {
      this.cache = new PageCache(Math.floor(this.options.cacheBytes / pageSize), true);
      this.cachePageSize = pageSize;
    } else {
      this.cache.clear();
    }
    this.inflight.clear();
    this.gen++;
    this.nextSeq = 0;
    this.window = 1;
    this.view = { header, pageCount, pageSize, wal, journal, dbFileSize: dbSize };
    this.stamp = stamp;
    for (const s of this.snapshots) s.detach();
  }

  private isWalHeader(head: Uint8Array): boolean {
    return head.length >= 20 && head[19] === 2;
  }

  // ---------------------------------------------------------------- reading

  /**
   * Begins a read: refreshes the view and returns a snapshot of the current committed state.
   * Release it when done; until then it keeps seeing this state even across quire commits.
   */
  async read(): Promise<Snapshot> {
    this.checkOpen();
    while (this.shared.committing) await this.shared.committing;
    if (!this.txn) await this.refresh();
    const s = new Snapshot(this, this.gen, this.view);
    this.snapshots.add(s);
    this.setState();
    return s;
  }

  /** @internal */
  releaseSnapshot(s: Snapshot): void {
    this.snapshots.delete(s);
    this.setState();
  }

  /** @internal The cached image of page `pgno` in the current generation. */
  cached(pgno: Pgno): Uint8Array | undefined {
    return this.cache.get(pgno);
  }

  /** @internal Loads page `pgno` of `snap` (a cache miss). */
  async load(snap: Snapshot, pgno: Pgno): Promise<Uint8Array> {
    const current = snap.gen === this.gen;
    if (current) {
      const pending = this.inflight.get(pgno);
      if (pending) return pending;
    }
    const p = this.loadUncached(snap, pgno, current);
    if (current) {
      this.inflight.set(pgno, p);
      p.finally(() => {
        if (this.inflight.get(pgno) === p) this.inflight.delete(pgno);
      }).catch(() => undefined);
    }
    return p;
  }

  /** A zeroed page carved from the current 64 KiB block (never handed out twice). */
  private blockPage(ps: number): Uint8Array {
    if (this.block === null || this.blockOff + ps > this.block.byteLength) {
      this.block = new ArrayBuffer(Math.max(ps, 1 << 16));
      this.blockOff = 0;
    }
    const page = new Uint8Array(this.block, this.blockOff, ps);
    this.blockOff += ps;
    return page;
  }

  private async loadUncached(snap: Snapshot, pgno: Pgno, current: boolean): Promise<Uint8Array> {
    const v = snap.view;
    const ps = v.pageSize;
    const gen = this.gen;
    if (v.wal) {
      const f = v.wal.frameFor(pgno, snap.walLimit);
      if (f) {
        const data = await readFrame(this.storage, ps, f);
        if (current && gen === this.gen) this.cache.set(pgno, data);
        return data;
      }
    }
    if (v.journal) {
      const j = v.journal.pages.get(pgno);
      if (j) return j;
    }
    // Sequential access grows the read-ahead window (up to readAheadBytes); random resets it.
    const maxRun = Math.max(1, Math.floor(this.options.readAheadBytes / ps));
    let run = 1;
    if (current) {
      if (pgno === this.nextSeq) this.window = Math.min(maxRun, this.window * 2);
      else this.window = 1;
      run = Math.min(this.window, v.pageCount - pgno + 1);
    }
    const fileOff = (pgno - 1) * ps;
    // A run is read into the pager's run buffer (reused; taken while a read is in flight, so a
    // concurrent load makes its own) and its pages copied out into 64 KiB blocks: a cached page
    // keeps a block alive, never a 1 MiB run, and a long scan allocates as few buffers as pages
    // / 16 (each is garbage the GC must find). A page the cache keeps for long is copied out of
    // its block there (cache.ts). Without readInto, pages are views into the run read.
    const st = this.storage;
    let bytes: Uint8Array;
    let runBuf: Uint8Array | null = null;
    try {
      if (st.readInto && run > 1) {
        runBuf = this.runBuf !== null && this.runBuf.length >= run * ps ? this.runBuf : new Uint8Array(maxRun * ps);
        this.runBuf = null;
        bytes = runBuf.subarray(0, await st.readInto('db', fileOff, runBuf.subarray(0, run * ps)));
      } else {
        bytes = await st.read('db', fileOff, run * ps);
      }
    } catch (e) {
      if (runBuf !== null) this.runBuf = runBuf;
      throw ioerr(`reading ${this.label} page ${pgno}`, e);
    }
    let target: Uint8Array | undefined;
    const cacheable = current && gen === this.gen;
    for (let i = 0; i < run; i++) {
      const p = pgno + i;
      // Pages the file does not reach are not read ahead (the first one reads as zeros).
      if (i > 0 && i * ps >= bytes.length) break;
      if (i > 0 && (!cacheable || this.cache.has(p))) continue;
      if (i > 0 && v.wal && v.wal.frameFor(p, snap.walLimit)) continue;
      if (i > 0 && v.journal && v.journal.pages.has(p)) continue;
      let img: Uint8Array;
      if (runBuf === null && (i + 1) * ps <= bytes.length) img = bytes.subarray(i * ps, (i + 1) * ps);
      else {
        img = this.blockPage(ps);
        img.set(bytes.subarray(i * ps, Math.min(bytes.length, (i + 1) * ps)));
      }
      if (i === 0) target = img;
      if (cacheable) this.cache.set(p, img);
    }
    if (runBuf !== null) this.runBuf = runBuf;
    if (current) this.nextSeq = pgno + run;
    return target!;
  }

  /** @internal The body of Snapshot.readRun. */
  async readRun(snap: Snapshot, first: Pgno, count: number, dest: Uint8Array): Promise<void> {
    const v = snap.view;
    const ps = v.pageSize;
    try {
      await readFilled(this.storage, 'db', (first - 1) * ps, dest.subarray(0, count * ps));
    } catch (e) {
      throw ioerr(`reading ${this.label} pages ${first}..${first + count - 1}`, e);
    }
    // The file holds the snapshot's pages but those it sees elsewhere (as loadUncached reads).
    for (let i = 0; i < count; i++) {
      const p = first + i;
      let img = snap.preservedImage(p);
      if (img === undefined && v.wal) {
        const f = v.wal.frameFor(p, snap.walLimit);
        if (f) img = await readFrame(this.storage, ps, f);
      }
      if (img === undefined && v.journal) img = v.journal.pages.get(p);
      if (img !== undefined) dest.set(img.subarray(0, ps), i * ps);
    }
  }

  // ---------------------------------------------------------------- writing

  /**
   * Begins a write transaction: takes this process's write lock on the file (waiting for any
   * other quire writer), refreshes the view (rolling back a hot journal), and returns the
   * transaction. Fails READONLY on a read-only pager, BUSY when a -shm says another SQLite
   * connection may be live on a WAL database.
   */
  async beginWrite(): Promise<WriteTxn> {
    this.checkOpen();
    if (this.readOnly) throw new QuireError(ErrorCode.READONLY, `${this.label} is opened read-only`);
    if (this.txn) throw misuse('a write transaction is already open on this connection');
    const shared = this.shared;
    let release!: () => void;
    const prev = shared.writeQueue;
    shared.writeQueue = new Promise<void>((r) => (release = r));
    await prev;
    shared.writing = true;
    try {
      // (5) No write while another process holds any lock on the db or its -shm. Checked
      // before the refresh, so the state the transaction starts from is read after it.
      const conflict = await this.lockConflict();
      if (conflict) throw this.busyHeld(conflict);
      await this.refresh();
      if (this.view.journal) {
        // A lock was taken between the check and the refresh: the journal is live.
        throw this.busyHeld((await this.lockConflict()) || 'another process holds a lock on it');
      }
      if (this.mode === 'wal' && (await this.storage.exists('shm'))) {
        if (conflict === null) {
          throw new QuireError(
            ErrorCode.BUSY,
            `${this.label}: a -shm exists and this platform does not show file locks: a SQLite connection may have this WAL database open, and quire writes one only when none has. If the -shm is stale (a read-only or crashed connection left it), open and close the database with sqlite3, or run \`quire recover --assume-unlocked\` on it`,
          );
        }
        // Locks seen, none held: the -shm is stale, its header the log as the last SQLite
        // connection left it, not the commits quire appends. Its two header copies are zeroed
        // (isInit 0), as SQLite's first opener truncates such a -shm: SQLite reads the log
        // again (recovery), and the copier, which caps its scans at a valid header where it
        // cannot see locks, does not cap quire's commits away. Best effort.
        await this.storage.write('shm', 0, new Uint8Array(96)).catch(() => {});
      }
    } catch (e) {
      shared.writing = false;
      release();
      throw e;
    }
    const base = new Snapshot(this, this.gen, this.view);
    this.snapshots.add(base);
    this.txn = new WriteTxn(this, base, () => {
      this.snapshots.delete(base);
      this.txn = null;
      shared.writing = false;
      release();
      this.setState();
    });
    this.setState();
    return this.txn;
  }

  /**
   * What other processes hold on the db file and its -shm, as a message ("a SQLite process
   * (pid 12) holds RESERVED on app.db (...)"): '' when nothing is held, null when the storage
   * cannot tell (Storage.locks absent or unknown). The look takes no lock: a process may lock
   * right after it (the remaining race; see the README).
   */
  lockConflict(): Promise<string | null> {
    return lockConflict(this.storage);
  }

  private busyHeld(conflict: string): QuireError {
    return new QuireError(
      ErrorCode.BUSY,
      `${this.label}: ${conflict}; quire writes only while no other process holds a lock on the database: retry when that transaction ends or that connection closes`,
    );
  }

  /** Rolls a hot journal back into the database file, as SQLite's pager_playback does. */
  private async rollbackHotJournal(): Promise<void> {
    const st = this.storage;
    let head: Uint8Array;
    try {
      head = await st.read('db', 0, HEADER_SIZE);
    } catch (e) {
      throw ioerr(`reading ${st.label}`, e);
    }
    const j = await readHotJournal(st, head);
    try {
      if (j) {
        const pgnos = [...j.pages.keys()].sort((a, b) => a - b);
        for (const pgno of pgnos) await st.write('db', (pgno - 1) * j.pageSize, j.pages.get(pgno)!);
        await st.truncate('db', j.originalPageCount * j.pageSize);
        await st.sync('db');
      }
      await st.delete('journal');
    } catch (e) {
      throw ioerr(`rolling back the hot journal of ${st.label}`, e);
    }
    this.stamp = null;
  }

  /** @internal Called by WriteTxn.commit with the lock held. */
  async commitTxn(txn: WriteTxn): Promise<void> {
    const base = txn.base;
    const v = base.view;
    const pageCount = txn.pageCount;
    const origCount = v.pageCount;
    const ps = txn.pageSize;
    const wal = this.mode === 'wal';

    // Page 1 carries the header counters. Rollback mode bumps the change counter at every
    // commit; WAL mode only when page 1 is written anyway (as pagerWalFrames does), and the
    // page count at 28 whenever it changes.
    if (!wal || txn.isDirty(1) || pageCount !== origCount || txn.changeCounterAlways) {
      const p1 = await txn.writable(1);
      const cc = (get32(p1, 24) + 1) >>> 0;
      put32(p1, 24, cc);
      put32(p1, 92, cc);
      put32(p1, 96, QUIRE_SQLITE_VERSION_NUMBER);
      put32(p1, 28, pageCount);
    }
    const p1 = await txn.getPage(1);

    const dirty = [...txn.dirtyPages()].filter(([pgno]) => pgno <= pageCount).sort((a, b) => a[0] - b[0]);
    const changed = new Set<number>(dirty.map(([p]) => p));
    for (let p = pageCount + 1; p <= origCount; p++) changed.add(p);
    const spill = txn.spill;
    const spilled: number[] = [];
    if (spill) {
      // Spilled pages past the original end need no journal: unless a snapshot or a listener
      // is to hear of them, they only leave the cache, and no list of them is made (memory
      // flat in the transaction's size).
      const everyPage = this.otherSnapshotsOpen() || this.shared.listeners.size > 0;
      for (const p of spill.pages.keys()) {
        if (p > pageCount || changed.has(p)) continue;
        if (everyPage || p <= origCount) {
          changed.add(p);
          spilled.push(p);
        } else {
          this.cache.delete(p);
        }
      }
      spilled.sort((a, b) => a - b);
      await this.checkSpillIntact(txn);
    }

    // (5) Look again just before writing: the race left is a process locking during the
    // commit itself. (A spilled transaction has written already; its journal guards it.) Not
    // when beginWrite looked under RECHECK_AFTER_MS ago (a small auto-commit transaction): the
    // window that adds is shorter than the commit's own write and sync, which no look covers,
    // and the look is most of such a commit's system calls.
    if (!spill && nowMs() - txn.began >= RECHECK_AFTER_MS) {
      const conflict = await this.lockConflict();
      if (conflict) throw this.busyHeld(conflict);
    }

    // (6) Give every open snapshot on this file the images it would lose.
    if (this.otherSnapshotsOpen()) await this.preserveForSnapshots(changed, base);

    try {
      await this.committing(`committing to ${this.label}`, async () => {
        if (wal) return this.commitWal(txn, dirty, pageCount);
        // The original image of every page that existed before and changes or goes.
        const journaled = [...changed].filter((p) => p <= origCount).sort((a, b) => a - b);
        await this.commitJournaled(txn, {
          nonce: spill?.nonce ?? (Math.random() * 0x100000000) >>> 0,
          journaled,
          pageSize: ps,
          pageCount,
          runs: coalesceRuns(ps, dirty, this.runScratch),
          // After a spill the file may also hold pages of a spill write that failed part-way.
          fileEnd: spill ? Math.max(v.dbFileSize, spill.dbEnd, await this.storage.size('db')) : v.dbFileSize,
        });
      });
    } finally {
      this.endSpill();
    }

    // Install the new state: the cache keeps unchanged pages and takes the new images.
    // (Page 1 unchanged, as in most WAL-mode commits: the header the transaction began with.)
    const newHeader = !txn.isDirty(1) && v.header !== null ? v.header : parseHeader(p1, this.label);
    this.gen++;
    for (const p of changed) this.cache.delete(p);
    for (const [p, img] of dirty) this.cache.set(p, img);
    const fileSize = wal ? v.dbFileSize : pageCount * ps;
    this.view = { header: newHeader, pageCount, pageSize: ps, wal: this.view.wal, journal: null, dbFileSize: fileSize };
    // What the next refresh will find if nobody else touches the file: it then keeps the cache.
    const newWal = this.view.wal;
    this.stamp = {
      dbSize: fileSize,
      counter: wal ? (this.stamp?.counter ?? '') : Array.from(p1.subarray(24, 40)).join(','),
      walSalt: newWal ? `${newWal.header.salt1}:${newWal.header.salt2}:${newWal.header.checksum1}` : '',
      walMx: newWal?.mxFrame ?? 0,
      journal: false,
    };
    // Open snapshots keep reading: the pages this commit changed were preserved for them.
    for (const other of this.shared.pagers) if (other !== this) other.invalidate();

    if (this.shared.listeners.size > 0) {
      const info: CommitInfo = {
        pages: new Map(dirty),
        pageCount,
        previousPageCount: origCount,
        mode: wal ? 'wal' : 'rollback',
        spilled,
      };
      for (const l of [...this.shared.listeners]) {
        try {
          l(info);
        } catch {
          // A listener's failure must not undo a durable commit.
        }
      }
    }

    if (wal) await this.maybeCheckpoint(false);
  }

  /**
   * Runs `write`, the part of a commit that writes to the file, as this process's commit in
   * flight (commitInFlight). A failure is IOERR `what`: the file may be half-written, and the
   * journal (or the WAL's checksums) make the next refresh see the previous state.
   */
  private async committing(what: string, write: () => Promise<void>): Promise<void> {
    let committed!: () => void;
    this.shared.committing = new Promise<void>((r) => (committed = r));
    try {
      await write();
    } catch (e) {
      this.stamp = null;
      throw ioerr(what, e);
    } finally {
      this.shared.committing = null;
      committed();
    }
  }

  /**
   * The rollback-journal commit (note 4), the one routine behind WriteTxn.commit and
   * WriteTxn.replaceAll, in SQLite's order (pager_write / sqlite3PagerCommitPhaseOne/Two):
   *
   *  1. The journal: a header with nRec 0 and the original page count and page size (of
   *     `txn.base`), then the original image of every page in `c.journaled` but the lock-byte
   *     page (playback stops at a record with that number), a run of records at a time; sync;
   *     the header again with nRec; sync. From here a crash leaves a hot journal that restores
   *     the state before the commit, whatever part of steps 2 and 3 reached the disk.
   *  2. The new pages, ascending (page 1, with the new change counter, first), a run at a
   *     time; the lock-byte page is never written.
   *  3. Truncate the file to the new page count when it holds more; sync.
   *  4. End the journal as journalMode says: delete, truncate, or zero its header. This is the
   *     commit point.
   *
   * synchronous=off skips the syncs (a crash may then corrupt the file).
   */
  private async commitJournaled(txn: WriteTxn, c: JournalCommit): Promise<void> {
    const st = this.storage;
    const sync = this.options.synchronous !== 'off';
    const base = txn.base;
    const ops = base.pageSize;
    const origCount = base.pageCount;
    const sector = JOURNAL_SECTOR_SIZE;
    const lockByte = lockBytePageFor(ops);
    const listed = c.journaled === 'all' ? null : c.journaled.filter((p) => p !== lockByte);
    const nRec = listed ? listed.length : origCount - (origCount >= lockByte ? 1 : 0);
    const pageAt = (i: number): Pgno => (listed ? listed[i] : i + 1 < lockByte ? i + 1 : i + 2);
    try {
      await st.write('journal', 0, encodeJournalHeader(0, c.nonce, origCount, sector, ops));
      // A run of records at a time, encoded into one buffer. Consecutive original pages are
      // read from the file in one read (Snapshot.readRun: a whole-file commit reads every page
      // once, and must not churn the cache); a lone page comes from the cache where it is.
      const recSize = 8 + ops;
      const perRun = Math.max(1, Math.floor(IO_RUN_BYTES / recSize));
      const recs = new Uint8Array(Math.min(perRun, nRec) * recSize);
      let run: Uint8Array | null = null;
      for (let i = 0; i < nRec; ) {
        const n = Math.min(perRun, nRec - i);
        for (let k = 0; k < n; ) {
          const p = pageAt(i + k);
          let m = 1;
          while (k + m < n && pageAt(i + k + m) === p + m) m++;
          if (m === 1) putJournalRecord(recs, k * recSize, c.nonce, ops, p, await base.getPage(p));
          else {
            run ??= new Uint8Array(perRun * ops);
            await base.readRun(p, m, run);
            for (let j = 0; j < m; j++) putJournalRecord(recs, (k + j) * recSize, c.nonce, ops, p + j, run.subarray(j * ops, (j + 1) * ops));
          }
          k += m;
        }
        await st.write('journal', sector + i * recSize, recs.subarray(0, n * recSize));
        i += n;
      }
      if (sync) await st.sync('journal');
      await st.write('journal', 0, encodeJournalHeader(nRec, c.nonce, origCount, sector, ops).subarray(0, JOURNAL_HEADER_FIELDS));
      if (sync) await st.sync('journal');
    } catch (e) {
      // Nothing reached the database: the journal is of no use, and left behind it would look
      // hot. (A spilled transaction's journal stays: its rollback needs it.)
      if (!txn.spill) await this.finishJournal().catch(() => undefined);
      throw e;
    }

    try {
      await writeDbRuns(st, c.pageSize, c.runs);
      const end = c.pageCount * c.pageSize;
      if (c.fileEnd > end) await st.truncate('db', end);
      if (sync) await st.sync('db');
    } catch (e) {
      // The database may be half-written: put it back from the journal now (and remove the
      // journal), as the next connection would; if even that fails, the hot journal stays
      // for recovery.
      await this.rollbackHotJournal().catch(() => undefined);
      throw e;
    }
    await this.finishJournal();
  }

  private async finishJournal(): Promise<void> {
    const st = this.storage;
    switch (this.options.journalMode) {
      case 'delete':
        await st.delete('journal');
        break;
      case 'truncate':
        await st.truncate('journal', 0);
        if (this.options.synchronous !== 'off') await st.sync('journal');
        break;
      case 'persist':
        await st.write('journal', 0, new Uint8Array(28));
        if (this.options.synchronous !== 'off') await st.sync('journal');
        break;
    }
  }

  private async commitWal(txn: WriteTxn, dirty: Array<[number, Uint8Array]>, pageCount: number): Promise<void> {
    const st = this.storage;
    const ps = txn.pageSize;
    const idx = this.view.wal;
    const log = txn.spill?.wal ?? (await this.walAppendPoint(ps, true));
    // A commit must carry at least one frame (SQLite writes page 1 when nothing else).
    await this.appendFrames(log, dirty.length ? dirty : [[1, await txn.getPage(1)]], pageCount);
    if (this.options.synchronous === 'full') await st.sync('wal');
    // The new index: the frames just written (after any spilled ones), without reading them back.
    this.view = { ...this.view, wal: appendCommit(log.start === 1 ? null : idx, log.header, log.start, log.pgnos, pageCount, log.cks) };
  }

  /**
   * Writes `pages` as frames at log.next, a run of up to IO_RUN_BYTES at a time (memory bounded by the
   * run), the last frame marked with `commitSize` when it is not 0. log.cks, log.next and
   * log.pgnos move on with each run once it is written; `written` hears each page's frame.
   */
  private async appendFrames(
    log: WalAppend,
    pages: ReadonlyArray<readonly [number, Uint8Array]>,
    commitSize: number,
    written?: (pgno: number, frame: number) => void,
  ): Promise<void> {
    const ps = log.header.pageSize;
    const perRun = Math.max(1, Math.floor(IO_RUN_BYTES / (WAL_FRAME_HEADER_SIZE + ps)));
    for (let i = 0; i < pages.length; i += perRun) {
      const run = pages.slice(i, i + perRun);
      const cks = log.cks.slice();
      const bytes = encodeFrames(log.header, cks, run, i + perRun >= pages.length ? commitSize : 0, this.frameScratch);
      await this.storage.write('wal', frameOffset(ps, log.next), bytes);
      log.cks.set(cks);
      for (const [p] of run) {
        written?.(p, log.next);
        log.pgnos.push(p);
        log.next++;
      }
    }
  }

  /**
   * Where the next transaction's frames go: after the last commit, or from frame 1 of a
   * restarted log (new salts) when a checkpoint emptied it and no snapshot can still read it.
   * A restart writes the new WAL header. A spill never restarts a log that has frames: the
   * transaction's own snapshot still reads them until its commit.
   */
  private async walAppendPoint(ps: number, mayRestart: boolean): Promise<WalAppend> {
    let idx = this.view.wal;
    if (idx && idx.pageSize !== ps) idx = null;
    const cks = new Uint32Array(2);
    if (idx && !(mayRestart && this.mayRestartWal(idx))) {
      cks.set(idx.checksum);
      return { header: idx.header, cks, start: idx.mxFrame + 1, next: idx.mxFrame + 1, pgnos: [] };
    }
    const prev = idx?.header;
    const header: WalHeader = {
      bigEndianChecksum: false,
      pageSize: ps,
      checkpointSeq: prev ? (prev.checkpointSeq + 1) >>> 0 : 0,
      salt1: prev ? (prev.salt1 + 1) >>> 0 : (Math.random() * 0x100000000) >>> 0,
      salt2: (Math.random() * 0x100000000) >>> 0,
      checksum1: 0,
      checksum2: 0,
    };
    await this.storage.write('wal', 0, encodeWalHeader(header));
    cks[0] = header.checksum1;
    cks[1] = header.checksum2;
    this.shared.walCheckpointed = null;
    return { header, cks, start: 1, next: 1, pgnos: [] };
  }

  /** @internal Changed pages a transaction holds in memory before it spills (note 8). */
  spillPages(pageSize: number): number {
    const bytes = this.options.spillBytes;
    if (this.storage.inMemory || bytes === Infinity) return Infinity;
    return Math.max(16, Math.floor(bytes / pageSize));
  }

  /**
   * A cache spill (note 8): writes some of `txn`'s changed pages to the file and drops them
   * from memory. Called by WriteTxn.maybeSpill at a safe point. Returns how many it wrote.
   */
  async spillTxn(txn: WriteTxn): Promise<number> {
    const st = this.storage;
    const ps = txn.pageSize;
    const base = txn.base.view.pageCount;
    const wal = this.mode === 'wal';
    const pages: Array<[number, Uint8Array]> = [];
    // Pages written since the last spill stay (they are likely to be written again: the
    // paths the inserts go down), but no more than half a spill's worth or 4 MiB, the first
    // written (a path's interior pages come first): inserts in random order into an index
    // write most of its leaves between spills, and keeping them all kept the index in memory
    // (an import of 1M rows into a table with an index peaked at 266 MB).
    const recent = txn.takeRecent();
    const keep = new Set<number>();
    let room = Math.max(Math.floor(this.spillPages(ps) / 2), Math.floor((4 << 20) / ps));
    for (const p of recent) {
      if (room-- <= 0) break;
      keep.add(p);
    }
    for (const [p, img] of txn.dirtyPages()) {
      if (p > txn.pageCount || p === 1 || keep.has(p)) continue;
      if (wal || p > base) pages.push([p, img]);
    }
    if (pages.length === 0) return 0;
    pages.sort((a, b) => a[0] - b[0]);
    const sync = this.options.synchronous;
    let spill = txn.spill;
    try {
      if (wal) {
        if (!spill) txn.spill = spill = { pages: new SpilledPages(ps, true), nonce: 0, journaled: false, dbEnd: 0, wal: await this.walAppendPoint(ps, false) };
        const spilled = spill.pages;
        await this.appendFrames(spill.wal!, pages, 0, (p, frame) => spilled.set(p, frameOffset(ps, frame) + WAL_FRAME_HEADER_SIZE));
      } else {
        if (!spill) {
          // From here the transaction's rollback goes through unspill (which ends the spill).
          const nonce = (Math.random() * 0x100000000) >>> 0;
          this.shared.spillBase = txn.base.view.dbFileSize;
          txn.spill = spill = { pages: new SpilledPages(ps, false), nonce, journaled: false, dbEnd: txn.base.view.dbFileSize, wal: null };
        }
        if (!spill.journaled) {
          // The journal header first, synced: from here a crash leaves a hot journal whose
          // playback truncates the file to its original page count.
          await st.write('journal', 0, encodeJournalHeader(0, spill.nonce, base, JOURNAL_SECTOR_SIZE, ps));
          if (sync !== 'off') await st.sync('journal');
          spill.journaled = true;
        }
        await writeDbRuns(st, ps, coalesceRuns(ps, pages, this.runScratch));
        for (const [p] of pages) {
          spill.pages.set(p, (p - 1) * ps);
          spill.dbEnd = Math.max(spill.dbEnd, p * ps);
        }
      }
    } catch (e) {
      throw ioerr(`writing part of a large transaction to ${this.label}`, e);
    }
    const cachePages = Math.max(16, Math.floor(this.options.cacheBytes / ps));
    for (const [p, img] of pages) txn.markSpilled(p, img, cachePages);
    return pages.length;
  }

  /** @internal A spilled page's image, read back from the file (a fresh buffer). */
  async readSpilled(txn: WriteTxn, offset: number): Promise<Uint8Array> {
    const kind = txn.spill?.wal ? 'wal' : 'db';
    try {
      const st = this.storage;
      if (st.readInto) {
        // Straight into the page's own buffer (one allocation; the rest of a short read is zeros).
        const img = new Uint8Array(txn.pageSize);
        await st.readInto(kind, offset, img);
        return img;
      }
      const img = await readExactly(st, kind, offset, txn.pageSize);
      return img.slice();
    } catch (e) {
      throw ioerr(`reading back a spilled page of ${this.label}`, e);
    }
  }

  /**
   * Before a commit that follows a rollback-mode spill: the journal must still be this
   * transaction's. (Another process that found it, no lock being held, may have rolled it
   * back, truncating the spilled pages away; committing then would corrupt the file.)
   */
  private async checkSpillIntact(txn: WriteTxn): Promise<void> {
    const spill = txn.spill;
    if (!spill || spill.wal || !spill.journaled) return;
    let head: Uint8Array;
    let size: number;
    try {
      head = await this.storage.read('journal', 0, JOURNAL_HEADER_FIELDS);
      size = await this.storage.size('db');
    } catch (e) {
      throw ioerr(`reading ${this.label}-journal`, e);
    }
    if (head.length < JOURNAL_HEADER_FIELDS || !hasJournalMagic(head) || get32(head, 12) !== spill.nonce || size < spill.dbEnd) {
      throw new QuireError(
        ErrorCode.BUSY,
        `${this.label}: another connection rolled back this transaction's journal while it was open (quire takes no file locks); the transaction is lost`,
      );
    }
  }

  /**
   * Undoes a spill when its transaction rolls back: rollback mode truncates the file to its
   * original size (synced) and then ends the journal; WAL frames without a commit are left to
   * be overwritten.
   */
  async unspill(txn: WriteTxn): Promise<void> {
    const spill = txn.spill;
    if (!spill) return;
    try {
      if (!spill.wal) {
        await this.storage.truncate('db', txn.base.view.dbFileSize);
        if (this.options.synchronous !== 'off') await this.storage.sync('db');
        await this.finishJournal();
      }
    } catch (e) {
      this.stamp = null;
      throw ioerr(`rolling back a large transaction on ${this.label} (its journal will be rolled back when the file is next opened for writing)`, e);
    } finally {
      this.endSpill();
    }
  }

  /** @internal The transaction that spilled has ended: its journal is no longer this process's own. */
  endSpill(): void {
    this.shared.spillBase = null;
  }

  /**
   * Replaces the whole database with `pageCount` pages of `pageSize` bytes read from
   * `readRun` (called for ascending runs of pages), atomically, with memory bounded by the
   * run size: the backup destination's commit. Rollback mode is the commit of every other
   * transaction (commitJournaled), the entire old content journaled (with the old page size,
   * so SQLite's playback restores it); WAL mode appends every page as
   * frames, the last a commit frame — READONLY if the page size would change, as SQLite's
   * backup does for WAL destinations. Fails BUSY when another snapshot is open on the file.
   * `fixPage1` may adjust page 1 before it is written. The bytes `readRun` returns are
   * written before it is called again: it may fill one buffer each time.
   */
  async replaceAll(...args: Parameters<WriteTxn['replaceAll']>): Promise<void> {
    const txn = await this.beginWrite();
    await txn.replaceAll(...args);
  }

  /** @internal The body of WriteTxn.replaceAll (the txn ends with it, committed or not). */
  async replaceAllIn(
    txn: WriteTxn,
    pageSize: number,
    pageCount: number,
    readRun: (first: Pgno, count: number) => Promise<Uint8Array>,
    fixPage1?: (page1: Uint8Array, old: DbHeader | null) => void,
  ): Promise<void> {
    try {
      if (this.otherSnapshotsOpen()) {
        throw new QuireError(ErrorCode.BUSY, `destination database ${this.label} is in use (a read is open on it)`);
      }
      const v = txn.base.view;
      const oldPs = v.pageSize;
      const wal = this.mode === 'wal';
      if (wal && v.pageCount > 0 && oldPs !== pageSize) {
        throw new QuireError(
          ErrorCode.READONLY,
          `${this.label}: cannot change the page size of a WAL database from ${oldPs} to ${pageSize}`,
        );
      }
      const st = this.storage;
      const oldHeader = v.header;
      const runPages = Math.max(1, Math.floor(IO_RUN_BYTES / pageSize));
      // The new content, a run at a time, page 1 adjusted by fixPage1.
      async function* runs(): AsyncGenerator<PageRun> {
        for (let first = 1; first <= pageCount; first += runPages) {
          const count = Math.min(runPages, pageCount - first + 1);
          const bytes = await readRun(first, count);
          if (bytes.length !== count * pageSize) throw new QuireError(ErrorCode.IOERR, `backup source run at page ${first} came back short`);
          if (first === 1 && fixPage1) fixPage1(bytes.subarray(0, pageSize), oldHeader);
          yield { first, bytes };
        }
      }
      await this.committing(`replacing the contents of ${this.label}`, async () => {
        if (wal) {
          const log = await this.walAppendPoint(pageSize, true);
          for await (const { first, bytes } of runs()) {
            const count = bytes.length / pageSize;
            const pages: Array<[number, Uint8Array]> = [];
            for (let k = 0; k < count; k++) pages.push([first + k, bytes.subarray(k * pageSize, (k + 1) * pageSize)]);
            await this.appendFrames(log, pages, first + count > pageCount ? pageCount : 0);
          }
          if (this.options.synchronous === 'full') await st.sync('wal');
          const scan = await scanWal(st, log.start === 1 ? null : v.wal);
          if (!scan.index || scan.index.mxFrame !== log.next - 1) {
            throw new QuireError(ErrorCode.IOERR, `${this.label}-wal: the frames just written do not read back`);
          }
          this.view = { ...this.view, wal: scan.index };
        } else {
          await this.commitJournaled(txn, {
            nonce: (Math.random() * 0x100000000) >>> 0,
            journaled: 'all',
            pageSize,
            pageCount,
            runs: runs(),
            fileEnd: Math.max(v.dbFileSize, await this.storage.size('db')),
          });
        }
      });
      this.stamp = null;
      this.cache.clear();
      this.gen++;
      for (const other of this.shared.pagers) if (other !== this) other.invalidate();
    } finally {
      await txn.rollback();
    }
    // Everything changed: listeners hear it as a commit of every page (read back lazily).
    await this.refresh();
    if (this.shared.listeners.size > 0) {
      const snap = await this.read();
      try {
        const pages = new Map<number, Uint8Array>();
        for (let p = 1; p <= snap.pageCount; p++) pages.set(p, await snap.getPage(p));
        const info: CommitInfo = { pages, pageCount: snap.pageCount, previousPageCount: 0, mode: this.mode, spilled: [] };
        for (const l of [...this.shared.listeners]) {
          try {
            l(info);
          } catch {
            // ignore
          }
        }
      } finally {
        snap.release();
      }
    }
    if (this.mode === 'wal') await this.maybeCheckpoint(false);
  }

  /**
   * Copies every page in the WAL into the database file and restarts the log (a TRUNCATE
   * checkpoint when `truncate`). Done only when no other snapshot and no write transaction
   * of this process is open on the file. Returns false when it was not possible now.
   */
  async checkpoint(truncate = false): Promise<boolean> {
    this.checkOpen();
    if (this.readOnly) throw new QuireError(ErrorCode.READONLY, `${this.label} is opened read-only`);
    // Not under an open write transaction of this process (it may have frames in the log
    // already: a spill), nor under a snapshot other than a transaction's base.
    if (this.shared.writing) return false;
    return this.maybeCheckpoint(true, truncate);
  }

  private async maybeCheckpoint(force: boolean, truncate = false): Promise<boolean> {
    const idx = this.view.wal;
    if (!idx || idx.mxFrame === 0) return true;
    if (!force && (this.options.walAutoCheckpoint === 0 || idx.mxFrame < this.options.walAutoCheckpoint)) return true;
    if (this.otherSnapshotsOpen()) return false;
    // Never under another connection (note 5): its snapshot may still need the log, and a
    // log truncated or deleted under it is a corrupt database to it.
    if (await this.othersMayUseWal()) return false;
    const st = this.storage;
    const ps = idx.pageSize;
    const pages = idx.pages().filter((p) => p <= idx.dbSize).sort((a, b) => a - b);
    try {
      if (this.options.synchronous !== 'off') await st.sync('wal');
      for (const p of pages) {
        const data = await readFrame(st, ps, idx.frameFor(p));
        await st.write('db', (p - 1) * ps, data);
      }
      const size = await st.size('db');
      if (size > idx.dbSize * ps) await st.truncate('db', idx.dbSize * ps);
      if (this.options.synchronous !== 'off') await st.sync('db');
      if (truncate) {
        await st.truncate('wal', 0);
        if (this.options.synchronous !== 'off') await st.sync('wal');
      }
    } catch (e) {
      throw ioerr(`checkpointing ${this.label}`, e);
    }
    this.shared.walCheckpointed = truncate ? null : { salt1: idx.header.salt1, salt2: idx.header.salt2, mxFrame: idx.mxFrame };
    if (truncate) this.view = { ...this.view, wal: null, dbFileSize: idx.dbSize * ps };
    else this.view = { ...this.view, dbFileSize: idx.dbSize * ps };
    this.stamp = null;
    for (const other of this.shared.pagers) if (other !== this) other.invalidate();
    return true;
  }

  /**
   * True when another connection may have the WAL open: a lock on the db or -shm, or, where
   * locks cannot be seen, a -shm file.
   */
  private async othersMayUseWal(): Promise<boolean> {
    const conflict = await this.lockConflict();
    if (conflict !== null) return conflict !== '';
    try {
      return await this.storage.exists('shm');
    } catch (e) {
      throw ioerr(`reading ${this.label}-shm`, e);
    }
  }

  /** Drops the cache; the next read re-examines the file. */
  invalidate(): void {
    this.stamp = null;
  }

  /** True when the log may start over from frame 1 (see SharedFile.walCheckpointed). */
  private mayRestartWal(idx: WalIndex): boolean {
    const c = this.shared.walCheckpointed;
    return (
      c !== null &&
      c.salt1 === idx.header.salt1 &&
      c.salt2 === idx.header.salt2 &&
      c.mxFrame === idx.mxFrame &&
      !this.otherSnapshotsOpen()
    );
  }

  /** True when a snapshot other than the open transaction's base exists on this file. */
  private otherSnapshotsOpen(): boolean {
    if (this.shared.pins > 0) return true;
    for (const p of this.shared.pagers) {
      for (const s of p.snapshots) if (s !== p.txn?.base) return true;
    }
    return false;
  }

  private async preserveForSnapshots(changed: Set<number>, except: Snapshot): Promise<void> {
    for (const pager of this.shared.pagers) {
      for (const s of pager.snapshots) {
        if (s === except) continue;
        for (const p of changed) {
          if (p > s.pageCount || s.hasPreserved(p)) continue;
          s.preserve(p, await s.getPage(p));
        }
      }
    }
  }

  /**
   * Closes the pager. A writable pager checkpoints its WAL (and truncates it) when no other
   * quire connection has the file open. Open snapshots become unusable.
   */
  async close(): Promise<void> {
    if (this.state === 'CLOSED') return;
    if (this.txn) await this.txn.rollback();
    for (const s of [...this.snapshots]) s.release();
    if (!this.readOnly && this.view.wal && this.shared.pagers.size === 1 && (await this.maybeCheckpoint(true, true))) {
      try {
        await this.storage.delete('wal');
      } catch (e) {
        throw ioerr(`removing ${this.label}-wal`, e);
      }
    }
    this.state = 'CLOSED';
    this.shared.pagers.delete(this);
    if (this.shared.pagers.size === 0 && this.shared.listeners.size === 0 && this.shared.pins === 0) registry.delete(this.storage.id);
  }

  /** Registers a listener for commits by any quire pager on this file (see CommitInfo). */
  onCommit(listener: CommitListener): () => void {
    return onFileCommit(this.storage.id, listener);
  }
}

/**
 * Runs of consecutive pages of `pages` (ascending), each up to IO_RUN_BYTES, assembled in
 * `scratch` (reused across runs and calls: a storage copies what it is given, storage.ts rule
 * 7; fresh buffers would cost a page fault per 4 KiB written). A run is valid until the next.
 */
function* coalesceRuns(ps: number, pages: ReadonlyArray<readonly [number, Uint8Array]>, scratch: { buf: Uint8Array | null }): Generator<PageRun> {
  const maxRun = Math.max(1, Math.floor(IO_RUN_BYTES / ps));
  let i = 0;
  while (i < pages.length) {
    let j = i + 1;
    while (j < pages.length && pages[j][0] === pages[j - 1][0] + 1 && j - i < maxRun) j++;
    if (j - i === 1) yield { first: pages[i][0], bytes: pages[i][1] };
    else {
      if (scratch.buf === null || scratch.buf.length < maxRun * ps) scratch.buf = new Uint8Array(maxRun * ps);
      const buf = scratch.buf.subarray(0, (j - i) * ps);
      for (let k = i; k < j; k++) buf.set(pages[k][1], (k - i) * ps);
      yield { first: pages[i][0], bytes: buf };
    }
    i = j;
  }
}

/**
 * Writes runs of pages to the db file, one write a run, in the order given. The lock-byte page
 * (the page holding byte offset 2^30, where SQLite's file locks live) is never written: a run
 * across it is written as the part before and the part after.
 */
/**
 * @internal Fills `dest` with the bytes of `kind` from `offset`, zeros past the end of the file
 * (as a page beyond the end reads), into `dest` itself where the storage can (readInto).
 */
export async function readFilled(st: Storage, kind: FileKind, offset: number, dest: Uint8Array): Promise<void> {
  let n: number;
  if (st.readInto) n = await st.readInto(kind, offset, dest);
  else {
    const b = await st.read(kind, offset, dest.length);
    n = Math.min(b.length, dest.length);
    dest.set(b.subarray(0, n));
  }
  if (n < dest.length) dest.fill(0, n);
}

async function writeDbRuns(st: Storage, ps: number, runs: Iterable<PageRun> | AsyncIterable<PageRun>): Promise<void> {
  const lockByte = lockBytePageFor(ps);
  for await (const { first, bytes } of runs) {
    const at = lockByte - first;
    if (at < 0 || at * ps >= bytes.length) {
      await st.write('db', (first - 1) * ps, bytes);
      continue;
    }
    if (at > 0) await st.write('db', (first - 1) * ps, bytes.subarray(0, at * ps));
    if ((at + 1) * ps < bytes.length) await st.write('db', lockByte * ps, bytes.subarray((at + 1) * ps));
  }
}

/**
 * A read snapshot: a PageSource over one committed state. Cheap to create; release it.
 */
export class Snapshot implements PageSource {
  readonly pager: Pager;
  readonly gen: number;
  /** @internal */
  readonly view: View;
  readonly pageCount: number;
  readonly pageSize: number;
  readonly usableSize: number;
  readonly encoding: Encoding;
  readonly autoVacuum: boolean;
  readonly header: DbHeader | null;
  /** WAL frames beyond this are not part of the snapshot. */
  readonly walLimit: number;
  private preserved: Map<number, Uint8Array> | null = null;
  /** Set when the pager moved to a newer generation; reads then bypass the shared cache. */
  private detached = false;
  private released = false;

  constructor(pager: Pager, gen: number, view: View) {
    this.pager = pager;
    this.gen = gen;
    this.view = view;
    this.header = view.header;
    this.pageCount = view.pageCount;
    this.pageSize = view.pageSize;
    this.usableSize = view.header ? view.pageSize - view.header.reservedBytes : view.pageSize;
    this.encoding = view.header?.encoding ?? 1;
    this.autoVacuum = (view.header?.autoVacuumTop ?? 0) !== 0;
    this.walLimit = view.wal?.mxFrame ?? 0;
  }

  page(pgno: Pgno): Uint8Array | Promise<Uint8Array> {
    if (!(pgno >= 1 && pgno <= this.pageCount) || pgno !== Math.floor(pgno)) {
      throw corrupt(pgno, `page number out of range (the database has ${this.pageCount} pages)`);
    }
    if (this.released) throw misuse('snapshot used after release');
    if (this.preserved !== null) {
      const p = this.preserved.get(pgno);
      if (p !== undefined) return p;
    }
    if (!this.detached) {
      const c = this.pager.cached(pgno);
      if (c !== undefined) return c;
    }
    return this.pager.load(this, pgno);
  }

  /** Always-async form of page(). */
  async getPage(pgno: Pgno): Promise<Uint8Array> {
    return this.page(pgno);
  }

  /**
   * Copies the images of pages `first` .. `first + count - 1` into `dest` (at least count ×
   * pageSize bytes) with one read of the file, past the page cache (neither consulted nor
   * filled): for a reader that takes each page once into a buffer of its own.
   */
  async readRun(first: Pgno, count: number, dest: Uint8Array): Promise<void> {
    if (!(first >= 1 && count >= 1 && first + count - 1 <= this.pageCount) || first !== Math.floor(first)) {
      throw corrupt(first, `page run of ${count} out of range (the database has ${this.pageCount} pages)`);
    }
    if (this.released) throw misuse('snapshot used after release');
    if (dest.length < count * this.pageSize) throw misuse(`readRun: a ${dest.length}-byte buffer cannot hold ${count} pages`);
    return this.pager.readRun(this, first, count, dest);
  }

  /** @internal The image preserved for this snapshot (see Pager.preserveForSnapshots), if any. */
  preservedImage(pgno: Pgno): Uint8Array | undefined {
    return this.preserved?.get(pgno);
  }

  /** @internal */
  detach(): void {
    this.detached = true;
  }

  /** @internal */
  hasPreserved(pgno: Pgno): boolean {
    return this.preserved?.has(pgno) ?? false;
  }

  /** @internal */
  preserve(pgno: Pgno, img: Uint8Array): void {
    (this.preserved ??= new Map()).set(pgno, img);
  }

  /** Ends the snapshot. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pager.releaseSnapshot(this);
  }
}

/**
 * A write transaction (SQLite pager states WRITER_LOCKED..WRITER_FINISHED). Dirty pages are
 * private copies until commit; `rollback()` just drops them.
 */
export class WriteTxn implements WritablePageSource {
  readonly pager: Pager;
  readonly base: Snapshot;
  readonly pageSize: number;
  readonly lockBytePage: Pgno;
  pageCount: number;
  /** Bump the change counter even in WAL mode (the copier's destination rule). */
  changeCounterAlways = false;
  /** @internal When it began (nowMs), just after beginWrite looked at the locks. */
  readonly began = nowMs();
  private dirty = new Map<number, Uint8Array>();
  private done = false;
  private readonly finish: () => void;
  /** Open savepoints, innermost last. */
  private savepoints: Savepoint[] = [];
  /**
   * Saved images that the release of an outermost savepoint left unneeded (never handed out
   * by page() or writable()), reused for the next copies, and the emptied record of that
   * savepoint: a statement savepoint per row (src/write.ts) then costs a copy into a spare
   * page per page it changes, not allocations.
   */
  private spares: Uint8Array[] = [];
  private freeSavepoint: Savepoint | null = null;
  private slab: ArrayBuffer | null = null;
  private slabOff = 0;
  /**
   * Pages in the next block: 4, doubling up to 64 KiB (a small transaction stays small; blocks
   * that small come from the allocator's heap, so freed ones are reused without page faults).
   */
  private slabPages = 4;
  /** @internal Pages written to the file ahead of the commit (pager note 8), or null. */
  spill: SpillState | null = null;
  /**
   * Spilled pages kept as clean images (a bounded cache, as SQLite's page cache keeps a
   * spilled page until it needs the room): the next read or write of a hot page — an interior
   * page, the leaf being filled — does not go back to the file.
   */
  private spilledCache: PageCache | null = null;
  /**
   * Pages written since the last spill (when spilling is possible): a spill leaves them in
   * memory, as they are likely to be written again (interior pages, the leaf being filled, the
   * hot spots of random inserts), and writes the others (the second-chance rule).
   */
  private recent: Set<number> | null;
  /** Changed pages held in memory at which the next safe point tries a spill. */
  private spillAt: number;

  constructor(pager: Pager, base: Snapshot, finish: () => void) {
    this.pager = pager;
    this.base = base;
    this.pageSize = base.pageSize;
    this.pageCount = base.pageCount;
    this.lockBytePage = lockBytePageFor(base.pageSize);
    this.finish = finish;
    this.spillAt = pager.spillPages(base.pageSize);
    this.recent = this.spillAt === Infinity ? null : new Set();
  }

  get usableSize(): number {
    const p1 = this.dirty.get(1);
    return p1 ? this.pageSize - p1[20] : this.base.usableSize;
  }

  get encoding(): Encoding {
    const p1 = this.dirty.get(1);
    if (p1) {
      const e = get32(p1, 56) & 3;
      return (e === 0 ? 1 : e) as Encoding;
    }
    return this.base.encoding;
  }

  get autoVacuum(): boolean {
    const p1 = this.dirty.get(1);
    return p1 ? get32(p1, 52) !== 0 : this.base.autoVacuum;
  }

  /** True while neither committed nor rolled back. */
  get active(): boolean {
    return !this.done;
  }

  private check(): void {
    if (this.done) throw misuse('the write transaction has ended');
  }

  page(pgno: Pgno): Uint8Array | Promise<Uint8Array> {
    this.check();
    const d = this.dirty.get(pgno);
    if (d !== undefined) return d;
    if (!(pgno >= 1 && pgno <= this.pageCount) || pgno !== Math.floor(pgno)) {
      throw corrupt(pgno, `page number out of range (the database has ${this.pageCount} pages)`);
    }
    if (this.spill !== null) {
      const at = this.spill.pages.get(pgno);
      if (at !== undefined) {
        const c = this.spilledCache?.get(pgno);
        if (c !== undefined) return c;
        return this.pager.readSpilled(this, at).then((img) => {
          this.spilledCache?.set(pgno, img);
          return img;
        });
      }
    }
    // A page past the original end that was never written reads as zeros: a fresh buffer
    // each time (a shared one would carry whatever a caller wrote into it to every later read).
    if (pgno > this.base.pageCount) return new Uint8Array(this.pageSize);
    return this.base.page(pgno);
  }

  async getPage(pgno: Pgno): Promise<Uint8Array> {
    return this.page(pgno);
  }

  writable(pgno: Pgno): Uint8Array | Promise<Uint8Array> {
    this.check();
    if (this.savepoints.length !== 0) this.saveForSavepoint(pgno);
    if (this.recent !== null) this.recent.add(pgno);
    const d = this.dirty.get(pgno);
    if (d !== undefined) return d;
    if (!(pgno >= 1 && pgno <= this.pageCount) || pgno !== Math.floor(pgno)) {
      throw corrupt(pgno, `page number out of range for writing (the database has ${this.pageCount} pages)`);
    }
    if (this.spill !== null) {
      const at = this.spill.pages.get(pgno);
      if (at !== undefined) {
        // The clean image becomes the dirty one (the same buffer: references stay valid).
        const c = this.spilledCache?.get(pgno);
        this.spilledCache?.delete(pgno);
        if (c !== undefined) return this.adopt(pgno, c);
        return this.pager.readSpilled(this, at).then((img) => {
          this.spilledCache?.delete(pgno);
          return this.adopt(pgno, img);
        });
      }
    }
    if (pgno > this.base.pageCount) {
      const z = this.newPage();
      this.dirty.set(pgno, z);
      return z;
    }
    const src = this.base.page(pgno);
    if (src instanceof Uint8Array) {
      const copy = src.slice();
      this.dirty.set(pgno, copy);
      return copy;
    }
    return src.then((img) => this.adopt(pgno, img.slice()));
  }

  /** Makes `img` (a private copy) page pgno's dirty image, unless an earlier call did. */
  private adopt(pgno: Pgno, img: Uint8Array): Uint8Array {
    const again = this.dirty.get(pgno);
    if (again) return again;
    this.dirty.set(pgno, img);
    return img;
  }

  setPageCount(n: number): void {
    this.check();
    if (!(n >= 0) || n !== Math.floor(n) || n > 0xfffffffe) throw misuse(`invalid page count ${n}`);
    if (n < this.pageCount) {
      for (const p of [...this.dirty.keys()]) {
        if (p > n) {
          if (this.savepoints.length !== 0) this.saveForSavepoint(p);
          this.dirty.delete(p);
        }
      }
      // Spilled images past the new end are gone too (a page that comes back starts zeroed);
      // an open savepoint keeps where they are, for its rollback.
      if (this.spill !== null) {
        const sp = this.savepoints.length !== 0 ? this.savepoints[this.savepoints.length - 1] : null;
        for (const p of [...this.spill.pages.keys()]) {
          if (p > n) {
            if (sp !== null && !sp.unspilled.has(p)) sp.unspilled.set(p, this.spill.pages.get(p)!);
            this.spill.pages.delete(p);
            this.spilledCache?.delete(p);
          }
        }
      }
    }
    if (n > this.pageCount) {
      // Pages that come back after a shrink start zeroed.
      for (let p = Math.max(this.pageCount + 1, 1); p <= Math.min(n, this.base.pageCount); p++) {
        if (!this.dirty.has(p)) {
          if (this.savepoints.length !== 0) this.saveForSavepoint(p);
          this.dirty.set(p, new Uint8Array(this.pageSize));
        }
      }
    }
    this.pageCount = n;
  }

  /**
   * A zeroed page image carved from a block (see slabPages; fewer allocations for bulk growth).
   * Once the transaction has spilled, a page of its own: spilled images leave memory one by
   * one (the spilled-page cache drops them in its order), and one left in a block kept the
   * whole block (an import into an indexed table held 12 MB of blocks for 4 MB of pages).
   */
  private newPage(): Uint8Array {
    const ps = this.pageSize;
    if (this.spill !== null) return new Uint8Array(ps);
    if (this.slab === null || this.slabOff + ps > this.slab.byteLength) {
      this.slab = new ArrayBuffer(ps * this.slabPages);
      this.slabPages = Math.min(this.slabPages * 2, Math.max(1, (1 << 16) / ps));
      this.slabOff = 0;
    }
    const page = new Uint8Array(this.slab, this.slabOff, ps);
    this.slabOff += ps;
    return page;
  }

  private saveForSavepoint(pgno: Pgno): void {
    const sp = this.savepoints[this.savepoints.length - 1];
    if (sp.saved.has(pgno)) return;
    const d = this.dirty.get(pgno);
    if (d === undefined) {
      sp.saved.set(pgno, null);
      return;
    }
    const copy = this.spares.pop() ?? new Uint8Array(d.length);
    copy.set(d);
    sp.saved.set(pgno, copy);
  }

  /**
   * Opens a savepoint (statement or user level) and returns its depth. Until it is released,
   * every page changed is first saved, so `rollbackTo` can restore the transaction to this
   * point. Callers that keep references to page images must drop them after a rollbackTo.
   */
  savepoint(): number {
    this.check();
    const sp = this.freeSavepoint ?? { saved: new Map(), unspilled: new Map(), pageCount: 0 };
    this.freeSavepoint = null;
    sp.pageCount = this.pageCount;
    this.savepoints.push(sp);
    return this.savepoints.length;
  }

  /** Undoes every change made since savepoint `depth` was opened; the savepoint stays open. */
  rollbackTo(depth: number): void {
    this.check();
    if (!(depth >= 1 && depth <= this.savepoints.length)) throw misuse(`no savepoint ${depth}`);
    // Innermost first: a page saved by an inner savepoint was saved in its older state by
    // an outer one only if it was touched before the inner savepoint.
    while (this.savepoints.length > depth) this.restore(this.savepoints.pop()!);
    const sp = this.savepoints[depth - 1];
    this.restore(sp);
    sp.saved = new Map();
    sp.unspilled = new Map();
  }

  /** Keeps the changes made since savepoint `depth` and closes it (and the ones inside it). */
  release(depth: number): void {
    this.check();
    if (!(depth >= 1 && depth <= this.savepoints.length)) throw misuse(`no savepoint ${depth}`);
    while (this.savepoints.length >= depth) {
      const sp = this.savepoints.pop()!;
      const outer = this.savepoints[this.savepoints.length - 1];
      if (outer) {
        for (const [p, img] of sp.saved) if (!outer.saved.has(p)) outer.saved.set(p, img);
        for (const [p, at] of sp.unspilled) if (!outer.unspilled.has(p)) outer.unspilled.set(p, at);
      } else {
        sp.saved.forEach(this.recycle);
      }
      sp.saved.clear();
      sp.unspilled.clear();
      this.freeSavepoint = sp;
    }
  }

  /** Keeps a saved image that no savepoint needs any more as a spare (see spares). */
  private readonly recycle = (img: Uint8Array | null): void => {
    if (img !== null && img.length === this.pageSize && this.spares.length < MAX_SPARES) this.spares.push(img);
  };

  private restore(sp: Savepoint): void {
    for (const [p, img] of sp.saved) {
      if (img === null) this.dirty.delete(p);
      else this.dirty.set(p, img);
    }
    // Nothing spills while a savepoint is open, so the file still holds these images.
    if (this.spill !== null) for (const [p, at] of sp.unspilled) this.spill.pages.set(p, at);
    this.pageCount = sp.pageCount;
  }

  isDirty(pgno: Pgno): boolean {
    return this.dirty.has(pgno);
  }

  /**
   * A safe point (no page image of this transaction is held by the caller across it): when
   * the changed pages held in memory have reached the pager's spill threshold, writes some of
   * them to the file (pager note 8). Returns null when there is nothing to do, so hot loops
   * need not await. Not while a savepoint is open (its rollback restores images in memory).
   * A spill that fails is not the statement's failure (the statement's changes are made, in
   * memory): the pages stay in memory, the next try waits for as many more, and an I/O
   * problem that persists fails the commit.
   */
  maybeSpill(): Promise<void> | null {
    if (this.dirty.size < this.spillAt || this.savepoints.length !== 0 || this.done) return null;
    // The changed pages held stay under the spill size when the spill could bring them below
    // it (it keeps at most half of them), else the next try waits for as many more.
    const next = () => {
      if (this.spill !== null) this.unslab();
      const limit = this.pager.spillPages(this.pageSize);
      this.spillAt = this.dirty.size < limit ? limit : this.dirty.size + limit;
    };
    return this.pager.spillTxn(this).then(next, next);
  }

  /** @internal Pages written since the last spill (taken: the set starts empty again). */
  takeRecent(): ReadonlySet<number> {
    const r = this.recent ?? new Set<number>();
    this.recent = new Set();
    return r;
  }

  /**
   * @internal A spilled page is clean now (the file has it): its image leaves the dirty set
   * for the bounded cache of spilled pages.
   */
  markSpilled(pgno: Pgno, img: Uint8Array, cachePages: number): void {
    this.dirty.delete(pgno);
    (this.spilledCache ??= new PageCache(cachePages)).set(pgno, ownBuffer(img));
  }

  /**
   * After the first spill: the changed pages carved from blocks (newPage) get buffers of their
   * own, so that pages leaving memory one by one free their memory (a page left in a block
   * kept the whole block: an import into an indexed table held 8 MB of blocks for the few
   * hot pages in them). At a safe point: no caller holds a page image across it.
   */
  private unslab(): void {
    if (this.slab === null) return;
    this.slab = null;
    for (const [p, img] of this.dirty) if (img.byteLength !== img.buffer.byteLength) this.dirty.set(p, img.slice());
  }

  /** @internal */
  dirtyPages(): IterableIterator<[number, Uint8Array]> {
    return this.dirty.entries();
  }

  /** Number of pages modified so far. */
  get dirtyCount(): number {
    return this.dirty.size;
  }

  async commit(): Promise<void> {
    this.check();
    try {
      if (this.dirty.size > 0 || this.spill !== null || this.pageCount !== this.base.pageCount) await this.pager.commitTxn(this);
    } finally {
      // A failed commit leaves its journal (or WAL frames without a commit mark) for recovery,
      // as an interrupted one would: from now on this process sees a hot journal too.
      if (this.spill !== null) this.pager.endSpill();
      this.done = true;
      this.dirty = new Map();
      this.spilledCache = null;
      this.spill = null;
      this.finish();
    }
  }

  /**
   * Replaces the entire database content and commits (the backup destination's commit; see
   * Pager.replaceAll). Must be the only thing this transaction does.
   */
  async replaceAll(
    pageSize: number,
    pageCount: number,
    readRun: (first: Pgno, count: number) => Promise<Uint8Array>,
    fixPage1?: (page1: Uint8Array, old: DbHeader | null) => void,
  ): Promise<void> {
    this.check();
    if (this.dirty.size > 0 || this.spill !== null) throw misuse('replaceAll must be the only change in its transaction');
    await this.pager.replaceAllIn(this, pageSize, pageCount, readRun, fixPage1);
  }

  async rollback(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.dirty = new Map();
    this.spilledCache = null;
    try {
      await this.pager.unspill(this);
    } finally {
      this.spill = null;
      this.finish();
    }
  }
}
