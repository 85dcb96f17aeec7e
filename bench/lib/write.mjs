// The write-path scenarios (issue 4): what quire's writer costs against SQLite doing the same.
//
//   scenario       group     what one timed run does                               competitors
//   insert-bulk    bulk      create a new FILE, CREATE TABLE t, then insert the    quire, better-sqlite3,
//                            scan table's rows (1M in a full run) in ONE           sql.js (in memory;
//                            transaction, in rowid order; close                     + export to a file)
//   insert-random  insert    the same, N rows (200k) in a seeded random rowid order quire, better-sqlite3
//                  delete    open a copy of that table (made by SQLite), delete a   quire, better-sqlite3
//                            seeded random half of the rows, one by one, in ONE
//                            transaction; close
//   small-tx       rollback  new file, CREATE TABLE t, then 2,000 single-row        quire, better-sqlite3
//                  wal       auto-commit transactions; close. synchronous=FULL
//                            (quire's default; set on better-sqlite3); each
//                            commit is also timed on its own (latency medians)
//   copy-hook      rollback  quire backupFile of the 272 MB scan file, idle and     quire only
//                  wal       while another quire Database in this process commits
//                            to it at 300/s (the pager's commit hook reaches the
//                            copier); every copy checked: quick_check + the
//                            writer's invariants (see startQuireWriter)
//
// Inputs are the scan dataset's rows (data.mjs scanRowSource: the generator's sequence, kept
// compactly), built as [id, a, b, c] arrays inside the timed loop by every competitor alike;
// the "row source alone" line of insert-bulk is what that costs. quire takes rows as arrays in
// column order (Transaction.insert), better-sqlite3 and sql.js bind the same array to a
// prepared INSERT. Files live in bench/out/work/<scenario>-<pid>/ and are deleted (and the file
// system synced) between runs, outside the timed region.
//
// Verification, outside the timed region, of EVERY run's result (not only the warm-up's): the
// file is opened by better-sqlite3 (SQLite itself), `PRAGMA integrity_check` must say ok, the
// row count must match, every row read back in rowid order must equal the row source's values
// (id, a, b, c; types text/blob/real) and the scan checksum must equal the generator's (for a
// delete: over the surviving rows). sql.js's in-memory result is exported to a file first.
// small-tx also checks the file's journal mode (header bytes 18/19) and, for WAL, that the
// commits went through a -wal file.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { backupFile, openDatabase } from '../../dist/node.js';
import { OUT_DIR, SCAN_SCHEMA, permutation, randomInsertOrder, removeDb, scanRowSource, workingCopy } from './data.mjs';
import { median } from './measure.mjs';
import { loadSqlJs } from './sqljs.mjs';

const INSERT_SQL = 'INSERT INTO t(id, a, b, c) VALUES (?, ?, ?, ?)';
/** Under profile.mjs: results are not verified (SQLite's reads would fill the profile). */
const PROFILING = process.env.BENCH_PROFILE === '1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const sources = new Map();
/** scanRowSource(rows), built once per process. */
function rowSource(rows) {
  let s = sources.get(rows);
  if (!s) sources.set(rows, (s = scanRowSource(rows)));
  return s;
}

/** The half of 1..rows that insert-random's delete group deletes, in deletion order. */
export function deleteOrder(rows) {
  return permutation(rows, 0xde1e7e + rows).subarray(0, rows >> 1);
}

function workDir(tag) {
  const dir = path.join(OUT_DIR, 'work', `${tag}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}


function removeDirIfEmpty(dir) {
  try {
    rmdirSync(dir);
  } catch {
    // not empty (another competitor's files): its teardown removes it
  }
}

/** Writes back dirty pages of the file system holding `p`, so no run pays for the last one's. */
function syncFs(p) {
  spawnSync('sync', ['-f', p]);
}

/** The scan checksum over the rows of `src` whose id passes `keep`, in rowid order. */
function expectFor(src, keep) {
  const e = { rows: 0, sumId: 0, sumTextLen: 0, sumBlobLen: 0, sumReal: 0 };
  for (let id = 1; id <= src.rows; id++) {
    if (!keep(id)) continue;
    e.rows++;
    e.sumId += id;
    e.sumTextLen += src.text(id).length;
    e.sumBlobLen += src.blob(id).length;
    e.sumReal += src.real(id);
  }
  return e;
}

/**
 * SQLite's verdict on table t of `file`: integrity_check, then every row in rowid order
 * against the row source (ids exactly those `keep` accepts, values and types equal), then the
 * scan checksum against `expect`. Returns an error message or null.
 */
export function verifyTable(file, src, expect, keep = () => true) {
  if (!existsSync(file)) return `${path.basename(file)} does not exist`;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const ic = db.pragma('integrity_check', { simple: true });
    if (ic !== 'ok') return `integrity_check: ${ic}`;
    const acc = { rows: 0, sumId: 0, sumTextLen: 0, sumBlobLen: 0, sumReal: 0 };
    const st = db.prepare("SELECT id, a, b, c, typeof(a) = 'text' AND typeof(b) = 'blob' AND typeof(c) = 'real' FROM t ORDER BY id").raw(true);
    let want = 1;
    for (const r of st.iterate()) {
      const id = r[0];
      while (want <= src.rows && !keep(want)) want++;
      if (want > src.rows || id !== want) return `row ids: found ${id} where ${want <= src.rows ? want : 'no more rows were'} expected`;
      want++;
      if (r[4] !== 1) return `row ${id}: wrong value types`;
      if (r[1] !== src.text(id)) return `row ${id}: a differs from the source`;
      if (Buffer.compare(r[2], src.blob(id)) !== 0) return `row ${id}: b differs from the source`;
      if (r[3] !== src.real(id)) return `row ${id}: c = ${r[3]}, source ${src.real(id)}`;
      acc.rows++;
      acc.sumId += id;
      acc.sumTextLen += r[1].length;
      acc.sumBlobLen += r[2].length;
      acc.sumReal += r[3];
    }
    while (want <= src.rows && !keep(want)) want++;
    if (want <= src.rows) return `row ${want} is missing (${acc.rows} rows found, ${expect.rows} expected)`;
    for (const k of Object.keys(expect)) {
      if (acc[k] !== expect[k]) return `checksum ${k} = ${acc[k]}, generator says ${expect[k]}`;
    }
    return null;
  } finally {
    db.close();
  }
}

/** Header bytes 18/19 of a database file: 1 rollback, 2 WAL. */
function fileFormat(file) {
  const fd = openSync(file, 'r');
  try {
    const b = new Uint8Array(20);
    readSync(fd, b, 0, 20, 0);
    return [b[18], b[19]];
  } finally {
    closeSync(fd);
  }
}

function writeDurably(file, bytes) {
  const fd = openSync(file, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A competitor whose run leaves a result to verify (a file, or an in-memory database that
 * `materialise` writes to a file). Every run's result is verified: the warm-up's by `check`
 * (the child's warm-up check), the timed runs' by `cleanup` before the result is deleted (a
 * failure there is recorded as the competitor's error). `prepare` readies the next run
 * (setup and after every cleanup), outside the timed region.
 */
function verified({ id, label, dir, run, verify, prepare = () => {}, materialise = null, release = () => {}, extra = {} }) {
  const file = path.join(dir, `${id}.db`);
  let made = false;
  let checked = false;
  let failure = null;
  const verifyNow = () => {
    if (materialise) materialise(file);
    return verify(file);
  };
  return {
    id,
    label,
    ...extra,
    setup: async () => {
      await extra.setup?.();
      removeDb(file);
      await prepare(file);
    },
    async run() {
      await run(file);
      made = true;
      checked = false;
    },
    check() {
      if (!made) return 'no result';
      checked = true;
      failure = verifyNow();
      return failure;
    },
    checkLast: false, // cleanup verified every timed run's result
    cleanup() {
      let bad = null;
      if (made && !checked && !PROFILING) bad = verifyNow();
      made = false;
      checked = false;
      release();
      removeDb(file);
      syncFs(dir);
      prepare(file);
      if (bad) throw new Error(`result is wrong: ${bad}`);
    },
    teardown: async () => {
      release();
      await extra.teardown?.();
      removeDb(file);
      removeDirIfEmpty(dir); // the last competitor of the group removes it
    },
    get failure() {
      return failure;
    },
  };
}

// ------------------------------------------------------------------------------- insert-bulk

function bulkCompetitors(cfg) {
  const n = cfg.write.bulkRows;
  const src = rowSource(n);
  const dir = workDir('insert-bulk');
  const verify = (f) => verifyTable(f, src, src.expect);
  let SQL = null;
  let sdb = null;
  const closeSqlJs = () => {
    sdb?.close();
    sdb = null;
  };
  const sqlJsInsert = () => {
    const db = new SQL.Database();
    db.exec(SCAN_SCHEMA);
    const st = db.prepare(INSERT_SQL);
    db.exec('BEGIN');
    for (let id = 1; id <= n; id++) st.run(src.row(id));
    db.exec('COMMIT');
    st.free();
    return db;
  };
  return [
    verified({
      id: 'quire',
      label: 'quire: transaction(tx => tx.insert("t", [id, a, b, c]) × N)',
      dir,
      verify,
      async run(file) {
        removeDb(file);
        const db = await openDatabase(file, { readOnly: false, create: true });
        try {
          await db.exec(SCAN_SCHEMA);
          await db.transaction(async (tx) => {
            for (let id = 1; id <= n; id++) await tx.insert('t', src.row(id));
          });
        } finally {
          await db.close();
        }
      },
      extra: { throughput: 'ops' },
    }),
    verified({
      id: 'bsqlite',
      label: 'better-sqlite3: prepared INSERT × N in db.transaction()',
      dir,
      verify,
      run(file) {
        removeDb(file);
        const db = new Database(file);
        try {
          db.exec(SCAN_SCHEMA);
          const ins = db.prepare(INSERT_SQL);
          db.transaction(() => {
            for (let id = 1; id <= n; id++) ins.run(src.row(id));
          })();
        } finally {
          db.close();
        }
      },
      extra: { throughput: 'ops' },
    }),
    verified({
      id: 'sqljs-mem',
      label: 'sql.js: prepared INSERT × N in BEGIN/COMMIT (in memory, no file)',
      dir,
      verify,
      run() {
        closeSqlJs();
        sdb = sqlJsInsert();
      },
      // Verified through an export to a file, outside the timed region.
      materialise: (file) => writeDurably(file, sdb.export()),
      release: closeSqlJs,
      extra: {
        throughput: 'ops',
        async setup() {
          SQL = await loadSqlJs();
        },
      },
    }),
    verified({
      id: 'sqljs-file',
      label: 'sql.js: the same + db.export() + write the file + fsync',
      dir,
      verify,
      run(file) {
        const db = sqlJsInsert();
        try {
          writeDurably(file, db.export());
        } finally {
          db.close();
        }
      },
      extra: {
        throughput: 'ops',
        async setup() {
          SQL = await loadSqlJs();
        },
      },
    }),
    {
      id: 'source',
      label: 'row source alone: build the N [id, a, b, c] arrays (inside every time above)',
      separate: true,
      throughput: 'ops',
      run() {
        let acc = 0;
        for (let id = 1; id <= n; id++) {
          const r = src.row(id);
          acc += r[1].length + r[2].length;
        }
        if (acc <= 0) throw new Error('no rows');
      },
    },
  ];
}

// ------------------------------------------------------------------------------- insert-random

function randomInsertCompetitors(cfg) {
  const n = cfg.write.randomRows;
  const src = rowSource(n);
  const order = randomInsertOrder(n);
  const dir = workDir('insert-random');
  const verify = (f) => verifyTable(f, src, src.expect);
  return [
    verified({
      id: 'quire',
      label: 'quire: tx.insert × N, random rowid order, one transaction',
      dir,
      verify,
      async run(file) {
        removeDb(file);
        const db = await openDatabase(file, { readOnly: false, create: true });
        try {
          await db.exec(SCAN_SCHEMA);
          await db.transaction(async (tx) => {
            for (let i = 0; i < n; i++) await tx.insert('t', src.row(order[i]));
          });
        } finally {
          await db.close();
        }
      },
      extra: { throughput: 'ops' },
    }),
    verified({
      id: 'bsqlite',
      label: 'better-sqlite3: prepared INSERT × N, random rowid order, one transaction',
      dir,
      verify,
      run(file) {
        removeDb(file);
        const db = new Database(file);
        try {
          db.exec(SCAN_SCHEMA);
          const ins = db.prepare(INSERT_SQL);
          db.transaction(() => {
            for (let i = 0; i < n; i++) ins.run(src.row(order[i]));
          })();
        } finally {
          db.close();
        }
      },
      extra: { throughput: 'ops' },
    }),
  ];
}

function randomDeleteCompetitors(cfg) {
  const base = cfg.datasets.random;
  const n = base.rows;
  const src = rowSource(n);
  const doomed = deleteOrder(n);
  const gone = new Uint8Array(n + 1);
  for (const id of doomed) gone[id] = 1;
  const keep = (id) => gone[id] === 0;
  const expect = expectFor(src, keep);
  const dir = workDir('insert-random-delete');
  const verify = (f) => verifyTable(f, src, expect, keep);
  // Every run starts from a fresh copy of the base, written back and in the page cache.
  const prepare = (file) => {
    workingCopy(base.path, file);
    syncFs(file);
  };
  return [
    verified({
      id: 'quire',
      label: 'quire: tx.delete × N/2, random order, one transaction',
      dir,
      verify,
      prepare,
      async run(file) {
        const db = await openDatabase(file, { readOnly: false });
        try {
          await db.transaction(async (tx) => {
            for (let i = 0; i < doomed.length; i++) if (!(await tx.delete('t', doomed[i]))) throw new Error(`row ${doomed[i]} was not there`);
          });
        } finally {
          await db.close();
        }
      },
      extra: { throughput: 'ops' },
    }),
    verified({
      id: 'bsqlite',
      label: 'better-sqlite3: prepared DELETE × N/2, random order, one transaction',
      dir,
      verify,
      prepare,
      run(file) {
        const db = new Database(file, { fileMustExist: true });
        try {
          const del = db.prepare('DELETE FROM t WHERE id = ?');
          db.transaction(() => {
            for (let i = 0; i < doomed.length; i++) if (del.run(doomed[i]).changes !== 1) throw new Error(`row ${doomed[i]} was not there`);
          })();
        } finally {
          db.close();
        }
      },
      extra: { throughput: 'ops' },
    }),
  ];
}

// ------------------------------------------------------------------------------- small-tx

/** Latency statistics of single commits, in ms. */
function latencyStats(lat) {
  if (lat.length === 0) return null;
  const s = Float64Array.from(lat).sort();
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return {
    commits: s.length,
    commitMedianMs: median(lat),
    commitP90Ms: q(0.9),
    commitP99Ms: q(0.99),
    commitMaxMs: s[s.length - 1],
    commitMeanMs: lat.reduce((a, b) => a + b, 0) / lat.length,
  };
}

function smallTxCompetitors(cfg, mode) {
  const n = cfg.write.commits;
  const src = rowSource(n);
  const dir = workDir(`small-tx-${mode}`);
  const wal = mode === 'wal';
  const want = wal ? 2 : 1;
  const mk = (id, label, run) => {
    let lat = [];
    let sawWal = null;
    let sync = null;
    const c = verified({
      id,
      label,
      dir,
      verify(f) {
        const fmt = fileFormat(f);
        if (fmt[0] !== want || fmt[1] !== want) return `header bytes 18/19 are ${fmt.join('/')}, expected ${want} (${mode})`;
        if (wal && sawWal === false) return 'no -wal file while committing';
        if (sync !== null && sync !== 2) return `synchronous = ${sync}, expected 2 (FULL)`;
        return verifyTable(f, src, src.expect);
      },
      async run(file) {
        removeDb(file);
        const r = await run(file, lat);
        sawWal = r.sawWal;
        sync = r.sync ?? null;
      },
      extra: { throughput: 'ops' },
    });
    c.resetStats = () => {
      lat = [];
    };
    c.stats = () => latencyStats(lat);
    return c;
  };
  return [
    mk('quire', `quire: db.insert("t", row) × ${n} (auto-commit, synchronous 'full')`, async (file, lat) => {
      const db = await openDatabase(file, { readOnly: false, create: wal ? { journalMode: 'wal' } : true, synchronous: 'full' });
      let sawWal = false;
      try {
        await db.exec(SCAN_SCHEMA);
        for (let id = 1; id <= n; id++) {
          const row = src.row(id);
          const t0 = performance.now();
          await db.insert('t', row);
          lat.push(performance.now() - t0);
        }
        sawWal = existsSync(`${file}-wal`);
      } finally {
        await db.close();
      }
      return { sawWal };
    }),
    mk('bsqlite', `better-sqlite3: prepared INSERT .run(row) × ${n} (auto-commit, synchronous=FULL)`, (file, lat) => {
      const db = new Database(file);
      let sawWal = false;
      let sync = null;
      try {
        db.pragma(`journal_mode = ${wal ? 'WAL' : 'DELETE'}`);
        db.pragma('synchronous = FULL');
        sync = db.pragma('synchronous', { simple: true });
        db.exec(SCAN_SCHEMA);
        const ins = db.prepare(INSERT_SQL);
        for (let id = 1; id <= n; id++) {
          const row = src.row(id);
          const t0 = performance.now();
          ins.run(row);
          lat.push(performance.now() - t0);
        }
        sawWal = existsSync(`${file}-wal`);
      } finally {
        db.close();
      }
      return { sawWal, sync };
    }),
  ];
}

// ------------------------------------------------------------------------------- copy-hook

/**
 * A quire writer on `file` in this process: each commit appends row rows+k and deletes row k
 * of t, and sets w.n = k (a table it creates), paced at `rateHz`. Invariants of any committed
 * state: count(t) = rows, min(id) = n + 1, max(id) = rows + n.
 */
async function startQuireWriter(file, rows, src, rateHz) {
  const db = await openDatabase(file, { readOnly: false });
  const tables = await db.tables();
  if (!tables.includes('w')) {
    await db.transaction(async (tx) => {
      await tx.exec('CREATE TABLE w(k INTEGER PRIMARY KEY, n INTEGER)');
      await tx.insert('w', [1, 0]);
    });
  }
  let n = (await db.get('w', 1))[2];
  let running = false;
  let loop = null;
  let commits = 0;
  const commit = async () => {
    const k = n + 1;
    await db.transaction(async (tx) => {
      const id = ((k - 1) % rows) + 1; // the row source repeats: the values are the scan's
      await tx.insert('t', [rows + k, src.text(id), src.blob(id), src.real(id)]);
      if (!(await tx.delete('t', k))) throw new Error(`writer: row ${k} missing`);
      await tx.update('w', 1, { n: k });
    });
    n = k;
    commits++;
  };
  return {
    get commits() {
      return commits;
    },
    get n() {
      return n;
    },
    start() {
      if (running) return;
      running = true;
      const t0 = performance.now();
      let k = 0;
      loop = (async () => {
        while (running) {
          await commit();
          k++;
          const due = t0 + (k * 1000) / rateHz - performance.now();
          if (due > 0) await sleep(due);
          else await new Promise((r) => setImmediate(r));
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
      loop = null;
    },
    close: () => db.close(),
  };
}

/** The copy-hook invariants on a copy (see startQuireWriter); returns the copy's n. */
export function checkHookCopy(file, rows) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const qc = db.pragma('quick_check', { simple: true });
    if (qc !== 'ok') throw new Error(`quick_check: ${qc}`);
    const hasW = db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'w'").pluck().get();
    const n = hasW ? db.prepare('SELECT n FROM w WHERE k = 1').pluck().get() : 0;
    const t = db.prepare('SELECT count(*) AS c, min(id) AS lo, max(id) AS hi FROM t').get();
    if (t.c !== rows || t.lo !== n + 1 || t.hi !== rows + n) throw new Error(`torn copy: w.n = ${n}, t has ${t.c} rows ${t.lo}..${t.hi}`);
    return n;
  } finally {
    db.close();
  }
}

function copyHookCompetitors(cfg, mode) {
  const ds = cfg.datasets.scan;
  const rows = ds.rows;
  const src = rowSource(rows);
  const dir = workDir(`copy-hook-${mode}`);
  const source = path.join(dir, 'source.db');
  const { rateHz } = cfg.write.hook;
  let writer = null;
  const stats = { copies: 0, commitsDuring: 0, restarts: 0, snapshotMoves: 0, resetsBridged: 0, recopiedPages: 0, busySteps: 0, nSeen: [], writerCommits: 0 };
  const mk = (id, label, writing) => {
    let last = null;
    let seq = 0;
    let checked = false;
    const verify = () => {
      try {
        const n = checkHookCopy(last, rows);
        if (writing) stats.nSeen.push(n);
        return null;
      } catch (e) {
        return String(e.message);
      }
    };
    return {
      id,
      label,
      throughput: 'bytes',
      async setup() {
        if (!writer) {
          removeDb(source);
          workingCopy(ds.path, source);
          if (mode === 'wal') {
            // SQLite switches the copy to WAL (header bytes 18/19 = 2); its close checkpoints
            // and removes the -wal, so quire's writer then opens a WAL-mode file.
            const db = new Database(source);
            db.pragma('journal_mode = WAL');
            db.close();
          }
          writer = await startQuireWriter(source, rows, src, rateHz);
        }
      },
      async run() {
        last = path.join(dir, `${id}-${seq++}.db`);
        checked = false;
        if (writing) writer.start();
        const before = writer.commits;
        let busy = 0;
        const r = await backupFile(source, last, {
          timeout: cfg.write.hook.timeoutMs, // BUSY error past this: the copy never found a quiet window
          onProgress: (p) => {
            if (p.status === 'BUSY') busy++;
          },
        });
        // The writer stops at the end of the timed run (cleanup cannot wait: benchmark.js
        // starts the next cycle synchronously); stopping waits for at most one commit.
        if (writing) await writer.stop();
        if (writing) {
          const s = r.snapshot;
          stats.copies++;
          stats.commitsDuring += writer.commits - before;
          stats.restarts += s.restarts;
          stats.snapshotMoves += s.snapshotMoves;
          stats.resetsBridged += s.resetsBridged;
          stats.recopiedPages += s.recopied;
          stats.busySteps += busy;
          stats.writerCommits = writer.commits;
        }
      },
      check() {
        checked = true;
        return last ? verify() : 'no copy made';
      },
      checkLast: false,
      cleanup() {
        const bad = last && !checked ? verify() : null;
        if (last) removeDb(last);
        last = null;
        syncFs(dir);
        if (bad) throw new Error(`copy is wrong: ${bad}`);
      },
      resetStats() {
        if (writing) {
          for (const k of Object.keys(stats)) stats[k] = Array.isArray(stats[k]) ? [] : 0;
        }
      },
      stats: writing ? () => ({ ...stats }) : undefined,
      async teardown() {
        if (writer) {
          await writer.stop();
          await writer.close();
          writer = null;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
  return [mk('quire-idle', 'quire: backupFile(src, dst), no writer', false), mk('quire-writing', `quire: backupFile(src, dst) while a quire Database commits to src at ${rateHz}/s`, true)];
}

// ------------------------------------------------------------------------------- table

const fmtN = (n) => n.toLocaleString('en-US');
const sampling = (cfg) => (cfg.quick ? { rounds: 3, minSamples: 1, maxTime: 0, minTime: 1e-9 } : { rounds: 5, minSamples: 1, maxTime: 0, minTime: 1e-9 });

/** Scenario entries merged into SCENARIOS (see scenarios.mjs for the shape). */
export const WRITE_SCENARIOS = {
  'insert-bulk': {
    title: 'Bulk insert: the scan table\'s rows into a new file, in rowid order, in ONE transaction',
    sampling,
    groups: (cfg) => {
      const ds = cfg.datasets.scan;
      const n = cfg.write.bulkRows;
      return [
        {
          id: 'bulk',
          label: `${fmtN(n)} rows`,
          dataset: {
            description: `${fmtN(n)} rows of t(id INTEGER PRIMARY KEY, a TEXT, b BLOB, c REAL) into a new file, 4 KB pages, rollback journal; the result equals ${path.basename(ds.path)} (${(ds.bytes / 1e6).toFixed(1)} MB, ${fmtN(ds.pageCount)} pages)`,
            path: ds.path,
            rows: n,
            ops: n,
            opsUnit: 'rows',
            bytes: ds.bytes,
            pageSize: ds.pageSize,
            pageCount: ds.pageCount,
          },
          competitors: () => bulkCompetitors(cfg),
          rss: ['quire', 'bsqlite', 'sqljs-mem', 'sqljs-file'],
          ratios: [
            ['quire', 'bsqlite', { max: 1.0, text: 'quire ≤ 1.0× better-sqlite3' }],
            ['quire', 'sqljs-mem'],
            ['quire', 'sqljs-file'],
          ],
        },
      ];
    },
  },
  'insert-random': {
    title: 'Random-order insert of N rows, then delete a random half (each ONE transaction)',
    sampling,
    groups: (cfg) => {
      const n = cfg.write.randomRows;
      const base = cfg.datasets.random;
      return [
        {
          id: 'insert',
          label: `insert ${fmtN(n)} rows in random rowid order`,
          dataset: {
            description: `${fmtN(n)} rows of the scan table (rows 1..${fmtN(n)} of scanRowSource(${fmtN(n)})), inserted in a seeded random rowid order into a new file`,
            rows: n,
            ops: n,
            opsUnit: 'rows',
          },
          competitors: () => randomInsertCompetitors(cfg),
          rss: ['quire', 'bsqlite'],
          ratios: [['quire', 'bsqlite']],
        },
        {
          id: 'delete',
          label: `delete ${fmtN(n >> 1)} of the ${fmtN(n)} rows, random order`,
          dataset: {
            description: `a copy of ${path.basename(base.path)} (${(base.bytes / 1e6).toFixed(1)} MB, ${fmtN(base.pageCount)} pages: the same rows inserted by SQLite in that random order); open, delete, commit, close`,
            path: base.path,
            rows: n,
            ops: n >> 1,
            opsUnit: 'deletes',
          },
          competitors: () => randomDeleteCompetitors(cfg),
          rss: ['quire', 'bsqlite'],
          ratios: [['quire', 'bsqlite']],
        },
      ];
    },
  },
  'small-tx': {
    title: 'Small transactions: single-row auto-commit inserts into a new file, synchronous=FULL',
    sampling,
    groups: (cfg) =>
      ['rollback', 'wal'].map((mode) => ({
        id: mode,
        label: `${fmtN(cfg.write.commits)} commits, ${mode === 'wal' ? 'WAL' : 'rollback journal (delete)'}`,
        dataset: {
          description: `${fmtN(cfg.write.commits)} single-row transactions (rows of the scan table) into a new file, 4 KB pages, ${mode === 'wal' ? 'WAL (checkpoint every 1000 frames, both)' : 'rollback journal, journal deleted at commit'}; the run's time includes open, CREATE TABLE and close`,
          rows: cfg.write.commits,
          ops: cfg.write.commits,
          opsUnit: 'commits',
        },
        competitors: () => smallTxCompetitors(cfg, mode),
        rss: [],
        ratios: [['quire', 'bsqlite']],
        statRatios: [['quire', 'bsqlite', 'commitMedianMs', 'per-commit latency medians']],
      })),
  },
  'copy-hook': {
    title: 'Copy a database file that another quire Database in this process writes to (the commit hook)',
    sampling,
    groups: (cfg) => {
      const ds = cfg.datasets.scan;
      return ['rollback', 'wal'].map((mode) => ({
        id: mode,
        label: `${(ds.bytes / 1e6).toFixed(0)} MB file, ${mode === 'wal' ? 'WAL' : 'rollback journal'}, writer at ${cfg.write.hook.rateHz} commits/s`,
        dataset: {
          description: `a copy of ${path.basename(ds.path)} (${(ds.bytes / 1e6).toFixed(1)} MB${mode === 'wal' ? ', switched to WAL by SQLite' : ''}); each writer commit appends a row, deletes the oldest and bumps a counter (w.n); backupFile's defaults (250 ms sleep after a BUSY step)`,
          path: ds.path,
          rows: ds.rows,
          bytes: ds.bytes,
          pageSize: ds.pageSize,
          pageCount: ds.pageCount,
        },
        competitors: () => copyHookCompetitors(cfg, mode),
        rss: [],
        ratios: [['quire-writing', 'quire-idle', { max: 3.0, text: 'copy under an in-process writer ≤ 3× the idle copy' }]],
      }));
    },
  },
};
