/**
 * Model-based test of the write path (fast-check commands, seeded): random sequences of
 * insert / update / delete / commit / rollback over three tables — a rowid table with an
 * INTEGER PRIMARY KEY and an index, a WITHOUT ROWID table with a NOCASE + DESC composite key,
 * and a rowid table with UNIQUE and NOT NULL DEFAULT — run against quire and against a plain
 * in-memory model. After every commit the file passes SQLite's integrity_check, SQLite reads
 * exactly the model's rows, and quire reads the same. Replay: QUIRE_SEED=<seed>.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Database, MemoryStorage, exportRow, isQuireError, type Transaction } from '../src/index.js';
import type { SqlValue } from '../src/index.js';
import { referenceExport, referenceIntegrity } from './util/reference.js';
import { tempDir } from './util/tmp.js';

const SEED = Number(process.env.QUIRE_SEED ?? 20261123);

type T1 = { id: bigint; a: string | null; b: Uint8Array | null; c: number | null };
type T2 = { k: string; n: number; v: SqlValue };
type T3 = { rowid: bigint; x: number | null; y: string; z: SqlValue };

interface Model {
  t1: Map<bigint, T1>;
  t2: Map<string, T2>;
  t3: Map<bigint, T3>;
}

const t2key = (k: string, n: number) => `${k.replace(/[A-Z]/g, (c) => c.toLowerCase())}\u0000${n}`;

function clone(m: Model): Model {
  return { t1: new Map(m.t1), t2: new Map(m.t2), t3: new Map(m.t3) };
}

interface Real {
  db: Database;
  tx: Transaction | null;
  /** Resolves the transaction promise: true commits, false rolls back. */
  finish: ((commit: boolean) => void) | null;
  done: Promise<void> | null;
  committed: Model;
  model: Model;
  dir: string;
  commits: number;
}

async function ensureTx(r: Real): Promise<Transaction> {
  if (r.tx) return r.tx;
  let resolveTx!: (tx: Transaction) => void;
  const txReady = new Promise<Transaction>((res) => (resolveTx = res));
  r.done = r.db
    .transaction(async (tx) => {
      resolveTx(tx);
      const commit = await new Promise<boolean>((res) => (r.finish = res));
      if (!commit) throw new Error('rollback requested');
    })
    .catch((e) => {
      if (!(e instanceof Error && e.message === 'rollback requested')) throw e;
    });
  r.tx = await txReady;
  return r.tx;
}

async function endTx(r: Real, commit: boolean): Promise<void> {
  if (!r.tx) return;
  r.finish!(commit);
  await r.done;
  r.tx = null;
  r.finish = null;
  r.done = null;
}

function modelExport(m: Model, table: 't1' | 't2' | 't3'): string {
  const cmpBig = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  const big = (v: bigint): SqlValue => (v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v);
  if (table === 't1') {
    return [...m.t1.values()]
      .sort((x, y) => cmpBig(x.id, y.id))
      .map((r) => exportRow([big(r.id), big(r.id), r.a, r.b, r.c]) + '\n')
      .join('');
  }
  if (table === 't3') {
    return [...m.t3.values()]
      .sort((x, y) => cmpBig(x.rowid, y.rowid))
      .map((r) => exportRow([big(r.rowid), r.x, r.y, r.z]) + '\n')
      .join('');
  }
  const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const cmpCp = (a: string, b: string) => {
    const A = [...a].map((c) => c.codePointAt(0)!);
    const B = [...b].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(A.length, B.length); i++) if (A[i] !== B[i]) return A[i] - B[i];
    return A.length - B.length;
  };
  return [...m.t2.values()]
    .sort((x, y) => cmpCp(lower(x.k), lower(y.k)) || y.n - x.n)
    .map((r) => exportRow([r.k, r.n, r.v]) + '\n')
    .join('');
}

async function verify(r: Real): Promise<void> {
  const file = path.join(r.dir, `commit-${r.commits++}.db`);
  const st = r.db.storage as MemoryStorage;
  writeFileSync(file, st.getFile('db')!);
  const wal = st.getFile('wal');
  if (wal) writeFileSync(file + '-wal', wal);
  expect(referenceIntegrity(file)).toEqual(['ok']);
  for (const t of ['t1', 't2', 't3'] as const) {
    const want = modelExport(r.committed, t);
    expect(referenceExport(file, t), `SQLite reads ${t}`).toBe(want);
    let mine = '';
    for await (const row of r.db.rows(t)) mine += exportRow(row) + '\n';
    expect(mine, `quire reads ${t}`).toBe(want);
  }
}

const text = fc.string({ maxLength: 12, unit: fc.constantFrom('a', 'b', 'A', 'B', 'z', 'é', '😀', ' ', 'x') });
const blob = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ minLength: 400, maxLength: 3000 }),
  fc.constant(null),
);
const rowid = fc.oneof(
  fc.bigInt({ min: -5n, max: 60n }),
  fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n, -(2n ** 53n) - 1n),
);
const real = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -1000, max: 1000 }), fc.constant(null));

type Cmd = fc.AsyncCommand<Model, Real>;

class InsertT1 implements Cmd {
  readonly id: bigint | null;
  readonly a: string | null;
  readonly b: Uint8Array | null;
  readonly c: number | null;
  constructor(id: bigint | null, a: string | null, b: Uint8Array | null, c: number | null) {
    this.id = id;
    this.a = a;
    this.b = b;
    this.c = c;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const tx = await ensureTx(r);
    const row: Record<string, SqlValue> = { a: this.a, b: this.b, c: this.c };
    if (this.id !== null) row.id = this.id;
    let id = this.id;
    if (id === null) {
      let max: bigint | null = null;
      for (const k of m.t1.keys()) if (max === null || k > max) max = k;
      id = max === null ? 1n : max + 1n;
      if (max === 2n ** 63n - 1n) return; // random rowid: not modelled
    }
    if (m.t1.has(id)) {
      const e = await tx.insert('t1', row).catch((x) => x);
      expect(isQuireError(e) && e.code).toBe('CONSTRAINT');
      return;
    }
    const got = await tx.insert('t1', row);
    expect(BigInt(got as number | bigint)).toBe(id);
    m.t1.set(id, { id, a: this.a, b: this.b, c: this.c });
  }
  toString = () => `InsertT1(${this.id}, ${JSON.stringify(this.a)}, ${this.b?.length}, ${this.c})`;
}

class UpdateT1 implements Cmd {
  readonly pick: number;
  readonly a: string | null;
  readonly newId: bigint | null;
  constructor(pick: number, a: string | null, newId: bigint | null) {
    this.pick = pick;
    this.a = a;
    this.newId = newId;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const tx = await ensureTx(r);
    const keys = [...m.t1.keys()];
    const id = keys.length ? keys[this.pick % keys.length] : 12345n;
    const changes: Record<string, SqlValue> = { a: this.a };
    if (this.newId !== null) changes.id = this.newId;
    if (!m.t1.has(id)) {
      expect(await tx.update('t1', id, changes)).toBe(false);
      return;
    }
    if (this.newId !== null && this.newId !== id && m.t1.has(this.newId)) {
      const e = await tx.update('t1', id, changes).catch((x) => x);
      expect(isQuireError(e) && e.code).toBe('CONSTRAINT');
      return;
    }
    expect(await tx.update('t1', id, changes)).toBe(true);
    const old = m.t1.get(id)!;
    m.t1.delete(id);
    const nid = this.newId ?? id;
    m.t1.set(nid, { ...old, id: nid, a: this.a });
  }
  toString = () => `UpdateT1(${this.pick}, ${JSON.stringify(this.a)}, ${this.newId})`;
}

class DeleteT1 implements Cmd {
  readonly pick: number;
  constructor(pick: number) {
    this.pick = pick;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const tx = await ensureTx(r);
    const keys = [...m.t1.keys()];
    const id = keys.length ? keys[this.pick % keys.length] : 777n;
    expect(await tx.delete('t1', id)).toBe(m.t1.delete(id));
  }
  toString = () => `DeleteT1(${this.pick})`;
}

class InsertT2 implements Cmd {
  readonly k: string;
  readonly n: number;
  readonly v: SqlValue;
  constructor(k: string, n: number, v: SqlValue) {
    this.k = k;
    this.n = n;
    this.v = v;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const tx = await ensureTx(r);
    const key = t2key(this.k, this.n);
    if (m.t2.has(key)) {
      const e = await tx.insert('t2', { k: this.k, n: this.n, v: this.v }).catch((x) => x);
      expect(isQuireError(e) && e.code).toBe('CONSTRAINT');
      return;
    }
    await tx.insert('t2', { k: this.k, n: this.n, v: this.v });
    m.t2.set(key, { k: this.k, n: this.n, v: this.v });
  }
  toString = () => `InsertT2(${JSON.stringify(this.k)}, ${this.n})`;
}

class DeleteT2 implements Cmd {
  readonly pick: number;
  constructor(pick: number) {
    this.pick = pick;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const tx = await ensureTx(r);
    const rows = [...m.t2.values()];
    if (!rows.length) return;
    const row = rows[this.pick % rows.length];
    // The key matches case-insensitively (COLLATE NOCASE).
    expect(await tx.delete('t2', [row.k.replace(/[a-z]/g, (c) => c.toUpperCase()), row.n])).toBe(true);
    m.t2.delete(t2key(row.k, row.n));
  }
  toString = () => `DeleteT2(${this.pick})`;
}

class InsertT3 implements Cmd {
  readonly x: number | null;
  readonly y: string | null | undefined;
  readonly z: SqlValue;
  constructor(x: number | null, y: string | null | undefined, z: SqlValue) {
    this.x = x;
    this.y = y;
    this.z = z;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const tx = await ensureTx(r);
    const row: Record<string, SqlValue | undefined> = { x: this.x, y: this.y, z: this.z };
    if (this.y === null) {
      const e = await tx.insert('t3', row).catch((x) => x);
      expect(isQuireError(e) && e.code).toBe('CONSTRAINT');
      expect((e as Error).message).toBe('NOT NULL constraint failed: t3.y');
      return;
    }
    if (this.x !== null && [...m.t3.values()].some((v) => v.x === this.x)) {
      const e = await tx.insert('t3', row).catch((x) => x);
      expect(isQuireError(e) && e.code).toBe('CONSTRAINT');
      expect((e as Error).message).toBe('UNIQUE constraint failed: t3.x');
      return;
    }
    const got = await tx.insert('t3', row);
    let max = 0n;
    for (const k of m.t3.keys()) if (k > max) max = k;
    const id = BigInt(got as number | bigint);
    expect(id).toBe(m.t3.size ? max + 1n : 1n);
    m.t3.set(id, { rowid: id, x: this.x, y: this.y ?? 'dflt', z: this.z });
  }
  toString = () => `InsertT3(${this.x}, ${JSON.stringify(this.y)})`;
}

class Commit implements Cmd {
  check = () => true;
  async run(_m: Model, r: Real) {
    if (!r.tx) return;
    await endTx(r, true);
    r.committed = clone(r.model);
    await verify(r);
  }
  toString = () => 'Commit';
}

class Rollback implements Cmd {
  check = () => true;
  async run(m: Model, r: Real) {
    await endTx(r, false);
    m.t1 = new Map(r.committed.t1);
    m.t2 = new Map(r.committed.t2);
    m.t3 = new Map(r.committed.t3);
  }
  toString = () => 'Rollback';
}

const commands = [
  fc.tuple(fc.option(rowid, { nil: null }), fc.option(text, { nil: null }), blob, real).map(([i, a, b, c]) => new InsertT1(i, a, b, c)),
  fc.tuple(fc.nat(), fc.option(text, { nil: null }), fc.option(rowid, { nil: null })).map(([p, a, n]) => new UpdateT1(p, a, n)),
  fc.nat().map((p) => new DeleteT1(p)),
  fc.tuple(text, fc.integer({ min: -3, max: 3 }), fc.oneof(blob, text)).map(([k, n, v]) => new InsertT2(k, n, v)),
  fc.nat().map((p) => new DeleteT2(p)),
  fc.tuple(fc.option(fc.integer({ min: 0, max: 8 }), { nil: null }), fc.oneof(text, fc.constant(null), fc.constant(undefined)), fc.oneof(text, real, blob)).map(
    ([x, y, z]) => new InsertT3(x, y, z),
  ),
  fc.constant(new Commit()),
  fc.constant(new Rollback()),
];

// t1Index false: t1 has no index, so its inserts take Transaction.insert's synchronous append
// path whenever the rowid is past the last one (implicit rowids, explicit large ones).
const CONFIGS = [
  { pageSize: 512, autoVacuum: 'none' as const, t1Index: true },
  { pageSize: 1024, autoVacuum: 'full' as const, t1Index: false },
  { pageSize: 4096, autoVacuum: 'incremental' as const, t1Index: true },
  { pageSize: 65536, autoVacuum: 'none' as const, t1Index: true },
  { pageSize: 4096, autoVacuum: 'none' as const, journalMode: 'wal' as const, t1Index: false },
];

describe(`write path against a model (seed ${SEED})`, () => {
  for (const cfg of CONFIGS) {
    it(`page size ${cfg.pageSize}, auto-vacuum ${cfg.autoVacuum}${'journalMode' in cfg ? ', WAL' : ''}${cfg.t1Index ? '' : ', t1 without an index'}`, async () => {
      let totalCommits = 0;
      let totalCommands = 0;
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 120, size: 'max' }), async (cmds) => {
          const db = await Database.open(new MemoryStorage(), {
            readOnly: false,
            walAutoCheckpoint: 50,
            create: { pageSize: cfg.pageSize, autoVacuum: cfg.autoVacuum, journalMode: 'journalMode' in cfg ? cfg.journalMode : 'rollback' },
          });
          await db.exec(`
            CREATE TABLE t1(id INTEGER PRIMARY KEY, a TEXT, b BLOB, c REAL);
            ${cfg.t1Index ? 'CREATE INDEX t1a ON t1(a);' : ''}
            CREATE TABLE t2(k TEXT COLLATE NOCASE, n INTEGER, v, PRIMARY KEY(k, n DESC)) WITHOUT ROWID;
            CREATE TABLE t3(x INTEGER UNIQUE, y TEXT NOT NULL DEFAULT 'dflt', z);
          `);
          const empty: Model = { t1: new Map(), t2: new Map(), t3: new Map() };
          const real: Real = { db, tx: null, finish: null, done: null, committed: clone(empty), model: clone(empty), dir: tempDir(), commits: 0 };
          const model = real.model;
          await fc.asyncModelRun(() => ({ model, real }), [...cmds, new Commit()]);
          totalCommits += real.commits;
          totalCommands += [...cmds].length;
          await db.close();
        }),
        { seed: SEED + cfg.pageSize, numRuns: 12, verbose: 1 },
      );
      // The runs really exercised the write path and were checked after every commit.
      expect(totalCommands).toBeGreaterThan(200);
      expect(totalCommits).toBeGreaterThan(12);
    }, 600_000);
  }
});
