/**
 * The column comment the sqlite3 shell's `.schema` adds after a view or a virtual table
 * (shellFakeSchema: `/* name(col,...) *\/`, the names from PRAGMA table_info). SQLite compiles
 * the view (or asks the module) to know them; quire evaluates no SQL, so it names them only
 * where the text says them, and otherwise leaves the comment out (never a wrong one):
 *
 *   view with a column list      CREATE VIEW v(a, b) AS ...         a, b
 *   result column with an alias  SELECT x + 1 AS n                  n
 *   column reference             SELECT t.id, name FROM t           the declared names (id, name)
 *   other expression             SELECT count(*) FROM t             its text: count(*)
 *   * and t.*                    over tables (not views, subqueries, USING or NATURAL joins)
 *   virtual tables               fts3, fts4, fts5 (arguments without =), rtree (every argument)
 *
 * Repeated names get `:1`, `:2`, ... as sqlite3ColumnsFromExprList gives them.
 */
import type { Catalog, SchemaRow, TableInfo } from '../catalog.js';
import { parseCreateView } from '../schema/parse.js';
import { dequote, tokenize, type Token } from '../schema/tokenize.js';
import { lowerAscii, quoteIdentifier } from './shell.js';

const CLAUSE_END = new Set(['FROM', 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'UNION', 'EXCEPT', 'INTERSECT', 'WINDOW', 'SEMI', 'EOF']);
const FROM_END = new Set(['WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'UNION', 'EXCEPT', 'INTERSECT', 'WINDOW', 'SEMI', 'EOF']);

function isName(t: Token | undefined): boolean {
  return t !== undefined && (t.type === 'ID' || t.type === 'STRING');
}

/** Splits tokens [from, to) at top-level commas. */
function splitTop(toks: Token[], from: number, to: number): Token[][] {
  const out: Token[][] = [];
  let cur: Token[] = [];
  let depth = 0;
  for (let i = from; i < to; i++) {
    const t = toks[i];
    if (t.type === 'LP') depth++;
    else if (t.type === 'RP') depth--;
    if (t.type === 'COMMA' && depth === 0) {
      out.push(cur);
      cur = [];
    } else cur.push(t);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The index of the first top-level token in `stop` at or after `from`. */
function findTop(toks: Token[], from: number, stop: Set<string>): number {
  let depth = 0;
  for (let i = from; i < toks.length; i++) {
    const t = toks[i].type;
    if (t === 'LP') depth++;
    else if (t === 'RP') depth--;
    else if (depth === 0 && stop.has(t)) return i;
  }
  return toks.length - 1;
}

interface Source {
  alias: string;
  table: TableInfo | null;
}

/** The FROM clause's tables, or null when it holds anything else (a subquery, USING, NATURAL). */
function fromSources(cat: Catalog, toks: Token[], from: number, to: number): Source[] | null {
  const out: Source[] = [];
  let i = from;
  while (i < to) {
    const t = toks[i];
    if (t.type === 'COMMA' || t.type === 'JOIN' || t.type === 'JOIN_KW') {
      if (t.type === 'JOIN_KW' && /^natural$/i.test(t.text)) return null;
      i++;
      continue;
    }
    if (t.type === 'ON') {
      i = findTop(toks, i + 1, new Set(['COMMA', 'JOIN', 'JOIN_KW', ...FROM_END]));
      continue;
    }
    if (t.type === 'USING' || !isName(t)) return null;
    let name = dequote(t.text);
    i++;
    if (toks[i]?.type === 'DOT' && isName(toks[i + 1])) {
      name = dequote(toks[i + 1].text);
      i += 2;
    }
    let alias = name;
    if (toks[i]?.type === 'AS') i++;
    if (isName(toks[i]) && i < to) alias = dequote(toks[i++].text);
    out.push({ alias, table: cat.tables.get(lowerAscii(name)) ?? null });
  }
  return out;
}

function storedNames(t: TableInfo): string[] {
  return t.columns.map((c) => c.name);
}

/** The name SQLite gives one result column, or null when quire cannot know it. */
function resultNames(sql: string, item: Token[], sources: Source[] | null): string[] | null {
  const n = item.length;
  // expr AS alias, or expr alias (not t.col, not x COLLATE name)
  if (n >= 2 && isName(item[n - 1]) && item[n - 2].type !== 'DOT' && item[n - 2].type !== 'COLLATE') return [dequote(item[n - 1].text)];
  if (n === 1 && item[0].type === 'STAR') {
    if (!sources || sources.some((s) => !s.table?.def)) return null;
    return sources.flatMap((s) => storedNames(s.table!));
  }
  if (n === 3 && item[2].type === 'STAR' && item[1].type === 'DOT') {
    const s = sources?.find((x) => lowerAscii(x.alias) === lowerAscii(dequote(item[0].text)));
    return s?.table?.def ? storedNames(s.table) : null;
  }
  if ((n === 1 && isName(item[0])) || (n === 3 && isName(item[0]) && item[1].type === 'DOT' && isName(item[2]))) {
    const col = lowerAscii(dequote(item[n - 1].text));
    const qual = n === 3 ? lowerAscii(dequote(item[0].text)) : null;
    if (!sources) return null;
    for (const s of sources) {
      if (qual !== null && lowerAscii(s.alias) !== qual) continue;
      if (!s.table?.def) return null;
      const c = s.table.columns.find((x) => lowerAscii(x.name) === col);
      if (c) return [c.name];
    }
    return null;
  }
  return [sql.slice(item[0].start, item[n - 1].end)];
}

/** sqlite3ColumnsFromExprList's de-duplication: name, name:1, name:2, ... */
function unique(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((name) => {
    let z = name;
    let cnt = 0;
    while (seen.has(lowerAscii(z))) z = `${name.replace(/:\d+$/, '')}:${++cnt}`;
    seen.add(lowerAscii(z));
    return z;
  });
}

function viewColumns(cat: Catalog, sql: string): string[] | null {
  const def = parseCreateView(sql);
  if (def.columns) return [...def.columns];
  const toks = tokenize(sql);
  const sel = toks.findIndex((t) => t.type === 'SELECT');
  if (sel < 0 || toks.slice(0, sel).some((t) => t.type === 'WITH' || t.type === 'VALUES')) return null;
  let start = sel + 1;
  if (toks[start].type === 'DISTINCT' || toks[start].type === 'ALL') start++;
  const end = findTop(toks, start, CLAUSE_END);
  let sources: Source[] | null = [];
  if (toks[end].type === 'FROM') sources = fromSources(cat, toks, end + 1, findTop(toks, end + 1, FROM_END));
  const names: string[] = [];
  for (const item of splitTop(toks, start, end)) {
    const r = item.length ? resultNames(sql, item, sources) : null;
    if (!r) return null;
    names.push(...r);
  }
  return unique(names);
}

const FTS = new Set(['fts3', 'fts4', 'fts5']);

function virtualColumns(t: TableInfo | undefined): string[] | null {
  const v = t?.def?.virtual;
  if (!v) return null;
  const module = lowerAscii(v.module);
  if (FTS.has(module)) {
    return v.args.filter((a) => !a.includes('=')).map((a) => dequote(tokenize(a)[0].text));
  }
  if (module === 'rtree' || module === 'rtree_i32') return v.args.map((a) => dequote(tokenize(a)[0].text).replace(/^\+/, ''));
  return null;
}

/** `name(col,...)` for the shell's comment after a view or virtual table, or null. */
export function columnsComment(cat: Catalog, r: SchemaRow): string | null {
  const sql = r.sql ?? '';
  let cols: string[] | null = null;
  try {
    if (sql.startsWith('CREATE VIEW ')) cols = viewColumns(cat, sql);
    else if (sql.startsWith('CREATE VIRTUAL TABLE ')) cols = virtualColumns(cat.tables.get(lowerAscii(r.name)));
  } catch {
    cols = null;
  }
  if (!cols || cols.length === 0) return null;
  return `${quoteIdentifier(r.name)}(${cols.map(quoteIdentifier).join(',')})`;
}
