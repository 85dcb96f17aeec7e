/**
 * quire export DB TABLE [--format jsonl|csv] [--objects] [--typed] [--output FILE]
 * quire export DB --all --output DIR
 *
 * Prints every row of TABLE in b-tree order (values: src/cli/values.ts).
 *
 *   jsonl (default)   one JSON array per line: the rowid first for rowid tables, then the
 *                     stored columns (src/read.ts exportValue)
 *   --objects         one JSON object per line keyed by column name. The rowid is under
 *                     "rowid" (else "_rowid_", else "oid": the first no column is named; none
 *                     when all three are), and left out when an INTEGER PRIMARY KEY column
 *                     holds it (and for WITHOUT ROWID tables)
 *   --typed           lossless values: {"int":digits} beyond 2^53, {"real":...} for ±Infinity,
 *                     -0 and integral REALs, {"blob":hex}; a JSON string is always TEXT
 *   csv               a header line of column names, then RFC 4180 rows (lossy: values.ts)
 *
 * --output FILE writes to FILE instead of standard output; --all --output DIR writes every
 * table (not views, virtual tables or SQLite's sqlite_* tables) to DIR/<table>.<jsonl|csv>,
 * making DIR if needed (a '/', '\' or NUL in a table name, and a leading '.', are written
 * %XX). Files appear whole or not at all (output.ts). Output to a pipe waits for the reader.
 */
import { openDatabase } from '../node/index.js';
import type { PageSource } from '../../pager/source.js';
import type { TableInfo } from '../catalog.js';
import { scanRecords, type RecordVisitor } from '../../btree/cursor.js';
import { PassSource, runSource } from '../../btree/passsource.js';
import { assertReadable, columnNames, exactRows, KIND_PLAIN, RowIterator, type Row } from '../read.js';
import { asciiEqualNoCase } from '../schema/tokenize.js';
import { UsageError, choiceOption, parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';
import { FileOutputs, stdoutOutput, type ChunkedOutput } from './output.js';
import { RowText, rowTextApplies } from './rowtext.js';
import { csvField, jsonValue, typedValue } from './values.js';
import path from 'node:path';

export const EXPORT: CommandSpec = {
  name: 'export',
  interruptible: true,
  steadyMemory: true,
  args: 'DB [TABLE]',
  summary: 'print every row of a table (JSON lines or CSV)',
  description:
    'Prints every row of TABLE in b-tree order. jsonl: one JSON array per line, the rowid first for\n' +
    'rowid tables, then the stored columns (BLOBs as {"blob":"hex"}, INTEGERs beyond 2^53 and\n' +
    '±Infinity as strings). --objects: one JSON object per line keyed by column name, the rowid\n' +
    'under "rowid" (or "_rowid_", "oid" when a column has that name), left out when an INTEGER\n' +
    'PRIMARY KEY column holds it. --typed: lossless JSON ({"int":"digits"} beyond 2^53,\n' +
    '{"real":"Infinity"}, {"real":"3"} for an integral REAL; a string is always TEXT); `quire\n' +
    'import` reads every form. csv: a header line of column names, then RFC 4180 rows (NULL empty,\n' +
    '\'\' as "", BLOBs as hex, ±Infinity as Inf/-Inf; types are not kept). --all --output DIR\n' +
    'writes each table to DIR/<table>.jsonl (or .csv). Files appear only when complete. Reads only.',
  options: [
    { name: 'format', value: 'FORMAT', help: 'jsonl or csv', default: 'jsonl' },
    { name: 'objects', help: 'jsonl: one JSON object per row, keyed by column name' },
    { name: 'typed', help: 'jsonl: lossless values ({"int":..}, {"real":..}); a JSON string is always TEXT' },
    { name: 'output', short: 'o', value: 'PATH', help: 'write to this file (with --all: this directory) instead of standard output' },
    { name: 'all', help: 'every table, one file each, into the --output directory' },
  ],
  examples: [
    'quire export app.db users > users.jsonl',
    'quire export app.db users --format csv | head',
    'quire export app.db users --objects --typed -o users.jsonl',
    'quire export app.db --all --output backup/',
  ],
  run: exportCommand,
};

interface ExportFormat {
  format: 'jsonl' | 'csv';
  objects: boolean;
  typed: boolean;
}

/** The key of the rowid in --objects rows, or null when it is left out. */
function rowidKey(t: TableInfo): string | null {
  if (t.withoutRowid || t.rowidAlias >= 0) return null;
  return ['rowid', '_rowid_', 'oid'].find((n) => !t.columns.some((c) => asciiEqualNoCase(c.name, n))) ?? null;
}

/**
 * What a line holds: for each value of a row (as read.ts shapes it), the text before it, or
 * null when the value is left out (the rowid in --objects); and the text after the last.
 */
interface LineShape {
  prefix: (string | null)[];
  end: string;
}

function lineShape(t: TableInfo, f: ExportFormat): LineShape {
  const names = columnNames(t);
  if (f.format === 'csv') return { prefix: names.map((_, i) => (i ? ',' : '')), end: '\r\n' };
  if (!f.objects) return { prefix: names.map((_, i) => (i ? ',' : '[')), end: ']\n' };
  const key = rowidKey(t);
  let first = true;
  const prefix = names.map((n, i) => {
    const isRowid = !t.withoutRowid && i === 0;
    if (isRowid && key === null) return null;
    const p = (first ? '{' : ',') + JSON.stringify(isRowid ? key : n) + ':';
    first = false;
    return p;
  });
  return { prefix, end: '}\n' };
}

/** One row as a line of the chosen format (values.ts formats each value). */
function lineEncoder(shape: LineShape, f: ExportFormat): (row: Row, kinds: Uint8Array | null) => string {
  const value =
    f.format === 'csv' ? (v: Row[number]) => csvField(v) : f.typed ? (v: Row[number], k: number) => typedValue(v, k) : (v: Row[number]) => jsonValue(v);
  const { prefix, end } = shape;
  return (row, kinds) => {
    let s = '';
    for (let i = 0; i < row.length; i++) {
      const p = prefix[i];
      if (p !== null) s += p + value(row[i], kinds ? kinds[i] : KIND_PLAIN);
    }
    return s + end;
  };
}

/** Writes one table in the chosen format. */
async function writeTable(t: TableInfo, snap: PageSource, f: ExportFormat, out: ChunkedOutput): Promise<void> {
  const shape = lineShape(t, f);
  if (f.format === 'csv') await out.write(columnNames(t).map(csvField).join(',') + '\r\n');
  if (!f.typed && rowTextApplies(t)) {
    // The fast path: records straight to output bytes (rowtext.ts), a batch per leaf.
    assertReadable(t);
    const text = new RowText(t, f.format === 'csv', shape.prefix, shape.end, snap.encoding);
    const visit: RecordVisitor = (rowid, buf, start, end, pgno) => text.add(rowid, buf, start, end, pgno);
    // Each leaf's rows are drained before the scan asks for the next page: the pass may reuse
    // its page buffers (btree/passsource.ts), no page cache garbage.
    const runs = runSource(snap);
    for await (const _ of scanRecords(runs === null ? snap : new PassSource(runs), t.rootPage, visit)) {
      text.drain(out);
      if (out.full) await out.flush();
    }
  } else {
    const encode = lineEncoder(shape, f);
    if (f.typed) {
      for await (const r of exactRows(t, snap)) await out.write(encode(r.values, r.kinds));
    } else {
      for await (const row of new RowIterator(t, snap, () => {})) {
        const w = out.write(encode(row, null));
        if (w) await w;
      }
    }
  }
  await out.flush();
}

/** A table name as a file name: '/', '\', NUL and a leading '.' written %XX. */
export function fileNameOf(table: string): string {
  const s = table.replace(/[%/\\\0]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
  return s.startsWith('.') ? '%2E' + s.slice(1) : s;
}

async function exportCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, EXPORT.options);
  const all = p.flags.has('all');
  const [file, table] = positionals(p, EXPORT, all ? 1 : 2, all ? 1 : 2);
  const f: ExportFormat = {
    format: choiceOption(p, 'format', ['jsonl', 'csv'], 'jsonl'),
    objects: p.flags.has('objects'),
    typed: p.flags.has('typed'),
  };
  if (f.format === 'csv' && (f.objects || f.typed)) throw new UsageError('--objects and --typed are for --format jsonl');
  const output = p.values.get('output');
  if (all && output === undefined) throw new UsageError('--all needs --output DIR (one file per table)');
  const db = await openDatabase(file, { cacheBytes: 2 << 20 });
  // One snapshot for everything exported.
  const snap = await db.pager.read();
  const files = new FileOutputs(io.signal);
  try {
    const cat = await db.catalogAt(snap);
    if (!all) {
      const t = db.tableIn(cat, table);
      await writeTable(t, snap, f, output === undefined ? stdoutOutput(io) : files.open(output));
    } else {
      files.ensureDir(output!);
      for (const r of cat.rows) {
        if (r.type !== 'table' || r.name.startsWith('sqlite_')) continue;
        const t = db.tableIn(cat, r.name);
        if (t.virtual) continue;
        await writeTable(t, snap, f, files.open(path.join(output!, `${fileNameOf(r.name)}.${f.format}`)));
      }
    }
    files.commit();
    return 0;
  } finally {
    files.discard();
    snap.release();
    await db.close();
  }
}
