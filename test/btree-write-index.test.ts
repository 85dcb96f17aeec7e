/**
 * Model-based test of the b-tree writer on index b-trees (fast-check commands, seeded):
 *
 *   A. a rowid table t(a, b) with an index i ON t(a COLLATE NOCASE DESC, b): rows are written
 *      to the table b-tree and their entries [a, b, rowid] to the index with insertIndex /
 *      deleteIndex (full keys, unique prefixes, absent keys; a re-cased `a` replaces the
 *      entry in place, since it compares equal under NOCASE);
 *   B. a WITHOUT ROWID table w(a TEXT COLLATE NOCASE, b BLOB, c INT, PRIMARY KEY(a DESC, b, c)):
 *      the records are the rows; inserting a key equal under NOCASE replaces the row.
 *
 * Keys mix NULL, integers, reals, text with case variants and non-ASCII letters, and BLOBs up
 * to several pages (overflowing index cells, on leaves and in interior cells). After every
 * commit: SQLite's integrity_check (order under the collation, index entries matching table
 * rows), SQLite's rows equal the model's, and quire's index cursor walks the entries in the
 * order SQLite returns them. Replay with QUIRE_SEED=<seed> (printed in the suite name).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IndexCursor } from '../btree/cursor.js';
import { checkIntegrity } from '../btree/integrity.js';
import { parsePage } from '../btree/page.js';
import { encodeRecord } from '../btree/record.js';
import type { KeyInfo } from '../btree/compare.js';
import type { SqlValue } from '../btree/value.js';
import { BtreeWriter } from '../btree/write.js';
import type { WriteTxn } from '../pager/pager.js';
import { SEED, sqliteRows } from './util/btree-db.js';
import { addSchemaRow, createDb, dumpDb, openSqlite, sqliteCheck, type WriteDb } from './util/write-db.js';

interface Cfg {
  pageSize: number;
  reserved: number;
  autoVacuum: 'none' | 'full' | 'incremental';
  /** 1 UTF-8 (default), 2 UTF-16le, 3 UTF-16be: BINARY text order follows the encoding. */
  encoding?: 1 | 2 | 3;
}

const CONFIGS: Cfg[] = [
  { pageSize: 512, reserved: 0, autoVacuum: 'none' },
  { pageSize: 512, reserved: 16, autoVacuum: 'full' },
  { pageSize: 1024, reserved: 0, autoVacuum: 'incremental' },
  { pageSize: 1024, reserved: 0, autoVacuum: 'none', encoding: 2 },
  { pageSize: 4096, reserved: 8, autoVacuum: 'none' },
  { pageSize: 4096, reserved: 0, autoVacuum: 'full', encoding: 3 },
  { pageSize: 65536, reserved: 0, autoVacuum: 'full' },
];

const IDX_INFO: KeyInfo = [{ collation: 'NOCASE', desc: true }, { collation: 'BINARY' }];
const W_INFO: KeyInfo = [{ collation: 'NOCASE', desc: true }, {}, {}];

// ---- values ---------------------------------------------------------------------------------

const letters = fc.constantFrom('a', 'A', 'b', 'B', 'q', 'Q', 'z', 'Z', '_', '0', ' ', 'é', 'É', 'ß', '\u{1F600}', '~');
const text = fc.array(letters, { maxLength: 10 }).map((a) => a.join(''));

function blobArb(U: number): fc.Arbitrary<Uint8Array> {
  return fc
    .oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: U >> 3, max: 3 * U }) })
    .chain((n) => fc.integer({ min: 0, max: 255 }).map((x) => new Uint8Array(n).fill(x).map((v, i) => (i % 7 === 0 ? (v + i) & 0xff : v))));
}

function keyArb(U: number): fc.Arbitrary<SqlValue> {
  return fc.oneof(
    { weight: 4, arbitrary: text },
    { weight: 2, arbitrary: fc.integer({ min: -5, max: 5 }) },
    { weight: 1, arbitrary: fc.constantFrom(0.5, -2.25, 1e300, 3) },
    { weight: 1, arbitrary: fc.constantFrom(9007199254740993n, -(2n ** 63n)) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: blobArb(U) },
  );
}

/** Flips the case of ASCII letters pseudo-randomly (NOCASE folds ASCII only). */
function recase(s: string, seed: number): string {
  let out = '';
  let x = seed;
  for (const ch of s) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += /^[a-zA-Z]$/.test(ch) ? ((x >>> 16) & 1 ? ch.toUpperCase() : ch.toLowerCase()) : ch;
  }
  return out;
}

/** A canonical string for comparing values exactly (type-tagged). */
function canon(v: SqlValue): string {
  if (v === null) return 'n';
  if (typeof v === 'bigint') return `i${v}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `i${v}` : `r${v}`;
  if (typeof v === 'string') return `t${v}`;
  return `b${Buffer.from(v).toString('hex')}`;
}

function nocaseKey(v: SqlValue): string {
  return typeof v === 'string' ? `t${v.replace(/[A-Z]/g, (c) => c.toLowerCase())}` : canon(v);
}

function normInt(v: SqlValue): SqlValue {
  return typeof v === 'bigint' && v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

// ---- shared harness -------------------------------------------------------------------------

interface Real {
  db: WriteDb;
  cfg: Cfg;
  tRoot: number;
  iRoot: number;
  /** Index ib ON t(a): BINARY. */
  ibRoot: number;
  wRoot: number;
  txn: WriteTxn | null;
  w: BtreeWriter | null;
  commits: number;
}

interface Model {
  /** Table A: rowid -> [a, b]. */
  t: Map<bigint, [SqlValue, SqlValue]>;
  /** Table B: NOCASE key -> [a, b, c]. */
  w: Map<string, [string, Uint8Array, number]>;
  committed: { t: Map<bigint, [SqlValue, SqlValue]>; w: Map<string, [string, Uint8Array, number]> };
}

const stats = new Map<string, { interiorEntries: number; maxDepth: number; entries: number; overflowInterior: number }>();

async function ensureTxn(r: Real): Promise<BtreeWriter> {
  if (r.w) return r.w;
  r.txn = await r.db.pager.beginWrite();
  r.w = new BtreeWriter(r.txn);
  return r.w;
}

function wKey(a: string, b: Uint8Array, c: number): string {
  return `${nocaseKey(a)}|${canon(b)}|${c}`;
}

async function indexWalk(r: Real, root: number, keyInfo: KeyInfo): Promise<SqlValue[][]> {
  const snap = await r.db.pager.read();
  try {
    const out: SqlValue[][] = [];
    const c = new IndexCursor(snap, root, keyInfo);
    let ok = await c.first();
    while (ok) {
      out.push((await c.record()).map(normInt));
      ok = await c.next();
    }
    // coverage: depth and entries kept in interior cells
    const st = stats.get(JSON.stringify(r.cfg)) ?? { interiorEntries: 0, maxDepth: 0, entries: 0, overflowInterior: 0 };
    stats.set(JSON.stringify(r.cfg), st);
    st.entries = Math.max(st.entries, out.length);
    const walk = async (pg: number, depth: number): Promise<void> => {
      const p = parsePage(await snap.page(pg), pg, r.cfg.pageSize - r.cfg.reserved);
      st.maxDepth = Math.max(st.maxDepth, depth);
      if (p.leaf) return;
      st.interiorEntries += p.nCell;
      for (let i = 0; i <= p.nCell; i++) {
        const off = i < p.nCell ? (p.data[p.cellPtr + 2 * i] << 8) | p.data[p.cellPtr + 2 * i + 1] : -1;
        if (off >= 0 && p.data[off + 4] >= 0x80 && ((p.data[off + 4] & 0x7f) << 7) + (p.data[off + 5] & 0x7f) > ((p.usableSize - 12) * 64) / 255 - 23) st.overflowInterior++;
        const child = i < p.nCell ? ((p.data[off] << 24) >>> 0) + ((p.data[off + 1] << 16) | (p.data[off + 2] << 8) | p.data[off + 3]) : p.rightChild;
        await walk(child, depth + 1);
      }
    };
    await walk(root, 1);
    return out;
  } finally {
    r.db.pager.releaseSnapshot(snap);
  }
}

async function verify(r: Real, m: Model): Promise<void> {
  const path = dumpDb(r.db);
  expect(sqliteCheck(path), `SQLite integrity_check after commit ${r.commits}`).toEqual([]);
  const s = openSqlite(path);
  let idxOrder: SqlValue[][];
  let ibOrder: SqlValue[][];
  let wOrder: SqlValue[][];
  try {
    const rows = sqliteRows(s, 'SELECT rowid, a, b FROM t ORDER BY rowid');
    const want = [...m.committed.t.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([k, [a, b]]) => [normInt(k), normInt(a), normInt(b)]);
    expect(rows.map((x) => x.map(canon))).toEqual(want.map((x) => x.map(canon)));
    idxOrder = sqliteRows(s, 'SELECT a, b, rowid FROM t INDEXED BY i ORDER BY a COLLATE NOCASE DESC, b, rowid');
    ibOrder = sqliteRows(s, 'SELECT a, rowid FROM t INDEXED BY ib ORDER BY a, rowid');
    wOrder = sqliteRows(s, 'SELECT a, b, c FROM w ORDER BY a COLLATE NOCASE DESC, b, c');
    const wWant = [...m.committed.w.values()].map((x) => x.map(canon).join(',')).sort();
    expect(wOrder.map((x) => x.map(canon).join(',')).sort()).toEqual(wWant);
  } finally {
    s.close();
  }
  // quire walks both index b-trees in SQLite's order
  expect((await indexWalk(r, r.iRoot, IDX_INFO)).map((x) => x.map(canon))).toEqual(idxOrder.map((x) => x.map(canon)));
  expect((await indexWalk(r, r.wRoot, W_INFO)).map((x) => x.map(canon))).toEqual(wOrder.map((x) => x.map(canon)));
  expect((await indexWalk(r, r.ibRoot, [])).map((x) => x.map(canon))).toEqual(ibOrder.map((x) => x.map(canon)));
  const snap = await r.db.pager.read();
  try {
    const rep = await checkIntegrity(snap, [
      { root: 1, kind: 'table' },
      { root: r.tRoot, kind: 'table' },
      { root: r.iRoot, kind: 'index', keyInfo: IDX_INFO },
      { root: r.wRoot, kind: 'index', keyInfo: W_INFO, nKey: 3 },
      { root: r.ibRoot, kind: 'index', keyInfo: [] },
    ]);
    expect(rep.problems, 'quire integrity check').toEqual([]);
  } finally {
    r.db.pager.releaseSnapshot(snap);
  }
}

type Cmd = fc.AsyncCommand<Model, Real>;

// ---- A: table + index -----------------------------------------------------------------------

class InsertRow implements Cmd {
  readonly rowid: bigint;
  readonly a: SqlValue;
  readonly b: SqlValue;
  constructor(rowid: bigint, a: SqlValue, b: SqlValue) {
    this.rowid = rowid;
    this.a = a;
    this.b = b;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const w = await ensureTxn(r);
    const enc = r.txn!.encoding;
    const old = m.t.get(this.rowid);
    if (old) {
      expect(await w.deleteIndex(r.iRoot, [old[0], old[1], this.rowid], IDX_INFO)).toBe(true);
      expect(await w.deleteIndex(r.ibRoot, [old[0], this.rowid], [])).toBe(true);
    }
    await w.insert(r.tRoot, normInt(this.rowid) as number | bigint, encodeRecord([this.a, this.b], enc));
    await w.insertIndex(r.iRoot, encodeRecord([this.a, this.b, this.rowid], enc), IDX_INFO);
    await w.insertIndex(r.ibRoot, encodeRecord([this.a, this.rowid], enc), []);
    m.t.set(this.rowid, [this.a, this.b]);
  }
  toString = () => `InsertRow(${this.rowid}n, ${canon(this.a).slice(0, 20)}, ${canon(this.b).slice(0, 20)})`;
}

/** Changes the case of a row's text key: insertIndex replaces the equal (NOCASE) entry. */
class Recase implements Cmd {
  readonly pick: number;
  constructor(pick: number) {
    this.pick = pick;
  }
  check = (m: Readonly<Model>) => [...m.t.values()].some(([a]) => typeof a === 'string');
  async run(m: Model, r: Real) {
    const rows = [...m.t.entries()].filter(([, [a]]) => typeof a === 'string');
    const [rowid, [a, b]] = rows[this.pick % rows.length];
    const a2 = recase(a as string, this.pick);
    const w = await ensureTxn(r);
    const enc = r.txn!.encoding;
    await w.insertIndex(r.iRoot, encodeRecord([a2, b, rowid], enc), IDX_INFO);
    expect(await w.deleteIndex(r.ibRoot, [a, rowid], [])).toBe(true);
    await w.insertIndex(r.ibRoot, encodeRecord([a2, rowid], enc), []);
    await w.insert(r.tRoot, normInt(rowid) as number | bigint, encodeRecord([a2, b], enc));
    m.t.set(rowid, [a2, b]);
  }
  toString = () => `Recase(#${this.pick})`;
}

class DeleteRow implements Cmd {
  readonly pick: number;
  readonly prefix: boolean;
  constructor(pick: number, prefix: boolean) {
    this.pick = pick;
    this.prefix = prefix;
  }
  check = (m: Readonly<Model>) => m.t.size > 0;
  async run(m: Model, r: Real) {
    const rows = [...m.t.entries()];
    const [rowid, [a, b]] = rows[this.pick % rows.length];
    const w = await ensureTxn(r);
    // A (a, b) prefix identifies the entry when no other row has an equal (NOCASE) a and b.
    const unique = rows.filter(([, [a2, b2]]) => nocaseKey(a2) === nocaseKey(a) && canon(b2) === canon(b)).length === 1;
    const key = this.prefix && unique ? [typeof a === 'string' ? recase(a, this.pick + 1) : a, b] : [a, b, rowid];
    expect(await w.deleteIndex(r.iRoot, key, IDX_INFO)).toBe(true);
    expect(await w.deleteIndex(r.ibRoot, [a, rowid], [])).toBe(true);
    expect(await w.delete(r.tRoot, normInt(rowid) as number | bigint)).toBe(true);
    m.t.delete(rowid);
  }
  toString = () => `DeleteRow(#${this.pick}${this.prefix ? ', prefix' : ''})`;
}

class DeleteAbsent implements Cmd {
  readonly a: SqlValue;
  constructor(a: SqlValue) {
    this.a = a;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const w = await ensureTxn(r);
    const key = [this.a, -12345, 7n];
    const present = [...m.t.entries()].some(([k, [a, b]]) => nocaseKey(a) === nocaseKey(this.a) && canon(b) === canon(-12345) && k === 7n);
    expect(await w.deleteIndex(r.iRoot, key, IDX_INFO)).toBe(present);
    if (present) {
      expect(await w.deleteIndex(r.ibRoot, [m.t.get(7n)![0], 7n], [])).toBe(true);
      expect(await w.delete(r.tRoot, 7)).toBe(true);
      m.t.delete(7n);
    }
  }
  toString = () => `DeleteAbsent(${canon(this.a).slice(0, 20)})`;
}

// ---- B: WITHOUT ROWID -----------------------------------------------------------------------

class InsertW implements Cmd {
  readonly a: string;
  readonly b: Uint8Array;
  readonly c: number;
  constructor(a: string, b: Uint8Array, c: number) {
    this.a = a;
    this.b = b;
    this.c = c;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const w = await ensureTxn(r);
    await w.insertIndex(r.wRoot, encodeRecord([this.a, this.b, this.c], r.txn!.encoding), W_INFO);
    m.w.set(wKey(this.a, this.b, this.c), [this.a, this.b, this.c]);
  }
  toString = () => `InsertW(${JSON.stringify(this.a)}, ${this.b.length}B, ${this.c})`;
}

/** Re-inserts an existing W row with its key re-cased (a replace under NOCASE). */
class RecaseW implements Cmd {
  readonly pick: number;
  constructor(pick: number) {
    this.pick = pick;
  }
  check = (m: Readonly<Model>) => m.w.size > 0;
  async run(m: Model, r: Real) {
    const rows = [...m.w.values()];
    const [a, b, c] = rows[this.pick % rows.length];
    const a2 = recase(a, this.pick);
    const w = await ensureTxn(r);
    await w.insertIndex(r.wRoot, encodeRecord([a2, b, c], r.txn!.encoding), W_INFO);
    m.w.set(wKey(a2, b, c), [a2, b, c]);
  }
  toString = () => `RecaseW(#${this.pick})`;
}

class DeleteW implements Cmd {
  readonly pick: number;
  constructor(pick: number) {
    this.pick = pick;
  }
  check = (m: Readonly<Model>) => m.w.size > 0;
  async run(m: Model, r: Real) {
    const keys = [...m.w.keys()];
    const k = keys[this.pick % keys.length];
    const [a, b, c] = m.w.get(k)!;
    const w = await ensureTxn(r);
    expect(await w.deleteIndex(r.wRoot, [recase(a, this.pick + 7), b, c], W_INFO)).toBe(true);
    m.w.delete(k);
  }
  toString = () => `DeleteW(#${this.pick})`;
}

/** Deletes a run of W entries in key order (merges, interior replacements). */
class DeleteWRange implements Cmd {
  readonly from: number;
  readonly n: number;
  constructor(from: number, n: number) {
    this.from = from;
    this.n = n;
  }
  check = (m: Readonly<Model>) => m.w.size > 0;
  async run(m: Model, r: Real) {
    const keys = [...m.w.keys()];
    const w = await ensureTxn(r);
    for (let i = 0; i < this.n && m.w.size > 0; i++) {
      const k = keys[(this.from + i) % keys.length];
      const row = m.w.get(k);
      if (!row) continue;
      expect(await w.deleteIndex(r.wRoot, row, W_INFO)).toBe(true);
      m.w.delete(k);
    }
  }
  toString = () => `DeleteWRange(#${this.from}, ${this.n})`;
}

/** Bulk-inserts W rows with increasing c (sequential index appends). */
class BulkW implements Cmd {
  readonly n: number;
  readonly size: number;
  constructor(n: number, size: number) {
    this.n = n;
    this.size = size;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const w = await ensureTxn(r);
    for (let i = 0; i < this.n; i++) {
      const a = `k${(i * 37) % 11}`;
      const b = new Uint8Array(this.size).fill(i & 0xff);
      const c = m.w.size + i;
      await w.insertIndex(r.wRoot, encodeRecord([a, b, c], r.txn!.encoding), W_INFO);
      m.w.set(wKey(a, b, c), [a, b, c]);
    }
  }
  toString = () => `BulkW(${this.n}, ${this.size})`;
}

class Vacuum implements Cmd {
  check = () => true;
  async run(_m: Model, r: Real) {
    const w = await ensureTxn(r);
    await w.incrementalVacuum(0);
  }
  toString = () => 'Vacuum';
}

class Commit implements Cmd {
  check = () => true;
  async run(m: Model, r: Real) {
    if (r.w) {
      await r.w.beforeCommit();
      await r.txn!.commit();
      r.w = null;
      r.txn = null;
    }
    m.committed = { t: new Map(m.t), w: new Map(m.w) };
    r.commits++;
    await verify(r, m);
  }
  toString = () => 'Commit';
}

class Rollback implements Cmd {
  check = () => true;
  async run(m: Model, r: Real) {
    if (r.txn) {
      await r.txn.rollback();
      r.w = null;
      r.txn = null;
    }
    m.t = new Map(m.committed.t);
    m.w = new Map(m.committed.w);
  }
  toString = () => 'Rollback';
}

function commandsFor(cfg: Cfg): fc.Arbitrary<Cmd>[] {
  const U = cfg.pageSize - cfg.reserved;
  const key = keyArb(U);
  const a = (weight: number, arbitrary: fc.Arbitrary<Cmd>) => ({ weight, arbitrary });
  const bulkMax = cfg.pageSize >= 65536 ? 300 : 150;
  return [
    fc.oneof(
      a(6, fc.tuple(fc.bigInt({ min: -20n, max: 400n }), key, fc.oneof(fc.integer({ min: -3, max: 3 }), blobArb(U))).map(([k, x, y]) => new InsertRow(k, x, y))),
      a(2, fc.nat().map((p) => new Recase(p))),
      a(4, fc.tuple(fc.nat(), fc.boolean()).map(([p, x]) => new DeleteRow(p, x))),
      a(1, key.map((x) => new DeleteAbsent(x))),
      a(5, fc.tuple(text, blobArb(U), fc.integer({ min: 0, max: 5 })).map(([x, y, z]) => new InsertW(x, y, z))),
      a(2, fc.nat().map((p) => new RecaseW(p))),
      a(3, fc.nat().map((p) => new DeleteW(p))),
      a(1, fc.tuple(fc.nat(), fc.integer({ min: 1, max: 200 })).map(([f, n]) => new DeleteWRange(f, n))),
      a(1, fc.tuple(fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constant(bulkMax)), fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: U >> 3, max: U }))).map(([n, s]) => new BulkW(n, s))),
      a(1, fc.constant(new Vacuum())),
      a(1, fc.constant(new Commit())),
      a(1, fc.constant(new Rollback())),
    ),
  ];
}

describe(`b-tree writer, index b-trees against a model (seed ${SEED})`, () => {
  for (const cfg of CONFIGS) {
    it(`page size ${cfg.pageSize}, reserved ${cfg.reserved}, auto-vacuum ${cfg.autoVacuum}, encoding ${cfg.encoding ?? 1}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.commands(commandsFor(cfg), { maxCommands: 120, size: 'large' }), async (list) => {
          const db = await createDb({ pageSize: cfg.pageSize, reserved: cfg.reserved, autoVacuum: cfg.autoVacuum, encoding: cfg.encoding });
          const txn = await db.pager.beginWrite();
          const w = new BtreeWriter(txn);
          const tRoot = await w.createBtree('table');
          await addSchemaRow(db, txn, w, 'table', 't', 't', tRoot, 'CREATE TABLE t(a, b)');
          const iRoot = await w.createBtree('index');
          await addSchemaRow(db, txn, w, 'index', 'i', 't', iRoot, 'CREATE INDEX i ON t(a COLLATE NOCASE DESC, b)');
          const wRoot = await w.createBtree('index');
          await addSchemaRow(db, txn, w, 'table', 'w', 'w', wRoot, 'CREATE TABLE w(a TEXT COLLATE NOCASE, b BLOB, c INT, PRIMARY KEY(a DESC, b, c)) WITHOUT ROWID');
          // a BINARY index on a too, whose text order depends on the encoding
          const ibRoot = await w.createBtree('index');
          await addSchemaRow(db, txn, w, 'index', 'ib', 't', ibRoot, 'CREATE INDEX ib ON t(a)');
          await w.beforeCommit();
          await txn.commit();
          const real: Real = { db, cfg, tRoot, iRoot, ibRoot, wRoot, txn: null, w: null, commits: 0 };
          const model: Model = { t: new Map(), w: new Map(), committed: { t: new Map(), w: new Map() } };
          await fc.asyncModelRun(() => ({ model, real }), [...list, new Commit()]);
        }),
        { seed: SEED + 7 * cfg.pageSize + cfg.reserved, numRuns: cfg.pageSize >= 65536 ? 15 : 40 },
      );
      const st = stats.get(JSON.stringify(cfg))!;
      console.log(`coverage ${cfg.pageSize}/${cfg.reserved}/${cfg.autoVacuum}: ${JSON.stringify(st)}`);
      expect(st.maxDepth, 'index depth').toBeGreaterThanOrEqual(cfg.pageSize >= 65536 ? 2 : 3);
      expect(st.interiorEntries, 'entries in interior cells').toBeGreaterThan(0);
      if (cfg.pageSize < 65536) expect(st.overflowInterior, 'overflowing interior entries').toBeGreaterThan(0);
    }, 600_000);
  }
});

describe('deleteIndex by prefix', () => {
  it('deletes the first equal entry in key order, also when an equal entry sits in an interior cell', async () => {
    const db = await createDb({ pageSize: 512 });
    const txn = await db.pager.beginWrite();
    const w = new BtreeWriter(txn);
    const tRoot = await w.createBtree('table');
    await addSchemaRow(db, txn, w, 'table', 't', 't', tRoot, 'CREATE TABLE t(a, b)');
    const iRoot = await w.createBtree('index');
    await addSchemaRow(db, txn, w, 'index', 'i', 't', iRoot, 'CREATE INDEX i ON t(a)');
    // 600 rows with a = 'dup' (long enough to make a deep tree), a few others around them
    const big = 'dup'.padEnd(60, '.');
    const rows = new Map<number, string>();
    for (let r = 1; r <= 700; r++) {
      const a = r % 7 === 0 ? `z${r}` : r % 11 === 0 ? `a${r}` : big;
      rows.set(r, a);
      await w.insert(tRoot, r, encodeRecord([a, r], 1));
      await w.insertIndex(iRoot, encodeRecord([a, r], 1), []);
    }
    const dups = [...rows.entries()].filter(([, a]) => a === big).map(([r]) => r);
    let interiorHits = 0;
    for (let n = 0; n < 300; n++) {
      // the first 'dup' entry in key order has the smallest rowid
      const first = Math.min(...dups);
      const c = new IndexCursor(txn, iRoot, []);
      expect(await c.seek([big], { op: 'eq' })).toBe(true);
      const rec = await c.record();
      expect(rec[1]).toBe(first);
      if (c.cellIndex >= 0 && parsePage((await txn.page(c.pgno)) as Uint8Array, c.pgno, 512).leaf === false) interiorHits++;
      expect(await w.deleteIndex(iRoot, [big], [])).toBe(true);
      expect(await w.delete(tRoot, first)).toBe(true);
      dups.splice(dups.indexOf(first), 1);
      rows.delete(first);
    }
    expect(interiorHits, 'first equal entries found in interior cells').toBeGreaterThan(0);
    expect(await w.deleteIndex(iRoot, ['nope'], [])).toBe(false);
    await txn.commit();
    const path = dumpDb(db);
    expect(sqliteCheck(path)).toEqual([]);
    const s = openSqlite(path);
    expect(sqliteRows(s, 'SELECT b FROM t INDEXED BY i WHERE a = ? ORDER BY a', big).map((r) => r[0])).toEqual(dups.sort((x, y) => x - y));
    s.close();
  });
});

describe('insertIndex replacing an equal entry of another size', () => {
  it('RTRIM keys: trailing spaces change the size of leaf and interior entries (overflow included)', async () => {
    const db = await createDb({ pageSize: 512, autoVacuum: 'full' });
    const txn = await db.pager.beginWrite();
    const w = new BtreeWriter(txn);
    const root = await w.createBtree('index');
    await addSchemaRow(db, txn, w, 'table', 'r', 'r', root, 'CREATE TABLE r(a TEXT COLLATE RTRIM PRIMARY KEY, v) WITHOUT ROWID');
    const info: KeyInfo = [{ collation: 'RTRIM' }];
    const model = new Map<string, string>();
    let x = 12345;
    const rnd = (n: number) => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let i = 0; i < 300; i++) {
      const a = `key${i % 150}`.padEnd(8 + rnd(i % 17 === 0 ? 1500 : 60), ' ');
      await w.insertIndex(root, encodeRecord([a, i % 150], 1), info);
      model.set(a.trimEnd(), a);
    }
    let interiorReplaced = 0;
    for (let i = 0; i < 2000; i++) {
      const base = `key${rnd(150)}`;
      const a = base.padEnd(base.length + rnd(rnd(10) === 0 ? 1200 : 40), ' ');
      const c = new IndexCursor(txn, root, info);
      if (await c.seek([base], { op: 'eq' })) {
        if (!parsePage((await txn.page(c.pgno)) as Uint8Array, c.pgno, 512).leaf) interiorReplaced++;
      }
      await w.insertIndex(root, encodeRecord([a, Number(base.slice(3))], 1), info);
      model.set(base, a);
    }
    expect(interiorReplaced, 'replacements of entries in interior cells').toBeGreaterThan(10);
    await w.beforeCommit();
    await txn.commit();
    const path = dumpDb(db);
    expect(sqliteCheck(path)).toEqual([]);
    const s = openSqlite(path);
    const rows = sqliteRows(s, 'SELECT a, v FROM r');
    s.close();
    expect(rows.length).toBe(model.size);
    const got = new Map(rows.map(([a]) => [(a as string).trimEnd(), a as string]));
    expect(got).toEqual(model);
  });
});

describe('appendIndex', () => {
  it('appends entries in key order without seeks, falls back to insertIndex otherwise', async () => {
    const db = await createDb({ pageSize: 1024, autoVacuum: 'full' });
    const txn = await db.pager.beginWrite();
    const w = new BtreeWriter(txn);
    const root = await w.createBtree('index');
    await addSchemaRow(db, txn, w, 'table', 'w', 'w', root, 'CREATE TABLE w(k TEXT, v, PRIMARY KEY(k DESC)) WITHOUT ROWID');
    const info: KeyInfo = [{ desc: true }];
    const N = 30_000;
    const want = new Map<string, number>();
    const key = (i: number) => `k${String(i).padStart(7, '0')}`;
    const t0 = performance.now();
    // DESC order: largest key first
    for (let i = N; i >= 1; i--) {
      const v = i % 97 === 0 ? 'x'.repeat(1500) : i;
      await w.appendIndex(root, encodeRecord([key(i), v], 1), info);
      want.set(key(i), typeof v === 'string' ? -1 : v);
    }
    const t1 = performance.now();
    // out of order (must seek)
    for (const i of [N + 5, 15_000.5, 0]) {
      await w.appendIndex(root, encodeRecord([key(i), 7], 1), info);
      want.set(key(i), 7);
    }
    // replacing a row by primary key: delete by key prefix, then insert (not last: a seek)
    expect(await w.deleteIndex(root, [key(123)], info)).toBe(true);
    await w.appendIndex(root, encodeRecord([key(123), 8], 1), info);
    want.set(key(123), 8);
    // an entry equal in every column replaces the one there (a no-op here)
    await w.appendIndex(root, encodeRecord([key(1), 1], 1), info);
    const t2 = performance.now();
    const root2 = await w.createBtree('index');
    await addSchemaRow(db, txn, w, 'table', 'w2', 'w2', root2, 'CREATE TABLE w2(k TEXT PRIMARY KEY, v) WITHOUT ROWID');
    for (let i = 1; i <= 5000; i++) await w.insertIndex(root2, encodeRecord([key(i), i], 1), [{}]);
    const t3 = performance.now();
    console.log(
      `appendIndex: ${(((t1 - t0) * 1000) / N).toFixed(2)} µs/entry; insertIndex of sorted keys: ${(((t3 - t2) * 1000) / 5000).toFixed(2)} µs/entry`,
    );
    await w.beforeCommit();
    await txn.commit();
    const path = dumpDb(db);
    expect(sqliteCheck(path)).toEqual([]);
    const s = openSqlite(path);
    const rows = sqliteRows(s, 'SELECT k, CASE WHEN typeof(v) = \'text\' THEN -1 ELSE v END FROM w ORDER BY k DESC');
    expect(sqliteRows(s, 'SELECT count(*) FROM w2')).toEqual([[5000]]);
    s.close();
    const wanted = [...want.entries()].sort((a, b) => (a[0] < b[0] ? 1 : -1));
    expect(rows).toEqual(wanted.map(([k, v]) => [k, v]));
  });
});
