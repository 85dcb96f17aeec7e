/**
 * Readers pay for reading: three small apps are bundled from the sources with esbuild (minified,
 * ESM, platform neutral, as an app bundler would) and their min+gzip sizes printed:
 *
 *   read-only        quire/read: ReadDatabase over a Blob (tables, rows, a lookup)
 *   read + backup    the same, plus a consistent copy streamed with backupStream
 *   everything       Database: reads, a transaction, vacuum, check, backup
 *
 * The read-only app must stay at most 40 KiB, and must not contain the write path, vacuum,
 * check or the copier.
 */
import { describe, it, expect } from 'vitest';
import { build, type Metafile } from 'esbuild';
import { gzipSync } from 'node:zlib';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

const APPS: Record<string, string> = {
  'read-only': `
    import { ReadDatabase, BlobStorage } from './src/read-entry.ts';
    export async function main(file) {
      const db = await ReadDatabase.open(new BlobStorage(file));
      for (const t of await db.tables()) for await (const row of db.rows(t)) console.log(row);
      console.log(await db.get('t', 1));
      await db.close();
    }`,
  'read + backup': `
    import { ReadDatabase, BlobStorage } from './src/read-entry.ts';
    import { backupStream } from './src/index.ts';
    export async function main(file) {
      const db = await ReadDatabase.open(new BlobStorage(file));
      for (const t of await db.tables()) for await (const row of db.rows(t)) console.log(row);
      const copy = await new Response(backupStream(db.storage)).blob();
      await db.close();
      return copy;
    }`,
  everything: `
    import { Database, MemoryStorage, backup } from './src/index.ts';
    export async function main() {
      const db = await Database.memory();
      await db.exec('CREATE TABLE t(a, b)');
      await db.transaction(async (tx) => { await tx.insert('t', [1, 'x']); await tx.update('t', 1, { b: 'y' }); await tx.delete('t', 1); });
      await db.vacuum();
      console.log(await db.check(), await db.get('t', 1));
      const target = await Database.open(new MemoryStorage(), { readOnly: false });
      await backup(db, target, { pages: 8 });
      await db.backup(target);
    }`,
};

async function bundle(source: string): Promise<{ min: number; gzip: number; inputs: string[] }> {
  const r = await build({
    stdin: { contents: source, resolveDir: root, sourcefile: 'app.js', loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = r.outputFiles[0].contents;
  const meta = r.metafile as Metafile;
  const inputs = Object.entries(Object.values(meta.outputs)[0].inputs)
    .filter(([, v]) => v.bytesInOutput > 0)
    .map(([k]) => k);
  return { min: code.length, gzip: gzipSync(code).length, inputs };
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

describe('bundle size', () => {
  it('a read-only app bundles to at most 40 KiB min+gzip, without writing, vacuum, check or backup', async () => {
    const sizes: Record<string, { min: number; gzip: number; inputs: string[] }> = {};
    for (const [name, src] of Object.entries(APPS)) sizes[name] = await bundle(src);
    for (const [name, s] of Object.entries(sizes)) {
      console.log(`size: ${name.padEnd(14)} ${kib(s.min).padStart(10)} min  ${kib(s.gzip).padStart(9)} min+gzip  (${s.inputs.length} modules)`);
    }
    const ro = sizes['read-only'];
    const banned = ['src/write.ts', 'src/vacuum.ts', 'src/check.ts', 'src/database.ts', 'btree/write.ts', 'btree/balance.ts', 'btree/integrity.ts'];
    expect(ro.inputs.filter((m) => banned.includes(m) || m.startsWith('src/backup/'))).toEqual([]);
    expect(ro.gzip).toBeLessThanOrEqual(40 * 1024);
    // The bigger apps do carry what they use (the measurement sees the difference).
    expect(sizes['read + backup'].inputs.some((m) => m.startsWith('src/backup/'))).toBe(true);
    expect(sizes.everything.inputs).toEqual(expect.arrayContaining(['src/write.ts', 'src/vacuum.ts', 'src/check.ts']));
    expect(sizes.everything.gzip).toBeGreaterThan(ro.gzip);
  });
});
