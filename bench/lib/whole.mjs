// The whole-file scenarios: the quire CLI against the sqlite3 CLI, each run a fresh process, on
// the indexed dataset (lib/data.mjs ensureIndexedDb: the scan table + an index on `a`) at two
// sizes (≈ 390 MB and ≈ 2.1 GB in a full run), so that peak RSS can be seen to stay flat:
//
//   check    quire check DB                        sqlite3 DB 'PRAGMA integrity_check'
//   vacuum   quire vacuum COPY                     sqlite3 COPY VACUUM            (a fresh copy each run)
//   export   quire export DB t [--format csv]      sqlite3 -json|-csv DB 'SELECT rowid, id, a, hex(b) AS b, c FROM t'
//            (into a pipe that this process drains, counting lines; the same values as text on both sides)
//   import   quire import NEW t --format csv       sqlite3 NEW '.import --csv --skip 1 FILE t'
//            --create SCHEMA < FILE                (after the same CREATE TABLE + CREATE INDEX;
//            FILE is `sqlite3 -csv -header` of id, a, hex(b), c: both load the same values)
//   backup   quire backup DB OUT                   sqlite3 DB '.backup OUT'
//
// Timed: the wall time of the process, spawn to exit (node's start-up is part of what a user
// waits for). Peak RSS: GNU time's %M for that process. Runs are interleaved (quire, sqlite3,
// quire, sqlite3, ...) so that a change in the machine's load lands on both; reported are the
// medians, the ratio quire / sqlite3, and each side's largest peak RSS. Every run's result is
// checked outside the timed region: check says ok on both sides; a vacuumed copy passes
// integrity_check and has the same page count as SQLite's; an export has one line a row (plus
// csv's header); an imported table has every row and passes integrity_check; a backup passes
// integrity_check and has the source's page count.
import { spawn, spawnSync } from 'node:child_process';
import { onInterrupt, reaped } from './reap.mjs';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { INDEXED_EXTRA, OUT_DIR, REPO_DIR, SCAN_SCHEMA, removeDb } from './data.mjs';

const CLI = path.join(REPO_DIR, 'dist', 'cli.js');
const TIME = '/usr/bin/time';
// One folder per run: two runs at once (say, --verify beside a full run) must not remove each
// other's files.
const WORK = path.join(OUT_DIR, 'tmp', `whole-${process.pid}`);

/** The whole-file scenarios: name → { title, goals }. */
export const WHOLE_SCENARIOS = {
  check: { title: 'quire check vs PRAGMA integrity_check (sqlite3 CLI), indexed table, two sizes', goal: 1.0, cacheMiB: 8 },
  vacuum: { title: 'quire vacuum vs VACUUM (sqlite3 CLI) on a fresh copy, same page count, two sizes', goal: 1.0, cacheMiB: 4 },
  export: { title: 'quire export (JSONL, CSV) vs sqlite3 -json / -csv, into a pipe, two sizes', goal: 1.0, cacheMiB: 2 },
  import: { title: 'quire import --format csv vs sqlite3 .import --csv (same CSV, same schema), two sizes', goal: null, cacheMiB: 4 + 8 },
  backup: { title: 'quire backup vs sqlite3 .backup (CLI processes), two sizes', goal: null, cacheMiB: 32 },
};

/**
 * Peak RSS allowed for a quire whole-file command (issue 11): 64 MB plus the page cache that
 * command sets (`cacheMiB` above: src/cli/<command>.ts; import's includes its 8 MiB spill
 * budget, backup uses the default 32 MiB).
 */
export const rssGoalBytes = (name) => 64e6 + WHOLE_SCENARIOS[name].cacheMiB * 2 ** 20;

function sqlite3(...args) {
  const r = spawnSync('sqlite3', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) throw new Error(`sqlite3: ${r.error.message} (apt-get install -y sqlite3)`);
  if (r.status !== 0) throw new Error(`sqlite3 ${args.slice(1).join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/**
 * Runs one command under GNU time; resolves { ms, rssBytes, lines, stderr, code }. Its stdout is
 * a pipe this process drains, counting newlines.
 */
function measured(cmd, args) {
  const tfile = path.join(WORK, `time-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // Its own process group (lib/reap.mjs): GNU time does not pass a signal on to its command.
    const p = reaped(spawn(TIME, ['-f', '%M', '-o', tfile, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true }));
    let lines = 0;
    let stderr = '';
    p.stdout.on('data', (b) => {
      for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
    });
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (s) => {
      if (stderr.length < 4096) stderr += s;
    });
    p.stdin.end(); // import reads its file through a shell redirect, not through us
    p.on('error', reject);
    p.on('close', (code) => {
      const ms = performance.now() - t0;
      let rssBytes = null;
      try {
        const t = readFileSync(tfile, 'utf8').trim().split('\n');
        rssBytes = Number(t[t.length - 1]) * 1024;
      } catch {
        // no time file: reported as an error below
      }
      rmSync(tfile, { force: true });
      if (rssBytes === null || !Number.isFinite(rssBytes)) return reject(new Error(`${TIME} left no peak RSS for ${cmd} (${stderr.trim()})`));
      resolve({ ms, rssBytes, lines, stderr: stderr.trim(), code });
    });
  });
}

const quire = (...args) => [process.execPath, [CLI, ...args]];
const sh = (script) => ['/bin/sh', ['-c', script]];
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The work of one scenario on one dataset: pairs of { id, label, prepare, cmd, check }. */
function works(name, ds) {
  const db = ds.path;
  const pages = ds.pageCount;
  const rows = ds.rows;
  const out = (id) => path.join(WORK, `${name}-${id}.db`);
  const integrity = (f) => sqlite3(f, 'PRAGMA integrity_check');
  const pageCount = (f) => Number(sqlite3(f, 'PRAGMA page_count'));
  switch (name) {
    case 'check': {
      const ok = (r) => (r.code === 0 && r.lines === 1 ? null : `exit ${r.code}, ${r.lines} lines (${r.stderr})`);
      return [
        { id: 'check', label: 'check', quire: { cmd: quire('check', db), check: ok }, sqlite: { label: 'PRAGMA integrity_check', cmd: ['sqlite3', [db, 'PRAGMA integrity_check']], check: ok } },
      ];
    }
    case 'vacuum': {
      const side = (id, cmd) => ({
        prepare: () => {
          removeDb(out(id));
          copyFileSync(db, out(id));
        },
        cmd,
        check: (r) => {
          if (r.code !== 0) return `exit ${r.code} (${r.stderr})`;
          const ic = integrity(out(id));
          if (ic !== 'ok') return `integrity_check: ${ic.slice(0, 200)}`;
          return null;
        },
        after: () => pageCount(out(id)),
        cleanup: () => removeDb(out(id)),
      });
      return [
        {
          id: 'vacuum',
          label: 'vacuum',
          quire: side('quire', quire('vacuum', out('quire'))),
          sqlite: { label: 'VACUUM', ...side('sqlite', ['sqlite3', [out('sqlite'), 'VACUUM']]) },
          // Both sides' results must have the same page count.
          compare: (a, b) => (a === b ? null : `page count: quire ${a}, SQLite ${b}`),
        },
      ];
    }
    case 'export': {
      const lines = (n) => (r) => (r.code === 0 && r.lines === n ? null : `exit ${r.code}, ${r.lines} lines, expected ${n} (${r.stderr})`);
      // The same values in the same text on both sides: the rowid, every column, the BLOB as
      // hex (the sqlite3 CLI would print a BLOB's raw bytes, newlines included, which is less
      // work and not a usable export).
      const sql = 'SELECT rowid, id, a, hex(b) AS b, c FROM t';
      return [
        { id: 'jsonl', label: 'JSONL', quire: { cmd: quire('export', db, 't'), check: lines(rows) }, sqlite: { label: 'sqlite3 -json', cmd: ['sqlite3', ['-json', db, sql]], check: lines(rows) } },
        { id: 'csv', label: 'CSV', quire: { cmd: quire('export', db, 't', '--format', 'csv'), check: lines(rows + 1) }, sqlite: { label: 'sqlite3 -csv -header', cmd: ['sqlite3', ['-csv', '-header', db, sql]], check: lines(rows + 1) } },
      ];
    }
    case 'import': {
      const csv = path.join(WORK, `import-${rows}.csv`);
      const ensureCsv = () => {
        if (existsSync(csv)) return;
        // The table's four columns (no separate rowid column: .import maps fields to columns
        // by position), the BLOB as hex text, a header line.
        const tmp = `${csv}.tmp`;
        const r = spawnSync('/bin/sh', ['-c', `sqlite3 -csv -header ${q(db)} 'SELECT id, a, hex(b) AS b, c FROM t' > ${q(tmp)}`], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`sqlite3 -csv failed: ${r.stderr}`);
        spawnSync('mv', [tmp, csv]);
      };
      const schema = `${SCAN_SCHEMA}; ${INDEXED_EXTRA}`;
      const side = (id, script) => ({
        prepare: () => {
          ensureCsv();
          removeDb(out(id));
          if (id === 'sqlite') sqlite3(out(id), `${schema};`);
        },
        cmd: sh(script(out(id))),
        check: (r) => {
          if (r.code !== 0) return `exit ${r.code} (${r.stderr})`;
          // Every row, and the source's values (sqlite3 .import warns, and imports shifted
          // columns, when a line has more fields than the table has columns; the CSV's REALs
          // have 15 significant digits, hence the rounded sum).
          const n = Number(sqlite3(out(id), 'SELECT count(*) FROM t'));
          if (n !== rows) return `${n} rows, expected ${rows}`;
          if (r.stderr !== '') return `stderr: ${r.stderr.slice(0, 200)}`;
          const sum = sqlite3(out(id), "SELECT sum(id), sum(length(a)), sum(length(b)), round(total(c), 3), count(*) FILTER (WHERE typeof(b) <> 'text' OR typeof(c) <> 'real') FROM t");
          const want = sqlite3(db, "SELECT sum(id), sum(length(a)), sum(2 * length(b)), round(total(c), 3), 0 FROM t");
          if (sum !== want) return `imported values differ from the source's: ${sum} vs ${want}`;
          const ic = integrity(out(id));
          return ic === 'ok' ? null : `integrity_check: ${ic.slice(0, 200)}`;
        },
        after: () => pageCount(out(id)),
        cleanup: () => removeDb(out(id)),
      });
      return [
        {
          id: 'csv',
          label: 'CSV import',
          quire: side('quire', (f) => `exec ${q(process.execPath)} ${q(CLI)} import ${q(f)} t --format csv --create ${q(schema)} < ${q(csv)} > /dev/null`),
          sqlite: { label: 'sqlite3 .import --csv', ...side('sqlite', (f) => `exec sqlite3 ${q(f)} ${q(`.import --csv --skip 1 ${csv} t`)}`) },
          cleanupAll: () => rmSync(csv, { force: true }),
        },
      ];
    }
    case 'backup': {
      const side = (id, cmd) => ({
        prepare: () => removeDb(out(id)),
        cmd,
        check: (r) => {
          if (r.code !== 0) return `exit ${r.code} (${r.stderr})`;
          const n = pageCount(out(id));
          if (n !== pages) return `${n} pages, expected ${pages}`;
          const ic = integrity(out(id));
          return ic === 'ok' ? null : `integrity_check: ${ic.slice(0, 200)}`;
        },
        cleanup: () => removeDb(out(id)),
      });
      return [
        { id: 'backup', label: 'backup', quire: side('quire', quire('backup', db, out('quire'))), sqlite: { label: 'sqlite3 .backup', ...side('sqlite', ['sqlite3', [db, `.backup ${out('sqlite')}`]]) } },
      ];
    }
    default:
      throw new Error(`unknown whole-file scenario ${name}`);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Measures one side once: prepare, the timed process, its check (untimed), cleanup. */
async function once(side) {
  side.prepare?.();
  const [cmd, args] = side.cmd;
  const r = await measured(cmd, args);
  const bad = side.check(r);
  const after = bad === null ? side.after?.() : undefined;
  side.cleanup?.();
  return { ms: r.ms, rssBytes: r.rssBytes, bad, after };
}

/**
 * Runs a whole-file scenario over `sets` ([{ id: 'base'|'big', dataset, runs }]): for each
 * dataset and each work, `runs` interleaved pairs. Returns the result object run.mjs stores.
 */
export async function runWhole(name, sets, log) {
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (apt-get install -y time): it measures each process's peak RSS`);
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run npm run build');
  mkdirSync(WORK, { recursive: true });
  const forget = onInterrupt(() => rmSync(WORK, { recursive: true, force: true }));
  const spec = WHOLE_SCENARIOS[name];
  const out = { title: spec.title, whole: true, sizes: [] };
  try {
    for (const set of sets) {
      const ds = set.dataset;
      const size = { id: set.id, dataset: ds, works: [] };
      for (const w of works(name, ds)) {
        log(`  ${name} / ${w.label}, ${(ds.bytes / 1e6).toFixed(0)} MB: ${set.runs} × (quire, ${w.sqlite.label})`);
        const res = { id: w.id, label: w.label, sqliteLabel: w.sqlite.label, quire: [], sqlite: [], errors: [] };
        for (let i = 0; i < set.runs; i++) {
          for (const [who, side] of [['quire', w.quire], ['sqlite', w.sqlite]]) {
            const r = await once(side);
            if (r.bad) res.errors.push(`${who} run ${i + 1}: ${r.bad}`);
            res[who].push(r);
          }
          if (w.compare) {
            const bad = w.compare(res.quire[i].after, res.sqlite[i].after);
            if (bad) res.errors.push(`run ${i + 1}: ${bad}`);
          }
        }
        w.cleanupAll?.();
        const summary = (xs) => ({ medianMs: median(xs.map((x) => x.ms)), samplesMs: xs.map((x) => x.ms), peakRssBytes: Math.max(...xs.map((x) => x.rssBytes)), result: xs[0]?.after });
        res.quire = summary(res.quire);
        res.sqlite = summary(res.sqlite);
        res.ratio = res.quire.medianMs / res.sqlite.medianMs;
        if (spec.goal !== null) res.goal = { max: spec.goal, met: res.ratio <= spec.goal };
        res.rssGoal = { maxBytes: rssGoalBytes(name), met: res.quire.peakRssBytes <= rssGoalBytes(name) };
        size.works.push(res);
      }
      out.sizes.push(size);
    }
  } finally {
    rmSync(WORK, { recursive: true, force: true });
    forget();
  }
  // Flat memory: quire's peak RSS on the big file over that on the base file, per work.
  const [base, big] = out.sizes;
  if (base && big) {
    out.flat = base.works.map((w, i) => ({ id: w.id, label: w.label, value: big.works[i].quire.peakRssBytes / w.quire.peakRssBytes }));
  }
  return out;
}

const fmtMs = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const fmtMB = (b) => `${(b / 1e6).toFixed(0)} MB`;

/** The table of a whole-file scenario (report.mjs calls it); returns nothing, counts errors via countErr. */
export function printWhole(s, out, countErr, table) {
  const rows = [['file', 'work', 'runs', 'quire', 'quire RSS', 'sqlite3', 'sqlite3 RSS', 'quire/sqlite3', 'goal']];
  for (const size of s.sizes) {
    const ds = size.dataset;
    for (const w of size.works) {
      const goals = [];
      if (w.goal) goals.push(`time ≤ ${w.goal.max}×: ${w.goal.met ? 'MET' : 'NOT MET'}`);
      goals.push(`RSS ≤ ${fmtMB(w.rssGoal.maxBytes)}: ${w.rssGoal.met ? 'MET' : 'NOT MET'}`);
      rows.push([`${(ds.bytes / 1e6).toFixed(0)} MB`, w.label, String(w.quire.samplesMs.length), fmtMs(w.quire.medianMs), fmtMB(w.quire.peakRssBytes), `${fmtMs(w.sqlite.medianMs)} (${w.sqliteLabel})`, fmtMB(w.sqlite.peakRssBytes), `${w.ratio.toFixed(2)}×`, goals.join('; ')]);
    }
  }
  for (const line of table(rows, ['r', 'l', 'r', 'r', 'r', 'l', 'r', 'r', 'l'])) out('  ' + line);
  for (const f of s.flat ?? []) out(`  quire ${f.label} peak RSS, big file / base file: ${f.value.toFixed(2)}× (≈1: flat)`);
  for (const size of s.sizes) {
    for (const w of size.works) {
      if (w.quire.result !== undefined && w.sqlite.result !== undefined) out(`  ${w.label}, ${(size.dataset.bytes / 1e6).toFixed(0)} MB: result pages quire ${w.quire.result}, SQLite ${w.sqlite.result}`);
      for (const e of w.errors) countErr(`  ERROR ${w.label} (${(size.dataset.bytes / 1e6).toFixed(0)} MB): ${e}`);
    }
  }
}

/** --verify: one verdict per work and side ('ok' or what was wrong). */
export function wholeVerdicts(s) {
  const v = [];
  for (const size of s.sizes) for (const w of size.works) v.push([`${size.id}/${w.id}`, w.errors.length ? w.errors.join('; ') : 'ok']);
  return v;
}
