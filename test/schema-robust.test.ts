/**
 * Schema text is untrusted input (it comes from the database file): whatever the bytes, the
 * parsers must return or throw a QuireError, never another exception, and must take time
 * roughly linear in the text (no blow-up on deep nesting or many columns).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isQuireError } from '../pager/errors.js';
import { automaticIndexes, recordColumns } from '../src/schema/autoindex.js';
import { defaultFor } from '../src/schema/default.js';
import { parseCreateIndex, parseCreateTable, parseSchemaSql } from '../src/schema/parse.js';
import type { TableDef } from '../src/schema/types.js';

const SEED = Number(process.env.QUIRE_SEED ?? 0x0b57);
console.log(`schema-robust: fast-check seed ${SEED}`);

function onlyQuireErrors(f: () => unknown): void {
  try {
    const r = f();
    if (r && typeof r === 'object' && (r as TableDef).type === 'table') {
      const t = r as TableDef;
      automaticIndexes(t);
      recordColumns(t);
      for (const c of t.columns) defaultFor(c);
    }
  } catch (e) {
    if (!isQuireError(e)) throw e;
  }
}

const fragments = [
  'CREATE', 'TABLE', 'TEMP', 'VIRTUAL', 'INDEX', 'UNIQUE', 'VIEW', 'TRIGGER', 'IF', 'NOT', 'EXISTS', 'ON', 'USING', 'AS', 'SELECT', 'WHERE',
  '(', ')', ',', '.', ';', '-', '+', 'PRIMARY', 'KEY', 'AUTOINCREMENT', 'ASC', 'DESC', 'COLLATE', 'nocase', 'DEFAULT', 'NULL', 'CHECK',
  'REFERENCES', 'FOREIGN', 'CONFLICT', 'REPLACE', 'GENERATED', 'ALWAYS', 'STORED', 'VIRTUAL', 'WITHOUT', 'ROWID', 'STRICT', 'CAST',
  'CONSTRAINT', 'DEFERRABLE', 'INITIALLY', 'DEFERRED', 'MATCH', 'SET', 'CASCADE', 'NO', 'ACTION', 'INTEGER', 'TEXT', 'ANY', 'a', 'b',
  't', '"q"', '[x]', "'s'", '`b`', '1', '-1', '0x10', '1.5e3', '1_0', "x'00'", 'true', 'CURRENT_TIME', 'NULLS', 'FIRST', '--c\n', '/*c*/',
  'BEFORE', 'INSTEAD', 'OF', 'DELETE', 'BEGIN', 'END', 'FOR', 'EACH', 'ROW',
];

describe('hostile schema text', () => {
  it('random text only ever raises QuireError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        onlyQuireErrors(() => parseSchemaSql(s));
        onlyQuireErrors(() => parseSchemaSql('CREATE TABLE t(' + s));
        onlyQuireErrors(() => parseCreateIndex('CREATE INDEX i ON t(' + s));
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('token soups only ever raise QuireError', () => {
    const soup = fc.array(fc.constantFrom(...fragments), { maxLength: 40 }).map((xs) => xs.join(' '));
    fc.assert(
      fc.property(soup, fc.constantFrom('', 'CREATE TABLE t(', 'CREATE TABLE t(a ', 'CREATE TABLE t(a, ', 'CREATE INDEX i ON t(', 'CREATE TABLE t(a DEFAULT '), (body, prefix) => {
        onlyQuireErrors(() => parseSchemaSql(prefix + body));
        onlyQuireErrors(() => parseSchemaSql(prefix + body + ')'));
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });

  it('deep nesting and long inputs take linear time', () => {
    const n = 100_000;
    const t0 = performance.now();
    const a = parseCreateTable(`CREATE TABLE t(a DEFAULT ${'('.repeat(n)}1${')'.repeat(n)}, b CHECK(${'('.repeat(n)}b${')'.repeat(n)}))`);
    expect(a.columns[0].default?.kind).toBe('expression'); // deeper than SQLite's own limit
    const b = parseCreateTable(`CREATE TABLE t(a DEFAULT (${'- '.repeat(900)}5))`);
    expect(defaultFor(b.columns[0])).toEqual({ type: 'integer', value: 5 });
    const c = parseCreateTable(`CREATE TABLE t(a, UNIQUE(${'('.repeat(n)}a${')'.repeat(n)}))`);
    expect(automaticIndexes(c)).toHaveLength(1);
    const cols = Array.from({ length: 20_000 }, (_, i) => `c${i} INT UNIQUE`).join(', ');
    const d = parseCreateTable(`CREATE TABLE t(${cols})`);
    expect(automaticIndexes(d)).toHaveLength(20_000);
    expect(() => parseCreateTable(`CREATE TABLE t(a DEFAULT ${'('.repeat(n)}1)`)).toThrow(/incomplete input/);
    const ms = performance.now() - t0;
    console.log(`schema-robust: nested/long inputs parsed in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(10_000);
  });
});
