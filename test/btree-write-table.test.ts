/**
 * Model-based test of the b-tree writer on a table b-tree (fast-check commands, seeded):
 * random sequences of insert / replace / delete / sequential runs / range deletes / commit /
 * rollback / incremental vacuum, with rowids across the whole int64 range (both ends
 * included) and payloads from a few bytes to several pages (the local-payload limits and the
 * overflow-page boundaries of the page size included), against a Map model. After every
 * commit the file passes SQLite's integrity_check and quire's own, and SQLite and quire's
 * cursors read exactly the model's rows. Page sizes 512..65536, reserved bytes, auto-vacuum
 * none / full / incremental. Replay with QUIRE_SEED=<seed> (printed in the suite name).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newCellInfo, parseCell } from '../btree/cell.js';
import { checkIntegrity } from '../btree/integrity.js';
import { parsePage } from '../btree/page.js';
import { TableCursor } from '../btree/cursor.js';
import { encodeRecord } from '../btree/record.js';
import { BtreeWriter } from '../btree/write.js';
import type { WriteTxn } from '../pager/pager.js';
import { SEED, sqliteRows } from './util/btree-db.js';
import { addSchemaRow, createDb, dumpDb, openSqlite, sqliteCheck, type WriteDb } from './util/write-db.js';

const MIN = -(1n << 63n);
const MAX = (1n << 63n) - 1n;

function toRowid(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

interface Cfg {
  pageSize: number;
  reserved: number;
  autoVacuum: 'none' | 'full' | 'incremental';
}

interface Model {
  rows: Map<bigint, number>; // rowid -> blob size (content is derived from rowid and size)
  committed: Map<bigint, number>;
}

interface Real {
  db: WriteDb;
  cfg: Cfg;
  root: number;
  txn: WriteTxn | null;
  w: BtreeWriter | null;
  commits: number;
}

/** The blob stored for a row: deterministic bytes from rowid and size (its first 8 bytes are
 * the rowid, then a fill byte from rowid and size, the last byte the size's low byte). */
function blobFor(rowid: bigint, size: number): Uint8Array {
  const b = new Uint8Array(size);
  b.fill(Number(BigInt.asUintN(8, rowid * 31n + BigInt(size))) | 1);
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigInt64(0, rowid);
  b.set(head.subarray(0, Math.min(8, size)));
  if (size > 8) b[size - 1] = size & 0xff;
  return b;
}

function sameBytes(a: unknown, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function recordFor(rowid: bigint, size: number): Uint8Array {
  return encodeRecord([blobFor(rowid, size)], 1);
}

/** Blob sizes whose record lands exactly on the payload limits of this page size. */
function edgeSizes(cfg: Cfg): number[] {
  const U = cfg.pageSize - cfg.reserved;
  const maxLocal = U - 35;
  const minLocal = Math.floor(((U - 12) * 32) / 255) - 23;
  const targets = [maxLocal - 1, maxLocal, maxLocal + 1, minLocal, minLocal + 1, maxLocal + (U - 4), maxLocal + (U - 4) + 1, minLocal + 2 * (U - 4), minLocal + 2 * (U - 4) + 1, 3 * U];
  const out: number[] = [];
  for (const t of targets) {
    // record = header (1 + varint(12 + 2n)) + n bytes
    for (let n = Math.max(0, t - 4); n <= t; n++) {
      const hdr = 1 + (12 + 2 * n < 0x80 ? 1 : 12 + 2 * n < 0x4000 ? 2 : 3);
      if (hdr + n === t) out.push(n);
    }
  }
  return out;
}

async function ensureTxn(r: Real): Promise<BtreeWriter> {
  if (r.w) return r.w;
  r.txn = await r.db.pager.beginWrite();
  r.w = new BtreeWriter(r.txn);
  return r.w;
}

async function verify(r: Real, m: Model): Promise<void> {
  const path = dumpDb(r.db);
  expect(sqliteCheck(path), `SQLite integrity_check after commit ${r.commits}`).toEqual([]);
  const want = [...m.committed.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const s = openSqlite(path);
  try {
    const rows = sqliteRows(s, 'SELECT rowid, a FROM t ORDER BY rowid');
    expect(rows.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      const [k, size] = want[i];
      expect(BigInt(rows[i][0] as number | bigint)).toBe(k);
      if (!sameBytes(rows[i][1], blobFor(k, size))) expect.fail(`SQLite reads a different blob for rowid ${k}`);
    }
  } finally {
    s.close();
  }
  // quire: its own integrity check and a cursor walk
  const snap = await r.db.pager.read();
  try {
    const rep = await checkIntegrity(snap, [{ root: 1, kind: 'table' }, { root: r.root, kind: 'table' }]);
    expect(rep.problems, 'quire integrity check').toEqual([]);
    const c = new TableCursor(snap, r.root);
    let ok = await c.first();
    let i = 0;
    while (ok) {
      const [k, size] = want[i++];
      expect(BigInt(c.rowid)).toBe(k);
      const rec = await c.record();
      if (!sameBytes(rec[0], blobFor(k, size))) expect.fail(`quire reads a different blob for rowid ${k}`);
      ok = await c.next();
    }
    expect(i).toBe(want.length);
    await collectStats(snap, r);
  } finally {
    r.db.pager.releaseSnapshot(snap);
  }
}

/** What the runs of one configuration reached (asserted at the end: the test must exercise
 * deep trees, overflow chains, freeblocks and fragments, not just pass). */
interface Coverage {
  maxDepth: number;
  maxRows: number;
  fragPages: number;
  freeblockPages: number;
  overflowCells: number;
  freePages: number;
}

const coverage = new Map<string, Coverage>();

async function collectStats(snap: { pageCount: number; page(p: number): Uint8Array | Promise<Uint8Array> }, r: Real): Promise<void> {
  const key = JSON.stringify(r.cfg);
  const c = coverage.get(key) ?? { maxDepth: 0, maxRows: 0, fragPages: 0, freeblockPages: 0, overflowCells: 0, freePages: 0 };
  coverage.set(key, c);
  const p1 = await snap.page(1);
  c.freePages = Math.max(c.freePages, ((p1[36] << 24) >>> 0) + ((p1[37] << 16) | (p1[38] << 8) | p1[39]));
  // Walk the table tree: depth, fragments, freeblocks, overflowing cells.
  const walk = async (pg: number, depth: number): Promise<void> => {
    const d = await snap.page(pg);
    const p = parsePage(d, pg, r.cfg.pageSize - r.cfg.reserved);
    c.maxDepth = Math.max(c.maxDepth, depth);
    if (p.fragmented > 0) c.fragPages++;
    if (p.firstFreeblock > 0) c.freeblockPages++;
    const cell = newCellInfo();
    for (let i = 0; i < p.nCell; i++) {
      parseCell(p, i, cell);
      if (cell.overflow !== 0) c.overflowCells++;
      if (!p.leaf) await walk(cell.leftChild, depth + 1);
    }
    if (!p.leaf) await walk(p.rightChild, depth + 1);
  };
  await walk(r.root, 1);
}

type Cmd = fc.AsyncCommand<Model, Real>;

class Insert implements Cmd {
  readonly rowid: bigint;
  readonly size: number;
  constructor(rowid: bigint, size: number) {
    this.rowid = rowid;
    this.size = size;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const w = await ensureTxn(r);
    await w.insert(r.root, toRowid(this.rowid), recordFor(this.rowid, this.size));
    m.rows.set(this.rowid, this.size);
  }
  toString = () => `Insert(${this.rowid}n, ${this.size})`;
}

/** Replaces an existing row (picked by position) with a new size. */
class Replace implements Cmd {
  readonly pick: number;
  readonly size: number;
  constructor(pick: number, size: number) {
    this.pick = pick;
    this.size = size;
  }
  check = (m: Readonly<Model>) => m.rows.size > 0;
  async run(m: Model, r: Real) {
    const keys = [...m.rows.keys()];
    const k = keys[this.pick % keys.length];
    const w = await ensureTxn(r);
    await w.insert(r.root, toRowid(k), recordFor(k, this.size));
    m.rows.set(k, this.size);
  }
  toString = () => `Replace(#${this.pick}, ${this.size})`;
}

/** Replaces an existing row with one a few bytes shorter or longer (reuses its freeblock,
 * leaving fragments). */
class ReplaceNear implements Cmd {
  readonly pick: number;
  readonly delta: number;
  constructor(pick: number, delta: number) {
    this.pick = pick;
    this.delta = delta;
  }
  check = (m: Readonly<Model>) => m.rows.size > 0;
  async run(m: Model, r: Real) {
    const keys = [...m.rows.keys()];
    const k = keys[this.pick % keys.length];
    const size = Math.max(0, m.rows.get(k)! + this.delta);
    const w = await ensureTxn(r);
    await w.insert(r.root, toRowid(k), recordFor(k, size));
    m.rows.set(k, size);
  }
  toString = () => `ReplaceNear(#${this.pick}, ${this.delta})`;
}

/** Appends `count` rows after the largest rowid (the append path). */
class Run implements Cmd {
  readonly count: number;
  readonly size: number;
  readonly step: number;
  constructor(count: number, size: number, step: number) {
    this.count = count;
    this.size = size;
    this.step = step;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const w = await ensureTxn(r);
    const max = await w.maxRowid(r.root);
    let want: bigint | null = null;
    for (const k of m.rows.keys()) if (want === null || k > want) want = k;
    expect(max === null ? null : BigInt(max)).toBe(want);
    let k = want === null ? 1n : want + 1n;
    for (let i = 0; i < this.count && k <= MAX; i++) {
      await w.insert(r.root, toRowid(k), recordFor(k, this.size + (i % 5)));
      m.rows.set(k, this.size + (i % 5));
      k += BigInt(this.step);
    }
  }
  toString = () => `Run(${this.count}, ${this.size}, +${this.step})`;
}

class Delete implements Cmd {
  readonly pick: number;
  readonly absent: bigint | null;
  constructor(pick: number, absent: bigint | null) {
    this.pick = pick;
    this.absent = absent;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const w = await ensureTxn(r);
    if (this.absent !== null || m.rows.size === 0) {
      const k = this.absent ?? 0n;
      expect(await w.delete(r.root, toRowid(k))).toBe(m.rows.has(k));
      m.rows.delete(k);
      return;
    }
    const keys = [...m.rows.keys()];
    const k = keys[this.pick % keys.length];
    expect(await w.delete(r.root, toRowid(k))).toBe(true);
    m.rows.delete(k);
  }
  toString = () => (this.absent !== null ? `Delete(${this.absent}n)` : `Delete(#${this.pick})`);
}

/** Deletes a run of consecutive rows (in key order), to force merges. */
class DeleteRange implements Cmd {
  readonly from: number;
  readonly frac: number;
  constructor(from: number, frac: number) {
    this.from = from;
    this.frac = frac;
  }
  check = (m: Readonly<Model>) => m.rows.size > 0;
  async run(m: Model, r: Real) {
    const keys = [...m.rows.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const start = this.from % keys.length;
    const n = Math.max(1, Math.floor(keys.length * this.frac));
    const w = await ensureTxn(r);
    for (const k of keys.slice(start, start + n)) {
      expect(await w.delete(r.root, toRowid(k))).toBe(true);
      m.rows.delete(k);
    }
  }
  toString = () => `DeleteRange(#${this.from}, ${this.frac.toFixed(2)})`;
}

class Vacuum implements Cmd {
  readonly n: number;
  constructor(n: number) {
    this.n = n;
  }
  check = () => true;
  async run(_m: Model, r: Real) {
    const w = await ensureTxn(r);
    const before = r.txn!.pageCount;
    const got = await w.incrementalVacuum(this.n);
    expect(before - r.txn!.pageCount).toBe(got);
    if (r.cfg.autoVacuum !== 'incremental') expect(got).toBe(0);
  }
  toString = () => `Vacuum(${this.n})`;
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
    m.committed = new Map(m.rows);
    r.commits++;
    const cov = coverage.get(JSON.stringify(r.cfg));
    if (cov) cov.maxRows = Math.max(cov.maxRows, m.committed.size);
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
    m.rows = new Map(m.committed);
  }
  toString = () => 'Rollback';
}

const CONFIGS: Cfg[] = [
  { pageSize: 512, reserved: 0, autoVacuum: 'none' },
  { pageSize: 512, reserved: 32, autoVacuum: 'full' },
  { pageSize: 1024, reserved: 0, autoVacuum: 'incremental' },
  { pageSize: 1024, reserved: 5, autoVacuum: 'none' },
  { pageSize: 4096, reserved: 0, autoVacuum: 'full' },
  { pageSize: 4096, reserved: 64, autoVacuum: 'incremental' },
  { pageSize: 65536, reserved: 0, autoVacuum: 'none' },
  { pageSize: 65536, reserved: 100, autoVacuum: 'full' },
];

function commandsFor(cfg: Cfg): fc.Arbitrary<Cmd>[] {
  const U = cfg.pageSize - cfg.reserved;
  const edges = edgeSizes(cfg);
  const size = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: Math.min(200, U) }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: U }) },
    { weight: 1, arbitrary: fc.integer({ min: U, max: 4 * U }) },
    { weight: 2, arbitrary: fc.constantFrom(...edges) },
  );
  const rowid = fc.oneof(
    { weight: 4, arbitrary: fc.bigInt({ min: -50n, max: 3000n }) },
    { weight: 2, arbitrary: fc.bigInt({ min: MIN, max: MAX }) },
    { weight: 1, arbitrary: fc.constantFrom(MIN, MIN + 1n, MAX, MAX - 1n, 0n, -1n, 9007199254740991n, 9007199254740992n, -9007199254740992n, 127n, 128n, 16383n, 16384n) },
  );
  // Runs big enough for three-level trees: ~U/8-byte rows, up to ~40 interior children per page.
  const runMax = cfg.pageSize >= 65536 ? 400 : cfg.pageSize >= 4096 ? 3000 : 600;
  const runCount = fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constantFrom(runMax >> 2, runMax >> 1, runMax));
  const runSize = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: Math.floor(U / 8), max: Math.floor(U / 2) }));
  const a = (weight: number, arbitrary: fc.Arbitrary<Cmd>) => ({ weight, arbitrary });
  return [
    fc.oneof(
      a(6, fc.tuple(rowid, size).map(([k, s]) => new Insert(k, s))),
      a(3, fc.tuple(fc.nat(), size).map(([p, s]) => new Replace(p, s))),
      a(6, fc.tuple(fc.nat(), fc.constantFrom(-3, -2, -1, 1, 2, 3, -5, 4)).map(([p, d]) => new ReplaceNear(p, d))),
      a(2, fc.tuple(runCount, runSize, fc.constantFrom(1, 1, 2, 1000)).map(([c, s, st]) => new Run(c, s, st))),
      a(5, fc.tuple(fc.nat(), fc.option(rowid, { nil: null, freq: 4 })).map(([p, x]) => new Delete(p, x))),
      a(2, fc.tuple(fc.nat(), fc.double({ min: 0.05, max: 0.9, noNaN: true })).map(([f, x]) => new DeleteRange(f, x))),
      a(1, fc.integer({ min: -1, max: 20 }).map((n) => new Vacuum(n))),
      a(1, fc.constant(new Commit())),
      a(1, fc.constant(new Rollback())),
    ),
  ];
}
describe(`b-tree writer, table b-tree against a model (seed ${SEED})`, () => {
  for (const cfg of CONFIGS) {
    it(`page size ${cfg.pageSize}, reserved ${cfg.reserved}, auto-vacuum ${cfg.autoVacuum}`, async () => {
      const cmds = commandsFor(cfg);
      await fc.assert(
        fc.asyncProperty(fc.commands(cmds, { maxCommands: 100, size: 'large' }), async (list) => {
          const db = await createDb({ pageSize: cfg.pageSize, reserved: cfg.reserved, autoVacuum: cfg.autoVacuum });
          const txn = await db.pager.beginWrite();
          const w = new BtreeWriter(txn);
          const root = await w.createBtree('table');
          await addSchemaRow(db, txn, w, 'table', 't', 't', root, 'CREATE TABLE t(a)');
          await w.beforeCommit();
          await txn.commit();
          const real: Real = { db, cfg, root, txn: null, w: null, commits: 0 };
          const model: Model = { rows: new Map(), committed: new Map() };
          await fc.asyncModelRun(() => ({ model, real }), [...list, new Commit()]);
        }),
        { seed: SEED + cfg.pageSize + cfg.reserved, numRuns: cfg.pageSize >= 65536 ? 25 : cfg.pageSize >= 4096 ? 40 : 80 },
      );
      const cov = coverage.get(JSON.stringify(cfg))!;
      console.log(`coverage ${cfg.pageSize}/${cfg.reserved}/${cfg.autoVacuum}: ${JSON.stringify(cov)}`);
      expect(cov.maxDepth, 'tree depth reached').toBeGreaterThanOrEqual(cfg.pageSize <= 4096 ? 3 : 2);
      expect(cov.overflowCells, 'cells with overflow chains').toBeGreaterThan(0);
      expect(cov.freeblockPages, 'pages with freeblocks').toBeGreaterThan(0);
      expect(cov.fragPages, 'pages with fragmented bytes').toBeGreaterThan(0);
      if (cfg.autoVacuum !== 'full') expect(cov.freePages, 'free pages').toBeGreaterThan(0);
    }, 600_000);
  }
});
