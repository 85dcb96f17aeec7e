/**
 * OpfsStorage in headless Chromium: a database created in one module Worker survives a page
 * reload and reads back in a new Worker (rows, check(), backup() with progress, a backupStream
 * image that SQLite checks), in rollback and WAL mode; each kind is its own OPFS file; a file
 * open in another worker is BUSY; the page's main thread (no sync access handles) is CANTOPEN.
 * Runs the BUILT dist/index.js (npm run build first).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { referenceExport, referenceIntegrity } from './util/reference.js';
import { tempDir } from './util/tmp.js';
import { startServer, type FixtureServer } from './runtimes/server.js';
import { launchChromium, type BrowserContext } from './runtimes/chromium.js';

interface Reply {
  result?: {
    whileOpen?: string[];
    afterClose?: string[];
    files?: string[];
    tables?: Record<string, string> | string[];
    check?: string[];
    copied?: Record<string, string>;
    progress?: [number, number][];
    image?: string;
  };
  error?: { code?: string; message: string; stack?: string };
}

let server: FixtureServer;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.url}/runtimes/blank.html`);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Posts `msg` to a new module Worker; with keep, the worker is left running. */
async function inWorker(msg: Record<string, unknown>, keep = false): Promise<Reply> {
  return (await page.evaluate(
    ([base, msg, keep]) =>
      new Promise((resolve) => {
        const w = new Worker(`${base}/runtimes/opfs-worker.mjs`, { type: 'module' });
        w.onmessage = (e) => {
          if (!keep) w.terminate();
          resolve(e.data);
        };
        w.onerror = (e) => resolve({ error: { message: e.message } });
        w.postMessage({ base, ...msg });
      }),
    [server.url, msg, keep] as const,
  )) as Reply;
}

function ok(r: Reply): NonNullable<Reply['result']> {
  expect(r.error ?? null).toBeNull();
  return r.result!;
}

describe('OpfsStorage in a Chromium module Worker', () => {
  for (const mode of ['rollback', 'wal'] as const) {
    it(`${mode}: create, reload, reopen in a new worker, check, back up`, async () => {
      const name = `${mode}.db`;
      const made = ok(await inWorker({ op: 'create', name, mode }));
      expect(made.whileOpen).toContain(name);
      if (mode === 'wal') expect(made.whileOpen).toContain(`${name}-wal`);
      // Closing checkpoints the WAL and ends the journal: only the database is left.
      expect(made.afterClose!.filter((f) => f.startsWith(name))).toEqual([name]);

      await page.reload();
      const r = ok(await inWorker({ op: 'read', name }));
      const tables = r.tables as Record<string, string>;
      expect(Object.keys(tables)).toEqual(['t']);
      expect(tables.t.split('\n').length - 1).toBe(300);
      expect(tables.t.split('\n')[299]).toMatch(/^\[300,300,"row 299 ✓",\{"blob":"(63){300}"\}\]$/);
      expect(r.check).toEqual([]);
      expect(r.copied).toEqual(tables);
      expect(r.progress!.length).toBeGreaterThan(2);
      expect(r.progress!.at(-1)![0]).toBe(0);

      const file = path.join(tempDir('quire-opfs-'), name);
      writeFileSync(file, Buffer.from(r.image!, 'base64'));
      expect(referenceIntegrity(file)).toEqual(['ok']);
      expect(referenceExport(file, 't')).toBe(tables.t);
    });
  }

  it('a file open in another worker is BUSY', async () => {
    ok(await inWorker({ op: 'create', name: 'busy.db', mode: 'rollback' }));
    expect(ok(await inWorker({ op: 'hold', name: 'busy.db' }, true)).tables).toEqual(['t']);
    const r = await inWorker({ op: 'read', name: 'busy.db' });
    expect(r.error?.code).toBe('BUSY');
    expect(r.error?.message).toMatch(/busy\.db is open in another tab or worker/);
  });

  it('the main thread has no sync access handles: CANTOPEN, nothing created', async () => {
    const r = (await page.evaluate(`(async () => {
      const q = await import(${JSON.stringify(server.url)} + '/dist/index.js');
      const st = await q.OpfsStorage.open('main.db');
      const found = await st.exists('db');
      try {
        await st.write('db', 0, new Uint8Array(10));
        return { wrote: true };
      } catch (e) {
        return { found, code: e.code, message: e.message };
      }
    })()`)) as { found: boolean; code: string; message: string };
    expect(r.found).toBe(false);
    expect(r.code).toBe('CANTOPEN');
    expect(r.message).toMatch(/dedicated Workers/);
  });
});
