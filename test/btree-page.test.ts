import { describe, expect, it } from 'vitest';
import { cellOffset, forgetPage, indexMaxLocal, minLocal, parsePage, tableLeafMaxLocal } from '../btree/page.js';
import { localPayloadSize } from '../btree/cell.js';
import { buildDb, openReadonly, rootOf } from './util/btree-db.js';
import { ImageSource } from './util/image-source.js';

describe('b-tree page headers', () => {
  it('parses the four page kinds as dbstat reports them, page 1 at offset 100', () => {
    const { path, image } = buildDb({ pageSize: 1024 }, (db) => {
      db.exec('CREATE TABLE t(a, b); CREATE INDEX tb ON t(b);');
      const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
      db.transaction(() => {
        for (let i = 0; i < 2000; i++) ins.run(i, `text ${i}`.repeat(3));
      })();
    });
    const db = openReadonly(path);
    const rows = db.prepare(`SELECT name, pageno, pagetype, ncell FROM dbstat WHERE pagetype != 'overflow'`).all() as {
      name: string;
      pageno: number;
      pagetype: string;
      ncell: number;
    }[];
    const indexes = new Set(['tb']);
    db.close();
    const src = new ImageSource(image);
    const seen = new Set<number>();
    for (const r of rows) {
      const p = parsePage(src.page(r.pageno) as Uint8Array, r.pageno, src.usableSize);
      expect(p.nCell).toBe(r.ncell);
      expect(p.leaf).toBe(r.pagetype === 'leaf');
      expect(p.intKey).toBe(!indexes.has(r.name));
      expect(p.hdr).toBe(r.pageno === 1 ? 100 : 0);
      expect(p.maxLocal).toBe(p.intKey ? 1024 - 35 : Math.floor((1012 * 64) / 255) - 23);
      seen.add(p.type);
      for (let i = 0; i < p.nCell; i++) {
        expect(cellOffset(p, i)).toBeGreaterThanOrEqual(p.contentStart);
        expect(cellOffset(p, i)).toBeLessThan(p.usableSize);
      }
    }
    expect([...seen].sort((a, b) => a - b)).toStrictEqual([2, 5, 10, 13]);
  });

  it('a content-area start of 0 means 65536', () => {
    const { path, image } = buildDb({ pageSize: 65536 }, (db) => db.exec('CREATE TABLE e(x)'));
    const db = openReadonly(path);
    const root = rootOf(db, 'e');
    db.close();
    const src = new ImageSource(image);
    const data = src.page(root) as Uint8Array;
    expect(data[5] | data[6]).toBe(0);
    const p = parsePage(data, root, src.usableSize);
    expect(p.contentStart).toBe(65536);
    expect(p.nCell).toBe(0);
  });

  it('re-parses an image whose header changed in place; forgetPage drops a parse', () => {
    const { image } = buildDb({ pageSize: 512 }, (db) => {
      db.exec('CREATE TABLE t(x)');
      const ins = db.prepare('INSERT INTO t VALUES (?)');
      for (let i = 0; i < 5; i++) ins.run(i);
    });
    const src = new ImageSource(image.slice());
    const data = src.page(2) as Uint8Array;
    const p1 = parsePage(data, 2, src.usableSize);
    expect(p1.nCell).toBe(5);
    expect(parsePage(data, 2, src.usableSize)).toBe(p1); // cached
    data[4] = 4; // nCell 5 -> 4
    const p2 = parsePage(data, 2, src.usableSize);
    expect(p2.nCell).toBe(4);
    forgetPage(data);
    expect(parsePage(data, 2, src.usableSize)).not.toBe(p2);
  });

  it('local payload sizes: all local up to maxLocal, else within [minLocal, maxLocal] with full overflow pages unless minLocal', () => {
    for (const U of [480, 512, 1000, 1024, 4061, 4096, 65472, 65536]) {
      const M = minLocal(U);
      for (const maxL of [tableLeafMaxLocal(U), indexMaxLocal(U)]) {
        for (const P of [0, 1, M, maxL - 1, maxL, maxL + 1, maxL + 2, maxL + U - 4, 10 * U + 3, 3_000_001]) {
          const local = localPayloadSize(P, maxL, M, U);
          if (P <= maxL) {
            expect(local).toBe(P);
            continue;
          }
          expect(local).toBeGreaterThanOrEqual(M);
          expect(local).toBeLessThanOrEqual(maxL);
          // SQLite keeps the overflow part a whole number of pages when that fits locally
          if (local !== M) expect((P - local) % (U - 4)).toBe(0);
          else expect(M + ((P - M) % (U - 4)) > maxL || (P - M) % (U - 4) === 0).toBe(true);
        }
      }
    }
  });
});
