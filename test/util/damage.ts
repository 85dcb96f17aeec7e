/**
 * Test helper: targeted damage to database images made by real SQLite, and both checkers'
 * verdicts on the result (quire's check and SQLite's PRAGMA integrity_check).
 *
 * Every edit keeps the page otherwise self-consistent where the test wants one specific
 * problem: removing a cell turns its bytes into fragments (so the fragment count still
 * balances) and shifts the cell pointer array down.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { get16, get32, put16, put32 } from '../../pager/bytes.js';
import { openDatabase } from '../../src/node/index.js';
import type { CheckOptions } from '../../src/check.js';
import { referenceIntegrity } from './reference.js';
import { tempDir } from './tmp.js';

let dir: string | undefined;
let n = 0;

/** Writes `image` to a fresh temp file and returns its path. */
export function writeTemp(image: Uint8Array, name = 'damaged'): string {
  dir ??= tempDir('quire-damage-');
  const p = join(dir, `${name}-${++n}.db`);
  writeFileSync(p, image);
  return p;
}

export function pageSizeOf(image: Uint8Array): number {
  const v = get16(image, 16);
  return v === 1 ? 65536 : v;
}

/** The image of page `pgno` (a view into `image`: edits change the file image). */
export function pageOf(image: Uint8Array, pgno: number): Uint8Array {
  const ps = pageSizeOf(image);
  return image.subarray((pgno - 1) * ps, pgno * ps);
}

function hdrOf(pgno: number): number {
  return pgno === 1 ? 100 : 0;
}

/** Page type, nCell and cell pointers of a b-tree page. */
export function btreePage(image: Uint8Array, pgno: number): { type: number; leaf: boolean; cells: number[]; rightChild: number } {
  const p = pageOf(image, pgno);
  const h = hdrOf(pgno);
  const type = p[h];
  const leaf = type === 10 || type === 13;
  const nCell = get16(p, h + 3);
  const ptr = h + (leaf ? 8 : 12);
  const cells: number[] = [];
  for (let i = 0; i < nCell; i++) cells.push(get16(p, ptr + 2 * i));
  return { type, leaf, cells, rightChild: leaf ? 0 : get32(p, h + 8) };
}

/** The pages from `root` down to its left-most (or right-most) leaf. */
export function pathToLeaf(image: Uint8Array, root: number, side: 'left' | 'right' = 'left'): number[] {
  const out = [root];
  for (;;) {
    const pg = btreePage(image, out[out.length - 1]);
    if (pg.leaf) return out;
    const p = pageOf(image, out[out.length - 1]);
    out.push(side === 'right' ? pg.rightChild : get32(p, pg.cells[0]));
  }
}

/** Size in bytes of cell `i` on a leaf page without overflow (payload varint + rowid + body). */
function leafCellSize(image: Uint8Array, pgno: number, off: number, intKey: boolean): number {
  const p = pageOf(image, pgno);
  let q = off;
  let payload = 0;
  for (let k = 0; k < 9; k++) {
    const b = p[q++];
    payload = payload * 128 + (b & 0x7f);
    if (b < 0x80) break;
  }
  if (intKey) {
    for (let k = 0; k < 9; k++) if (p[q++] < 0x80) break;
  }
  return Math.max(4, q - off + payload);
}

/**
 * Removes cell `i` from leaf page `pgno` (no overflow): its pointer leaves the array and its
 * bytes become fragmented free space, so the page stays well-formed. Returns the cell size.
 */
export function removeLeafCell(image: Uint8Array, pgno: number, i: number): number {
  const p = pageOf(image, pgno);
  const h = hdrOf(pgno);
  const pg = btreePage(image, pgno);
  if (!pg.leaf) throw new Error(`page ${pgno} is not a leaf`);
  const size = leafCellSize(image, pgno, pg.cells[i], pg.type === 13);
  const frag = p[h + 7] + size;
  if (frag > 255) throw new Error(`cell ${i} of page ${pgno} is too big to become fragments`);
  const rest = pg.cells.filter((_, k) => k !== i);
  rest.forEach((c, k) => put16(p, h + 8 + 2 * k, c));
  put16(p, h + 8 + 2 * rest.length, 0);
  put16(p, h + 3, rest.length);
  p[h + 7] = frag;
  return size;
}

/** Swaps the cell pointers i and j of page `pgno` (keys out of order, page otherwise intact). */
export function swapCells(image: Uint8Array, pgno: number, i: number, j: number): void {
  const p = pageOf(image, pgno);
  const pg = btreePage(image, pgno);
  const ptr = hdrOf(pgno) + (pg.leaf ? 8 : 12);
  put16(p, ptr + 2 * i, pg.cells[j]);
  put16(p, ptr + 2 * j, pg.cells[i]);
}

/** The freelist: first trunk, count, and each trunk's leaves. */
export function freelistOf(image: Uint8Array): { count: number; trunks: { pgno: number; leaves: number[] }[] } {
  const count = get32(image, 36);
  const trunks: { pgno: number; leaves: number[] }[] = [];
  for (let t = get32(image, 32); t !== 0 && trunks.length < 1000; ) {
    const p = pageOf(image, t);
    const leaves: number[] = [];
    for (let k = 0; k < get32(p, 4); k++) leaves.push(get32(p, 8 + 4 * k));
    trunks.push({ pgno: t, leaves });
    t = get32(p, 0);
  }
  return { count, trunks };
}

/** Sets the leaves of freelist trunk `trunk` (and adjusts the header's count by the change). */
export function setTrunkLeaves(image: Uint8Array, trunk: number, leaves: number[]): void {
  const p = pageOf(image, trunk);
  const before = get32(p, 4);
  put32(p, 4, leaves.length);
  leaves.forEach((l, k) => put32(p, 8 + 4 * k, l));
  put32(image, 36, get32(image, 36) + leaves.length - before);
}

/** quire's problems for the file at `path` (the database is opened and closed). */
export async function quireProblems(path: string, options: CheckOptions = {}): Promise<string[]> {
  const db = await openDatabase(path);
  try {
    return await db.check(options);
  } finally {
    await db.close();
  }
}

/**
 * SQLite's problems for the file, one per line: PRAGMA integrity_check's rows with the
 * "*** in database main ***" banner removed and multi-line rows split; [] when it says ok.
 */
export function sqliteProblems(path: string): string[] {
  const rows = referenceIntegrity(path);
  if (rows.length === 1 && rows[0] === 'ok') return [];
  return rows.flatMap((r) => r.split('\n')).filter((l) => l !== '*** in database main ***');
}
