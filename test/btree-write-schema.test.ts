/**
 * Many b-trees: random sequences of createBtree / dropBtree / clearBtree and row writes over
 * rowid tables and WITHOUT ROWID tables (index b-trees), in every auto-vacuum mode
 * (fast-check commands, seeded). In auto-vacuum databases a new root goes at largest-root+1,
 * moving the page there, and dropping a root that is not the largest moves the largest root
 * into the hole: the test updates sqlite_schema from dropBtree's answer, as the caller must.
 * After every commit SQLite's integrity_check (which also checks header offset 52 against
 * the largest root) passes and SQLite reads exactly the model's rows in every table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../btree/record.js';
import { BtreeWriter } from '../btree/write.js';
import { get32 } from '../pager/bytes.js';
import type { WriteTxn } from '../pager/pager.js';
import { SEED, sqliteRows } from './util/btree-db.js';
import { addSchemaRow, createDb, dumpDb, openSqlite, setSchemaRoot, sqliteCheck, type WriteDb } from './util/write-db.js';

interface Tree {
  name: string;
  kind: 'table' | 'index';
  root: number;
  schemaRowid: number;
  sql: string;
  rows: Map<number, number>; // key -> value size
}

interface Model {
  trees: Map<string, Tree>;
  committed: Map<string, Tree>;
  nextName: number;
}

interface Real {
  db: WriteDb;
  av: 'none' | 'full' | 'incremental';
  pageSize: number;
  txn: WriteTxn | null;
  w: BtreeWriter | null;
}

function cloneTrees(m: Map<string, Tree>): Map<string, Tree> {
  const out = new Map<string, Tree>();
  for (const [k, t] of m) out.set(k, { ...t, rows: new Map(t.rows) });
  return out;
}

function value(key: number, size: number): Uint8Array {
  return new Uint8Array(size).fill((key * 7 + size) & 0xff);
}

async function ensureTxn(r: Real): Promise<BtreeWriter> {
  if (r.w) return r.w;
  r.txn = await r.db.pager.beginWrite();
  r.w = new BtreeWriter(r.txn);
  return r.w;
}

type Cmd = fc.AsyncCommand<Model, Real>;

/** Root moves seen (asserted: the auto-vacuum paths must really run). */
const moves = { dropMoves: 0, createInside: 0 };

class Create implements Cmd {
  readonly kind: 'table' | 'index';
  constructor(kind: 'table' | 'index') {
    this.kind = kind;
  }
  check = (m: Readonly<Model>) => m.trees.size < 40;
  async run(m: Model, r: Real) {
    const w = await ensureTxn(r);
    const name = `${this.kind === 'table' ? 't' : 'w'}${m.nextName++}`;
    const before = r.txn!.pageCount;
    const root = await w.createBtree(this.kind);
    if (r.av !== 'none') {
      const p1 = (await r.txn!.page(1)) as Uint8Array;
      expect(get32(p1, 52)).toBe(root); // the new root is the largest
      expect(root).toBeLessThanOrEqual(before + 2);
      if (root <= before) moves.createInside++;
    }
    const sql = this.kind === 'table' ? `CREATE TABLE ${name}(v)` : `CREATE TABLE ${name}(k INTEGER PRIMARY KEY, v) WITHOUT ROWID`;
    const schemaRowid = await addSchemaRow(r.db, r.txn!, w, 'table', name, name, root, sql);
    m.trees.set(name, { name, kind: this.kind, root, schemaRowid, sql, rows: new Map() });
  }
  toString = () => `Create(${this.kind})`;
}

class Drop implements Cmd {
  readonly pick: number;
  constructor(pick: number) {
    this.pick = pick;
  }
  check = (m: Readonly<Model>) => m.trees.size > 0;
  async run(m: Model, r: Real) {
    const trees = [...m.trees.values()];
    const t = trees[this.pick % trees.length];
    const w = await ensureTxn(r);
    const moved = await w.dropBtree(t.root);
    expect(await w.delete(1, t.schemaRowid)).toBe(true);
    m.trees.delete(t.name);
    if (r.av === 'none') {
      expect(moved).toBeNull();
      return;
    }
    if (moved !== null) {
      moves.dropMoves++;
      expect(moved.movedTo).toBe(t.root);
      const other = [...m.trees.values()].find((x) => x.root === moved.movedFrom);
      expect(other, `a tree had root ${moved.movedFrom}`).toBeDefined();
      other!.root = moved.movedTo;
      await setSchemaRoot(r.txn!, w, other!.schemaRowid, ['table', other!.name, other!.name, 0, other!.sql], moved.movedTo);
    } else {
      expect(Math.max(t.root, ...[...m.trees.values()].map((x) => x.root))).toBe(t.root);
    }
  }
  toString = () => `Drop(#${this.pick})`;
}

class Clear implements Cmd {
  readonly pick: number;
  constructor(pick: number) {
    this.pick = pick;
  }
  check = (m: Readonly<Model>) => m.trees.size > 0;
  async run(m: Model, r: Real) {
    const trees = [...m.trees.values()];
    const t = trees[this.pick % trees.length];
    const w = await ensureTxn(r);
    await w.clearBtree(t.root);
    t.rows.clear();
  }
  toString = () => `Clear(#${this.pick})`;
}

class Write implements Cmd {
  readonly pick: number;
  readonly n: number;
  readonly size: number;
  readonly del: boolean;
  constructor(pick: number, n: number, size: number, del: boolean) {
    this.pick = pick;
    this.n = n;
    this.size = size;
    this.del = del;
  }
  check = (m: Readonly<Model>) => m.trees.size > 0;
  async run(m: Model, r: Real) {
    const trees = [...m.trees.values()];
    const t = trees[this.pick % trees.length];
    const w = await ensureTxn(r);
    for (let i = 0; i < this.n; i++) {
      const key = (this.pick * 31 + i * 17) % 500;
      const size = (this.size + i * 13) % (3 * r.pageSize);
      if (this.del && t.rows.has(key)) {
        if (t.kind === 'table') expect(await w.delete(t.root, key)).toBe(true);
        else expect(await w.deleteIndex(t.root, [key], [{}])).toBe(true);
        t.rows.delete(key);
        continue;
      }
      if (t.kind === 'table') {
        await w.insert(t.root, key, encodeRecord([value(key, size)], 1));
      } else {
        // WITHOUT ROWID: replace by primary key = delete the old row by its key prefix first
        if (t.rows.has(key)) expect(await w.deleteIndex(t.root, [key], [{}])).toBe(true);
        await w.insertIndex(t.root, encodeRecord([key, value(key, size)], 1), [{}]);
      }
      t.rows.set(key, size);
    }
  }
  toString = () => `Write(#${this.pick}, ${this.n}, ${this.size}${this.del ? ', del' : ''})`;
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
    m.committed = cloneTrees(m.trees);
    const path = dumpDb(r.db);
    expect(sqliteCheck(path)).toEqual([]);
    const s = openSqlite(path);
    try {
      const names = sqliteRows(s, "SELECT name, rootpage FROM sqlite_schema WHERE type = 'table' ORDER BY name");
      expect(names).toEqual([...m.trees.values()].map((t) => [t.name, t.root]).sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)));
      for (const t of m.trees.values()) {
        const sql = t.kind === 'table' ? `SELECT rowid, v FROM ${t.name} ORDER BY rowid` : `SELECT k, v FROM ${t.name} ORDER BY k`;
        const rows = sqliteRows(s, sql);
        const want = [...t.rows.entries()].sort((a, b) => a[0] - b[0]);
        expect(rows.length, t.name).toBe(want.length);
        for (let i = 0; i < want.length; i++) {
          expect(rows[i][0]).toBe(want[i][0]);
          const v = rows[i][1] as Uint8Array;
          expect(v.length).toBe(want[i][1]);
          if (v.length > 0) expect(v[0]).toBe(value(want[i][0], want[i][1])[0]);
        }
      }
      if (r.av === 'full') expect(s.prepare('PRAGMA freelist_count').pluck().get()).toBe(0);
    } finally {
      s.close();
    }
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
    m.trees = cloneTrees(m.committed);
  }
  toString = () => 'Rollback';
}

class Vacuum implements Cmd {
  check = () => true;
  async run(_m: Model, r: Real) {
    const w = await ensureTxn(r);
    await w.incrementalVacuum(0);
    if (r.av === 'incremental') {
      const p1 = (await r.txn!.page(1)) as Uint8Array;
      expect(get32(p1, 36)).toBe(0);
    }
  }
  toString = () => 'Vacuum';
}

const a = (weight: number, arbitrary: fc.Arbitrary<Cmd>) => ({ weight, arbitrary });
const commands = [
  fc.oneof(
    a(4, fc.constantFrom('table' as const, 'index' as const).map((k) => new Create(k))),
    a(3, fc.nat().map((p) => new Drop(p))),
    a(1, fc.nat().map((p) => new Clear(p))),
    a(6, fc.tuple(fc.nat(), fc.integer({ min: 1, max: 60 }), fc.nat({ max: 20000 }), fc.boolean()).map(([p, n, s, d]) => new Write(p, n, s, d))),
    a(1, fc.constant(new Vacuum())),
    a(2, fc.constant(new Commit())),
    a(1, fc.constant(new Rollback())),
  ),
];

describe(`many b-trees: create / drop / clear (seed ${SEED})`, () => {
  for (const av of ['none', 'full', 'incremental'] as const) {
    for (const pageSize of [512, 4096]) {
      it(`auto-vacuum ${av}, page size ${pageSize}`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.commands(commands, { maxCommands: 80, size: 'large' }), async (list) => {
            const db = await createDb({ pageSize, autoVacuum: av });
            const real: Real = { db, av, pageSize, txn: null, w: null };
            const model: Model = { trees: new Map(), committed: new Map(), nextName: 0 };
            await fc.asyncModelRun(() => ({ model, real }), [...list, new Commit()]);
          }),
          { seed: SEED + pageSize + av.length, numRuns: 25 },
        );
        if (av !== 'none') {
          expect(moves.dropMoves, 'drops that moved the largest root').toBeGreaterThan(0);
          expect(moves.createInside, 'creates that moved a page out of the way').toBeGreaterThan(0);
        }
        moves.dropMoves = 0;
        moves.createInside = 0;
      }, 600_000);
    }
  }
});
