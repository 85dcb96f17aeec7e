/**
 * quire import DB TABLE [--create SQL] [--on-conflict abort|replace|ignore] < rows.jsonl
 *
 * Reads rows in the export format (one JSON array per line: the rowid first for rowid tables,
 * then the stored columns; BLOBs as {"blob":"hex"}; big INTEGERs and ±Infinity as strings,
 * read back as such outside TEXT columns) from standard input and inserts them into
 * TABLE in one transaction. DB is created if it does not exist. --create runs a CREATE TABLE
 * (and optionally CREATE INDEX statements, ';'-separated) first when TABLE does not exist.
 * Prints the number of rows inserted. Any bad line fails the whole import (nothing written).
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';
import { openDatabase } from '../node/index.js';
import { nameKey } from '../catalog.js';
import type { SqlValue } from '../../btree/value.js';
import type { Affinity } from '../schema/types.js';
import { choiceOption, parseArgs, positionals, type CommandSpec } from './args.js';
import type { CliIO } from './io.js';
import { removedOnFailure } from './files.js';


function hexToBytes(hex: string, line: number): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new QuireError(ErrorCode.MISUSE, `line ${line}: bad blob hex`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const BIG_INT = /^-?[0-9]{16,19}$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * One value of the export format back to an SQL value. The format writes two things as JSON
 * strings that are not TEXT: INTEGERs beyond ±(2^53−1) (their digits) and ±Infinity. Outside
 * TEXT-affinity columns (where SQLite would store text anyway), such strings are read back as
 * that INTEGER or REAL; every other string is TEXT.
 */
function importValue(v: unknown, line: number, affinity: Affinity): SqlValue {
  if (v === null) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (affinity !== 'TEXT') {
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (BIG_INT.test(v)) {
        const b = BigInt(v);
        if ((b > MAX_SAFE || b < -MAX_SAFE) && b >= -(2n ** 63n) && b < 2n ** 63n) return b;
      }
    }
    return v;
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const b = (v as { blob?: unknown }).blob;
    if (typeof b === 'string' && Object.keys(v).length === 1) return hexToBytes(b, line);
  }
  throw new QuireError(ErrorCode.MISUSE, `line ${line}: not a value of the export format: ${JSON.stringify(v)}`);
}

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

/**
 * Parses a JSON array line. Numbers stay numbers: the export format writes integers beyond
 * 2^53 as strings, so a JSON number beyond that range is a REAL.
 */
function parseRow(text: string, line: number): unknown[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new QuireError(ErrorCode.MISUSE, `line ${line}: not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(v)) throw new QuireError(ErrorCode.MISUSE, `line ${line}: expected a JSON array`);
  return v;
}

export const IMPORT: CommandSpec = {
  name: 'import',
  args: 'DB TABLE',
  summary: 'insert rows in the export format from standard input',
  description:
    'Reads rows in the export format from standard input (one JSON array per line, as `quire export`\n' +
    'writes them) and inserts them into TABLE in one transaction: any bad line fails the whole\n' +
    'import and nothing is written. DB is created if it does not exist (and removed again if the\n' +
    'import fails). Prints the number of rows inserted.',
  options: [
    { name: 'create', value: 'SQL', help: 'CREATE TABLE (and CREATE INDEX ...; separated by ;) to run first when TABLE does not exist' },
    { name: 'on-conflict', value: 'MODE', help: 'a UNIQUE or PRIMARY KEY conflict: abort, replace or ignore', default: 'abort' },
  ],
  examples: ["quire export old.db users | quire import new.db users --create 'CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)'"],
  run: importCommand,
};

async function importCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, IMPORT.options);
  const [file, table] = positionals(p, IMPORT);
  const mode = choiceOption(p, 'on-conflict', ['abort', 'replace', 'ignore'], 'abort');
  // A new DB that the import fails to fill is removed again (no empty file left behind).
  return removedOnFailure(file, async () => {
    const db = await openDatabase(file, { readOnly: false, create: true });
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
        const stored = t.columns.filter((c) => c.slot >= 0);
        let lineNo = 0;
        for await (const text of lines(io.stdin())) {
          if (io.signal?.aborted) throw new QuireError(ErrorCode.ABORT, `import interrupted (${String(io.signal.reason)}); nothing was written`);
          lineNo++;
          if (text.trim() === '') continue;
          const arr = parseRow(text, lineNo);
          const want = stored.length + (t.withoutRowid ? 0 : 1);
          if (arr.length !== want) throw new QuireError(ErrorCode.MISUSE, `line ${lineNo}: ${arr.length} values, table ${t.name} rows have ${want}`);
          const row: Record<string, SqlValue> = {};
          let k = 0;
          if (!t.withoutRowid) row.rowid = importValue(arr[k++], lineNo, 'INTEGER');
          for (const c of stored) row[c.name] = importValue(arr[k++], lineNo, c.def.affinity);
          if (!t.withoutRowid && t.rowidAlias >= 0) delete row[t.columns[t.rowidAlias].name];
          if ((await tx.insert(table, row, { onConflict: mode })) !== null) n++;
        }
      });
      io.stdout(`${n} rows\n`);
      return 0;
    } finally {
      await db.close();
    }
  });
}
