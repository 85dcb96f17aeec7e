/**
 * The package as users get it: `npm pack`, installed from the tarball into a fresh project,
 * then used the ways people use it — the bin through node_modules/.bin and npx, ESM import
 * and CommonJS require of both entry points (one Database class for both, `instanceof`
 * across them), and TypeScript type checks of a small usage file under every module
 * resolution people configure (node16 in ESM and CommonJS projects, nodenext, bundler,
 * node10). Plus: the core imports no Node built-in, versions agree.
 *
 * npm test builds dist first; the pack here uses it as it is (no lifecycle scripts).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../src/version.js';
import { tempDir } from './util/tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const fixture = path.join(root, 'fixtures/out/example.db');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Run {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let work = '';
/** A fresh project with the packed tarball installed. */
let project = '';

/** A fresh project of `type` with `quire` installed from the tarball (node_modules copied). */
function tsProject(name: string, type: 'module' | 'commonjs', compilerOptions: Record<string, unknown>): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, type }));
  // The installed package, shared by symlink-free copy of node_modules/quire.
  execFileSync('cp', ['-r', path.join(project, 'node_modules'), dir]);
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, types: [], lib: ['es2022', 'dom'], ...compilerOptions }, files: ['use.ts'] }),
  );
  writeFileSync(path.join(dir, 'use.ts'), USE);
  return dir;
}

/** Type-checked in ESM and CommonJS projects alike (tsc turns the imports into requires there). */
const USE = `import { Database, MemoryStorage, QuireError, isQuireError } from 'quire';
import { openDatabase, NodeFileStorage } from 'quire/node';
import { ReadDatabase, HttpStorage } from 'quire/read';
export async function use(p: string): Promise<number> {
  const db: Database = await openDatabase(p);
  const mem = await Database.memory();
  const rowid: number | bigint = await mem.transaction(async (tx) => {
    await tx.exec('CREATE TABLE t(a)');
    return tx.insert('t', { a: 1 });
  });
  const s: MemoryStorage = new MemoryStorage();
  const reader: ReadDatabase = db;
  void s; void NodeFileStorage; void reader; void HttpStorage;
  try { await db.get('nope', 1); } catch (e) { if (e instanceof QuireError && isQuireError(e)) return -1; }
  await db.close();
  return Number(rowid);
}
`;

describe('package', () => {
  beforeAll(() => {
    work = tempDir('quire-pack-');
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root, encoding: 'utf8' }));
    const tarball = path.join(work, packed[0].filename);
    project = path.join(work, 'app');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }));
    const r = run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], project);
    expect(r.code, r.stderr).toBe(0);
    copyFileSync(fixture, path.join(project, 'app.db'));
  }, 180_000);

  it('version in package.json equals the VERSION constant', () => {
    expect(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version).toBe(VERSION);
  });

  it('the tarball holds dist and the README, not sources or tests', () => {
    const installed = path.join(project, 'node_modules', 'quire');
    const names = readdirSync(installed).sort();
    expect(names).toEqual(expect.arrayContaining(['README.md', 'dist', 'package.json']));
    for (const n of names) expect(['README.md', 'dist', 'package.json', 'LICENSE']).toContain(n);
  });

  it('the installed bin runs through node_modules/.bin and npx', () => {
    for (const [cmd, args] of [
      [path.join(project, 'node_modules', '.bin', 'quire'), ['--help']],
      ['npx', ['--offline', 'quire', '--help']],
    ] as const) {
      const r = run(cmd, [...args], project);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('usage: quire COMMAND');
      expect(r.stdout).toContain('backup');
    }
    const v = run(path.join(project, 'node_modules', '.bin', 'quire'), ['-V'], project);
    expect(v).toEqual({ code: 0, stdout: `quire ${VERSION}\n`, stderr: '' });
    const info = run('npx', ['--offline', 'quire', 'info', 'app.db'], project);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/^file:\s+app\.db/m);
    const bad = run('npx', ['--offline', 'quire', 'info', 'missing.db'], project);
    expect(bad).toEqual({ code: 1, stdout: '', stderr: 'quire: CANTOPEN: cannot open missing.db: no such file\n' });
  });

  it('ESM import and CommonJS require of both entries share one Database class', () => {
    const esm = `
      import * as core from 'quire';
      import * as node from 'quire/node';
      import * as read from 'quire/read';
      const db = await node.openDatabase('app.db');
      if (core.Database !== node.Database) throw new Error('two Database classes');
      if (read.ReadDatabase !== core.ReadDatabase || !(db instanceof read.ReadDatabase)) throw new Error('two ReadDatabase classes');
      if (!(db instanceof core.Database)) throw new Error('instanceof failed');
      const e = await db.get('nope', 1).catch((x) => x);
      if (!(e instanceof core.QuireError) || !(e instanceof node.QuireError)) throw new Error('QuireError instanceof failed');
      console.log(JSON.stringify({ tables: (await db.tables()).length, code: e.code }));
      await db.close();
    `;
    const cjs = `
      const core = require('quire');
      const node = require('quire/node');
      const read = require('quire/read');
      (async () => {
        const db = await node.openDatabase('app.db');
        if (core.Database !== node.Database) throw new Error('two Database classes');
        if (read.ReadDatabase !== core.ReadDatabase || !(db instanceof read.ReadDatabase)) throw new Error('two ReadDatabase classes');
        if (!(db instanceof core.Database)) throw new Error('instanceof failed');
        const e = await db.get('nope', 1).catch((x) => x);
        if (!(e instanceof core.QuireError)) throw new Error('QuireError instanceof failed');
        console.log(JSON.stringify({ tables: (await db.tables()).length, code: e.code }));
        await db.close();
      })().catch((e) => { console.error(e.message); process.exit(1); });
    `;
    writeFileSync(path.join(project, 'esm.mjs'), esm);
    writeFileSync(path.join(project, 'cjs.cjs'), cjs);
    const a = run(process.execPath, ['esm.mjs'], project);
    const b = run(process.execPath, ['cjs.cjs'], project);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(JSON.parse(a.stdout).tables).toBeGreaterThan(0);
    // Mixed: an ESM importer and a CommonJS requirer in one process get different module
    // systems' copies (as with every dual package); each system on its own has one class.
    expect(JSON.parse(a.stdout).code).toBeTypeOf('string');
  });

  const cases: [string, 'module' | 'commonjs', Record<string, unknown>][] = [
    ['node16-esm', 'module', { module: 'node16', moduleResolution: 'node16' }],
    ['node16-cjs', 'commonjs', { module: 'node16', moduleResolution: 'node16' }],
    ['nodenext-esm', 'module', { module: 'nodenext', moduleResolution: 'nodenext' }],
    ['nodenext-cjs', 'commonjs', { module: 'nodenext', moduleResolution: 'nodenext' }],
    ['bundler', 'module', { module: 'esnext', moduleResolution: 'bundler' }],
    ['node10', 'commonjs', { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '5.0' }],
  ];
  for (const [name, type, options] of cases) {
    it(`TypeScript type-checks a usage file with ${name}`, () => {
      const dir = tsProject(name, type, options);
      const r = run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
      expect(r.stdout + r.stderr).toBe('');
      expect(r.code).toBe(0);
    }, 60_000);
  }

  it('the core (pager/, btree/, src/ outside node and cli) imports no Node built-in', () => {
    const core = [...files(path.join(root, 'pager')), ...files(path.join(root, 'btree')), ...files(path.join(root, 'src'))].filter(
      (f) => !f.includes(`${path.sep}src${path.sep}node${path.sep}`) && !f.includes(`${path.sep}src${path.sep}cli${path.sep}`),
    );
    expect(core.length).toBeGreaterThan(30);
    for (const f of core) {
      // Code only: comments may mention what the code must not use.
      const text = readFileSync(f, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/(^|[^:])\/\/.*$/gm, '$1');
      expect(text, f).not.toMatch(/from\s+['"](node:|fs|path|os|crypto|child_process)['"/]/);
      expect(text, f).not.toMatch(/\bBuffer\b|\bprocess\.(?!env)/);
    }
  });
});
