/**
 * The writer on damaged files: every operation (insert, replace, delete, index insert and
 * delete, create, drop, clear, incremental vacuum, auto-vacuum commit) either succeeds or
 * fails with a QuireError (CORRUPT naming a page, for damage) — never a RangeError or
 * TypeError, never a hang. Targeted cases (child cycles, freelist cycles, bad pointer-map
 * entries, overlapping freeblocks) and a seeded fuzz that damages bytes of b-tree headers,
 * cell pointers, cells, freelist trunks, pointer-map pages and page 1's header.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../btree/record.js';
import { BtreeWriter } from '../btree/write.js';
import { get32, put32 } from '../pager/bytes.js';
import { isQuireError } from '../pager/errors.js';
import { MemoryStorage } from '../pager/memory.js';
import { Pager } from '../pager/pager.js';
import { buildDb, rootOf, SEED } from './util/btree-db.js';

interface Sample {
  image: Uint8Array;
  pageSize: number;
  table: number;
  index: number;
  wr: number;
}

function sample(autoVacuum: 'NONE' | 'FULL' | 'INCREMENTAL', pageSize = 1024): Sample {
  const { path, image } = buildDb({ pageSize, autoVacuum }, (db) => {
    db.exec('CREATE TABLE t(a, b); CREATE INDEX ti ON t(b, a); CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID; CREATE TABLE gone(x);');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
    const insw = db.prepare('INSERT INTO w VALUES (?, ?)');
    const insg = db.prepare('INSERT INTO gone VALUES (?)');
    db.exec('BEGIN');
    for (let i = 0; i < 400; i++) {
      ins.run(i, 'x'.repeat((i * 37) % (i % 10 === 0 ? 3000 : 200)));
      insw.run(`key${i}`.repeat(1 + (i % 5)), Buffer.alloc((i * 53) % (i % 13 === 0 ? 2500 : 150), i));
      insg.run(Buffer.alloc(700, i));
    }
    db.exec('COMMIT; DELETE FROM t WHERE a % 3 = 0; DROP TABLE gone;');
  });
  void path;
  return { image, pageSize, table: 0, index: 0, wr: 0 }; // roots filled in by roots()
}

async function roots(image: Uint8Array, pageSize: number): Promise<{ table: number; index: number; wr: number }> {
  const Database = (await import('better-sqlite3')).default;
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tempDir } = await import('./util/btree-db.js');
  const p = join(tempDir(), `roots-${pageSize}-${image.length}.db`);
  writeFileSync(p, image);
  const db = new Database(p, { readonly: true });
  try {
    return { table: rootOf(db, 't'), index: rootOf(db, 'ti'), wr: rootOf(db, 'w') };
  } finally {
    db.close();
  }
}

/** Runs `f`; a thrown value must be a QuireError. Returns the error code, or 'ok'. */
async function guarded(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    if (!isQuireError(e)) throw new Error(`non-QuireError: ${e instanceof Error ? e.stack : String(e)}`);
    if (e.code === 'CORRUPT' && !(typeof e.pgno === 'number' && e.pgno >= 1 && e.message.includes(`page ${e.pgno}`))) {
      throw new Error(`CORRUPT without a page: ${e.message}`);
    }
    return e.code;
  }
}

async function runOps(image: Uint8Array, s: Sample, ops: number[]): Promise<string[]> {
  const storage = new MemoryStorage({ db: image });
  const out: string[] = [];
  let pager: Pager;
  try {
    pager = await Pager.open(storage);
  } catch (e) {
    if (!isQuireError(e)) throw e;
    return [e.code];
  }
  let txn;
  try {
    txn = await pager.beginWrite();
  } catch (e) {
    if (!isQuireError(e)) throw e;
    return [e.code];
  }
  const w = new BtreeWriter(txn);
  for (const op of ops) {
    const k = op >>> 4;
    const r = await guarded(async () => {
      switch (op & 15) {
        case 0:
          return w.insert(s.table, 2000 + k, encodeRecord([k, 'y'.repeat(k % 900)], 1));
        case 1:
          return w.insert(s.table, k % 400, encodeRecord([k, 'z'.repeat((k * 7) % 2000)], 1));
        case 2:
          return w.delete(s.table, k % 400);
        case 3:
          return w.insertIndex(s.index, encodeRecord(['q'.repeat(k % 300), k, 5000 + k], 1), []);
        case 4:
          return w.deleteIndex(s.index, ['x'.repeat(((k % 400) * 37) % 200)], []);
        case 5:
          return w.insertIndex(s.wr, encodeRecord([`key${k % 400}`, 5 + k], 1), []);
        case 6:
          return w.deleteIndex(s.wr, [`key${k % 400}`], []);
        case 7:
          return w.createBtree(k & 1 ? 'table' : 'index');
        case 8:
          return w.dropBtree(s.index);
        case 9:
          return w.clearBtree(s.wr);
        case 10:
          return w.incrementalVacuum(k % 5);
        case 11:
          return w.maxRowid(s.table);
        default:
          return w.beforeCommit();
      }
    });
    out.push(r);
    if (r !== 'ok') break; // after an error the transaction is abandoned (the caller rolls back)
  }
  try {
    await txn.rollback();
  } catch {
    // ignore
  }
  await pager.close();
  return out;
}

/** Byte offsets worth damaging: page headers, cell pointers, cell starts, trunks, ptrmap. */
function hotOffsets(image: Uint8Array, pageSize: number): number[] {
  const out: number[] = [];
  const n = image.length / pageSize;
  for (let pg = 1; pg <= n; pg++) {
    const base = (pg - 1) * pageSize;
    const h = pg === 1 ? 100 : 0;
    const t = image[base + h];
    if (t === 2 || t === 5 || t === 10 || t === 13) {
      for (let i = 0; i < (t === 2 || t === 5 ? 12 : 8); i++) out.push(base + h + i);
      const nCell = (image[base + h + 3] << 8) | image[base + h + 4];
      const ptr = base + h + (t === 2 || t === 5 ? 12 : 8);
      for (let i = 0; i < Math.min(nCell, 6); i++) {
        out.push(ptr + 2 * i, ptr + 2 * i + 1);
        const off = (image[ptr + 2 * i] << 8) | image[ptr + 2 * i + 1];
        for (let j = 0; j < 6; j++) out.push(base + off + j);
      }
    } else {
      for (let i = 0; i < 16; i++) out.push(base + i); // trunks, ptrmap entries, overflow links
    }
  }
  for (const o of [28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 52, 53, 54, 55, 64, 67]) out.push(o);
  return out;
}

describe('the writer on damaged files', () => {
  it('targeted damage is CORRUPT naming a page', async () => {
    const full = sample('FULL');
    Object.assign(full, await roots(full.image, full.pageSize));
    const none = sample('NONE');
    Object.assign(none, await roots(none.image, none.pageSize));
    const ps = full.pageSize;
    const damage = (s: Sample, f: (img: Uint8Array) => void): Uint8Array => {
      const img = s.image.slice();
      f(img);
      return img;
    };
    const pageOf = (img: Uint8Array, pg: number) => img.subarray((pg - 1) * ps, pg * ps);
    const errors = async (s: Sample, img: Uint8Array, ops: number[]) => (await runOps(img, s, ops)).filter((c) => c !== 'ok');
    // the table root's first child points back at the root: a seek for rowid 1 finds the cycle
    const cyc = damage(full, (img) => {
      const p = pageOf(img, full.table);
      const off = (p[12] << 8) | p[13];
      put32(p, off, full.table);
    });
    expect(await errors(full, cyc, [2 | (1 << 4)])).toEqual(['CORRUPT']);
    expect(await errors(full, cyc, [0 | (1 << 4), 8, 12])).toEqual([]); // appends and other trees still work
    expect(await errors(full, cyc, [9, 0 | (7 << 4), 7])).toEqual([]);
    // the first freelist trunk points at itself and names an impossible leaf
    const trunk = get32(none.image, 32);
    expect(trunk).toBeGreaterThan(0);
    const fl = damage(none, (img) => {
      const p = pageOf(img, trunk);
      put32(p, 0, trunk);
      put32(p, 4, 3);
      put32(p, 8, 999999);
      put32(p, 12, 999999);
      put32(p, 16, 999999);
    });
    expect(await errors(none, fl, [7])).toEqual(['CORRUPT']);
    // the freelist count is larger than the file
    const cnt = damage(none, (img) => put32(img, 36, 0x7fffffff));
    expect(await errors(none, cnt, [7])).toEqual(['CORRUPT']);
    // pointer-map entries with invalid types: moving pages at commit must notice
    const pm = damage(full, (img) => {
      const p = pageOf(img, 2);
      for (let i = 0; i < ps - 5; i += 5) p[i] = 9;
    });
    expect(await errors(full, pm, [8, 12])).toEqual(['CORRUPT']);
    // a freeblock pointing into the cell pointer array of the first leaf of the table
    const fb = damage(none, (img) => {
      const root = pageOf(img, none.table);
      const off = (root[12] << 8) | root[13];
      const p = pageOf(img, get32(root, off));
      p[1] = 0x00;
      p[2] = 0x09;
    });
    expect(await errors(none, fb, [1 | (1 << 4)])).toEqual(['CORRUPT']);
  });

  for (const av of ['NONE', 'FULL', 'INCREMENTAL'] as const) {
    it(`random damage: every operation succeeds or is a QuireError (auto-vacuum ${av}, seed ${SEED})`, async () => {
      const s = sample(av);
      Object.assign(s, await roots(s.image, s.pageSize));
      const hot = hotOffsets(s.image, s.pageSize);
      let corrupt = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.oneof(fc.constantFrom(...hot), fc.nat({ max: s.image.length - 1 })), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
          fc.array(fc.nat({ max: 4000 * 16 }), { minLength: 1, maxLength: 25 }),
          async (hits, ops) => {
            const img = s.image.slice();
            for (const [off, v] of hits) img[off] = v;
            const r = await runOps(img, s, ops);
            if (r.includes('CORRUPT')) corrupt++;
          },
        ),
        { seed: SEED + av.length, numRuns: 300 },
      );
      expect(corrupt, 'damage that was detected').toBeGreaterThan(10);
    }, 600_000);
  }
});
