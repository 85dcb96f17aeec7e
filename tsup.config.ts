import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts', node: 'src/node/index.ts' },
    // Node types are needed for the node entry's declarations; the core's own guard against
    // node: imports is `tsc -p tsconfig.json` (types: []) in npm run typecheck.
    tsconfig: 'tsconfig.build.json',
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: 'neutral',
    external: [/^node:/],
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    tsconfig: 'tsconfig.build.json',
    format: ['esm'],
    sourcemap: true,
    target: 'es2022',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    external: [/^node:/],
  },
]);
