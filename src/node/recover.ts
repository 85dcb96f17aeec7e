/**
 * recoverFile: gets a database unstuck after a crash, only when no process holds a lock.
 *
 *   left behind                          recoverFile
 *   -----------------------------------  ---------------------------------------------------
 *   a hot rollback journal               rolls it back (the interrupted transaction undone),
 *                                        as the next SQLite connection would
 *   a WAL with frames                    folds every frame into the database (a TRUNCATE
 *                                        checkpoint), leaving the -wal empty
 *   a -shm (read-only or crashed WAL     nothing to do on Linux: a -shm no process holds is
 *   connection)                          stale, and quire and SQLite both write beside it
 *                                        (SQLite rebuilds it). Without lock information
 *                                        (`assumeUnlocked`) it is removed, as SQLite's last
 *                                        connection removes it on close
 *
 * Any lock on the db file or its -shm, by any process, is BUSY naming the holder: recovering
 * under a live connection is exactly the damage this refuses. Where locks cannot be seen
 * (not Linux) it is BUSY unless the caller asserts `assumeUnlocked`. The look takes no lock:
 * a process that opens the database during the recovery is not seen (the same race as any
 * quire write; see the README).
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';
import { HEADER_SIZE } from '../../pager/header.js';
import { journalState, readHotJournal } from '../../pager/journal.js';
import { Pager } from '../../pager/pager.js';
import { lockConflict } from '../../pager/storage.js';
import { NodeFileStorage } from './file-storage.js';

export interface RecoverOptions {
  /**
   * Where locks cannot be seen (no /proc/locks), act as if no process held one: the caller
   * knows that no other program has the database open. Default false (BUSY). Ignored where
   * locks can be seen.
   */
  assumeUnlocked?: boolean;
}

export interface RecoverResult {
  /** What was done: nothing, a journal rolled back, or a WAL checkpointed. */
  action: 'none' | 'rolled-back' | 'checkpointed';
  /** Pages restored from the journal, or WAL frames folded into the database. */
  count: number;
  /** True when a -shm that no process held was removed (only with assumeUnlocked). */
  shmRemoved: boolean;
  /** True when other processes' locks could be seen (Linux). */
  lockInfo: boolean;
  /** One or two sentences saying what was found and done. */
  message: string;
}

/** Rolls back a hot journal or checkpoints a WAL of the database at `path`, when no process holds a lock. */
export async function recoverFile(path: string, options: RecoverOptions = {}): Promise<RecoverResult> {
  const storage = await NodeFileStorage.open(path, { readOnly: false });
  try {
    const conflict = await lockConflict(storage);
    const lockInfo = conflict !== null;
    if (!lockInfo && !options.assumeUnlocked) {
      throw new QuireError(
        ErrorCode.BUSY,
        `${path}: this platform does not show which processes hold locks on the database, so recover cannot tell a crash from a live connection; if no other program has it open, run again with --assume-unlocked`,
      );
    }
    if (conflict) {
      throw new QuireError(
        ErrorCode.BUSY,
        `${path}: ${conflict}; recover acts only when no process holds a lock on the database: let that connection finish or close it, then run again`,
      );
    }
    const js = await journalState(storage);
    const hot = js.active ? await readHotJournal(storage, await storage.read('db', 0, HEADER_SIZE)) : null;
    const pager = await Pager.open(storage, { readOnly: false, hotJournal: 'view' });
    let action: RecoverResult['action'] = 'none';
    let count = 0;
    const told: string[] = [];
    try {
      if (js.active && !(await storage.exists('journal'))) {
        // Pager.open rolled it back (no process held a lock).
        action = 'rolled-back';
        count = hot?.pages.size ?? 0;
        told.push(`rolled back a hot journal (an interrupted transaction): restored ${count} pages; the database holds its last committed state, ${pager.pageCount} pages`);
      } else if (js.active) {
        told.push('the journal is not hot (its header is incomplete); left as is');
      }
      const wal = pager.walIndex;
      if (wal && wal.mxFrame > 0) {
        if (!(await pager.checkpoint(true))) throw new QuireError(ErrorCode.BUSY, `${path}: the WAL could not be checkpointed now (a read is open on it in this process)`);
        action = 'checkpointed';
        count = wal.mxFrame;
        told.push(`checkpointed ${wal.mxFrame} WAL frames into the database (${wal.dbSize} pages)`);
      }
    } finally {
      await pager.close();
    }
    let shmRemoved = false;
    if (await storage.exists('shm')) {
      if (!lockInfo) {
        await storage.delete('shm');
        shmRemoved = true;
        told.push('removed the -shm (assumed stale)');
      } else {
        told.push('the -shm is stale (no process holds it): quire and SQLite write beside it, SQLite rebuilds it');
      }
    }
    if (told.length === 0) told.push('nothing to recover: no hot journal, no WAL frames');
    const message = `${path}: ${told.join('; ')}`;
    return { action, count, shmRemoved, lockInfo, message };
  } finally {
    await storage.close();
  }
}
