/**
 * Golden fixtures (fixtures/out, made by real SQLite): every CREATE statement stored in every
 * sound fixture must parse, each table must match SQLite's PRAGMA introspection of that very
 * file, each explicit index's entry layout must match PRAGMA index_xinfo, and in
 * alter-defaults.db the rows written before ALTER TABLE ADD COLUMN must read as defaultFor().
 * Fixtures are copied to a temporary directory first: opening a file in SQLite may write next
 * to it, and the shared fixtures must never change.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest, fixturesDir, type FixtureEntry } from '../fixtures/index.mjs';
import { indexColumns } from '../src/schema/autoindex.js';
import { defaultFor } from '../src/schema/default.js';
import { parseCreateTable, parseSchemaSql } from '../src/schema/parse.js';
import type { IndexDef, TableDef, TypedValue } from '../src/schema/types.js';
import { expectMatchesOracle, introspectTable } from './schema-oracle.js';
import { tempDir } from './util/tmp.js';

const manifest = readManifest();
const sound: FixtureEntry[] = manifest.fixtures.filter((f: FixtureEntry) => !f.corrupt && !f.error && f.integrity.length === 1 && f.integrity[0] === 'ok');
const work = tempDir('quire-schema-fx-');

/** Opens a private copy of a fixture (with its WAL / journal, if any). */
function openCopy(f: FixtureEntry): Database.Database {
  const dir = fs.mkdtempSync(path.join(work, f.name + '-'));
  const dest = path.join(dir, path.basename(f.file));
  fs.copyFileSync(path.join(fixturesDir, f.file), dest);
  if (f.walFile) fs.copyFileSync(path.join(fixturesDir, f.walFile), dest + '-wal');
  if (f.journalFile) fs.copyFileSync(path.join(fixturesDir, f.journalFile), dest + '-journal');
  return new Database(dest);
}

interface SchemaRow {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

describe('schemas of the SQLite-made fixtures', () => {
  it('has sound fixtures to read', () => {
    expect(sound.length).toBeGreaterThan(10);
  });

  for (const f of sound) {
    it(f.name, () => {
      const db = openCopy(f);
      try {
        const rows = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all() as SchemaRow[];
        const tables = new Map<string, TableDef>();
        let checked = 0;
        for (const r of rows) {
          if (r.sql === null) continue;
          const def = parseSchemaSql(r.sql);
          expect([r.name, def.type]).toEqual([r.name, r.type]);
          expect(def.name).toBe(r.name);
          if (def.type === 'table') {
            tables.set(r.name, def);
            if (def.virtual) continue;
            expectMatchesOracle(def, introspectTable(db, r.name, r.sql), r.sql);
            checked++;
          }
        }
        for (const r of rows) {
          if (r.type !== 'index' || r.sql === null) continue;
          const ix = parseSchemaSql(r.sql) as IndexDef;
          const table = tables.get(r.tbl_name) as TableDef;
          const xinfo = db.prepare(`PRAGMA index_xinfo("${r.name.replace(/"/g, '""')}")`).all() as { seqno: number; cid: number; name: string | null; desc: number; coll: string; key: number }[];
          expect(indexColumns(ix, table).map((c, k) => ({ seqno: k, cid: c.column, name: c.name, desc: c.desc ? 1 : 0, coll: c.collation.toUpperCase(), key: c.key ? 1 : 0 }))).toEqual(
            xinfo.map((x) => ({ ...x, coll: x.coll.toUpperCase() })),
          );
        }
        expect(checked + rows.filter((r) => r.sql === null || r.type !== 'table').length + [...tables.values()].filter((t) => t.virtual).length).toBe(rows.length);
      } finally {
        db.close();
      }
    });
  }
});

describe('alter-defaults.db: rows older than their columns', () => {
  it('read as defaultFor() of each added column', () => {
    const f = sound.find((x) => x.name === 'alter-defaults');
    expect(f).toBeDefined();
    const db = openCopy(f as FixtureEntry);
    db.defaultSafeIntegers(true);
    try {
      let compared = 0;
      for (const name of ['t', 'p']) {
        const def = parseCreateTable(db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').pluck().get(name) as string);
        const original = name === 't' ? 2 : 1; // columns before the first ALTER TABLE
        // The first five rows were written before any column was added.
        const rows = db.prepare(`SELECT * FROM ${name} WHERE rowid <= 5 ORDER BY rowid`).raw().all() as unknown[][];
        const types = db.prepare(`SELECT ${def.columns.map((c) => `typeof("${c.name}")`).join(', ')} FROM ${name} WHERE rowid <= 5 ORDER BY rowid`).raw().all() as string[][];
        expect(rows).toHaveLength(5);
        rows.forEach((row, r) => {
          for (let i = original; i < def.columns.length; i++) {
            const want = defaultFor(def.columns[i]);
            expect([name, def.columns[i].name, norm(want)]).toEqual([name, def.columns[i].name, fromSqlite(types[r][i], row[i])]);
            compared++;
          }
        });
      }
      expect(compared).toBeGreaterThan(100);
    } finally {
      db.close();
    }
  });
});

function norm(v: TypedValue): unknown {
  if (v.type === 'blob') return { type: 'blob', value: Array.from(v.value) };
  if (v.type === 'integer') return { type: 'integer', value: BigInt(v.value) };
  return v;
}

function fromSqlite(type: string, value: unknown): unknown {
  if (type === 'blob') return { type, value: Array.from(value as Buffer) };
  return { type, value };
}
