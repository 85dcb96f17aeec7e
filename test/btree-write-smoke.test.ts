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
