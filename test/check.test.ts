// quire check against SQLite's PRAGMA integrity_check: every fixture (flagged exactly where
// SQLite flags it), and targeted damage applied by code to healthy SQLite files, where each
// case must be flagged by both checkers (and, where quire words a problem as SQLite does, with
// the same lines).
import { readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fixturePath, readManifest } from '../fixtures/index.mjs';
import { get32, put32 } from '../pager/bytes.js';
import { ptrmapPageFor } from '../btree/ptrmap.js';
import { parsePage } from '../btree/page.js';
import { newCellInfo, parseCell } from '../btree/cell.js';
import { cli } from './cli/run.js';
import { compareText } from '../btree/compare.js';
import type { SqlValue } from '../btree/value.js';
import { MultisetHash, treesOf } from '../src/check.js';
import { checkIntegrity } from '../btree/integrity.js';
import type { PageSource } from '../pager/source.js';
import { openDatabase } from '../src/node/index.js';
import { referenceExport } from './util/reference.js';
import { buildDb, rootOf, openReadonly } from './util/btree-db.js';
import {
  freelistOf,
  pageOf,
  pathToLeaf,
  quireProblems,
  removeLeafCell,
  setTrunkLeaves,
  sqliteProblems,
  swapCells,
  writeTemp,
} from './util/damage.js';

const manifest = readManifest();

/** The first page number a list of problems names ("page N" or "Page N"), if any. */
function firstPage(lines: readonly string[]): number | undefined {
  for (const l of lines) {
    const m = /[Pp]age (\d+)/.exec(l);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** A view into `img` of the leaf page pathToLeaf reaches in table `name`'s b-tree (writes to it change `img`). */
function leafOf(img: Uint8Array, name: string): Uint8Array {
  const db = openReadonly(writeTemp(img));
  const root = rootOf(db, name);
  db.close();
  return pageOf(img, pathToLeaf(img, root).pop()!);
}

describe('quire check on every fixture agrees with SQLite', () => {
  for (const f of manifest.fixtures) {
    it(f.name, async () => {
      const path = fixturePath(f);
      const sqliteOk = f.error === null && f.integrity.length === 1 && f.integrity[0] === 'ok';
      const r = await cli(['check', path]);
      if (sqliteOk) {
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('ok\n');
        expect(r.code).toBe(0);
        return;
      }
      // SQLite flags it: quire must too, with problems on stdout or a one-line error.
      expect(r.code).toBe(1);
      expect(r.stdout).not.toBe('ok\n');
      if (r.stdout === '') {
        expect(r.stderr).toMatch(/^quire: (NOTADB|CORRUPT): .+\n$/);
        // SQLite could not open it either (no integrity rows, only an error).
        expect(f.integrity).toEqual([]);
        expect(['SQLITE_NOTADB', 'SQLITE_CORRUPT']).toContain(f.error?.code);
        return;
      }
      const mine = r.stdout.trimEnd().split('\n');
      const theirs = f.integrity.flatMap((x) => x.split('\n')).filter((l) => l !== '*** in database main ***');
      // Both point at the same damaged page first.
      expect(firstPage(mine)).toBe(firstPage(theirs));
      // Lines worded alike must be there: freelist problems, references, unused pages, cell
      // offsets, rowid order and coverage.
      for (const l of theirs) {
        if (/^(Freelist: |Page \d+: never used|.*2nd reference to page|.*Offset \d+ out of range|.*Rowid \d+ out of order|Multiple uses|Fragmentation)/.test(l)) {
          expect(mine).toContain(l);
        }
      }
    });
  }

  it('covers the 16 deliberately corrupt fixtures', () => {
    expect(manifest.fixtures.filter((f) => f.corrupt !== null).length).toBe(16);
  });
});

// ------------------------------------------------------------------------ targeted damage

/** A 1024-byte-page database: table t (several levels), index ti on t(b), a freelist. */
function healthy(opts: { autoVacuum?: 'NONE' | 'FULL' } = {}): { image: Uint8Array; rootT: number; rootI: number } {
  const { path, image } = buildDb({ pageSize: 1024, autoVacuum: opts.autoVacuum }, (db) => {
    db.exec('CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c); CREATE INDEX ti ON t(b); CREATE TABLE junk(x);');
    const ins = db.prepare('INSERT INTO t(b, c) VALUES (?, ?)');
    const junk = db.prepare('INSERT INTO junk VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 600; i++) ins.run(`k${(i * 7919) % 600}`, i % 3 === 0 ? null : i);
      for (let i = 0; i < 200; i++) junk.run('x'.repeat(300));
    })();
    db.exec('DELETE FROM junk'); // frees its pages (a freelist with trunks and leaves)
  });
  const db = openReadonly(path);
  const rootT = rootOf(db, 't');
  const rootI = rootOf(db, 'ti');
  db.close();
  return { image, rootT, rootI };
}

/** Builds a database with SQLite, then rewrites schema SQL (PRAGMA writable_schema). */
function withSchemaEdit(setup: string, edits: Record<string, string>, fill?: (db: Database.Database) => void): string {
  const { path } = buildDb({ pageSize: 1024 }, (db) => {
    db.exec(setup);
    fill?.(db);
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    const upd = db.prepare('UPDATE sqlite_schema SET sql = ? WHERE name = ?');
    for (const [name, sql] of Object.entries(edits)) {
      expect(upd.run(sql, name).changes).toBe(1);
    }
    db.pragma('writable_schema = OFF');
  });
  return path;
}

async function bothFlag(path: string): Promise<{ mine: string[]; theirs: string[] }> {
  const theirs = sqliteProblems(path);
  const mine = await quireProblems(path);
  expect(theirs.length, 'SQLite flags the damage').toBeGreaterThan(0);
  expect(mine.length, 'quire flags the damage').toBeGreaterThan(0);
  return { mine, theirs };
}

describe('targeted damage: flagged by quire and by SQLite', () => {
  const base = healthy();

  it('the healthy base is ok for both', async () => {
    const path = writeTemp(base.image, 'healthy');
    expect(sqliteProblems(path)).toEqual([]);
    expect(await quireProblems(path)).toEqual([]);
  });

  it('a leaked page (dropped from the freelist)', async () => {
    const img = base.image.slice();
    const fl = freelistOf(img);
    const trunk = fl.trunks.find((t) => t.leaves.length > 1)!;
    const leaked = trunk.leaves[trunk.leaves.length - 1];
    setTrunkLeaves(img, trunk.pgno, trunk.leaves.slice(0, -1));
    const { mine, theirs } = await bothFlag(writeTemp(img));
    expect(theirs).toEqual([`Page ${leaked}: never used`]);
    expect(mine).toEqual(theirs);
  });

  it('a doubly referenced page (a b-tree leaf also on the freelist)', async () => {
    const img = base.image.slice();
    const fl = freelistOf(img);
    const trunk = fl.trunks[0];
    const leaf = pathToLeaf(img, base.rootT, 'right').pop()!;
    setTrunkLeaves(img, trunk.pgno, [...trunk.leaves, leaf]);
    const { mine, theirs } = await bothFlag(writeTemp(img));
    expect(theirs.some((l) => l.endsWith(`2nd reference to page ${leaf}`))).toBe(true);
    expect(mine).toEqual(theirs);
  });

  it('a wrong freelist count in the header', async () => {
    const img = base.image.slice();
    const count = get32(img, 36);
    put32(img, 36, count + 1);
    const { mine, theirs } = await bothFlag(writeTemp(img));
    expect(theirs).toEqual([`Freelist: size is ${count} but should be ${count + 1}`]);
    expect(mine).toEqual(theirs);
  });

  it('a wrong fragmented-bytes count', async () => {
    const img = base.image.slice();
    const leaf = pathToLeaf(img, base.rootT).pop()!;
    const p = pageOf(img, leaf);
    const was = p[7];
    p[7] = was + 3;
    const { mine, theirs } = await bothFlag(writeTemp(img));
    expect(theirs).toEqual([`Fragmentation of ${was} bytes reported as ${was + 3} on page ${leaf}`]);
    expect(mine).toEqual(theirs);
  });

  it('out-of-order rowids on a table leaf', async () => {
    const img = base.image.slice();
    const leaf = pathToLeaf(img, base.rootT).pop()!;
    swapCells(img, leaf, 0, 1);
    const { mine, theirs } = await bothFlag(writeTemp(img));
    expect(theirs.some((l) => /^Tree \d+ page \d+ cell \d+: Rowid \d+ out of order$/.test(l))).toBe(true);
    expect(mine).toEqual(theirs);
  });

  it('out-of-order keys on an index leaf', async () => {
    const img = base.image.slice();
    const leaf = pathToLeaf(img, base.rootI).pop()!;
    swapCells(img, leaf, 0, 1);
    const { mine } = await bothFlag(writeTemp(img));
    expect(mine).toContain(`Tree ${base.rootI} page ${leaf} cell 0: Key out of order`);
  });

  it('an index entry removed', async () => {
    const img = base.image.slice();
    const leaf = pathToLeaf(img, base.rootI, 'right').pop()!;
    removeLeafCell(img, leaf, 1);
    const path = writeTemp(img);
    const { mine, theirs } = await bothFlag(path);
    expect(theirs).toContain('wrong # of entries in index ti');
    expect(theirs.some((l) => /^row \d+ missing from index ti$/.test(l))).toBe(true);
    expect(mine).toEqual(theirs);
    expect(await quireProblems(path, { indexMode: 'seek' })).toEqual(mine);
  });

  it('an extra index entry (its table row removed)', async () => {
    const img = base.image.slice();
    const leaf = pathToLeaf(img, base.rootT, 'right').pop()!;
    removeLeafCell(img, leaf, 0);
    const path = writeTemp(img);
    const { mine, theirs } = await bothFlag(path);
    expect(theirs).toEqual(['wrong # of entries in index ti']);
    expect(mine).toEqual(theirs);
    expect(await quireProblems(path, { indexMode: 'seek' })).toEqual(mine);
  });

  it('a bad pointer-map entry', async () => {
    const av = healthy({ autoVacuum: 'FULL' });
    expect(sqliteProblems(writeTemp(av.image))).toEqual([]);
    const img = av.image.slice();
    const path = pathToLeaf(img, av.rootT);
    const [parent, child] = path.slice(-2);
    const ps = 1024;
    const map = ptrmapPageFor(child, ps, ps);
    const off = 5 * (child - map - 1);
    const m = pageOf(img, map);
    expect(m[off]).toBe(5); // PTRMAP_BTREE
    expect(get32(m, off + 1)).toBe(parent);
    put32(m, off + 1, parent + 1);
    const { mine, theirs } = await bothFlag(writeTemp(img));
    expect(theirs.some((l) => l.endsWith(`Bad ptr map entry key=${child} expected=(5,${parent}) got=(5,${parent + 1})`))).toBe(true);
    expect(mine).toEqual(theirs);
  });

  it('a broken overflow chain (one page short)', async () => {
    const { path: p0 } = buildDb({ pageSize: 1024 }, (db) => {
      db.exec('CREATE TABLE big(x)');
      db.prepare('INSERT INTO big VALUES (?)').run(Buffer.alloc(5000, 1));
    });
    const img = new Uint8Array(readFileSync(p0));
    // The chain's second page ends the chain early: its next pointer becomes 0.
    const leaf = pathToLeaf(img, 2).pop()!;
    const first = parseCell(parsePage(pageOf(img, leaf), leaf, 1024), 0, newCellInfo()).overflow;
    expect(first).toBeGreaterThan(0);
    const second = get32(pageOf(img, first), 0);
    put32(pageOf(img, second), 0, 0);
    const { mine, theirs } = await bothFlag(writeTemp(img));
    expect(mine).toEqual(theirs);
  });
});

describe('row-level problems: worded as SQLite words them', () => {
  const rows = (db: Database.Database, sql: string, n: number, f: (i: number) => unknown[]): void => {
    const st = db.prepare(sql);
    db.transaction(() => {
      for (let i = 0; i < n; i++) st.run(...f(i));
    })();
  };

  const cases: { name: string; setup: string; edits: Record<string, string>; fill: (db: Database.Database) => void; expect: RegExp }[] = [
    {
      name: 'rows missing from an index (a partial index made total)',
      setup: 'CREATE TABLE t(a, b); CREATE INDEX tb ON t(b) WHERE a % 5 != 0;',
      edits: { tb: 'CREATE INDEX tb ON t(b)' },
      fill: (db) => rows(db, 'INSERT INTO t VALUES (?, ?)', 300, (i) => [i, `v${i}`]),
      expect: /^(row \d+ missing from index tb|wrong # of entries in index tb)$/,
    },
    {
      name: 'rows missing from a WITHOUT ROWID table index',
      setup: 'CREATE TABLE w(k TEXT PRIMARY KEY, v INT) WITHOUT ROWID; CREATE INDEX wv ON w(v) WHERE v > 10;',
      edits: { wv: 'CREATE INDEX wv ON w(v)' },
      fill: (db) => rows(db, 'INSERT INTO w VALUES (?, ?)', 200, (i) => [`key${i}`, i]),
      expect: /^(row \d+ missing from index wv|wrong # of entries in index wv)$/,
    },
    {
      name: 'NULL in a NOT NULL column',
      setup: 'CREATE TABLE t(a, b);',
      edits: { t: 'CREATE TABLE t(a, b NOT NULL)' },
      fill: (db) => rows(db, 'INSERT INTO t VALUES (?, ?)', 50, (i) => [i, i % 7 === 0 ? null : i]),
      expect: /^NULL value in t\.b$/,
    },
    {
      name: 'wrong types in a STRICT table',
      setup: 'CREATE TABLE s(a ANY, b ANY) STRICT;',
      edits: { s: 'CREATE TABLE s(a INTEGER, b TEXT) STRICT' },
      fill: (db) => rows(db, 'INSERT INTO s VALUES (?, ?)', 40, (i) => [i % 4 === 0 ? `t${i}` : i, i % 5 === 0 ? i : `s${i}`]),
      expect: /^non-(INTEGER|TEXT) value in s\.[ab]$/,
    },
    {
      name: 'numbers in a TEXT column, numeric text in an INTEGER column',
      setup: 'CREATE TABLE t(a, b BLOB);',
      edits: { t: 'CREATE TABLE t(a TEXT, b INTEGER)' },
      fill: (db) => rows(db, 'INSERT INTO t VALUES (?, ?)', 40, (i) => [i % 3 === 0 ? i : `x${i}`, i % 4 === 0 ? ` ${i} ` : `y${i}`]),
      expect: /^(NUMERIC|TEXT) value in t\.[ab]$/,
    },
    {
      name: 'duplicate keys in a UNIQUE index',
      setup: 'CREATE TABLE t(a, b); CREATE INDEX tu ON t(a);',
      edits: { tu: 'CREATE UNIQUE INDEX tu ON t(a)' },
      fill: (db) => rows(db, 'INSERT INTO t VALUES (?, ?)', 60, (i) => [i % 25 === 0 ? 'dup' : i % 9 === 0 ? null : i, i]),
      expect: /^non-unique entry in index tu$/,
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const path = withSchemaEdit(c.setup, c.edits, c.fill);
      const { mine, theirs } = await bothFlag(path);
      expect(theirs.every((l) => c.expect.test(l)), theirs.join('\n')).toBe(true);
      expect(mine).toEqual(theirs);
      expect(await quireProblems(path, { indexMode: 'seek' })).toEqual(mine);
      expect(await quireProblems(path, { indexMode: 'merge' })).toEqual(mine);
    });
  }

  it('index values that match only by collation', async () => {
    // The index is built over NOCASE; the table's text is changed in place to other letter
    // case afterwards: the entry is still found (NOCASE) but the values differ.
    const { path, image } = buildDb({ pageSize: 1024 }, (db) => {
      db.exec('CREATE TABLE t(a TEXT); CREATE INDEX tn ON t(a COLLATE NOCASE);');
      rows(db, 'INSERT INTO t VALUES (?)', 20, (i) => [`name${i}zz`]);
    });
    void path;
    const img = image.slice();
    const p = leafOf(img, 't');
    const at = Buffer.from(p).indexOf('name7zz');
    expect(at).toBeGreaterThan(0);
    p[at] = 'N'.charCodeAt(0);
    const { mine, theirs } = await bothFlag(writeTemp(img));
    expect(theirs).toEqual(['row 8 values differ from index tn']);
    expect(mine).toEqual(theirs);
  });

  it('--max-errors caps the list (a prefix of the full list)', async () => {
    const path = withSchemaEdit(
      'CREATE TABLE t(a, b); CREATE INDEX tb ON t(b) WHERE a % 2 = 0;',
      { tb: 'CREATE INDEX tb ON t(b)' },
      (db) => rows(db, 'INSERT INTO t VALUES (?, ?)', 100, (i) => [i, i]),
    );
    const all = await quireProblems(path);
    expect(all.length).toBe(51); // 50 rows missing + the count
    expect(sqliteProblems(path)).toEqual(all);
    const r = await cli(['check', path, '--max-errors', '5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(all.slice(0, 5).map((l) => l + '\n').join(''));
    expect(await quireProblems(path, { maxErrors: 7 })).toEqual(all.slice(0, 7));
  });
});

describe('quire check: command line', () => {
  it('usage errors exit 2', async () => {
    expect((await cli(['check'])).code).toBe(2);
    expect((await cli(['check', 'a.db', '--max-errors', 'x'])).code).toBe(2);
    expect((await cli(['check', 'a.db', '--max-errors', '0'])).code).toBe(2);
  });

  it('a file that is not a database: one error line, exit 1', async () => {
    const path = writeTemp(new TextEncoder().encode('this is not a database, just some text of some length'.repeat(10)));
    const r = await cli(['check', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^quire: NOTADB: .*\n$/);
  });

  it('a missing file: CANTOPEN', async () => {
    const r = await cli(['check', '/nonexistent/quire/x.db']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^quire: CANTOPEN: /);
  });
});

describe('differences from SQLite that the fuzz test found (fixed; each checked against SQLite)', () => {
  it('NOCASE stops comparing at a NUL both strings have at the same place', () => {
    const db = openReadonly(writeTemp(readFileSync(fixturePath('empty-schema'))));
    const pairs = [
      ['a\0x', 'a\0y'],
      ['a\0é', 'a\0xx'],
      ['a\0x', 'A\0yy'],
      ['a\0', 'a'],
      ['ab\0z', 'aB\0'],
      ['x\0\u{1F600}', 'X\0abcd'],
    ];
    for (const [a, b] of pairs) {
      const r = db.prepare('SELECT (? COLLATE NOCASE) < ? AS lt, (? COLLATE NOCASE) = ? AS eq').get(a, b, a, b) as { lt: number; eq: number };
      const want = r.eq ? 0 : r.lt ? -1 : 1;
      expect(Math.sign(compareText(a, b, 'NOCASE')), JSON.stringify([a, b])).toBe(want);
    }
    db.close();
  });

  it('serial types 10 and 11 read as NULL', async () => {
    const { image } = buildDb({ pageSize: 1024 }, (db) => {
      db.exec("CREATE TABLE t(a, b, c); INSERT INTO t VALUES (7, NULL, 'x'), (8, NULL, 'y');");
    });
    const img = image.slice();
    const leaf = pageOf(img, 2);
    // Both records are [header 4: 1, 0, 15] [7|8] [x|y]: set the NULL's serial type to 10, 11.
    let k = 0;
    for (let off = 0; off < 1024 - 4 && k < 2; off++) {
      if (leaf[off] === 4 && leaf[off + 1] === 1 && leaf[off + 2] === 0 && leaf[off + 3] === 15) leaf[off + 2] = 10 + k++;
    }
    expect(k).toBe(2);
    const path = writeTemp(img);
    expect(sqliteProblems(path)).toEqual([]);
    expect(await quireProblems(path)).toEqual([]);
    const db = await openDatabase(path);
    const rows: unknown[] = [];
    for await (const r of db.rows('t')) rows.push(r);
    await db.close();
    const ref = referenceExport(path, 't');
    expect(rows.map((r) => JSON.stringify(r)).join('\n') + '\n').toBe(ref);
    expect(ref).toBe('[1,7,null,"x"]\n[2,8,null,"y"]\n');
  });

  it('a partial last page counts as a page (read zero-filled)', async () => {
    const img = readFileSync(fixturePath('empty-schema')).subarray(0, 2088);
    const path = writeTemp(img);
    expect(sqliteProblems(path)).toEqual([]);
    expect(await quireProblems(path)).toEqual([]);
  });

  it('a schema format below 4 makes DESC keys ascending, for quire as for SQLite', async () => {
    const img = new Uint8Array(readFileSync(fixturePath('without-rowid')));
    put32(img, 44, 0); // read as format 1
    const { mine } = await bothFlag(writeTemp(img));
    expect(mine.some((l) => /Key out of order$/.test(l))).toBe(true);
  });

  it('a NULL-SQL row is an automatic index whatever its type; else an orphan', async () => {
    const base = new Uint8Array(readFileSync(fixturePath('page-512')));
    // The live sqlite_schema record (page 1 may also hold stale copies in free space).
    let at = -1;
    for (let from = 0; at < 0; from++) {
      const k = Buffer.from(base).indexOf('indexsqlite_autoindex_kv_1', from);
      expect(k).toBeGreaterThan(0);
      const probe = base.slice();
      probe[k] = 'k'.charCodeAt(0);
      const db = openReadonly(writeTemp(probe));
      if (db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'kndex'").pluck().get() === 1) at = k;
      db.close();
      from = k;
    }
    const retyped = base.slice();
    retyped[at] = 'k'.charCodeAt(0); // type 'kndex'
    let path = writeTemp(retyped);
    expect(sqliteProblems(path)).toEqual([]);
    expect(await quireProblems(path)).toEqual([]);
    const orphan = base.slice();
    orphan[at + 'indexsqlite_autoindex_kv_'.length] = '9'.charCodeAt(0);
    path = writeTemp(orphan);
    const { mine, theirs } = await bothFlag(path);
    expect(theirs[0]).toContain('malformed database schema (sqlite_autoindex_kv_9) - orphan index');
    expect(mine[0]).toBe('malformed database schema (sqlite_autoindex_kv_9) - orphan index');
  });

  it('ill-formed UTF-16 text reads as SQLite reads it', async () => {
    const cases = ['D800', '0061D800', 'DC000061', 'D8000061', '006100', 'D83DDE00', 'DBFFDFFF', 'DC00DC00', '00', 'FFFD0061'];
    for (const encoding of ['UTF-16be', 'UTF-16le'] as const) {
      const { path } = buildDb({ pageSize: 1024, encoding }, (db) => {
        db.exec('CREATE TABLE t(x)');
        for (const h of cases) {
          const bytes = encoding === 'UTF-16be' ? h : h.replace(/(..)(..)/g, '$2$1');
          db.exec(`INSERT INTO t VALUES (CAST(x'${bytes}' AS TEXT))`);
        }
      });
      const db = await openDatabase(path);
      let mine = '';
      for await (const r of db.rows('t')) mine += JSON.stringify(r) + '\n';
      await db.close();
      expect(mine, encoding).toBe(referenceExport(path, 't'));
    }
  });

  it('only the low byte of the schema format counts', async () => {
    const img = new Uint8Array(readFileSync(fixturePath('alter-defaults')));
    put32(img, 44, 0x1004);
    const path = writeTemp(img);
    expect(sqliteProblems(path)).toEqual([]);
    expect(await quireProblems(path)).toEqual([]);
  });
});

describe('the row check done during the page walk (hashes from record bytes)', () => {
  /** quire's problems, and the tables it had to read again after the walk. */
  const checkWithStats = async (path: string): Promise<{ problems: string[]; rechecked: string[] }> => {
    const stats = { rechecked: [] as string[] };
    const problems = await quireProblems(path, { stats });
    return { problems, rechecked: stats.rechecked };
  };

  // Values whose record images are easy to hash differently although SQLite takes them as
  // equal: integral REALs (stored as integers), -0.0, integers past 2^53, text outside ASCII
  // (one to four UTF-8 bytes, surrogate pairs in UTF-16), blobs, NULLs in a UNIQUE index,
  // numeric text in a NUMERIC column, and short rows whose indexed columns take defaults.
  const fill = (db: Database.Database): void => {
    db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, r REAL, n NUMERIC, x TEXT, b BLOB, u);
      CREATE INDEX t_r ON t(r); CREATE INDEX t_n ON t(n, r); CREATE INDEX t_x ON t(x);
      CREATE INDEX t_xn ON t(x COLLATE NOCASE DESC, id); CREATE INDEX t_b ON t(b);
      CREATE UNIQUE INDEX t_u ON t(u); CREATE INDEX t_id ON t(id, r);
      CREATE TABLE w(k TEXT PRIMARY KEY, v REAL, z) WITHOUT ROWID; CREATE INDEX w_v ON w(v, z);`);
    const reals = [3, -0, 0.5, 2 ** 53 + 2, -(2 ** 62), 1e300, -1.25, 7];
    const numerics = ['12', '1.5e3', 'abc', 2 ** 62, -7, '0x10', ' 4 ', 9007199254740993n];
    const texts = ['plain', 'é', 'Ωmega', '😀 smile', '', 'ÉCOLE', 'école', 'a\u0000b'];
    const ins = db.prepare('INSERT INTO t(r, n, x, b, u) VALUES (?, ?, ?, ?, ?)');
    const insW = db.prepare('INSERT INTO w VALUES (?, ?, ?)');
    db.exec('BEGIN');
    for (let i = 0; i < 400; i++) {
      const u = i % 3 === 0 ? null : i;
      ins.run(reals[i % 8], numerics[i % 8], `${texts[i % 8]}${i % 5}`, Buffer.from([i & 255, 0, 200, i % 7]), u);
      insW.run(`${texts[i % 8]}-${i}`, reals[(i + 3) % 8], i % 4 === 0 ? null : texts[i % 8]);
    }
    db.exec(`ALTER TABLE t ADD COLUMN d TEXT DEFAULT 'défaut😀'; ALTER TABLE t ADD COLUMN e REAL DEFAULT 2;
      CREATE INDEX t_de ON t(d, e);`);
    const ins2 = db.prepare('INSERT INTO t(r, x, d, e) VALUES (?, ?, ?, ?)');
    for (let i = 0; i < 50; i++) ins2.run(i / 2, `z${i}`, `dé${i % 3}`, i % 2 ? 2 : 2.5);
    db.exec('COMMIT');
  };

  for (const encoding of ['UTF-8', 'UTF-16le', 'UTF-16be'] as const) {
    it(`SQLite-made ${encoding} file: ok, with no table read twice`, async () => {
      const { path } = buildDb({ pageSize: 1024, encoding }, fill);
      expect(sqliteProblems(path)).toEqual([]);
      expect(await checkWithStats(path)).toEqual({ problems: [], rechecked: [] });
    });
  }

  it('a REAL stored as 3.0 in the table and as the integer 3 in its index: equal, as SQLite says', async () => {
    const { image } = buildDb({ pageSize: 1024 }, (db) => {
      db.exec('CREATE TABLE t(a REAL, b); CREATE INDEX ta ON t(a); INSERT INTO t VALUES (3.5, 1);');
    });
    const img = image.slice();
    const at = (pattern: number[], from = 0): number => Buffer.from(img).indexOf(Buffer.from(pattern), from);
    const half = [0x40, 0x0c, 0, 0, 0, 0, 0, 0]; // 3.5
    // The index record: header (3, serial 7, serial 9: rowid 1), then the REAL.
    const inIndex = at([3, 7, 9, ...half]);
    expect(inIndex).toBeGreaterThan(0);
    img.set([3, 6, 9, 0, 0, 0, 0, 0, 0, 0, 3], inIndex); // serial 6: the 64-bit integer 3
    const inTable = at(half);
    expect(inTable).toBeGreaterThan(0);
    img.set([0x40, 0x08], inTable); // 3.0
    const path = writeTemp(img);
    expect(sqliteProblems(path)).toEqual([]);
    expect(await checkWithStats(path)).toEqual({ problems: [], rechecked: [] });
  });

  it('the page walk asks the pager for each page once (reading ahead in ascending order)', async () => {
    const { path } = buildDb({ pageSize: 1024 }, (db) => {
      db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB); CREATE INDEX ta ON t(a);');
      const ins = db.prepare('INSERT INTO t(a, b) VALUES (?, ?)');
      db.transaction(() => {
        for (let i = 0; i < 3000; i++) ins.run(`text ${(i * 7919) % 3000} ${'x'.repeat(i % 40)}`, Buffer.alloc(30 + (i % 50)));
      })();
    });
    const db = await openDatabase(path);
    const snap = await db.pager.read();
    try {
      const catalog = await db.catalogAt(snap);
      const asked = new Map<number, number>();
      const src: PageSource = {
        pageSize: snap.pageSize,
        usableSize: snap.usableSize,
        pageCount: snap.pageCount,
        encoding: snap.encoding,
        autoVacuum: snap.autoVacuum,
        page: (pgno) => {
          asked.set(pgno, (asked.get(pgno) ?? 0) + 1);
          return snap.page(pgno);
        },
      };
      const r = await checkIntegrity(src, treesOf(catalog).specs);
      expect(r.problems).toEqual([]);
      expect(snap.pageCount).toBeGreaterThan(200);
      asked.delete(1); // read for the header, then walked as sqlite_schema's root
      expect(asked.size).toBe(snap.pageCount - 1);
      expect(Math.max(...asked.values())).toBe(1);
      // In the order first asked for, pages mostly ascend (the walk itself descends).
      const seq = [...asked.keys()];
      const up = seq.filter((p, i) => i > 0 && p > seq[i - 1]).length;
      expect(up / seq.length).toBeGreaterThan(0.8);
    } finally {
      snap.release();
      await db.close();
    }
  });

  for (const encoding of ['UTF-8', 'UTF-16le'] as const) {
    it(`a changed character in a ${encoding} table row is still missing from its index`, async () => {
      const { image } = buildDb({ pageSize: 1024, encoding }, (db) => {
        db.exec('CREATE TABLE t(x TEXT, y); CREATE INDEX tx ON t(x);');
        const ins = db.prepare('INSERT INTO t VALUES (?, ?)');
        db.transaction(() => {
          for (let i = 0; i < 60; i++) ins.run(`Ωmega-${String(i).padStart(3, '0')}`, i);
        })();
      });
      const img = image.slice();
      const p = leafOf(img, 't');
      const needle = Buffer.from('-002', encoding === 'UTF-8' ? 'utf8' : 'utf16le');
      const pos = Buffer.from(p).indexOf(needle);
      expect(pos).toBeGreaterThan(0);
      p[pos + needle.length - (encoding === 'UTF-8' ? 1 : 2)] = '9'.charCodeAt(0); // "-002" -> "-009"
      const path = writeTemp(img);
      const theirs = sqliteProblems(path);
      expect(theirs).toEqual(['row 3 missing from index tx', 'wrong # of entries in index tx'].slice(0, 1));
      expect(await checkWithStats(path)).toEqual({ problems: theirs, rechecked: ['t'] });
    });
  }
});

describe('MultisetHash (the constant-memory index check)', () => {
  const hashOf = (entries: SqlValue[][]): MultisetHash => {
    const h = new MultisetHash();
    for (const e of entries) h.add(e);
    return h;
  };
  const entries: SqlValue[][] = [
    ['abc', 1],
    [null, 2],
    [1.5, 3n],
    [new Uint8Array([1, 2, 3, 4, 5]), 4],
    ['', 5],
  ];

  it('is independent of order and equal for number and bigint integers', () => {
    const a = hashOf(entries);
    expect(a.equals(hashOf([...entries].reverse()))).toBe(true);
    expect(a.equals(hashOf(entries.map((e) => e.map((v) => (typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v)))))).toBe(true);
    const viaFields = new MultisetHash();
    for (const e of entries) viaFields.addFields([0, ...e], [1, 2]);
    expect(a.equals(viaFields)).toBe(true);
  });

  it('tells apart what the row check must report', () => {
    const a = hashOf(entries);
    const variants: SqlValue[][][] = [
      entries.slice(1), // an entry missing
      [...entries, ['abc', 1]], // one twice
      entries.map((e, i) => (i === 0 ? ['ABC', 1] : e)), // other letter case (NOCASE would match)
      entries.map((e, i) => (i === 0 ? ['abc', 1, 1] : e)), // not ending at the rowid
      entries.map((e, i) => (i === 0 ? ['abc\0', 1] : e)),
      entries.map((e, i) => (i === 3 ? [new Uint8Array([1, 2, 3, 4, 5, 0]), 4] : e)),
      entries.map((e, i) => (i === 1 ? [0, 2] : e)), // NULL vs 0
      entries.map((e, i) => (i === 2 ? [1.5000000000000002, 3] : e)),
      [...entries.slice(0, 4), ['', 6]], // another rowid
    ];
    for (const v of variants) expect(a.equals(hashOf(v)), JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x))).toBe(false);
  });
});
