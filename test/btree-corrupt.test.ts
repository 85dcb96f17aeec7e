import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IndexCursor, MAX_DEPTH, TableCursor, scanTable } from '../btree/cursor.js';
import { newCellInfo, parseCell } from '../btree/cell.js';
import { parsePage } from '../btree/page.js';
import { readFreelist } from '../btree/freelist.js';
import { get32, put16, put32 } from '../pager/bytes.js';
import { writeVarint } from '../btree/varint.js';
import { isQuireError } from '../pager/errors.js';
import type { PageSource } from '../pager/source.js';
import { buildDb, rootOf, openReadonly, SEED } from './util/btree-db.js';
import { ImageSource } from './util/image-source.js';

/** Runs `f` and expects a CORRUPT QuireError (sync throw or rejection) naming `pgno` if given. */
async function expectCorrupt(f: () => unknown, pgno?: number, text?: string): Promise<void> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  expect(isQuireError(err), `expected CORRUPT, got ${String(err)}`).toBe(true);
  expect((err as { code: string }).code).toBe('CORRUPT');
  if (pgno !== undefined) {
    expect((err as { pgno: number }).pgno).toBe(pgno);
    expect((err as Error).message).toContain(`page ${pgno}`);
  }
  if (text !== undefined) expect((err as Error).message).toContain(text);
}

async function readAll(src: PageSource, root: number): Promise<number> {
  const c = new TableCursor(src, root);
  let n = 0;
  for (let ok = await c.first(); ok; ok = await c.next()) {
    await c.record();
    n++;
  }
  return n;
}

async function scanAll(src: PageSource, root: number): Promise<number> {
  let n = 0;
  for await (const b of scanTable(src, root)) n += b.length;
  return n;
}

function pageOf(image: Uint8Array, pageSize: number, pgno: number): Uint8Array {
  return image.subarray((pgno - 1) * pageSize, pgno * pageSize);
}

/** A 512-byte-page database: table t (3 levels), a row with a long overflow chain, index. */
function sample(): { image: Uint8Array; rootT: number; rootBig: number; rootIdx: number } {
  let rootT = 0;
  let rootBig = 0;
  let rootIdx = 0;
  const { path, image } = buildDb({ pageSize: 512 }, (db) => {
    db.exec('CREATE TABLE t(a, b); CREATE INDEX ta ON t(a); CREATE TABLE big(x);');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) ins.run(`value ${i} `.repeat(1 + (i % 4)), i);
    })();
    db.prepare('INSERT INTO big VALUES (?)').run(Buffer.alloc(20 * 512, 7));
  });
  const db = openReadonly(path);
  rootT = rootOf(db, 't');
  rootBig = rootOf(db, 'big');
  rootIdx = rootOf(db, 'ta');
  db.close();
  return { image, rootT, rootBig, rootIdx };
}

describe('corrupt b-trees are CORRUPT, never a RangeError or a hang', () => {
  const base = sample();
  const PS = 512;

  it('the sample reads cleanly', async () => {
    const src = new ImageSource(base.image);
    expect(await readAll(src, base.rootT)).toBe(3000);
    expect(await scanAll(src, base.rootT)).toBe(3000);
  });

  it('a zeroed child pointer', async () => {
    const img = base.image.slice();
    const root = pageOf(img, PS, base.rootT);
    expect(root[0]).toBe(5); // table interior
    const off = (root[12] << 8) | root[13]; // cell 0
    put32(root, off, 0);
    for (const async of [false, true]) {
      const src = new ImageSource(img, { async });
      await expectCorrupt(() => readAll(src, base.rootT), base.rootT, 'child page 0');
      await expectCorrupt(() => scanAll(src, base.rootT), base.rootT, 'child page 0');
      await expectCorrupt(() => new TableCursor(src, base.rootT).seek(0), base.rootT);
    }
  });

  it('a child pointer beyond the page count, a zeroed right child', async () => {
    for (const where of ['cell', 'right'] as const) {
      const img = base.image.slice();
      const root = pageOf(img, PS, base.rootT);
      if (where === 'cell') put32(root, (root[12] << 8) | root[13], 999999);
      else put32(root, 8, 0);
      const src = new ImageSource(img);
      await expectCorrupt(() => readAll(src, base.rootT), base.rootT);
      await expectCorrupt(() => scanAll(src, base.rootT), base.rootT);
    }
  });

  it('a cycle in the b-tree (child points back to the root)', async () => {
    const img = base.image.slice();
    const root = pageOf(img, PS, base.rootT);
    const child = get32(root, (root[12] << 8) | root[13]);
    const cp = pageOf(img, PS, child);
    expect(cp[0]).toBe(5);
    put32(cp, (cp[12] << 8) | cp[13], base.rootT);
    const src = new ImageSource(img);
    await expectCorrupt(() => readAll(src, base.rootT), child, 'cycle');
    await expectCorrupt(() => scanAll(src, base.rootT), child, 'cycle');
  });

  it('a cell pointer outside the page or below the content area', async () => {
    for (const bad of [0xffff, 512, 3]) {
      const img = base.image.slice();
      const root = pageOf(img, PS, base.rootT);
      const child = get32(root, (root[12] << 8) | root[13]);
      const cp = pageOf(img, PS, child);
      put16(cp, 12, bad);
      const src = new ImageSource(img);
      await expectCorrupt(() => readAll(src, base.rootT), child, 'pointer');
      await expectCorrupt(() => scanAll(src, base.rootT), child, 'pointer');
    }
  });

  it('wrong page types: index page in a table, unknown type byte, table page in an index', async () => {
    for (const [tree, type] of [
      ['table', 10],
      ['table', 0],
      ['table', 7],
      ['index', 13],
    ] as const) {
      const img = base.image.slice();
      const rootPg = tree === 'table' ? base.rootT : base.rootIdx;
      const root = pageOf(img, PS, rootPg);
      const child = get32(root, (root[12] << 8) | root[13]);
      pageOf(img, PS, child)[0] = type;
      const src = new ImageSource(img);
      if (tree === 'table') {
        await expectCorrupt(() => readAll(src, rootPg), child);
        await expectCorrupt(() => scanAll(src, rootPg), child);
      } else {
        await expectCorrupt(async () => {
          const c = new IndexCursor(src, rootPg);
          for (let ok = await c.first(); ok; ok = await c.next());
        }, child);
      }
    }
  });

  it('a tree deeper than 20 levels', async () => {
    // Hand-build a chain of interior pages, each with one cell whose children are the next page.
    const depth = MAX_DEPTH + 3;
    const first = base.image.length / PS + 1;
    const img = new Uint8Array(base.image.length + depth * PS);
    img.set(base.image);
    for (let k = 0; k < depth; k++) {
      const pg = pageOf(img, PS, first + k);
      const last = k === depth - 1;
      if (last) {
        pg[0] = 13;
        put16(pg, 5, PS);
        continue;
      }
      pg[0] = 5;
      put16(pg, 3, 1); // one cell
      put16(pg, 5, PS - 5);
      put32(pg, 8, first + k + 1); // right child
      put16(pg, 12, PS - 5); // cell pointer
      put32(pg, PS - 5, first + k + 1);
      pg[PS - 1] = 1; // rowid 1
    }
    put32(img, 28, first + depth - 1); // page count
    const src = new ImageSource(img);
    expect(src.pageCount).toBe(first + depth - 1);
    await expectCorrupt(() => readAll(src, first), undefined, 'deeper than 20');
    await expectCorrupt(() => scanAll(src, first), undefined, 'deeper than 20');
  });

  /** Overflow chain of the single row of `big`. */
  function chainOf(img: Uint8Array): number[] {
    const src = new ImageSource(img);
    const p = parsePage(src.page(base.rootBig) as Uint8Array, base.rootBig, src.usableSize);
    const cell = parseCell(p, 0, newCellInfo());
    const chain: number[] = [];
    for (let pg = cell.overflow; pg !== 0; pg = get32(pageOf(img, PS, pg), 0)) chain.push(pg);
    return chain;
  }

  it('overflow chains: a cycle, short, long, out of range', async () => {
    const chain = chainOf(base.image);
    expect(chain.length).toBeGreaterThan(10);
    const variants: Array<[string, (img: Uint8Array) => void, string]> = [
      ['cycle', (img) => put32(pageOf(img, PS, chain[5]), 0, chain[2]), 'cycle'],
      ['self-loop', (img) => put32(pageOf(img, PS, chain[3]), 0, chain[3]), 'cycle'],
      ['short', (img) => put32(pageOf(img, PS, chain[4]), 0, 0), 'ends after'],
      ['long', (img) => put32(pageOf(img, PS, chain[chain.length - 1]), 0, chain[0]), 'past the end'],
      ['beyond', (img) => put32(pageOf(img, PS, chain[1]), 0, 123456), 'beyond the end'],
    ];
    for (const [, mutate, text] of variants) {
      const img = base.image.slice();
      mutate(img);
      for (const async of [false, true]) {
        const src = new ImageSource(img, { async });
        await expectCorrupt(() => readAll(src, base.rootBig), undefined, text);
        await expectCorrupt(() => scanAll(src, base.rootBig), undefined, text);
      }
    }
  });

  it('a hostile payload size cannot allocate beyond the database size', async () => {
    const cellAt = (img: Uint8Array): { p: Uint8Array; off: number } => {
      const p = pageOf(img, PS, base.rootBig);
      expect(p[0]).toBe(13);
      expect((p[3] << 8) | p[4]).toBe(1);
      return { p, off: (p[8] << 8) | p[9] };
    };
    // The real size P = 20·512 + 4 is a 2-byte varint. Replace it with a 4-byte varint of
    // P + 200 000·(U-4) (same local part; moving the cell start back 2 bytes into free space):
    // about 100 MB, 200 021 overflow pages > pageCount.
    const mid = base.image.slice();
    {
      const { p, off } = cellAt(mid);
      expect(p[off] & 0x80).toBe(0x80);
      expect(p[off + 1] & 0x80).toBe(0);
      const P = ((p[off] & 0x7f) << 7) | p[off + 1];
      expect(P).toBe(20 * 512 + 4); // header: size byte + 3-byte serial type
      expect(writeVarint(p, off - 2, P + 200_000 * (PS - 4))).toBe(4);
      put16(p, 8, off - 2);
      put16(p, 5, off - 2);
    }
    await expectCorrupt(() => readAll(new ImageSource(mid), base.rootBig), base.rootBig, 'overflow pages');
    await expectCorrupt(() => scanAll(new ImageSource(mid), base.rootBig), base.rootBig, 'overflow pages');
    // A 9-byte size (2^57): not even a safe integer.
    const huge = base.image.slice();
    {
      const { p, off } = cellAt(huge);
      p.set([0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], off - 7);
      put16(p, 8, off - 7);
      put16(p, 5, off - 7);
    }
    await expectCorrupt(() => readAll(new ImageSource(huge), base.rootBig), base.rootBig, 'payload size');
    await expectCorrupt(() => scanAll(new ImageSource(huge), base.rootBig), base.rootBig, 'payload size');
  });

  it(`random byte damage yields rows or CORRUPT, never another error (seed ${SEED})`, async () => {
    const pageCount = base.image.length / PS;
    await fc.assert(
      fc.asyncProperty(
        // half the edits land in page headers and cell pointer arrays, where damage matters most
        fc.array(fc.tuple(fc.integer({ min: 2, max: pageCount }), fc.oneof(fc.nat(23), fc.nat(PS - 1)), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.boolean(),
        async (edits, async) => {
          const img = base.image.slice();
          for (const [pg, off, v] of edits) img[(pg - 1) * PS + off] = v;
          const src = new ImageSource(img, { async });
          const attempts: Array<() => Promise<unknown>> = [
            () => readAll(src, base.rootT),
            () => scanAll(src, base.rootT),
            () => readAll(src, base.rootBig),
            async () => {
              const c = new IndexCursor(src, base.rootIdx);
              for (let ok = await c.first(); ok; ok = await c.next()) await c.record();
            },
            async () => {
              const c = new IndexCursor(src, base.rootIdx);
              for (const k of ['value 1', 'value 2999 ', 'zzz', '']) {
                await c.seek([k]);
                await c.seek([k], { op: 'gt' });
              }
              const t = new TableCursor(src, base.rootT);
              for (const r of [1, 1500, 2999, 5000]) await t.seek(r);
            },
            () => Promise.resolve(readFreelist(src)),
            async () => {
              const t = new TableCursor(src, base.rootT);
              for (let ok = await t.last(); ok; ok = await t.prev()) await t.record();
              const c = new IndexCursor(src, base.rootIdx);
              for (let ok = await c.last(); ok; ok = await c.prev()) await c.record();
            },
          ];
          for (const f of attempts) {
            try {
              await f();
            } catch (e) {
              expect(isQuireError(e) && (e.code === 'CORRUPT' || e.code === 'UNSUPPORTED'), String((e as Error).stack)).toBe(true);
            }
          }
        },
      ),
      { seed: SEED + 20, numRuns: 300 },
    );
  });
});
