// The build (npm run build): esbuild bundles, tsc declarations.
//
//   dist/index.js, dist/node.js   ESM (shared chunks: one copy of the core for both entries)
//   dist/index.cjs, dist/node.cjs CommonJS
//   dist/cli.js                   the CLI (ESM, Node)
//   dist/types/                   declarations (tsc --emitDeclarationOnly)
//
// (Not tsup: its declaration bundler depends on rollup, whose per-platform optional packages
// the registry this project installs from does not all serve, which makes `npm ci` refuse
// the lock file.)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
const common = { bundle: true, sourcemap: true, target: 'es2022', external: ['node:*'], logLevel: 'warning' };
await build({
  ...common,
  entryPoints: { index: 'src/index.ts', node: 'src/node/index.ts' },
  outdir: 'dist',
  format: 'esm',
  platform: 'neutral',
  splitting: true,
  chunkNames: 'chunk-[hash]',
});
await build({ ...common, entryPoints: { index: 'src/index.ts', node: 'src/node/index.ts' }, outdir: 'dist', format: 'cjs', platform: 'node', outExtension: { '.js': '.cjs' } });
await build({ ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', format: 'esm', platform: 'node', banner: { js: '#!/usr/bin/env node' } });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
