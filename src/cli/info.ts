/**
 * quire info DB [--json]
 *
 * Header fields, page count, freelist, journal mode, the WAL (frames, last commit, salts) or
 * an active journal, and a schema summary. Reads only; writes nothing beside DB.
 */
import { openDatabase } from '../node/index.js';
import { scanWal } from '../../pager/wal.js';
import { journalState } from '../../pager/journal.js';
import { readShmHint } from '../../pager/shm.js';
import { parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';


const ENCODINGS: Record<number, string> = { 1: 'UTF-8', 2: 'UTF-16le', 3: 'UTF-16be' };

export const INFO: CommandSpec = {
  name: 'info',
  args: 'DB',
  summary: 'header fields, pages, freelist, WAL and journal state, schema summary',
  description:
    'Prints what the file header says (page size, encoding, change counter, freelist, auto-vacuum, ...),\n' +
    'the state of its WAL or hot journal, and how many tables, indexes, views and triggers it has.\n' +
    'Reads only: nothing is written beside DB (no -shm, no -journal).',
  options: [{ name: 'json', help: 'print one JSON object instead of lines' }],
  examples: ['quire info app.db', 'quire info app.db --json | jq .header.changeCounter'],
  run: infoCommand,
};

async function infoCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, INFO.options);
  const [file] = positionals(p, INFO);
  const db = await openDatabase(file);
  try {
    const pager = db.pager;
    const h = pager.header;
    const st = db.storage;
    const dbBytes = await st.size('db');
    const walScan = await scanWal(st, null);
    const wal = walScan.index;
    const js = await journalState(st);
    const shm = wal ? await readShmHint(st, wal.header) : null;
    const cat = await db.schema();
    const count = (type: string) => cat.rows.filter((r) => r.type === type).length;
    const info = {
      file,
      fileBytes: dbBytes,
      pageSize: pager.pageSize,
      pageCount: pager.pageCount,
      journalMode: h ? (h.readVersion === 2 ? 'wal' : 'rollback') : null,
      header: h && {
        writeVersion: h.writeVersion,
        readVersion: h.readVersion,
        reservedBytes: h.reservedBytes,
        changeCounter: h.changeCounter,
        headerPageCount: h.headerPageCount,
        headerPageCountValid: h.pageCountValid,
        freelistTrunk: h.freelistTrunk,
        freelistPages: h.freelistCount,
        schemaCookie: h.schemaCookie,
        schemaFormat: h.schemaFormat,
        defaultCacheSize: h.defaultCacheSize,
        autoVacuum: h.autoVacuumTop === 0 ? 'none' : h.incrementalVacuum ? 'incremental' : 'full',
        largestRootPage: h.autoVacuumTop,
        encoding: ENCODINGS[h.encoding],
        userVersion: h.userVersion,
        applicationId: h.applicationId,
        versionValidFor: h.versionValidFor,
        sqliteVersion: h.sqliteVersion,
      },
      wal: wal && {
        bytes: walScan.size,
        pageSize: wal.pageSize,
        checkpointSeq: wal.header.checkpointSeq,
        salt1: wal.header.salt1,
        salt2: wal.header.salt2,
        validFrames: walScan.lastValidFrame,
        lastCommitFrame: wal.mxFrame,
        commits: wal.commits.length,
        pagesAfterCommit: wal.dbSize,
      },
      shm: shm && { mxFrame: shm.mxFrame, pages: shm.nPage, backfilled: shm.nBackfill, backfillAttempted: shm.nBackfillAttempted },
      hotJournal: js.active ? { bytes: js.size, applied: pager.hotJournal !== null } : null,
      schema: { tables: count('table'), indexes: count('index'), views: count('view'), triggers: count('trigger') },
    };
    if (p.flags.has('json')) {
      io.stdout(JSON.stringify(info, null, 2) + '\n');
      return 0;
    }
    const lines: string[] = [];
    const add = (k: string, v: unknown) => lines.push(`${(k + ':').padEnd(24)}${v}`);
    add('file', `${file} (${dbBytes} bytes)`);
    add('page size', info.pageSize);
    add('pages', info.pageCount);
    if (h) {
      add('journal mode', info.journalMode);
      add('text encoding', ENCODINGS[h.encoding]);
      add('reserved bytes', h.reservedBytes);
      add('change counter', h.changeCounter);
      add('header page count', `${h.headerPageCount}${h.pageCountValid ? '' : ' (stale: using the file size)'}`);
      add('freelist', `${h.freelistCount} pages (first trunk ${h.freelistTrunk})`);
      add('schema cookie', h.schemaCookie);
      add('schema format', h.schemaFormat);
      add('auto vacuum', info.header!.autoVacuum);
      add('user version', h.userVersion);
      add('application id', h.applicationId);
      add('written by SQLite', h.sqliteVersion);
    } else add('contents', 'empty database');
    if (info.wal) {
      add('WAL', `${info.wal.bytes} bytes, ${info.wal.validFrames} valid frames, last commit at frame ${info.wal.lastCommitFrame} (${info.wal.commits} commits)`);
      add('WAL salts', `${info.wal.salt1.toString(16)} ${info.wal.salt2.toString(16)}, checkpoint sequence ${info.wal.checkpointSeq}`);
    }
    if (info.shm) add('-shm (hint)', `last commit frame ${info.shm.mxFrame}, ${info.shm.backfilled} frames checkpointed`);
    if (info.hotJournal) add('hot journal', `${info.hotJournal.bytes} bytes: showing the state before the interrupted transaction`);
    add('schema', `${info.schema.tables} tables, ${info.schema.indexes} indexes, ${info.schema.views} views, ${info.schema.triggers} triggers`);
    io.stdout(lines.join('\n') + '\n');
    return 0;
  } finally {
    await db.close();
  }
}
