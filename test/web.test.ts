/**
 * The page (src/web, served by src/node/serve-web.mjs as `npm run web` does) in headless Chromium:
 * a fixture picked through the file input (and a WAL database with its -wal, and a URL on
 * another origin read with range requests) shows SQLite's rows page by page and a passing
 * integrity check; the downloaded copy passes SQLite's integrity_check and holds the same
 * rows; a copy kept in the browser (OPFS, in the page's worker) survives a reload. Saves a
 * screenshot. Runs the BUILT dist/ (npm run build first).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { fixturePath, readManifest } from '../fixtures/index.mjs';
import { referenceExport, referenceIntegrity, referenceTables } from './util/reference.js';
import { tempDir } from './util/tmp.js';
import { freePort, startServer, waitFor, ROOT, type FixtureServer } from './runtimes/server.js';
import { launchChromium, type BrowserContext } from './runtimes/chromium.js';

const manifest = readManifest();
const fixture = (file: string) => fixturePath(manifest.fixtures.find((f) => f.file === file)!);

let web: ChildProcess;
let webUrl: string;
let fixtures: FixtureServer;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  const port = await freePort();
  webUrl = `http://127.0.0.1:${port}/`;
  web = spawn(process.execPath, [path.join(ROOT, 'src/node/serve-web.mjs')], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  fixtures = await startServer();
  browser = await launchChromium();
  page = await browser.newPage();
  await page.setViewportSize({ width: 1200, height: 900 });
  await waitFor(async () => (await fetch(webUrl)).ok, () => 'src/node/serve-web.mjs did not start');
});
afterAll(async () => {
  await browser?.close();
  await fixtures?.close();
  web?.kill();
});

/** The rows on screen, each in the export format (one JSON array per row). */
async function shownRows(): Promise<string[]> {
  return page.$$eval('#rows tbody tr', (trs) => trs.map((tr) => `[${[...(tr as HTMLTableRowElement).cells].map((td) => td.dataset.v).join(',')}]`));
}

/** Waits until `table` shows from row `first` (1-based). */
async function waitForRows(table: string, first: number): Promise<void> {
  await page.waitForFunction(
    ([t, f]) => document.getElementById('rows')!.dataset.table === t && (document.getElementById('range')!.textContent ?? '').startsWith(`rows ${f}–`),
    [table, first] as const,
  );
}

async function waitForCheck(): Promise<string> {
  await page.waitForFunction(() => document.getElementById('check')!.dataset.done !== undefined || document.getElementById('status')!.classList.contains('error'));
  expect(await page.$eval('#status', (e) => (e.classList.contains('error') ? e.textContent : null))).toBeNull();
  return page.$eval('#check', (e) => (e as HTMLElement).dataset.done!);
}

/** Every table of `db`, a page at a time through the page's buttons, against SQLite. */
async function expectTables(db: string): Promise<void> {
  for (const t of referenceTables(db)) {
    const lines = referenceExport(db, t).split('\n').slice(0, -1);
    await page.click(`#tables button[data-table="${t.replace(/"/g, '\\"')}"]`);
    if (lines.length === 0) continue;
    await waitForRows(t, 1);
    expect(await shownRows(), t).toEqual(lines.slice(0, 50));
    if (lines.length > 50) {
      await page.click('#next');
      await waitForRows(t, 51);
      expect(await shownRows(), `${t} page 2`).toEqual(lines.slice(50, 100));
    }
  }
}

/** Clicks download, saves the copy, and checks it with SQLite against `db`. */
async function expectDownload(db: string, dir: string): Promise<void> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const file = path.join(dir, download.suggestedFilename());
  await download.saveAs(file);
  expect(referenceIntegrity(file)).toEqual(['ok']);
  expect(referenceTables(file)).toEqual(referenceTables(db));
  for (const t of referenceTables(db)) expect(referenceExport(file, t), t).toBe(referenceExport(db, t));
}

describe('the page (src/web)', () => {
  it('a picked rollback database: facts, rows page by page, check, download, screenshot', async () => {
    const dir = tempDir('quire-web-');
    const db = fixture('page-1024.db');
    await page.goto(webUrl);
    await page.setInputFiles('#files', db);
    expect(await waitForCheck()).toBe('ok');
    const facts = await page.$eval('#facts', (e) => e.textContent);
    expect(facts).toContain('page size1024');
    expect(facts).toContain('journal moderollback');
    await expectTables(db);
    await page.click('#tables button[data-table="mixed"]');
    await waitForRows('mixed', 1);
    await page.screenshot({ path: path.join(dir, 'page.png'), fullPage: true });
    // For the maintainers' notes, where this machine has them.
    if (existsSync('/work/notes')) copyFileSync(path.join(dir, 'page.png'), '/work/notes/page.png');
    await expectDownload(db, dir);
  });

  it('a WAL database picked with its -wal: the rows SQLite reads, a copy with the WAL applied', async () => {
    const dir = tempDir('quire-web-');
    const db = fixture('wal-restart-stale-4096.db');
    await page.goto(webUrl);
    await page.setInputFiles('#files', [db, `${db}-wal`]);
    expect(await waitForCheck()).toBe('ok');
    expect(await page.$eval('#facts', (e) => e.textContent)).toContain('WAL (with its -wal file)');
    await expectTables(db);
    await expectDownload(db, dir);
  });

  it('a copy kept in the browser (OPFS) survives a reload, opens with the same rows, and is removed', async () => {
    const db = fixture('alter-defaults.db');
    const name = path.basename(db);
    await page.goto(webUrl);
    await page.setInputFiles('#files', db);
    expect(await waitForCheck()).toBe('ok');
    await page.click('#keep');
    await page.waitForSelector(`#kept li[data-name="${name}"]`);
    await page.reload();
    await page.click(`#kept li[data-name="${name}"] button:text("open")`);
    expect(await waitForCheck()).toBe('ok');
    await expectTables(db);
    await page.click(`#kept li[data-name="${name}"] button:text("remove")`);
    await page.waitForSelector('#keptview', { state: 'hidden' });
    await page.reload();
    await page.waitForSelector('#kept[data-loaded]', { state: 'attached' });
    expect(await page.$$('#kept li')).toHaveLength(0);
  });

  it('a database dropped on the page', async () => {
    const db = fixture('encoding-utf-8.db');
    await page.goto(webUrl);
    // What a drop from the desktop gives the page: a DataTransfer holding Files.
    await page.evaluate(
      async ([url, name]) => {
        const file = new File([await (await fetch(url)).blob()], name);
        const dt = new DataTransfer();
        dt.items.add(file);
        document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      [`${fixtures.url}/fixtures/${path.basename(db)}`, path.basename(db)] as const,
    );
    expect(await waitForCheck()).toBe('ok');
    const first = referenceTables(db)[0];
    await waitForRows(first, 1);
    expect(await shownRows()).toEqual(referenceExport(db, first).split('\n').slice(0, 50));
  });

  it('a URL on another origin (range requests): UTF-16 rows', async () => {
    const db = fixture('encoding-utf-16le.db');
    await page.goto(webUrl);
    await page.fill('#url', `${fixtures.url}/fixtures/${path.basename(db)}`);
    await page.click('#urlform button[type=submit]');
    expect(await waitForCheck()).toBe('ok');
    expect(await page.$eval('#facts', (e) => e.textContent)).toContain('UTF-16le');
    await expectTables(db);
  });
});
