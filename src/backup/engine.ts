/**
 * The copy engine: reads a live database page by page without locks and proves that what it
 * copied is one committed state. A page-level peer of the pager, as backup.c is SQLite's.
 *
 * A *pass* copies pages 1..pageCount of the snapshot chosen at its start into a PageSink in
 * large sequential runs. What makes the copy consistent depends on the source's mode:
 *
 * Rollback-journal source (a commit journals and syncs the old pages, writes the database
 * pages in ascending order, page 1 first, then deletes/truncates/zeroes the journal):
 *
 *   start  1. stat the db file (identity, size, mtime, ctime)
 *          2. read page 1 (bytes 24..39: change counter, page count, freelist)
 *          3. no writer mid-transaction (RESERVED or stronger, where Storage.locks shows
 *             locks) and the journal inactive — else wait up to settleMs for the commit to
 *             end and start again at (1), else BUSY ('refuse'); or with 'apply' a journal's
 *             original pages are overlaid on the copy (a crash leftover; never rolled back in
 *             place), and it must still be the same journal at the end
 *   copy   pages in runs; between runs, a moved counter or an active journal gives the pass
 *          up at once (it could not pass (4)/(5)): only a shortcut, the proof is (4)-(6).
 *          Where the storage can hold a journal open and tell file times (Storage.hold:
 *          Node), another process's transactions are followed instead (followJournal): a
 *          journal seen before its transaction wrote the file, whose deletion came after the
 *          file's last write (kernel file times, strictly: a coarse clock tick holding both
 *          gives up), names the pages re-copied (with the freelist leaves its transaction
 *          could reuse unjournaled), and the baseline of (5)/(6) moves to the state it left
 *   end    4. the journal is inactive (or the same applied journal)
 *          5. THEN bytes 24..39 of page 1 are unchanged
 *          6. THEN the stats are unchanged
 *
 *   A commit that finished before (4) moved the counter, seen at (5); one in progress at (4)
 *   has its journal, seen at (4); one starting after (4) wrote nothing we read. A rolled-back
 *   cache spill (pages written then restored, counter unchanged) and journal_mode=OFF/MEMORY
 *   or locking_mode=EXCLUSIVE writers are seen only by the stats at (6) — reported as a
 *   caveat in the result. A failed check ends the pass: the next pass starts over (a re-pass).
 *
 * Re-pass (either mode; repass 'digest', the default). A pass that failed its checks leaves
 * the sink holding some image of every page it reached. The next pass is a whole pass with
 * the same checks at (1)-(6) (WAL: the same scans) and reads every page 1..pageCount again
 * in the same order; it differs only in what it hands the sink: a page the sink already
 * holds byte for byte is not written. Where the sink can read its pages back
 * (PageSink.readBack: the file and database sinks), each run of the source is compared with
 * the sink's bytes for the same pages, read beside it after every queued write to those
 * pages is done: exact. Otherwise a page whose 64-bit digest (src/backup/digest.ts) equals
 * the digest of what this engine wrote at that page number is skipped (up to a digest
 * collision: about 2^-64 per page for data not chosen against the copy's random key, a
 * heuristic bound, see digest.ts); those digests describe the sink: every write after the
 * first pass records its page's digest, and pages of a first pass, which records none,
 * count as unknown (written again). Forensic copies use repass 'full' and write every page
 * again. So at the end of a re-pass the sink holds, for every page, the bytes this pass read.
 * Writes of a re-pass are queued in order (a later image of a page lands last) and are not
 * waited for by the pass's end checks, which rest on what was read; they are done before the
 * copy is published, before a run reads back one of their pages, and before the page size
 * changes. A rollback-mode pass that meets a commit is still spoiled (a re-pass proves
 * nothing more than a pass): the window it needs is one read of the file (from the page
 * cache, usually) and one of the copy beside it, plus the comparison, not a write of it.
 * Measured (121 MB, 2 shared cores, load 7): 100-120 ms per read of the file; a writer
 * committing every 40 ms leaves no such window under load.
 *
 * WAL source (the db file changes only by checkpoints, which copy committed frames back):
 *
 *   start  scan the WAL (header, salts, cumulative checksums) → mxFrame, dbSize; the snapshot
 *          is the db file overlaid with the newest frame ≤ mxFrame of each page. Every scan
 *          (this one, the follower's, the end check's, a bridge's) is capped (below).
 *   cap    (src/backup/wal-cap.ts) A writer killed after its commit frame reached the log and
 *          before it published the -shm header leaves a valid commit (a *phantom*) that no
 *          reader sees while another connection keeps the -shm, and that the next writer
 *          overwrites (it appends at the header's mxFrame); read as recovery reads the log, it
 *          would count as committed. So a scan is preceded by a read of the -shm header (valid: both
 *          copies, checksum; the -shm now at the path) and, when the scan reaches past the
 *          header's mxFrame X in the header's log (same salts), cut back to X if: X is a
 *          commit frame of the scan (or 0) not before the snapshot's mxFrame in the same log;
 *          frame X's header, read again, holds the log's salts, the scanned page and size and
 *          the header's aFrameCksum; some connection holds the -shm's DMS byte (any process,
 *          this one included: quire takes no lock), or the storage cannot tell (no
 *          Storage.locks, or locks() null: other runtimes, Node off Linux), which counts as
 *          held; and the header read once more after that
 *          look is unchanged. A header of the restart that follows the scanned log (salt-1 + 1,
 *          mxFrame 0: walRestartHdr ran, the WAL file not rewritten yet) counts as one of the
 *          scanned log at the commit frame holding its aFrameCksum (the old log's last published
 *          commit; a restart needs it backfilled, so readers see exactly that state). A -shm
 *          header whose two copies differ (read while a writer publishes) is read again, as
 *          SQLite's readers do, not taken as "no header". Frames ≤ X were published before
 *          the scan, so they stay as the scan read them until the next restart; frames past X
 *          were then a commit in progress or a phantom: not a committed state while the -shm
 *          is held, as readers see exactly the header. A capped snapshot is the state readers
 *          saw at the header read; a commit published later is found by the next rescan as a
 *          move, since a db-file read ended before that rescan's header read, which covers
 *          every commit published (hence every frame a checkpoint could copy back) before it.
 *          Frames past
 *          the cap that the next writer overwrites were never in the snapshot (readFrameChecked
 *          reads frames ≤ mxFrame only): nothing torn. Nobody holding the -shm: the next
 *          opener runs recovery, which does commit the phantom, so the scan is taken whole
 *          (as without the cap); when the holder leaves or crashes mid-copy the next rescan
 *          thus moves the snapshot over the phantom, and if a new connection recovers first,
 *          its header includes it. A header that moved between the two reads starts the
 *          round again (up to 3 times: the look then proves a holder since the first read,
 *          as one that opened the -shm meanwhile would have run recovery, rewriting the
 *          header); the last round caps regardless, which costs at most freshness (a phantom
 *          a concurrent recovery just committed, found by the next rescan), never
 *          consistency: any header read after the last db-file read and before the scan is
 *          a committed state covering every commit published before it. Counting "cannot tell"
 *          as held costs, where a crashed writer's phantom lies past a -shm nobody holds, the
 *          phantom's commit (the copy is the last published state, one readers saw); taking
 *          the scan whole there instead gave a mixed copy once the next writer overwrote the
 *          phantom during the copy (later scans extend from the phantom's end with its
 *          checksum and find nothing, while its frames hold the new commit's bytes). No -shm
 *          at all (a storage without one): the scan is taken whole. The cut index keeps the frame table it
 *          shares with the snapshot, cut back in place (so the next scan extends it from
 *          X + 1), and its checksum is the header's aFrameCksum: an anchor taken on it
 *          (below) describes the capped snapshot. Cost: a scan that finds no new commit
 *          reads no -shm; one that does reads the header after it (a stat and 136 bytes) and
 *          is taken as it is when that header has published through its last commit with
 *          the scan's cumulative checksum there (the header's, or frame mxFrame's header read
 *          again: a phantom the scan read and a later commit overwrote would change it);
 *          only otherwise (a commit in progress or a phantom past the header: 24 of 2519
 *          scans in a checkpoint storm) the capped rounds above run, from the previous
 *          snapshot, with the lock look. One more place a phantom could enter: a reset
 *          bridged through the old log's tail while the new log has no (published) commit
 *          takes the tail's last commit's size as the db file's; where a -shm exists, that
 *          commit must be the one the restart's -shm header names (walRestartHdr keeps the old
 *          log's last published checksum: tailPublished), else the trail is lost (a re-pass):
 *          a tail may run on into a phantom.
 *   copy   runs from the db file, patched with frames (each frame's header must still carry the
 *          salts of the snapshot it was looked up in, and its page number, when read again
 *          after the frame: SQLite overwrites a frame's header, then its data, and one read may
 *          return the old header with new data). A db-file read (a run, or a re-copied page) is
 *          patched from the snapshot S current when it began, never a newer one: a page with a
 *          frame ≤ S's mxFrame takes that frame; one without held, in the db file, S's image or
 *          one a checkpoint wrote from a later commit, which the move or bridge that finds that
 *          commit re-copies (the kernel's file copy re-copies every page of S's log
 *          afterwards). A newer snapshot would not do: after a reset, a page whose last change
 *          lived only in the old log has no frame in the new one, and its db-file image, read
 *          before the checkpoint wrote that change, would stand stale.
 *          The WAL is rescanned from mxFrame ("following" it) after every run and, during a
 *          step, every FOLLOW_MS by a background follower while the copy waits on a read, a
 *          write or the kernel's file copy (one scan at a time), which moves the snapshot
 *          forward; where reads are synchronous (Node) its timer cannot fire during a run,
 *          so the copy loop rescans itself every 64 pages it patches or compares once
 *          FOLLOW_MS passed, and runs are at most 1 MiB while the log is followed. A page
 *          counts as reached from the moment its run (or the file copy) begins, so a move
 *          seen while it is read re-copies it; a db-file read counts as
 *          "since" a scan when it began or ended after that scan began. A frame found
 *          overwritten after the snapshot already moved to a newer log is re-copied from the
 *          newer one:
 *   move   same salts, new commits → the frames in (mxFrame, newMx] name exactly the pages
 *          that changed. A checkpoint can only have backfilled committed frames, and every
 *          frame committed before a db-file read is in the log before the next rescan, so
 *          re-copying those pages (the ones already copied; later ones are read at newMx
 *          anyway) and taking newMx as the snapshot keeps the copy one committed state.
 *   reset  new salts (a checkpoint completed and the log restarted, so the db file holds
 *          the old generation's last commit): the old generation's tail beyond mxFrame is
 *          read while it survives (scanTail). If it provably ended there — it stops at
 *          stale or torn bytes, not at the new generation's frames, the file was not
 *          truncated, the new generation is the next one (salt-1 + 1) and has not grown to
 *          within a frame of that point — the copy bridges the reset: the tail's pages, the
 *          new generation's pages and any frame that could not be read are re-copied and the
 *          new log is followed. Where the tail is gone (a TRUNCATE checkpoint, or a new log
 *          grown over it), commits are counted instead (counterBridge): SQLite's -shm header
 *          holds iChange, which every commit bumps by one (walFrames) and a restart keeps
 *          (walRestartHdr). An *anchor* is a header read right after a scan that describes
 *          the snapshot exactly (its salts, mxFrame and cumulative checksum there; or the
 *          header of the restart that ended that very log: salt-1 + 1, no frame, the old
 *          log's last checksum; or, for a log with no commit yet, that of the restart that
 *          began it): the commit at mxFrame (or the state before the log) is then number c.
 *          After the reset, a header read before a scan of the new log (salt-1 + 1: one
 *          restart),
 *          whose mxFrame is a commit frame the scan reached (published frames stay as they
 *          are until the next restart, whose new salts would stop the scan), so the scan
 *          holds exactly the j commits published up to it, says the old log's last commit
 *          was number iChange - j (mod 2^32). j counts commit frames less those that repeat
 *          the frame before them (WalCommit.distinct: with psow=0 and synchronous=FULL,
 *          walFrames pads a commit to a sector with copies of its commit frame, and bumps
 *          iChange once); a j too low only fails to match. If iChange - j is c, nothing after
 *          the snapshot reached the old log: the reset is bridged as one whose tail was empty
 *          (the new log's pages and unreadable frames are re-copied). iChange counts only
 *          while the -shm is not rebuilt: recovery (walIndexRecover) restarts it at 0, so c
 *          commits after a recovery repeat the count c. A recovery runs when the first
 *          connection after all others ended (a crash; or a clean close with a persistent
 *          WAL) truncates the -shm, or on a new -shm: so the anchor keeps the -shm's stat,
 *          taken before its header read, and is *firm* only when the stat's status-change
 *          time lay SHM_SETTLED_MS (more than a clock tick) behind the clock; the bridge
 *          needs a firm anchor and the same stat after its own header read. (A first write
 *          to a mapped -shm page after the kernel wrote it back also moves its times: a
 *          re-pass then, never a wrong bridge. Not covered: a header torn by a writer killed
 *          between writing its two copies, which the next connection rebuilds by recovery
 *          without touching the file's stat; a window of a few instructions per commit.)
 *          A scan that falls short of the header is made again (a few times; a truncated
 *          log with no commit yet is waited for up to COUNTER_WAIT_MS). No -shm, no firm
 *          anchor at the snapshot, a changed stat, or counts that differ: the trail is lost
 *          (commits after mxFrame may have reached the db file unseen) and a digest re-pass
 *          begins (counted in `repasses`, not `restarts`), which reads every page again and
 *          writes those that differ from the copy.
 *   end    when every page is copied: a last rescan. Same salts → consistent (at mxFrame, or
 *          after a move if db-file pages were read since the previous rescan).
 *          With no WAL at the start, a WAL that appears is followed from frame 1 as long as
 *          the db file's stats did not change (no checkpoint ran); else start over
 *          (a re-pass, above).
 *
 * Writes through quire in this process arrive via the pager's commit hook with their new
 * images; they are applied to the copy (so a progress callback that writes to the source is
 * held by the copy) and the rollback-mode baseline moves with them.
 *
 * -shm is never needed for correctness and never written: a copy without it re-passes where
 * the counter would have bridged. It is read (validated: both header copies equal, their
 * checksum) by counterBridge above, and as a hint by `quire info` and the forensic manifest
 * (src/forensic.ts).
 */
import { ErrorCode, QuireError, corrupt, ioerr } from '../../pager/errors.js';
import { get32, sameBytes } from '../../pager/bytes.js';
import { HEADER_SIZE, parseHeader, type DbHeader } from '../../pager/header.js';
import { journalPages, journalState, readHotJournal, type HotJournal } from '../../pager/journal.js';
import { commitInFlight, onFileCommit, pinFile, type CommitInfo } from '../../pager/pager.js';
import { dbLockLevel, describeLocks, readExactly, type FileStat, type HeldFile, type Storage } from '../../pager/storage.js';
import { WAL_FRAME_HEADER_SIZE, frameOffset, scanTail, type WalIndex } from '../../pager/wal.js';
import { SHM_HEADER_BYTES, frameSealed, scanCapped } from './wal-cap.js';
import { parseShmHeader, type ShmHint } from '../../pager/shm.js';
import { PageDigests } from './digest.js';

export type StepStatus = 'OK' | 'DONE' | 'BUSY';

/** Where copied pages go. Implementations: DatabaseSink (src/backup/sink.ts), the Node file sink. */
export interface PageSink {
  /** Called at the start of every pass with the snapshot's geometry; may refuse (READONLY). */
  begin(pageSize: number, pageCount: number): Promise<void>;
  /** Writes `data` (a whole number of pages) as pages first, first+1, ... */
  write(first: number, data: Uint8Array): Promise<void>;
  /** The snapshot's page count changed; pages above it are not part of the copy. */
  setPageCount(n: number): void;
  /** Publishes the copy atomically. */
  finish(snapshot: SnapshotIdentity): Promise<void>;
  /** Discards the partial copy; the destination stays as it was. */
  abort(): Promise<void>;
  /**
   * True when the sink keeps the arrays passed to write() after the returned promise settles
   * (a stream). Otherwise the engine reuses one read buffer for every run.
   */
  readonly retainsBuffers?: boolean;
  /**
   * Optional: copies the first `pageCount` pages of `source`'s database file into the copy
   * wholesale (e.g. with the OS's file copy), returning false when it cannot. The engine then
   * patches WAL pages over it and runs its usual consistency checks.
   */
  copyFile?(source: Storage, pageCount: number, pageSize: number): Promise<boolean>;
  /**
   * Optional: reads back what the copy holds at pages first, first+1, ... into `into`;
   * returns the bytes read (fewer past the copy's end). Lets the engine learn the digests of
   * a first pass it did not record (a whole-file copy) before it starts a re-pass.
   */
  readBack?(first: number, into: Uint8Array): Promise<number>;
}

/** Which committed state the copy holds, and how that was established. */
export interface SnapshotIdentity {
  mode: 'rollback' | 'wal';
  pageSize: number;
  pageCount: number;
  /** Header of page 1 as copied. */
  header: DbHeader | null;
  /** WAL snapshot: salts, checkpoint sequence and the last commit frame included. */
  wal: { salt1: number; salt2: number; checkpointSeq: number; mxFrame: number } | null;
  /** True when a hot journal's original pages were applied to the copy. */
  journalApplied: boolean;
  /**
   * Rollback mode: true when the source's locks could be seen (Storage.locks, /proc/locks on
   * Linux), so a writer mid-transaction was recognised by its RESERVED lock even before its
   * journal or its pages reached the file; false when only the files could tell.
   */
  lockInfo: boolean;
  /** Full passes started over because the source changed. */
  restarts: number;
  /** WAL mode: digest re-passes begun because a log reset hid commits (not counted as restarts). */
  repasses: number;
  /** Passes begun: the first, and one per restart. */
  passes: number;
  /**
   * Pages written into the copy over every pass and re-copy (the copy itself is pageCount
   * pages; the difference is the work restarts and re-copies cost).
   */
  pagesWritten: number;
  /** Times the snapshot moved forward instead of restarting: WAL commits followed, or (rollback mode) transactions followed through their journals. */
  snapshotMoves: number;
  /** WAL resets (checkpoint + restart) the copy followed without restarting. */
  resetsBridged: number;
  /** Pages re-copied after a move (or from quire's own commits). */
  recopied: number;
  /** What this copy's consistency does not cover. */
  caveats: string[];
}

export interface EngineOptions {
  /** A hot (or live) rollback journal: 'refuse' (BUSY, default) or 'apply' it to the copy. */
  hotJournal?: 'refuse' | 'apply';
  /**
   * Follow the WAL during a pass, re-copying pages that later commits changed (default true).
   * A sink that cannot rewrite pages it already took (a stream) sets false: a WAL pass is then
   * consistent only if the salts held and either no commit happened or no checkpoint wrote
   * the db file (its stats are unchanged).
   */
  follow?: boolean;
  /** Bytes per sequential read. Default 4 MiB. */
  runBytes?: number;
  /**
   * How a pass after the first copies: 'digest' (default) reads every page again but writes
   * only pages whose digest differs from what the sink holds (src/backup/digest.ts); 'full'
   * writes every page again (exact without a digest argument: forensic copies).
   */
  repass?: 'digest' | 'full';
  /**
   * Milliseconds a pass start waits for another process's active rollback journal to end
   * (a commit takes a few milliseconds) before the step returns BUSY. Default 100.
   */
  settleMs?: number;
  /**
   * Byte equality for a compare re-pass (two arrays of the same length), where the runtime has
   * a faster one than a loop in JavaScript (Node: Buffer's memcmp). Default: a 32-bit loop.
   */
  bytesEqual?: (a: Uint8Array, b: Uint8Array) => boolean;
}

/** Default EngineOptions.settleMs. */
const SETTLE_MS = 100;
/** Default EngineOptions.runBytes. */
const RUN_BYTES = 4 << 20;
/** Milliseconds between the background follower's WAL rescans. */
const FOLLOW_MS = 2;
/** Bytes per sequential read while the WAL is followed (see stepPasses). */
const FOLLOW_RUN_BYTES = 1 << 20;
/** Scans of a new log a counter bridge makes before it gives up on a header moving under it. */
const COUNTER_TRIES = 4;
/** Milliseconds a counter bridge waits for the first commit of a truncated log. */
const COUNTER_WAIT_MS = 100;
/**
 * Milliseconds the -shm's status-change time must lie behind the clock for an anchor to be
 * firm: more than a kernel clock tick (file times are coarse), so that a later change of the
 * file cannot leave its time equal.
 */
const SHM_SETTLED_MS = 25;
/** Re-pass writes that may be queued to the sink at once (see queueWrite). */
const WRITE_QUEUE_BYTES = 16 << 20;

interface JournalSig {
  size: number;
  head: string;
}

type PassEnd = 'consistent' | 'moved' | 'restart';

const STAT_CAVEAT =
  'rollback-mode writers with journal_mode=OFF/MEMORY or locking_mode=EXCLUSIVE, and rolled-back cache spills, are detected only by file stats (size, mtime, ctime, inode)';

export class CopyEngine {
  readonly source: Storage;
  readonly sink: PageSink;
  private readonly hotJournalPolicy: 'refuse' | 'apply';
  private readonly runBytes: number;
  private readonly follow: boolean;
  private readonly repass: 'digest' | 'full';
  private readonly bytesEqual: (a: Uint8Array, b: Uint8Array) => boolean;
  private readonly settleMs: number;
  /** What the sink holds, page by page, from the second pass on (repass 'digest'). */
  private digests: PageDigests | null = null;
  /** Re-passes compare with the sink's own bytes (PageSink.readBack) instead of digests. */
  private readonly compare: boolean;
  /** This pass is a re-pass that writes only differing pages (repass 'digest', pass > 1). */
  private repassing = false;
  /** The sink's bytes for the run being compared (compare mode). */
  private backBuf: Uint8Array | null = null;
  /** Pages of the queued writes not yet done, with their count (see readBackRun). */
  private queuedPages = new Map<number, number>();
  /** Why the last WAL reset could not be bridged (for lastReason). */
  private trailLostBy = '';
  /** Why the current pass was given up before its end (rollback mode: the source moved). */
  private spoiled = '';
  /** Pages 1..held of size heldPageSize may be in the sink (written by some pass). */
  private held = 0;
  private heldPageSize = 0;

  private inPass = false;
  private mode: 'rollback' | 'wal' = 'rollback';
  private pageSizeV = 0;
  private pageCountV = 0;
  private next = 1;
  private recopy = new Set<number>();
  private startStat: FileStat | null = null;
  private startHead: Uint8Array | null = null;
  private header: DbHeader | null = null;
  private journal: HotJournal | null = null;
  /** Whether the source's locks could be seen at the start of the pass (rollback mode). */
  private lockInfo = false;
  private journalSig: JournalSig | null = null;
  private wal: WalIndex | null = null;
  private walAtStart = false;
  /**
   * The -shm header's commit counter (iChange) at a snapshot it described exactly, read right
   * after a scan, and the -shm's stat taken just before that read (see counterBridge).
   * `firm`: the stat's status-change time lay more than a clock tick behind the clock, so any
   * later change of the file (a recovery's truncation) gives it another time.
   */
  private anchor: { iChange: number; index: WalIndex; shm: FileStat; firm: boolean } | null = null;
  private trailLost = false;
  /**
   * Counts db-file reads (bumped as each begins and as it ends), so a WAL scan can tell whether
   * a read overlapped or followed the previous scan's start (the scans run beside the reads).
   */
  private dbReads = 0;
  /** dbReads when the previous WAL scan began; -1 forces the next scan to move the snapshot. */
  private readsSeen = 0;
  /** The background WAL follower of this step (WAL mode, follow): its loop, and whether it runs. */
  private follower: Promise<void> | null = null;
  private followerOn = false;
  private followerError: unknown = null;
  private wakeFollower: (() => void) | null = null;
  /** When the last WAL rescan (or journal look) began (Date.now()). */
  private lastScanAt = 0;
  /** Rollback mode: this pass follows commits through their journals (followJournal). */
  private journalFollow = false;
  /** The journal held open while its transaction runs (followJournal). */
  private jWatch: HeldFile | null = null;
  /** Bytes 12..27 of jWatch's first header when it was first seen (see journalStamp). */
  private jWatchStamp: Uint8Array | null = null;
  /** Re-pass writes queued to the sink, in order, while the pass reads on (see queueWrite). */
  private writeChain: Promise<void> = Promise.resolve();
  private queuedBytes = 0;
  private writeError: unknown = null;
  /** WAL scans run one at a time: the follower's and the copy loop's. */
  private scanChain: Promise<unknown> = Promise.resolve();
  /** Pages whose frame could not be read (the log was overwritten): re-read after a bridge. */
  private unresolved = new Set<number>();
  /** Resets bridged without restarting. */
  resetsBridged = 0;
  private hooked = new Map<number, Uint8Array>();
  /** Pages an own commit changed without handing over their images (it spilled them to the file). */
  private hookedSpilled = new Set<number>();
  private runBuf: Uint8Array | null = null;
  private hookedCount: number | null = null;
  private ownCommit = false;
  /** Own commits whose pages wait in `hooked` (rollback mode: each bumped the counter by one). */
  private hookedCommits = 0;
  /** Rollback mode: own commits applied since the baseline (startHead) last moved. */
  private ownSinceBaseline = 0;
  private unsubscribe: (() => void) | null = null;
  private unpin: (() => void) | null = null;
  private isDone = false;
  private publishedV = false;
  private everStepped = false;

  restarts = 0;
  /**
   * WAL mode: passes begun again because a log reset hid commits (a truncated log, or one
   * overwritten before it was read): digest re-passes at once, not counted as restarts.
   */
  repasses = 0;
  snapshotMoves = 0;
  recopied = 0;
  /** Passes begun (the first, and one per restart or re-pass). */
  passes = 0;
  /** When the current pass began (Date.now()). */
  passStartedAt = 0;
  /** Pages handed to the sink, every pass and re-copy included. */
  pagesWritten = 0;
  /** The snapshot identity once DONE. */
  result: SnapshotIdentity | null = null;
  /** Why the last pass started over (for BUSY messages). */
  lastReason = '';

  constructor(source: Storage, sink: PageSink, options: EngineOptions = {}) {
    this.source = source;
    this.sink = sink;
    this.hotJournalPolicy = options.hotJournal ?? 'refuse';
    this.runBytes = options.runBytes ?? RUN_BYTES;
    this.follow = options.follow ?? true;
    this.repass = options.repass ?? (this.follow ? 'digest' : 'full');
    this.bytesEqual = options.bytesEqual ?? sameBytes;
    this.settleMs = options.settleMs ?? SETTLE_MS;
    this.compare = this.repass === 'digest' && typeof sink.readBack === 'function';
    this.unsubscribe = onFileCommit(source.id, (info) => this.onCommit(info));
    this.unpin = pinFile(source.id);
  }

  get done(): boolean {
    return this.isDone;
  }

  /** Pages in the source snapshot (0 before the first successful step). */
  get pageCount(): number {
    return this.everStepped ? this.pageCountV : 0;
  }

  /** Pages still to copy in this pass (0 before the first successful step). */
  get remaining(): number {
    if (!this.everStepped || this.isDone) return 0;
    const left = this.inPass ? Math.max(0, this.pageCountV - this.next + 1) : this.pageCountV;
    return left + this.recopy.size;
  }

  get pageSize(): number {
    return this.pageSizeV;
  }

  /** Releases the commit hook and the WAL pin. */
  release(): void {
    void this.dropWatch();
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.unpin?.();
    this.unpin = null;
  }

  private onCommit(info: CommitInfo): void {
    for (const [p, img] of info.pages) this.hooked.set(p, img);
    for (const p of info.spilled) this.hookedSpilled.add(p);
    this.hookedCount = info.pageCount;
    this.hookedCommits++;
    this.ownCommit = true;
  }

  /**
   * Publishes a copy that is DONE (sink.finish), once; a later call does nothing. A step
   * with `hold` leaves this to the caller, which publishes only after its last progress
   * callback returned.
   */
  async publish(): Promise<void> {
    if (!this.isDone) throw new QuireError(ErrorCode.MISUSE, 'the copy is not complete');
    if (this.publishedV) return;
    await this.flushWrites();
    this.publishedV = true;
    await this.sink.finish(this.result!);
  }

  /** True once the copy was handed to sink.finish. */
  get published(): boolean {
    return this.publishedV;
  }

  /**
   * Copies up to `n` pages (all when n < 0) and returns OK (more to do), DONE (the copy is
   * consistent, and published unless `hold`) or BUSY (the source is being written; the pass
   * starts over).
   */
  async step(n: number, hold = false): Promise<StepStatus> {
    try {
      return await this.stepPasses(n, hold);
    } finally {
      // The queued writes are flushed while the follower still watches the log; not after a
      // compare re-pass that must begin again: the next pass begins at once and waits only for
      // the writes to pages it reads back (the OS may hold writes up for long after a
      // whole-file copy). Those are flushed before the copy is published, and settled before
      // it is abandoned (settleWrites).
      try {
        if (!(this.compare && !this.inPass && !this.isDone)) await this.flushWrites();
      } finally {
        await this.stopFollower();
      }
    }
  }

  /** Waits for the queued writes, ignoring their errors (before the sink is aborted). */
  async settleWrites(): Promise<void> {
    await this.writeChain;
    this.writeError = null;
  }

  private async stepPasses(n: number, hold: boolean): Promise<StepStatus> {
    if (this.isDone) {
      if (!hold) await this.publish();
      return 'DONE';
    }
    let budget = n < 0 ? Infinity : n;
    for (;;) {
      if (!this.inPass) {
        const started = await this.beginPass();
        if (!started) return 'BUSY';
      }
      this.startFollower();
      this.everStepped = true;
      await this.flushHooked();
      for (let k = 1; budget > 0 && this.recopy.size > 0 && !this.trailLost; k++) {
        const p = this.recopy.values().next().value as number;
        this.recopy.delete(p);
        await this.recopyPage(p);
        budget--;
        // Re-copies read synchronously where they can: the log is rescanned from here too.
        if ((k & 31) === 0) await this.keepFollowing();
      }
      if (budget === Infinity && this.next === 1 && this.pageCountV > 0 && !this.journal && !this.repassing && this.sink.copyFile) {
        // The whole pass in one step: let the sink copy the database file itself (a kernel
        // copy where the runtime has one), then patch in the pages the WAL overrides. The
        // checks around the pass are the same as for page-by-page runs.
        // Every page counts as reached while the kernel copies (the follower re-copies what
        // commits change meanwhile), and the snapshot's own frames are patched in afterwards.
        const count = this.pageCountV;
        this.next = count + 1;
        if (this.wal) for (const p of this.wal.pages()) if (p <= count) this.recopy.add(p);
        this.dbReads++;
        const copied = await this.sink.copyFile(this.source, count, this.pageSizeV);
        this.dbReads++;
        if (!copied) {
          this.next = 1;
          this.recopy.clear();
        } else {
          this.pagesWritten += count;
          this.held = Math.max(this.held, count);
          // A scan after the copy: commits checkpointed into the file while it was read.
          if (this.follow && this.mode === 'wal') await this.scanWalSerial();
          for (let k = 1; this.recopy.size > 0 && !this.trailLost; k++) {
            const p = this.recopy.values().next().value as number;
            this.recopy.delete(p);
            await this.recopyPage(p);
            if ((k & 31) === 0) await this.keepFollowing();
          }
        }
      }
      // While the log is followed, runs of at most FOLLOW_RUN_BYTES: a synchronous read holds
      // the follower up for as long as it lasts.
      const runBytes = this.followerOn ? Math.min(this.runBytes, FOLLOW_RUN_BYTES) : this.runBytes;
      const perRun = Math.max(1, Math.floor(runBytes / this.pageSizeV));
      while (budget > 0 && this.next <= this.pageCountV && !this.trailLost && !this.spoiled) {
        const first = this.next;
        const count = Math.min(perRun, budget, this.pageCountV - first + 1);
        // The run's pages count as reached from now on: a commit the follower sees while they
        // are read has them re-copied.
        this.next += count;
        await this.copyRun(first, count);
        budget -= count;
        if (this.next > this.pageCountV) break;
        if ((this.follow && this.mode === 'wal') || this.journalFollow) await this.scanWalSerial();
        else if (this.mode === 'rollback' && this.mayGiveUp()) this.spoiled = await this.movedUnderfoot();
      }
      if (!this.trailLost && !this.spoiled && (this.next <= this.pageCountV || this.recopy.size > 0)) return 'OK';
      // The queued writes are not waited for here: what the pass proves rests on what it read,
      // and they are flushed before the copy is published or another pass begins (a flush
      // may take long while the OS writes back: the end checks come first).
      await this.stopFollower();
      const end = this.trailLost ? this.lostTrail() : this.spoiled ? this.spoilt() : await this.endPass();
      // (endPass's last rescan may lose the trail too)
      const lostWal = this.trailLost && this.mode === 'wal';
      if (end === 'consistent') {
        this.result = this.identity();
        this.isDone = true;
        this.release();
        if (!hold) await this.publish();
        return 'DONE';
      }
      if (end === 'restart') {
        this.inPass = false;
        // A lost WAL trail: the commits the reset hid are found by the digest re-pass, which
        // reads every page again and writes those that differ.
        if (lostWal && this.repass === 'digest') this.repasses++;
        else this.restarts++;
        // A source that changed means start again (OK: retry at once). The next pass start
        // waits out a transaction in progress (settleMs), and only then says BUSY.
        return 'OK';
      }
      // moved: re-copy the changed pages (within this step's budget), then check again.
      if (budget <= 0) return 'OK';
    }
  }

  private identity(): SnapshotIdentity {
    const caveats: string[] = [];
    if (this.mode === 'rollback') caveats.push(STAT_CAVEAT);
    if (this.journal) caveats.push('a hot journal was applied to the copy (the source holds an interrupted transaction)');
    if (this.ownCommit) caveats.push('writes made through quire in this process during the copy were applied from its commit hook');
    return {
      mode: this.mode,
      pageSize: this.pageSizeV,
      pageCount: this.pageCountV,
      header: this.header,
      wal: this.wal
        ? { salt1: this.wal.header.salt1, salt2: this.wal.header.salt2, checkpointSeq: this.wal.header.checkpointSeq, mxFrame: this.wal.mxFrame }
        : null,
      journalApplied: this.journal !== null,
      lockInfo: this.lockInfo,
      restarts: this.restarts,
      repasses: this.repasses,
      passes: this.passes,
      pagesWritten: this.pagesWritten,
      snapshotMoves: this.snapshotMoves,
      resetsBridged: this.resetsBridged,
      recopied: this.recopied,
      caveats,
    };
  }

  // ------------------------------------------------------------------ reading helpers

  /** Reads from the db file, zero-filled past its end. */
  private async readDb(offset: number, length: number): Promise<Uint8Array> {
    try {
      return await readExactly(this.source, 'db', offset, length);
    } catch (e) {
      throw ioerr(`reading ${this.source.label}`, e);
    }
  }

  private async stat(): Promise<FileStat | null> {
    try {
      if (this.source.stat) return await this.source.stat('db');
      return { size: await this.source.size('db') };
    } catch (e) {
      throw ioerr(`reading ${this.source.label}`, e);
    }
  }

  /**
   * Waits while a quire commit of this process writes the source, then applies its pages
   * (the commit hook fires before the wait ends). An in-process writer's journal is thus
   * never taken for another process's transaction.
   */
  private async settleOwnCommits(): Promise<void> {
    for (let p = commitInFlight(this.source.id); p; p = commitInFlight(this.source.id)) await p;
    await this.flushHooked();
  }

  private async journalSignature(): Promise<JournalSig | null> {
    const js = await journalState(this.source);
    if (!js.active) return null;
    let head: Uint8Array;
    try {
      head = await this.source.read('journal', 0, 28);
    } catch (e) {
      throw ioerr(`reading ${this.source.label}-journal`, e);
    }
    return { size: js.size, head: Array.from(head).join(',') };
  }

  // ------------------------------------------------------------------ passes

  /**
   * Starts a pass; false when the source is busy (an active journal under 'refuse' that did
   * not end within settleMs).
   */
  private async beginPass(settleBy?: number): Promise<boolean> {
    await this.dropWatch();
    this.journalFollow = false;
    // A compare re-pass waits only for the queued writes it reads back (readBackRun), or all
    // of them if the page size changes (below).
    if (!this.compare) await this.flushWrites();
    const settleUntil = settleBy ?? Date.now() + this.settleMs;
    for (let p = commitInFlight(this.source.id); p; p = commitInFlight(this.source.id)) await p;
    this.trailLost = false;
    this.spoiled = '';
    this.readsSeen = this.dbReads;
    this.unresolved.clear();
    this.journal = null;
    this.journalSig = null;
    this.recopy.clear();
    this.hooked.clear();
    this.hookedSpilled.clear();
    this.hookedCount = null;
    this.hookedCommits = 0;
    this.ownSinceBaseline = 0;

    const st0 = await this.stat();
    const size = st0?.size ?? 0;
    // An empty file reads as zeros, as readDb at the end of the pass reads it.
    const head = size > 0 ? await this.readDb(0, HEADER_SIZE) : new Uint8Array(HEADER_SIZE);
    this.lastScanAt = Date.now();
    const scan = size > 0 ? await scanCapped(this.source, null) : null;
    const walMode = size > 0 && ((head.length > 19 && head[19] === 2) || (scan !== null && scan.index !== null && scan.index.mxFrame > 0));
    let page1Head = head;

    if (walMode) {
      this.mode = 'wal';
      this.wal = scan!.index;
      this.walAtStart = this.wal !== null;
      if (this.wal) {
        const f = this.wal.frameFor(1);
        if (this.follow) await this.takeAnchor();
        const img = f ? await this.readFrameChecked(1, f, this.wal) : null;
        if (img) page1Head = img.subarray(0, HEADER_SIZE);
        if (this.unresolved.size > 0) {
          // The log restarted under us: a new generation is there to start from, at once.
          if (Date.now() < settleUntil) return this.beginPass(settleUntil);
          this.lastReason = 'the WAL was reset while the pass started';
          return false;
        }
      }
    } else {
      this.mode = 'rollback';
      this.wal = null;
      // A writer holding RESERVED or more is mid-transaction (its changes in its cache, its
      // journal, or half in the file): no pass now, whatever the journal looks like.
      const locks = (await this.source.locks?.())?.db ?? null;
      this.lockInfo = locks !== null;
      const level = locks ? dbLockLevel(locks) : 'none';
      if (midTransaction(level)) {
        // A commit ends within milliseconds: wait for it (settleMs), then start afresh.
        if (await this.writerEnds(settleUntil)) return this.beginPass(settleUntil);
        this.lastReason = `the source is mid-transaction: ${describeLocks(locks!, this.source.label)}`;
        return false;
      }
      const sig = size > 0 ? await this.journalSignature() : null;
      if (sig) {
        if (this.hotJournalPolicy === 'refuse') {
          if (await this.writerEnds(settleUntil)) return this.beginPass(settleUntil);
          this.lastReason = 'the source has an active rollback journal (a transaction is in progress, or a crash left a hot journal)';
          return false;
        }
        const j = await readHotJournal(this.source, head);
        if (j) {
          this.journal = j;
          this.journalSig = sig;
          const j1 = j.pages.get(1);
          if (j1) page1Head = j1.subarray(0, HEADER_SIZE);
        }
      }
    }

    if (size === 0 && !(this.wal && this.wal.mxFrame > 0)) {
      this.header = null;
      this.pageSizeV = this.pageSizeV || 4096;
      this.pageCountV = 0;
    } else {
      const h = parseHeader(page1Head, this.source.label);
      const nPageFile =
        this.wal && this.wal.mxFrame > 0 ? this.wal.dbSize : this.journal ? this.journal.originalPageCount : Math.floor(size / h.pageSize);
      const count = h.pageCountValid ? h.headerPageCount : nPageFile;
      if (count > nPageFile) {
        // A writer may have grown the file between our stat and our read of page 1.
        if (!sameStat(st0, await this.stat())) {
          this.lastReason = 'the database file changed while the pass started';
          return false;
        }
        throw corrupt(1, `header says ${count} pages but the file holds ${nPageFile}`);
      }
      if (this.wal && this.wal.pageSize !== h.pageSize) throw corrupt(1, `page size ${h.pageSize} differs from the WAL's ${this.wal.pageSize}`);
      this.header = h;
      this.pageSizeV = h.pageSize;
      this.pageCountV = count;
    }
    this.startStat = st0;
    this.startHead = head.slice(24, 40);
    // Rollback mode: commits during the pass are followed through their journals where the
    // storage can hold a journal open and tell file times (see followJournal).
    // Not with auto-vacuum, whose relocations (sqlite3PagerMovepage) were not examined.
    this.journalFollow =
      this.mode === 'rollback' &&
      this.follow &&
      !this.journal &&
      !this.ownCommit &&
      !!this.source.hold &&
      this.header?.autoVacuumTop === 0 &&
      st0?.mtimeMs !== undefined &&
      st0.ctimeMs !== undefined;
    if (this.heldPageSize !== this.pageSizeV) {
      await this.flushWrites();
      this.held = 0; // the sink starts afresh
    }
    this.heldPageSize = this.pageSizeV;
    await this.sink.begin(this.pageSizeV, this.pageCountV);
    // From the second pass on, a page is written only if it differs from what the sink holds:
    // compared with the sink's bytes where it can read them back, else with the digests of
    // what this engine wrote (see the module comment, "re-pass").
    this.repassing = this.repass === 'digest' && this.passes > 0;
    if (this.repassing && !this.compare && this.digests?.pageSize !== this.pageSizeV) {
      // Pages the first pass wrote without recording digests count as unknown (written again).
      this.digests = new PageDigests(this.pageSizeV, Math.max(this.pageCountV, this.held));
    }
    this.passes++;
    this.passStartedAt = Date.now();
    this.next = 1;
    this.inPass = true;
    return true;
  }

  /**
   * Polls the source until `until` (ms since the epoch); true once no writer is mid-transaction
   * (no RESERVED or stronger lock, where locks can be seen) and the journal is inactive.
   */
  private async writerEnds(until: number): Promise<boolean> {
    while (Date.now() < until) {
      await new Promise<void>((r) => setTimeout(r, 1));
      const locks = (await this.source.locks?.())?.db ?? null;
      if (locks && midTransaction(dbLockLevel(locks))) continue;
      if (!(await journalState(this.source)).active) return true;
    }
    return false;
  }

  /**
   * Rollback mode, between the runs of a pass: has a commit (counter moved) or a transaction
   * (journal active) begun since the pass started? Then the pass cannot pass its end checks and
   * is given up at once (its reason returned), so the next pass starts right after the commit.
   * Own commits (the hook moves the baseline) and an applied hot journal are left to endPass.
   */
  private async movedUnderfoot(): Promise<string> {
    if (this.journal || this.hooked.size > 0 || this.hookedSpilled.size > 0 || commitInFlight(this.source.id)) return '';
    const head = await this.readDb(0, 40);
    if (!sameBytes(head.subarray(24, 40), this.startHead)) return 'the change counter moved during the pass (a commit happened)';
    if ((await journalState(this.source)).active) return 'a transaction began writing the source during the pass';
    return '';
  }

  /**
   * Rollback mode: follows another process's commits through their journals, so that a pass
   * goes on across them (a rolled-back transaction the same way) instead of starting over.
   * Returns why the pass must be given up, or ''. The proof, for a transaction T between two
   * baselines (bytes 24..39 of page 1 and the db file's stats, taken with the pass start):
   *
   *   see    T's journal J is opened and held (Storage.hold), THEN J is seen still linked
   *          and holding a first header (its bytes 12..27: T's random nonce, written once
   *          at J's start), THEN the db file's stats equal the baseline's, AND (checked at
   *          `end`) the page 1 T started from (its journaled image, or the head T left if it
   *          journaled none) holds the baseline's bytes 24..39: nothing committed since the
   *          baseline (file times are coarse: a whole transaction inside the baseline
   *          stat's clock tick leaves them equal, but moves the counter), AND (checked at
   *          `end`) J's first header still holds the bytes seen: from now until J is unlinked
   *          only T writes the db file (any writer, whatever its journal_mode, needs the
   *          lock T holds until J is unlinked, zeroed or truncated; J is never linked again
   *          once unlinked; a journal file kept by a PERSIST/TRUNCATE
   *          connection hosts one transaction after another — one spilled and rolled back,
   *          then a DELETE connection's commit that unlinks it — but each writes its own
   *          header with a fresh nonce, and a header zeroed between them is not watched).
   *   end    J is seen unlinked (link count 0; its status-change time u is the unlink's),
   *          THEN page 1's head is read, THEN the db file's stats: same file, and its mtime
   *          and ctime both BEFORE u (strictly: the kernel's clock ticks, a write in u's tick
   *          gives up). So every write since the baseline was T's, done before u: the head
   *          read is the state T left (committed, or rolled back).
   *   pages  T wrote only pages its journal names (SQLite journals and syncs a page's old
   *          image before writing it; a rollback writes those images back) or pages past the
   *          journal's original page count. J is read whole through the held handle (a
   *          record of a synced segment that fails its checksum gives up). Those pages the
   *          pass already reached are re-copied; the baseline moves to the head and stats
   *          of `end`.
   *
   * A journal that came and went without being seen is harmless if it wrote nothing (the
   * stats at the next look equal the baseline) and gives the pass up otherwise; so do a
   * journal kept between transactions (journal_mode PERSIST/TRUNCATE, exclusive locking: it
   * is never unlinked) once the file changed, and a transaction seen only after it wrote.
   * Assumes the kernel's file times come from one clock that does not step back meanwhile.
   * Own commits (through quire in this process) leave it to the hook (movedUnderfoot).
   */
  private async followJournal(): Promise<string> {
    this.lastScanAt = Date.now();
    if (this.ownCommit || this.hooked.size > 0 || this.hookedSpilled.size > 0 || commitInFlight(this.source.id)) {
      await this.dropWatch();
      this.journalFollow = false;
      return this.mayGiveUp() ? this.movedUnderfoot() : '';
    }
    const unseen = 'the database file was written during the pass by a transaction whose journal was not seen before it wrote';
    const w = this.jWatch;
    if (!w) {
      const held = await this.source.hold!('journal');
      const hs = held ? await held.stat() : null;
      const stamp = held && hs!.nlink > 0 ? await journalStamp(held, hs!.size) : null;
      const st = await this.stat();
      if (!sameStat(this.startStat, st)) {
        await held?.close();
        return unseen;
      }
      // No header yet (a journal just created, or one kept zeroed between transactions):
      // nothing to watch yet, the next look tries again.
      if (!held || !stamp) await held?.close();
      else {
        this.jWatch = held;
        this.jWatchStamp = stamp;
      }
      return '';
    }
    const hs = await w.stat();
    if (hs.nlink > 0) {
      if ((await journalState(this.source)).active) return '';
      // Kept between transactions (or not written yet): no transaction to follow now.
      await this.dropWatch();
      return sameStat(this.startStat, await this.stat()) ? '' : unseen;
    }
    this.jWatch = null;
    try {
      // The same transaction's header: a journal file kept by a PERSIST/TRUNCATE connection
      // can host several transactions (a spilled one rolled back, then a DELETE connection's
      // commit that unlinks it); each writes its own header with a fresh random nonce.
      const stamp = await journalStamp(w, hs.size);
      if (!stamp || !sameBytes(stamp, this.jWatchStamp!)) {
        return 'the journal followed was written by more than one transaction';
      }
      const head = await this.readDb(0, HEADER_SIZE);
      const jp = await journalPages((off, len) => w.read(off, len), hs.size, head);
      if (!jp || jp.pageSize !== this.pageSizeV) return "a finished transaction's journal could not be read whole";
      // (read before the stats below: the db-file pages it reads are then the state T left)
      const reused = await this.reusedFreePages(jp, w);
      const st = await this.stat();
      const s0 = this.startStat;
      if (!st || !s0 || st.ino !== s0.ino || st.dev !== s0.dev) return 'the database file was replaced during the pass';
      if (!(Math.max(st.mtimeMs ?? Infinity, st.ctimeMs ?? Infinity) < hs.ctimeMs)) {
        return "the database file was written after a transaction's journal was deleted (or in the same clock tick)";
      }
      if (!reused) return "the freelist a finished transaction started from could not be read";
      // T started from the baseline: the counter T found (its journaled page 1, or, had it
      // not journaled page 1, the head it left) is the baseline's. File times alone cannot
      // say so: a whole transaction inside the baseline stat's clock tick leaves them equal.
      const p1 = jp.pages.get(1);
      const found = p1 === undefined ? head : await w.read(p1, HEADER_SIZE);
      if (!sameBytes(found.subarray(24, 40), this.startHead)) {
        return 'a transaction other than the one followed committed during the pass';
      }
      const h = parseHeader(head, this.source.label);
      if (h.pageSize !== this.pageSizeV) return 'the page size changed during the pass';
      const count = h.pageCountValid ? h.headerPageCount : Math.floor(st.size / h.pageSize);
      for (const p of [...jp.pages.keys(), ...reused]) if (p < this.next && p <= count) this.recopy.add(p);
      for (let p = jp.originalPageCount + 1; p < this.next && p <= count; p++) this.recopy.add(p);
      this.setCount(count);
      this.startHead = head.slice(24, 40);
      this.startStat = st;
      this.snapshotMoves++;
      return '';
    } finally {
      this.jWatchStamp = null;
      await w.close();
    }
  }

  /**
   * The freelist leaves a finished transaction T may have reused without journaling them
   * (SQLite takes a leaf's old bytes for garbage: it writes the page without a journal
   * record). Taking a leaf rewrites its trunk, so the leaves are those listed in the original
   * images of the trunks T journaled. The original chain is walked from page 1's original
   * image: a trunk T journaled is read from the journal, one it did not from the db file
   * (unchanged). Null when the chain is not a freelist.
   */
  private async reusedFreePages(
    jp: { originalPageCount: number; pages: Map<number, number> },
    w: HeldFile,
  ): Promise<number[] | null> {
    const ps = this.pageSizeV;
    const original = async (p: number): Promise<Uint8Array> => {
      const at = jp.pages.get(p);
      return at === undefined ? this.readDb((p - 1) * ps, ps) : w.read(at, ps);
    };
    const page1 = await original(1);
    const out: number[] = [];
    let left = get32(page1, 36);
    const seen = new Set<number>();
    for (let t = get32(page1, 32); t !== 0; ) {
      if (t > jp.originalPageCount || seen.has(t) || left <= 0) return null;
      seen.add(t);
      const img = await original(t);
      const n = get32(img, 4);
      if (n > ps / 4 - 2 || n >= left) return null;
      if (jp.pages.has(t)) for (let k = 0; k < n; k++) out.push(get32(img, 8 + 4 * k));
      left -= n + 1;
      t = get32(img, 0);
    }
    return out;
  }

  private async dropWatch(): Promise<void> {
    const w = this.jWatch;
    this.jWatch = null;
    this.jWatchStamp = null;
    await w?.close();
  }

  /**
   * Whether a pass that cannot succeed may stop before its end: not while it records digests
   * of pages the sink holds unknown (the rest of the pass makes the next one cheap).
   */
  private mayGiveUp(): boolean {
    return this.digests === null || this.digests.knownPages >= this.pageCountV;
  }

  private spoilt(): PassEnd {
    this.lastReason = this.spoiled;
    return 'restart';
  }

  private async endPass(): Promise<PassEnd> {
    await this.settleOwnCommits();
    if (this.mode === 'rollback' && this.journalFollow) {
      // A transaction whose journal is held: wait for it to end (a commit takes milliseconds)
      // and follow it; what it changed is re-copied first ('moved').
      const until = Date.now() + this.settleMs;
      for (;;) {
        const why = this.spoiled || (await this.followJournal());
        if (why) {
          this.lastReason = why;
          return 'restart';
        }
        if (this.recopy.size > 0 || this.next <= this.pageCountV) return 'moved';
        if (!this.jWatch || !this.journalFollow) break;
        if (Date.now() >= until) {
          this.lastReason = 'a transaction was in progress at the end of the pass';
          return 'restart';
        }
        await new Promise<void>((r) => setTimeout(r, 1));
      }
    }
    if (this.mode === 'rollback') {
      let sig = await this.journalSignature();
      for (let tries = 0; sig && commitInFlight(this.source.id) && tries < 3; tries++) {
        await this.settleOwnCommits();
        sig = await this.journalSignature();
      }
      if (this.journalSig) {
        if (!sig || sig.size !== this.journalSig.size || sig.head !== this.journalSig.head) {
          this.lastReason = 'the hot journal changed during the copy';
          return 'restart';
        }
      } else if (sig) {
        this.lastReason = 'a transaction was in progress at the end of the pass';
        return 'restart';
      }
      const head = await this.readDb(0, 40);
      if (!sameBytes(head.subarray(24, 40), this.startHead)) {
        this.lastReason = 'the change counter moved during the pass (a commit happened)';
        return 'restart';
      }
      if (!sameStat(this.startStat, await this.stat())) {
        this.lastReason = 'the database file was written during the pass (file stats changed)';
        return 'restart';
      }
      return 'consistent';
    }

    // WAL mode: one more rescan.
    if (!this.follow) {
      const scan = await scanCapped(this.source, this.wal);
      const still = this.wal ? scan.index !== null && scan.index.sameGeneration(this.wal) : scan.index === null || scan.index.mxFrame === 0;
      const quiet = (this.wal && scan.index && scan.index.mxFrame === this.wal.mxFrame) || sameStat(this.startStat, await this.stat());
      if (still && quiet && this.unresolved.size === 0) return 'consistent';
      this.lastReason = 'the WAL moved on and a checkpoint wrote the database file during the pass';
      return 'restart';
    }
    const ok = await this.followWal(true);
    if (!ok) {
      return 'restart';
    }
    return this.recopy.size > 0 ? 'moved' : 'consistent';
  }

  /** One WAL rescan at a time (the follower's and the copy loop's): see followWal. */
  private scanWalSerial(): Promise<void> {
    const run = this.scanChain.then(async () => {
      if (!this.inPass) return;
      if (this.mode === 'wal') {
        if (!this.trailLost) await this.followWal();
      } else if (this.journalFollow && !this.spoiled) {
        this.spoiled = await this.followJournal();
      }
    });
    this.scanChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Starts the background follower of this step (WAL mode, follow): a WAL rescan every
   * FOLLOW_MS while the copy loop waits on its reads and writes, so that a log reset is seen
   * while the old generation's tail still survives (a kernel file copy or a slow write to the
   * sink would otherwise leave the log unwatched for a long time). It stops at the end of the
   * step: between steps the log is not watched (as before).
   */
  private startFollower(): void {
    if (this.followerOn || !this.inPass || !(this.mode === 'wal' ? this.follow : this.journalFollow)) return;
    this.followerOn = true;
    this.follower = (async () => {
      while (this.followerOn && !this.trailLost && !this.spoiled) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, FOLLOW_MS);
          function done(): void {
            clearTimeout(t);
            resolve();
          }
          this.wakeFollower = done;
        });
        this.wakeFollower = null;
        if (!this.followerOn) return;
        try {
          await this.scanWalSerial();
        } catch (e) {
          this.followerError = e;
          return;
        }
      }
    })();
  }

  /** A WAL rescan now if the follower runs and none began for FOLLOW_MS (see writePages). */
  private async keepFollowing(): Promise<void> {
    if (this.followerOn && Date.now() - this.lastScanAt >= FOLLOW_MS) await this.scanWalSerial();
  }

  private async stopFollower(): Promise<void> {
    this.followerOn = false;
    this.wakeFollower?.();
    const f = this.follower;
    this.follower = null;
    if (f) await f;
    await this.scanChain;
    const e = this.followerError;
    this.followerError = null;
    if (e) throw e;
  }

  private lostTrail(): PassEnd {
    const why = this.trailLostBy ? ` (${this.trailLostBy})` : '';
    this.trailLostBy = '';
    this.lastReason = `the WAL was reset (checkpoint + restart) during the pass and its trail could not be followed${why}`;
    return 'restart';
  }

  /**
   * Rescans the WAL and moves the snapshot forward (see the module comment). Returns false
   * when the trail is lost. At the end of a pass (`final`), a rescan that finds new commits
   * does not move the snapshot unless db-file pages were read since the previous rescan: the
   * copy is then already the state at the current mxFrame.
   */
  private async followWal(final = false): Promise<boolean> {
    this.lastScanAt = Date.now();
    const readsAtStart = this.dbReads;
    const unresolvedAtStart = this.unresolved.size;
    const scan = await scanCapped(this.source, this.wal);
    if (!this.walAtStart) {
      if (!sameStat(this.startStat, await this.stat())) {
        this.lastReason = 'the database file was checkpointed during the pass';
        this.trailLost = true;
        return false;
      }
      if (!scan.index || scan.index.mxFrame === 0) return true;
      // A WAL appeared: follow it from frame 1.
      this.walAtStart = true;
      this.moveTo(scan.index, 0);
      return true;
    }
    const prev = this.wal!;
    if (scan.index && scan.index.sameGeneration(prev)) {
      if (unresolvedAtStart > 0) {
        // A frame of this generation could not be read (before this scan began), yet the
        // generation is unchanged.
        this.trailLost = true;
        return false;
      }
      // A db-file read that overlapped or followed the previous scan's start may hold pages
      // checkpointed from the commits this scan found: then the snapshot must move.
      const readSince = readsAtStart !== this.readsSeen;
      if (scan.index.mxFrame > prev.mxFrame && (!final || readSince)) this.moveTo(scan.index, prev.mxFrame);
      this.readsSeen = readsAtStart;
      if ((await this.takeAnchor()) && !final) {
        // The header is ahead of the scan (a commit landed meanwhile): catch up once, so that
        // the snapshot has an anchor should the log be reset next.
        const again = await scanCapped(this.source, this.wal);
        if (again.index && again.index.sameGeneration(this.wal!) && again.index.mxFrame > this.wal!.mxFrame) {
          this.moveTo(again.index, this.wal!.mxFrame);
          await this.takeAnchor();
        }
      }
      return true;
    }
    if (await this.bridge(prev, scan.index)) return true;
    if (await this.counterBridge(prev, scan.index)) return true;
    this.trailLost = true;
    return false;
  }

  /** The -shm header, validated (both copies, checksum); null when absent or unreadable. */
  private async readShm(): Promise<ShmHint | null> {
    try {
      return parseShmHeader(await this.source.read('shm', 0, SHM_HEADER_BYTES));
    } catch {
      return null;
    }
  }

  /**
   * Records the -shm commit counter of the snapshot when the header read now describes it
   * exactly (same salts, mxFrame and cumulative checksum): the commit at the snapshot's
   * mxFrame is then the iChange-th commit of this database's connections. True when the
   * header is ahead of the snapshot in the same log.
   */
  private async takeAnchor(): Promise<boolean> {
    const w = this.wal;
    if (!w || (this.anchor?.index === w && this.anchor.firm)) return false;
    const now = Date.now();
    const shm = await this.shmStat();
    if (!shm) return false;
    const h = await this.readShm();
    if (!h) return false;
    if (describes(h, w) || endedAt(h, w) || unbegun(h, w)) {
      const firm = now - shm.ctimeMs! >= SHM_SETTLED_MS && shm.ctimeMs! % 1000 !== 0;
      this.anchor = { iChange: h.iChange, index: w, shm, firm };
    }
    return h.salt1 === w.header.salt1 && h.salt2 === w.header.salt2 && h.mxFrame > w.mxFrame;
  }

  /**
   * The -shm's stat, where the storage tells its identity and times (else null: no counter
   * bridge). SQLite rebuilds the -shm by recovery, which restarts iChange at 0, when the first
   * connection after all others ended truncates it, or when the file is new: either changes
   * the stat.
   */
  private async shmStat(): Promise<FileStat | null> {
    if (!this.source.stat) return null;
    try {
      const st = await this.source.stat('shm');
      return st && st.ctimeMs !== undefined && st.mtimeMs !== undefined && st.ino !== undefined ? st : null;
    } catch {
      return null;
    }
  }

  /**
   * Follows a reset whose old log is gone (a TRUNCATE checkpoint, or a new log grown over the
   * old tail) by counting commits (see the module comment, "reset").
   */
  private async counterBridge(prev: WalIndex, seen: WalIndex | null): Promise<boolean> {
    const a = this.anchor;
    if (!a || !a.firm || a.index.mxFrame !== prev.mxFrame || !a.index.sameGeneration(prev)) return false;
    const salt1 = (prev.header.salt1 + 1) >>> 0;
    let cur = seen && seen.header.salt1 === salt1 ? seen : null;
    const waitUntil = Date.now() + COUNTER_WAIT_MS;
    for (let tries = 0; tries < COUNTER_TRIES; ) {
      // The header first, then the log: the frames up to a published mxFrame stay as they are
      // until the next restart (new salts, which stop the scan), so a scan made after reading
      // the header holds exactly the commits published up to it, whatever came after.
      const h = await this.readShm();
      if (!h || h.salt1 !== salt1) return false;
      if (h.mxFrame === 0) {
        // Restarted, no commit in the new log yet (a TRUNCATE leaves no log header to scan):
        // the header still holds the old log's count and last checksum. Wait for a commit.
        if (h.iChange !== a.iChange) return false;
        if (prev.mxFrame > 0 && (h.frameChecksum1 !== prev.checksum[0] || h.frameChecksum2 !== prev.checksum[1])) return false;
        if (Date.now() >= waitUntil) return false;
        await new Promise<void>((r) => setTimeout(r, 1));
        continue;
      }
      tries++;
      cur = (await scanCapped(this.source, cur, h)).index;
      if (!cur || cur.header.salt1 !== h.salt1 || cur.header.salt2 !== h.salt2 || cur.mxFrame < h.mxFrame) continue;
      const j = commitsUpTo(cur, h.mxFrame);
      if (j < 0 || cur.pageSize !== prev.pageSize) return false;
      // After the header read: a recovery (iChange from 0) before it changed the -shm's stat.
      if (!sameStat(a.shm, await this.shmStat())) {
        this.trailLostBy = 'the -shm changed since the snapshot (a rebuilt -shm restarts the commit counter)';
        return false;
      }
      if (((h.iChange - j) >>> 0) !== a.iChange >>> 0) {
        this.trailLostBy = 'a commit after the last scan ended the old log (the -shm commit counter)';
        return false;
      }
      this.bridgeTo(cur, new Set(), cur.dbSize);
      return true;
    }
    return false;
  }

  /** Follows a WAL reset without restarting, when the old generation's end is certain. */
  private async bridge(prev: WalIndex, seen: WalIndex | null): Promise<boolean> {
    const tail = await scanTail(this.source, prev);
    // The new generation, read AFTER the tail (from where the scan that found it stopped, if
    // it is still the same log): if it has not reached the tail's stopping point by now, it
    // never overwrote what the tail scan read.
    const cur = await scanCapped(this.source, seen);
    const q = tail.stopFrame;
    const newer = (salt: number) => {
      const d = (salt - prev.header.salt1) >>> 0;
      return d !== 0 && d < 0x80000000;
    };
    const lost = (why: string): boolean => {
      this.trailLostBy = why;
      return false;
    };
    if (tail.stop === 'foreign' && newer(tail.stopSalt1)) return lost('the new log overwrote its tail');
    if (cur.size < frameOffset(prev.pageSize, prev.mxFrame + 1)) return lost('the log was truncated');
    if (!cur.index || cur.index.header.salt1 !== ((prev.header.salt1 + 1) >>> 0)) return lost('more than one reset');
    if (cur.lastValidFrame > q - 2) return lost('the new log reached its tail');
    if (cur.index.pageSize !== prev.pageSize) return lost('the page size changed');

    if (cur.index.mxFrame === 0 && tail.lastCommit && !(await this.tailPublished(prev, cur.index, tail.lastCommit.frame))) {
      return lost('the old log may end in a commit nobody published');
    }
    const dbSize = cur.index.mxFrame > 0 ? cur.index.dbSize : tail.lastCommit ? tail.lastCommit.dbSize : prev.dbSize;
    this.bridgeTo(cur.index, tail.pages, dbSize);
    return true;
  }

  /**
   * Whether commit frame `frame` of the old log `prev` was that log's last published commit:
   * the -shm header of the restart that began `cur` (its salts, no frame yet) keeps the old
   * log's last published checksum (walRestartHdr), which frame's header must hold. Where
   * locks are seen (scans are capped), a tail may run on past that commit into a phantom
   * (see "cap"), whose size would not be the db file's.
   */
  private async tailPublished(prev: WalIndex, cur: WalIndex, frame: number): Promise<boolean> {
    const h = await this.readShm();
    // No -shm at all: no connection keeps a WAL index, so the next opener's recovery reads
    // the log as the tail scan did (a phantom needs a connection holding the -shm).
    if (!h) return !(await this.source.exists('shm').catch(() => true));
    if (h.salt1 !== cur.header.salt1 || h.salt2 !== cur.header.salt2 || h.mxFrame !== 0) return false;
    return (await frameSealed(this.source, prev.pageSize, frame, prev.header.salt1, prev.header.salt2, h.frameChecksum1, h.frameChecksum2)) !== null;
  }

  /**
   * Moves the snapshot across a reset to the new log `cur`: re-copies the pages the old log
   * changed after the snapshot (`tail`), those of the new log and any frame that could not be
   * read.
   */
  private bridgeTo(cur: WalIndex, tail: Set<number>, dbSize: number): void {
    const changed = new Set<number>(tail);
    for (const p of cur.pages()) changed.add(p);
    for (const p of this.unresolved) changed.add(p);
    this.unresolved.clear();
    this.wal = cur;
    this.setCount(dbSize);
    for (const p of changed) if (p <= dbSize && p < this.next) this.recopy.add(p);
    this.resetsBridged++;
    this.snapshotMoves++;
    // Re-copied pages not in the new log come from the db file: the next scan moves.
    this.readsSeen = -1;
  }

  private setCount(n: number): void {
    if (n !== this.pageCountV) {
      this.pageCountV = n;
      this.sink.setPageCount(n);
    }
    if (this.next > n + 1) this.next = n + 1;
  }

  private moveTo(idx: WalIndex, from: number): void {
    const changed = idx.pagesBetween(from, idx.mxFrame);
    this.wal = idx;
    this.setCount(idx.dbSize);
    for (const p of changed) if (p <= idx.dbSize && p < this.next) this.recopy.add(p);
    this.snapshotMoves++;
  }

  /**
   * Reads page `pgno` from frame `frame` of the log `wal` describes; null when the frame no
   * longer holds it (the log was overwritten by a newer generation): the page is then marked
   * unresolved (re-copied when the reset is bridged) or, when the trail already moved to a
   * newer log while the frame was read, queued for re-copy from it.
   *
   * The frame's header is read again after its data: SQLite overwrites a frame with two
   * writes, header then data, and a read is not atomic against them, so one read can return
   * the old header with (part of) the new data. If the header still holds after the read
   * ended, the new header had not been written when the read ended, so neither had the data.
   */
  private async readFrameChecked(pgno: number, frame: number, wal: WalIndex): Promise<Uint8Array | null> {
    const ps = wal.pageSize;
    const at = frameOffset(ps, frame);
    const h = wal.header;
    const holds = (b: Uint8Array, length: number) =>
      b.length === length && get32(b, 0) === pgno && get32(b, 8) === h.salt1 && get32(b, 12) === h.salt2;
    let b: Uint8Array;
    let again: Uint8Array | null = null;
    try {
      b = await this.source.read('wal', at, WAL_FRAME_HEADER_SIZE + ps);
      if (holds(b, WAL_FRAME_HEADER_SIZE + ps)) again = await this.source.read('wal', at, WAL_FRAME_HEADER_SIZE);
    } catch (e) {
      throw ioerr(`reading ${this.source.label}-wal`, e);
    }
    if (!again || !holds(again, WAL_FRAME_HEADER_SIZE)) {
      if (this.wal && !this.wal.sameGeneration(wal)) this.recopy.add(pgno);
      else this.unresolved.add(pgno);
      return null;
    }
    return b.subarray(WAL_FRAME_HEADER_SIZE);
  }

  private async copyRun(first: number, count: number): Promise<void> {
    const ps = this.pageSizeV;
    // The snapshot the db-file read starts under patches the whole run, whatever the follower
    // does meanwhile: its moves and bridges re-copy what changed after it (the run's pages are
    // already counted as reached). A newer log would not do: after a reset, a page whose last
    // change lived only in the old log's frames, checkpointed into the db file after this read,
    // has no frame in the new log, and its stale db-file image would stand.
    const wal = this.wal;
    // A compare re-pass reads the sink's bytes for the run meanwhile (an asynchronous read
    // where the source's is synchronous: the two overlap).
    const back = this.repassing && this.compare ? settled(this.readBackRun(first, count)) : null;
    this.dbReads++;
    let buf: Uint8Array;
    if (this.source.readInto && !this.sink.retainsBuffers) {
      // One buffer for every run: no allocation per run (the sink copies before returning).
      if (!this.runBuf || this.runBuf.length < count * ps) this.runBuf = new Uint8Array(count * ps);
      buf = this.runBuf.subarray(0, count * ps);
      let got: number;
      try {
        got = await this.source.readInto('db', (first - 1) * ps, buf);
      } catch (e) {
        throw ioerr(`reading ${this.source.label}`, e);
      }
      if (got < buf.length) buf.fill(0, got);
    } else {
      buf = await this.readDb((first - 1) * ps, count * ps);
    }
    this.dbReads++;
    if (this.journal) {
      for (let k = 0; k < count; k++) {
        const j = this.journal.pages.get(first + k);
        if (j) buf.set(j, k * ps);
      }
    }
    for (let k = 0; k < count && wal; k++) {
      if ((k & 63) === 63) await this.keepFollowing();
      const f = wal.frameFor(first + k);
      const img = f ? await this.readFrameChecked(first + k, f, wal) : null;
      if (img) buf.set(img, k * ps);
    }
    if (back) await this.writeDiffering(first, buf, await back);
    else await this.writePages(first, buf);
  }

  /**
   * Reads what the sink holds at pages first..first+count-1 into backBuf (fewer bytes past
   * its end), after the queued writes to any of those pages are done.
   */
  private async readBackRun(first: number, count: number): Promise<Uint8Array> {
    if (this.queuedPages.size > 0) {
      for (let p = first; p < first + count; p++) {
        if (this.queuedPages.has(p)) {
          await this.flushWrites();
          break;
        }
      }
    }
    const len = count * this.pageSizeV;
    if (!this.backBuf || this.backBuf.length < len) this.backBuf = new Uint8Array(len);
    const into = this.backBuf.subarray(0, len);
    const got = await this.sink.readBack!(first, into);
    return into.subarray(0, Math.max(0, Math.min(got, len)));
  }

  /**
   * A compare re-pass's run: writes (queued) only the pages whose bytes differ from the sink's
   * (`held`, read back before the pass read them: no other write touched them since), so
   * that afterwards the sink holds exactly what this pass read. No digest: exact.
   */
  private async writeDiffering(first: number, buf: Uint8Array, held: Uint8Array | Error): Promise<void> {
    if (held instanceof Error) throw held;
    const ps = this.pageSizeV;
    const n = buf.length / ps;
    this.held = Math.max(this.held, first + n - 1);
    // Most runs of a re-pass are unchanged: one comparison of the whole run settles them.
    if (held.length === buf.length && this.bytesEqual(buf, held)) return;
    const eq = this.bytesEqual;
    let from = -1;
    for (let k = 0; k <= n; k++) {
      if ((k & 63) === 63) await this.keepFollowing();
      const same = k === n || ((k + 1) * ps <= held.length && eq(buf.subarray(k * ps, (k + 1) * ps), held.subarray(k * ps, (k + 1) * ps)));
      if (!same && from < 0) from = k;
      if (same && from >= 0) {
        await this.queueWrite(first + from, buf.slice(from * ps, k * ps));
        this.pagesWritten += k - from;
        from = -1;
      }
    }
  }

  /**
   * Hands pages to the sink. From the second pass on, a page whose digest equals that of what
   * the sink holds at its number is skipped; the others are written in runs and their
   * digests recorded (so the digests always describe the sink).
   */
  private async writePages(first: number, buf: Uint8Array): Promise<void> {
    const d = this.digests;
    const ps = this.pageSizeV;
    const n = buf.length / ps;
    this.held = Math.max(this.held, first + n - 1);
    if (this.repassing && this.compare) {
      // A re-copy: after the writes queued before it (a later image lands last).
      await this.queueWrite(first, buf.slice());
      this.pagesWritten += n;
      return;
    }
    if (!d) {
      await this.sink.write(first, buf);
      this.pagesWritten += n;
      return;
    }
    let from = -1;
    for (let k = 0; k <= n; k++) {
      // Reads are synchronous where the runtime allows (Node), so the follower's timer does
      // not fire while a run is digested: the log is rescanned from here instead.
      if ((k & 63) === 63) await this.keepFollowing();
      const same = k === n || d.holds(first + k, buf.subarray(k * ps, (k + 1) * ps));
      if (!same && from < 0) from = k;
      if (same && from >= 0) {
        await this.queueWrite(first + from, buf.slice(from * ps, k * ps));
        this.pagesWritten += k - from;
        from = -1;
      }
    }
  }

  /**
   * Hands a re-pass's changed pages to the sink without waiting for the write: writes go out
   * one after another in the order queued (a later image of a page lands last), while the
   * pass reads on, so a write the OS holds up (writeback) does not stall the pass and the WAL
   * trail. At most WRITE_QUEUE_BYTES wait; all are flushed (flushWrites) before a pass ends
   * or begins, before the copy is read back or published, and at the end of every step.
   */
  private async queueWrite(first: number, data: Uint8Array): Promise<void> {
    this.queuedBytes += data.length;
    const n = data.length / this.pageSizeV;
    for (let p = first; p < first + n; p++) this.queuedPages.set(p, (this.queuedPages.get(p) ?? 0) + 1);
    this.writeChain = this.writeChain.then(async () => {
      try {
        if (this.writeError === null) await this.sink.write(first, data);
      } catch (e) {
        this.writeError = e;
      } finally {
        this.queuedBytes -= data.length;
        for (let p = first; p < first + n; p++) {
          const c = this.queuedPages.get(p)!;
          if (c > 1) this.queuedPages.set(p, c - 1);
          else this.queuedPages.delete(p);
        }
      }
    });
    if (this.queuedBytes > WRITE_QUEUE_BYTES) await this.flushWrites();
  }

  private async flushWrites(): Promise<void> {
    await this.writeChain;
    const e = this.writeError;
    this.writeError = null;
    if (e !== null) throw e;
  }

  private async recopyPage(p: number): Promise<void> {
    const ps = this.pageSizeV;
    let img: Uint8Array | null = null;
    const wal = this.wal;
    const f = wal ? wal.frameFor(p) : 0;
    this.recopied++;
    if (f) {
      img = await this.readFrameChecked(p, f, wal!);
      if (!img) return; // unresolved, or queued again
    } else {
      this.dbReads++;
      img = await this.readDb((p - 1) * ps, ps);
      this.dbReads++;
    }
    if (p === 1) this.header = parseHeader(img, this.source.label);
    await this.writePages(p, img);
  }

  /** Applies pages committed through quire in this process (the commit hook). */
  private async flushHooked(): Promise<void> {
    if (this.hooked.size === 0 && this.hookedSpilled.size === 0 && this.hookedCount === null) return;
    const pages = [...this.hooked].sort((a, b) => a[0] - b[0]);
    const spilled = [...this.hookedSpilled].sort((a, b) => a - b);
    const count = this.hookedCount;
    const commits = this.hookedCommits;
    this.hooked.clear();
    this.hookedSpilled.clear();
    this.hookedCount = null;
    this.ownSinceBaseline += commits;
    this.hookedCommits = 0;
    if (!this.inPass) return;
    if (count !== null && count !== this.pageCountV) {
      this.pageCountV = count;
      this.sink.setPageCount(count);
    }
    for (const [p, img] of pages) {
      if (p > this.pageCountV || img.length !== this.pageSizeV) continue;
      // Newer than the snapshot's image: a re-copy queued by an earlier move would put the
      // older one back (and the end of the pass would not see it: no db-file read).
      this.recopy.delete(p);
      await this.writePages(p, img);
      this.recopied++;
      if (p === 1) this.header = parseHeader(img, this.source.label);
    }
    // Spilled pages are in the file: the db file in rollback mode (read before the baseline
    // moves); in WAL mode they are frames of the commit, which the WAL trail re-copies.
    if (this.mode === 'rollback') {
      for (const p of spilled) {
        if (p > this.pageCountV) continue;
        this.dbReads++;
        await this.writePages(p, await this.readDb((p - 1) * this.pageSizeV, this.pageSizeV));
        this.recopied++;
      }
      // The writes were ours: the baseline moves with them — unless the counter moved by more
      // than our commits (another connection committed too, before or after ours: its pages
      // came only through the file, and may be missing from pages already copied).
      // An own commit still in flight has its counter bump in the file before its pages reach
      // the hook: wait for it, and apply what arrived, before comparing.
      const pending = () => commitInFlight(this.source.id) || this.hooked.size > 0 || this.hookedSpilled.size > 0 || this.hookedCount !== null;
      for (let p = commitInFlight(this.source.id); p; p = commitInFlight(this.source.id)) await p;
      if (pending()) return this.flushHooked();
      const head = await this.readDb(0, 40);
      if (pending()) return this.flushHooked();
      const moved = (get32(head, 24) - get32(this.startHead!, 0)) >>> 0;
      if (moved !== this.ownSinceBaseline) {
        this.spoiled = `another connection committed beside quire's own commits during the pass (the change counter moved by ${moved}, quire's commits by ${this.ownSinceBaseline})`;
        return;
      }
      this.ownSinceBaseline = 0;
      this.startHead = head.slice(24, 40);
      this.startStat = await this.stat();
    } else if (spilled.length > 0) {
      // The copy now holds part of a commit the last WAL scan did not reach: the next rescan
      // must move the snapshot (re-copying its frames, the spilled ones among them) even at
      // the end of a pass.
      this.readsSeen = -1;
    }
  }
}

function midTransaction(level: ReturnType<typeof dbLockLevel>): boolean {
  return level === 'reserved' || level === 'pending' || level === 'exclusive';
}

/** A promise that settles to its value or its error (never rejects: no unhandled rejection). */
function settled<T>(p: Promise<T>): Promise<T | Error> {
  return p.then(
    (v) => v,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
}


/**
 * Bytes 12..27 of a journal's first header (nonce, original page count, sector and page
 * sizes), which a transaction writes once, at its journal's start, with a random nonce
 * (pager.c writeJournalHdr; syncJournal rewrites only bytes 0..11); null when no header is
 * there (shorter than a header, or its sector size 0: a header zeroed between transactions).
 */
async function journalStamp(f: HeldFile, size: number): Promise<Uint8Array | null> {
  if (size < 28) return null;
  const b = await f.read(0, 28);
  return b.length === 28 && get32(b, 20) !== 0 ? b.slice(12, 28) : null;
}

/** The -shm header describes exactly the log `w` (salts, last commit frame, checksum there). */
function describes(h: ShmHint, w: WalIndex): boolean {
  return (
    h.salt1 === w.header.salt1 &&
    h.salt2 === w.header.salt2 &&
    h.mxFrame === w.mxFrame &&
    h.frameChecksum1 === w.checksum[0] &&
    h.frameChecksum2 === w.checksum[1]
  );
}

/**
 * The -shm header is that of a restart right after the log `w` ended at its mxFrame: one more
 * salt-1, no frame yet, and the old log's last checksum (walRestartHdr keeps it, with iChange).
 */
function endedAt(h: ShmHint, w: WalIndex): boolean {
  return (
    h.mxFrame === 0 &&
    h.salt1 === ((w.header.salt1 + 1) >>> 0) &&
    h.frameChecksum1 === w.checksum[0] &&
    h.frameChecksum2 === w.checksum[1]
  );
}

/**
 * The transactions of `w` committed up to frame `m`, which must be a commit frame (else -1);
 * padding copies of a commit frame are not counted (WalCommit.distinct).
 */
function commitsUpTo(w: WalIndex, m: number): number {
  const c = w.commits;
  let lo = 0;
  let hi = c.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c[mid].frame <= m) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && c[lo - 1].frame === m ? c[lo - 1].distinct : -1;
}

/**
 * The -shm header is that of the restart that began the log `w`, which holds no commit yet (a
 * transaction's frames may be there): iChange counts the commits before it, the snapshot's.
 */
function unbegun(h: ShmHint, w: WalIndex): boolean {
  return w.mxFrame === 0 && h.mxFrame === 0 && h.salt1 === w.header.salt1 && h.salt2 === w.header.salt2;
}

function sameStat(a: FileStat | null, b: FileStat | null): boolean {
  if (!a || !b) return a === b;
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.dev === b.dev;
}

/** A BUSY error for a copy that gave up. */
export function busyError(label: string, reason: string, again: number): QuireError {
  return new QuireError(
    ErrorCode.BUSY,
    `${label}: the source never held still long enough for a consistent copy (${again} passes begun again; last: ${reason || 'busy'})`,
  );
}
