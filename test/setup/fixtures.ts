// vitest globalSetup: build the SQLite-made fixtures once per run (a no-op when
// fixtures/out/manifest.json is current). Set QUIRE_BIG=1 to include the >1 GiB fixture.

import { ensureFixtures } from '../../fixtures/index.mjs';

export function setup(): void {
  const m = ensureFixtures({ log: (msg) => console.log(msg) });
  if (m.fixtures.length === 0) throw new Error('fixtures: empty manifest');
}
