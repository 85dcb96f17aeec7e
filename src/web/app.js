// The page's code: plain ESM over the built library (dist/, served at /dist/ by src/node/serve-web.mjs).
// Opens a dropped or picked .db (with its -wal / -journal) as a BlobStorage, or a URL as an
// HttpStorage; shows the header, the integrity check and each table's rows a page at a time;
// downloads a consistent copy made by backupStream, or keeps one in the browser's private
// storage (OPFS, through opfs-worker.js) where it survives reloads. Nothing leaves the browser.
import { BlobStorage, Database, Encoding, HttpStorage, backupStream, exportValue, parseHeader } from '/dist/index.js';

const ROWS_PER_PAGE = 50;
const $ = (id) => document.getElementById(id);

/** The open database and what is on screen. */
let current = null;

function status(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

function describeError(e) {
  return e && e.code ? `${e.code}: ${e.message}` : String((e && e.message) || e);
}

const encodingName = { [Encoding.UTF8]: 'UTF-8', [Encoding.UTF16LE]: 'UTF-16le', [Encoding.UTF16BE]: 'UTF-16be' };

function sqliteVersion(n) {
  return n ? `${Math.floor(n / 1000000)}.${Math.floor(n / 1000) % 1000}.${n % 1000}` : 'unknown';
}

function bytes(n) {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

async function close() {
  const c = current;
  current = null;
  if (c) await c.db.close().catch(() => {});
}

/** Opens `storage` and shows everything about it. */
async function show(storage, name) {
  await close();
  $('view').hidden = true;
  status(`opening ${name}…`);
  const db = await Database.open(storage, { readOnly: true, ownsStorage: true });
  current = { db, storage, name, table: null, offset: 0 };
  const header = parseHeader(await storage.read('db', 0, 100), name);
  const size = await storage.size('db');
  const wal = await storage.exists('wal');
  const tables = await db.tables();
  const facts = [
    ['file', name],
    ['size', bytes(size)],
    ['page size', header.pageSize],
    ['pages', header.pageCountValid ? header.headerPageCount : `${Math.ceil(size / header.pageSize)} (from the file size)`],
    ['journal mode', header.writeVersion === 2 ? (wal ? 'WAL (with its -wal file)' : 'WAL (no -wal file given)') : 'rollback'],
    ['text encoding', encodingName[header.encoding] ?? String(header.encoding)],
    ['free pages', header.freelistCount],
    ['change counter', header.changeCounter],
    ['schema format', header.schemaFormat],
    ['auto-vacuum', header.autoVacuumTop ? (header.incrementalVacuum ? 'incremental' : 'full') : 'none'],
    ['user version', header.userVersion],
    ['written by SQLite', sqliteVersion(header.sqliteVersion)],
    ['tables', tables.length],
  ];
  $('facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', k), el('dd', String(v))]));
  $('tables').replaceChildren(
    ...tables.map((t) => {
      const b = el('button', t);
      b.type = 'button';
      b.dataset.table = t;
      b.setAttribute('aria-pressed', 'false');
      b.onclick = () => showTable(t, 0).catch((e) => status(describeError(e), true));
      return b;
    }),
  );
  $('rowsview').hidden = true;
  $('dlinfo').textContent = '';
  $('view').hidden = false;
  status(`${name}: ${tables.length} table${tables.length === 1 ? '' : 's'}`);
  if (tables.length) await showTable(tables[0], 0);
  await runCheck(db);
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

async function runCheck(db) {
  const box = $('check');
  box.className = '';
  box.textContent = 'running…';
  const problems = await db.check();
  if (current?.db !== db) return;
  box.className = problems.length ? 'bad' : 'ok';
  box.replaceChildren(...(problems.length ? problems.map((p) => el('div', p)) : [el('span', 'ok: no problems found')]));
  box.dataset.done = problems.length ? 'problems' : 'ok';
}

/** One cell: the value as a person reads it; data-v holds it exactly (quire's export format). */
function cell(v) {
  const td = el('td');
  td.dataset.v = exportValue(v);
  if (v === null) {
    td.textContent = 'NULL';
    td.className = 'null';
  } else if (v instanceof Uint8Array) {
    const hex = Array.from(v.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
    td.textContent = `x'${hex}${v.length > 16 ? '…' : ''}' (${v.length} B)`;
    td.className = 'blob';
  } else if (typeof v === 'number' || typeof v === 'bigint') {
    td.textContent = String(v);
    td.className = 'num';
  } else {
    td.textContent = v;
  }
  return td;
}

async function showTable(table, offset) {
  const c = current;
  if (!c) return;
  c.table = table;
  c.offset = offset;
  for (const b of $('tables').children) b.setAttribute('aria-pressed', String(b.dataset.table === table));
  const columns = await c.db.columns(table);
  const rows = [];
  let i = 0;
  // One scan, skipping to the page: a read-only page has no OFFSET index to jump with.
  for await (const row of c.db.rows(table)) {
    if (i++ < offset) continue;
    rows.push(row);
    if (rows.length > ROWS_PER_PAGE) break;
  }
  if (current !== c || c.table !== table || c.offset !== offset) return;
  const more = rows.length > ROWS_PER_PAGE;
  rows.length = Math.min(rows.length, ROWS_PER_PAGE);
  const head = el('tr');
  head.append(...columns.map((n) => el('th', n)));
  $('rows').tHead.replaceChildren(head);
  $('rows').tBodies[0].replaceChildren(
    ...rows.map((r) => {
      const tr = el('tr');
      tr.append(...r.map(cell));
      return tr;
    }),
  );
  $('rows').dataset.table = table;
  $('range').textContent = rows.length ? `rows ${offset + 1}–${offset + rows.length}${more ? '' : ' (end)'}` : 'no rows';
  $('prev').disabled = offset === 0;
  $('next').disabled = !more;
  $('rowsview').hidden = false;
}

$('prev').onclick = () => current && showTable(current.table, Math.max(0, current.offset - ROWS_PER_PAGE)).catch((e) => status(describeError(e), true));
$('next').onclick = () => current && showTable(current.table, current.offset + ROWS_PER_PAGE).catch((e) => status(describeError(e), true));

/**
 * Runs `work(db, name)` on the open database from button `id`: the button is disabled
 * meanwhile, `doing` then what work returns (or the error) shows beside the buttons.
 */
function copyButton(id, doing, work) {
  $(id).onclick = async () => {
    const c = current;
    if (!c) return;
    $(id).disabled = true;
    $('dlinfo').textContent = doing;
    try {
      $('dlinfo').textContent = await work(c.db, c.name);
    } catch (e) {
      $('dlinfo').textContent = describeError(e);
    } finally {
      $(id).disabled = false;
    }
  };
}

copyButton('download', 'copying…', async (db, name) => {
  // One consistent snapshot of the database (its WAL included), as a database file.
  const blob = await new Response(backupStream(db)).blob();
  const a = el('a');
  a.href = URL.createObjectURL(blob);
  a.download = name.replace(/(\.[^.]*)?$/, '-copy$1') || 'copy.db';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  return `${a.download}: ${bytes(blob.size)}`;
});

/** Opens picked or dropped files: the database and its optional -wal / -journal. */
function openFiles(list) {
  const files = [...list];
  const side = (suffix) => files.find((f) => f.name.endsWith(suffix));
  const main = files.find((f) => !/-(wal|journal|shm)$/.test(f.name));
  if (!main) return status('pick the database file too (not only its -wal)', true);
  const base = (suffix) => files.find((f) => f.name === main.name + suffix) ?? side(suffix);
  const storage = new BlobStorage(main, { wal: base('-wal'), journal: base('-journal'), label: main.name });
  show(storage, main.name).catch((e) => status(describeError(e), true));
}

$('pick').onclick = () => $('files').click();
$('files').onchange = () => openFiles($('files').files);
const drop = $('drop');
drop.ondragover = (e) => {
  e.preventDefault();
  drop.classList.add('over');
};
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  openFiles(e.dataTransfer.files);
};
$('urlform').onsubmit = (e) => {
  e.preventDefault();
  const url = $('url').value.trim();
  if (!url) return;
  const name = decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() || 'remote.db');
  show(new HttpStorage(new URL(url, location.href).href), name).catch((err) => status(describeError(err), true));
};

/** Calls the OPFS worker (started on first use): op and data in, its result out. */
let opfsWorker = null;
let nextCall = 1;
const calls = new Map();
function opfs(op, data = {}) {
  if (!opfsWorker) {
    opfsWorker = new Worker(new URL('./opfs-worker.js', import.meta.url), { type: 'module' });
    opfsWorker.onmessage = (e) => {
      const call = calls.get(e.data.id);
      calls.delete(e.data.id);
      if (e.data.error) call.reject(new Error(e.data.error));
      else call.resolve(e.data.result);
    };
    opfsWorker.onerror = (e) => {
      for (const call of calls.values()) call.reject(new Error(e.message || 'the OPFS worker failed'));
      calls.clear();
    };
  }
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    calls.set(id, { resolve, reject });
    opfsWorker.postMessage({ id, op, ...data }, data.bytes ? [data.bytes.buffer] : []);
  });
}

function showKept(list) {
  $('keptview').hidden = list.length === 0;
  $('kept').dataset.loaded = 'true';
  $('kept').replaceChildren(
    ...list.map(({ name, size }) => {
      const li = el('li');
      li.dataset.name = name;
      const openB = el('button', 'open');
      openB.onclick = async () => {
        try {
          const bytes = await opfs('load', { name });
          await show(new BlobStorage(new Blob([bytes]), { label: name }), name);
        } catch (e) {
          status(describeError(e), true);
        }
      };
      const removeB = el('button', 'remove');
      removeB.onclick = () => opfs('remove', { name }).then(showKept, (e) => status(describeError(e), true));
      li.append(el('strong', name), ` (${bytes(size)})`, openB, removeB);
      return li;
    }),
  );
}

const hasOpfs = typeof navigator.storage?.getDirectory === 'function' && typeof Worker === 'function';
$('keep').hidden = !hasOpfs;
copyButton('keep', 'keeping a copy…', async (db, name) => {
  const image = new Uint8Array(await new Response(backupStream(db)).arrayBuffer());
  showKept(await opfs('save', { name, bytes: image }));
  return `kept ${name} in this browser`;
});
if (hasOpfs) opfs('list').then(showKept, () => {});
