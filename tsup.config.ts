// The build (npm run build), with tsup 8.5:
//
//   dist/index.js, dist/node.js       ESM; shared chunks hold the core, so `quire` and
//                                     `quire/node` share one Database class
//   dist/read.js                      `quire/read`: ReadDatabase and the read-only storages only
//                                     (the same shared chunks: one ReadDatabase class)
//   dist/index.cjs, dist/node.cjs,    CommonJS, split the same way (one copy of the core:
//   dist/read.cjs
//                                     require('quire').Database === require('quire/node').Database)
//   dist/*.d.ts, dist/*.d.cts         declarations for ESM and CommonJS consumers (shared chunks too)
//   dist/cli.js                       the `quire` executable (ESM, Node)
import { defineConfig } from 'tsup';

const library = {
  entry: { index: 'src/index.ts', node: 'src/node/index.ts', read: 'src/read-entry.ts' },
  outDir: 'dist',
  target: 'es2022',
  sourcemap: true,
  splitting: true,
  dts: true,
  // Node built-ins are only reached from the Node entry; the core stays runtime-neutral.
  platform: 'neutral' as const,
  external: [/^node:/],
  tsconfig: 'tsconfig.build.json',
};

export default defineConfig([
  { ...library, format: ["esm", "cjs"] },
  {
    entry: { cli: 'src/cli/bin.ts' },
    outDir: 'dist',
    format: ['esm'],
    target: 'es2022',
    platform: 'node',
    sourcemap: true,
    splitting: false,
    dts: false,
    clean: false,
    tsconfig: 'tsconfig.build.json',
  },
]);
