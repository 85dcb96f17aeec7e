/**
 * The split of a full table leaf without a statement savepoint (btree/balance.ts
 * splitLeafInsert, reached by Transaction.insert through tryInsert) against the split every
 * other statement gets (Edit.finish's balanceNonroot, inside a savepoint): random rows at
 * random rowids go into two in-memory databases, one by plain inserts (the path without a
 * savepoint) and one with onConflict 'replace' (never that path: a statement); the two files
 * must be byte for byte the same, and SQLite must find them sound with every row.
 * Seeded (fast-check): replay with QUIRE_SEED=<seed>.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Database, MemoryStorage } from '../src/index.js';
import { referenceIntegrity, withOracle } from './util/reference.js';
import { tempDir } from './util/tmp.js';

const SEED = Number(process.env.QUIRE_SEED ?? 20261207);

type Row = [number, string, Uint8Array | null];

/** Inserts `batches` (one transaction each) and returns the file. */
async function build(pageSize: number, batches: Row[][], replace: boolean): Promise<Uint8Array> {
  const storage = new MemoryStorage();
  const db = await Database.open(storage, { readOnly: false, create: { pageSize } });
  try {
    await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB)');
    for (const rows of batches) {
      await db.transaction(async (tx) => {
        for (const r of rows) {
          if (replace) await tx.insert('t', r, { onConflict: 'replace' });
          else await tx.insert('t', r);
        }
      });
    }
  } finally {
    await db.close();
  }
  return storage.getFile('db')!;
}

const rowArb = (pageSize: number) =>
  fc.tuple(
    // text up to about a third of the page, now and then longer than a leaf holds (overflow)
    fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: Math.floor(pageSize / 3) }) }, { weight: 1, arbitrary: fc.integer({ min: pageSize, max: 2 * pageSize }) }),
    fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
  );

describe(`a leaf split without a savepoint is the statement's split (seed ${SEED})`, () => {
  it.each([512, 1024, 4096])('%i-byte pages', async (pageSize) => {
    const dir = tempDir('quire-split-');
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: 100_000 }), { minLength: 50, maxLength: pageSize === 4096 ? 1500 : 600 }),
        fc.array(rowArb(pageSize), { minLength: 1, maxLength: 64 }),
        fc.integer({ min: 1, max: 3 }),
        async (ids, shapes, nBatches) => {
          const rows: Row[] = ids.map((id, i) => {
            const [len, b] = shapes[i % shapes.length];
            return [id, `r${id}-`.padEnd(len, String.fromCharCode(97 + (id % 26))), b];
          });
          const per = Math.ceil(rows.length / nBatches);
          const batches: Row[][] = [];
          for (let i = 0; i < rows.length; i += per) batches.push(rows.slice(i, i + per));
          const plain = await build(pageSize, batches, false);
          const statement = await build(pageSize, batches, true);
          expect(plain.length).toBe(statement.length);
          expect(Buffer.compare(Buffer.from(plain), Buffer.from(statement)), 'the two files differ').toBe(0);
          const f = path.join(dir, `split-${pageSize}.db`);
          writeFileSync(f, plain);
          expect(referenceIntegrity(f)).toEqual(['ok']);
          const count = withOracle(f, (db) => db.prepare('SELECT count(*) FROM t').pluck().get());
          expect(count).toBe(rows.length);
        },
      ),
      // No shrinking: each run builds two databases, and shrinking a failure took minutes.
      { seed: SEED + pageSize, numRuns: 12, endOnFailure: true },
    );
  }, 120_000);
});
