// A real SQLite writer for the live-copy tests: runs in a child process and keeps invariants
// in every transaction while quire copies the file.
//
//   node writer.mjs setup <db> <journal_mode> <bigRows>
//   node writer.mjs run <db> <json options>
//
// Invariants (checked on every copy by test/live/invariants.ts):
//   accounts: sum(balance) = 0 (each transaction moves money between two accounts)
//   meta.commits = n, and log holds exactly the rows seq = max(1, n-window+1) .. n
//   sum(big.val) = meta.bigsum (each transaction bumps 5 scattered rows of a large table)
//
// `run` options: { rateHz (0 = as fast as possible), durationMs, burstMs, gapMs,
//   checkpointEvery (commits; cycles PASSIVE, RESTART, TRUNCATE), spillEvery (commits: a big
//   transaction that spills the cache and then rolls back), window, seed }.
// It prints one JSON line of counters when it stops (SIGTERM or duration reached).
//
// Control: started with an IPC channel (test/live.test.ts), it answers messages
// { id, cmd, ... } with { id, counters, result?, error? }, so a test drives it to a known state
// instead of sleeping. A command runs between transactions (the loop is synchronous).
//   status                       the counters
//   pause / resume               stop / restart the free-running loop (`paused: true` in the
//                                options starts it paused); pause answers with no transaction open
//   commit { n }                 n transactions now (the checkpoint and spill schedules apply)
//   checkpoint { kind }          PRAGMA wal_checkpoint(kind); result: its [busy, log, checkpointed]
//   hold { spill }               BEGIN IMMEDIATE and one transaction's writes, left open (with
//                                spill: also a big update through a 4-page cache, so pages of the
//                                open transaction are written into the db file); the loop waits
//   end { commit }               COMMIT (counted) or ROLLBACK of the held transaction
//   wait { commits, spills, checkpoints }
//                                answered once the counters reach at least these (checkpoints:
//                                of any kind); the free-running loop keeps going meanwhile
//   stop                         like SIGTERM
//   resetMax                     maxCommitMs (the longest transaction, busy waits included,
//                                since the last resetMax) back to 0; answers with it before
import Database from 'better-sqlite3';

const [, , cmd, file, arg3, arg4] = process.argv;

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

if (cmd === 'setup') {
  const mode = arg3;
  const bigRows = Number(arg4);
  const db = new Database(file);
  db.pragma(`journal_mode = ${mode}`);
  db.exec(`
    CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
    CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);
    CREATE TABLE log(seq INTEGER PRIMARY KEY, commit_no INTEGER NOT NULL, payload BLOB);
    CREATE TABLE big(id INTEGER PRIMARY KEY, val INTEGER NOT NULL, pad BLOB);
    CREATE INDEX big_val ON big(val);
  `);
  db.transaction(() => {
    const a = db.prepare('INSERT INTO accounts(id, balance) VALUES (?, 0)');
    for (let i = 1; i <= 100; i++) a.run(i);
    db.prepare("INSERT INTO meta VALUES ('commits', 0), ('bigsum', 0)").run();
    const b = db.prepare('INSERT INTO big(id, val, pad) VALUES (?, 0, randomblob(?))');
    for (let i = 1; i <= bigRows; i++) b.run(i, 100 + (i % 700));
  })();
  db.close();
  process.exit(0);
}

if (cmd === 'run') {
  const o = JSON.parse(arg3);
  const window = o.window ?? 50;
  const random = rng(o.seed ?? 1);
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  const bigRows = db.prepare('SELECT count(*) AS c FROM big').get().c;
  const getN = db.prepare("SELECT v FROM meta WHERE k = 'commits'");
  const setN = db.prepare("UPDATE meta SET v = ? WHERE k = 'commits'");
  const move = db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?');
  const logIns = db.prepare('INSERT INTO log(seq, commit_no, payload) VALUES (?, ?, randomblob(?))');
  const logDel = db.prepare('DELETE FROM log WHERE seq <= ?');
  const bump = db.prepare('UPDATE big SET val = val + 1 WHERE id = ?');
  const bigsum = db.prepare("UPDATE meta SET v = v + 5 WHERE k = 'bigsum'");
  const spillUpd = db.prepare('UPDATE big SET pad = randomblob(length(pad)) WHERE id % 3 = ? AND id <= 600');

  const counters = { commits: 0, checkpoints: { PASSIVE: 0, RESTART: 0, TRUNCATE: 0 }, spills: 0, errors: 0, maxCommitMs: 0 };
  const kinds = ['PASSIVE', 'RESTART', 'TRUNCATE'];
  /** One transaction's writes: every invariant holds again at its end. */
  const body = () => {
    const n = getN.get().v + 1;
    const a = 1 + Math.floor(random() * 100);
    let b = 1 + Math.floor(random() * 100);
    if (b === a) b = (a % 100) + 1;
    const amt = 1 + Math.floor(random() * 1000);
    move.run(-amt, a);
    move.run(amt, b);
    logIns.run(n, n, 50 + Math.floor(random() * 2000));
    logDel.run(n - window);
    for (let k = 0; k < 5; k++) bump.run(1 + Math.floor(random() * bigRows));
    bigsum.run();
    setN.run(n);
  };
  const txn = db.transaction(body);
  const checkpoint = (kind) => {
    const r = db.prepare(`PRAGMA wal_checkpoint(${kind})`).raw().get();
    counters.checkpoints[kind]++;
    return r;
  };
  /** A big update through a tiny cache: pages of the open transaction reach the db file. */
  const spillInto = () => spillUpd.run(counters.commits % 3);

  /** One transaction, then the checkpoint and spill schedules. */
  function commitOne() {
    const t0 = performance.now();
    try {
      txn();
    } finally {
      counters.maxCommitMs = Math.max(counters.maxCommitMs, performance.now() - t0);
    }
    counters.commits++;
    if (o.checkpointEvery && counters.commits % o.checkpointEvery === 0) checkpoint(kinds[(counters.commits / o.checkpointEvery) % 3]);
    if (o.spillEvery && counters.commits % o.spillEvery === 0) {
      // A transaction too big for a tiny cache: it spills pages into the file, then rolls back.
      db.pragma('cache_size = 4');
      db.exec('BEGIN');
      spillInto();
      db.exec('ROLLBACK');
      db.pragma('cache_size = -2000');
      counters.spills++;
    }
  }

  const sab = new Int32Array(new SharedArrayBuffer(4));
  const sleep = (ms) => { if (ms > 0) Atomics.wait(sab, 0, 0, ms); };
  let stop = false;
  let paused = o.paused === true;
  let held = false;
  process.on('SIGTERM', () => { stop = true; });

  // ---- control over IPC
  const waiters = [];
  const reached = (w) =>
    counters.commits >= (w.commits ?? 0) &&
    counters.spills >= (w.spills ?? 0) &&
    counters.checkpoints.PASSIVE + counters.checkpoints.RESTART + counters.checkpoints.TRUNCATE >= (w.checkpoints ?? 0);
  const answer = (id, extra = {}) => process.send?.({ id, counters, ...extra });
  const wake = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (reached(waiters[i])) answer(waiters.splice(i, 1)[0].id);
    }
  };
  const commands = {
    status: () => undefined,
    pause: () => { paused = true; },
    resume: () => { paused = false; },
    stop: () => { stop = true; },
    resetMax: () => {
      const m = counters.maxCommitMs;
      counters.maxCommitMs = 0;
      return m;
    },
    commit: (m) => { for (let i = 0; i < m.n; i++) commitOne(); },
    checkpoint: (m) => checkpoint(m.kind),
    hold: (m) => {
      if (held) throw new Error('a transaction is already held');
      if (m.spill) db.pragma('cache_size = 4');
      db.exec('BEGIN IMMEDIATE');
      held = true;
      body();
      if (m.spill) spillInto();
    },
    end: (m) => {
      if (!held) throw new Error('no transaction is held');
      db.exec(m.commit ? 'COMMIT' : 'ROLLBACK');
      held = false;
      db.pragma('cache_size = -2000');
      if (m.commit) counters.commits++;
    },
  };
  process.on('message', (m) => {
    if (m.cmd === 'wait') {
      waiters.push(m);
      wake();
      return;
    }
    try {
      const result = commands[m.cmd](m);
      answer(m.id, result === undefined ? {} : { result });
    } catch (e) {
      answer(m.id, { error: String(e?.message ?? e) });
    }
    wake();
  });

  const t0 = Date.now();
  const period = o.rateHz ? 1000 / o.rateHz : 0;
  let next = Date.now();
  // The loop is synchronous (better-sqlite3), so SIGTERM and commands are noticed between slices.
  function slice() {
    const sliceEnd = Date.now() + 50;
    while (!stop && !paused && !held && Date.now() < sliceEnd) {
      if (o.durationMs && Date.now() - t0 >= o.durationMs) { stop = true; break; }
      if (o.burstMs && o.gapMs) {
        const phase = (Date.now() - t0) % (o.burstMs + o.gapMs);
        if (phase >= o.burstMs) { sleep(Math.min(o.burstMs + o.gapMs - phase, sliceEnd - Date.now())); continue; }
      }
      try {
        commitOne();
      } catch (e) {
        counters.errors++;
        if (counters.errors > 1000) throw e;
      }
      if (period) {
        next += period;
        sleep(Math.min(next - Date.now(), sliceEnd - Date.now()));
        if (Date.now() - next > 1000) next = Date.now();
      }
    }
    wake();
    if (stop) {
      if (held) db.exec('ROLLBACK');
      db.close();
      process.stdout.write(JSON.stringify(counters) + '\n');
      process.exit(0);
    }
    // Paused or holding: poll for commands without spinning.
    if (paused || held) setTimeout(slice, 5);
    else setImmediate(slice);
  }
  slice();
}
