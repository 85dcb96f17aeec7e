/**
 * quire's schema layer: SQLite's CREATE statements (as stored in sqlite_schema.sql) parsed into
 * plain data, with what SQLite derives from them — affinities, the rowid alias, automatic
 * indexes, record layouts, DEFAULT values — and SQLite's value conversions. Pure functions, no
 * I/O, no runtime globals at load.
 *
 *   MODULE        CONTENTS
 *   tokenize.ts   tokenizer (tokenize.c), keywords, quoting helpers
 *   parse.ts      CREATE TABLE / VIRTUAL TABLE / INDEX / VIEW / TRIGGER parsers
 *   autoindex.ts  sqlite_autoindex_* indexes, WITHOUT ROWID keys, record and index layouts
 *   affinity.ts   affinity of a declared type, applying it, storage classes, CAST
 *   default.ts    DEFAULT literal evaluation and values for rows shorter than the table
 *   fp.ts         SQLite's REAL <-> TEXT conversions (%!.17g, sqlite3AtoF, sqlite3Atoi64)
 *   types.ts      the data types
 */
export { parseCreateIndex, parseCreateTable, parseCreateTrigger, parseCreateView, parseSchemaSql, normalizeCollation } from './parse.js';
export { automaticIndexes, indexColumns, integerPrimaryKeyColumn, recordColumns, withoutRowidKey } from './autoindex.js';
export type { IndexLayoutOptions } from './autoindex.js';
export {
  affinityOf,
  applyAffinity,
  castTo,
  columnValue,
  isTypedValue,
  numerify,
  storedValue,
  strictValue,
  toRecordValue,
  toSqlValue,
  typed,
} from './affinity.js';
export { defaultFor, evaluateLiteral } from './default.js';
export { atof, atoi64, intToText, realToText } from './fp.js';
export { dequote, quoteIdentifier, tokenize } from './tokenize.js';
export type { Token, TokenType } from './tokenize.js';
export type * from './types.js';

/**
 * The definition SQLite gives its schema table (the table b-tree rooted at page 1), which has
 * no row of its own in sqlite_schema.
 */
export const SCHEMA_TABLE_SQL = 'CREATE TABLE sqlite_schema(type text,name text,tbl_name text,rootpage int,sql text)';
