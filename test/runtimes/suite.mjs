// The runtime-neutral suite: plain ESM, no imports. Every runtime (Node, Deno, Bun, workerd,
// Chromium page and Worker) calls runSuite(quire, base) with the BUILT dist/index.js module
// and the URL of the fixture server (test/runtimes/server.ts), and hands the JSON-able result
// back to test/runtimes.test.ts, which compares it with what better-sqlite3 reads.
//
// Fixture bytes come over fetch from the same server, so no runtime needs file access.

/** Fixtures read by every runtime: a rollback file, a WAL file with its log, UTF-16. */
export const SUITE_FIXTURES = [
  { name: 'rollback', file: 'page-1024.db' },
  { name: 'wal', file: 'wal-uncheckpointed-4096.db', wal: 'wal-uncheckpointed-4096.db-wal' },
  { name: 'utf16', file: 'encoding-utf-16le.db' },
];

/** The table the write step creates, and the rows it inserts. */
export const WRITE_SQL = 'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, v REAL, b BLOB)';

export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function exportTables(q, db) {
  const out = {};
  for (const t of await db.tables()) {
    let s = '';
    for await (const row of db.rows(t)) s += q.exportRow(row) + '\n';
    out[t] = s;
  }
  return out;
}

export async function concat(stream) {
  const parts = [];
  let n = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return { bytes: out, chunks: parts.length };
}

/**
 * Runs every step; a step that throws records its error (name, code, message) instead of
 * stopping the rest, so one failure shows as one failed comparison.
 */
export async function runSuite(q, base) {
  const result = { userAgent: globalThis.navigator?.userAgent ?? (globalThis.process?.release?.name === 'node' ? `Node.js/${process.version}` : null), steps: {} };
  const step = async (name, fn) => {
    const t0 = Date.now();
    try {
      result.steps[name] = { ok: true, ...(await fn()), ms: Date.now() - t0 };
    } catch (e) {
      result.steps[name] = { ok: false, error: `${e && e.name}: ${e && e.code ? e.code + ': ' : ''}${e && e.message}`, stack: String(e && e.stack) };
    }
  };
  const bytes = {};
  for (const f of SUITE_FIXTURES) {
    bytes[f.name] = { db: await fetchBytes(`${base}/fixtures/${f.file}`), wal: f.wal ? await fetchBytes(`${base}/fixtures/${f.wal}`) : undefined };
  }

  for (const f of SUITE_FIXTURES) {
    // Read from memory (a copy of the file and its -wal), then check().
    await step(`read-${f.name}`, async () => {
      const db = await q.Database.open(new q.MemoryStorage({ db: bytes[f.name].db, wal: bytes[f.name].wal }), { readOnly: true });
      try {
        return { tables: await exportTables(q, db), check: await db.check() };
      } finally {
        await db.close();
      }
    });
    // The same file as a Blob (a browser File), its -wal as a second Blob.
    await step(`blob-${f.name}`, async () => {
      const w = bytes[f.name].wal;
      const st = new q.BlobStorage(new Blob([bytes[f.name].db]), { wal: w ? new Blob([w]) : undefined, label: f.file });
      // ReadDatabase where the build has it (quire/read); Database opens read-only storages too.
      const db = await (q.ReadDatabase ?? q.Database).open(st);
      try {
        return { tables: await exportTables(q, db), blobReads: st.blobReads };
      } finally {
        await db.close();
      }
    });
  }

  // Over HTTP range requests against the local server (the storage's own fetch call).
  await step('http', async () => {
    const st = new q.HttpStorage(`${base}/fixtures/${SUITE_FIXTURES[0].file}`);
    const db = await (q.ReadDatabase ?? q.Database).open(st);
    try {
      const tables = await exportTables(q, db);
      return { tables, stats: st.stats ? { ...st.stats } : null };
    } finally {
      await db.close();
    }
  });

  // Write a new database, read it back, check it; hand the image to SQLite.
  await step('write', async () => {
    const db = await q.Database.memory();
    await db.exec(WRITE_SQL);
    await db.transaction(async (tx) => {
      for (let i = 1; i <= 500; i++) {
        await tx.insert('t', { name: `row ${i} héllo 😀`, v: i / 4, b: new Uint8Array([i & 255, (i >> 8) & 255, 7]) });
      }
    });
    await db.update('t', 7, { name: 'seven' });
    await db.delete('t', 9);
    const tables = await exportTables(q, db);
    const check = await db.check();
    const image = await concat(q.backupStream(db));
    await db.close();
    return { tables, check, image: toBase64(image.bytes) };
  });

  // backup() a WAL fixture into memory, a few pages per step, with progress.
  await step('backup', async () => {
    const f = SUITE_FIXTURES[1];
    const src = await q.Database.open(new q.MemoryStorage({ db: bytes[f.name].db, wal: bytes[f.name].wal }), { readOnly: true });
    const dest = await q.Database.memory();
    const progress = [];
    try {
      await q.backup(src, dest, { pages: 2, progress: (status, remaining, total) => void progress.push([remaining, total]) });
      return { tables: await exportTables(q, dest), check: await dest.check(), progress };
    } finally {
      await src.close();
      await dest.close();
    }
  });

  // backupStream of the rollback fixture, in small chunks.
  await step('stream', async () => {
    const f = SUITE_FIXTURES[0];
    const src = await q.Database.open(new q.MemoryStorage({ db: bytes[f.name].db }), { readOnly: true });
    try {
      const image = await concat(q.backupStream(src, { chunkBytes: 16384 }));
      return { image: toBase64(image.bytes), chunks: image.chunks };
    } finally {
      await src.close();
    }
  });
  return result;
}
