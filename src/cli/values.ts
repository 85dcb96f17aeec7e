/**
 * How the CLI writes values and reads them back: one codec per format, shared by export,
 * import and dump.
 *
 *   SQL VALUE            jsonl (default)      jsonl --typed           csv            dump (SQL)
 *   NULL                 null                 null                    (empty)        NULL
 *   INTEGER |v|<=2^53-1  7                    7                       7              7
 *   INTEGER beyond       "9007199254740993"   {"int":"9007199..."}    digits         digits
 *   REAL                 1.5                  1.5                     1.5            1.5
 *   REAL integral        3 (reads as 3)       {"real":"3"}            3              3.0
 *   REAL ±Infinity       "Infinity"           {"real":"Infinity"}     Inf / -Inf     1e999 / -1e999
 *   TEXT                 "a"                  "a"                     a              'a' (see sqlText)
 *   TEXT ''              ""                   ""                      ""             ''
 *   BLOB                 {"blob":"00ff"}      {"blob":"00ff"}         00ff           X'00ff'
 *
 * The default jsonl is the historical export format (src/read.ts exportValue): it writes
 * INTEGERs beyond 2^53 and ±Infinity as JSON strings, so TEXT '9007199254740993' and the
 * INTEGER 9007199254740993 export alike; import reads such strings back as numbers outside
 * TEXT columns. `--typed` removes every ambiguity: a JSON string is always TEXT, a JSON number
 * is an INTEGER when it is a safe integer and a REAL otherwise, and what JSON cannot say
 * exactly is an object: {"int":digits}, {"real":"3" | "-0" | "Infinity" | "-Infinity"},
 * {"blob":hex}. Import always understands these objects.
 *
 * CSV is lossy: NULL is an empty field and the empty string a quoted empty field (""),
 * but numbers, text and BLOB hex all become text; import gives them the column's affinity.
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';
import type { SqlValue } from '../../btree/value.js';
import type { Affinity, TypedValue } from '../schema/types.js';
import { exportValue, KIND_REAL, KIND_RAWTEXT } from '../read.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function misuse(line: number, message: string): QuireError {
  return new QuireError(ErrorCode.MISUSE, `line ${line}: ${message}`);
}

/**
 * Lowercase hex of a BLOB. The CLI runs on Node: Buffer's encoder is native (pager/bytes.ts
 * toHex builds the string two characters at a time: 5 s and 290 MB for a 17 MB table of BLOBs).
 */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

// ---------------------------------------------------------------- JSON (export / import)

/** One value of the default export format (read.ts exportValue, with the native hex). */
export function jsonValue(v: SqlValue): string {
  return v instanceof Uint8Array ? `{"blob":"${hex(v)}"}` : exportValue(v);
}

/** One value of `export --typed` (lossless JSON); `kind` is the KIND_* of read.ts. */
export function typedValue(v: SqlValue, kind: number): string {
  if (kind === KIND_REAL && typeof v === 'number') {
    if (!Number.isFinite(v)) return v > 0 ? '{"real":"Infinity"}' : '{"real":"-Infinity"}';
    if (Object.is(v, -0)) return '{"real":"-0"}';
    if (Number.isSafeInteger(v)) return `{"real":"${v}"}`;
    return JSON.stringify(v);
  }
  // Not valid UTF-8: JSON has no way to carry the bytes; the text as SQLite would decode it.
  if (kind === KIND_RAWTEXT && v instanceof Uint8Array) return JSON.stringify(new TextDecoder().decode(v));
  if (typeof v === 'bigint' && (v > MAX_SAFE || v < -MAX_SAFE)) return `{"int":"${v}"}`;
  return jsonValue(v);
}

const INT_TEXT = /^-?[0-9]{1,19}$/;
const BIG_INT = /^-?[0-9]{16,19}$/;

function hexToBytes(hex: string, line: number): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw misuse(line, `bad blob hex ${JSON.stringify(hex.slice(0, 20))}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function int64(text: string, line: number): bigint {
  const b = INT_TEXT.test(text) ? BigInt(text) : null;
  if (b === null || b < INT64_MIN || b > INT64_MAX) throw misuse(line, `{"int":...} must hold a 64-bit integer's digits, got ${JSON.stringify(text)}`);
  return b;
}

const REAL_WORDS: Record<string, number> = { Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

/**
 * A value read back: an SQL value, or a REAL whose value is integral (a JS number alone would
 * be stored as an INTEGER), as the storage-class-explicit TypedValue tx.insert takes.
 */
export type ReadValue = SqlValue | TypedValue;

/** {"int":..}, {"real":..} or {"blob":..} back to its value. */
function objectValue(v: object, line: number): ReadValue {
  const keys = Object.keys(v);
  const o = v as Record<string, unknown>;
  if (keys.length === 1 && typeof o[keys[0]] === 'string') {
    const s = o[keys[0]] as string;
    if (keys[0] === 'blob') return hexToBytes(s, line);
    if (keys[0] === 'int') {
      const b = int64(s, line);
      return b >= -MAX_SAFE && b <= MAX_SAFE ? Number(b) : b;
    }
    if (keys[0] === 'real') {
      const r = s in REAL_WORDS ? REAL_WORDS[s] : s.trim() === '' ? NaN : Number(s);
      if (Number.isNaN(r)) throw misuse(line, `{"real":...} must hold a number, got ${JSON.stringify(s)}`);
      return { type: 'real', value: r };
    }
  }
  throw misuse(line, `not a value of the export format: ${JSON.stringify(v)}`);
}

/**
 * One JSON value of an exported row back to an SQL value. Objects are always understood. A
 * string is TEXT, except in the default (untyped) format outside TEXT columns, where the
 * strings that format writes for big INTEGERs and ±Infinity are read back as those.
 */
export function jsonToValue(v: unknown, line: number, affinity: Affinity, typed: boolean): ReadValue {
  if (v === null || typeof v === 'number') return v as SqlValue;
  if (typeof v === 'string') {
    if (!typed && affinity !== 'TEXT') {
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (BIG_INT.test(v)) {
        const b = BigInt(v);
        if ((b > MAX_SAFE || b < -MAX_SAFE) && b >= INT64_MIN && b <= INT64_MAX) return b;
      }
    }
    return v;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'object' && !Array.isArray(v)) return objectValue(v, line);
  throw misuse(line, `not a value of the export format: ${JSON.stringify(v)}`);
}

/** Parses one line of JSON (an array or, for --objects, an object). */
export function parseJsonLine(text: string, line: number): unknown[] | Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw misuse(line, `not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null) throw misuse(line, 'expected a JSON array (or an object keyed by column name)');
  return v as unknown[] | Record<string, unknown>;
}

// ---------------------------------------------------------------- CSV

/** A CSV field (RFC 4180: quoted when it holds a comma, quote or line break; '' as ""). */
export function csvField(v: SqlValue): string {
  let s: string;
  if (v === null) return '';
  if (typeof v === 'number') s = Number.isFinite(v) ? String(v) : v > 0 ? 'Inf' : '-Inf';
  else if (typeof v === 'bigint') s = v.toString();
  else if (typeof v === 'string') s = v;
  else s = hex(v);
  if (s === '') return '""';
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV field read back: null for an unquoted empty field, else its text. */
export type CsvField = string | null;

/**
 * Splits CSV text (RFC 4180: fields quoted with ", "" inside quotes, CRLF or LF line ends,
 * line breaks inside quoted fields) into records, chunk by chunk. `line` is the line number
 * a record started on, for messages.
 */
const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

export class CsvReader {
  private field = '';
  private quoted = false;
  private inQuotes = false;
  private afterQuote = false;
  private record: CsvField[] = [];
  private line = 1;
  private startLine = 1;
  private pendingCR = false;

  /**
   * Feeds text; returns the records completed by it. A field is taken in runs (a slice of
   * the text between special characters), not a character at a time: a string grown by one
   * character per step is a chain of one object per character, which the reader holds (so a
   * young-generation collection moves it) while the import inserts the chunk's rows.
   */
  push(text: string): { fields: CsvField[]; line: number }[] {
    const out: { fields: CsvField[]; line: number }[] = [];
    const n = text.length;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (this.pendingCR) {
        this.pendingCR = false;
        if (c === LF) {
          i++;
          continue;
        }
      }
      if (this.inQuotes) {
        const q = text.indexOf('"', i);
        const end = q < 0 ? n : q;
        if (end > i) {
          for (let k = text.indexOf('\n', i); k >= 0 && k < end; k = text.indexOf('\n', k + 1)) this.line++;
          this.field += text.slice(i, end);
        }
        if (q < 0) break;
        if (q + 1 < n && text.charCodeAt(q + 1) === QUOTE) {
          this.field += '"';
          i = q + 2;
        } else if (q + 1 === n) {
          // A quote at the end of a chunk: "" or the end of the field? Decide on the next chunk.
          this.inQuotes = false;
          this.afterQuote = true;
          i = n;
        } else {
          this.inQuotes = false;
          i = q + 1;
        }
        continue;
      }
      if (this.afterQuote) {
        this.afterQuote = false;
        if (c === QUOTE) {
          this.field += '"';
          this.inQuotes = true;
          i++;
          continue;
        }
      }
      if (c === QUOTE && this.field === '' && !this.quoted) {
        this.quoted = true;
        this.inQuotes = true;
        i++;
      } else if (c === QUOTE) {
        throw misuse(this.line, 'a quote inside an unquoted CSV field (quote the field and double the quote)');
      } else if (c === COMMA) {
        this.endField();
        i++;
      } else if (c === LF || c === CR) {
        if (c === CR) this.pendingCR = true;
        this.endField();
        out.push({ fields: this.record, line: this.startLine });
        this.record = [];
        this.line++;
        this.startLine = this.line;
        i++;
      } else {
        if (this.quoted) throw misuse(this.line, 'text after the closing quote of a CSV field');
        let j = i + 1;
        for (; j < n; j++) {
          const d = text.charCodeAt(j);
          if (d === COMMA || d === LF || d === CR || d === QUOTE) break;
        }
        this.field += text.slice(i, j);
        i = j;
      }
    }
    return out;
  }

  /** Ends the input: the last record if it had no line break. */
  end(): { fields: CsvField[]; line: number }[] {
    if (this.inQuotes) throw misuse(this.startLine, 'unterminated quoted CSV field');
    this.afterQuote = false;
    if (this.field === '' && !this.quoted && this.record.length === 0) return [];
    this.endField();
    const r = { fields: this.record, line: this.startLine };
    this.record = [];
    return [r];
  }

  private endField(): void {
    this.record.push(this.field === '' && !this.quoted ? null : this.field);
    this.field = '';
    this.quoted = false;
  }
}

/** A CSV field to an SQL value: the text, with Inf/-Inf as ±Infinity in numeric columns. */
export function csvToValue(f: CsvField, affinity: Affinity): SqlValue {
  if (f === null) return null;
  if (affinity !== 'TEXT' && affinity !== 'BLOB') {
    if (f === 'Inf') return Infinity;
    if (f === '-Inf') return -Infinity;
  }
  return f;
}

// ---------------------------------------------------------------- SQL literals (dump)

/**
 * A REAL as SQL text that SQLite reads back as the same double: integral values as
 * `<digits>.0` (as the sqlite3 shell writes them), others in the shortest form that round-
 * trips (at most 17 significant digits), ±Infinity as 1e999 / -1e999. -0.0 is written 0.0,
 * as the shell does (SQL cannot tell them apart).
 */
export function sqlReal(r: number): string {
  if (r === Infinity) return '1e999';
  if (r === -Infinity) return '-1e999';
  if (Number.isInteger(r) && Math.abs(r) < 2 ** 63) return `${BigInt(r)}.0`;
  const s = String(r);
  // JavaScript writes 1e+300; SQLite reads that too, but keep a '.' or 'e' so it stays a REAL.
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** The pieces of a string between NULs, each quoted as the sqlite3 shell quotes text. */
function shellQuote(s: string): string {
  if (!/['\n\r]/.test(s)) return `'${s}'`;
  let body = s.replace(/'/g, "''");
  let open = '';
  let close = '';
  if (s.includes('\r')) {
    const cr = unusedMarker(s, '\\r', '\\015');
    body = body.replace(/\r/g, cr);
    open = 'replace(' + open;
    close += `,'${cr}',char(13))`;
  }
  if (s.includes('\n')) {
    const nl = unusedMarker(s, '\\n', '\\012');
    body = body.replace(/\n/g, nl);
    open = 'replace(' + open;
    close += `,'${nl}',char(10))`;
  }
  return `${open}'${body}'${close}`;
}

/** The shell's unused_string: a marker not found in `s`. */
function unusedMarker(s: string, a: string, b: string): string {
  if (!s.includes(a)) return a;
  if (!s.includes(b)) return b;
  for (let i = 0; ; i++) {
    const m = `(${a}${i})`;
    if (!s.includes(m)) return m;
  }
}

/**
 * TEXT as an SQL expression, as the sqlite3 shell's .dump writes it: quoted with '' doubled,
 * line feeds and carriage returns through replace(...,char(10)) so line-end translation cannot
 * change them. Unlike the shell (whose C strings end at a NUL), a NUL is kept: ||char(0)||.
 */
export function sqlText(s: string): string {
  if (!s.includes('\0')) return shellQuote(s);
  const parts = s.split('\0');
  const pieces: string[] = [];
  parts.forEach((p, i) => {
    if (p !== '') pieces.push(shellQuote(p));
    if (i < parts.length - 1) pieces.push('char(0)');
  });
  return pieces.join('||');
}

/** One value as an SQL literal for dump; `kind` is the KIND_* of read.ts. */
export function sqlLiteral(v: SqlValue, kind: number): string {
  if (v === null) return 'NULL';
  // TEXT bytes that are not valid UTF-8: the shell writes them raw inside the quotes; as SQL
  // text they would not survive, so cast the BLOB (exact: read.ts marks them only in UTF-8).
  if (kind === KIND_RAWTEXT && v instanceof Uint8Array) return `CAST(X'${hex(v)}' AS TEXT)`;
  if (typeof v === 'number') return kind === KIND_REAL || !Number.isSafeInteger(v) ? sqlReal(v) : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return sqlText(v);
  return `X'${hex(v)}'`;
}
