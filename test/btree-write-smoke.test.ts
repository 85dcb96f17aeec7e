import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../btree/record.js';
import { BtreeWriter } from '../btree/write.js';
import { addSchemaRow, createDb, dumpDb, openSqlite, sqliteCheck } from './util/write-db.js';

describe('btree writer smoke', () => {
  for (const av of ['none', 'full', 'incremental'] as const) {
    it(`sequential and random inserts, deletes (${av})`, async () => {
      const db = await createDb({ pageSize: 1024, autoVacuum: av });
      let txn = await db.pager.beginWrite();
      let w = new BtreeWriter(txn);
      const root = await w.createBtree('table');
      await addSchemaRow(db, txn, w, 'table', 't', 't', root, 'CREATE TABLE t(a)');
      for (let i = 1; i <= 2000; i++) await w.insert(root, i, encodeRecord([`row ${i} `.repeat(1 + (i % 7))], 1));
      await w.beforeCommit();
      await txn.commit();
      let path = dumpDb(db);
      expect(sqliteCheck(path)).toEqual([]);
      let s = openSqlite(path);
      expect(s.prepare('SELECT count(*) FROM t').pluck().get()).toBe(2000);
      s.close();

      txn = await db.pager.beginWrite();
      w = new BtreeWriter(txn);
      for (let i = 1; i <= 2000; i += 2) expect(await w.delete(root, i)).toBe(true);
      for (let i = 0; i < 300; i++) await w.insert(root, 5000 + ((i * 7919) % 1000), encodeRecord(['x'.repeat(i * 3)], 1));
      await w.beforeCommit();
      await txn.commit();
      path = dumpDb(db);
      expect(sqliteCheck(path)).toEqual([]);
      s = openSqlite(path);
      expect(s.prepare('SELECT count(*) FROM t').pluck().get()).toBe(1000 + 300);
      s.close();

      txn = await db.pager.beginWrite();
      w = new BtreeWriter(txn);
      for (let i = 2; i <= 2000; i += 2) expect(await w.delete(root, i)).toBe(true);
      await w.incrementalVacuum(0);
      await w.beforeCommit();
      await txn.commit();
      path = dumpDb(db);
      expect(sqliteCheck(path)).toEqual([]);
      s = openSqlite(path);
      expect(s.prepare('SELECT count(*) FROM t').pluck().get()).toBe(300);
      s.close();
    });
  }
});

describe('initializeDatabase', () => {
  const cases = [
    { pageSize: 512, reserved: 0, autoVacuum: 'none' as const, encoding: 1 as const },
    { pageSize: 1024, reserved: 12, autoVacuum: 'full' as const, encoding: 2 as const },
    { pageSize: 4096, reserved: 0, autoVacuum: 'incremental' as const, encoding: 3 as const },
    { pageSize: 65536, reserved: 255, autoVacuum: 'full' as const, encoding: 1 as const },
  ];
  for (const c of cases) {
    it(`a new file SQLite reads and writes (${JSON.stringify(c)})`, async () => {
      const db = await createDb(c);
      const path = dumpDb(db);
      // one page, like SQLite's own new files (no pointer-map page yet in auto-vacuum mode)
      expect(db.storage.getFile('db')!.length).toBe(c.pageSize);
      expect(sqliteCheck(path)).toEqual([]);
      const s = new Database(path);
      try {
        expect(s.pragma('page_size', { simple: true })).toBe(c.pageSize);
        expect(s.pragma('auto_vacuum', { simple: true })).toBe({ none: 0, full: 1, incremental: 2 }[c.autoVacuum]);
        expect(s.pragma('encoding', { simple: true })).toBe({ 1: 'UTF-8', 2: 'UTF-16le', 3: 'UTF-16be' }[c.encoding]);
        // SQLite can write to it: a no-allocation write first (SQLite refuses to commit an
        // auto-vacuum file whose last page is a pointer-map page), then a table
        s.pragma('user_version = 7');
        s.exec("CREATE TABLE t(x); INSERT INTO t VALUES ('hello');");
        expect(s.prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
      } finally {
        s.close();
      }
    });
  }
});

describe('misuse', () => {
  it('argument errors are MISUSE / RANGE, not CORRUPT', async () => {
    const { MemoryStorage } = await import('../pager/memory.js');
    const { Pager } = await import('../pager/pager.js');
    const { isQuireError } = await import('../pager/errors.js');
    const code = async (f: () => unknown): Promise<string> => {
      try {
        await f();
        return 'ok';
      } catch (e) {
        return isQuireError(e) ? e.code : String(e);
      }
    };
    const pager = await Pager.open(new MemoryStorage());
    const empty = await pager.beginWrite();
    const we = new BtreeWriter(empty);
    expect(await code(() => we.createBtree('table'))).toBe('MISUSE');
    expect(await code(() => we.insert(1, 1, new Uint8Array([2, 1]))))
      .toBe('MISUSE');
    await empty.rollback();
    const db = await createDb({ pageSize: 1024 });
    const txn = await db.pager.beginWrite();
    const w = new BtreeWriter(txn);
    const root = await w.createBtree('table');
    expect(await code(() => w.insert(root, 1.5, encodeRecord([1], 1)))).toBe('RANGE');
    expect(await code(() => w.insert(root, 2n ** 63n, encodeRecord([1], 1)))).toBe('RANGE');
    expect(await code(() => w.insert(0, 1, encodeRecord([1], 1)))).toBe('MISUSE');
    expect(await code(() => w.insert(999, 1, encodeRecord([1], 1)))).toBe('CORRUPT');
    expect(await code(() => w.dropBtree(1))).toBe('MISUSE');
    expect(await code(() => w.insertIndex(root, new Uint8Array([9, 9, 9]), []))).toBe('MISUSE');
    expect(await code(() => w.createBtree('view' as 'table'))).toBe('MISUSE');
    // an index operation on a table root is CORRUPT (the page is not what the schema says)
    expect(await code(() => w.insertIndex(root, encodeRecord([1], 1), []))).toBe('CORRUPT');
    expect(await code(() => w.insert(root, -(2n ** 63n), encodeRecord([1], 1)))).toBe('ok');
    expect(await w.maxRowid(root)).toBe(-(2n ** 63n));
    await txn.rollback();
  });
});
