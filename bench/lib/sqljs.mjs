// sql.js (SQLite compiled to wasm), loaded lazily: its module is compiled once per process,
// and only by the competitors that use it (the baseline RSS reports it separately).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let sqlJs = null;
/** sql.js's module (wasm compiled once per process). */
export async function loadSqlJs() {
  if (!sqlJs) {
    const init = require('sql.js');
    sqlJs = await init();
  }
  return sqlJs;
}
