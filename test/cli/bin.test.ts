/**
 * The built `quire` executable (dist/cli.js) driven as a user drives it: help and version,
 * usage errors, pipes (a reader that goes away, a full disk, a slow reader), signals in the
 * middle of the commands that write, and read-only files (as an unprivileged user where the
 * machine allows it). Every case asserts the exit code, stdout and stderr.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../util/tmp.js';
import { VERSION } from '../../src/version.js';
import { COMMANDS } from '../../src/cli/main.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'dist', 'cli.js');

interface Run {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function quire(args: string[], options: { input?: string; cwd?: string } = {}): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input: options.input, cwd: options.cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a shell pipeline; `$Q` is the quire command. Returns quire's status via PIPESTATUS. */
function pipeline(script: string, cwd: string): Run {
  // The executable itself, as the installed `quire` runs (its #! line sets node's options).
  chmodSync(bin, 0o755);
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd, env: { ...process.env, Q: bin } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function makeDb(file: string, rows: number, options: { wal?: boolean; pad?: number; index?: boolean } = {}): void {
  const db = new BetterSqlite(file);
  if (options.wal) db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, pad BLOB)');
  if (options.index) db.exec('CREATE INDEX t_v ON t(v)');
  const ins = db.prepare('INSERT INTO t(v, pad) VALUES (?, zeroblob(?))');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(`value ${i}`, options.pad ?? 0);
  })();
  if (options.wal) db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  for (const s of ['-wal', '-shm']) if (existsSync(file + s)) throw new Error(`${file}${s} left by the fixture`);
}

/** Name → size and mtime of every entry of `dir`. */
function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(dir).sort()) {
    const st = statSync(path.join(dir, n));
    out[n] = `${st.size}:${st.mtimeMs}`;
  }
  return out;
}

describe('quire help', () => {
  it('quire --help lists every command; with no command it is a usage error', () => {
    const r = quire(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c.name}\\s+${c.summary.replace(/[()[\]+.*?^$|\\]/g, '\\$&')}$`, 'm'));
    expect(r.stdout).toContain('exit status: 0 ok, 1 failure');
    expect(quire(['-h']).stdout).toBe(r.stdout);
    const none = quire([]);
    expect(none).toEqual({ code: 2, stdout: '', stderr: r.stdout });
  });

  for (const c of COMMANDS) {
    it(`quire ${c.name} --help shows its usage, every option with its default, and an example`, () => {
      const r = quire([c.name, '--help']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.startsWith(`usage: quire ${c.name} ${c.args}`)).toBe(true);
      for (const o of c.options) {
        const line = r.stdout.split('\n').findIndex((l) => new RegExp(`^  (-\\w, |    )--${o.name}\\b`).test(l));
        expect(line, o.name).toBeGreaterThan(0);
        const text = r.stdout.split('\n').slice(line, line + 2).join(' ');
        expect(text).toContain(o.help);
        if (o.default !== undefined) expect(text).toContain(`(default: ${o.default})`);
      }
      expect(r.stdout).toMatch(/examples:\n  quire /);
      expect(quire([c.name, '-h']).stdout).toBe(r.stdout);
    });
  }

  it('-V and --version print the version', () => {
    expect(quire(['-V'])).toEqual({ code: 0, stdout: `quire ${VERSION}\n`, stderr: '' });
    expect(quire(['--version'])).toEqual({ code: 0, stdout: `quire ${VERSION}\n`, stderr: '' });
  });

  it('an unknown option or command is a usage error naming the nearest one', () => {
    expect(quire(['export', 'a.db', 't', '--fromat', 'csv'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'quire: usage: unknown option --fromat (did you mean --format?)\n',
    });
    expect(quire(['bakup', 'a', 'b'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'quire: usage: unknown command "bakup" (did you mean backup?); quire --help lists the commands\n',
    });
    const missing = quire(['backup', 'a.db']);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe('quire: usage: backup: missing DST\nusage: quire backup SRC DST [options] (quire backup --help for more)\n');
    expect(quire(['backup', 'a.db', 'b.db', '--manifest', 'm.json'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'quire: usage: --manifest needs --forensic\n',
    });
  });
});

describe('quire and pipes', () => {
  let dir = '';
  let db = '';
  beforeAll(() => {
    dir = tempDir();
    db = path.join(dir, 'big.db');
    makeDb(db, 200_000);
  });

  it('export | head -1: exit 0, one line, nothing on stderr', () => {
    const r = pipeline(`$Q export big.db t 2>err | head -1; echo "\${PIPESTATUS[0]}" >code`, dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('[1,1,"value 0",{"blob":""}]\n');
    expect(readFileSync(path.join(dir, 'err'), 'utf8')).toBe('');
    expect(readFileSync(path.join(dir, 'code'), 'utf8')).toBe('0\n');
  });

  it('> /dev/full: FULL, exit 1, for commands that stream and those that print at once', () => {
    if (!existsSync('/dev/full')) return expect.fail('no /dev/full on this machine');
    for (const args of ['export big.db t', 'info big.db', '--help', '-V', 'tables big.db']) {
      const r = pipeline(`$Q ${args} > /dev/full`, dir);
      expect(r, args).toEqual({ code: 1, stdout: '', stderr: 'quire: FULL: cannot write to standard output: no space left on device\n' });
    }
  });

  it('a reader gone before quire writes (EPIPE): exit 0, nothing on stderr', () => {
    for (const args of ['info big.db', '--help', 'check big.db']) {
      const r = pipeline(`(sleep 0.3; $Q ${args} 2>err; echo $? >code) | true`, dir);
      expect(r.code, args).toBe(0);
      expect(readFileSync(path.join(dir, 'err'), 'utf8'), args).toBe('');
      expect(readFileSync(path.join(dir, 'code'), 'utf8'), args).toBe('0\n');
    }
  });

  it('export of 1M rows into wc -l and into a slow reader: every line, peak RSS at most 96 MB', () => {
    // The slow reader sleeps before reading: the whole output would wait in quire's memory
    // unless it honours backpressure. /usr/bin/time -f %M gives the peak RSS in KiB.
    const big = path.join(dir, 'million.db');
    makeDb(big, 1_000_000);
    for (const reader of ['wc -l', '(sleep 5; wc -l)']) {
      const r = pipeline(
        `/usr/bin/time -f %M -o rss $Q export million.db t 2>err | ${reader}; echo "\${PIPESTATUS[0]}" >code`,
        dir,
      );
      expect(readFileSync(path.join(dir, 'err'), 'utf8')).toBe('');
      expect(readFileSync(path.join(dir, 'code'), 'utf8')).toBe('0\n');
      expect(r.stdout.trim()).toBe('1000000');
      const kib = Number(readFileSync(path.join(dir, 'rss'), 'utf8').trim().split('\n').pop());
      expect(kib, reader).toBeGreaterThan(1000);
      expect(kib / 1024, reader).toBeLessThanOrEqual(96);
    }
  }, 120_000);
});

/** Starts quire, waits until `ready()` holds (polling), sends `sig`, and waits for the end. */
async function interrupt(args: string[], cwd: string, sig: NodeJS.Signals, ready: () => boolean, input?: (w: NodeJS.WritableStream) => void): Promise<Run> {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (input) input(child.stdin);
  const ended = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  const deadline = Date.now() + 30_000;
  let sent = false;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (ready()) {
      child.kill(sig);
      sent = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const r = await ended;
  if (!sent) throw new Error(`the command ended before it could be interrupted: ${JSON.stringify(r)}`);
  return r;
}

const tmpFiles = (dir: string, what: string) => readdirSync(dir).some((n) => n.includes(what));

describe('signals: nothing changed, nothing left behind', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir();
    // About 50 MB.
    makeDb(path.join(dir, 'src.db'), 24_000, { pad: 2000, index: true });
  });

  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${sig} during backup: no temp file, no destination, exit ${code}`, async () => {
      const before = listing(dir);
      const r = await interrupt(['backup', 'src.db', 'copy.db', '--pages', '4'], dir, sig, () => tmpFiles(dir, '.quire-tmp-'));
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`quire: interrupted (${sig}); nothing was changed\n`);
      expect(r.code).toBe(code);
      expect(listing(dir)).toEqual(before);
    });

    it(`${sig} during backup over an existing copy leaves that copy as it was`, async () => {
      const sub = tempDir();
      makeDb(path.join(sub, 'copy.db'), 10);
      const old = readFileSync(path.join(sub, 'copy.db'));
      const before = listing(sub);
      const r = await interrupt(['backup', path.join(dir, 'src.db'), 'copy.db', '--pages', '4'], sub, sig, () => tmpFiles(sub, '.quire-tmp-'));
      expect(r.code).toBe(code);
      expect(r.stderr).toBe(`quire: interrupted (${sig}); nothing was changed\n`);
      expect(listing(sub)).toEqual(before);
      expect(readFileSync(path.join(sub, 'copy.db')).equals(old)).toBe(true);
    });

    it(`${sig} during vacuum: database unchanged, no scratch or journal, exit ${code}`, async () => {
      const sub = tempDir();
      const file = path.join(sub, 'v.db');
      writeFileSync(file, readFileSync(path.join(dir, 'src.db')));
      const old = readFileSync(file);
      const before = listing(sub);
      const r = await interrupt(['vacuum', 'v.db'], sub, sig, () => tmpFiles(sub, '.quire-scratch-'));
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`quire: interrupted (${sig}); nothing was changed\n`);
      expect(r.code).toBe(code);
      expect(listing(sub)).toEqual(before);
      expect(readFileSync(file).equals(old)).toBe(true);
    });

    it(`${sig} during import: no new file, exit ${code}`, async () => {
      const sub = tempDir();
      const before = listing(sub);
      let written = false;
      const r = await interrupt(
        ['import', 'new.db', 't', '--create', 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)'],
        sub,
        sig,
        () => written,
        (w) => {
          // Rows, then standard input stays open: quire is mid-import when the signal comes.
          // More than a pipe holds, so the write completes only once quire has read most of it.
          let s = '';
          for (let i = 1; i <= 60_000; i++) s += `[${i},${i},"v${i}"]\n`;
          w.write(s, () => (written = true));
        },
      );
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`quire: interrupted (${sig}); nothing was changed\n`);
      expect(r.code).toBe(code);
      expect(listing(sub)).toEqual(before);
    });
  }
});

/** Runs as an unprivileged user when we are root (access checks do not apply to root). */
function asUser(): string[] | null {
  if (process.getuid?.() !== 0) return [];
  const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(bin)})`]);
  return probe.status === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : null;
}

describe('read-only files', () => {
  const prefix = asUser();
  const run = (args: string[], cwd: string): Run => {
    const [cmd, ...rest] = [...prefix!, process.execPath, bin, ...args];
    const r = spawnSync(cmd, rest, { cwd, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  let dir = '';
  beforeAll(() => {
    dir = tempDir();
    chmodSync(dir, 0o777);
  });

  it.runIf(prefix !== null)('vacuum of a read-only file is READONLY and leaves nothing', () => {
    makeDb(path.join(dir, 'ro.db'), 100);
    chmodSync(path.join(dir, 'ro.db'), 0o444);
    const before = listing(dir);
    expect(run(['vacuum', 'ro.db'], dir)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'quire: READONLY: attempt to write a readonly database: ro.db is not writable\n',
    });
    expect(listing(dir)).toEqual(before);
    // And again: no journal was left for the next run to trip over.
    expect(run(['vacuum', 'ro.db'], dir).code).toBe(1);
    expect(run(['check', 'ro.db'], dir)).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it.runIf(prefix !== null)('a write in a read-only directory is READONLY', () => {
    const sub = path.join(dir, 'rodir');
    spawnSync('mkdir', [sub]);
    makeDb(path.join(sub, 'w.db'), 10);
    chmodSync(path.join(sub, 'w.db'), 0o666);
    chmodSync(sub, 0o555);
    try {
      expect(run(['vacuum', 'rodir/w.db'], dir)).toEqual({
        code: 1,
        stdout: '',
        stderr: 'quire: READONLY: attempt to write a readonly database: the directory of rodir/w.db is not writable (needed for its journal)\n',
      });
      expect(run(['backup', 'rodir/w.db', 'rodir/copy.db'], dir)).toEqual({
        code: 1,
        stdout: '',
        stderr: 'quire: READONLY: cannot create rodir/copy.db: its directory is not writable\n',
      });
      expect(readdirSync(sub)).toEqual(['w.db']);
    } finally {
      // Writable again, so that the directory can be removed when the tests run as non-root.
      chmodSync(sub, 0o755);
    }
  });

  it.runIf(prefix !== null)('an unreadable source is CANTOPEN', () => {
    makeDb(path.join(dir, 'secret.db'), 10);
    chmodSync(path.join(dir, 'secret.db'), 0o000);
    expect(run(['backup', 'secret.db', 'copy.db'], dir)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'quire: CANTOPEN: cannot open secret.db: permission denied\n',
    });
    expect(existsSync(path.join(dir, 'copy.db'))).toBe(false);
  });

  it('backup refuses a read-only destination (as cp does) and keeps a replaced one\'s mode', () => {
    const sub = tempDir();
    makeDb(path.join(sub, 'a.db'), 50);
    makeDb(path.join(sub, 'ro.db'), 5);
    chmodSync(path.join(sub, 'ro.db'), 0o444);
    const old = readFileSync(path.join(sub, 'ro.db'));
    expect(quire(['backup', 'a.db', 'ro.db'], { cwd: sub })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'quire: READONLY: destination ro.db is read-only; not replaced\n',
    });
    expect(readFileSync(path.join(sub, 'ro.db')).equals(old)).toBe(true);
    makeDb(path.join(sub, 'keep.db'), 5);
    chmodSync(path.join(sub, 'keep.db'), 0o640);
    expect(quire(['backup', 'a.db', 'keep.db'], { cwd: sub }).code).toBe(0);
    expect(statSync(path.join(sub, 'keep.db')).mode & 0o777).toBe(0o640);
    expect(readdirSync(sub).sort()).toEqual(['a.db', 'keep.db', 'ro.db']);
  });

  it('export --output refuses a read-only file and keeps a replaced file\'s mode', () => {
    const sub = tempDir();
    makeDb(path.join(sub, 'a.db'), 5);
    writeFileSync(path.join(sub, 'ro.jsonl'), 'old\n');
    chmodSync(path.join(sub, 'ro.jsonl'), 0o444);
    expect(quire(['export', 'a.db', 't', '-o', 'ro.jsonl'], { cwd: sub })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'quire: READONLY: ro.jsonl is read-only; not replaced\n',
    });
    expect(readFileSync(path.join(sub, 'ro.jsonl'), 'utf8')).toBe('old\n');
    writeFileSync(path.join(sub, 'private.jsonl'), 'old\n');
    chmodSync(path.join(sub, 'private.jsonl'), 0o600);
    expect(quire(['export', 'a.db', 't', '-o', 'private.jsonl'], { cwd: sub })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(statSync(path.join(sub, 'private.jsonl')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(sub, 'private.jsonl'), 'utf8').split('\n').length).toBe(6);
    expect(readdirSync(sub).sort()).toEqual(['a.db', 'private.jsonl', 'ro.jsonl']);
  });

  it('backup --forensic checks the manifest\'s place before copying', () => {
    const sub = tempDir();
    makeDb(path.join(sub, 'a.db'), 5);
    expect(quire(['backup', 'a.db', 'f.db', '--forensic', '--manifest', 'nodir/m.json'], { cwd: sub })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'quire: CANTOPEN: cannot create nodir/m.json: no such directory nodir\n',
    });
    expect(readdirSync(sub)).toEqual(['a.db']);
  });

  it('errors name the user\'s paths, not temporary files', () => {
    const sub = tempDir();
    makeDb(path.join(sub, 'a.db'), 5);
    expect(quire(['backup', 'a.db', 'missing/copy.db'], { cwd: sub })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'quire: CANTOPEN: cannot create missing/copy.db: no such directory missing\n',
    });
    expect(quire(['info', 'nope.db'], { cwd: sub })).toEqual({ code: 1, stdout: '', stderr: 'quire: CANTOPEN: cannot open nope.db: no such file\n' });
    expect(readdirSync(sub)).toEqual(['a.db']);
  });

  it('a failed import into a new path leaves no file', () => {
    const sub = tempDir();
    const r = quire(['import', 'new.db', 't', '--create', 'CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT)'], { cwd: sub, input: '[1,1,"a"]\nnot json\n' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^quire: MISUSE: line 2: not JSON/);
    expect(readdirSync(sub)).toEqual([]);
  });
});

describe('the bin runs under any name', () => {
  it('through a symlink named quire (as npm links it)', () => {
    const sub = tempDir();
    spawnSync('ln', ['-s', bin, path.join(sub, 'quire')]);
    chmodSync(bin, 0o755);
    accessSync(path.join(sub, 'quire'), constants.X_OK);
    const r = spawnSync(path.join(sub, 'quire'), ['-V'], { encoding: 'utf8' });
    expect({ code: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `quire ${VERSION}\n`, stderr: '' });
  });
});
