// A module Worker driving OpfsStorage (test/opfs.test.ts). Post { base, op, name, mode };
// answers { result } or { error: { code, message } }.
//   create: a new database in OPFS (rollback or WAL), 300 rows in 3 transactions, closed
//   read:   reopen, export every table, check(), backup() into memory with progress, a
//           backupStream image (base64) for SQLite
//   hold:   open and read, and keep the database open (another worker's open is then BUSY)
//   files:  the names in the OPFS root
import { concat, exportTables, toBase64 } from './suite.mjs';

let held = null;

async function files() {
  const names = [];
  for await (const name of (await navigator.storage.getDirectory()).keys()) names.push(name);
  return names.sort();
}

async function run(q, { op, name, mode }) {
  if (op === 'files') return { files: await files() };
  const storage = await q.OpfsStorage.open(name);
  if (op === 'create') {
    const db = await q.Database.open(storage, { readOnly: false, ownsStorage: true, create: { journalMode: mode } });
    await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, b BLOB)');
    for (let k = 0; k < 3; k++) {
      await db.transaction(async (tx) => {
        for (let i = 0; i < 100; i++) await tx.insert('t', { name: `row ${k * 100 + i} ✓`, b: new Uint8Array(300).fill(i) });
      });
    }
    const whileOpen = await files();
    await db.close();
    return { whileOpen, afterClose: await files() };
  }
  const db = await q.Database.open(storage, { ownsStorage: true });
  if (op === 'hold') {
    held = db;
    return { tables: await db.tables() };
  }
  try {
    const tables = await exportTables(q, db);
    const check = await db.check();
    const copy = await q.Database.memory();
    const progress = [];
    await q.backup(db, copy, { pages: 8, progress: (_s, remaining, total) => void progress.push([remaining, total]) });
    const copied = await exportTables(q, copy);
    await copy.close();
    const image = (await concat(q.backupStream(db))).bytes;
    return { tables, check, copied, progress, image: toBase64(image) };
  } finally {
    await db.close();
  }
}

self.onmessage = async (e) => {
  try {
    const q = await import(`${e.data.base}/dist/index.js`);
    self.postMessage({ result: await run(q, e.data) });
  } catch (err) {
    self.postMessage({ error: { code: err && err.code, message: String(err && err.message), stack: String(err && err.stack) } });
  }
};
