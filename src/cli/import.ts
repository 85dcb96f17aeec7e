/**
 * quire import DB TABLE [--format jsonl|csv] [--typed] [--create SQL] [--on-conflict MODE]
 *
 * Reads rows as `quire export` writes them (values: src/cli/values.ts) from standard input
 * and inserts them into TABLE in one transaction. DB is created if it does not exist.
 * --create runs a CREATE TABLE (and optionally CREATE INDEX statements, ';'-separated) first
 * when TABLE does not exist. Prints the number of rows inserted. Any bad line fails the whole
 * import (nothing written); so does an interrupt (io.signal, checked before each row).
 *
 *   INPUT                      FIELDS                       ROWID
 *   jsonl array                [rowid, ...stored columns]   the first value
 *   jsonl object               keyed by column name         "rowid" / "_rowid_" / "oid"
 *   csv (header line first)    the header's names           a "rowid" column
 *
 * The rowid and an INTEGER PRIMARY KEY column are one value: if both are given and not null
 * they must be equal (else MISMATCH naming the line); a null one takes the other's value
 * ([null, 7, "y"] stores rowid 7); both null let SQLite's rule pick a new rowid.
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';
import { openDatabase } from '../node/index.js';
import { nameKey } from '../catalog.js';
import type { SqlValue } from '../../btree/value.js';
import type { Affinity } from '../schema/types.js';
import type { Column, TableInfo } from '../catalog.js';
import type { ConflictMode, Transaction } from '../write.js';
import { asciiEqualNoCase } from '../schema/tokenize.js';
import { UsageError, choiceOption, parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';
import { removedOnFailure } from './files.js';
import { CsvReader, csvToValue, jsonToValue, parseJsonLine, type CsvField, type ReadValue } from './values.js';


/** Splits standard input into lines without holding it all in memory. */
async function* lines(input: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let rest = '';
  for await (const chunk of input) {
    rest += dec.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
  rest += dec.decode();
  if (rest.length) yield rest;
}

/** Standard input as CSV records. */
async function* csvRecords(input: AsyncIterable<Uint8Array>): AsyncGenerator<{ fields: CsvField[]; line: number }> {
  const dec = new TextDecoder();
  const reader = new CsvReader();
  for await (const chunk of input) yield* reader.push(dec.decode(chunk, { stream: true }));
  yield* reader.push(dec.decode());
  yield* reader.end();
}

/** Where a named field goes: a column, or the rowid (null). */
type Slot = Column | null;

const ROWID_NAMES = ['rowid', '_rowid_', 'oid'];

/** The slot a field name names (a column first, as SQLite resolves it), or a MISUSE error. */
function slotOf(t: TableInfo, name: string, line: number): Slot {
  const c = t.columns.find((x) => asciiEqualNoCase(x.name, name));
  if (c) return c;
  if (!t.withoutRowid && ROWID_NAMES.some((n) => asciiEqualNoCase(n, name))) return null;
  throw new QuireError(ErrorCode.MISUSE, `line ${line}: table ${t.name} has no column named ${JSON.stringify(name)}`);
}

function sameInteger(a: ReadValue, b: ReadValue): boolean {
  const plain = (v: ReadValue): SqlValue => (v !== null && typeof v === 'object' && 'type' in v ? v.value : v);
  const int = (v: ReadValue) => {
    const x = plain(v);
    return typeof x === 'bigint' ? x : typeof x === 'number' && Number.isInteger(x) ? BigInt(x) : null;
  };
  const x = int(a);
  const y = int(b);
  return x !== null && y !== null ? x === y : plain(a) === plain(b);
}

/**
 * One input row as the object tx.insert takes. In the export format an INTEGER PRIMARY KEY
 * column's value IS the rowid: either may be null (the other is used; both null: a new
 * rowid), but two values that differ are an error naming the line.
 */
function insertRow(t: TableInfo, slots: readonly Slot[], values: readonly ReadValue[], line: number): Record<string, ReadValue> {
  const row: Record<string, ReadValue> = {};
  let rowid: ReadValue | undefined;
  slots.forEach((s, i) => {
    if (s === null) rowid = values[i];
    else row[s.name] = values[i];
  });
  if (rowid === undefined || rowid === null) return row;
  if (t.rowidAlias >= 0) {
    const key = t.columns[t.rowidAlias].name;
    const k = row[key];
    if (k !== undefined && k !== null && !sameInteger(k, rowid)) {
      const show = (v: ReadValue) => (v !== null && typeof v === 'object' && 'type' in v ? String(v.value) : typeof v === 'string' ? JSON.stringify(v) : String(v));
      throw new QuireError(ErrorCode.CONSTRAINT, `line ${line}: rowid ${show(rowid)} and ${t.name}.${key} ${show(k)} disagree (an INTEGER PRIMARY KEY is the rowid)`);
    }
    row[key] = rowid;
    return row;
  }
  const name = ROWID_NAMES.find((n) => !t.columns.some((c) => asciiEqualNoCase(c.name, n)));
  if (!name) throw new QuireError(ErrorCode.MISUSE, `line ${line}: table ${t.name} has columns named rowid, _rowid_ and oid: its rowid cannot be given`);
  row[name] = rowid;
  return row;
}

function affinityOf(s: Slot): Affinity {
  return s === null ? 'INTEGER' : s.def.affinity;
}

interface ImportOptions {
  format: 'jsonl' | 'csv';
  typed: boolean;
  mode: ConflictMode;
}

/**
 * Reads every input row and inserts it (inside the caller's transaction: any error rolls all
 * back). Returns the number of rows inserted. Checks the interrupt signal before each row.
 */
async function importRows(tx: Transaction, t: TableInfo, o: ImportOptions, io: CliIO): Promise<number> {
  let n = 0;
  const insert = async (slots: readonly Slot[], values: ReadValue[], line: number) => {
    if (io.signal?.aborted) throw new QuireError(ErrorCode.ABORT, 'interrupted');
    if ((await tx.insert(t.name, insertRow(t, slots, values, line), { onConflict: o.mode })) !== null) n++;
  };
  if (o.format === 'csv') {
    let header: Slot[] | null = null;
    for await (const r of csvRecords(io.stdin())) {
      if (header === null) {
        header = r.fields.map((f) => slotOf(t, f ?? '', r.line));
        continue;
      }
      if (r.fields.length === 1 && r.fields[0] === null && header.length > 1) continue; // blank line
      if (r.fields.length !== header.length) throw new QuireError(ErrorCode.MISUSE, `line ${r.line}: ${r.fields.length} fields, the header has ${header.length}`);
      await insert(header, r.fields.map((f, i) => csvToValue(f, affinityOf(header![i]))), r.line);
    }
    return n;
  }
  // The export format's arrays: the rowid first for rowid tables, then the stored columns.
  const arraySlots: Slot[] = [...(t.withoutRowid ? [] : [null]), ...t.columns.filter((c) => c.slot >= 0)];
  let lineNo = 0;
  for await (const text of lines(io.stdin())) {
    lineNo++;
    if (text.trim() === '') continue;
    const v = parseJsonLine(text, lineNo);
    let slots: Slot[];
    let raw: unknown[];
    if (Array.isArray(v)) {
      if (v.length !== arraySlots.length) throw new QuireError(ErrorCode.MISUSE, `line ${lineNo}: ${v.length} values, table ${t.name} rows have ${arraySlots.length}`);
      slots = arraySlots;
      raw = v;
    } else {
      slots = Object.keys(v).map((k) => slotOf(t, k, lineNo));
      raw = Object.values(v);
    }
    await insert(slots, raw.map((x, i) => jsonToValue(x, lineNo, affinityOf(slots[i]), o.typed)), lineNo);
  }
  return n;
}

export const IMPORT: CommandSpec = {
  name: 'import',
  interruptible: true,
  // Allocates fast and keeps little: bin.ts holds V8's young generation at its first size.
  steadyMemory: true,
  // Its garbage outlives the young generation: bin.ts keeps the old one small too.
  compactHeap: true,
  args: 'DB TABLE',
  summary: 'insert rows in the export format (JSON lines or CSV) from standard input',
  description:
    'Reads rows from standard input as `quire export` writes them and inserts them into TABLE in one\n' +
    'transaction: any bad line fails the whole import and nothing is written. jsonl: one JSON array\n' +
    'per line (the rowid first for rowid tables, then the stored columns) or one object keyed by\n' +
    'column name (--objects; "rowid", "_rowid_" or "oid" for the rowid); {"int":..}, {"real":..}\n' +
    'and {"blob":..} values are always understood; without --typed the strings export writes for\n' +
    'big INTEGERs and ±Infinity are read back as numbers outside TEXT columns. An INTEGER PRIMARY\n' +
    'KEY column is the rowid: either may be null, values that differ are an error. csv: a header\n' +
    'line naming the columns (any order, any subset; "rowid" for the rowid), then RFC 4180 rows;\n' +
    'an empty field is NULL, "" the empty string, other fields are text that the column\'s affinity\n' +
    'converts (BLOBs come back as their hex text). DB is created if it does not exist (and removed\n' +
    'again if the import fails). Prints the number of rows inserted.',
  options: [
    { name: 'format', value: 'FORMAT', help: 'jsonl (arrays or objects, one per line) or csv', default: 'jsonl' },
    { name: 'typed', help: 'jsonl as export --typed writes it: a JSON string is always TEXT' },
    { name: 'create', value: 'SQL', help: 'CREATE TABLE (and CREATE INDEX ...; separated by ;) to run first when TABLE does not exist' },
    { name: 'on-conflict', value: 'MODE', help: 'a UNIQUE or PRIMARY KEY conflict: abort, replace or ignore', default: 'abort' },
  ],
  examples: [
    "quire export old.db users | quire import new.db users --create 'CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)'",
    'quire export old.db t --typed | quire import new.db t --typed',
    'quire import app.db users --format csv < users.csv',
  ],
  run: importCommand,
};

async function importCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, IMPORT.options);
  const [file, table] = positionals(p, IMPORT);
  const options: ImportOptions = {
    format: choiceOption(p, 'format', ['jsonl', 'csv'], 'jsonl'),
    typed: p.flags.has('typed'),
    mode: choiceOption(p, 'on-conflict', ['abort', 'replace', 'ignore'], 'abort'),
  };
  if (options.format === 'csv' && options.typed) throw new UsageError('--typed is for --format jsonl');
  // A new DB that the import fails to fill is removed again (no empty file left behind).
  return removedOnFailure(file, async () => {
    // Memory flat in the input: the transaction writes its pages to the file past 8 MiB
    // (spillBytes) and keeps 4 MiB of clean pages; an append-order load touches each page
    // once, and 32 MiB of each bought no speed (300k rows, with and without an index).
    const db = await openDatabase(file, { readOnly: false, create: true, cacheBytes: 4 << 20, spillBytes: 8 << 20 });
    try {
      let n = 0;
      await db.transaction(async (tx) => {
        const cat = await tx.schema();
        if (!cat.tables.has(nameKey(table))) {
          const create = p.values.get('create');
          if (!create) throw new QuireError(ErrorCode.NOTFOUND, `no such table: ${table} (give --create "CREATE TABLE ...")`);
          await tx.exec(create);
        }
        const t = (await tx.schema()).tables.get(nameKey(table));
        if (!t) throw new QuireError(ErrorCode.NOTFOUND, `--create did not create table ${table}`);
        n = await importRows(tx, t, options, io);
      });
      io.stdout(`${n} rows\n`);
      return 0;
    } finally {
      await db.close();
    }
  });
}
