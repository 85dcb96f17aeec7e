/**
 * What the sqlite3 shell (shell.c, 3.40) does with names, patterns and schema text, for the
 * commands that print SQL as it does (`quire schema` is `.schema`, `quire dump` is `.dump`).
 *
 *   shell.c             here              what
 *   quoteChar           quoteIdentifier   a name bare when it is [A-Za-z_][A-Za-z0-9_]* and not
 *                                         a keyword, else in double quotes ("" inside)
 *   printSchemaLine     schemaLine        the CREATE text, closed so that `;` ends it (a
 *                                         trailing -- comment gets a line break, an open
 *                                         block comment its closing star-slash), and `CREATE TABLE "x"` /
 *                                         `CREATE TABLE 'x'` written `CREATE TABLE IF NOT
 *                                         EXISTS "x"` (the shell's guard for shadow tables)
 *   LIKE ... ESCAPE '\' likeMatch         case-insensitive (ASCII), % and _, \ escapes
 *   GLOB                globMatch         case-sensitive, * ? [...] [^...]
 */
import { quoteIdentifier } from '../schema/tokenize.js';

export { quoteIdentifier };

/** What the text needs appended so that a following `;` is not inside a comment. */
function commentCloser(sql: string): string {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      if (nl < 0) return '\n';
      i = nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) return '*/';
      i = end + 2;
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      const end = sql.indexOf(close, i + 1);
      if (end < 0) return '';
      i = end + 1;
    } else {
      i++;
    }
  }
  return '';
}

/** printSchemaLine(sql, ";\n"): the statement as the shell prints it in .schema and .dump. */
export function schemaLine(sql: string): string {
  let z = sql;
  if (z.includes('/*') || z.includes('--')) z += commentCloser(z);
  if (/^CREATE TABLE ['"]/.test(z)) z = 'CREATE TABLE IF NOT EXISTS ' + z.slice(13);
  return z + ';\n';
}

/** ASCII lower case (SQLite's lower() without ICU). */
export function lowerAscii(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** `text LIKE pattern ESCAPE '\'`. */
export function likeMatch(pattern: string, text: string): boolean {
  return like(lowerAscii(pattern), lowerAscii(text), 0, 0);
}

function like(p: string, t: string, pi: number, ti: number): boolean {
  while (pi < p.length) {
    const c = p[pi];
    if (c === '%') {
      while (p[pi] === '%' || p[pi] === '_') {
        if (p[pi] === '_') {
          if (ti >= t.length) return false;
          ti++;
        }
        pi++;
      }
      if (pi === p.length) return true;
      for (let k = ti; k <= t.length; k++) if (like(p, t, pi, k)) return true;
      return false;
    }
    if (ti >= t.length) return false;
    if (c === '_') {
      pi++;
      ti++;
      continue;
    }
    let lit = c;
    if (c === '\\' && pi + 1 < p.length) lit = p[++pi];
    if (t[ti] !== lit) return false;
    pi++;
    ti++;
  }
  return ti === t.length;
}

/** `text GLOB pattern`. */
export function globMatch(p: string, t: string, pi = 0, ti = 0): boolean {
  while (pi < p.length) {
    const c = p[pi];
    if (c === '*') {
      while (p[pi] === '*') pi++;
      if (pi === p.length) return true;
      for (let k = ti; k <= t.length; k++) if (globMatch(p, t, pi, k)) return true;
      return false;
    }
    if (ti >= t.length) return false;
    if (c === '?') {
      pi++;
      ti++;
      continue;
    }
    if (c === '[') {
      const end = p.indexOf(']', pi + 2);
      if (end < 0) return false;
      let set = p.slice(pi + 1, end);
      const negate = set.startsWith('^');
      if (negate) set = set.slice(1);
      let hit = false;
      for (let k = 0; k < set.length; k++) {
        if (set[k + 1] === '-' && k + 2 < set.length) {
          if (t[ti] >= set[k] && t[ti] <= set[k + 2]) hit = true;
          k += 2;
        } else if (set[k] === t[ti]) hit = true;
      }
      if (hit === negate) return false;
      pi = end + 1;
      ti++;
      continue;
    }
    if (t[ti] !== c) return false;
    pi++;
    ti++;
  }
  return ti === t.length;
}

/** The shell's choice for a pattern: GLOB when it holds * ? or [, else LIKE. */
export function patternMatch(pattern: string, text: string): boolean {
  return /[*?[]/.test(pattern) ? globMatch(pattern, lowerAscii(text)) : likeMatch(pattern, text);
}
