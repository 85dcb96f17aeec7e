/**
 * The differential read test: for every table of every fixture SQLite made, `quire export`
 * equals the same format produced from better-sqlite3 (test/util/reference.ts), byte for
 * byte. Reading changes nothing: the fixture files hash the same before and after, and no
 * side file appears.
 */
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readManifest, fixturePath, fixturesDir } from '../fixtures/index.mjs';
import { referenceExport } from './util/reference.js';
import { cli } from './cli/run.js';

const manifest = readManifest();
const readable = manifest.fixtures.filter((f) => f.error === null && f.corrupt === null && f.tables !== null);

function hashes(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of ['', '-wal', '-journal', '-shm']) {
    if (existsSync(file + s)) out[s || 'db'] = createHash('sha256').update(readFileSync(file + s)).digest('hex');
  }
  return out;
}

describe('quire export equals SQLite on every fixture table', () => {
  for (const f of readable) {
    it(`${f.name}`, async () => {
      const file = fixturePath(f);
      const before = hashes(file);
      const dirBefore = readdirSync(fixturesDir).sort();
      for (const table of Object.keys(f.tables!)) {
        const want = referenceExport(file, table);
        const got = await cli(['export', file, table]);
        expect(got.stderr, `${f.name}.${table}`).toBe('');
        expect(got.code).toBe(0);
        if (got.stdout !== want) {
          const a = got.stdout.split('\n');
          const b = want.split('\n');
          const i = a.findIndex((l, k) => l !== b[k]);
          expect(`${table} line ${i + 1}: ${a[i]}`).toBe(`${table} line ${i + 1}: ${b[i]}`);
        }
      }
      expect(hashes(file)).toEqual(before);
      expect(readdirSync(fixturesDir).sort()).toEqual(dirBefore);
    });
  }
});
