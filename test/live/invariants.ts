/** Checks a copy made during a live write: SQLite's integrity_check and the writer's invariants. */
import BetterSqlite from 'better-sqlite3';

export interface CopyFacts {
  commits: number;
}

export function checkInvariants(file: string, window = 50): CopyFacts {
  const db = new BetterSqlite(file, { readonly: true, fileMustExist: true });
  try {
    const ic = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    if (ic.length !== 1 || ic[0].integrity_check !== 'ok') throw new Error(`integrity_check: ${JSON.stringify(ic.slice(0, 5))}`);
    const sum = (db.prepare('SELECT sum(balance) AS s, count(*) AS c FROM accounts').get() as { s: number; c: number });
    if (sum.s !== 0 || sum.c !== 100) throw new Error(`accounts: sum ${sum.s} count ${sum.c}`);
    const n = (db.prepare("SELECT v FROM meta WHERE k = 'commits'").get() as { v: number }).v;
    const log = db.prepare('SELECT count(*) AS c, min(seq) AS lo, max(seq) AS hi, sum(seq = commit_no) AS same FROM log').get() as {
      c: number; lo: number | null; hi: number | null; same: number | null;
    };
    const want = Math.min(n, window);
    if (log.c !== want || (n > 0 && (log.hi !== n || log.lo !== Math.max(1, n - window + 1) || log.same !== want))) {
      throw new Error(`log window: commits ${n}, rows ${JSON.stringify(log)}`);
    }
    const big = db.prepare("SELECT (SELECT sum(val) FROM big) AS s, (SELECT v FROM meta WHERE k = 'bigsum') AS m").get() as { s: number; m: number };
    if (big.s !== big.m) throw new Error(`big: sum(val) ${big.s}, meta ${big.m}`);
    return { commits: n };
  } finally {
    db.close();
  }
}
