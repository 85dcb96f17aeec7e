// The page's OPFS side (a module Worker: sync access handles exist only in Workers). Keeps
// copies of databases in the browser's Origin Private File System, where they survive reloads.
// Post { id, op, name?, bytes? }; answers { id, result } or { id, error }.
//   list:   [{ name, size }] of the databases kept
//   save:   write `bytes` (a consistent image from backupStream) as `name`, then check it
//   load:   a consistent image of `name` (backupStream), as bytes
//   remove: delete `name` and its side files
import { Database, OpfsStorage, backupStream } from '/dist/index.js';

const SIDE = /-(wal|journal|shm)$/;

async function list() {
  const out = [];
  for await (const [name, handle] of (await navigator.storage.getDirectory()).entries()) {
    if (handle.kind === 'file' && !SIDE.test(name)) out.push({ name, size: (await handle.getFile()).size });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

async function open(name, readOnly) {
  return Database.open(await OpfsStorage.open(name), { readOnly, ownsStorage: true });
}

const ops = {
  list,
  async save({ name, bytes }) {
    const storage = await OpfsStorage.open(name);
    for (const kind of ['wal', 'journal', 'db']) await storage.delete(kind);
    await storage.write('db', 0, bytes);
    await storage.sync('db');
    await storage.close();
    const db = await open(name, true);
    try {
      const problems = await db.check();
      if (problems.length) throw new Error(`the copy kept in the browser has problems: ${problems[0]}`);
    } finally {
      await db.close();
    }
    return list();
  },
  async load({ name }) {
    const db = await open(name, true);
    try {
      return new Uint8Array(await new Response(backupStream(db)).arrayBuffer());
    } finally {
      await db.close();
    }
  },
  async remove({ name }) {
    const storage = await OpfsStorage.open(name);
    for (const kind of ['wal', 'journal', 'shm', 'db']) await storage.delete(kind);
    await storage.close();
    return list();
  },
};

self.onmessage = async (e) => {
  const { id, op } = e.data;
  try {
    self.postMessage({ id, result: await ops[op](e.data) });
  } catch (err) {
    self.postMessage({ id, error: err && err.code ? `${err.code}: ${err.message}` : String((err && err.message) || err) });
  }
};
