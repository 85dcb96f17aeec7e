/**
 * Parser for the CREATE statements SQLite keeps in sqlite_schema.sql (and that users give
 * quire): CREATE [TEMP] TABLE, CREATE VIRTUAL TABLE, CREATE [UNIQUE] INDEX, and the name parts
 * of CREATE VIEW and CREATE TRIGGER. A hand-written recursive descent over the grammar of
 * SQLite's parse.y, doing what build.c's action routines do with it:
 *
 *   create_table ::= CREATE [TEMP|TEMPORARY] TABLE [IF NOT EXISTS] nm [. nm]
 *                    ( columnlist [, conslist] ) [table_option [, table_option]*]
 *   columnname   ::= nm typetoken          -- sqlite3AddColumn
 *   typetoken    ::= [ids ids* [( signed [, signed] )]]
 *   ccons        ::= CONSTRAINT nm | DEFAULT ... | [NOT] NULL onconf
 *                  | PRIMARY KEY [ASC|DESC] onconf [AUTOINCREMENT] | UNIQUE onconf
 *                  | CHECK ( expr ) | REFERENCES nm [(eidlist)] refargs | [NOT] DEFERRABLE ...
 *                  | COLLATE ids | [GENERATED ALWAYS] AS ( expr ) [VIRTUAL|STORED]
 *   tcons        ::= CONSTRAINT nm | PRIMARY KEY ( sortlist [AUTOINCREMENT] ) onconf
 *                  | UNIQUE ( sortlist ) onconf | CHECK ( expr ) onconf
 *                  | FOREIGN KEY ( eidlist ) REFERENCES nm [(eidlist)] refargs [defer]
 *   table_option ::= WITHOUT ROWID | STRICT
 *
 * Names (nm) may be bare identifiers, "double", [bracket] or `backtick` quoted, 'single'
 * quoted strings, and any keyword SQLite lets fall back to an identifier (KEY, REPLACE, ASC,
 * TEMP, ...; see FALLBACK_ID). Like SQLite's LALR parser, a type name is greedy: every
 * identifier-like token after the column name joins it, which is how `x INT GENERATED ALWAYS
 * AS (1)` first reads "INT GENERATED ALWAYS" and then drops the last two words
 * (sqlite3AddColumn's quirk, reproduced).
 *
 * Expressions (CHECK, generated columns, index terms, partial-index WHERE, non-literal
 * DEFAULTs) are delimited, not evaluated: quire keeps their source text. DEFAULT literals are
 * parsed into a LiteralExpr (see default.ts) and evaluated. Only the checks SQLite makes on
 * names are repeated: a DEFAULT may not name a column, use a parameter or a subquery; a CHECK
 * or generated column may not name an unknown column (unquoted names only: a "quoted" one may
 * be a string in SQLite builds that allow double-quoted strings), use a parameter or a
 * subquery. Other expression errors (unknown functions, misused aggregates, non-deterministic
 * generated columns, malformed partial-index WHERE clauses) are not detected.
 *
 * The rules SQLite applies after parsing are applied too, with its error messages: INTEGER
 * PRIMARY KEY detection (declared type exactly INTEGER, a single-column key, and not
 * `INTEGER PRIMARY KEY DESC` written as a column constraint), AUTOINCREMENT only there, one
 * PRIMARY KEY, WITHOUT ROWID needs one, STRICT needs known types (ANY gets BLOB affinity) and
 * makes PRIMARY KEY columns NOT NULL, WITHOUT ROWID does too, generated columns cannot be in
 * the key or have a DEFAULT. Errors are QuireError SCHEMA with the offending token's offset.
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';
import { affinityOf } from './affinity.js';
import { integerPrimaryKeyColumn, simulateIndexes } from './autoindex.js';
import { evaluateLiteral } from './default.js';
import { isSpace } from './fp.js';
import {
  FALLBACK_ID,
  asciiEqualNoCase,
  asciiLower,
  asciiUpper,
  dequote,
  dequoteToken,
  isQuote,
  schemaError,
  tokenize,
  type Token,
  type TokenType,
} from './tokenize.js';
import type {
  Affinity,
  CheckDef,
  ColumnDef,
  ConflictResolution,
  DefaultValue,
  ForeignKeyAction,
  ForeignKeyDef,
  GeneratedColumn,
  IndexDef,
  IndexTerm,
  IndexedColumn,
  LiteralExpr,
  PrimaryKeyDef,
  SchemaObjectDef,
  TableDef,
  TriggerDef,
  UniqueDef,
  ViewDef,
} from './types.js';

/** The six type names SQLite recognises exactly (sqlite3StdType) and their affinities. */
const STD_TYPES: ReadonlyMap<string, Affinity> = new Map([
  ['ANY', 'NUMERIC'],
  ['BLOB', 'BLOB'],
  ['INT', 'INTEGER'],
  ['INTEGER', 'INTEGER'],
  ['REAL', 'REAL'],
  ['TEXT', 'TEXT'],
]);

/** Built-in collations are reported upper-case; other names as written. */
export function normalizeCollation(name: string): string {
  const u = asciiUpper(name);
  return u === 'BINARY' || u === 'NOCASE' || u === 'RTRIM' ? u : name;
}

/** Trims SQLite whitespace (space, \t, \n, \v, \f, \r) from both ends (sqlite3DbSpanDup). */
function trimSpan(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** Mutable column state while a CREATE TABLE is being parsed (SQLite's Column). */
interface ColBuild {
  name: string;
  declType: string;
  standardType: string | undefined;
  hasType: boolean;
  affinity: Affinity;
  notNull: boolean;
  notNullConflict: ConflictResolution | undefined;
  isPk: boolean;
  unique: boolean;
  collation: string | undefined;
  default: DefaultValue | undefined;
  generated: GeneratedColumn | undefined;
  nameTok: Token;
}

/** What SQLite's tokens say at one position: a cursor over the token list. */
class Parser {
  readonly sql: string;
  readonly toks: Token[];
  /** For each LP token, the index of its matching RP (-1 when unmatched). */
  private readonly match: Int32Array;
  pos = 0;

  constructor(sql: string) {
    this.sql = sql;
    this.toks = tokenize(sql);
    // Match parentheses once, so nested constructs cost linear time.
    this.match = new Int32Array(this.toks.length).fill(-1);
    const stack: number[] = [];
    this.toks.forEach((t, i) => {
      if (t.type === 'LP') stack.push(i);
      else if (t.type === 'RP' && stack.length > 0) this.match[stack.pop() as number] = i;
    });
  }

  peek(k = 0): Token {
    return this.toks[Math.min(this.pos + k, this.toks.length - 1)];
  }

  next(): Token {
    const t = this.peek();
    if (t.type !== 'EOF') this.pos++;
    return t;
  }

  is(type: TokenType, k = 0): boolean {
    return this.peek(k).type === type;
  }

  accept(type: TokenType): Token | undefined {
    return this.is(type) ? this.next() : undefined;
  }

  /** SQLite's syntax error for the token at hand ("incomplete input" at the end). */
  fail(t: Token = this.peek()): never {
    if (t.type === 'EOF') throw schemaError('incomplete input', t.start);
    throw schemaError(`near "${t.text}": syntax error`, t.start);
  }

  expect(type: TokenType): Token {
    if (!this.is(type)) this.fail();
    return this.next();
  }

  /** ID, or a keyword that falls back to one (the grammar's ID terminal). */
  static isIdToken(t: Token): boolean {
    return t.type === 'ID' || FALLBACK_ID.has(t.type);
  }

  /** The "nm" class: identifiers, strings, JOIN keywords, INDEXED, fallback keywords. */
  static isNm(t: Token): boolean {
    return Parser.isIdToken(t) || t.type === 'STRING' || t.type === 'JOIN_KW' || t.type === 'INDEXED';
  }

  /** The "ids" class: identifiers and strings (type names, collation names). */
  static isIds(t: Token): boolean {
    return Parser.isIdToken(t) || t.type === 'STRING';
  }

  nm(): Token {
    if (!Parser.isNm(this.peek())) this.fail();
    return this.next();
  }

  ids(): Token {
    if (!Parser.isIds(this.peek())) this.fail();
    return this.next();
  }

  /** `nm [. nm]` -> [schema, name]. */
  qualifiedName(): [string | undefined, string, Token] {
    const a = this.nm();
    if (this.accept('DOT')) {
      const b = this.nm();
      return [dequote(a.text), dequote(b.text), b];
    }
    return [undefined, dequote(a.text), a];
  }

  ifNotExists(): boolean {
    if (!this.is('IF')) return false;
    this.next();
    this.expect('NOT');
    this.expect('EXISTS');
    return true;
  }

  /** Index of the RP matching the LP at token index `lp` (tokens, not characters). */
  matchParen(lp: number): number {
    const rp = this.match[lp];
    if (rp < 0) this.fail(this.toks[this.toks.length - 1]);
    return rp;
  }

  /** Consumes `( ... )` and returns the source text between the parentheses, trimmed. */
  parenthesized(): { text: string; from: number; to: number } {
    const lp = this.pos;
    this.expect('LP');
    const rp = this.matchParen(lp);
    if (rp === lp + 1) this.fail(this.toks[rp]);
    this.pos = rp + 1;
    const text = trimSpan(this.sql.slice(this.toks[lp].end, this.toks[rp].start));
    return { text, from: lp + 1, to: rp };
  }

  /** Raw source text from token index a (inclusive) to b (exclusive). */
  span(a: number, b: number): string {
    if (b <= a) return '';
    return this.sql.slice(this.toks[a].start, this.toks[b - 1].end);
  }

  /** ON CONFLICT resolution, if present. */
  onConf(): ConflictResolution | undefined {
    if (!this.is('ON') || !this.is('CONFLICT', 1)) return undefined;
    this.next();
    this.next();
    const t = this.next();
    switch (t.type) {
      case 'ROLLBACK':
      case 'ABORT':
      case 'FAIL':
      case 'IGNORE':
      case 'REPLACE':
        return t.type;
      default:
        return this.fail(t);
    }
  }

  /** End of statement: an optional ';' then the end of the text. */
  end(): void {
    this.accept('SEMI');
    if (!this.is('EOF')) this.fail();
  }
}

// ---- CREATE TABLE --------------------------------------------------------------------------

interface Constraints {
  /** Column index by ASCII-lower-cased name. */
  byName: Map<string, number>;
  primaryKey: PrimaryKeyDef | undefined;
  pkTok: Token | undefined;
  uniques: UniqueDef[];
  checks: CheckDef[];
  foreignKeys: ForeignKeyDef[];
  ordinal: number;
  name: string | undefined;
  /** CHECK and generated-column expressions (token ranges) to check once all columns are known. */
  exprs: { from: number; to: number; what: 'CHECK constraints' | 'generated columns' }[];
}

/** Parses a CREATE TABLE (or CREATE VIRTUAL TABLE) statement. */
export function parseCreateTable(sql: string): TableDef {
  const p = new Parser(sql);
  p.expect('CREATE');
  if (p.is('VIRTUAL')) return parseVirtualTable(p);
  const temp = p.accept('TEMP') !== undefined;
  p.expect('TABLE');
  const ifNotExists = p.ifNotExists();
  const [schema, name, nameTok] = p.qualifiedName();
  if (p.is('AS')) {
    throw new QuireError(
      ErrorCode.UNSUPPORTED,
      `CREATE TABLE ${name} AS SELECT needs SQL evaluation; SQLite stores such tables as a plain CREATE TABLE`,
    );
  }
  p.expect('LP');
  const cols: ColBuild[] = [];
  const cons: Constraints = {
    byName: new Map(),
    primaryKey: undefined,
    pkTok: undefined,
    uniques: [],
    checks: [],
    foreignKeys: [],
    ordinal: 0,
    name: undefined,
    exprs: [],
  };
  // columnlist
  for (;;) {
    const colName = p.nm();
    const col = addColumn(p, cols, cons, colName);
    cons.name = undefined;
    columnConstraints(p, cols, col, cons, name);
    if (!p.accept('COMMA')) break;
    const t = p.peek().type;
    if (t === 'CONSTRAINT' || t === 'PRIMARY' || t === 'UNIQUE' || t === 'CHECK' || t === 'FOREIGN') {
      cons.name = undefined;
      tableConstraints(p, cols, cons, name);
      break;
    }
  }
  p.expect('RP');
  // table options
  let withoutRowid = false;
  let strict = false;
  if (!p.is('EOF') && !p.is('SEMI')) {
    for (;;) {
      if (p.is('WITHOUT')) {
        p.next();
        const t = p.nm();
        if (t.text.length === 5 && asciiEqualNoCase(t.text, 'rowid')) withoutRowid = true;
        else throw schemaError(`unknown table option: ${t.text}`, t.start);
      } else {
        const t = p.nm();
        if (t.text.length === 6 && asciiEqualNoCase(t.text, 'strict')) strict = true;
        else throw schemaError(`unknown table option: ${t.text}`, t.start);
      }
      if (!p.accept('COMMA')) break;
    }
  }
  p.end();
  for (const e of cons.exprs) checkExpressionNames(p, e.from, e.to, e.what, cons.byName, name, !withoutRowid);
  return endTable(sql, { name, schema, temp, ifNotExists, nameTok }, cols, cons, withoutRowid, strict);
}

function addColumn(p: Parser, cols: ColBuild[], cons: Constraints, nameTok: Token): ColBuild {
  const name = dequote(nameTok.text);
  const key = asciiLower(name);
  if (cons.byName.has(key)) throw schemaError(`duplicate column name: ${name}`, nameTok.start);
  cons.byName.set(key, cols.length);
  // typetoken: greedy ids, then an optional ( signed [, signed] )
  let typeText = '';
  const first = p.pos;
  if (Parser.isIds(p.peek())) {
    while (Parser.isIds(p.peek())) p.next();
    if (p.is('LP')) {
      p.next();
      signedNumber(p);
      if (p.accept('COMMA')) signedNumber(p);
      p.expect('RP');
    }
    typeText = p.span(first, p.pos);
  }
  // sqlite3AddColumn: drop a trailing "GENERATED ALWAYS" (or "ALWAYS") the typename absorbed.
  let sType = typeText;
  if (sType.length >= 16 && asciiEqualNoCase(sType.slice(-6), 'always')) {
    sType = sType.slice(0, -6);
    while (sType.length > 0 && isSpace(sType.charCodeAt(sType.length - 1))) sType = sType.slice(0, -1);
    if (sType.length >= 9 && asciiEqualNoCase(sType.slice(-9), 'generated')) {
      sType = sType.slice(0, -9);
      while (sType.length > 0 && isSpace(sType.charCodeAt(sType.length - 1))) sType = sType.slice(0, -1);
    }
  }
  let standardType: string | undefined;
  let affinity: Affinity = 'BLOB';
  let declType = '';
  let hasType = false;
  if (sType.length >= 3) {
    const d = dequoteToken(sType);
    const u = asciiUpper(d);
    if (STD_TYPES.has(u)) {
      standardType = u;
      affinity = STD_TYPES.get(u) as Affinity;
      declType = u;
      sType = '';
    } else {
      sType = d;
    }
  }
  if (standardType === undefined && sType.length > 0) {
    declType = dequote(sType);
    affinity = affinityOf(declType);
    hasType = true;
  } else if (standardType !== undefined) {
    hasType = true;
  }
  const col: ColBuild = {
    name,
    declType,
    standardType,
    hasType,
    affinity,
    notNull: false,
    notNullConflict: undefined,
    isPk: false,
    unique: false,
    collation: undefined,
    default: undefined,
    generated: undefined,
    nameTok,
  };
  cols.push(col);
  return col;
}

function signedNumber(p: Parser): void {
  if (p.is('PLUS') || p.is('MINUS')) p.next();
  if (!p.is('INTEGER') && !p.is('FLOAT')) p.fail();
  p.next();
}

function collationName(t: Token): string {
  return normalizeCollation(dequote(t.text));
}

/** carglist: the constraints after a column's type. */
function columnConstraints(p: Parser, cols: ColBuild[], col: ColBuild, cons: Constraints, table: string): void {
  const colIndex = cols.length - 1;
  for (;;) {
    const t = p.peek();
    switch (t.type) {
      case 'CONSTRAINT':
        constraintName(p, cons);
        break;
      case 'DEFAULT': {
        p.next();
        const d = parseDefault(p, col.name);
        if (col.generated) throw schemaError('cannot use DEFAULT on a generated column', t.start);
        col.default = d;
        break;
      }
      case 'NULL':
        p.next();
        p.onConf();
        break;
      case 'NOT':
        if (p.is('NULL', 1)) {
          p.next();
          p.next();
          col.notNull = true;
          col.notNullConflict = p.onConf();
        } else if (p.is('DEFERRABLE', 1)) {
          deferLastForeignKey(cons, deferSubclause(p));
        } else {
          p.fail(p.peek(1));
        }
        break;
      case 'DEFERRABLE':
        deferLastForeignKey(cons, deferSubclause(p));
        break;
      case 'PRIMARY': {
        p.next();
        p.expect('KEY');
        let desc = false;
        if (p.accept('DESC')) desc = true;
        else p.accept('ASC');
        const onConflict = p.onConf();
        const autoincrement = p.accept('AUTOINCR') !== undefined;
        addPrimaryKey(cons, cols, table, t, [{ column: colIndex, name: col.name, collation: undefined, desc }], onConflict, autoincrement, 'column');
        break;
      }
      case 'UNIQUE':
        p.next();
        col.unique = true;
        addUnique(cons, [{ column: colIndex, name: col.name, collation: undefined, desc: false }], p.onConf(), 'column');
        break;
      case 'CHECK':
        p.next();
        addCheck(p, cons, 'column');
        break;
      case 'REFERENCES': {
        p.next();
        cons.foreignKeys.push(references(p, [col.name], cons.name, t, true));
        break;
      }
      case 'COLLATE':
        p.next();
        col.collation = collationName(p.ids());
        break;
      case 'GENERATED':
      case 'AS': {
        if (t.type === 'GENERATED') {
          p.next();
          p.expect('ALWAYS');
        }
        p.expect('AS');
        const { text, from, to } = p.parenthesized();
        cons.exprs.push({ from, to, what: 'generated columns' });
        let stored = false;
        const typeTok = Parser.isIdToken(p.peek()) ? p.next() : undefined;
        if (col.default || col.generated) throw schemaError(`error in generated column "${col.name}"`, t.start);
        if (typeTok) {
          if (typeTok.text.length === 6 && asciiEqualNoCase(typeTok.text, 'stored')) stored = true;
          else if (!(typeTok.text.length === 7 && asciiEqualNoCase(typeTok.text, 'virtual'))) {
            throw schemaError(`error in generated column "${col.name}"`, typeTok.start);
          }
        }
        if (col.isPk) throw schemaError('generated columns cannot be part of the PRIMARY KEY', t.start);
        col.generated = { expr: text, stored };
        break;
      }
      default:
        return;
    }
  }
}

/** `CAST ( expr AS type )` starting at token k: where its top-level AS and its `)` are. */
function castParts(p: Parser, k: number): { as: number; rp: number } | null {
  const rp = p.matchParen(k + 1);
  let depth = 0;
  for (let j = k + 2; j < rp; j++) {
    const tt = p.toks[j].type;
    if (tt === 'LP') depth++;
    else if (tt === 'RP') depth--;
    else if (tt === 'AS' && depth === 0) return { as: j, rp };
  }
  return null;
}

/** `CONSTRAINT name`: names the constraint that follows. */
function constraintName(p: Parser, cons: Constraints): void {
  p.next();
  cons.name = dequote(p.nm().text);
}

type KeyColumns = Constraints['uniques'][number]['columns'];
type Origin = 'column' | 'table';

/** The table's PRIMARY KEY, from a column constraint or a table constraint (sqlite3AddPrimaryKey). */
function addPrimaryKey(
  cons: Constraints,
  cols: ColBuild[],
  table: string,
  t: Token,
  columns: KeyColumns,
  onConflict: ReturnType<Parser['onConf']>,
  autoincrement: boolean,
  origin: Origin,
): void {
  if (cons.primaryKey) throw schemaError(`table "${table}" has more than one primary key`, t.start);
  for (const c of columns) {
    if (cols[c.column].generated) throw schemaError('generated columns cannot be part of the PRIMARY KEY', t.start);
    cols[c.column].isPk = true;
  }
  cons.primaryKey = { columns, onConflict, autoincrement, origin, name: cons.name, ordinal: cons.ordinal++ };
  cons.pkTok = t;
}

function addUnique(cons: Constraints, columns: KeyColumns, onConflict: ReturnType<Parser['onConf']>, origin: Origin): void {
  cons.uniques.push({ columns, onConflict, origin, name: cons.name, ordinal: cons.ordinal++ });
}

/** `CHECK ( expr )`, the keyword already taken. */
function addCheck(p: Parser, cons: Constraints, origin: Origin): void {
  const { text, from, to } = p.parenthesized();
  cons.exprs.push({ from, to, what: 'CHECK constraints' });
  cons.checks.push({ expr: text, name: cons.name, origin });
}

/** sqlite3DeferForeignKey: a column's DEFERRABLE clause applies to the latest FOREIGN KEY. */
function deferLastForeignKey(cons: Constraints, deferred: boolean): void {
  const n = cons.foreignKeys.length;
  if (n > 0) cons.foreignKeys[n - 1] = { ...cons.foreignKeys[n - 1], deferred };
}

/** `[NOT] DEFERRABLE [INITIALLY DEFERRED|IMMEDIATE]` -> deferred? */
function deferSubclause(p: Parser): boolean {
  const not = p.accept('NOT') !== undefined;
  p.expect('DEFERRABLE');
  let deferred = false;
  if (p.accept('INITIALLY')) {
    if (p.accept('DEFERRED')) deferred = true;
    else if (!p.accept('IMMEDIATE')) p.fail();
  }
  return not ? false : deferred;
}

/** `( nm [COLLATE ids] [ASC|DESC], ... )` (COLLATE/ASC/DESC tolerated as in old schemas). */
function eidList(p: Parser): string[] {
  p.expect('LP');
  const names: string[] = [];
  for (;;) {
    names.push(dequote(p.nm().text));
    if (p.accept('COLLATE')) p.ids();
    if (!p.accept('ASC')) p.accept('DESC');
    if (!p.accept('COMMA')) break;
  }
  p.expect('RP');
  return names;
}

function refAction(p: Parser): ForeignKeyAction {
  const t = p.next();
  switch (t.type) {
    case 'SET':
      if (p.accept('NULL')) return 'SET NULL';
      if (p.accept('DEFAULT')) return 'SET DEFAULT';
      return p.fail();
    case 'CASCADE':
      return 'CASCADE';
    case 'RESTRICT':
      return 'RESTRICT';
    case 'NO':
      p.expect('ACTION');
      return 'NO ACTION';
    default:
      return p.fail(t);
  }
}

/** `REFERENCES nm [(eidlist)] refargs` (REFERENCES already consumed). */
function references(p: Parser, columns: string[], name: string | undefined, at: Token, columnLevel: boolean): ForeignKeyDef {
  const table = dequote(p.nm().text);
  const parentColumns = p.is('LP') ? eidList(p) : undefined;
  let onDelete: ForeignKeyAction = 'NO ACTION';
  let onUpdate: ForeignKeyAction = 'NO ACTION';
  let match: string | undefined;
  for (;;) {
    if (p.is('MATCH')) {
      p.next();
      match = dequote(p.nm().text);
    } else if (p.is('ON') && (p.is('DELETE', 1) || p.is('UPDATE', 1) || p.is('INSERT', 1))) {
      p.next();
      const what = p.next().type;
      const action = refAction(p);
      if (what === 'DELETE') onDelete = action;
      else if (what === 'UPDATE') onUpdate = action;
    } else {
      break;
    }
  }
  if (columnLevel) {
    if (parentColumns !== undefined && parentColumns.length !== 1) {
      throw schemaError(`foreign key on ${columns[0]} should reference only one column of table ${table}`, at.start);
    }
  } else if (parentColumns !== undefined && parentColumns.length !== columns.length) {
    throw schemaError('number of columns in foreign key does not match the number of columns in the referenced table', at.start);
  }
  return { columns, table, parentColumns, onDelete, onUpdate, match, deferred: false, name };
}

/** A column named in a PRIMARY KEY / UNIQUE list item, resolved against the table. */
function keyItem(p: Parser, from: number, to: number, cols: ColBuild[], cons: Constraints, forPk: boolean): IndexedColumn {
  const term = analyzeTerm(p, from, to, forPk);
  const name = term.name;
  if (name === undefined) {
    throw schemaError('expressions prohibited in PRIMARY KEY and UNIQUE constraints', p.toks[from].start);
  }
  const idx = cons.byName.get(asciiLower(name)) ?? -1;
  if (idx < 0) throw schemaError(`no such column: ${name}`, p.toks[from].start);
  return { column: idx, name: cols[idx].name, collation: term.collation, desc: term.desc };
}

/** Splits the items of a parenthesised list at top-level commas: [from, to) token ranges. */
function listItems(p: Parser, lp: number, rp: number): [number, number][] {
  const items: [number, number][] = [];
  let depth = 0;
  let start = lp + 1;
  for (let i = lp + 1; i < rp; i++) {
    const t = p.toks[i].type;
    if (t === 'LP') depth++;
    else if (t === 'RP') depth--;
    else if (t === 'COMMA' && depth === 0) {
      items.push([start, i]);
      start = i + 1;
    }
  }
  items.push([start, rp]);
  for (const [a, b] of items) if (a >= b) p.fail(p.toks[b]);
  return items;
}

function tableConstraints(p: Parser, cols: ColBuild[], cons: Constraints, table: string): void {
  for (;;) {
    const t = p.peek();
    switch (t.type) {
      case 'CONSTRAINT':
        constraintName(p, cons);
        break;
      case 'PRIMARY': {
        p.next();
        p.expect('KEY');
        const lp = p.pos;
        p.expect('LP');
        const rp = p.matchParen(lp);
        let end = rp;
        let autoincrement = false;
        if (p.toks[rp - 1].type === 'AUTOINCR') {
          autoincrement = true;
          end = rp - 1;
        }
        const columns = listItems(p, lp, end).map(([a, b]) => keyItem(p, a, b, cols, cons, true));
        p.pos = rp + 1;
        addPrimaryKey(cons, cols, table, t, columns, p.onConf(), autoincrement, 'table');
        break;
      }
      case 'UNIQUE': {
        p.next();
        const lp = p.pos;
        p.expect('LP');
        const rp = p.matchParen(lp);
        const columns = listItems(p, lp, rp).map(([a, b]) => keyItem(p, a, b, cols, cons, false));
        p.pos = rp + 1;
        addUnique(cons, columns, p.onConf(), 'table');
        break;
      }
      case 'CHECK':
        p.next();
        addCheck(p, cons, 'table');
        p.onConf();
        break;
      case 'FOREIGN': {
        p.next();
        p.expect('KEY');
        const child = eidList(p);
        for (const c of child) {
          if (!cons.byName.has(asciiLower(c))) {
            throw schemaError(`unknown column "${c}" in foreign key definition`, t.start);
          }
        }
        const at = p.expect('REFERENCES');
        const fk = references(p, child, cons.name, at, false);
        let deferred = false;
        if (p.is('DEFERRABLE') || (p.is('NOT') && p.is('DEFERRABLE', 1))) deferred = deferSubclause(p);
        cons.foreignKeys.push({ ...fk, deferred });
        break;
      }
      default:
        return p.fail(t);
    }
    // conslist ::= conslist tconscomma tcons: a comma (which forgets the constraint name) or
    // nothing separates table constraints.
    if (p.accept('COMMA')) {
      cons.name = undefined;
      continue;
    }
    const n = p.peek().type;
    if (n !== 'CONSTRAINT' && n !== 'PRIMARY' && n !== 'UNIQUE' && n !== 'CHECK' && n !== 'FOREIGN') return;
  }
}

function endTable(
  sql: string,
  head: { name: string; schema: string | undefined; temp: boolean; ifNotExists: boolean; nameTok: Token },
  cols: ColBuild[],
  cons: Constraints,
  withoutRowid: boolean,
  strict: boolean,
): TableDef {
  const { name } = head;
  const pk = cons.primaryKey;
  // INTEGER PRIMARY KEY: one column, declared exactly INTEGER, not "PRIMARY KEY DESC" on the column.
  let rowidAlias = -1;
  if (pk) {
    const probe = { primaryKey: pk, columns: cols.map((c) => ({ standardType: c.standardType })) } as unknown as TableDef;
    rowidAlias = integerPrimaryKeyColumn(probe);
    if (rowidAlias < 0 && pk.autoincrement) {
      throw schemaError('AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY', cons.pkTok?.start);
    }
  }
  if (strict) {
    for (const [ci, c] of cols.entries()) {
      if (c.standardType === undefined) {
        if (c.hasType) throw schemaError(`unknown datatype for ${name}.${c.name}: "${c.declType}"`, c.nameTok.start);
        throw schemaError(`missing datatype for ${name}.${c.name}`, c.nameTok.start);
      }
      if (c.standardType === 'ANY') c.affinity = 'BLOB';
      if (c.isPk && ci !== rowidAlias && !c.notNull) c.notNull = true;
    }
  }
  if (withoutRowid) {
    if (pk?.autoincrement) throw schemaError('AUTOINCREMENT not allowed on WITHOUT ROWID tables', cons.pkTok?.start);
    if (!pk) throw schemaError(`PRIMARY KEY missing on table ${name}`, head.nameTok.start);
    for (const c of cols) if (c.isPk) c.notNull = true;
    rowidAlias = -1;
  }
  if (cols.length > 0 && cols.every((c) => c.generated !== undefined)) {
    throw schemaError('must have at least one non-generated column', head.nameTok.start);
  }
  const columns: ColumnDef[] = cols.map((c) => ({
    name: c.name,
    declType: c.declType,
    affinity: c.affinity,
    notNull: c.notNull,
    notNullConflict: c.notNullConflict,
    pk: 0,
    unique: c.unique,
    collation: c.collation ?? 'BINARY',
    default: c.default,
    generated: c.generated,
    hidden: c.generated ? (c.generated.stored ? 3 : 2) : 0,
    standardType: c.standardType as ColumnDef['standardType'],
  }));
  const table: TableDef = {
    type: 'table',
    name,
    schema: head.schema,
    temp: head.temp,
    ifNotExists: head.ifNotExists,
    columns,
    rowidAlias,
    autoincrement: rowidAlias >= 0 && pk !== undefined && pk.autoincrement,
    withoutRowid,
    strict,
    primaryKey: pk,
    uniques: cons.uniques,
    checks: cons.checks,
    foreignKeys: cons.foreignKeys,
    virtual: undefined,
    sql,
  };
  // Build the automatic indexes once: validates ON CONFLICT clauses and gives PK positions.
  const sim = simulateIndexes(table, 4);
  if (sim.error) throw schemaError(sim.error, cons.pkTok?.start);
  const pkIndex = sim.indexes.find((x) => x.origin === 'pk');
  const pkKeyPos = new Map<number, number>();
  pkIndex?.keys.forEach((k, i) => {
    if (!pkKeyPos.has(k.column)) pkKeyPos.set(k.column, i + 1);
  });
  const pkPos = (i: number): number => (cols[i].isPk ? (pkKeyPos.get(i) ?? 1) : 0);
  return { ...table, columns: columns.map((c, i) => ({ ...c, pk: pkPos(i) })) };
}

// ---- DEFAULT -------------------------------------------------------------------------------

const CTIME: ReadonlyMap<string, 'CURRENT_TIME' | 'CURRENT_DATE' | 'CURRENT_TIMESTAMP'> = new Map([
  ['CURRENT_TIME', 'CURRENT_TIME'],
  ['CURRENT_DATE', 'CURRENT_DATE'],
  ['CURRENT_TIMESTAMP', 'CURRENT_TIMESTAMP'],
] as const);

/** A digit-separated number (QNUMBER) as SQLite dequotes it: 1_000 -> 1000, checked. */
function dequoteNumber(t: Token): LiteralExpr {
  const s = t.text;
  const hex = s.length > 1 && s[0] === '0' && (s[1] === 'x' || s[1] === 'X');
  let out = '';
  let isFloat = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '_') {
      out += c;
      if (c === 'e' || c === 'E' || c === '.') isFloat = true;
    } else {
      const ok = hex ? /[0-9a-fA-F]/ : /[0-9]/;
      if (!ok.test(s[i - 1] ?? '') || !ok.test(s[i + 1] ?? '')) throw schemaError(`unrecognized token: "${s}"`, t.start);
    }
  }
  return { op: !hex && isFloat ? 'float' : 'integer', text: out };
}

function hexBlob(t: Token): Uint8Array {
  const hex = t.text.slice(2, -1);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A "term" token as a literal (NULL, numbers, strings, blobs), or undefined. */
function termLiteral(t: Token): LiteralExpr | undefined {
  switch (t.type) {
    case 'NULL':
      return { op: 'null' };
    case 'INTEGER':
      return { op: 'integer', text: t.text };
    case 'FLOAT':
      return { op: 'float', text: t.text };
    case 'QNUMBER':
      return dequoteNumber(t);
    case 'STRING':
      return { op: 'string', value: dequote(t.text) };
    case 'BLOB':
      return { op: 'blob', value: hexBlob(t) };
    default:
      return undefined;
  }
}

/** Applies SQLite's unary operator rule: +/- over a unary plus rewrites that node. */
function unary(op: 'plus' | 'negate', arg: LiteralExpr): LiteralExpr {
  if (arg.op === 'plus') return op === 'plus' ? arg : { op: 'negate', arg: arg.arg };
  return { op, arg };
}

const MAX_LITERAL_DEPTH = 1000;

type LitParse = { kind: 'lit'; expr: LiteralExpr } | { kind: 'time'; which: 'CURRENT_TIME' | 'CURRENT_DATE' | 'CURRENT_TIMESTAMP' };

/**
 * Parses tokens [a, b) as a literal expression (parenthesised terms, unary +/-, CAST, TRUE,
 * FALSE, CURRENT_*), or undefined when they are any other expression.
 */
function literalExpr(p: Parser, a: number, b: number, depth = 0): LitParse | undefined {
  let i = a;
  const parseUnary = (level: number): LitParse | undefined => {
    // SQLite limits expression depth too (1000); deeper text is just "an expression" here.
    if (i >= b || level > MAX_LITERAL_DEPTH) return undefined;
    const t = p.toks[i];
    if (t.type === 'PLUS' || t.type === 'MINUS') {
      i++;
      const inner = parseUnary(level + 1);
      if (!inner || inner.kind !== 'lit') return undefined;
      return { kind: 'lit', expr: unary(t.type === 'PLUS' ? 'plus' : 'negate', inner.expr) };
    }
    if (t.type === 'LP') {
      const rp = p.matchParen(i);
      if (rp >= b) return undefined;
      const inner = literalExpr(p, i + 1, rp, level + 1);
      i = rp + 1;
      return inner;
    }
    if (t.type === 'CAST' && p.toks[i + 1]?.type === 'LP') {
      const rp = p.matchParen(i + 1);
      if (rp >= b) return undefined;
      let depth = 0;
      let asAt = -1;
      for (let k = i + 2; k < rp; k++) {
        const tt = p.toks[k].type;
        if (tt === 'LP') depth++;
        else if (tt === 'RP') depth--;
        else if (tt === 'AS' && depth === 0) asAt = k;
      }
      if (asAt < 0) return undefined;
      const inner = literalExpr(p, i + 2, asAt, level + 1);
      if (!inner || inner.kind !== 'lit') return undefined;
      const type = p.span(asAt + 1, rp);
      i = rp + 1;
      return { kind: 'lit', expr: { op: 'cast', type, arg: inner.expr } };
    }
    i++;
    const lit = termLiteral(t);
    if (lit) return { kind: 'lit', expr: lit };
    if (t.type === 'ID' && (asciiEqualNoCase(t.text, 'true') || asciiEqualNoCase(t.text, 'false'))) {
      return { kind: 'lit', expr: { op: 'bool', value: asciiEqualNoCase(t.text, 'true') } };
    }
    if (t.type === 'CTIME_KW') return { kind: 'time', which: CTIME.get(asciiUpper(t.text)) ?? 'CURRENT_TIMESTAMP' };
    return undefined;
  };
  const r = parseUnary(depth);
  return i === b ? r : undefined;
}

function constantDefault(text: string, expr: LiteralExpr): DefaultValue {
  return { kind: 'constant', text, expr, value: evaluateLiteral(expr) };
}

/**
 * What SQLite's name resolution rejects in a CHECK constraint or a generated column, checked on
 * tokens [a, b): parameters, subqueries, and unquoted names that are not a column of the table
 * (nor a function, a collation, a CAST type, TRUE/FALSE, or the rowid in a CHECK of a rowid
 * table). Quoted names are left alone: whether "x" may be a string depends on how SQLite was
 * built (its double-quoted-string setting), and a stored schema must stay readable.
 */
function checkExpressionNames(
  p: Parser,
  a: number,
  b: number,
  what: 'CHECK constraints' | 'generated columns',
  columns: ReadonlyMap<string, number>,
  table: string,
  hasRowid: boolean,
): void {
  let openCase = 0;
  for (let k = a; k < b; k++) {
    const t = p.toks[k];
    if (t.type === 'VARIABLE') throw schemaError(`parameters prohibited in ${what}`, t.start);
    if (t.type === 'SELECT') throw schemaError(`subqueries prohibited in ${what}`, t.start);
    if (t.type === 'CASE') openCase++;
    if (t.type === 'END' && openCase > 0) {
      openCase--;
      continue;
    }
    if (t.type === 'CAST' && p.toks[k + 1]?.type === 'LP') {
      const cast = castParts(p, k);
      if (cast) {
        checkExpressionNames(p, k + 2, cast.as, what, columns, table, hasRowid);
        k = cast.rp;
      }
      continue;
    }
    if (!isExprName(t)) continue;
    if (k > a && p.toks[k - 1].type === 'COLLATE') continue;
    if (p.toks[k + 1]?.type === 'LP') continue;
    // A qualified name: [schema.]table.column.
    const parts = [t];
    while (p.toks[k + 1]?.type === 'DOT' && k + 2 < b && isExprName(p.toks[k + 2])) {
      parts.push(p.toks[k + 2]);
      k += 2;
    }
    const last = parts[parts.length - 1];
    if (parts.some((x) => isQuote(x.text.charCodeAt(0)))) continue;
    const qualifier = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    const bad = (): never => {
      throw schemaError(`no such column: ${parts.map((x) => x.text).join('.')}`, t.start);
    };
    if (qualifier && !asciiEqualNoCase(dequote(qualifier.text), table)) bad();
    if (parts.length === 1 && asciiEqualNoCase(last.text, 'true')) continue;
    if (parts.length === 1 && asciiEqualNoCase(last.text, 'false')) continue;
    if (columns.has(asciiLower(dequote(last.text)))) continue;
    const rowidName = ['rowid', 'oid', '_rowid_'].some((r) => asciiEqualNoCase(r, last.text));
    if (rowidName && hasRowid && what === 'CHECK constraints') continue;
    bad();
  }
}

function isExprName(t: Token): boolean {
  return t.type === 'ID' || t.type === 'JOIN_KW' || t.type === 'INDEXED' || (FALLBACK_ID.has(t.type) && !EXPR_KEYWORDS.has(t.type));
}

/** Fallback keywords that play a keyword's part inside an expression (not a name there). */
const EXPR_KEYWORDS: ReadonlySet<TokenType> = new Set<TokenType>(['LIKE_KW', 'MATCH', 'CAST', 'RAISE', 'CTIME_KW']);

/**
 * sqlite3AddDefaultValue's sqlite3ExprIsConstantOrFunction, on tokens [a, b): a DEFAULT may
 * call functions but may not name a column (any identifier that is not a function name, a
 * collation, a CAST type or a bare TRUE/FALSE), use a parameter, or hold a subquery.
 */
function checkConstantDefault(p: Parser, a: number, b: number, column: string): void {
  const notConstant = (): never => {
    throw schemaError(`default value of column [${column}] is not constant`, p.toks[a].start);
  };
  let openCase = 0;
  for (let k = a; k < b; k++) {
    const t = p.toks[k];
    if (t.type === 'VARIABLE' || t.type === 'SELECT') notConstant();
    if (t.type === 'CASE') openCase++;
    if (t.type === 'CAST' && p.toks[k + 1]?.type === 'LP') {
      // Skip the type name of CAST(expr AS type).
      const cast = castParts(p, k);
      if (cast) {
        for (let q = k + 2; q < cast.as; q++) if (p.toks[q].type === 'CASE') openCase++;
        checkConstantDefault(p, k + 2, cast.as, column);
        k = cast.rp;
      }
      continue;
    }
    if (t.type === 'END' && openCase > 0) {
      openCase--;
      continue;
    }
    const isName = t.type === 'ID' || t.type === 'JOIN_KW' || t.type === 'INDEXED' || (FALLBACK_ID.has(t.type) && !EXPR_KEYWORDS.has(t.type));
    if (!isName) continue;
    if (k > a && p.toks[k - 1].type === 'COLLATE') continue;
    if (p.toks[k + 1]?.type === 'LP') continue;
    if (t.type === 'ID' && (asciiEqualNoCase(t.text, 'true') || asciiEqualNoCase(t.text, 'false'))) continue;
    notConstant();
  }
}

/** The part after DEFAULT (ccons ::= DEFAULT ...). */
function parseDefault(p: Parser, column: string): DefaultValue {
  const t = p.peek();
  if (t.type === 'LP') {
    const { text, from, to } = p.parenthesized();
    const lit = literalExpr(p, from, to);
    if (lit?.kind === 'lit') return constantDefault(text, lit.expr);
    if (lit?.kind === 'time') return { kind: 'time', text, which: lit.which };
    checkConstantDefault(p, from, to, column);
    return { kind: 'expression', text };
  }
  if (t.type === 'PLUS' || t.type === 'MINUS') {
    p.next();
    const term = p.next();
    const lit = termLiteral(term);
    const text = p.sql.slice(t.start, term.end);
    if (lit) return constantDefault(text, t.type === 'MINUS' ? { op: 'negate', arg: lit } : lit);
    if (term.type === 'CTIME_KW') {
      // +CURRENT_TIME is the function; -CURRENT_TIME an expression on it.
      if (t.type === 'PLUS') return { kind: 'time', text, which: CTIME.get(asciiUpper(term.text)) ?? 'CURRENT_TIMESTAMP' };
      return { kind: 'expression', text };
    }
    return p.fail(term);
  }
  p.next();
  const lit = termLiteral(t);
  if (lit) return constantDefault(t.text, lit);
  if (t.type === 'CTIME_KW') return { kind: 'time', text: t.text, which: CTIME.get(asciiUpper(t.text)) ?? 'CURRENT_TIMESTAMP' };
  if (Parser.isIdToken(t) || t.type === 'INDEXED') {
    // DEFAULT id: the identifier's text is the default string; bare TRUE/FALSE are booleans.
    const quoted = t.text.length > 0 && (t.text[0] === '"' || t.text[0] === '[' || t.text[0] === '`');
    if (!quoted && (asciiEqualNoCase(t.text, 'true') || asciiEqualNoCase(t.text, 'false'))) {
      return constantDefault(t.text, { op: 'bool', value: asciiEqualNoCase(t.text, 'true') });
    }
    return constantDefault(t.text, { op: 'string', value: dequote(t.text) });
  }
  return p.fail(t);
}

// ---- index terms ---------------------------------------------------------------------------

/**
 * One item of a sortlist (CREATE INDEX term, PRIMARY KEY / UNIQUE column): strips NULLS
 * FIRST/LAST (an error in an index), ASC/DESC, the outermost COLLATEs and redundant
 * parentheses, then decides whether what is left names a column.
 */
function analyzeTerm(p: Parser, from: number, to: number, stringAnyDepth = false): IndexTerm {
  let b = to;
  const tk = (k: number): Token => p.toks[k];
  if (b - from >= 2 && tk(b - 2).type === 'NULLS' && (tk(b - 1).type === 'FIRST' || tk(b - 1).type === 'LAST')) {
    throw schemaError(`unsupported use of NULLS ${tk(b - 1).type}`, tk(b - 2).start);
  }
  let desc = false;
  if (b - from >= 2 && (tk(b - 1).type === 'ASC' || tk(b - 1).type === 'DESC')) {
    desc = tk(b - 1).type === 'DESC';
    b--;
  }
  let a = from;
  let collation: string | undefined;
  let collateLevels = 0;
  for (;;) {
    if (b - a >= 3 && tk(b - 2).type === 'COLLATE' && Parser.isIds(tk(b - 1))) {
      if (collation === undefined) collation = collationName(tk(b - 1));
      collateLevels++;
      b -= 2;
      continue;
    }
    if (tk(a).type === 'LP' && p.matchParen(a) === b - 1) {
      a++;
      b--;
      continue;
    }
    break;
  }
  if (b - a === 1) {
    const t = tk(a);
    // A lone string names a column (SQLite's backwards-compatibility sqlite3StringToId).
    if (t.type === 'STRING' && (collateLevels <= 1 || stringAnyDepth)) return { name: dequote(t.text), expr: undefined, collation, desc };
    // CAST and RAISE cannot stand alone in an expression; CURRENT_TIME and friends are calls.
    if (t.type === 'CAST' || t.type === 'RAISE') p.fail(tk(a + 1));
    if (Parser.isNm(t) && t.type !== 'STRING' && t.type !== 'CTIME_KW') return { name: dequote(t.text), expr: undefined, collation, desc };
  }
  if (b <= a) p.fail(tk(b));
  return { name: undefined, expr: p.span(a, b), collation, desc };
}

/** Parses a CREATE [UNIQUE] INDEX statement. */
export function parseCreateIndex(sql: string): IndexDef {
  const p = new Parser(sql);
  p.expect('CREATE');
  const unique = p.accept('UNIQUE') !== undefined;
  p.expect('INDEX');
  const ifNotExists = p.ifNotExists();
  const [schema, name] = p.qualifiedName();
  p.expect('ON');
  const table = dequote(p.nm().text);
  const lp = p.pos;
  p.expect('LP');
  const rp = p.matchParen(lp);
  const terms = listItems(p, lp, rp).map(([a, b]) => analyzeTerm(p, a, b));
  p.pos = rp + 1;
  let where: string | undefined;
  if (p.accept('WHERE')) {
    const a = p.pos;
    let b = a;
    while (p.toks[b].type !== 'EOF' && p.toks[b].type !== 'SEMI') b++;
    if (b === a) p.fail();
    where = p.span(a, b);
    p.pos = b;
  }
  p.end();
  return { type: 'index', name, schema, table, unique, ifNotExists, terms, where, sql };
}

// ---- VIRTUAL TABLE, VIEW, TRIGGER ----------------------------------------------------------

function parseVirtualTable(p: Parser): TableDef {
  p.expect('VIRTUAL');
  p.expect('TABLE');
  const ifNotExists = p.ifNotExists();
  const [schema, name] = p.qualifiedName();
  p.expect('USING');
  const module = dequote(p.nm().text);
  const args: string[] = [];
  if (p.is('LP')) {
    const lp = p.pos;
    const rp = p.matchParen(lp);
    // vtabarg: any tokens, parentheses balanced, split at top-level commas; empty ones dropped.
    let depth = 0;
    let start = lp + 1;
    for (let i = lp + 1; i <= rp; i++) {
      const t = p.toks[i].type;
      if (t === 'LP') depth++;
      else if (t === 'RP' && i < rp) depth--;
      else if ((t === 'COMMA' && depth === 0) || i === rp) {
        if (i > start) args.push(p.span(start, i));
        start = i + 1;
      }
    }
    p.pos = rp + 1;
  }
  p.end();
  return {
    type: 'table',
    name,
    schema,
    temp: false,
    ifNotExists,
    columns: [],
    rowidAlias: -1,
    autoincrement: false,
    withoutRowid: false,
    strict: false,
    primaryKey: undefined,
    uniques: [],
    checks: [],
    foreignKeys: [],
    virtual: { module, args },
    sql: p.sql,
  };
}

/** Parses the head of a CREATE VIEW statement (name and optional column list). */
export function parseCreateView(sql: string): ViewDef {
  const p = new Parser(sql);
  p.expect('CREATE');
  const temp = p.accept('TEMP') !== undefined;
  p.expect('VIEW');
  const ifNotExists = p.ifNotExists();
  const [schema, name] = p.qualifiedName();
  const columns = p.is('LP') ? eidList(p) : undefined;
  p.expect('AS');
  if (p.is('EOF') || p.is('SEMI')) p.fail();
  return { type: 'view', name, schema, temp, ifNotExists, columns, sql };
}

/** Parses the head of a CREATE TRIGGER statement (its name and the table it is on). */
export function parseCreateTrigger(sql: string): TriggerDef {
  const p = new Parser(sql);
  p.expect('CREATE');
  const temp = p.accept('TEMP') !== undefined;
  p.expect('TRIGGER');
  const ifNotExists = p.ifNotExists();
  const [schema, name] = p.qualifiedName();
  if (p.is('BEFORE') || p.is('AFTER')) p.next();
  else if (p.is('INSTEAD')) {
    p.next();
    p.expect('OF');
  }
  const ev = p.next();
  if (ev.type === 'UPDATE') {
    if (p.accept('OF')) {
      do p.nm();
      while (p.accept('COMMA'));
    }
  } else if (ev.type !== 'DELETE' && ev.type !== 'INSERT') {
    p.fail(ev);
  }
  p.expect('ON');
  let table = dequote(p.nm().text);
  if (p.accept('DOT')) table = dequote(p.nm().text);
  return { type: 'trigger', name, schema, temp, ifNotExists, table, sql };
}

/** Parses any CREATE statement SQLite keeps in sqlite_schema. */
export function parseSchemaSql(sql: string): SchemaObjectDef {
  const toks = tokenize(sql);
  let k = 0;
  if (toks[k]?.type !== 'CREATE') throw schemaError(`near "${toks[k]?.text ?? ''}": syntax error`, toks[k]?.start);
  k++;
  if (toks[k].type === 'TEMP') k++;
  switch (toks[k].type) {
    case 'TABLE':
    case 'VIRTUAL':
      return parseCreateTable(sql);
    case 'UNIQUE':
    case 'INDEX':
      return parseCreateIndex(sql);
    case 'VIEW':
      return parseCreateView(sql);
    case 'TRIGGER':
      return parseCreateTrigger(sql);
    default:
      throw schemaError(`near "${toks[k].text}": syntax error`, toks[k].start);
  }
}
