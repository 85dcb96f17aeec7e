/**
 * Cell placement on one page (btree/cellwrite.ts), against SQLite's integrity_check: freeblock
 * reuse (first fit, carving from the end), remainders under 4 bytes becoming fragment bytes,
 * coalescing with neighbouring freeblocks (absorbing fragments), the content-start move, the
 * 57-fragment-byte limit, defragmentation; and CORRUPT (never RangeError) on damaged headers.
 */
import { describe, expect, it } from 'vitest';
import {
  allocateSpace,
  computeFreeSpace,
  defragmentPage,
  dropCell,
  freeSpace,
  geometry,
  insertCell,
  rebuildPage,
  zeroPage,
} from '../btree/cellwrite.js';
import { encodeRecord } from '../btree/record.js';
import { BtreeWriter } from '../btree/write.js';
import { parsePage } from '../btree/page.js';
import { isQuireError } from '../pager/errors.js';
import { sqliteRows } from './util/btree-db.js';
import { addSchemaRow, createDb, dumpDb, openSqlite, sqliteCheck } from './util/write-db.js';

function fragOf(d: Uint8Array, hdr = 0): number {
  return d[hdr + 7];
}

function freeblocks(d: Uint8Array, hdr = 0): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let pc = (d[hdr + 1] << 8) | d[hdr + 2];
  while (pc !== 0 && out.length < 1000) {
    out.push([pc, (d[pc + 2] << 8) | d[pc + 3]]);
    pc = (d[pc] << 8) | d[pc + 1];
  }
  return out;
}

/** A table leaf cell with a blob payload of n bytes (record of 1 column). */
function leafCell(rowid: number, n: number): Uint8Array {
  const rec = encodeRecord([new Uint8Array(n).fill(rowid & 0xff)], 1);
  const out = new Uint8Array(2 + rec.length + 2);
  let q = 0;
  // payload size and rowid (both < 128 here)
  out[q++] = rec.length < 0x80 ? rec.length : 0;
  if (rec.length >= 0x80) throw new Error('keep records short');
  out[q++] = rowid;
  out.set(rec, q);
  return out.subarray(0, q + rec.length);
}

describe('cell placement (cellwrite.ts)', () => {
  const U = 1024;
  const g = geometry(U);

  it('reuses a freed slot, counts the remainder as fragments, and coalesces them back', () => {
    const page = new Uint8Array(U);
    zeroPage(page, 0, 13, U);
    const cells = [leafCell(1, 20), leafCell(2, 20), leafCell(3, 20), leafCell(4, 20)];
    rebuildPage(page, 0, 13, cells, 0, U, 2);
    const free0 = computeFreeSpace(page, 0, U, 2);
    const size2 = cells[1].length;
    // drop cell 1 (a middle cell): a freeblock appears
    const off1 = (page[8 + 2] << 8) | page[8 + 3];
    dropCell(page, 0, 1, size2, U, 2);
    expect(freeblocks(page)).toEqual([[off1, size2]]);
    expect(computeFreeSpace(page, 0, U, 2)).toBe(free0 + size2 + 2);
    // insert a cell 2 bytes shorter: first fit takes the freeblock whole, 2 fragment bytes
    const shorter = leafCell(9, 18);
    expect(shorter.length).toBe(size2 - 2);
    insertCell(page, 0, 1, shorter, U, 2);
    expect(freeblocks(page)).toEqual([]);
    expect(fragOf(page)).toBe(2);
    expect(computeFreeSpace(page, 0, U, 2)).toBe(free0 + 2);
    // dropping it again leaves the fragment bytes (they touch no freeblock) ...
    dropCell(page, 0, 1, shorter.length, U, 2);
    expect(fragOf(page)).toBe(2);
    expect(freeblocks(page)).toEqual([[off1, size2 - 2]]);
    // ... until the neighbour after them is freed: the freeblocks merge and absorb them
    const off0 = (page[8] << 8) | page[9];
    expect(off0).toBe(off1 + size2);
    dropCell(page, 0, 0, cells[0].length, U, 2);
    expect(fragOf(page)).toBe(0);
    expect(freeblocks(page)).toEqual([[off1, size2 + cells[0].length]]);
    expect(computeFreeSpace(page, 0, U, 2)).toBe(free0 + size2 + 2 + cells[0].length + 2);
    // put cell 0 back (it lands in the freeblock, carved from its end)
    expect(insertCell(page, 0, 0, cells[0], U, 2)).toBe(off0);
    expect(freeblocks(page)).toEqual([[off1, size2]]);
    // a much shorter cell is carved from the END of the freeblock, which stays
    const tiny = leafCell(7, 1);
    const at = insertCell(page, 0, 1, tiny, U, 2);
    expect(at).toBe(off1 + size2 - tiny.length);
    expect(freeblocks(page)).toEqual([[off1, size2 - tiny.length]]);
    // dropping neighbours coalesces freeblocks; dropping the cell at the content start
    // moves the content start instead of making a freeblock
    const p = parsePage(page, 2, U);
    const top = p.contentStart;
    const last = (page[8 + 2 * 3] << 8) | page[8 + 2 * 3 + 1];
    expect(last).toBe(top); // cell 3 (rowid 4) was written last by rebuildPage: lowest offset
    dropCell(page, 0, 3, cells[3].length, U, 2);
    expect(parsePage(page, 2, U).contentStart).toBe(top + cells[3].length);
    expect(computeFreeSpace(page, 0, U, 2)).toBe(U - 8 - 2 * 3 - (cells[0].length + cells[2].length + tiny.length));
  });

  it('stops making fragments past 57 bytes and defragments when the gap is too small', () => {
    const page = new Uint8Array(U);
    const cells: Uint8Array[] = [];
    for (let i = 0; i < 30; i++) cells.push(leafCell(i + 1, 20 + (i % 3)));
    rebuildPage(page, 0, 13, cells, 0, U, 2);
    // replace every other cell by a cell 3 bytes shorter: fragments accumulate up to 57+3
    for (let i = 0; i < 30; i++) {
      const old = cells[i];
      dropCell(page, 0, i, old.length, U, 2);
      const c = leafCell(i + 1, 20 + (i % 3) - 3);
      cells[i] = c;
      insertCell(page, 0, i, c, U, 2);
    }
    expect(fragOf(page)).toBeGreaterThan(57);
    expect(fragOf(page)).toBeLessThanOrEqual(60);
    // fill the gap, then one more cell forces a defragmentation
    let i = 30;
    for (;;) {
      const c = leafCell(i + 1, 30);
      const free = computeFreeSpace(page, 0, U, 2);
      if (c.length + 2 > free) break;
      insertCell(page, 0, i, c, U, 2);
      cells.push(c);
      i++;
    }
    expect(fragOf(page)).toBe(0); // the last inserts needed the fragments back
    const p = parsePage(page, 2, U);
    expect(p.nCell).toBe(cells.length);
  });

  it('defragmentPage packs cells at the end, keeping their order', () => {
    const page = new Uint8Array(U);
    const cells = [leafCell(1, 10), leafCell(2, 50), leafCell(3, 5), leafCell(4, 70)];
    rebuildPage(page, 0, 13, cells, 0, U, 2);
    dropCell(page, 0, 1, cells[1].length, U, 2);
    defragmentPage(page, 0, U, 2);
    expect(freeblocks(page)).toEqual([]);
    expect(fragOf(page)).toBe(0);
    const p = parsePage(page, 2, U);
    expect(p.contentStart).toBe(U - cells[0].length - cells[2].length - cells[3].length);
    void g;
  });

  /** Page 7: three cells, the middle one dropped (its bytes are the freeblock at fb). */
  function pageWithFreeblock(): { page: Uint8Array; fb: number } {
    const page = new Uint8Array(U);
    const cells = [leafCell(1, 10), leafCell(2, 50), leafCell(3, 5)];
    rebuildPage(page, 0, 13, cells, 0, U, 7);
    dropCell(page, 0, 1, cells[1].length, U, 7);
    return { page, fb: freeblocks(page)[0][0] };
  }

  it('reports damaged freeblock lists as CORRUPT', () => {
    const { page, fb } = pageWithFreeblock();
    const bad = (f: (d: Uint8Array) => void, op: (d: Uint8Array) => unknown) => {
      const d = page.slice();
      f(d);
      let err: unknown;
      try {
        op(d);
      } catch (e) {
        err = e;
      }
      expect(isQuireError(err) && err.code === 'CORRUPT', String(err)).toBe(true);
      expect((err as Error).message).toContain('page 7');
    };
    bad((d) => ((d[fb] = fb >> 8), (d[fb + 1] = fb & 0xff)), (d) => computeFreeSpace(d, 0, U, 7)); // self loop
    bad((d) => ((d[fb + 2] = 0xff), (d[fb + 3] = 0xff)), (d) => computeFreeSpace(d, 0, U, 7)); // huge size
    bad((d) => ((d[1] = 0), (d[2] = 3)), (d) => computeFreeSpace(d, 0, U, 7)); // before content
    bad((d) => ((d[fb] = 0xff), (d[fb + 1] = 0xf0)), (d) => computeFreeSpace(d, 0, U, 7)); // next off the page
    bad((d) => ((d[fb] = 0x03), (d[fb + 1] = 0xfe)), (d) => allocateSpace(d, 0, 2, U, 7) && allocateSpace(d, 0, 60, U, 7)); // walk off the end
    bad(() => undefined, (d) => freeSpace(d, 0, fb + 10, 8, U, 7)); // freeing bytes inside a freeblock
    bad((d) => (d[5] = d[6] = 0xff), (d) => computeFreeSpace(d, 0, U, 7)); // content start past the page
  });

  it('freeSpace and dropCell check everything before their first write: CORRUPT leaves the page unchanged', () => {
    // (tryDelete drops a cell straight into the page, with no copy and no savepoint.)
    const { page, fb } = pageWithFreeblock();
    const top = (page[5] << 8) | page[6];
    const unchanged = (f: (d: Uint8Array) => void, op: (d: Uint8Array) => unknown) => {
      const d = page.slice();
      f(d);
      const before = d.slice();
      expect(() => op(d)).toThrow(/page 7/);
      expect(d).toEqual(before);
    };
    // A freed range that ends 2 bytes before the freeblock (2 fragment bytes absorbed) but
    // starts below the content area: the fragment count must not have moved when it fails.
    unchanged((d) => (d[7] = 3), (d) => freeSpace(d, 0, top - 4, fb - 2 - (top - 4), U, 7));
    unchanged(() => undefined, (d) => freeSpace(d, 0, fb + 10, 8, U, 7)); // inside a freeblock
    // dropCell of the lowest cell (cell 1) with a size that runs into the freeblock above it
    unchanged(() => undefined, (d) => dropCell(d, 0, 1, fb - ((d[10] << 8) | d[11]) + 2, U, 7));
  });

  it('pages with fragments and freeblocks pass SQLite integrity_check (through the writer)', async () => {
    const db = await createDb({ pageSize: 1024 });
    const txn = await db.pager.beginWrite();
    const w = new BtreeWriter(txn);
    const root = await w.createBtree('table');
    await addSchemaRow(db, txn, w, 'table', 't', 't', root, 'CREATE TABLE t(a)');
    const sizes = new Map<number, number>();
    for (let i = 1; i <= 30; i++) {
      sizes.set(i, 20);
      await w.insert(root, i, encodeRecord([new Uint8Array(20).fill(i)], 1));
    }
    // shrink every third row by 1..3 bytes: fragments; delete some: freeblocks
    for (let i = 1; i <= 30; i += 3) {
      const n = 20 - (1 + (i % 3));
      sizes.set(i, n);
      await w.insert(root, i, encodeRecord([new Uint8Array(n).fill(i)], 1));
    }
    for (const i of [5, 6, 14, 22]) {
      expect(await w.delete(root, i)).toBe(true);
      sizes.delete(i);
    }
    const img = (await txn.page(root)) as Uint8Array;
    expect(fragOf(img)).toBeGreaterThan(0);
    expect(freeblocks(img).length).toBeGreaterThan(0);
    await txn.commit();
    const path = dumpDb(db);
    expect(sqliteCheck(path)).toEqual([]);
    const s = openSqlite(path);
    const rows = sqliteRows(s, 'SELECT rowid, length(a) FROM t ORDER BY rowid');
    s.close();
    expect(rows).toEqual([...sizes.entries()].sort((a, b) => a[0] - b[0]).map(([k, n]) => [k, n]));
  });
});
