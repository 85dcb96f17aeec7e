/**
 * The read layer over every fixture made by real SQLite (fixtures/out, see fixtures/README.md),
 * opened through the real pager: row counts as SQLite counted them, payload splits as the
 * manifest records them, and, for the deliberately corrupt files, CORRUPT (never another kind
 * of error, never a hang).
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturesDir, readManifest, type FixtureEntry } from '../fixtures/index.mjs';
import { IndexCursor, TableCursor, scanTable } from '../btree/cursor.js';
import { readFreelist } from '../btree/freelist.js';
import { isQuireError, type QuireError } from '../pager/errors.js';
import { checkIntegrity } from '../btree/integrity.js';
import { MemoryStorage } from '../pager/memory.js';
import { Pager } from '../pager/pager.js';
import type { PageSource } from '../pager/source.js';
import type { SqlValue } from '../btree/value.js';

interface SchemaRow {
  type: string;
  name: string;
  tbl: string;
  root: number;
  sql: string | null;
}

async function schemaOf(src: PageSource): Promise<SchemaRow[]> {
  const c = new TableCursor(src, 1);
  const out: SchemaRow[] = [];
  for (let ok = await c.first(); ok; ok = await c.next()) {
    const r = await c.record();
    out.push({ type: r[0] as string, name: r[1] as string, tbl: r[2] as string, root: Number(r[3] ?? 0), sql: r[4] as string | null });
  }
  return out;
}

function withoutRowid(sql: string | null): boolean {
  if (sql === null) return false;
  const tail = sql.slice(sql.lastIndexOf(')') + 1);
  return /\bWITHOUT\s+ROWID\b/i.test(tail);
}

async function countTable(src: PageSource, root: number): Promise<number> {
  let viaScan = 0;
  for await (const b of scanTable(src, root)) viaScan += b.length;
  const c = new TableCursor(src, root);
  let viaCursor = 0;
  for (let ok = await c.first(); ok; ok = await c.next()) {
    await c.record();
    viaCursor++;
  }
  expect(viaCursor).toBe(viaScan);
  return viaScan;
}

async function countIndex(src: PageSource, root: number): Promise<number> {
  const c = new IndexCursor(src, root);
  let n = 0;
  for (let ok = await c.first(); ok; ok = await c.next()) {
    await c.record();
    n++;
  }
  return n;
}

async function openFixture(f: FixtureEntry): Promise<{ pager: Pager; src: PageSource & { release(): void } }> {
  const read = (name: string | null) => (name !== null && existsSync(join(fixturesDir, name)) ? new Uint8Array(readFileSync(join(fixturesDir, name))) : undefined);
  const storage = new MemoryStorage({ db: read(f.file), wal: read(f.walFile), journal: read(f.journalFile), readOnly: true });
  const pager = await Pager.open(storage);
  const src = await pager.read();
  return { pager, src };
}

/** Walks every b-tree and the freelist; returns row counts by name. */
async function walkAll(src: PageSource): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const schema = await schemaOf(src);
  for (const s of schema) {
    if (s.root <= 0) continue;
    if (s.type === 'table') counts.set(s.name, withoutRowid(s.sql) ? await countIndex(src, s.root) : await countTable(src, s.root));
    else if (s.type === 'index') counts.set(s.name, await countIndex(src, s.root));
  }
  await readFreelist(src);
  return counts;
}

const manifest = readManifest();

/**
 * What reading every b-tree and the freelist must report for each kind of damage the fixture
 * generator makes: the error code and the message (which names the damaged page). Damage that
 * a read cannot see (every cell still decodes) must instead be found by quire's integrity check,
 * with the same words as SQLite's. A new kind of damage fails until it is listed here.
 */
const DAMAGE: Record<string, { code: string; message: RegExp } | { check: string }> = {
  'zeroed-page': { code: 'CORRUPT', message: /^page 44: invalid b-tree page type 0$/ },
  'truncated': { code: 'CORRUPT', message: /^page 1: header says 782 pages but the file holds 391$/ },
  'truncated-mid-page': { code: 'CORRUPT', message: /^page 1: header says 782 pages but the file holds 587$/ },
  'bad-cell-pointer': { code: 'CORRUPT', message: /^page 44: cell 0 pointer 65280 outside the content area/ },
  'cell-pointer-into-header': { code: 'CORRUPT', message: /^page 44: cell 1 pointer 3 outside the content area/ },
  'duplicate-cell-pointer': { check: 'Multiple uses for byte 914 of page 44' },
  'overflow-cycle': { code: 'CORRUPT', message: /^page 6: overflow chain revisits page 5/ },
  'freelist-cycle': { code: 'CORRUPT', message: /^page 77: trunk 575 appears twice in the freelist/ },
  'freelist-count-wrong': { code: 'CORRUPT', message: /freelist holds 706 pages, the header says 711/ },
  'btree-cycle': { code: 'CORRUPT', message: /^page 2: child page 2 is already on the path/ },
  'invalid-page-type': { code: 'CORRUPT', message: /^page 44: invalid b-tree page type 1$/ },
  'wrong-page-type': { code: 'CORRUPT', message: /^page 44: index page in a table b-tree$/ },
  'bad-magic': { code: 'NOTADB', message: /bad magic/ },
  'bad-page-size': { code: 'NOTADB', message: /invalid page size 1000/ },
  'page-count-too-big': { code: 'CORRUPT', message: /^page 1: header says 792 pages but the file holds 782$/ },
  'short-header': { code: 'NOTADB', message: /only 60 bytes, the header needs 100/ },
};

/** Reads every b-tree and the freelist of a fixture; the error it ends with, or null. */
async function walkError(f: FixtureEntry): Promise<unknown> {
  try {
    const { pager, src } = await openFixture(f);
    try {
      await walkAll(src);
    } finally {
      src.release();
      await pager.close();
    }
    return null;
  } catch (e) {
    return e;
  }
}

/** quire's integrity check of a fixture over every b-tree its schema names. */
async function integrityProblems(f: FixtureEntry): Promise<string[]> {
  const { pager, src } = await openFixture(f);
  try {
    const trees = (await schemaOf(src)).filter((s) => s.root > 0).map((s) => ({ root: s.root }));
    return (await checkIntegrity(src, [{ root: 1, kind: 'table' as const }, ...trees])).problems;
  } finally {
    src.release();
    await pager.close();
  }
}

describe('fixtures made by SQLite, read through the pager', () => {
  for (const f of manifest.fixtures) {
    if (f.corrupt === null && f.error === null && f.tables !== null) {
      it(`${f.name}: every b-tree reads, with SQLite's row counts`, async () => {
        const { pager, src } = await openFixture(f);
        try {
          const counts = await walkAll(src);
          const schema = await schemaOf(src);
          for (const [name, n] of Object.entries(f.tables ?? {})) {
            const s = schema.find((r) => r.name === name);
            if (s === undefined || s.root <= 0) continue; // virtual tables
            expect(counts.get(name), name).toBe(n);
          }
          // a non-partial index has one entry per row of its table
          for (const s of schema) {
            if (s.type !== 'index' || s.root <= 0 || (s.sql !== null && /\bWHERE\b/i.test(s.sql))) continue;
            const rows = counts.get(s.tbl);
            if (rows !== undefined) expect(counts.get(s.name), s.name).toBe(rows);
          }
          // payload splits recorded by the generator
          for (const r of f.payload?.rows ?? []) {
            const s = schema.find((x) => x.name === r.btree);
            expect(s).toBeDefined();
            let info;
            if (s!.type === 'table' && !withoutRowid(s!.sql)) {
              const c = new TableCursor(src, s!.root);
              expect(await c.seek(r.key)).toBe(true);
              info = c.cellInfo();
            } else if (s!.type === 'table') {
              const c = new IndexCursor(src, s!.root);
              expect(await c.seek([r.key], { op: 'eq' })).toBe(true);
              info = c.cellInfo();
            } else {
              const c = new IndexCursor(src, s!.root);
              for (let ok = await c.first(); ok; ok = await c.next()) {
                const rec: SqlValue[] = await c.record();
                if (rec[rec.length - 1] === r.key) {
                  info = c.cellInfo();
                  break;
                }
              }
            }
            expect(info, `${r.btree} ${r.key}`).toBeDefined();
            expect(info!.payloadSize).toBe(r.recordSize);
            expect(info!.localSize).toBe(r.local);
            expect(Math.ceil((info!.payloadSize - info!.localSize) / (src.usableSize - 4))).toBe(r.overflowPages);
          }
        } finally {
          src.release();
          await pager.close();
        }
      });
    } else {
      const want = f.corrupt ? DAMAGE[f.corrupt.kind] : undefined;
      const what = want === undefined ? 'is listed' : 'code' in want ? `is ${want.code} naming what broke` : 'is found by the integrity check';
      it(`${f.name}: the damage (${f.corrupt?.detail ?? f.error?.message}) ${what}`, async () => {
        if (want === undefined) return expect.fail(`no expectation for damage ${f.corrupt?.kind}: add it to DAMAGE`);
        const err = await walkError(f);
        if ('code' in want) {
          expect(isQuireError(err), String((err as Error)?.stack ?? err)).toBe(true);
          expect((err as QuireError).code).toBe(want.code);
          expect((err as QuireError).message).toMatch(want.message);
        } else {
          // Every cell still decodes, so reading succeeds; the check must see the damage as SQLite does.
          expect(err).toBeNull();
          expect(f.integrity.join('\n')).toContain(want.check);
          expect(await integrityProblems(f)).toContain(want.check);
        }
      });
    }
  }
});
