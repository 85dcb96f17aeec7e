import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import { IndexCursor, TableCursor, scanTable } from '../btree/cursor.js';
import { keyComparator, type KeyInfo } from '../btree/compare.js';
import { overflowPageCount } from '../btree/overflow.js';
import { newCellInfo, parseCell } from '../btree/cell.js';
import { parsePage } from '../btree/page.js';
import type { SqlValue } from '../btree/value.js';
import type { PageSource } from '../pager/source.js';
import { buildDb, openReadonly, rootOf, SEED, sqliteRows } from './util/btree-db.js';
import { ImageSource } from './util/image-source.js';

type Row = SqlValue[];

/** Rows with BLOBs as hex strings: vitest compares big typed arrays element by element, slowly. */
function hex(rows: Row[]): unknown[][] {
  return rows.map((r) => r.map((v) => (v instanceof Uint8Array ? `blob:${v.length}:${Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex')}` : v)));
}

/** Every row of a rowid table through TableCursor: [rowid, ...columns]. */
async function cursorRows(src: PageSource, root: number): Promise<Row[]> {
  const c = new TableCursor(src, root);
  const out: Row[] = [];
  for (let ok = await c.first(); ok; ok = await c.next()) {
    c.assertState();
    out.push([c.rowid, ...(await c.record())]);
  }
  expect(c.eof).toBe(true);
  return out;
}

async function scanRows(src: PageSource, root: number): Promise<Row[]> {
  const out: Row[] = [];
  for await (const batch of scanTable(src, root)) for (const r of batch) out.push(r);
  return out;
}

/** Every entry backwards (last() then prev()), as [rowid, ...columns] or index records. */
async function reverseEntries(c: TableCursor | IndexCursor): Promise<Row[]> {
  const out: Row[] = [];
  for (let ok = await c.last(); ok; ok = await c.prev()) {
    c.assertState();
    const rec = await c.record();
    out.push(c instanceof TableCursor ? [c.rowid, ...rec] : rec);
  }
  expect(c.eof).toBe(true);
  return out;
}

/** Every entry of an index b-tree through IndexCursor. */
async function indexEntries(src: PageSource, root: number, keyInfo: KeyInfo = []): Promise<Row[]> {
  const c = new IndexCursor(src, root, keyInfo);
  const out: Row[] = [];
  for (let ok = await c.first(); ok; ok = await c.next()) {
    c.assertState();
    out.push(await c.record());
  }
  return out;
}

/** Overflow pages of all cells of a b-tree, summed, walking pages directly (no cursor). */
function overflowPagesOf(src: ImageSource, root: number): number {
  let total = 0;
  const cell = newCellInfo();
  const walk = (pgno: number): void => {
    const p = parsePage(src.page(pgno) as Uint8Array, pgno, src.usableSize);
    for (let i = 0; i < p.nCell; i++) {
      parseCell(p, i, cell);
      total += overflowPageCount(cell.payloadSize, cell.localSize, src.usableSize);
      if (!p.leaf) walk(cell.leftChild);
    }
    if (!p.leaf) walk(p.rightChild);
  };
  walk(root);
  return total;
}

function dbstatOverflow(db: Database.Database, name: string): number {
  return db.prepare(`SELECT count(*) FROM dbstat WHERE name = ? AND pagetype = 'overflow'`).pluck().get(name) as number;
}

function varintLen(v: number): number {
  let n = 1;
  while (v >= 128 ** n && n < 9) n++;
  return n;
}

/** (x, L) so that the record (x, blob of L bytes) is exactly `target` bytes; x is null or 5. */
function recordFor(target: number): { x: number | null; len: number } {
  for (let len = Math.max(0, target - 12); len <= target; len++) {
    const base = 1 + 1 + varintLen(2 * len + 12) + len; // hdr size, type of x, type of b, body
    if (base === target) return { x: null, len };
    if (base + 1 === target) return { x: 5, len };
  }
  throw new Error(`no layout for ${target}`);
}

function blobOf(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    b[i] = s >>> 24;
  }
  // distinct leading bytes keep keys unique
  if (len >= 4) b.writeUInt32BE(seed >>> 0, 0);
  return b;
}

const configs: Array<{ pageSize: number; reserved: number }> = [
  { pageSize: 512, reserved: 0 },
  { pageSize: 512, reserved: 32 },
  { pageSize: 1024, reserved: 0 },
  { pageSize: 1024, reserved: 17 },
  { pageSize: 4096, reserved: 0 },
  { pageSize: 4096, reserved: 255 },
  { pageSize: 65536, reserved: 0 },
  { pageSize: 65536, reserved: 64 },
];

describe(`cursors over databases written by SQLite (seed ${SEED})`, () => {
  for (const { pageSize, reserved } of configs) {
    it(`page size ${pageSize}, ${reserved} reserved bytes: payloads at the local limits, overflow chains, indexes`, async () => {
      const U = pageSize - reserved;
      const X = U - 35;
      const M = Math.floor(((U - 12) * 32) / 255) - 23;
      const XI = Math.floor(((U - 12) * 64) / 255) - 23;
      const tableSizes = [3, 4, M - 1, M, M + 1, X - 1, X, X + 1, X + 2, X + (U - 4), X + (U - 4) + 1, 2 * U + 7, 7 * U];
      const indexSizes = [3, M - 1, M, M + 1, XI - 1, XI, XI + 1, XI + (U - 4), 3 * U + 1];
      if (pageSize === 4096 || pageSize === 65536) tableSizes.push(3_000_000);
      const { path, image } = buildDb({ pageSize, reserved }, (db) => {
        db.exec('CREATE TABLE p(x, b); CREATE INDEX pb ON p(b);');
        db.exec('CREATE TABLE w(k PRIMARY KEY, x) WITHOUT ROWID;');
        db.exec('CREATE TABLE s(a INTEGER PRIMARY KEY, t TEXT, n); CREATE INDEX st ON s(t, n);');
        const insP = db.prepare('INSERT INTO p(rowid, x, b) VALUES (?, ?, ?)');
        tableSizes.forEach((T, i) => {
          const { x, len } = recordFor(T);
          insP.run(i + 1, x === null ? null : BigInt(x), blobOf(len, i + 1));
        });
        const insW = db.prepare('INSERT INTO w(k, x) VALUES (?, ?)');
        indexSizes.forEach((T, i) => {
          const { x, len } = recordFor(T);
          insW.run(blobOf(len, 1000 + i), x === null ? null : BigInt(x));
        });
        // enough small rows for interior pages (index interior cells carry entries)
        const insS = db.prepare('INSERT INTO s(t, n) VALUES (?, ?)');
        db.transaction(() => {
          for (let i = 0; i < 3000; i++) insS.run(`k${(i * 7919) % 3001}`.repeat(1 + (i % 3)), i % 17 === 0 ? null : i * 1.5);
        })();
      });
      const src = new ImageSource(image);
      const asrc = new ImageSource(image, { async: true });
      expect(src.usableSize).toBe(U);
      const db = openReadonly(path);
      try {
        // table p: sizes around X and M, overflow chains; the record sizes are what we aimed at
        const rootP = rootOf(db, 'p');
        const expP = sqliteRows(db, 'SELECT rowid, x, b FROM p ORDER BY rowid');
        expect(hex(await cursorRows(src, rootP))).toStrictEqual(hex(expP));
        const c = new TableCursor(src, rootP);
        let i = 0;
        for (let ok = await c.first(); ok; ok = await c.next(), i++) expect(c.payloadSize()).toBe(tableSizes[i]);
        expect(hex(await cursorRows(asrc, rootP))).toStrictEqual(hex(expP));
        expect(hex(await scanRows(src, rootP))).toStrictEqual(hex(expP));
        expect(hex(await scanRows(asrc, rootP))).toStrictEqual(hex(expP));
        expect(overflowPagesOf(src, rootP)).toBe(dbstatOverflow(db, 'p'));
        // index pb: blobs, most overflowing in index cells
        const expPB = sqliteRows(db, 'SELECT b, rowid FROM p ORDER BY b, rowid');
        expect(hex(await indexEntries(src, rootOf(db, 'pb')))).toStrictEqual(hex(expPB));
        expect(hex(await indexEntries(asrc, rootOf(db, 'pb')))).toStrictEqual(hex(expPB));
        expect(overflowPagesOf(src, rootOf(db, 'pb'))).toBe(dbstatOverflow(db, 'pb'));
        // seeks on overflowing keys: eq finds each one, gt lands on the next entry
        for (const s0 of [src, asrc]) {
          const cpb = new IndexCursor(s0, rootOf(db, 'pb'));
          for (let k = 0; k < expPB.length; k++) {
            const [b, rowid] = expPB[k];
            expect(await cpb.seek([b, rowid], { op: 'eq' })).toBe(true);
            expect(hex([await cpb.record()])).toStrictEqual(hex([[b, rowid]]));
            // on the blob alone: the first entry with that blob (two rows have an empty one)
            expect(await cpb.seek([b], { op: 'eq' })).toBe(true);
            const firstK = hex(expPB).findIndex((r) => r[0] === hex([[b]])[0][0]);
            expect(hex([await cpb.record()])).toStrictEqual(hex([expPB[firstK]]));
            await cpb.seek([b, rowid], { op: 'gt' });
            if (k + 1 < expPB.length) expect(hex([await cpb.record()])).toStrictEqual(hex([expPB[k + 1]]));
            else expect(cpb.eof).toBe(true);
          }
        }
        // WITHOUT ROWID w: index-page sizes around its X and M
        const rootW = rootOf(db, 'w');
        const expW = sqliteRows(db, 'SELECT k, x FROM w ORDER BY k');
        expect(hex(await indexEntries(src, rootW))).toStrictEqual(hex(expW));
        const cw = new IndexCursor(src, rootW);
        const sizes: number[] = [];
        for (let ok = await cw.first(); ok; ok = await cw.next()) sizes.push(cw.payloadSize());
        expect(sizes.sort((a, b) => a - b)).toStrictEqual([...indexSizes].sort((a, b) => a - b));
        expect(overflowPagesOf(src, rootW)).toBe(dbstatOverflow(db, 'w'));
        // table s and its two-column index: deeper trees
        const rootS = rootOf(db, 's');
        const expS = sqliteRows(db, 'SELECT rowid, a, t, n FROM s ORDER BY rowid').map((r) => [r[0], null, r[2], r[3]]);
        expect(hex(await cursorRows(src, rootS))).toStrictEqual(hex(expS));
        expect(hex(await scanRows(asrc, rootS))).toStrictEqual(hex(expS));
        const expST = sqliteRows(db, 'SELECT t, n, rowid FROM s ORDER BY t, n, rowid');
        expect(hex(await indexEntries(src, rootOf(db, 'st')))).toStrictEqual(hex(expST));
        expect(hex(await indexEntries(asrc, rootOf(db, 'st')))).toStrictEqual(hex(expST));
        // backwards: the same entries in reverse, for table and index trees, sync and async
        for (const s0 of [src, asrc]) {
          expect(hex(await reverseEntries(new TableCursor(s0, rootS)))).toStrictEqual(hex([...expS].reverse()));
          expect(hex(await reverseEntries(new IndexCursor(s0, rootOf(db, 'st'))))).toStrictEqual(hex([...expST].reverse()));
          expect(hex(await reverseEntries(new TableCursor(s0, rootP)))).toStrictEqual(hex([...expP].reverse()));
          expect(hex(await reverseEntries(new IndexCursor(s0, rootOf(db, 'pb'))))).toStrictEqual(hex([...expPB].reverse()));
        }
        // next/prev zig-zag keeps the position
        const zz = new IndexCursor(src, rootOf(db, 'st'));
        await zz.first();
        for (let k = 0; k < expST.length - 1; k++) {
          expect(await zz.next()).toBe(true);
          expect(await zz.prev()).toBe(true);
          expect(await zz.record()).toStrictEqual(expST[k]);
          expect(await zz.next()).toBe(true);
        }
        expect(await zz.next()).toBe(false);
        // last() agrees with SQLite's max
        const ct = new TableCursor(src, rootS);
        expect(await ct.last()).toBe(true);
        expect(ct.rowid).toBe(expS[expS.length - 1][0]);
        expect(await ct.next()).toBe(false);
        const ci = new IndexCursor(asrc, rootOf(db, 'st'));
        expect(await ci.last()).toBe(true);
        expect(await ci.record()).toStrictEqual(expST[expST.length - 1]);
      } finally {
        db.close();
      }
    });
  }

  it('reads the three encodings with non-BMP text, and BINARY order follows the encoding', async () => {
    const words = ['a', 'A', 'b', 'Ā', 'ā', 'z', '\u{1F600}', '\u{1F600}x', '\uFFFD', '\uE000', '\u00E9', 'É', '', 'a\u0000b', '\u{10FFFF}', 'ab', 'a b', '\u0301e'];
    for (const encoding of ['UTF-8', 'UTF-16le', 'UTF-16be'] as const) {
      const { path, image } = buildDb({ pageSize: 512, encoding }, (db) => {
        db.exec('CREATE TABLE t(s TEXT, n); CREATE INDEX ts ON t(s);');
        const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
        db.transaction(() => {
          for (let i = 0; i < 400; i++) ins.run(words[i % words.length] + (i % 3 === 0 ? '' : String(i)), i);
        })();
      });
      const src = new ImageSource(image);
      const db = openReadonly(path);
      try {
        expect(await cursorRows(src, rootOf(db, 't'))).toStrictEqual(sqliteRows(db, 'SELECT rowid, s, n FROM t ORDER BY rowid'));
        const entries = await indexEntries(src, rootOf(db, 'ts'));
        expect(entries).toStrictEqual(sqliteRows(db, 'SELECT s, rowid FROM t ORDER BY s, rowid'));
        // the comparator agrees with the b-tree order SQLite built for this encoding
        const cmp = keyComparator([], src.encoding);
        for (let i = 1; i < entries.length; i++) expect(cmp(entries[i - 1], entries[i])).toBeLessThan(0);
      } finally {
        db.close();
      }
    }
  });

  it('reads rowids at the ±2^63 ends and seeks like SQLite', async () => {
    const special = [
      -(1n << 63n), -(1n << 63n) + 1n, -(1n << 53n) - 1n, -(1n << 53n), -(1n << 53n) + 1n, -1n, 0n, 1n,
      (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, (1n << 63n) - 2n, (1n << 63n) - 1n,
    ];
    const random = fc.sample(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), { seed: SEED, numRuns: 3000 });
    const { path, image } = buildDb({ pageSize: 512 }, (db) => {
      db.exec('CREATE TABLE t(v)');
      const ins = db.prepare('INSERT OR IGNORE INTO t(rowid, v) VALUES (?, ?)');
      db.transaction(() => {
        for (const r of [...special, ...random]) ins.run(r, r % 5n === 0n ? null : String(r));
      })();
    });
    const db = openReadonly(path);
    try {
      const root = rootOf(db, 't');
      for (const src of [new ImageSource(image), new ImageSource(image, { async: true })]) {
        expect(await cursorRows(src, root)).toStrictEqual(sqliteRows(db, 'SELECT rowid, v FROM t ORDER BY rowid'));
        const next = db.prepare('SELECT rowid FROM t WHERE rowid >= ? ORDER BY rowid LIMIT 1').safeIntegers(true).pluck();
        const probes = [
          ...special,
          ...special.map((v) => v + 1n),
          ...special.map((v) => v - 1n),
          ...random.slice(0, 200),
          ...fc.sample(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), { seed: SEED + 1, numRuns: 300 }),
        ].filter((v) => v >= -(1n << 63n) && v < 1n << 63n);
        const cur = new TableCursor(src, root);
        for (const probe of probes) {
          const key = probe >= -9007199254740991n && probe <= 9007199254740991n ? Number(probe) : probe;
          const exact = await cur.seek(key);
          const want = next.get(probe) as bigint | undefined;
          cur.assertState();
          if (want === undefined) {
            expect(cur.eof).toBe(true);
            expect(exact).toBe(false);
          } else {
            expect(cur.eof).toBe(false);
            expect(BigInt(cur.rowid)).toBe(want);
            expect(exact).toBe(want === probe);
          }
        }
      }
    } finally {
      db.close();
    }
  });

  it('WITHOUT ROWID with composite NOCASE/DESC keys: order and seeks match SQLite', async () => {
    const stems = ['a', 'A', 'ab', 'AB', 'aB', 'b', '_', '[', 'é', 'É', 'z', 'Z', '\u{1F600}', '\uFFFD', 'a ', 'a  '];
    const rnd = fc.sample(fc.tuple(fc.constantFrom(...stems), fc.constantFrom(...stems, ''), fc.integer({ min: -50, max: 50 }), fc.string({ maxLength: 300 })), {
      seed: SEED + 2,
      numRuns: 2500,
    });
    const { path, image } = buildDb({ pageSize: 1024 }, (db) => {
      db.exec('CREATE TABLE w(a TEXT COLLATE NOCASE, b INTEGER, c, PRIMARY KEY(a, b DESC)) WITHOUT ROWID');
      db.exec('CREATE TABLE r(k TEXT COLLATE RTRIM PRIMARY KEY, v) WITHOUT ROWID');
      const ins = db.prepare('INSERT OR IGNORE INTO w VALUES (?, ?, ?)');
      const insR = db.prepare('INSERT OR IGNORE INTO r VALUES (?, ?)');
      db.transaction(() => {
        for (const [s1, s2, n, c] of rnd) {
          ins.run(s1 + s2, BigInt(n), c);
          insR.run(s1 + s2 + ' '.repeat(n & 3), n);
        }
      })();
    });
    const db = openReadonly(path);
    try {
      const keyInfo: KeyInfo = [{ collation: 'NOCASE' }, { desc: true }];
      const root = rootOf(db, 'w');
      const expected = sqliteRows(db, 'SELECT a, b, c FROM w ORDER BY a, b DESC');
      const probes = fc.sample(fc.tuple(fc.constantFrom(...stems), fc.constantFrom(...stems, ''), fc.integer({ min: -60, max: 60 })), {
        seed: SEED + 3,
        numRuns: 300,
      });
      const q = (where: string) => db.prepare(`SELECT a, b, c FROM w WHERE ${where} ORDER BY a, b DESC LIMIT 1`).safeIntegers(true).raw(true);
      const qs = {
        ge2: q('a > @a OR (a = @a AND b <= @b)'),
        gt2: q('a > @a OR (a = @a AND b < @b)'),
        ge1: q('a >= @a'),
        gt1: q('a > @a'),
      };
      for (const src of [new ImageSource(image), new ImageSource(image, { async: true })]) {
        const got = await indexEntries(src, root, keyInfo);
        expect(got).toStrictEqual(expected);
        expect(got.length).toBeGreaterThan(100);
        const cur = new IndexCursor(src, root, keyInfo);
        const cmp = keyComparator(keyInfo, src.encoding);
        for (let i = 1; i < got.length; i++) expect(cmp(got[i - 1], got[i])).toBeLessThan(0);
        for (const [s1, s2, n] of probes) {
          const a = s1 + s2;
          const cases: Array<[SqlValue[], 'ge' | 'gt', Database.Statement, object]> = [
            [[a, n], 'ge', qs.ge2, { a, b: BigInt(n) }],
            [[a, n], 'gt', qs.gt2, { a, b: BigInt(n) }],
            [[a], 'ge', qs.ge1, { a }],
            [[a], 'gt', qs.gt1, { a }],
          ];
          for (const [key, op, stmt, params] of cases) {
            const want = stmt.get(params) as unknown[] | undefined;
            const eq = await cur.seek(key, { op });
            cur.assertState();
            if (want === undefined) {
              expect(cur.eof, `${op} ${JSON.stringify(key)}`).toBe(true);
            } else {
              expect(cur.eof, `${op} ${JSON.stringify(key)}`).toBe(false);
              const rec = await cur.record();
              expect(rec).toStrictEqual(sqliteRows(db, 'SELECT ?, ?, ?', ...want)[0]);
              expect(eq).toBe(op === 'ge' && cmp(key, rec) === 0);
            }
            // eq: positioned exactly when some entry has this prefix
            const found = await cur.seek(key, { op: 'eq' });
            const exists = expected.some((r) => cmp(key, r) === 0);
            expect(found).toBe(exists);
            expect(cur.eof).toBe(!exists);
            if (exists) expect(await cur.compareKey(key)).toBe(0);
          }
        }
      }
      // RTRIM keys
      const rootR = rootOf(db, 'r');
      const expR = sqliteRows(db, 'SELECT k, v FROM r ORDER BY k');
      const gotR = await indexEntries(new ImageSource(image), rootR, [{ collation: 'RTRIM' }]);
      expect(gotR).toStrictEqual(expR);
      const curR = new IndexCursor(new ImageSource(image), rootR, [{ collation: 'RTRIM' }]);
      const geR = db.prepare('SELECT k, v FROM r WHERE k >= ? ORDER BY k LIMIT 1').safeIntegers(true).raw(true);
      for (const [s1, s2, n] of probes) {
        const key = s1 + s2 + ' '.repeat(n & 3);
        const want = geR.get(key) as unknown[] | undefined;
        await curR.seek([key]);
        if (want === undefined) expect(curR.eof).toBe(true);
        else expect(await curR.record()).toStrictEqual(sqliteRows(db, 'SELECT ?, ?', ...want)[0]);
      }
    } finally {
      db.close();
    }
  });

  it('index over mixed storage classes: order and seeks match SQLite', async () => {
    const I64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
    const value = fc.oneof(
      fc.constant(null),
      I64,
      fc.constantFrom(9007199254740992n, 9007199254740993n, -9007199254740993n, (1n << 63n) - 1n, -(1n << 63n), 0n, 1n),
      fc.double({ noNaN: true }),
      fc.constantFrom(9007199254740992, 9223372036854775807, -9223372036854775808, 0.5, -0.5, 1e300, -Infinity, Infinity),
      fc.integer({ min: -100, max: 100 }).map(BigInt),
      fc.string({ maxLength: 20 }),
      fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
    );
    const vals = fc.sample(value, { seed: SEED + 4, numRuns: 2500 });
    const { path, image } = buildDb({ pageSize: 1024 }, (db) => {
      db.exec('CREATE TABLE m(x); CREATE INDEX mx ON m(x);');
      const ins = db.prepare('INSERT INTO m VALUES (?)');
      db.transaction(() => {
        for (const v of vals) ins.run(v);
      })();
    });
    const db = openReadonly(path);
    try {
      const root = rootOf(db, 'mx');
      const expected = sqliteRows(db, 'SELECT x, rowid FROM m ORDER BY x, rowid');
      const src = new ImageSource(image);
      expect(await indexEntries(src, root)).toStrictEqual(expected);
      const ge = db.prepare('SELECT x, rowid FROM m WHERE x >= ? ORDER BY x, rowid LIMIT 1').safeIntegers(true).raw(true);
      const gt = db.prepare('SELECT x, rowid FROM m WHERE x > ? ORDER BY x, rowid LIMIT 1').safeIntegers(true).raw(true);
      const cur = new IndexCursor(src, root);
      const probes = fc.sample(value, { seed: SEED + 5, numRuns: 600 }).filter((v) => v !== null);
      for (const probe of probes) {
        const key = sqliteRows(db, 'SELECT ?', probe)[0];
        for (const [op, stmt] of [
          ['ge', ge],
          ['gt', gt],
        ] as const) {
          const want = stmt.get(probe) as unknown[] | undefined;
          await cur.seek(key, { op });
          if (want === undefined) expect(cur.eof).toBe(true);
          else expect(await cur.record()).toStrictEqual(sqliteRows(db, 'SELECT ?, ?', ...want)[0]);
        }
      }
      // NULL sorts first and equals NULL
      expect(await cur.seek([null], { op: 'eq' })).toBe(expected[0][0] === null);
      await cur.seek([null], { op: 'gt' });
      const firstNonNull = expected.find((r) => r[0] !== null);
      expect(await cur.record()).toStrictEqual(firstNonNull);
    } finally {
      db.close();
    }
  });

  it('index seeks on a short leading column read no overflow pages', async () => {
    const { path, image } = buildDb({ pageSize: 1024 }, (db) => {
      db.exec('CREATE TABLE q(s, big); CREATE INDEX qs ON q(s, big);');
      const ins = db.prepare('INSERT INTO q VALUES (?, ?)');
      db.transaction(() => {
        for (let i = 0; i < 400; i++) ins.run(`key${String(i).padStart(4, '0')}`, blobOf(3000, i + 1));
      })();
    });
    const db = openReadonly(path);
    try {
      const root = rootOf(db, 'qs');
      const depth = (db.prepare(`SELECT max(length(path) - length(replace(path, '/', ''))) FROM dbstat WHERE name = 'qs'`).pluck().get() as number);
      for (const async of [false, true]) {
        const src = new ImageSource(image, { async });
        const cur = new IndexCursor(src, root);
        for (const i of [0, 7, 199, 399]) {
          const before = src.reads;
          expect(await cur.seek([`key${String(i).padStart(4, '0')}`], { op: 'eq' })).toBe(true);
          // only b-tree pages on the path: each key's 3000-byte blob overflows 2+ pages
          expect(src.reads - before).toBeLessThanOrEqual(depth);
          const rec = await cur.record();
          expect(rec[0]).toBe(`key${String(i).padStart(4, '0')}`);
          expect(rec[1]).toStrictEqual(new Uint8Array(blobOf(3000, i + 1)));
        }
        expect(await cur.seek(['key0100x'], { op: 'eq' })).toBe(false);
        expect(cur.eof).toBe(true);
      }
    } finally {
      db.close();
    }
  });

  it('handles empty tables and single-leaf trees', async () => {
    const { path, image } = buildDb({}, (db) => {
      db.exec('CREATE TABLE e(x); CREATE INDEX ex ON e(x); CREATE TABLE one(x); INSERT INTO one VALUES (42);');
    });
    const db = openReadonly(path);
    try {
      const src = new ImageSource(image);
      const e = new TableCursor(src, rootOf(db, 'e'));
      expect(await e.first()).toBe(false);
      expect(e.eof).toBe(true);
      expect(await e.next()).toBe(false);
      expect(await e.last()).toBe(false);
      expect(await e.seek(1)).toBe(false);
      expect(e.eof).toBe(true);
      const ei = new IndexCursor(src, rootOf(db, 'ex'));
      expect(await ei.first()).toBe(false);
      expect(await ei.seek([1])).toBe(false);
      expect(ei.eof).toBe(true);
      expect(await scanRows(src, rootOf(db, 'e'))).toEqual([]);
      const one = new TableCursor(src, rootOf(db, 'one'));
      expect(await one.seek(1)).toBe(true);
      expect(await one.record()).toStrictEqual([42]);
      expect(await one.seek(2)).toBe(false);
      expect(one.eof).toBe(true);
      expect(() => one.rowid).toThrow(expect.objectContaining({ code: 'MISUSE' }));
      // sqlite_schema on page 1 (b-tree header at offset 100)
      const schema = await cursorRows(src, 1);
      expect(schema.map((r) => r[2])).toStrictEqual(sqliteRows(db, 'SELECT name FROM sqlite_schema ORDER BY rowid').map((r) => r[0]));
    } finally {
      db.close();
    }
  });

  it('refuses a second operation while an asynchronous one is in flight', async () => {
    const { image } = buildDb({}, (db) => {
      db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);');
    });
    const cur = new TableCursor(new ImageSource(image, { async: true }), 2);
    const p = cur.first();
    expect(p).toBeInstanceOf(Promise);
    expect(() => cur.next()).toThrow(expect.objectContaining({ code: 'MISUSE' }));
    expect(await p).toBe(true);
    expect(await cur.next()).toBe(true);
    expect(await cur.record()).toStrictEqual([2]);
  });

  it('completes synchronously when the source has the pages', () => {
    const { image } = buildDb({ pageSize: 512 }, (db) => {
      db.exec('CREATE TABLE t(x)');
      const ins = db.prepare('INSERT INTO t VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 500; i++) ins.run(`row ${i}`);
      })();
    });
    const cur = new TableCursor(new ImageSource(image), 2);
    let n = 0;
    for (let ok = cur.first(); ok; ok = cur.next()) {
      expect(ok).toBe(true); // a boolean, not a Promise
      n++;
    }
    expect(n).toBe(500);
    expect(cur.seek(250)).toBe(true);
    expect(cur.record()).toStrictEqual(['row 249']);
  });
});

afterAll(() => {
  // temp files are removed at process exit by test/util/tmp.ts
});
