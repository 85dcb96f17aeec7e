// Checks the fixture generator's own claims, with SQLite as the judge and plain byte reads
// (written here independently of fixtures/lib/format.mjs) for the file structures:
//   - every fixture opens in SQLite, or fails, exactly as the manifest records;
//   - the manifest's row counts are what the oracle exporter reads;
//   - payload-threshold rows really have the recorded sizes (SQLite's dbstat totals);
//   - WAL fixtures have frames past the checkpoint, stale salts, torn tails, bad checksums
//     where they claim to, and SQLite reads the recorded commit from them;
//   - hot journals are hot and SQLite rolls them back to the recorded state;
//   - the oracle (test/util/reference.ts) follows the export format to the byte, and never
//     changes a fixture;
//   - regeneration is deterministic for every database file.

import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GENERATOR_VERSION,
  ensureFixtures,
  fixturePath,
  fixturesDir,
  generateInto,
  manifestPath,
  readManifest,
  type FixtureEntry,
  type Manifest,
} from '../fixtures/index.mjs';
import { exportValue, referenceExport, referenceIntegrity, referenceTables, withOracle } from './util/reference.js';

const manifest: Manifest = readManifest();
const all = manifest.fixtures;
const byName = (name: string): FixtureEntry => {
  const f = all.find((e) => e.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
};
const sound = all.filter((f) => !f.corrupt);
const corrupt = all.filter((f) => f.corrupt);
const walFixtures = all.filter((f) => f.journalMode === 'wal' && f.walFacts);

function sha1(file: string): string {
  return createHash('sha1').update(fs.readFileSync(file)).digest('hex');
}

function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    const st = fs.statSync(p);
    if (st.isFile() && st.size < 64 * 1024 * 1024) out[name] = `${st.size}:${st.mtimeMs}:${sha1(p)}`;
    else out[name] = `${st.isFile() ? st.size : 'dir'}:${st.mtimeMs}`;
  }
  return out;
}

let tmp = '';
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-fixtures-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// Plain-byte readers (independent of the generator's lib/format.mjs).

const be32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const le32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

interface WalFrame {
  index: number;
  pgno: number;
  commit: number;
  saltMatches: boolean;
  checksumOk: boolean;
}

interface WalImage {
  magic: number;
  version: number;
  pageSize: number;
  ckptSeq: number;
  salt1: number;
  salt2: number;
  headerChecksumOk: boolean;
  frames: WalFrame[];
  /** Bytes after the last whole frame. */
  tail: number;
  /** Last commit frame of the run of valid frames from the start. */
  mxFrame: number;
}

function walChecksum(b: Uint8Array, off: number, len: number, bigEndian: boolean, s: [number, number]): [number, number] {
  let [s0, s1] = s;
  const rd = bigEndian ? be32 : le32;
  for (let i = off; i < off + len; i += 8) {
    s0 = (s0 + rd(b, i) + s1) >>> 0;
    s1 = (s1 + rd(b, i + 4) + s0) >>> 0;
  }
  return [s0, s1];
}

function readWal(b: Uint8Array): WalImage {
  const magic = be32(b, 0);
  const bigEndian = (magic & 1) === 1;
  const pageSize = be32(b, 8);
  const salt1 = be32(b, 16);
  const salt2 = be32(b, 20);
  let s = walChecksum(b, 0, 24, bigEndian, [0, 0]);
  const headerChecksumOk = s[0] === be32(b, 24) && s[1] === be32(b, 28);
  const frameSize = 24 + pageSize;
  const n = Math.floor((b.length - 32) / frameSize);
  const frames: WalFrame[] = [];
  let run = headerChecksumOk;
  let mxFrame = 0;
  for (let i = 0; i < n; i++) {
    const off = 32 + i * frameSize;
    const saltMatches = be32(b, off + 8) === salt1 && be32(b, off + 12) === salt2;
    // Each frame is judged against the checksum stored in the frame before it, so one damaged
    // frame shows up alone and the intact frames after it still check out.
    let c = walChecksum(b, off, 8, bigEndian, s);
    c = walChecksum(b, off + 24, pageSize, bigEndian, c);
    const checksumOk = c[0] === be32(b, off + 16) && c[1] === be32(b, off + 20);
    const f = { index: i + 1, pgno: be32(b, off), commit: be32(b, off + 4), saltMatches, checksumOk };
    frames.push(f);
    if (run && saltMatches && checksumOk && f.pgno !== 0) {
      if (f.commit !== 0) mxFrame = f.index;
    } else {
      run = false;
    }
    s = [be32(b, off + 16), be32(b, off + 20)];
  }
  return {
    magic,
    version: be32(b, 4),
    pageSize,
    ckptSeq: be32(b, 12),
    salt1,
    salt2,
    headerChecksumOk,
    frames,
    tail: b.length - 32 - n * frameSize,
    mxFrame,
  };
}

function lastCommit(db: Database.Database): number {
  return Number(db.prepare('SELECT max(n) FROM log').pluck().get());
}

/** What SQLite reads from the database file alone (its -wal left behind). */
function dbFileOnly<T>(file: string, fn: (db: Database.Database) => T): T {
  const dir = fs.mkdtempSync(path.join(tmp, 'dbonly-'));
  const copy = path.join(dir, 'x.db');
  fs.copyFileSync(file, copy);
  const db = new Database(copy);
  try {
    return fn(db);
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------

describe('manifest', () => {
  it('is current, complete and has unique names', () => {
    expect(manifest.generatorVersion).toBe(GENERATOR_VERSION);
    expect(new Set(all.map((f) => f.name)).size).toBe(all.length);
    for (const f of all) {
      expect(f.covers.length, f.name).toBeGreaterThan(0);
      expect(fs.existsSync(fixturePath(f)), f.name).toBe(true);
      if (f.walFile) expect(fs.existsSync(path.join(fixturesDir, f.walFile)), f.name).toBe(true);
      if (f.journalFile) expect(fs.existsSync(path.join(fixturesDir, f.journalFile)), f.name).toBe(true);
    }
  });

  it('covers what the test plan asks for', () => {
    const pageSizes = new Set(sound.map((f) => f.pageSize));
    for (const ps of [512, 1024, 4096, 65536]) expect(pageSizes.has(ps), `page size ${ps}`).toBe(true);
    expect(sound.some((f) => f.pageSize === 4096 && f.reserved === 32)).toBe(true);
    expect(sound.some((f) => f.pageSize === 4096 && f.reserved === 255)).toBe(true);
    for (const e of ['UTF-8', 'UTF-16le', 'UTF-16be']) expect(sound.some((f) => f.encoding === e), e).toBe(true);
    for (const a of ['full', 'incremental']) expect(sound.some((f) => f.autoVacuum === a), a).toBe(true);
    for (const ps of [1024, 4096]) {
      for (const kind of ['uncheckpointed', 'passive-checkpoint', 'restart-stale', 'torn-last-frame', 'bad-checksum']) {
        expect(walFixtures.some((f) => f.name === `wal-${kind}-${ps}`), `${kind} ${ps}`).toBe(true);
      }
    }
    expect(all.some((f) => f.journalFile && f.journalHeader)).toBe(true);
    const kinds = new Set(corrupt.map((f) => f.corrupt?.kind));
    for (const k of ['zeroed-page', 'truncated', 'bad-cell-pointer', 'overflow-cycle', 'freelist-cycle', 'wrong-page-type', 'bad-magic', 'bad-page-size']) {
      expect(kinds.has(k), k).toBe(true);
    }
    expect(byName('example').file).toBe('example.db');
  });

  it('ensureFixtures() is a no-op when current', () => {
    const before = fs.statSync(manifestPath).mtimeMs;
    const m = ensureFixtures();
    expect(m.generatorVersion).toBe(GENERATOR_VERSION);
    expect(m.fixtures.map((f) => f.name)).toEqual(all.map((f) => f.name));
    expect(fs.statSync(manifestPath).mtimeMs).toBe(before);
  });
});

describe('every fixture, as SQLite reads it', () => {
  it.each(all.map((f) => [f.name, f] as const))('%s: integrity as recorded', (_name, f) => {
    const expected = [...f.integrity, ...(f.error ? [`${f.error.code}: ${f.error.message}`] : [])];
    expect(referenceIntegrity(fixturePath(f))).toEqual(expected);
    if (f.corrupt) expect(expected).not.toEqual(['ok']);
    else expect(expected).toEqual(['ok']);
  });

  it.each(sound.map((f) => [f.name, f] as const))('%s: tables and row counts as recorded', (_name, f) => {
    const file = fixturePath(f);
    const tables = referenceTables(file);
    expect(tables).toEqual(Object.keys(f.tables ?? {}));
    for (const t of tables) {
      const text = referenceExport(file, t);
      const lines = text === '' ? [] : text.slice(0, -1).split('\n');
      expect(text === '' || text.endsWith('\n'), t).toBe(true);
      expect(lines.length, `${f.name} ${t}`).toBe(f.tables?.[t]);
      for (const line of lines.slice(0, 50)) expect(Array.isArray(JSON.parse(line))).toBe(true);
    }
  });

  it.each(sound.filter((f) => f.pageSize !== null).map((f) => [f.name, f] as const))(
    '%s: header facts agree with SQLite',
    (_name, f) => {
      withOracle(fixturePath(f), (db) => {
        expect(db.pragma('page_size', { simple: true })).toBe(f.pageSize);
        expect(db.pragma('encoding', { simple: true })).toBe(f.encoding);
        expect(db.pragma('auto_vacuum', { simple: true })).toBe({ none: 0, full: 1, incremental: 2 }[f.autoVacuum ?? 'none']);
        if (!f.walFile && !f.journalFile) expect(db.pragma('page_count', { simple: true })).toBe(f.pageCount);
      });
    },
  );
});

describe('page sizes, reserved bytes and payload thresholds', () => {
  it('reserved bytes are what the sqlite3 CLI reports', () => {
    for (const f of sound.filter((e) => e.reserved)) {
      const out = execFileSync('sqlite3', ['-readonly', fixturePath(f), '.filectrl reserve_bytes'], { encoding: 'utf8' });
      expect(Number(out.trim()), f.name).toBe(f.reserved);
    }
  });

  const withPayload = sound.filter((f) => f.payload);
  it('every page-size fixture has payload rows', () => {
    expect(withPayload.length).toBeGreaterThanOrEqual(7);
  });

  it.each(withPayload.map((f) => [f.name, f] as const))('%s: dbstat confirms record sizes and overflow', (_name, f) => {
    const p = f.payload!;
    const U = (f.pageSize ?? 0) - (f.reserved ?? 0);
    // The thresholds as the task states them.
    expect(p.limits.tableMaxLocal).toBe(U - 35);
    expect(p.limits.tableMinLocal).toBe(Math.floor(((U - 12) * 32) / 255) - 23);
    expect(p.limits.indexMaxLocal).toBe(Math.floor(((U - 12) * 64) / 255) - 23);
    for (const bt of ['payload', 'ipay_bp', 'wpay']) {
      const rows = p.rows.filter((r) => r.btree === bt);
      const X = bt === 'payload' ? p.limits.tableMaxLocal : p.limits.indexMaxLocal;
      const M = p.limits.tableMinLocal;
      const sizes = new Set(rows.map((r) => r.recordSize));
      for (const s of [X - 1, X, X + 1, M - 1, M, M + 1]) expect(sizes.has(s), `${bt} record size ${s}`).toBe(true);
      const chains = new Set(rows.map((r) => r.overflowPages));
      expect(chains.has(1) && chains.has(2) && [...chains].some((c) => c >= 5), bt).toBe(true);
      const stat = withOracle(fixturePath(f), (db) =>
        db.prepare('SELECT pagetype, ncell, payload FROM dbstat WHERE name = ?').all(bt) as { pagetype: string; ncell: number; payload: number }[],
      );
      // Table b-trees keep payload only in leaf cells; index b-trees in every cell.
      const cellPages = stat.filter((s) => (bt === 'payload' ? s.pagetype === 'leaf' : s.pagetype !== 'overflow'));
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      expect(sum(cellPages.map((s) => s.ncell)), `${bt} cells`).toBe(rows.length);
      expect(sum(cellPages.map((s) => s.payload)), `${bt} local bytes`).toBe(sum(rows.map((r) => r.local)));
      const overflow = stat.filter((s) => s.pagetype === 'overflow');
      expect(overflow.length, `${bt} overflow pages`).toBe(sum(rows.map((r) => r.overflowPages)));
      expect(sum(cellPages.map((s) => s.payload)) + sum(overflow.map((s) => s.payload)), `${bt} payload`).toBe(
        sum(rows.map((r) => r.recordSize)),
      );
    }
  });
});

describe('WAL fixtures', () => {
  it.each(walFixtures.map((f) => [f.name, f] as const))('%s: the -wal file is what the manifest says', (_name, f) => {
    const file = fixturePath(f);
    const walBytes = new Uint8Array(fs.readFileSync(path.join(fixturesDir, f.walFile!)));
    const facts = f.walFacts!;
    const want = f.expect!;
    // What SQLite reads through the WAL, and from the db file alone.
    expect(withOracle(file, lastCommit)).toBe(want.lastCommit);
    expect(dbFileOnly(file, lastCommit)).toBe(want.dbFileLastCommit);
    const dbHeader = fs.readFileSync(file).subarray(0, 100);
    expect([dbHeader[18], dbHeader[19]]).toEqual([2, 2]);
    if (f.name.startsWith('wal-empty')) {
      expect(walBytes.length).toBe(0);
      return;
    }
    const w = readWal(walBytes);
    expect(w.magic === 0x377f0682 || w.magic === 0x377f0683).toBe(true);
    expect(w.version).toBe(3007000);
    expect(w.pageSize).toBe(f.pageSize);
    expect(w.headerChecksumOk).toBe(true);
    expect(w.frames.length).toBe(facts.frames);
    expect(w.mxFrame).toBe(facts.mxFrame);
    expect(w.mxFrame).toBeGreaterThan(0);
    const after = w.frames.filter((fr) => fr.index > w.mxFrame);
    const kind = f.name.replace(/^wal-/, '').replace(/-\d+$/, '');
    switch (kind) {
      case 'uncheckpointed':
        expect(after.length).toBe(0);
        expect(w.tail).toBe(0);
        expect(want.dbFileLastCommit).toBeLessThan(want.lastCommit!);
        break;
      case 'passive-checkpoint':
        // Frames beyond the backfilled ones, all with the header's salts (no reset).
        expect(f.checkpoint!.checkpointed).toBeGreaterThan(0);
        expect(w.mxFrame).toBeGreaterThan(f.checkpoint!.checkpointed);
        expect(w.frames.every((fr) => fr.saltMatches)).toBe(true);
        expect(want.dbFileLastCommit).toBeGreaterThan(0);
        expect(want.dbFileLastCommit).toBeLessThan(want.lastCommit!);
        break;
      case 'restart-stale':
        expect(w.ckptSeq).toBeGreaterThan(0);
        expect(after.length).toBeGreaterThan(0);
        expect(after.every((fr) => !fr.saltMatches)).toBe(true);
        expect(w.frames.slice(0, w.mxFrame).every((fr) => fr.saltMatches)).toBe(true);
        break;
      case 'torn-last-frame':
        expect(w.tail).toBeGreaterThan(0);
        expect(w.tail).toBeLessThan(24 + w.pageSize);
        // The torn frame was the last commit's commit frame: its earlier frames are orphaned.
        expect(after.every((fr) => fr.commit === 0)).toBe(true);
        expect(want.lastCommit).toBe(want.dbFileLastCommit! + (facts.commitFrames?.length ?? 0));
        break;
      case 'bad-checksum': {
        const bad = w.frames[f.badFrame! - 1];
        const [first, last] = f.badTransactionFrames!;
        expect(bad.saltMatches).toBe(true);
        expect(bad.checksumOk).toBe(false);
        expect(bad.commit).toBe(0); // in the middle of a transaction
        expect(first).toBeLessThan(f.badFrame!);
        expect(last).toBeGreaterThan(f.badFrame!);
        expect(w.mxFrame).toBe(first - 1);
        // Exactly one damaged frame: the ones after it are intact, but readers stop at it.
        expect(w.frames.filter((fr) => !fr.checksumOk).map((fr) => fr.index)).toEqual([f.badFrame]);
        // Valid-looking frames (right salts) follow the bad one, including a commit frame.
        expect(after.filter((fr) => fr.index > f.badFrame! && fr.saltMatches && fr.commit !== 0).length).toBeGreaterThan(0);
        break;
      }
      default:
        throw new Error(`unexpected WAL fixture ${f.name}`);
    }
  });
});

describe('rollback journals', () => {
  const hot = all.filter((f) => f.journalHeader);
  it.each(hot.map((f) => [f.name, f] as const))('%s: hot, with pages spilled, rolls back to the recorded state', (_name, f) => {
    const file = fixturePath(f);
    const j = fs.readFileSync(path.join(fixturesDir, f.journalFile!));
    expect(j.subarray(0, 8).toString('hex')).toBe('d9d505f920a163d7');
    expect(be32(j, 24)).toBe(f.pageSize);
    expect(be32(j, 16)).toBe(f.preTransactionPages);
    // The db file grew past its pre-transaction size: the spill reached it.
    expect(fs.statSync(file).size).toBeGreaterThan(f.preTransactionPages! * f.pageSize!);
    const seen = withOracle(file, (db) =>
      db.prepare('SELECT count(*), sum(a), max(a) FROM t').raw(true).get() as number[],
    );
    expect(seen).toEqual([f.expect!.rows, f.expect!.sumA, f.expect!.maxA]);
    expect(referenceIntegrity(file)).toEqual(['ok']);
  });

  it('inactive journals: PERSIST has a zeroed header, TRUNCATE is empty', () => {
    const p = fs.readFileSync(path.join(fixturesDir, byName('journal-persist-inactive').journalFile!));
    expect(p.length).toBeGreaterThan(28);
    expect(p.subarray(0, 28).every((b) => b === 0)).toBe(true);
    expect(fs.statSync(path.join(fixturesDir, byName('journal-truncate-inactive').journalFile!)).size).toBe(0);
  });
});

describe('freelist, auto-vacuum, encodings, schema', () => {
  it('freelist-heavy has several trunk pages and the freelist SQLite counts', () => {
    const f = byName('freelist-heavy');
    const b = fs.readFileSync(fixturePath(f));
    const ps = f.pageSize!;
    const trunks: number[] = [];
    let leaves = 0;
    for (let p = be32(b, 32); p !== 0 && trunks.length <= b.length / ps; p = be32(b, (p - 1) * ps)) {
      trunks.push(p);
      leaves += be32(b, (p - 1) * ps + 4);
    }
    expect(trunks.length).toBeGreaterThanOrEqual(3);
    expect(new Set(trunks).size).toBe(trunks.length);
    expect(trunks.length + leaves).toBe(be32(b, 36));
    expect(withOracle(fixturePath(f), (db) => db.pragma('freelist_count', { simple: true }))).toBe(be32(b, 36));
  });

  it('incremental auto-vacuum left free pages; full auto-vacuum left none', () => {
    expect(withOracle(fixturePath('autovacuum-incremental-1024'), (db) => db.pragma('freelist_count', { simple: true }))).toBeGreaterThan(0);
    expect(byName('autovacuum-incremental-1024').incrementalVacuumed).toBeGreaterThan(0);
    expect(withOracle(fixturePath('autovacuum-full-1024'), (db) => db.pragma('freelist_count', { simple: true }))).toBe(0);
    expect(byName('autovacuum-full-1024').ptrmapPages).toBeGreaterThanOrEqual(2);
  });

  it('the three encodings hold the same texts, including NUL and astral characters', () => {
    const texts = ['UTF-8', 'UTF-16le', 'UTF-16be'].map((e) => referenceExport(fixturePath(`encoding-${e.toLowerCase()}`), 'texts'));
    expect(texts[1]).toBe(texts[0]);
    expect(texts[2]).toBe(texts[0]);
    for (const s of ['nul\u0000inside', '😀 emoji', '𝄞 musical symbol G clef', 'e\u0301 (e + combining acute)', '']) {
      expect(texts[0]).toContain(JSON.stringify(s));
    }
  });

  it('schema-many has 50+ tables, odd names, sqlite_sequence and sqlite_stat1, and skips the virtual table', () => {
    const f = byName('schema-many');
    const tables = Object.keys(f.tables!);
    expect(tables.length).toBeGreaterThanOrEqual(50);
    for (const t of ['sqlite_sequence', 'sqlite_stat1', 'odd "quoted" name', 'select', 'rowid_named', 'oid_named', 'fts_data']) {
      expect(tables, t).toContain(t);
    }
    expect(tables).not.toContain('fts');
    const objs = withOracle(fixturePath(f), (db) => db.prepare('SELECT type, count(*) AS n FROM sqlite_schema GROUP BY type').all()) as { type: string; n: number }[];
    const n = Object.fromEntries(objs.map((o) => [o.type, o.n]));
    expect(n.view).toBeGreaterThanOrEqual(10);
    expect(n.trigger).toBeGreaterThanOrEqual(4);
    expect(n.index).toBeGreaterThanOrEqual(30);
  });

  it('alter-defaults has rows shorter than the schema that read as the defaults', () => {
    const file = fixturePath('alter-defaults');
    const first = JSON.parse(referenceExport(file, 't').split('\n')[0]) as unknown[];
    // Row 1 predates every ALTER: columns from c_int on are defaults (see gen/basic.mjs).
    expect(first.slice(3)).toEqual([
      42, -7, 3.25, -0.5, "it's", { blob: 'deadbeef' }, null, 1, 0, '12', 34, 5, 6, 100, 'abc', { blob: '41' }, 31, 5,
      '9223372036854775807', '-9223372036854775808', 'Infinity', 'nn', 'Mixed', null, '', '😀é',
    ]);
  });
});

describe('reference exporter format', () => {
  function makeDb(name: string, sql: string, fill?: (db: Database.Database) => void): string {
    const file = path.join(tmp, name);
    const db = new Database(file);
    db.exec(sql);
    fill?.(db);
    db.close();
    return file;
  }

  it('writes every storage class exactly', () => {
    const file = makeDb('values.db', 'CREATE TABLE t(a)', (db) => {
      const ins = db.prepare('INSERT INTO t(rowid, a) VALUES (?, ?)');
      ins.run(1n, null);
      ins.run(2n, 9007199254740991n);
      ins.run(3n, 9007199254740992n);
      ins.run(4n, -9007199254740991n);
      ins.run(5n, -9007199254740992n);
      ins.run(6n, -9223372036854775808n);
      ins.run(7n, -0.0);
      ins.run(8n, 1.5);
      ins.run(9n, 1e308);
      ins.run(10n, 5e-324);
      ins.run(11n, 'a\u0000b"😀\n');
      ins.run(12n, Buffer.from([0x00, 0xab, 0xff]));
      ins.run(13n, Buffer.alloc(0));
      ins.run(14n, '');
      ins.run(15n, 3.0);
      ins.run(-9223372036854775808n, 0n);
      db.exec('INSERT INTO t(rowid, a) VALUES (16, 9e999), (17, -9e999)');
    });
    expect(referenceExport(file, 't')).toBe(
      [
        '["-9223372036854775808",0]',
        '[1,null]',
        '[2,9007199254740991]',
        '[3,"9007199254740992"]',
        '[4,-9007199254740991]',
        '[5,"-9007199254740992"]',
        '[6,"-9223372036854775808"]',
        '[7,0]',
        '[8,1.5]',
        '[9,1e+308]',
        '[10,5e-324]',
        '[11,"a\\u0000b\\"😀\\n"]',
        '[12,{"blob":"00abff"}]',
        '[13,{"blob":""}]',
        '[14,""]',
        '[15,3]',
        '[16,"Infinity"]',
        '[17,"-Infinity"]',
      ].join('\n') + '\n',
    );
  });

  it('leads with the rowid through an unshadowed alias, and shows an INTEGER PRIMARY KEY as the rowid', () => {
    const file = makeDb(
      'rowid.db',
      `CREATE TABLE a(rowid TEXT, v);
       CREATE TABLE b(rowid, _rowid_, v);
       CREATE TABLE c(id INTEGER PRIMARY KEY, v);
       CREATE TABLE d(rowid, _rowid_, oid);
       INSERT INTO a(_rowid_, rowid, v) VALUES (5, 'x', 1), (2, 'y', 2);
       INSERT INTO b(oid, rowid, _rowid_, v) VALUES (9, 'p', 'q', 3);
       INSERT INTO c(id, v) VALUES (-4, 'neg'), (7, 'pos');
       INSERT INTO d VALUES (1, 2, 3);`,
    );
    expect(referenceExport(file, 'a')).toBe('[2,"y",2]\n[5,"x",1]\n');
    expect(referenceExport(file, 'b')).toBe('[9,"p","q",3]\n');
    expect(referenceExport(file, 'c')).toBe('[-4,-4,"neg"]\n[7,7,"pos"]\n');
    expect(() => referenceExport(file, 'd')).toThrow(/unreachable/);
  });

  it('orders WITHOUT ROWID tables by key with collations and DESC, without a rowid', () => {
    const file = makeDb(
      'wr.db',
      `CREATE TABLE w(a TEXT COLLATE NOCASE, b INTEGER, c, PRIMARY KEY(a DESC, b)) WITHOUT ROWID;
       CREATE INDEX w_c ON w(c);
       INSERT INTO w VALUES ('b', 2, 'z'), ('A', 1, 'y'), ('C', 1, 'x'), ('b', 1, 'w');`,
    );
    expect(referenceExport(file, 'w')).toBe('["C",1,"x"]\n["b",1,"w"]\n["b",2,"z"]\n["A",1,"y"]\n');
  });

  it('omits VIRTUAL generated columns and keeps STORED ones in declaration order', () => {
    const file = makeDb(
      'gen.db',
      `CREATE TABLE g(a INTEGER, v AS (a * 2) VIRTUAL, s AS (a + 1) STORED, z TEXT);
       INSERT INTO g(a, z) VALUES (10, 'q');`,
    );
    expect(referenceExport(file, 'g')).toBe('[1,10,11,"q"]\n');
  });

  it('shows DEFAULTs for columns added after a row was written', () => {
    const file = makeDb(
      'alter.db',
      `CREATE TABLE t(a);
       INSERT INTO t VALUES (1);
       ALTER TABLE t ADD COLUMN b TEXT DEFAULT 12;
       ALTER TABLE t ADD COLUMN c REAL DEFAULT 2;
       ALTER TABLE t ADD COLUMN d DEFAULT x'0f';`,
    );
    expect(referenceExport(file, 't')).toBe('[1,1,"12",2,{"blob":"0f"}]\n');
  });

  it('exportValue rejects what SQLite cannot return', () => {
    expect(() => exportValue(NaN)).toThrow();
    expect(() => exportValue({})).toThrow();
    expect(exportValue(-0)).toBe('0');
  });

  it('lists tables without views and virtual tables, and reports integrity errors as a last row', () => {
    const file = makeDb(
      'list.db',
      `CREATE TABLE x(a); CREATE VIEW vx AS SELECT a FROM x; CREATE VIRTUAL TABLE f USING fts5(t);
       CREATE TABLE y(b INTEGER PRIMARY KEY AUTOINCREMENT); INSERT INTO y DEFAULT VALUES;`,
    );
    expect(referenceTables(file)).toEqual(['x', 'f_data', 'f_idx', 'f_content', 'f_docsize', 'f_config', 'y', 'sqlite_sequence']);
    expect(referenceIntegrity(file)).toEqual(['ok']);
    const junk = path.join(tmp, 'junk.db');
    fs.writeFileSync(junk, Buffer.alloc(4096, 0x41));
    expect(referenceIntegrity(junk)).toEqual(['SQLITE_NOTADB: file is not a database']);
  });

  it('looks at WAL and journal databases through a copy, leaving nothing beside them', () => {
    const file = path.join(tmp, 'live.db');
    const db = new Database(file);
    db.pragma('journal_mode=WAL');
    db.pragma('wal_autocheckpoint=0');
    db.exec('CREATE TABLE t(a); INSERT INTO t VALUES (1), (2);');
    const copy = path.join(tmp, 'walcopy.db');
    fs.copyFileSync(file, copy);
    fs.copyFileSync(file + '-wal', copy + '-wal');
    db.close();
    const before = snapshotDir(tmp);
    expect(referenceExport(copy, 't')).toBe('[1,1]\n[2,2]\n');
    expect(referenceIntegrity(copy)).toEqual(['ok']);
    expect(snapshotDir(tmp)).toEqual(before);
    expect(fs.existsSync(copy + '-shm')).toBe(false);
  });
});

describe('the oracle leaves fixtures untouched', () => {
  it('no file in fixtures/out changes or appears while every fixture is read', () => {
    const before = snapshotDir(fixturesDir);
    for (const f of all) {
      const file = fixturePath(f);
      referenceIntegrity(file);
      if (f.tables) for (const t of referenceTables(file)) referenceExport(file, t);
    }
    expect(snapshotDir(fixturesDir)).toEqual(before);
  });
});

describe('determinism', () => {
  it('regenerating writes byte-identical database files', () => {
    const dir = path.join(tmp, 'regen');
    fs.mkdirSync(dir);
    const m = generateInto(dir, { log: () => {} });
    expect(m.fixtures.map((f) => f.name)).toEqual(all.map((f) => f.name));
    expect(m.big).toBeNull();
    for (const f of m.fixtures) {
      // WAL salts and journal nonces come from SQLite's own randomness: only the db files
      // are expected to match.
      expect(sha1(path.join(dir, f.file)), f.name).toBe(sha1(fixturePath(f)));
      const old = byName(f.name);
      expect(f.tables, f.name).toEqual(old.tables);
      expect(f.integrity, f.name).toEqual(old.integrity);
    }
  });
});

describe.skipIf(process.env.QUIRE_BIG !== '1')('big fixture (QUIRE_BIG=1)', () => {
  it('crosses the lock-byte page and is sound', () => {
    const f = manifest.big;
    expect(f).not.toBeNull();
    expect(all.some((e) => e.big)).toBe(false);
    const file = fixturePath(f!);
    expect(fs.statSync(file).size).toBeGreaterThan(2 ** 30 + 4096);
    expect(f!.pageCount!).toBeGreaterThan(f!.lockBytePage!);
    withOracle(file, (db) => {
      expect(db.pragma('quick_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT count(*) FROM bulk').pluck().get()).toBe(1100);
      expect(db.prepare("SELECT id FROM bulk WHERE substr(b, 1, 13) = CAST('row 00001099 ' AS BLOB)").pluck().get()).toBe(1099);
    });
  });
});
