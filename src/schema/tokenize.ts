/**
 * The SQL tokenizer, after SQLite's tokenize.c (sqlite3GetToken), for the schema text stored in
 * sqlite_schema.sql and for CREATE statements users give quire.
 *
 * Token classes, decided by the first character as SQLite does:
 *
 *   FIRST CHAR        TOKEN
 *   space \t \n \f \r whitespace (may continue with \v); U+FEFF (a BOM) counts as space
 *   -- /* ... * /     comments (a block comment may run to the end of the text)
 *   ' ...'            STRING, '' is an escaped quote
 *   " ..."  ` ...`    ID (a quoted identifier), "" and `` escape the quote
 *   [ ... ]           ID (no escapes)
 *   x'hex' X'hex'     BLOB (an even number of hex digits; anything else is an error)
 *   digit, .digit     INTEGER, FLOAT (with . or exponent), hex 0x..., QNUMBER when it holds
 *                     "_" digit separators (1_000); a number followed by identifier
 *                     characters is an error ("12abc")
 *   ? :  @ $ #        VARIABLE (rejected by the schema parser)
 *   letter, _, >=0x80 identifier, or a keyword when it is made only of letters and "_" and
 *                     matches one of SQLite's 147 keywords, case-insensitively (ASCII only)
 *   operators         ( ) ; , . + - * / % = == < <= <> << > >= >> != & | || ~ -> ->>
 *
 * A NUL character ends the text, as it ends SQLite's C string. Token positions are offsets into
 * the JavaScript string (UTF-16 code units); SQLite's byte-oriented rules give the same tokens
 * because every character >= U+0080 is an identifier character in both.
 *
 * Keywords and identifiers: SQLite's grammar lets most keywords stand for identifiers (its
 * %fallback ID list: KEY, REPLACE, ASC, DESC, TEMP, ...); {@link FALLBACK_ID} holds them and the
 * parser accepts them wherever a name is expected. WINDOW, OVER and FILTER are keywords only
 * in window-function positions (analyzeWindowKeyword and friends) and are IDs everywhere in a
 * CREATE statement's names; this module applies SQLite's same look-ahead rules.
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';
import { isSpace } from './fp.js';

export type TokenType =
  | 'ID'
  | 'STRING'
  | 'INTEGER'
  | 'FLOAT'
  | 'QNUMBER'
  | 'BLOB'
  | 'VARIABLE'
  | 'LP'
  | 'RP'
  | 'SEMI'
  | 'COMMA'
  | 'DOT'
  | 'PLUS'
  | 'MINUS'
  | 'STAR'
  | 'SLASH'
  | 'REM'
  | 'EQ'
  | 'NE'
  | 'LT'
  | 'LE'
  | 'GT'
  | 'GE'
  | 'LSHIFT'
  | 'RSHIFT'
  | 'BITAND'
  | 'BITOR'
  | 'BITNOT'
  | 'CONCAT'
  | 'PTR'
  | 'EOF'
  | KeywordToken;

/** Token codes of keywords (several words share one: JOIN_KW, LIKE_KW, CTIME_KW, TEMP). */
export type KeywordToken = (typeof KEYWORDS)[keyof typeof KEYWORDS];

/** A token: its class, and where it sits in the text (`text` is the raw slice). */
export interface Token {
  readonly type: TokenType;
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** SQLite's keywords (mkkeywordhash.c, this build's options) and their token codes. */
export const KEYWORDS = {
  ABORT: 'ABORT',
  ACTION: 'ACTION',
  ADD: 'ADD',
  AFTER: 'AFTER',
  ALL: 'ALL',
  ALTER: 'ALTER',
  ALWAYS: 'ALWAYS',
  ANALYZE: 'ANALYZE',
  AND: 'AND',
  AS: 'AS',
  ASC: 'ASC',
  ATTACH: 'ATTACH',
  AUTOINCREMENT: 'AUTOINCR',
  BEFORE: 'BEFORE',
  BEGIN: 'BEGIN',
  BETWEEN: 'BETWEEN',
  BY: 'BY',
  CASCADE: 'CASCADE',
  CASE: 'CASE',
  CAST: 'CAST',
  CHECK: 'CHECK',
  COLLATE: 'COLLATE',
  COLUMN: 'COLUMNKW',
  COMMIT: 'COMMIT',
  CONFLICT: 'CONFLICT',
  CONSTRAINT: 'CONSTRAINT',
  CREATE: 'CREATE',
  CROSS: 'JOIN_KW',
  CURRENT: 'CURRENT',
  CURRENT_DATE: 'CTIME_KW',
  CURRENT_TIME: 'CTIME_KW',
  CURRENT_TIMESTAMP: 'CTIME_KW',
  DATABASE: 'DATABASE',
  DEFAULT: 'DEFAULT',
  DEFERRED: 'DEFERRED',
  DEFERRABLE: 'DEFERRABLE',
  DELETE: 'DELETE',
  DESC: 'DESC',
  DETACH: 'DETACH',
  DISTINCT: 'DISTINCT',
  DO: 'DO',
  DROP: 'DROP',
  END: 'END',
  EACH: 'EACH',
  ELSE: 'ELSE',
  ESCAPE: 'ESCAPE',
  EXCEPT: 'EXCEPT',
  EXCLUSIVE: 'EXCLUSIVE',
  EXCLUDE: 'EXCLUDE',
  EXISTS: 'EXISTS',
  EXPLAIN: 'EXPLAIN',
  FAIL: 'FAIL',
  FILTER: 'FILTER',
  FIRST: 'FIRST',
  FOLLOWING: 'FOLLOWING',
  FOR: 'FOR',
  FOREIGN: 'FOREIGN',
  FROM: 'FROM',
  FULL: 'JOIN_KW',
  GENERATED: 'GENERATED',
  GLOB: 'LIKE_KW',
  GROUP: 'GROUP',
  GROUPS: 'GROUPS',
  HAVING: 'HAVING',
  IF: 'IF',
  IGNORE: 'IGNORE',
  IMMEDIATE: 'IMMEDIATE',
  IN: 'IN',
  INDEX: 'INDEX',
  INDEXED: 'INDEXED',
  INITIALLY: 'INITIALLY',
  INNER: 'JOIN_KW',
  INSERT: 'INSERT',
  INSTEAD: 'INSTEAD',
  INTERSECT: 'INTERSECT',
  INTO: 'INTO',
  IS: 'IS',
  ISNULL: 'ISNULL',
  JOIN: 'JOIN',
  KEY: 'KEY',
  LAST: 'LAST',
  LEFT: 'JOIN_KW',
  LIKE: 'LIKE_KW',
  LIMIT: 'LIMIT',
  MATCH: 'MATCH',
  MATERIALIZED: 'MATERIALIZED',
  NATURAL: 'JOIN_KW',
  NO: 'NO',
  NOT: 'NOT',
  NOTHING: 'NOTHING',
  NOTNULL: 'NOTNULL',
  NULL: 'NULL',
  NULLS: 'NULLS',
  OF: 'OF',
  OFFSET: 'OFFSET',
  ON: 'ON',
  OR: 'OR',
  ORDER: 'ORDER',
  OTHERS: 'OTHERS',
  OUTER: 'JOIN_KW',
  OVER: 'OVER',
  PARTITION: 'PARTITION',
  PLAN: 'PLAN',
  PRAGMA: 'PRAGMA',
  PRECEDING: 'PRECEDING',
  PRIMARY: 'PRIMARY',
  QUERY: 'QUERY',
  RAISE: 'RAISE',
  RANGE: 'RANGE',
  RECURSIVE: 'RECURSIVE',
  REFERENCES: 'REFERENCES',
  REGEXP: 'LIKE_KW',
  REINDEX: 'REINDEX',
  RELEASE: 'RELEASE',
  RENAME: 'RENAME',
  REPLACE: 'REPLACE',
  RESTRICT: 'RESTRICT',
  RETURNING: 'RETURNING',
  RIGHT: 'JOIN_KW',
  ROLLBACK: 'ROLLBACK',
  ROW: 'ROW',
  ROWS: 'ROWS',
  SAVEPOINT: 'SAVEPOINT',
  SELECT: 'SELECT',
  SET: 'SET',
  TABLE: 'TABLE',
  TEMP: 'TEMP',
  TEMPORARY: 'TEMP',
  THEN: 'THEN',
  TIES: 'TIES',
  TO: 'TO',
  TRANSACTION: 'TRANSACTION',
  TRIGGER: 'TRIGGER',
  UNBOUNDED: 'UNBOUNDED',
  UNION: 'UNION',
  UNIQUE: 'UNIQUE',
  UPDATE: 'UPDATE',
  USING: 'USING',
  VACUUM: 'VACUUM',
  VALUES: 'VALUES',
  VIEW: 'VIEW',
  VIRTUAL: 'VIRTUAL',
  WHEN: 'WHEN',
  WHERE: 'WHERE',
  WINDOW: 'WINDOW',
  WITH: 'WITH',
  WITHOUT: 'WITHOUT',
} as const;

/**
 * Keyword tokens SQLite's grammar turns into an identifier where a keyword cannot stand but an
 * identifier can (parse.y's %fallback ID list).
 */
export const FALLBACK_ID: ReadonlySet<TokenType> = new Set<TokenType>([
  'ABORT', 'ACTION', 'AFTER', 'ANALYZE', 'ASC', 'ATTACH', 'BEFORE', 'BEGIN', 'BY', 'CASCADE',
  'CAST', 'COLUMNKW', 'CONFLICT', 'DATABASE', 'DEFERRED', 'DESC', 'DETACH', 'DO', 'EACH', 'END',
  'EXCLUSIVE', 'EXPLAIN', 'FAIL', 'FOR', 'IGNORE', 'IMMEDIATE', 'INITIALLY', 'INSTEAD',
  'LIKE_KW', 'MATCH', 'NO', 'PLAN', 'QUERY', 'KEY', 'OF', 'OFFSET', 'PRAGMA', 'RAISE',
  'RECURSIVE', 'RELEASE', 'REPLACE', 'RESTRICT', 'ROW', 'ROWS', 'ROLLBACK', 'SAVEPOINT', 'TEMP',
  'TRIGGER', 'VACUUM', 'VIEW', 'VIRTUAL', 'WITH', 'WITHOUT', 'NULLS', 'FIRST', 'LAST', 'CURRENT',
  'FOLLOWING', 'PARTITION', 'PRECEDING', 'RANGE', 'UNBOUNDED', 'EXCLUDE', 'GROUPS', 'OTHERS',
  'TIES', 'GENERATED', 'ALWAYS', 'MATERIALIZED', 'REINDEX', 'RENAME', 'CTIME_KW', 'IF',
]);

const keywordMap: ReadonlyMap<string, KeywordToken> = new Map(Object.entries(KEYWORDS) as [string, KeywordToken][]);

/** The keyword token for `word` (ASCII case-insensitive), or undefined if it is not one. */
export function keywordCode(word: string): KeywordToken | undefined {
  return keywordMap.get(asciiUpper(word));
}

/** ASCII-only upper case (SQLite's sqlite3Toupper), leaving other characters alone. */
export function asciiUpper(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x61 && c <= 0x7a ? String.fromCharCode(c - 32) : s[i];
  }
  return out;
}

/** ASCII-only lower case (sqlite3UpperToLower). */
export function asciiLower(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}

/** Case-insensitive equality, ASCII letters only (sqlite3StrICmp(a, b) == 0). */
export function asciiEqualNoCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x >= 0x41 && x <= 0x5a) x += 32;
    if (y >= 0x41 && y <= 0x5a) y += 32;
    if (x !== y) return false;
  }
  return true;
}

/** A SCHEMA error quoting the text near `pos` (SQLite's "near "X": syntax error"). */
export function schemaError(message: string, pos?: number): QuireError {
  return new QuireError(ErrorCode.SCHEMA, pos === undefined ? message : `${message} (at offset ${pos})`);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isXDigit(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** sqlite3IsIdChar: letters, digits, '_', '$', and every character >= U+0080. */
export function isIdChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x5f || c === 0x24 || c >= 0x80
  );
}

function isKeywordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

/** SQLite's sqlite3Isquote: the four characters that open a quoted token. */
export function isQuote(c: number): boolean {
  return c === 0x22 || c === 0x27 || c === 0x60 || c === 0x5b;
}

interface Raw {
  type: TokenType | 'SPACE' | 'ILLEGAL';
  len: number;
}

/** One raw token at `i` (sqlite3GetToken). `at(k)` is 0 past the end. */
function getToken(sql: string, i: number): Raw {
  const at = (k: number): number => (k < sql.length ? sql.charCodeAt(k) : 0);
  const c = at(i);
  switch (c) {
    case 0x20:
    case 0x09:
    case 0x0a:
    case 0x0c:
    case 0x0d: {
      let k = i + 1;
      while (isSpace(at(k))) k++;
      return { type: 'SPACE', len: k - i };
    }
    case 0xfeff:
      return { type: 'SPACE', len: 1 };
    case 0x2d: // -
      if (at(i + 1) === 0x2d) {
        let k = i + 2;
        while (at(k) !== 0 && at(k) !== 0x0a) k++;
        return { type: 'SPACE', len: k - i };
      }
      if (at(i + 1) === 0x3e) return { type: 'PTR', len: at(i + 2) === 0x3e ? 3 : 2 };
      return { type: 'MINUS', len: 1 };
    case 0x28:
      return { type: 'LP', len: 1 };
    case 0x29:
      return { type: 'RP', len: 1 };
    case 0x3b:
      return { type: 'SEMI', len: 1 };
    case 0x2b:
      return { type: 'PLUS', len: 1 };
    case 0x2a:
      return { type: 'STAR', len: 1 };
    case 0x2f: {
      if (at(i + 1) !== 0x2a || at(i + 2) === 0) return { type: 'SLASH', len: 1 };
      let k = i + 3;
      let ch = at(i + 2);
      while ((ch !== 0x2a || at(k) !== 0x2f) && (ch = at(k)) !== 0) k++;
      if (ch !== 0) k++;
      return { type: 'SPACE', len: k - i };
    }
    case 0x25:
      return { type: 'REM', len: 1 };
    case 0x3d:
      return { type: 'EQ', len: at(i + 1) === 0x3d ? 2 : 1 };
    case 0x3c: {
      const d = at(i + 1);
      if (d === 0x3d) return { type: 'LE', len: 2 };
      if (d === 0x3e) return { type: 'NE', len: 2 };
      if (d === 0x3c) return { type: 'LSHIFT', len: 2 };
      return { type: 'LT', len: 1 };
    }
    case 0x3e: {
      const d = at(i + 1);
      if (d === 0x3d) return { type: 'GE', len: 2 };
      if (d === 0x3e) return { type: 'RSHIFT', len: 2 };
      return { type: 'GT', len: 1 };
    }
    case 0x21:
      return at(i + 1) === 0x3d ? { type: 'NE', len: 2 } : { type: 'ILLEGAL', len: 1 };
    case 0x7c:
      return at(i + 1) === 0x7c ? { type: 'CONCAT', len: 2 } : { type: 'BITOR', len: 1 };
    case 0x2c:
      return { type: 'COMMA', len: 1 };
    case 0x26:
      return { type: 'BITAND', len: 1 };
    case 0x7e:
      return { type: 'BITNOT', len: 1 };
    case 0x22:
    case 0x27:
    case 0x60: {
      let k = i + 1;
      let ch = 0;
      for (; (ch = at(k)) !== 0; k++) {
        if (ch === c) {
          if (at(k + 1) === c) k++;
          else break;
        }
      }
      if (ch === 0x27) return { type: 'STRING', len: k + 1 - i };
      if (ch !== 0) return { type: 'ID', len: k + 1 - i };
      return { type: 'ILLEGAL', len: k - i };
    }
    case 0x5b: {
      let k = i + 1;
      while (at(k) !== 0x5d && at(k) !== 0) k++;
      if (at(k) === 0x5d) return { type: 'ID', len: k + 1 - i };
      return { type: 'ILLEGAL', len: k - i };
    }
    case 0x3f: {
      let k = i + 1;
      while (isDigit(at(k))) k++;
      return { type: 'VARIABLE', len: k - i };
    }
    case 0x24:
    case 0x40:
    case 0x23:
    case 0x3a: {
      // $name, @name, :name, #name (TCL-style $a(b) and a::b are compiled out of this build).
      let k = i + 1;
      let n = 0;
      while (isIdChar(at(k))) {
        n++;
        k++;
      }
      return { type: n === 0 ? 'ILLEGAL' : 'VARIABLE', len: k - i };
    }
    default:
      break;
  }
  if (isDigit(c) || (c === 0x2e && isDigit(at(i + 1)))) return numberToken(at, i);
  if (c === 0x2e) return { type: 'DOT', len: 1 };
  if ((c === 0x78 || c === 0x58) && at(i + 1) === 0x27) {
    let k = i + 2;
    while (isXDigit(at(k))) k++;
    let type: Raw['type'] = 'BLOB';
    if (at(k) !== 0x27 || (k - i) % 2 !== 0) {
      type = 'ILLEGAL';
      while (at(k) !== 0 && at(k) !== 0x27) k++;
    }
    if (at(k) !== 0) k++;
    return { type, len: k - i };
  }
  if (isIdChar(c) && !isDigit(c) && c !== 0x24) {
    let k = i + 1;
    let keywordish = isKeywordChar(c);
    while (isIdChar(at(k))) {
      if (!isKeywordChar(at(k))) keywordish = false;
      k++;
    }
    if (keywordish && k - i >= 2) {
      const kw = keywordMap.get(asciiUpper(sql.slice(i, k)));
      if (kw) return { type: kw, len: k - i };
    }
    return { type: 'ID', len: k - i };
  }
  return { type: 'ILLEGAL', len: 1 };
}

function numberToken(at: (k: number) => number, i: number): Raw {
  let type: Raw['type'] = 'INTEGER';
  let k = i;
  const digits = (isD: (c: number) => boolean): void => {
    for (;;) {
      const ch = at(k);
      if (isD(ch)) k++;
      else if (ch === 0x5f) {
        type = 'QNUMBER';
        k++;
      } else break;
    }
  };
  if (at(i) === 0x30 && (at(i + 1) === 0x78 || at(i + 1) === 0x58) && isXDigit(at(i + 2))) {
    k = i + 3;
    digits(isXDigit);
  } else {
    digits(isDigit);
    if (at(k) === 0x2e) {
      if (type === 'INTEGER') type = 'FLOAT';
      k++;
      digits(isDigit);
    }
    const e = at(k);
    if ((e === 0x65 || e === 0x45) && (isDigit(at(k + 1)) || ((at(k + 1) === 0x2b || at(k + 1) === 0x2d) && isDigit(at(k + 2))))) {
      if (type === 'INTEGER') type = 'FLOAT';
      k += 2;
      digits(isDigit);
    }
  }
  while (isIdChar(at(k))) {
    type = 'ILLEGAL';
    k++;
  }
  return { type, len: k - i };
}

/** Token types the window-keyword look-ahead treats as identifiers (tokenize.c getToken()). */
function idLike(t: TokenType): boolean {
  return t === 'ID' || t === 'STRING' || t === 'JOIN_KW' || t === 'WINDOW' || t === 'OVER' || FALLBACK_ID.has(t);
}

/**
 * Splits `sql` into tokens, dropping spaces and comments, ending with an EOF token (at the end
 * of the text or at its first NUL). Throws SCHEMA on an unrecognized token.
 */
export function tokenize(sql: string): Token[] {
  const raw: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    if (sql.charCodeAt(i) === 0) break;
    const t = getToken(sql, i);
    if (t.type === 'ILLEGAL') {
      throw schemaError(`unrecognized token: "${sql.slice(i, i + Math.max(t.len, 1))}"`, i);
    }
    if (t.type !== 'SPACE') raw.push({ type: t.type, start: i, end: i + t.len, text: sql.slice(i, i + t.len) });
    i += t.len;
  }
  raw.push({ type: 'EOF', start: i, end: i, text: '' });
  // WINDOW, OVER and FILTER are keywords only where a window clause can be.
  for (let k = 0; k < raw.length; k++) {
    const t = raw[k];
    let keep = true;
    if (t.type === 'WINDOW') {
      keep = idLike(raw[k + 1].type) && raw[k + 2]?.type === 'AS';
    } else if (t.type === 'OVER') {
      const next = raw[k + 1].type;
      keep = k > 0 && raw[k - 1].type === 'RP' && (next === 'LP' || idLike(next));
    } else if (t.type === 'FILTER') {
      keep = k > 0 && raw[k - 1].type === 'RP' && raw[k + 1].type === 'LP';
    }
    if (!keep) raw[k] = { ...t, type: 'ID' };
  }
  return raw;
}

/**
 * Removes the quotes of a quoted token the way sqlite3Dequote does: "a""b" -> a"b, [x] -> x,
 * 'it''s' -> it's, `a` -> a. Text that does not start with a quote is returned unchanged; the
 * text ends at the first unescaped closing quote.
 */
export function dequote(text: string): string {
  if (text.length === 0) return text;
  let q = text.charCodeAt(0);
  if (!isQuote(q)) return text;
  if (q === 0x5b) q = 0x5d;
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === q) {
      if (text.charCodeAt(i + 1) === q) {
        out += text[i];
        i++;
      } else {
        break;
      }
    } else {
      out += text[i];
    }
  }
  return out;
}

/**
 * sqlite3DequoteToken: strips the first and last character when the first is a quote and no
 * character strictly between them is one (so "abc" -> abc, but "ab""c" is left alone).
 */
export function dequoteToken(text: string): string {
  if (text.length < 2 || !isQuote(text.charCodeAt(0))) return text;
  for (let i = 1; i < text.length - 1; i++) if (isQuote(text.charCodeAt(i))) return text;
  return text.slice(1, -1);
}

/**
 * An identifier as SQL text: bare when it is made of letters, digits and "_", does not start
 * with a digit and is not a keyword; otherwise in double quotes (like identPut in build.c).
 */
export function quoteIdentifier(name: string): string {
  let plain = name.length > 0 && !isDigit(name.charCodeAt(0));
  for (let i = 0; plain && i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!(isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f)) plain = false;
  }
  if (plain && keywordCode(name) === undefined) return name;
  return `"${name.replace(/"/g, '""')}"`;
}
