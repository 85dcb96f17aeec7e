/**
 * The backup API's traps (issue 9, scope 4): an empty source, an options argument that is not
 * an object, and a progress callback that throws on the last step.
 */
import { describe, it, expect } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Backup, Database, MemoryStorage, isQuireError } from '../src/index.js';
import { backupFile, openDatabase } from '../src/node/index.js';
import { tempDir } from './util/tmp.js';

function makeDb(file: string, rows: number): void {
  const db = new BetterSqlite(file);
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  const ins = db.prepare('INSERT INTO t(v) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(`row ${i} ${'x'.repeat(i % 300)}`);
  })();
  db.close();
}

/** SQLite's view of a file: integrity_check and the names in its schema. */
function sqliteView(file: string): { ic: string; tables: string[] } {
  const db = new BetterSqlite(file, { readonly: true });
  try {
    const ic = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
    const tables = (db.prepare("SELECT name FROM sqlite_schema ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    return { ic, tables };
  } finally {
    db.close();
  }
}

function save(db: Database, file: string): string {
  writeFileSync(file, (db.storage as MemoryStorage).getFile('db') ?? new Uint8Array(0));
  return file;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e) => e,
  );
}

describe('backup of an empty database', () => {
  it('a fresh Database.memory() is copied in one DONE step into a valid empty database (as SQLite does)', async () => {
    const dir = tempDir();
    const empty = await Database.memory();
    // A target with content: the copy of an empty database leaves it empty.
    const srcFile = path.join(dir, 'seven.db');
    makeDb(srcFile, 7);
    const seven = await openDatabase(srcFile);
    const target = await Database.memory();
    await seven.backup(target);
    expect(sqliteView(save(target, path.join(dir, 'before.db'))).tables).toEqual(['t']);

    const calls: Array<[string, number, number]> = [];
    const id = await empty.backup(target, { progress: (s, r, t) => void calls.push([s, r, t]), timeout: 2000 });
    expect(calls).toEqual([['DONE', 0, 0]]);
    expect(id.restarts).toBe(0);
    expect(sqliteView(save(target, path.join(dir, 'after.db')))).toEqual({ ic: 'ok', tables: [] });

    // The step API: one step, DONE.
    const t2 = await Database.memory();
    const b = await Backup.init(t2, 'main', empty, 'main');
    expect(await b.step(-1)).toBe('DONE');
    await b.finish();
    expect(sqliteView(save(t2, path.join(dir, 't2.db')))).toEqual({ ic: 'ok', tables: [] });

    // And into a file.
    const out = path.join(dir, 'empty-copy.db');
    const emptyFile = path.join(dir, 'empty.db');
    writeFileSync(emptyFile, new Uint8Array(0));
    const r = await backupFile(emptyFile, out, { timeout: 2000 });
    expect(r.snapshot.restarts).toBe(0);
    expect(sqliteView(out)).toEqual({ ic: 'ok', tables: [] });
    for (const d of [empty, seven, target, t2]) await d.close();
  });
});

describe('backup options that are not an object', () => {
  for (const [what, arg] of [
    ['a number', 1],
    ['a string', 'x'],
    ['null', null],
    ['a function', function progress() {}],
  ] as Array<[string, unknown]>) {
    it(`${what} as the options argument is MISUSE and copies nothing`, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'src.db');
      makeDb(file, 50);
      const src = await openDatabase(file);
      const target = await Database.memory();
      const e = await rejection(src.backup(target, arg as never));
      expect(isQuireError(e) ? e.code : e).toBe('MISUSE');
      expect((e as Error).message).toMatch(/options must be an object/);
      expect((target.storage as MemoryStorage).getFile('db') ?? new Uint8Array(0)).toHaveLength(0);
      const e2 = await rejection(Backup.init(target, 'main', src, 'main', arg as never));
      expect(isQuireError(e2) ? e2.code : e2).toBe('MISUSE');
      const e3 = await rejection(backupFile(file, path.join(dir, 'out.db'), arg as never));
      expect(isQuireError(e3) ? e3.code : e3).toBe('MISUSE');
      expect(readdirSync(dir)).toEqual(['src.db']);
      await src.close();
      await target.close();
    });
  }
});

describe('a progress callback that throws on the last step', () => {
  it('with the default pages (one step): the destination database is left as it was', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'src.db');
    makeDb(file, 300);
    const src = await openDatabase(file);
    const target = await Database.memory();
    const seven = path.join(dir, 'seven.db');
    makeDb(seven, 7);
    const s7 = await openDatabase(seven);
    await s7.backup(target);
    const before = (target.storage as MemoryStorage).getFile('db')!.slice();
    const boom = new Error('no thanks');
    const seen: string[] = [];
    const got = await rejection(
      src.backup(target, {
        progress: (status) => {
          seen.push(status);
          throw boom;
        },
      }),
    );
    expect(got).toBe(boom);
    expect(seen).toEqual(['DONE']);
    expect((target.storage as MemoryStorage).getFile('db')).toEqual(before);
    expect(target.inTransaction).toBe(false);
    // The target is usable afterwards: a later copy goes through.
    await src.backup(target);
    expect(sqliteView(save(target, path.join(dir, 'after.db'))).tables).toEqual(['t']);
    await src.close();
    await s7.close();
    await target.close();
  });

  it('backupFile: an onProgress that throws at DONE leaves the destination file as it was, and no temporary file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'src.db');
    makeDb(file, 300);
    const out = path.join(dir, 'out.db');
    makeDb(out, 7);
    const before = readFileSync(out);
    const boom = new Error('no thanks');
    const got = await rejection(
      backupFile(file, out, {
        onProgress: (p) => {
          if (p.status === 'DONE') throw boom;
        },
      }),
    );
    expect(got).toBe(boom);
    expect(readFileSync(out)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['out.db', 'src.db']);
  });
});
