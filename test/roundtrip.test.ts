/**
 * Round trip (issue 4): every table of every read-path fixture that quire can write is
 * exported, imported into a fresh quire database (same page size and encoding, the same
 * CREATE TABLE / CREATE INDEX statements), and must read back identically in SQLite, with
 * integrity_check ok. Tables quire refuses to write (CHECK constraints, generated columns,
 * triggers, expression or partial indexes, virtual tables, SQLite's internal sqlite_*
 * tables) are skipped, and the refusal itself is checked.
 */
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { copyFileSync } from 'node:fs';
import { readManifest, fixturePath } from '../fixtures/index.mjs';
import { openDatabase } from '../src/node/index.js';
import { isQuireError } from '../src/index.js';
import { referenceExport, referenceIntegrity, withOracle } from './util/reference.js';
import { cli } from './cli/run.js';
import { tempDir } from './util/tmp.js';

const manifest = readManifest();
const readable = manifest.fixtures.filter((f) => f.error === null && f.corrupt === null && f.tables !== null && !f.big);

interface SchemaRow {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

describe('export → import round trip', () => {
  for (const f of readable) {
    it(f.name, async () => {
      const src = fixturePath(f);
      const rows = withOracle(src, (db) => db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all() as SchemaRow[]);
      const dir = tempDir();
      const out = path.join(dir, 'rt.db');
      const enc = (f.encoding ?? 'UTF-8') as 'UTF-8' | 'UTF-16le' | 'UTF-16be';
      const db = await openDatabase(out, { readOnly: false, create: { pageSize: f.pageSize ?? 4096, encoding: enc } });
      const src_ = await openDatabase(src);
      const cat = await src_.schema();
      await src_.close();
      const done: string[] = [];
      const refused: string[] = [];
      for (const r of rows) {
        if (r.type !== 'table' || r.sql === null || r.name.startsWith('sqlite_')) continue;
        const t = [...cat.tables.values()].find((x) => x.name === r.name)!;
        const needsSql =
          t.virtual ||
          (t.def !== null && (t.def.checks.length > 0 || t.def.columns.some((c) => c.generated))) ||
          rows.some((x) => x.type === 'trigger' && x.tbl_name === r.name) ||
          t.indexes.some((i) => i.partial || i.expression);
        if (needsSql) {
          // quire refuses to write such a table rather than writing something SQLite would not.
          if (!t.virtual) refused.push(r.name);
          continue;
        }
        await db.exec(r.sql);
        for (const ix of rows) if (ix.type === 'index' && ix.tbl_name === r.name && ix.sql) await db.exec(ix.sql);
        done.push(r.name);
      }
      await db.close();
      if (refused.length) {
        const copy = path.join(dir, 'copy.db');
        copyFileSync(src, copy);
        const w = await openDatabase(copy, { readOnly: false });
        for (const name of refused) {
          const e = await w.insert(name, {}).catch((x) => x);
          expect(isQuireError(e) && e.code, `${name} must be refused`).toBe('UNSUPPORTED');
        }
        await w.close();
      }
      for (const name of done) {
        const res = await cli(['import', out, name], referenceExport(src, name));
        expect(res.stderr, `${f.name}.${name}`).toBe('');
        expect(res.code).toBe(0);
      }
      if (done.length === 0) return;
      expect(referenceIntegrity(out)).toEqual(['ok']);
      for (const name of done) expect(referenceExport(out, name), `${f.name}.${name}`).toBe(referenceExport(src, name));
    }, 120_000);
  }
});
