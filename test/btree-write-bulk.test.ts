/**
 * Bulk appends through the append path (tail + balance_quick): 200k sequential rows of ~250
 * bytes into a 4 KiB-page table in one transaction, in memory. Checks SQLite's
 * integrity_check and row count, reports throughput and the leaf fill factor, and compares the
 * file size with what SQLite itself produces for the same rows (balance_quick should make
 * both ~100% full). Also: the tail survives writer objects created per statement, and is not
 * fooled by a savepoint rollback that swaps page images.
 */
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { parsePage } from '../btree/page.js';
import { encodeRecord } from '../btree/record.js';
import { BtreeWriter } from '../btree/write.js';
import { tempDir } from './util/btree-db.js';
import { addSchemaRow, createDb, dumpDb, openSqlite, sqliteCheck } from './util/write-db.js';

const N = 200_000;

function text(i: number): string {
  return `row ${i} `.padEnd(240, String.fromCharCode(97 + (i % 26)));
}

describe('bulk appends', () => {
  it(`${N} sequential appends of ~250-byte records (4 KiB pages)`, async () => {
    const db = await createDb({ pageSize: 4096 });
    const txn = await db.pager.beginWrite();
    let w = new BtreeWriter(txn);
    const root = await w.createBtree('table');
    await addSchemaRow(db, txn, w, 'table', 't', 't', root, 'CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c INTEGER)');
    const recs: Uint8Array[] = new Array(N);
    for (let i = 0; i < N; i++) recs[i] = encodeRecord([null, text(i + 1), i * 3], 1);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      if (i % 50_000 === 0) w = new BtreeWriter(txn); // writers per statement share the tail
      await w.insert(root, i + 1, recs[i]);
    }
    const t1 = performance.now();
    await txn.commit();
    const rate = Math.round(N / ((t1 - t0) / 1000));

    // Fill factor of the leaves.
    const snap = await db.pager.read();
    let leaves = 0;
    let used = 0;
    let interior = 0;
    const U = snap.usableSize;
    for (let pg = 2; pg <= snap.pageCount; pg++) {
      const d = (await snap.page(pg)) as Uint8Array;
      if (d[0] === 13) {
        const p = parsePage(d, pg, U);
        leaves++;
        used += U - p.contentStart + 8 + 2 * p.nCell;
      } else if (d[0] === 5) interior++;
    }
    const fill = used / (leaves * U);
    db.pager.releaseSnapshot(snap);

    const path = dumpDb(db);
    expect(sqliteCheck(path)).toEqual([]);
    const s = openSqlite(path);
    expect(s.prepare('SELECT count(*), min(a), max(a) FROM t').raw().get()).toEqual([N, 1, N]);
    expect(s.prepare('SELECT b FROM t WHERE a = ?').pluck().get(12345)).toBe(text(12345));
    const quirePages = s.prepare('PRAGMA page_count').pluck().get() as number;
    s.close();

    // The same rows written by SQLite itself.
    const ref = join(tempDir(), 'bulk-ref.db');
    const r = new Database(ref);
    r.exec('CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c INTEGER)');
    const ins = r.prepare('INSERT INTO t VALUES (?, ?, ?)');
    const t2 = performance.now();
    r.transaction(() => {
      for (let i = 0; i < N; i++) ins.run(i + 1, text(i + 1), i * 3);
    })();
    const t3 = performance.now();
    const sqlitePages = r.prepare('PRAGMA page_count').pluck().get() as number;
    r.close();
    console.log(
      `bulk: ${N} appends in ${(t1 - t0).toFixed(0)} ms = ${rate} rows/s (b-tree layer, records pre-encoded); ` +
        `better-sqlite3 INSERTs of the same rows (file, whole statement path): ${(t3 - t2).toFixed(0)} ms; ` +
        `leaves ${leaves}, interior ${interior}, leaf fill ${(fill * 100).toFixed(1)}%, pages quire ${quirePages} vs SQLite ${sqlitePages}`,
    );
    expect(fill).toBeGreaterThan(0.95);
    expect(quirePages).toBeLessThanOrEqual(Math.ceil(sqlitePages * 1.01));
  }, 300_000);

  it('tryAppend writes without a promise when it can, and says no otherwise', async () => {
    const db = await createDb({ pageSize: 4096, autoVacuum: 'full' });
    const txn = await db.pager.beginWrite();
    const w = new BtreeWriter(txn);
    const root = await w.createBtree('table');
    await addSchemaRow(db, txn, w, 'table', 't', 't', root, 'CREATE TABLE t(a)');
    expect(w.tryAppend(root, 1, encodeRecord(['x'], 1))).toBe(false); // no tail yet
    let sync = 0;
    for (let i = 1; i <= 50_000; i++) {
      const rec = encodeRecord([text(i).slice(0, 50 + (i % 200))], 1);
      if (w.tryAppend(root, i, rec)) sync++;
      else await w.insert(root, i, rec);
    }
    expect(sync / 50_000).toBeGreaterThan(0.9);
    expect(w.tryAppend(root, 10, encodeRecord(['replace'], 1))).toBe(false); // not an append
    expect(w.tryAppend(root, 60_000, encodeRecord([new Uint8Array(5000)], 1))).toBe(false); // overflow
    await w.insert(root, 60_000, encodeRecord([new Uint8Array(5000)], 1));
    await w.beforeCommit();
    await txn.commit();
    const path = dumpDb(db);
    expect(sqliteCheck(path)).toEqual([]);
    const s = openSqlite(path);
    expect(s.prepare('SELECT count(*), max(rowid), sum(length(a)) FROM t').raw().get()).toEqual([
      50_001,
      60_000,
      5000 + Array.from({ length: 50_000 }, (_, k) => Math.min(240, 50 + ((k + 1) % 200))).reduce((x, y) => x + y, 0),
    ]);
    s.close();
  });

  it('the tail is dropped when a savepoint rollback swaps pages, and appends stay correct', async () => {
    const db = await createDb({ pageSize: 1024 });
    const txn = await db.pager.beginWrite();
    const w = new BtreeWriter(txn);
    const root = await w.createBtree('table');
    await addSchemaRow(db, txn, w, 'table', 't', 't', root, 'CREATE TABLE t(a)');
    const rec = (i: number) => encodeRecord([`v${i}`.repeat(1 + (i % 9))], 1);
    const want = new Map<number, number>();
    let next = 1;
    for (let round = 0; round < 40; round++) {
      // appends kept
      for (let i = 0; i < 30; i++, next++) {
        await w.insert(root, next, rec(next));
        want.set(next, next);
      }
      // appends rolled back (a statement failing half-way)
      const sp = txn.savepoint();
      const w2 = new BtreeWriter(txn);
      const first = next;
      for (let i = 0; i < 25 + round; i++) await w2.insert(root, first + i, rec(first + i));
      expect(await w2.maxRowid(root)).toBe(first + 24 + round);
      txn.rollbackTo(sp);
      txn.release(sp);
      expect(await w.maxRowid(root)).toBe(next - 1);
    }
    await txn.commit();
    const path = dumpDb(db);
    expect(sqliteCheck(path)).toEqual([]);
    const s = openSqlite(path);
    const rows = s.prepare('SELECT rowid, a FROM t ORDER BY rowid').raw().all() as [number, string][];
    s.close();
    expect(rows.length).toBe(want.size);
    for (const [k, v] of rows) expect(v).toBe(`v${k}`.repeat(1 + (k % 9)));
  });

  it('after heavy random deletes no leaf is under a third full (merges with siblings)', async () => {
    const db = await createDb({ pageSize: 1024, autoVacuum: 'incremental' });
    const txn = await db.pager.beginWrite();
    const w = new BtreeWriter(txn);
    const root = await w.createBtree('table');
    await addSchemaRow(db, txn, w, 'table', 't', 't', root, 'CREATE TABLE t(a)');
    const N = 20_000;
    for (let i = 1; i <= N; i++) await w.insert(root, i, encodeRecord(['x'.repeat(20 + ((i * 7) % 80))], 1));
    const keys = Array.from({ length: N }, (_, i) => i + 1);
    let x = 1;
    for (let i = keys.length - 1; i > 0; i--) {
      x = (x * 1103515245 + 12345) >>> 0;
      const j = x % (i + 1);
      [keys[i], keys[j]] = [keys[j], keys[i]];
    }
    for (const k of keys.slice(0, Math.floor(N * 0.85))) expect(await w.delete(root, k)).toBe(true);
    const fills: number[] = [];
    const walk = async (pg: number): Promise<void> => {
      const p = parsePage((await txn.page(pg)) as Uint8Array, pg, 1024);
      if (p.leaf) {
        fills.push((1024 - p.contentStart + 8 + 2 * p.nCell) / 1024);
        return;
      }
      for (let i = 0; i < p.nCell; i++) {
        const off = (p.data[p.cellPtr + 2 * i] << 8) | p.data[p.cellPtr + 2 * i + 1];
        await walk(((p.data[off] << 24) >>> 0) + ((p.data[off + 1] << 16) | (p.data[off + 2] << 8) | p.data[off + 3]));
      }
      await walk(p.rightChild);
    };
    await walk(root);
    const avg = fills.reduce((a, b) => a + b, 0) / fills.length;
    console.log(`fill after deleting 85%: ${fills.length} leaves, average ${(avg * 100).toFixed(1)}%, min ${(Math.min(...fills) * 100).toFixed(1)}%`);
    expect(Math.min(...fills)).toBeGreaterThanOrEqual(1 / 3);
    expect(avg).toBeGreaterThan(0.5);
    expect(await w.incrementalVacuum(0)).toBeGreaterThan(0);
    await txn.commit();
    expect(sqliteCheck(dumpDb(db))).toEqual([]);
  });

  it('sequential index appends and descending table inserts stay valid', async () => {
    const db = await createDb({ pageSize: 512, autoVacuum: 'full' });
    const txn = await db.pager.beginWrite();
    const w = new BtreeWriter(txn);
    const root = await w.createBtree('table');
    await addSchemaRow(db, txn, w, 'table', 't', 't', root, 'CREATE TABLE t(a)');
    const iroot = await w.createBtree('index');
    await addSchemaRow(db, txn, w, 'index', 'i', 't', iroot, 'CREATE INDEX i ON t(a)');
    for (let k = 5000; k >= 1; k--) {
      await w.insert(root, k, encodeRecord([k * 2], 1));
      await w.insertIndex(iroot, encodeRecord([k * 2, k], 1), []);
    }
    for (let k = 5001; k <= 8000; k++) {
      await w.insert(root, k, encodeRecord([k * 2], 1));
      await w.insertIndex(iroot, encodeRecord([k * 2, k], 1), []);
    }
    await w.beforeCommit();
    await txn.commit();
    const path = dumpDb(db);
    expect(sqliteCheck(path)).toEqual([]);
    const s = openSqlite(path);
    expect(s.prepare('SELECT count(*), sum(a) FROM t INDEXED BY i WHERE a > 0').raw().get()).toEqual([8000, 8000 * 8001]);
    s.close();
  });
});
