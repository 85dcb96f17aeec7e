import { describe, expect, it } from 'vitest';
import { newCellInfo, parseCell } from '../btree/cell.js';
import { readFreelist, walkFreelist } from '../btree/freelist.js';
import { overflowPageCount } from '../btree/overflow.js';
import { parsePage } from '../btree/page.js';
import {
  PTRMAP_BTREE,
  PTRMAP_FREEPAGE,
  PTRMAP_OVERFLOW1,
  PTRMAP_OVERFLOW2,
  PTRMAP_ROOTPAGE,
  isPtrmapPage,
  ptrmapPageFor,
  readPtrmapEntry,
  type PtrmapEntry,
} from '../btree/ptrmap.js';
import { get32, put32 } from '../pager/bytes.js';
import { isQuireError } from '../pager/errors.js';
import { lockBytePageFor } from '../pager/source.js';
import { buildDb, openReadonly } from './util/btree-db.js';
import { ImageSource } from './util/image-source.js';

async function expectCorrupt(f: () => unknown, text?: string): Promise<void> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  expect(isQuireError(err) && err.code === 'CORRUPT', `expected CORRUPT, got ${String(err)}`).toBe(true);
  if (text !== undefined) expect((err as Error).message).toContain(text);
}

/**
 * Walks every b-tree from its root with page.ts/cell.ts (not the module under test) and returns
 * what each page is: the expected pointer-map entries, plus the set of pages in use.
 */
function layout(src: ImageSource, roots: number[]): { entries: Map<number, PtrmapEntry>; used: Set<number> } {
  const entries = new Map<number, PtrmapEntry>();
  const used = new Set<number>([1]);
  const cell = newCellInfo();
  const visit = (pgno: number, parent: number): void => {
    used.add(pgno);
    if (pgno !== 1) entries.set(pgno, parent === 0 ? { type: PTRMAP_ROOTPAGE, parent: 0 } : { type: PTRMAP_BTREE, parent });
    const p = parsePage(src.page(pgno) as Uint8Array, pgno, src.usableSize);
    for (let i = 0; i < p.nCell; i++) {
      parseCell(p, i, cell);
      if (cell.overflow !== 0) {
        const n = overflowPageCount(cell.payloadSize, cell.localSize, src.usableSize);
        let ov = cell.overflow;
        let prev = pgno;
        for (let k = 0; k < n; k++) {
          used.add(ov);
          entries.set(ov, k === 0 ? { type: PTRMAP_OVERFLOW1, parent: prev } : { type: PTRMAP_OVERFLOW2, parent: prev });
          prev = ov;
          ov = get32(src.page(ov) as Uint8Array, 0);
        }
      }
      if (!p.leaf) visit(cell.leftChild, pgno);
    }
    if (!p.leaf) visit(p.rightChild, pgno);
  };
  for (const r of roots) visit(r, 0);
  return { entries, used };
}

function heavyFreelist(autoVacuum?: 'INCREMENTAL') {
  return buildDb({ pageSize: 512, autoVacuum }, (db) => {
    db.exec('CREATE TABLE t(a, b); CREATE INDEX tb ON t(b); CREATE TABLE keep(x);');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
    const insK = db.prepare('INSERT INTO keep VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) {
        ins.run(i, `payload ${i} `.repeat(1 + (i % 5)));
        if (i % 50 === 0) insK.run(Buffer.alloc(700 + i, i & 0xff));
      }
    })();
    db.exec('DELETE FROM t WHERE a % 10 != 0');
  });
}

describe('freelist', () => {
  it('walks a freelist of several trunks exactly as SQLite counts it, disjoint from the b-trees', async () => {
    const { path, image } = heavyFreelist();
    const db = openReadonly(path);
    const freeCount = db.pragma('freelist_count', { simple: true }) as number;
    const roots = (db.prepare(`SELECT rootpage FROM sqlite_schema WHERE rootpage > 0`).pluck().all() as number[]).concat([1]);
    const used = new Set(db.prepare('SELECT pageno FROM dbstat').pluck().all() as number[]);
    db.close();
    for (const async of [false, true]) {
      const src = new ImageSource(image, { async });
      const fl = await readFreelist(src);
      expect(fl.trunks.length).toBeGreaterThan(2);
      expect(fl.trunks.length + fl.leaves.length).toBe(freeCount);
      const free = new Set([...fl.trunks, ...fl.leaves]);
      expect(free.size).toBe(freeCount);
      // free pages and in-use pages partition the file
      for (const p of free) expect(used.has(p)).toBe(false);
      expect(free.size + used.size).toBe(src.pageCount);
    }
    // the independent walk agrees with dbstat on which pages are in use
    const src = new ImageSource(image);
    expect([...layout(src, roots).used].sort((a, b) => a - b)).toStrictEqual([...used].sort((a, b) => a - b));
  });

  it('an empty freelist', async () => {
    const { image } = buildDb({}, (db) => db.exec('CREATE TABLE t(x)'));
    expect(await readFreelist(new ImageSource(image))).toStrictEqual({ trunks: [], leaves: [] });
  });

  it('rejects cycles, oversized trunks, bad pgnos and counts that disagree with the header', async () => {
    const { image } = heavyFreelist();
    const PS = 512;
    const src0 = new ImageSource(image);
    const fl = await readFreelist(src0);
    const first = fl.trunks[0];
    const page = (img: Uint8Array, pg: number) => img.subarray((pg - 1) * PS, pg * PS);
    const cases: Array<[string, (img: Uint8Array) => void, string]> = [
      ['cycle', (img) => put32(page(img, fl.trunks[1]), 0, first), 'cycle'],
      ['self', (img) => put32(page(img, first), 0, first), 'cycle'],
      ['leaf count', (img) => put32(page(img, first), 4, PS / 4 - 1), 'leaves'],
      ['leaf zero', (img) => put32(page(img, first), 8, 0), 'out of range'],
      ['leaf beyond', (img) => put32(page(img, first), 8, 1 << 30), 'out of range'],
      ['leaf twice', (img) => put32(page(img, first), 12, get32(page(img, first), 8)), 'twice'],
      ['count low', (img) => put32(img, 36, get32(img, 36) - 1), 'more pages'],
      ['count high', (img) => put32(img, 36, get32(img, 36) + 1), 'the header says'],
      ['count huge', (img) => put32(img, 36, 0xffffffff), 'exceeds'],
      ['trunk zero, count', (img) => put32(img, 32, 0), 'inconsistent'],
      ['trunk beyond', (img) => put32(img, 32, src0.pageCount + 1), 'out of range'],
    ];
    for (const [, mutate, text] of cases) {
      const img = image.slice();
      mutate(img);
      for (const async of [false, true]) await expectCorrupt(() => readFreelist(new ImageSource(img, { async })), text);
    }
    // walkFreelist with explicit arguments
    await expectCorrupt(() => walkFreelist(src0, 0, 5), 'inconsistent');
  });
});

describe('pointer map', () => {
  it('locates pointer-map pages as SQLite does, skipping the lock-byte page', () => {
    // 512-byte pages: U/5 = 102 entries per map page, so map pages are 2, 105, 208, ...
    expect([2, 3, 104, 105, 106, 207, 208].map((p) => ptrmapPageFor(p, 512, 512))).toStrictEqual([2, 2, 2, 105, 105, 105, 208]);
    expect(isPtrmapPage(105, 512, 512)).toBe(true);
    expect(isPtrmapPage(104, 512, 512)).toBe(false);
    expect(ptrmapPageFor(1, 512, 512)).toBe(0);
    // 1024-byte pages with 200 reserved: U = 824, 165 pages per group; the group starting at
    // 2 + 6355·165 = 1048577 is the lock-byte page, so its map page moves to 1048578.
    expect(lockBytePageFor(1024)).toBe(1048577);
    expect(ptrmapPageFor(1048577, 824, 1024)).toBe(1048578);
    expect(ptrmapPageFor(1048600, 824, 1024)).toBe(1048578);
    expect(isPtrmapPage(1048577, 824, 1024)).toBe(false);
    expect(isPtrmapPage(1048578, 824, 1024)).toBe(true);
  });

  for (const mode of ['FULL', 'INCREMENTAL'] as const) {
    it(`entries of an auto_vacuum=${mode} database match the pages' real roles`, async () => {
      const { path, image } = buildDb({ pageSize: 512, autoVacuum: mode }, (db) => {
        db.exec('CREATE TABLE t(a, b); CREATE INDEX tb ON t(b); CREATE TABLE big(x);');
        const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
        db.transaction(() => {
          for (let i = 0; i < 1500; i++) ins.run(i, `payload ${i} `.repeat(1 + (i % 5)));
          for (let i = 0; i < 10; i++) db.prepare('INSERT INTO big VALUES (?)').run(Buffer.alloc(3000 + 100 * i, i));
        })();
        db.exec('DELETE FROM t WHERE a % 3 = 0; DELETE FROM big WHERE rowid % 2 = 0;');
      });
      const db = openReadonly(path);
      const roots = db.prepare(`SELECT rootpage FROM sqlite_schema WHERE rootpage > 0`).pluck().all() as number[];
      db.close();
      const src = new ImageSource(image);
      expect(src.autoVacuum).toBe(true);
      const { entries, used } = layout(src, [1, ...roots]);
      const fl = await readFreelist(src);
      if (mode === 'INCREMENTAL') expect(fl.leaves.length + fl.trunks.length).toBeGreaterThan(10);
      for (const p of [...fl.trunks, ...fl.leaves]) entries.set(p, { type: PTRMAP_FREEPAGE, parent: 0 });
      let maps = 0;
      for (let pg = 2; pg <= src.pageCount; pg++) {
        if (isPtrmapPage(pg, src.usableSize, src.pageSize)) {
          maps++;
          expect(used.has(pg)).toBe(false);
          expect(entries.has(pg)).toBe(false);
          continue;
        }
        const want = entries.get(pg);
        expect(want, `page ${pg} has a role`).toBeDefined();
        expect(readPtrmapEntry(src, pg)).toStrictEqual(want);
        expect(await readPtrmapEntry(new ImageSource(image, { async: true }), pg)).toStrictEqual(want);
      }
      expect(maps).toBeGreaterThanOrEqual(2);
      // a damaged entry type is CORRUPT
      const img = image.slice();
      img[512 * 1 + 0] = 9; // map page 2, entry for page 3
      await expectCorrupt(() => readPtrmapEntry(new ImageSource(img), 3), 'invalid type');
      expect(() => readPtrmapEntry(src, 2)).toThrow(expect.objectContaining({ code: 'MISUSE' }));
    });
  }
});
