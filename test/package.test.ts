/**
 * The package as users get it (npm test builds dist first): entry points load in ESM and
 * CommonJS, the Node entry's Database objects work with the core entry's functions (even
 * across the two CommonJS bundles), the core imports no Node built-ins, versions agree.
 */
import { describe, it, expect } from 'vitest';
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../src/version.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('package', () => {
  it('version in package.json equals the VERSION constant', () => {
    expect(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version).toBe(VERSION);
  });

  it('ESM and CommonJS entries load; a Node-entry database works with the core entry', async () => {
    const core = await import(path.join(root, 'dist/index.js'));
    const node = await import(path.join(root, 'dist/node.js'));
    const coreCjs = require(path.join(root, 'dist/index.cjs'));
    const nodeCjs = require(path.join(root, 'dist/node.cjs'));
    expect(typeof core.Database).toBe('function');
    expect(typeof nodeCjs.openDatabase).toBe('function');
    const fixture = path.join(root, 'fixtures/out/example.db');
    for (const [c, n] of [
      [core, node],
      [coreCjs, nodeCjs],
    ]) {
      const src = await n.openDatabase(fixture);
      expect(c.isDatabase(src)).toBe(true);
      const mem = await c.Database.memory();
      await c.backup(src, mem);
      expect((await mem.tables()).length).toBe((await src.tables()).length);
      await src.close();
      await mem.close();
    }
  });

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
