/**
 * quire backup SRC DST [--pages N] [--sleep MS] [--timeout S] [--forensic] [--side-files]
 *                      [--manifest FILE] [--hot-journal refuse|apply] [--journal-mode source|wal|rollback]
 *                      [--json]
 *
 * Copies SRC (possibly live) to DST consistently, without locks. Exit 0 on success, 3 when the
 * source never held still within --timeout (BUSY), 1 on errors, 2 on usage errors.
 */
import { backupFile, type BackupFileProgress } from '../node/backup-file.js';
import { UsageError, intOption, numberOption, parseArgs, positionals } from './args.js';
import type { CliIO } from './io.js';

export const USAGE =
  'quire backup SRC DST [--pages N] [--sleep MS] [--timeout S] [--forensic] [--side-files] [--manifest FILE] [--hot-journal refuse|apply] [--journal-mode source|wal|rollback] [--json]';

function bar(p: BackupFileProgress): string {
  const total = p.pageCount || 1;
  const done = Math.max(0, total - p.remaining);
  const frac = Math.min(1, done / total);
  const width = 30;
  const filled = Math.round(frac * width);
  const mbs = p.elapsedMs > 0 ? p.bytesWritten / 1048576 / (p.elapsedMs / 1000) : 0;
  return (
    `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
    `${done}/${p.pageCount} pages ${mbs.toFixed(1)} MB/s restarts ${p.restarts} moves ${p.snapshotMoves}` +
    (p.status === 'BUSY' ? ' (busy, waiting)' : '') +
    '\x1b[K'
  );
}

export async function backupCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, {
    pages: { value: true },
    sleep: { value: true },
    timeout: { value: true },
    forensic: {},
    'side-files': {},
    manifest: { value: true },
    'hot-journal': { value: true },
    'journal-mode': { value: true },
    json: {},
  });
  const [src, dst] = positionals(p, ['SRC', 'DST'], USAGE);
  const hot = p.values.get('hot-journal') ?? 'refuse';
  if (hot !== 'refuse' && hot !== 'apply') throw new UsageError('--hot-journal must be refuse or apply');
  const jm = p.values.get('journal-mode') ?? 'source';
  if (jm !== 'source' && jm !== 'wal' && jm !== 'rollback') throw new UsageError('--journal-mode must be source, wal or rollback');
  const forensic = p.flags.has('forensic');
  if ((p.flags.has('side-files') || p.values.has('manifest')) && !forensic) {
    throw new UsageError('--side-files and --manifest need --forensic');
  }
  const timeoutS = numberOption(p, 'timeout', 60, 0);
  const showBar = io.isTTY && !p.flags.has('json');
  const result = await backupFile(src, dst, {
    pages: intOption(p, 'pages', -1, -1),
    sleep: numberOption(p, 'sleep', 250, 0),
    timeout: timeoutS * 1000,
    hotJournal: hot,
    journalMode: jm,
    forensic,
    sideFiles: p.flags.has('side-files'),
    manifest: p.values.get('manifest'),
    onProgress: showBar ? (pr) => io.stderr(bar(pr)) : undefined,
  });
  if (showBar) io.stderr('\n');
  const s = result.snapshot;
  if (p.flags.has('json')) {
    io.stdout(
      JSON.stringify({
        source: src,
        destination: dst,
        bytes: result.bytes,
        elapsedMs: result.elapsedMs,
        snapshot: { ...s, header: undefined, changeCounter: s.header?.changeCounter ?? null },
        manifest: result.manifestPath,
      }) + '\n',
    );
  } else {
    const mb = result.bytes / 1048576;
    const secs = result.elapsedMs / 1000;
    const where = s.mode === 'wal' && s.wal ? `WAL commit frame ${s.wal.mxFrame}` : `change counter ${s.header?.changeCounter ?? 0}`;
    io.stdout(
      `copied ${s.pageCount} pages (${mb.toFixed(1)} MB) in ${secs.toFixed(2)} s, snapshot at ${where}; ` +
        `${s.restarts} restarts, ${s.snapshotMoves} snapshot moves\n`,
    );
    if (result.manifestPath) io.stdout(`manifest: ${result.manifestPath}\n`);
  }
  return 0;
}
