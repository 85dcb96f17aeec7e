/**
 * Backup destinations.
 *
 * The destination is left as SQLite's backup leaves it: written as one transaction at the
 * end, so its readers never see a half-copied database. Its page size follows the source's
 * (READONLY, as in SQLite, when the destination is a WAL database or an in-memory database
 * that already has content with another page size). Page 1 follows these rules
 * (applyDestinationHeader):
 *
 *   24  change counter    = the destination's own old value + 1 (1 for a fresh file)
 *   92  version-valid-for = that counter
 *   96  version number    = the one quire writes
 *   40  schema cookie     = the destination's own old value + 1 (1 for a fresh file)
 *   28  page count        = the copied page count
 *   18/19 journal mode    = 2 when the destination is a WAL database, or the source was one
 *                           (unless the caller asked for a rollback-mode file), else 1
 *
 * A forensic copy (`raw`) keeps page 1 exactly as the source had it.
 *
 * DatabaseSink stages pages in scratch storage (a temporary file beside a file database, or
 * memory) while holding the destination's write lock from the first step (SQLite's backup
 * holds the destination's write transaction the same way), then commits them with
 * WriteTxn.replaceAll: journaled (rollback mode) or as WAL frames, memory bounded.
 */
import { put32 } from '../../pager/bytes.js';
import { ErrorCode, QuireError, ioerr } from '../../pager/errors.js';
import { QUIRE_SQLITE_VERSION_NUMBER, type DbHeader } from '../../pager/header.js';
import { MemoryStorage } from '../../pager/memory.js';
import type { WriteTxn } from '../../pager/pager.js';
import { readExactly, type Storage } from '../../pager/storage.js';
import type { Database } from '../database.js';
import type { PageSink, SnapshotIdentity } from './engine.js';

export type DestinationJournalMode = 'source' | 'wal' | 'rollback';

export interface DestinationRules {
  /** Journal mode of the copy: as the source ('source', default), or forced. */
  journalMode: DestinationJournalMode;
  /** Keep page 1 byte for byte (forensic copies). */
  raw: boolean;
}

/** Applies the destination header rules (see the module comment) to page 1 in place. */
export function applyDestinationHeader(
  page1: Uint8Array,
  old: Pick<DbHeader, 'changeCounter' | 'schemaCookie'> | null,
  pageCount: number,
  rules: DestinationRules,
  destIsWal = false,
): void {
  if (rules.raw) return;
  const counter = ((old?.changeCounter ?? 0) + 1) >>> 0;
  put32(page1, 24, counter);
  put32(page1, 92, counter);
  put32(page1, 96, QUIRE_SQLITE_VERSION_NUMBER);
  put32(page1, 40, ((old?.schemaCookie ?? 0) + 1) >>> 0);
  put32(page1, 28, pageCount);
  const wal = destIsWal || (rules.journalMode === 'wal' ? true : rules.journalMode === 'rollback' ? false : page1[19] === 2);
  page1[18] = page1[19] = wal ? 2 : 1;
}

export class DatabaseSink implements PageSink {
  private readonly dest: Database;
  private readonly rules: DestinationRules;
  private txn: WriteTxn | null = null;
  private staging: Storage | null = null;
  private ps = 0;
  private count = 0;

  constructor(dest: Database, rules: DestinationRules) {
    this.dest = dest;
    this.rules = rules;
  }

  async begin(pageSize: number, pageCount: number): Promise<void> {
    if (!this.txn) this.txn = await this.dest.pager.beginWrite();
    const base = this.txn.base;
    if (base.pageCount > 0 && pageSize !== base.pageSize) {
      if (this.dest.pager.mode === 'wal' || this.dest.storage.inMemory) {
        throw new QuireError(
          ErrorCode.READONLY,
          `cannot back up into ${this.dest.name}: it is ${this.dest.pager.mode === 'wal' ? 'a WAL' : 'an in-memory'} database with page size ${base.pageSize}, the source's is ${pageSize}`,
        );
      }
    }
    if (!this.staging || this.ps !== pageSize) {
      await this.closeStaging();
      this.staging = this.dest.storage.scratch ? await this.dest.storage.scratch() : new MemoryStorage({ label: 'backup staging' });
    }
    this.ps = pageSize;
    this.count = pageCount;
  }

  async write(first: number, data: Uint8Array): Promise<void> {
    try {
      await this.staging!.write('db', (first - 1) * this.ps, data);
    } catch (e) {
      throw ioerr('writing the backup staging area', e);
    }
  }

  setPageCount(n: number): void {
    this.count = n;
  }

  async readBack(first: number, into: Uint8Array): Promise<number> {
    try {
      const b = await this.staging!.read('db', (first - 1) * this.ps, into.length);
      into.set(b.subarray(0, into.length));
      return Math.min(b.length, into.length);
    } catch (e) {
      throw ioerr('reading the backup staging area', e);
    }
  }

  async finish(_snapshot: SnapshotIdentity): Promise<void> {
    const txn = this.txn!;
    const staging = this.staging!;
    const ps = this.ps;
    const destIsWal = this.dest.pager.mode === 'wal';
    try {
      await txn.replaceAll(
        ps,
        this.count,
        (first, count) => readExactly(staging, 'db', (first - 1) * ps, count * ps),
        (page1, old) => applyDestinationHeader(page1, old, this.count, this.rules, destIsWal),
      );
    } finally {
      this.txn = null;
      await this.closeStaging();
    }
  }

  async abort(): Promise<void> {
    const txn = this.txn;
    this.txn = null;
    if (txn) await txn.rollback();
    await this.closeStaging();
  }

  private async closeStaging(): Promise<void> {
    const s = this.staging;
    this.staging = null;
    if (s) await s.close().catch(() => undefined);
  }
}
