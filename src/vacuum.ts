/**
 * VACUUM: rebuilds a database compactly, as SQLite's VACUUM does — every b-tree rewritten in
 * key order into a fresh file (no free pages; pages packed as SQLite's VACUUM packs them, so
 * the page count is SQLite's: btree/bulk.ts), then swapped in atomically. Memory stays flat:
 * the builder keeps a few pages per tree level, the scratch pager spills past 4 MB.
 *
 * The copy is b-tree level: table rows are copied as (rowid, record bytes) and index entries
 * as records, byte for byte, so it needs no SQL evaluation and works for every table (CHECK
 * constraints, generated columns, triggers and expression indexes included). sqlite_schema
 * rows keep their rowids and text; only root pages change. Views, triggers and virtual tables
 * are schema rows only and are copied as such. Header fields SQLite's VACUUM keeps (user
 * version, application id, default cache size, auto-vacuum mode, encoding, reserved bytes,
 * page size, journal mode) are kept; the change counter and schema cookie move on.
 *
 * The new image is built in scratch storage beside the database (memory for a memory
 * database), then written over the original in one journaled transaction (Pager.replaceAll),
 * or published as a new file (`into`).
 */
import { ErrorCode, QuireError, misuse } from '../pager/errors.js';
import { newHeader, type DbHeader } from '../pager/header.js';
import { MemoryStorage } from '../pager/memory.js';
import { Pager, type WriteTxn } from '../pager/pager.js';
import { readExactly, type Storage } from '../pager/storage.js';
import { applyDestinationHeader } from './backup/sink.js';
import type { CellInfo } from '../btree/cell.js';
import { IndexCursor, TableCursor } from '../btree/cursor.js';
import type { BtPage } from '../btree/page.js';
import { encodeRecord } from '../btree/record.js';
import { BulkLoad } from '../btree/bulk.js';
import { keyComparator } from '../btree/compare.js';
import { BtreeWriter, initializeDatabase } from '../btree/write.js';
import { nameKey, readCatalog } from './catalog.js';
import type { Database } from './database.js';
import { eventLoopTurner } from './util/yield.js';

export interface VacuumResult {
  pagesBefore: number;
  pagesAfter: number;
}

export interface VacuumOptions {
  /**
   * Cancels the rebuild (ABORT) while the new image is being built; the database is left as
   * it was and the scratch file removed. Once the swap-in commit has started it completes.
   */
  signal?: AbortSignal;
  /** @internal Bytes of new pages per scratch transaction (default SEGMENT_BYTES; tests). */
  segmentBytes?: number;
}

/** Rebuilds `db` in place (it must be writable). */
export async function vacuumDatabase(db: Database, options: VacuumOptions = {}): Promise<VacuumResult> {
  db.assertOpen();
  if (db.readOnly) throw new QuireError(ErrorCode.READONLY, `attempt to write a readonly database (${db.name})`);
  if (db.inTransaction) throw misuse('cannot VACUUM from within a transaction');
  const scratch: Storage = db.storage.scratch ? await db.storage.scratch() : new MemoryStorage({ label: 'vacuum' });
  try {
    const built = await buildCompact(db, scratch, options.signal, options.segmentBytes ?? SEGMENT_BYTES);
    if (!built) return { pagesBefore: 0, pagesAfter: 0 };
    checkAbort(options.signal);
    const { pageSize, pageCount, pagesBefore, walMode } = built;
    await db.pager.replaceAll(
      pageSize,
      pageCount,
      (first, count) => readExactly(scratch, 'db', (first - 1) * pageSize, count * pageSize),
      (page1, old) => applyDestinationHeader(page1, old, pageCount, { journalMode: walMode ? 'wal' : 'rollback', raw: false }),
    );
    return { pagesBefore, pagesAfter: pageCount };
  } finally {
    await scratch.close();
  }
}

/** Writes the compact image of `db` into `out`; null for an empty database. */
function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new QuireError(ErrorCode.ABORT, `VACUUM interrupted (${String(signal.reason)}); the database is unchanged`);
}

/** With a signal: checks it after each entry, turning the event loop now and then so it can fire. */
function abortCheck(signal: AbortSignal | undefined): () => Promise<void> | undefined {
  if (!signal) return () => undefined;
  const turn = eventLoopTurner();
  return () => {
    checkAbort(signal);
    return turn();
  };
}

async function buildCompact(
  db: Database,
  out: Storage,
  signal: AbortSignal | undefined,
  segmentBytes: number,
): Promise<{ pageSize: number; pageCount: number; pagesBefore: number; walMode: boolean } | null> {
  const snap = await db.pager.read();
  try {
    const h = snap.header;
    if (!h || snap.pageCount === 0) return null;
    const target = await Pager.open(out, { readOnly: false, newPageSize: h.pageSize, synchronous: 'off', cacheBytes: 2 << 20, spillBytes: 4 << 20 });
    try {
      const seg = new ScratchTxn(target, await target.beginWrite(), segmentBytes);
      const fresh: DbHeader = {
        ...newHeader({
          pageSize: h.pageSize,
          reservedBytes: h.reservedBytes,
          encoding: h.encoding,
          autoVacuum: h.autoVacuumTop === 0 ? 'none' : h.incrementalVacuum ? 'incremental' : 'full',
        }),
        schemaFormat: h.schemaFormat || 4,
        userVersion: h.userVersion,
        applicationId: h.applicationId,
        defaultCacheSize: h.defaultCacheSize,
        rawEncoding: h.rawEncoding,
      };
      await initializeDatabase(seg.txn, fresh);
      const check = abortCheck(signal);
      const boolTypes = (h.schemaFormat || 4) >= 4;
      const catalog = await readCatalog(snap, h.schemaCookie, h.schemaFormat || 4);
      for (const r of catalog.rows) {
        let root = r.rootPage;
        if ((r.type === 'table' || r.type === 'index') && r.rootPage > 0) {
          const isIndex = r.type === 'index' || (await isIndexTree(snap, r.rootPage));
          root = await new BtreeWriter(seg.txn).createBtree(isIndex ? 'index' : 'table');
          if (isIndex) {
            // Entries go in in their own order, so the writer must compare them the same way.
            const info = r.type === 'index' ? catalog.indexes.get(nameKey(r.name)) : catalog.tables.get(nameKey(r.name));
            const why = !info ? 'not in the catalog' : info.error;
            if (!info || why) throw new QuireError(ErrorCode.SCHEMA, `cannot VACUUM: ${r.type} ${r.name}: ${why}`);
            const keyInfo = info.keyInfo;
            const load = new BulkLoad(seg.txn, root, 'index', keyComparator(keyInfo, snap.encoding));
            const cur = new CopyIndexCursor(snap, r.rootPage, keyInfo);
            await copyEntries(
              cur,
              (c) => {
                const cell = c.localCell();
                const key = cell === null ? null : c.record();
                if (key === null || key instanceof Promise) return then(c.payload(), (p) => load.appendEntry(p));
                return load.appendEntryCell(cell!.slice(), key);
              },
              seg,
              load,
              check,
            );
            await load.finish();
          } else {
            const load = new BulkLoad(seg.txn, root, 'table');
            const cur = new CopyTableCursor(snap, r.rootPage);
            await copyEntries(
              cur,
              (c) => {
                const cell = c.localCell();
                const rowid = c.rowid;
                if (cell === null) return then(c.payload(), (p) => load.appendRow(rowid, p));
                return load.appendRowCell(rowid, cell.slice());
              },
              seg,
              load,
              check,
            );
            await load.finish();
          }
        }
        const rec = encodeRecord([r.type, r.name, r.tblName, root, r.sql], snap.encoding, { boolTypes });
        await new BtreeWriter(seg.txn).insert(1, r.rowid, rec);
      }
      await new BtreeWriter(seg.txn).beforeCommit();
      await seg.txn.commit();
      return { pageSize: h.pageSize, pageCount: target.pageCount, pagesBefore: snap.pageCount, walMode: h.readVersion === 2 };
    } finally {
      await target.close();
    }
  } finally {
    snap.release();
  }
}

/**
 * The current entry's leaf cell as it would be written to a page of the same geometry (the
 * source's bytes: a table leaf cell, or an index cell without its left child), when its
 * payload is all on the page and the cell needs no padding; else null (copy the payload).
 */
function localCell(p: BtPage, c: CellInfo): Uint8Array | null {
  if (c.overflow !== 0) return null;
  const start = p.leaf ? c.offset : c.offset + 4;
  const end = c.payloadOffset + c.payloadSize;
  return end - start < 4 ? null : p.data.subarray(start, end);
}

class CopyTableCursor extends TableCursor {
  localCell(): Uint8Array | null {
    this.enter();
    return localCell(this.pages[this.depth], this.currentCell());
  }
}

class CopyIndexCursor extends IndexCursor {
  localCell(): Uint8Array | null {
    this.enter();
    return localCell(this.pages[this.depth], this.currentCell());
  }
}

function then<T>(v: T | Promise<T>, f: (v: T) => Promise<void> | undefined): Promise<void> | undefined {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** Bytes of new pages after which the scratch build commits and begins a new transaction. */
const SEGMENT_BYTES = 64 << 20;

/**
 * The scratch build's write transaction. It is committed and begun again every
 * `bytes` of new pages, so that no transaction's bookkeeping (its dirty and spilled
 * pages) grows with the file; the scratch file is only read once the build is complete.
 */
class ScratchTxn {
  txn: WriteTxn;
  private readonly target: Pager;
  private mark: number;
  private readonly bytes: number;

  constructor(target: Pager, txn: WriteTxn, bytes: number) {
    this.target = target;
    this.txn = txn;
    this.mark = txn.pageCount;
    this.bytes = bytes;
  }

  /** Between entries: spills, or starts the next segment (rebinding `load` to it). */
  step(load: BulkLoad): Promise<void> | undefined {
    if ((this.txn.pageCount - this.mark) * this.txn.pageSize < this.bytes) return this.txn.maybeSpill() ?? undefined;
    return this.next(load);
  }

  private async next(load: BulkLoad): Promise<void> {
    await load.checkpoint();
    await this.txn.commit();
    this.txn = await this.target.beginWrite();
    this.mark = this.txn.pageCount;
    load.rebind(this.txn);
  }
}

/**
 * Walks `cur` from its first entry, calling `copy` on each, stepping the scratch transaction and
 * checking for an abort between entries; awaits only what returns a promise.
 */
async function copyEntries<C extends TableCursor | IndexCursor>(
  cur: C,
  copy: (cur: C) => Promise<void> | undefined,
  seg: ScratchTxn,
  load: BulkLoad,
  check: () => Promise<void> | undefined,
): Promise<void> {
  let ok = cur.first();
  if (ok instanceof Promise) ok = await ok;
  while (ok) {
    const done = copy(cur);
    if (done) await done;
    const step = seg.step(load);
    if (step) await step;
    const turn = check();
    if (turn) await turn;
    ok = cur.next();
    if (ok instanceof Promise) ok = await ok;
  }
}

/** True when the b-tree rooted at `root` is an index b-tree (WITHOUT ROWID tables are). */
async function isIndexTree(snap: { page(p: number): Uint8Array | Promise<Uint8Array> }, root: number): Promise<boolean> {
  const img = await snap.page(root);
  const off = root === 1 ? 100 : 0;
  const t = img[off];
  return t === 2 || t === 10;
}

