/**
 * quire backup SRC DST [--pages N] [--sleep MS] [--timeout S] [--forensic] [--side-files]
 *                      [--manifest FILE] [--hot-journal refuse|apply] [--journal-mode source|wal|rollback]
 *                      [--json]
 *
 * Copies SRC (possibly live) to DST consistently, without locks. Exit 0 on success, 3 when the
 * source never held still within --timeout (BUSY), 1 on errors, 2 on usage errors.
 */
import { backupFile, type BackupFileProgress } from '../node/backup-file.js';
import { UsageError, choiceOption, intOption, numberOption, parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';

export const BACKUP: CommandSpec = {
  name: 'backup',
  interruptible: true,
  args: 'SRC DST',
  summary: 'copy a (live) database consistently, without locks',
  description:
    'Copies SRC to DST page by page, as SQLite\'s backup API does, while other processes may keep\n' +
    'writing SRC: a pass that raced a commit is redone, so DST is always one committed state of\n' +
    'SRC, never a torn one. No lock is taken and nothing is written beside SRC. DST is written\n' +
    'to a temporary file beside it and renamed into place at the end; interrupted (Ctrl-C), DST\n' +
    'is left as it was. Exits 3 (BUSY) if SRC never held still for a whole pass within --timeout.',
  options: [
    { name: 'pages', value: 'N', help: 'pages copied per step (-1: all in one step)', default: '-1' },
    { name: 'sleep', value: 'MS', help: 'wait between retries while SRC is busy, in milliseconds', default: '250' },
    { name: 'timeout', value: 'S', help: 'give up with BUSY after this many seconds (0: never)', default: '60' },
    { name: 'hot-journal', value: 'MODE', help: 'a hot journal in SRC: refuse (BUSY) or apply it to the copy', default: 'refuse' },
    { name: 'journal-mode', value: 'MODE', help: 'journal mode of DST: source, wal or rollback', default: 'source' },
    { name: 'forensic', help: 'byte-exact copy (page 1 unmodified), SRC hashed before and after, with a SHA-256 manifest' },
    { name: 'side-files', help: 'with --forensic: also copy SRC\'s -wal, -journal and -shm raw beside DST' },
    { name: 'manifest', value: 'FILE', help: 'with --forensic: where to write the manifest', default: 'DST.manifest.json' },
    { name: 'json', help: 'print the result as one JSON object (no progress bar)' },
  ],
  examples: [
    'quire backup live.db copy.db',
    'quire backup live.db copy.db --timeout 300 --pages 1000',
    'quire backup evidence.db evidence-copy.db --forensic --side-files',
  ],
  run: backupCommand,
};

/** The progress line: the current pass and its own progress (a restart starts a new pass). */
function bar(p: BackupFileProgress): string {
  const total = p.pageCount || 1;
  const done = Math.min(total, Math.max(0, p.pageCount - p.remaining));
  const frac = done / total;
  const width = 30;
  const filled = Math.round(frac * width);
  const mbs = p.passElapsedMs > 0 ? (done * p.pageSize) / 1048576 / (p.passElapsedMs / 1000) : 0;
  return (
    `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
    `pass ${p.pass}: ${done}/${p.pageCount} pages ${mbs.toFixed(1)} MB/s, ${p.restarts} restarts, ${p.snapshotMoves} moves` +
    '\x1b[K'
  );
}

const MB = 1048576;

async function backupCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, BACKUP.options);
  const [src, dst] = positionals(p, BACKUP);
  const hot = choiceOption(p, 'hot-journal', ['refuse', 'apply'], 'refuse');
  const jm = choiceOption(p, 'journal-mode', ['source', 'wal', 'rollback'], 'source');
  const forensic = p.flags.has('forensic');
  for (const needs of ['side-files', 'manifest']) {
    if ((p.flags.has(needs) || p.values.has(needs)) && !forensic) throw new UsageError(`--${needs} needs --forensic`);
  }
  const timeoutS = numberOption(p, 'timeout', 60, 0);
  const showBar = io.isTTY && !p.flags.has('json');
  let barShown = false;
  let busy = false;
  const onProgress = (pr: BackupFileProgress): void => {
    if (pr.status === 'BUSY') {
      // Said once per wait, on its own line (the bar's line is ended first).
      if (!busy) {
        if (barShown) io.stderr('\n');
        barShown = false;
        io.stderr(`quire: ${src} is busy (${pr.reason}); waiting\n`);
      }
      busy = true;
      return;
    }
    busy = false;
    barShown = true;
    io.stderr(bar(pr));
  };
  const result = await backupFile(src, dst, {
    signal: io.signal,
    pages: intOption(p, 'pages', -1, -1),
    sleep: numberOption(p, 'sleep', 250, 0),
    timeout: timeoutS * 1000,
    hotJournal: hot,
    journalMode: jm,
    forensic,
    sideFiles: p.flags.has('side-files'),
    manifest: p.values.get('manifest'),
    onProgress: showBar ? onProgress : undefined,
  }).finally(() => {
    // The bar's line is ended whatever happens next (a result, an error, an interrupt).
    if (barShown) io.stderr('\n');
  });
  const s = result.snapshot;
  if (p.flags.has('json')) {
    io.stdout(
      JSON.stringify({
        source: src,
        destination: dst,
        bytes: result.bytes,
        bytesWritten: result.bytesWritten,
        elapsedMs: result.elapsedMs,
        snapshot: { ...s, header: undefined, changeCounter: s.header?.changeCounter ?? null },
        manifest: result.manifestPath,
      }) + '\n',
    );
  } else {
    const secs = result.elapsedMs / 1000;
    const where = s.mode === 'wal' && s.wal ? `WAL commit frame ${s.wal.mxFrame}` : `change counter ${s.header?.changeCounter ?? 0}`;
    // The copy's own size; the work restarts and re-copies cost is reported apart.
    const extra = result.bytesWritten - result.bytes;
    const work = extra > 0 ? ` (${s.passes} passes, ${(extra / MB).toFixed(1)} MB rewritten)` : '';
    io.stdout(
      `copied ${s.pageCount} pages (${(result.bytes / MB).toFixed(1)} MB) in ${secs.toFixed(2)} s, snapshot at ${where}; ` +
        `${s.restarts} restarts${work}, ${s.snapshotMoves} snapshot moves\n`,
    );
    if (result.manifestPath) io.stdout(`manifest: ${result.manifestPath}\n`);
  }
  return 0;
}
