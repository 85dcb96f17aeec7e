// quire/node under a runtime's Node compatibility (deno run -A, bun): argv: <dir> with a
// fixture copied to <dir>/src.db. Opens it from a file, writes a new file database, copies it
// with backupFile and prints what each step gave as one JSON line.
import * as quire from '../../dist/node.js';

const dir = globalThis.Deno ? globalThis.Deno.args[0] : process.argv[2];
const out = {};
const step = async (name, fn) => {
  try {
    out[name] = { ok: true, ...(await fn()) };
  } catch (e) {
    out[name] = { ok: false, error: `${e && e.name}: ${e && e.code ? e.code + ': ' : ''}${e && e.message}` };
  }
};
await step('openFile', async () => {
  const db = await quire.openDatabase(`${dir}/src.db`);
  try {
    const tables = await db.tables();
    let rows = 0;
    for await (const _ of db.rows(tables[0])) rows++;
    return { tables, rows, check: await db.check() };
  } finally {
    await db.close();
  }
});
await step('writeFile', async () => {
  const db = await quire.openDatabase(`${dir}/new.db`, { readOnly: false, create: true });
  try {
    await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT)');
    await db.transaction(async (tx) => {
      for (let i = 0; i < 200; i++) await tx.insert('t', { s: `v${i}` });
    });
    return { check: await db.check() };
  } finally {
    await db.close();
  }
});
await step('backupFile', async () => {
  const r = await quire.backupFile(`${dir}/src.db`, `${dir}/copy.db`);
  return { bytes: r.bytes };
});
console.log(JSON.stringify(out));
