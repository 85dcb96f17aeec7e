/**
 * quire verify checks every file a forensic manifest lists: the copy and each raw side-file
 * copy (`<copy>.source-wal`, `-journal`, `-shm`) made by `backup --forensic --side-files`.
 * A changed, missing or extra side-file copy fails naming the file; the evidence folder can
 * be moved (copy, side files and manifest together) and still verifies.
 *
 * Sources are made by real SQLite: a WAL database held open by a connection (so its -wal and
 * -shm exist while quire copies), and a rollback database with a hot journal (a crash in the
 * middle of a transaction whose cache spilled).
 */
import { describe, expect, it } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../util/tmp.js';
import { cli } from './run.js';
import { crashedCopy } from '../util/hot-journal.js';

function dir(): string {
  return tempDir('quire-verify-');
}

function fill(db: BetterSqlite.Database, rows: number): void {
  db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
  const ins = db.prepare('INSERT INTO t(v) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(`value ${i} `.repeat(4));
  })();
}

/** A WAL database with committed frames in its -wal and a -shm, held open by SQLite. */
function walSource(d: string): { src: string; close: () => void } {
  const src = path.join(d, 'live.db');
  const db = new BetterSqlite(src);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  fill(db, 300);
  db.exec("UPDATE t SET v = 'changed' WHERE id % 7 = 0");
  expect(existsSync(src + '-wal') && existsSync(src + '-shm')).toBe(true);
  return { src, close: () => db.close() };
}

/** A rollback-mode database left by a crash: the file holds spilled pages, the journal is hot. */
function hotSource(d: string): { src: string; close: () => void } {
  const scratch = path.join(d, 'scratch.db');
  const s = new BetterSqlite(scratch);
  fill(s, 3000);
  s.close();
  const src = path.join(d, 'crashed.db');
  crashedCopy(scratch, src, "UPDATE t SET v = v || 'x'");
  return { src, close: () => undefined };
}

const sources = {
  wal: { make: walSource, sides: ['wal', 'shm'], args: [] as string[] },
  rollback: { make: hotSource, sides: ['journal'], args: ['--hot-journal', 'apply'] },
};

/** backup --forensic --side-files into `<d>/evidence/copy.db`; returns the evidence folder's paths. */
async function forensicCopy(mode: keyof typeof sources): Promise<{ folder: string; copy: string; manifest: string }> {
  const d = dir();
  const { make, args } = sources[mode];
  const srcDir = path.join(d, 'source');
  mkdirSync(srcDir);
  const { src, close } = make(srcDir);
  const listing = readdirSync(srcDir).sort();
  const folder = path.join(d, 'evidence');
  mkdirSync(folder);
  const copy = path.join(folder, 'copy.db');
  try {
    const r = await cli(['backup', src, copy, '--forensic', '--side-files', ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Nothing was written beside the source (reading its -shm creates nothing either).
    expect(readdirSync(srcDir).sort()).toEqual(listing);
  } finally {
    close();
  }
  return { folder, copy, manifest: copy + '.manifest.json' };
}

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function flipByte(file: string, at: number): void {
  const b = readFileSync(file);
  b[at % b.length] ^= 0x40;
  writeFileSync(file, b);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe.each(['wal', 'rollback'] as const)('quire verify, %s source', (mode) => {
  const sides = sources[mode].sides;

  it('--side-files copies and hashes each side file; verify says ok', async () => {
    const { copy, manifest } = await forensicCopy(mode);
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    expect(m.format).toBe('quire-forensic-manifest/2');
    expect(Object.keys(m.sideFiles).sort()).toEqual([...sides].sort());
    for (const k of sides) {
      const file = `${copy}.source-${k}`;
      expect(m.sideFiles[k].name).toBe(`copy.db.source-${k}`);
      expect(m.sideFiles[k].sha256).toBe(sha(file));
      expect(m.sideFiles[k].size).toBe(readFileSync(file).length);
    }
    expect(m.copy.name).toBe('copy.db');
    const r = await cli(['verify', manifest, copy]);
    expect(r).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('a changed side-file copy fails, naming it', async () => {
    const { copy, manifest } = await forensicCopy(mode);
    for (const k of sides) {
      const file = `${copy}.source-${k}`;
      const orig = readFileSync(file);
      flipByte(file, 100);
      const r = await cli(['verify', manifest, copy]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(
        new RegExp(`^${escape(file)}: changed \\(SHA-256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}\\)\n$`),
      );
      writeFileSync(file, orig);
      // Truncated: the size is named too.
      writeFileSync(file, orig.subarray(0, orig.length - 1));
      const t = await cli(['verify', manifest, copy]);
      expect(t.code).toBe(1);
      expect(t.stdout).toMatch(new RegExp(`^${escape(file)}: changed \\(size is ${orig.length - 1}, the manifest says ${orig.length}; SHA-256 is `));
      writeFileSync(file, orig);
      expect(await cli(['verify', manifest, copy])).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    }
  });

  it('a missing side-file copy fails, naming it', async () => {
    const { copy, manifest } = await forensicCopy(mode);
    for (const k of sides) {
      const file = `${copy}.source-${k}`;
      const orig = readFileSync(file);
      unlinkSync(file);
      const r = await cli(['verify', manifest, copy]);
      expect(r).toEqual({ code: 1, stdout: `${file}: missing\n`, stderr: '' });
      writeFileSync(file, orig);
    }
    expect(await cli(['verify', manifest, copy])).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('an extra <copy>.source-* file fails, naming it', async () => {
    const { copy, manifest } = await forensicCopy(mode);
    const extra = `${copy}.source-x`;
    writeFileSync(extra, 'planted');
    const r = await cli(['verify', manifest, copy]);
    expect(r).toEqual({ code: 1, stdout: `${extra}: extra (a side-file copy the manifest does not list)\n`, stderr: '' });
    // A side file kind the manifest does not hold (here: the other mode's) is extra as well.
    unlinkSync(extra);
    const other = `${copy}.source-${mode === 'wal' ? 'journal' : 'shm'}`;
    writeFileSync(other, 'planted');
    const o = await cli(['verify', manifest, copy]);
    expect(o).toEqual({ code: 1, stdout: `${other}: extra (a side-file copy the manifest does not list)\n`, stderr: '' });
  });

  it('the evidence folder moved elsewhere still verifies, against the files beside the copy', async () => {
    const { folder, copy, manifest } = await forensicCopy(mode);
    const moved = path.join(path.dirname(folder), 'moved', 'case-17');
    mkdirSync(path.dirname(moved));
    renameSync(folder, moved);
    const newCopy = path.join(moved, path.basename(copy));
    const newManifest = path.join(moved, path.basename(manifest));
    expect(await cli(['verify', newManifest, newCopy])).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    // Relative paths, as a user in the folder would type them.
    const cwd = process.cwd();
    process.chdir(moved);
    try {
      expect(await cli(['verify', 'copy.db.manifest.json', 'copy.db'])).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
      flipByte(`copy.db.source-${sides[0]}`, 40);
      const r = await cli(['verify', 'copy.db.manifest.json', 'copy.db']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^copy\\.db\\.source-${sides[0]}: changed \\(SHA-256 is `));
    } finally {
      process.chdir(cwd);
    }
  });

  it('a renamed copy verifies with its side files under either name; extras under either are named', async () => {
    const { folder, copy, manifest } = await forensicCopy(mode);
    const renamed = path.join(folder, 'item-4.db');
    renameSync(copy, renamed);
    expect(await cli(['verify', manifest, renamed])).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    for (const k of sides) renameSync(`${copy}.source-${k}`, `${renamed}.source-${k}`);
    expect(await cli(['verify', manifest, renamed])).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    writeFileSync(`${copy}.source-x`, 'planted');
    expect(await cli(['verify', manifest, renamed])).toEqual({
      code: 1,
      stdout: `${copy}.source-x: extra (a side-file copy the manifest does not list)\n`,
      stderr: '',
    });
  });

  it('reads a format-1 manifest (absolute side-file paths only)', async () => {
    const { folder, copy, manifest } = await forensicCopy(mode);
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    m.format = 'quire-forensic-manifest/1';
    delete m.copy.name;
    for (const k of Object.keys(m.sideFiles)) delete m.sideFiles[k].name;
    writeFileSync(manifest, JSON.stringify(m));
    expect(await cli(['verify', manifest, copy])).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    const moved = folder + '-moved';
    renameSync(folder, moved);
    const newCopy = path.join(moved, 'copy.db');
    expect(await cli(['verify', path.join(moved, 'copy.db.manifest.json'), newCopy])).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
    const file = `${newCopy}.source-${sides[0]}`;
    unlinkSync(file);
    expect(await cli(['verify', path.join(moved, 'copy.db.manifest.json'), newCopy])).toEqual({
      code: 1,
      stdout: `${file}: missing\n`,
      stderr: '',
    });
  });
});

describe('quire backup --forensic --side-files over an earlier copy', () => {
  it('removes the side-file copies the new source does not have: the new set verifies', async () => {
    const { copy, manifest } = await forensicCopy('wal');
    expect(existsSync(`${copy}.source-wal`) && existsSync(`${copy}.source-shm`)).toBe(true);
    const d = dir();
    const { src } = hotSource(d);
    const r = await cli(['backup', src, copy, '--forensic', '--side-files', '--hot-journal', 'apply']);
    expect(r.code).toBe(0);
    expect(readdirSync(path.dirname(copy)).sort()).toEqual(['copy.db', 'copy.db.manifest.json', 'copy.db.source-journal']);
    expect(await cli(['verify', manifest, copy])).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });
});

describe('quire verify output', () => {
  it('--json lists every file with its status; the copy is named in its problems', async () => {
    const { copy, manifest } = await forensicCopy('wal');
    const ok = await cli(['verify', manifest, copy, '--json']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
    const j = JSON.parse(ok.stdout);
    expect(j.ok).toBe(true);
    expect(j.problems).toEqual([]);
    expect(j.files.map((f: { file: string; status: string }) => [f.file, f.status])).toEqual([
      [copy, 'ok'],
      [`${copy}.source-wal`, 'ok'],
      [`${copy}.source-shm`, 'ok'],
    ]);
    flipByte(copy, 4096 + 10);
    unlinkSync(`${copy}.source-shm`);
    const bad = await cli(['verify', manifest, copy]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('');
    expect(bad.stdout.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${escape(copy)}: SHA-256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}$`)),
      `${copy}: page 2 differs`,
      `${copy}.source-shm: missing`,
      '',
    ]);
  });

  it('a manifest that is not one is MISUSE; a missing copy CANTOPEN, naming it', async () => {
    const d = dir();
    const notManifest = path.join(d, 'm.json');
    writeFileSync(notManifest, '{"format":"something-else"}');
    const db = path.join(d, 'a.db');
    writeFileSync(db, new Uint8Array(4096));
    const r = await cli(['verify', notManifest, db]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^quire: MISUSE: not a quire forensic manifest/);
    const { manifest } = await forensicCopy('rollback');
    const missing = path.join(d, 'nope.db');
    const m = await cli(['verify', manifest, missing]);
    expect(m.code).toBe(1);
    expect(m.stdout).toBe('');
    expect(m.stderr).toBe(`quire: CANTOPEN: cannot open ${missing}: no such file\n`);
  });
});
