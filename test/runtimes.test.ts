/**
 * The runtime-neutral suite (test/runtimes/suite.mjs) against the BUILT dist/index.js in each
 * runtime the package claims: Node, Deno, Bun, workerd, and headless Chromium (page and module
 * Worker). Each runtime is a child process; every result is compared with what real SQLite
 * (better-sqlite3, the sqlite3 CLI's integrity_check) reads from the same fixture.
 * quire/node (file storage, backupFile, the CLI, lock detection) runs under Deno's and Bun's Node compatibility.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { build } from 'esbuild';
import BetterSqlite from 'better-sqlite3';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { fixturePath, readManifest } from '../fixtures/index.mjs';
import { referenceExport, referenceIntegrity, referenceTables } from './util/reference.js';
import { tempDir } from './util/tmp.js';
import { startServer, freePort, waitFor, ROOT, type FixtureServer } from './runtimes/server.js';
import { launchChromium, type BrowserContext } from './runtimes/chromium.js';
// @ts-expect-error plain ESM shared with the runtimes
import { SUITE_FIXTURES } from './runtimes/suite.mjs';

const run = promisify(execFile);
/**
 * The build under test: dist/ (QUIRE_RUNTIMES_DIST names another folder holding an
 * index.js, e.g. an older build, to see this suite fail on it).
 */
const DIST = path.resolve(process.env.QUIRE_RUNTIMES_DIST ?? path.join(ROOT, 'dist'));
const bin = (name: string) => path.join(ROOT, 'node_modules/.bin', name);

interface StepResult {
  ok: boolean;
  error?: string;
  stack?: string;
  tables?: Record<string, string>;
  check?: string[];
  image?: string;
  progress?: [number, number][];
  chunks?: number;
  ms?: number;
  stats?: { requests: number; validations: number; bytes: number } | null;
}
interface SuiteResult {
  userAgent: string | null;
  steps: Record<string, StepResult>;
}

let server: FixtureServer;
const reference: Record<string, Record<string, string>> = {};
const manifest = readManifest();

function referenceAll(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of referenceTables(file)) out[t] = referenceExport(file, t);
  return out;
}

beforeAll(async () => {
  if (!existsSync(path.join(DIST, 'index.js'))) throw new Error(`run npm run build first: this test runs ${DIST}/index.js`);
  server = await startServer({ '/dist/': DIST });
  for (const f of SUITE_FIXTURES as { name: string; file: string }[]) {
    const entry = manifest.fixtures.find((m) => m.file === f.file)!;
    reference[f.name] = referenceAll(fixturePath(entry));
  }
});
afterAll(async () => {
  await server?.close();
});

/** Writes a base64 image to a temp file and returns what SQLite reads from it. */
function sqliteReads(image: string): { integrity: string[]; tables: Record<string, string> } {
  const file = path.join(tempDir('quire-rt-'), 'image.db');
  writeFileSync(file, Buffer.from(image, 'base64'));
  return { integrity: referenceIntegrity(file), tables: referenceAll(file) };
}

/** Every step of one runtime's result, compared with SQLite. */
function expectSuite(r: SuiteResult, userAgent: RegExp): void {
  expect(r.userAgent).toMatch(userAgent);
  const ms = Object.entries(r.steps).map(([k, v]) => `${k} ${v.ms ?? '-'}`).join(', ');
  console.log(`${r.userAgent}: ${ms} ms; http ${JSON.stringify(r.steps.http?.stats)}`);
  const s = r.steps;
  for (const [name, step] of Object.entries(s)) expect(step.error ?? null, `${name}: ${step.stack}`).toBeNull();
  for (const f of SUITE_FIXTURES as { name: string }[]) {
    expect(s[`read-${f.name}`].tables, `read-${f.name}`).toEqual(reference[f.name]);
    expect(s[`read-${f.name}`].check).toEqual([]);
    expect(s[`blob-${f.name}`].tables, `blob-${f.name}`).toEqual(reference[f.name]);
  }
  expect(s.http.tables).toEqual(reference.rollback);
  const written = sqliteReads(s.write.image!);
  expect(written.integrity).toEqual(['ok']);
  expect(written.tables).toEqual(s.write.tables);
  expect(s.write.tables!.t.split('\n').length - 1).toBe(499);
  expect(s.write.check).toEqual([]);
  expect(s.backup.tables).toEqual(reference.wal);
  expect(s.backup.check).toEqual([]);
  expect(s.backup.progress!.length).toBeGreaterThan(2);
  expect(s.backup.progress!.at(-1)![0]).toBe(0);
  const streamed = sqliteReads(s.stream.image!);
  expect(streamed.integrity).toEqual(['ok']);
  expect(streamed.tables).toEqual(reference.rollback);
  expect(s.stream.chunks).toBeGreaterThan(1);
}

async function runScript(cmd: string, args: string[]): Promise<SuiteResult> {
  const { stdout } = await run(cmd, args, { cwd: ROOT, timeout: 60_000, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as SuiteResult;
}

/** workerd's config: one worker on 127.0.0.1:port whose fetch() may reach 127.0.0.1. */
function workerdConfig(port: number): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .suite),
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const suite :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-01-01",
  globalOutbound = "net",
);
`;
}

const suiteScript = path.join(ROOT, 'test/runtimes/run-suite.mjs');
const distIndex = pathToFileURL(path.join(DIST, 'index.js')).href;

describe('the runtime-neutral suite on dist/index.js', () => {
  it('Node', async () => {
    const r = await runScript(process.execPath, [suiteScript, server.url, distIndex]);
    expectSuite(r, /^Node\.js\//);
  });

  it('Deno', async () => {
    const r = await runScript(bin('deno'), ['run', '--quiet', '--no-prompt', '--allow-net=127.0.0.1', `--allow-read=${ROOT},${DIST}`, suiteScript, server.url, distIndex]);
    expectSuite(r, /^Deno\//);
  });

  it('Bun', async () => {
    expectSuite(await runScript(bin('bun'), [suiteScript, server.url, distIndex]), /^Bun\//);
  });

  it('workerd', async () => {
    const dir = tempDir('quire-workerd-');
    await build({
      entryPoints: [path.join(ROOT, 'test/runtimes/workerd-entry.mjs')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      outfile: path.join(dir, 'worker.js'),
      logLevel: 'error',
      // The entry imports ../../dist/index.js: bundle the build under test instead.
      plugins: [{ name: 'dist', setup: (b) => b.onResolve({ filter: /dist\/index\.js$/ }, () => ({ path: path.join(DIST, 'index.js') })) }],
    });
    const port = await freePort();
    writeFileSync(path.join(dir, 'config.capnp'), workerdConfig(port));
    const child = spawn(bin('workerd'), ['serve', path.join(dir, 'config.capnp')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      const url = `http://127.0.0.1:${port}/`;
      await waitFor(async () => (await fetch(url)).ok, () => `workerd did not start: ${stderr}`);
      const res = await fetch(`${url}?base=${encodeURIComponent(server.url)}`);
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expectSuite(JSON.parse(text) as SuiteResult, /^Cloudflare-Workers$/);
    } finally {
      child.kill();
    }
  });

  describe('Chromium', () => {
    let browser: BrowserContext;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('page', async () => {
      const page = await browser.newPage();
      await page.goto(`${server.url}/runtimes/blank.html`);
      // A string, not a function: vitest would rewrite a function's import() for Node.
      const base = JSON.stringify(server.url);
      const r = await page.evaluate(`(async () => {
        const quire = await import(${base} + '/dist/index.js');
        const { runSuite } = await import(${base} + '/runtimes/suite.mjs');
        return runSuite(quire, ${base});
      })()`);
      expectSuite(r as SuiteResult, /HeadlessChrome/);
    });

    it('module Worker', async () => {
      const page = await browser.newPage();
      await page.goto(`${server.url}/runtimes/blank.html`);
      const r = await page.evaluate(
        (base) =>
          new Promise((resolve) => {
            const w = new Worker(`${base}/runtimes/browser-worker.mjs`, { type: 'module' });
            w.onmessage = (e) => resolve(e.data);
            w.onerror = (e) => resolve({ error: e.message });
            w.postMessage({ base });
          }),
        server.url,
      );
      const { result, error } = r as { result?: SuiteResult; error?: string };
      expect(error ?? null).toBeNull();
      expectSuite(result!, /HeadlessChrome/);
    });
  });
});

/** quire/node under Deno's and Bun's Node compatibility: file storage, backupFile, the CLI. */
describe.each([
  ['Deno', [bin('deno'), 'run', '--quiet', '--no-prompt', '-A']],
  ['Bun', [bin('bun')]],
])('quire/node under %s', (_name, [cmd, ...pre]) => {
  it('opens, writes and copies files; the CLI reads, copies and checks; SQLite locks are seen', async () => {
    const dir = tempDir('quire-compat-');
    const rollback = manifest.fixtures.find((m) => m.file === (SUITE_FIXTURES as { file: string }[])[0].file)!;
    copyFileSync(fixturePath(rollback), path.join(dir, 'src.db'));
    const { stdout } = await run(cmd, [...pre, path.join(ROOT, 'test/runtimes/node-compat.mjs'), dir], { cwd: ROOT, timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, { ok: boolean; error?: string; tables?: string[]; check?: string[] }>;
    for (const [step, v] of Object.entries(r)) expect(v.error ?? null, step).toBeNull();
    expect(r.openFile.tables).toEqual(referenceTables(path.join(dir, 'src.db')));
    expect(r.openFile.check).toEqual([]);
    expect(referenceIntegrity(path.join(dir, 'new.db'))).toEqual(['ok']);
    expect(referenceExport(path.join(dir, 'new.db'), 't').split('\n').length - 1).toBe(200);
    expect(referenceIntegrity(path.join(dir, 'copy.db'))).toEqual(['ok']);
    expect(referenceAll(path.join(dir, 'copy.db'))).toEqual(reference.rollback);

    const cli = (...args: string[]) => run(cmd, [...pre, path.join(ROOT, 'dist/cli.js'), ...args], { cwd: dir, timeout: 60_000 });
    expect((await cli('info', 'src.db')).stdout).toMatch(/page size:\s+1024/);
    expect((await cli('backup', 'src.db', 'cli-copy.db')).stdout + '').toMatch(/copied \d+ pages/);
    expect(referenceAll(path.join(dir, 'cli-copy.db'))).toEqual(reference.rollback);
    expect((await cli('check', 'cli-copy.db')).stdout.trim()).toBe('ok');

    // SQLite's locks are seen through /proc/locks: a write transaction open here makes
    // recover refuse, naming this process.
    const holder = new BetterSqlite(path.join(dir, 'cli-copy.db'));
    try {
      holder.exec('BEGIN IMMEDIATE');
      const refused = await cli('recover', 'cli-copy.db').then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(refused?.code).toBe(3);
      expect(refused?.stderr).toMatch(new RegExp(`BUSY: .*\\(pid ${process.pid}\\) holds RESERVED`));
    } finally {
      holder.close();
    }
  });
});

