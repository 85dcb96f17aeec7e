// The timed scenarios (scan, open, copy; the write scenarios come from write.mjs): for each,
// the groups it measures (one dataset each) and the competitors in a group. A competitor is
//
//   { id, label, setup?(), run(), cleanup?(), check?(warmup result) → string | null,
//     teardown?(), checkLast?, separate?, throughput?, resetStats?(), stats?() }
//
// `run` is the timed operation; `setup` and `teardown` bracket all of a competitor's runs
// (opening a connection, loading sql.js); `cleanup` runs between benchmark cycles (deleting
// copies); `check` validates the warm-up run against the dataset's expectations (an
// expected checksum computed by the generator, SQLite's quick_check of a copy) and returns
// an error message or null. The live-copy scenario has its own runner (live.mjs).
//
// Every scenario runs in its own child process (child.mjs), and the peak RSS of a
// competitor is measured in a further child that only does its setup and one run.
import { execFile, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { backupFile, openDatabase } from '../../dist/node.js';
import { OUT_DIR } from './data.mjs';
import { loadSqlJs } from './sqljs.mjs';
import { WHOLE_SCENARIOS } from './whole.mjs';
import { WRITE_SCENARIOS } from './write.mjs';

export { loadSqlJs };

const execFileP = promisify(execFile);

// ------------------------------------------------------------------------------- scan

function newAcc() {
  return { rows: 0, sumId: 0, sumTextLen: 0, sumBlobLen: 0, sumReal: 0 };
}

function checkAcc(acc, expect) {
  if (!acc) return 'no result';
  for (const k of Object.keys(expect)) {
    if (acc[k] !== expect[k]) return `scan checksum ${k} = ${acc[k]}, generator says ${expect[k]}`;
  }
  return null;
}

function scanCompetitors(ds) {
  const p = ds.path;
  let last = null;
  const check = () => checkAcc(last, ds.expect);
  let qdb = null;
  let bdb = null;
  let stmt = null;
  let rawDb = null;
  let rawStmt = null;
  let SQL = null;
  let sdb = null;
  return [
    {
      id: 'quire',
      label: 'quire: for await (row of db.rows("t"))',
      async setup() {
        qdb = await openDatabase(p);
      },
      async run() {
        const acc = newAcc();
        for await (const r of qdb.rows('t')) {
          // r = [rowid, id, a, b, c] (id is the rowid alias)
          acc.rows++;
          acc.sumId += r[1];
          acc.sumTextLen += r[2].length;
          acc.sumBlobLen += r[3].length;
          acc.sumReal += r[4];
        }
        last = acc;
      },
      check,
      async teardown() {
        await qdb.close();
      },
    },
    {
      id: 'bsqlite',
      label: 'better-sqlite3: stmt.iterate() (row objects)',
      setup() {
        bdb = new Database(p, { readonly: true, fileMustExist: true });
        stmt = bdb.prepare('SELECT id, a, b, c FROM t');
      },
      run() {
        const acc = newAcc();
        for (const r of stmt.iterate()) {
          acc.rows++;
          acc.sumId += r.id;
          acc.sumTextLen += r.a.length;
          acc.sumBlobLen += r.b.length;
          acc.sumReal += r.c;
        }
        last = acc;
      },
      check,
      teardown() {
        bdb.close();
      },
    },
    {
      id: 'bsqlite-raw',
      label: 'better-sqlite3: stmt.raw().iterate() (row arrays)',
      setup() {
        rawDb = new Database(p, { readonly: true, fileMustExist: true });
        rawStmt = rawDb.prepare('SELECT id, a, b, c FROM t').raw(true);
      },
      run() {
        const acc = newAcc();
        for (const r of rawStmt.iterate()) {
          acc.rows++;
          acc.sumId += r[0];
          acc.sumTextLen += r[1].length;
          acc.sumBlobLen += r[2].length;
          acc.sumReal += r[3];
        }
        last = acc;
      },
      check,
      teardown() {
        rawDb.close();
      },
    },
    {
      id: 'sqljs',
      label: 'sql.js: prepare + step()/get() loop (file already in memory)',
      async setup() {
        SQL = await loadSqlJs();
        sdb = new SQL.Database(readFileSync(p));
      },
      run() {
        const acc = newAcc();
        const st = sdb.prepare('SELECT id, a, b, c FROM t');
        try {
          while (st.step()) {
            const r = st.get();
            acc.rows++;
            acc.sumId += r[0];
            acc.sumTextLen += r[1].length;
            acc.sumBlobLen += r[2].length;
            acc.sumReal += r[3];
          }
        } finally {
          st.free();
        }
        last = acc;
      },
      check,
      teardown() {
        sdb.close();
      },
    },
    {
      id: 'sqljs-load',
      label: 'sql.js: load the file (readFileSync + new SQL.Database)',
      separate: true, // a cost sql.js pays before any scan: reported beside, not compared alone
      throughput: 'bytes',
      async setup() {
        SQL = await loadSqlJs();
      },
      run() {
        const db = new SQL.Database(readFileSync(p));
        db.close();
      },
    },
  ];
}

// ------------------------------------------------------------------------------- open

function openCompetitors(ds) {
  const p = ds.path;
  let SQL = null;
  let lastNames = null;
  const check = () => (lastNames && lastNames.includes('t') ? null : `schema read ${JSON.stringify(lastNames)}, expected table t`);
  return [
    {
      id: 'quire',
      label: 'quire: openDatabase + db.schema() + close',
      async run() {
        const db = await openDatabase(p);
        try {
          const cat = await db.schema();
          lastNames = [...cat.tables.values()].map((t) => t.name);
        } finally {
          await db.close();
        }
      },
      check,
    },
    {
      id: 'bsqlite',
      label: 'better-sqlite3: new Database + SELECT sqlite_schema + close',
      run() {
        const db = new Database(p, { readonly: true, fileMustExist: true });
        try {
          lastNames = db.prepare('SELECT type, name, sql FROM sqlite_schema').all().map((r) => r.name);
        } finally {
          db.close();
        }
      },
      check,
    },
    {
      id: 'sqljs',
      label: 'sql.js: readFileSync + new SQL.Database + SELECT sqlite_schema',
      async setup() {
        SQL = await loadSqlJs();
      },
      run() {
        const db = new SQL.Database(readFileSync(p));
        try {
          const r = db.exec('SELECT type, name, sql FROM sqlite_schema');
          lastNames = r[0].values.map((v) => v[1]);
        } finally {
          db.close();
        }
      },
      check,
    },
  ];
}

// ------------------------------------------------------------------------------- copy

/** Copies land in bench/out/work/<tag>/ and are deleted between cycles. */
function copyTargets(tag) {
  const dir = path.join(OUT_DIR, 'work', `${tag}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  let seq = 0;
  return {
    next: () => path.join(dir, `copy-${seq++}.db`),
    clear() {
      for (const f of readdirSync(dir)) rmSync(path.join(dir, f), { force: true });
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** SQLite's verdict on a copy: quick_check, page count, row count of t. */
export function checkCopyWithSqlite(file, ds) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const qc = db.pragma('quick_check', { simple: true });
    if (qc !== 'ok') return `copy fails quick_check: ${qc}`;
    const pc = db.pragma('page_count', { simple: true });
    if (pc !== ds.pageCount) return `copy has ${pc} pages, source ${ds.pageCount}`;
    const n = db.prepare('SELECT count(*) FROM t').pluck().get();
    if (n !== ds.rows) return `copy has ${n} rows, source ${ds.rows}`;
    return null;
  } finally {
    db.close();
  }
}

let settleSync = true;
/** --verify: settle() reads the file through but does not sync (nothing is timed). */
export function settleWithoutSync() {
  settleSync = false;
}

/**
 * Puts the file system in the same state before every timed copy: earlier copies' dirty
 * pages written back (syncfs), and the source read through so it sits in the page cache.
 * Without this a copy pays for the previous competitor's writeback, and on a machine with a
 * small page cache for a source evicted by the previous copies.
 */
export function settle(src) {
  // Written back first, so a timed copy does not pay for earlier writes (nothing is timed in
  // --verify: no sync there, where the test suite's other files keep the disk busy). Bounded:
  // a sync that takes minutes would only hang the run.
  if (settleSync) spawnSync('sync', ['-f', src], { timeout: 60_000 });
  const fd = openSync(src, 'r');
  try {
    const buf = new Uint8Array(4 << 20);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}

function copyCompetitors(ds, tag) {
  const src = ds.path;
  const mk = (id, label, run, verify) => {
    const t = copyTargets(`${tag}-${id}`);
    let last = null;
    return {
      id,
      label,
      async run() {
        last = t.next();
        await run(last);
      },
      cleanup: () => {
        t.clear();
        settle(src);
      },
      check: () => (last ? verify(last) : 'no copy made'),
      checkLast: false, // the copy is deleted between cycles: only the warm-up copy is checked
      teardown: () => t.remove(),
    };
  };
  const sqliteVerify = (f) => checkCopyWithSqlite(f, ds);
  const sizeVerify = (f) => (statSync(f).size === ds.bytes ? null : `copy has ${statSync(f).size} bytes, source ${ds.bytes}`);
  return [
    mk('quire', 'quire: backupFile(src, dst)', (dst) => backupFile(src, dst), sqliteVerify),
    mk(
      'bsqlite',
      'better-sqlite3: db.backup(dst) (default: 100 pages/step)',
      async (dst) => {
        const db = new Database(src, { readonly: true, fileMustExist: true });
        try {
          await db.backup(dst);
        } finally {
          db.close();
        }
      },
      sqliteVerify,
    ),
    mk(
      'bsqlite-all',
      'better-sqlite3: db.backup(dst, all pages in one step)',
      async (dst) => {
        const db = new Database(src, { readonly: true, fileMustExist: true });
        try {
          await db.backup(dst, { progress: () => 0x7fffffff });
        } finally {
          db.close();
        }
      },
      sqliteVerify,
    ),
    mk('cp', 'cp src dst (child process)', (dst) => execFileP('cp', [src, dst]), sizeVerify),
    mk(
      'cp-sync',
      'cp src dst && sync dst (durable, as quire and SQLite are)',
      async (dst) => {
        await execFileP('cp', [src, dst]);
        await execFileP('sync', [dst]);
      },
      sizeVerify,
    ),
    mk('copyFileSync', 'fs.copyFileSync(src, dst)', (dst) => copyFileSync(src, dst), sizeVerify),
    mk(
      'copyFileSync-fsync',
      'fs.copyFileSync + fsync(dst)',
      (dst) => {
        copyFileSync(src, dst);
        const fd = openSync(dst, 'r+');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      },
      sizeVerify,
    ),
  ];
}

// ------------------------------------------------------------------------------- table

/**
 * The scenarios. `groups(cfg)` lists { id, label, dataset, competitors(), ratios, rss } where
 * ratios are [numeratorId, denominatorId, goal?] and goal = { max } means ratio ≤ max.
 */
export const SCENARIOS = {
  scan: {
    title: 'Full scan of the 1M-row table (touch every value: sum ids, string/blob lengths, reals)',
    sampling: (cfg) => (cfg.quick ? { rounds: 3, minSamples: 1, maxTime: 0 } : { rounds: 5, minSamples: 1, maxTime: 0 }),
    groups: (cfg) => [
      {
        id: 'table',
        label: `t, ${cfg.datasets.scan.rows.toLocaleString('en-US')} rows`,
        dataset: cfg.datasets.scan,
        competitors: () => scanCompetitors(cfg.datasets.scan),
        rss: ['quire', 'bsqlite', 'bsqlite-raw', 'sqljs'],
        ratios: [
          ['quire', 'bsqlite', { max: 1.0, text: 'quire ≤ 1.0× better-sqlite3' }],
          ['quire', 'bsqlite-raw'],
          ['quire', 'sqljs'],
          ['quire', ['sqljs-load', 'sqljs']],
        ],
      },
    ],
  },
  open: {
    title: 'Open the database and read its schema (open time should not grow with file size)',
    sampling: (cfg) => (cfg.quick ? { rounds: 3, minSamples: 1, maxTime: 0.05 } : { rounds: 5, minSamples: 3, maxTime: 0.3 }),
    groups: (cfg) => [
      {
        id: 'small',
        label: `small file (${cfg.datasets.small.rows.toLocaleString('en-US')} rows)`,
        dataset: cfg.datasets.small,
        competitors: () => openCompetitors(cfg.datasets.small),
        rss: [],
        ratios: [['quire', 'bsqlite'], ['quire', 'sqljs']],
      },
      {
        id: 'large',
        label: `large file (${cfg.datasets.scan.rows.toLocaleString('en-US')} rows)`,
        dataset: cfg.datasets.scan,
        competitors: () => openCompetitors(cfg.datasets.scan),
        rss: [],
        ratios: [['quire', 'bsqlite'], ['quire', 'sqljs']],
      },
    ],
    cross: [
      { kind: 'time', a: ['large', 'quire'], b: ['small', 'quire'], text: 'quire open time, large / small file (≈1: independent of size)' },
      { kind: 'time', a: ['large', 'bsqlite'], b: ['small', 'bsqlite'], text: 'better-sqlite3 open time, large / small file' },
    ],
  },
  copy: {
    title: 'Copy an idle database file',
    sampling: (cfg) => (cfg.quick ? { rounds: 3, minSamples: 1, maxTime: 0 } : { rounds: 5, minSamples: 1, maxTime: 0 }),
    groups: (cfg) => {
      const g = (id, ds) => ({
        id,
        label: `${(ds.bytes / 1e6).toFixed(0)} MB file (${ds.rows.toLocaleString('en-US')} rows)`,
        dataset: ds,
        competitors: () => copyCompetitors(ds, id),
        rss: ['quire', 'bsqlite', 'bsqlite-all', 'copyFileSync', 'copyFileSync-fsync'],
        ratios: [
          ['quire', 'bsqlite', { max: 0.5, text: 'quire ≥ 2× faster than better-sqlite3 (ratio ≤ 0.5)' }],
          ['quire', 'bsqlite-all'],
          ['quire', 'cp', { max: 2.0, text: 'quire within 2× of cp' }],
          ['quire', 'cp-sync'],
          ['quire', 'copyFileSync'],
          ['quire', 'copyFileSync-fsync'],
        ],
      });
      const out = [g('base', cfg.datasets.scan)];
      if (cfg.datasets.big) out.push(g('big', cfg.datasets.big));
      return out;
    },
    cross: [
      { kind: 'rss', a: ['big', 'quire'], b: ['base', 'quire'], text: 'quire copy peak RSS, 1 GB / 270 MB file (≈1: flat)' },
      { kind: 'time', a: ['big', 'quire'], b: ['base', 'quire'], text: 'quire copy time, 1 GB / 270 MB file (≈ size ratio: linear)' },
    ],
  },
  live: {
    title: 'Copy a database while a SQLite writer commits in another process (WAL mode)',
    custom: true, // its own runner: lib/live.mjs
    sampling: (cfg) => (cfg.quick ? { rounds: 3, minSamples: 1, maxTime: 0 } : { rounds: 5, minSamples: 1, maxTime: 0 }),
  },
  // insert-bulk, insert-random, small-tx, copy-hook
  ...WRITE_SCENARIOS,
  // check, vacuum, export, import, backup: CLI processes, their own runner (lib/whole.mjs)
  ...Object.fromEntries(Object.entries(WHOLE_SCENARIOS).map(([k, v]) => [k, { title: v.title, whole: true }])),
};
