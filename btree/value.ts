/**
 * The values quire reads from and writes to records, in SQLite's five storage classes.
 *
 *   SQLite class   JavaScript
 *   NULL           null
 *   INTEGER        number when |v| <= 2^53-1 (Number.isSafeInteger), else bigint (int64 range)
 *   REAL           number (a REAL with an integral value reads as a number too: the storage
 *                  class is visible only through the serial type, see btree/record.ts)
 *   TEXT           string (decoded from the database encoding)
 *   BLOB           Uint8Array (always a fresh copy, never a view into a page image)
 */

export type SqlValue = null | number | bigint | string | Uint8Array;

/** Column collations quire implements (SQLite's three built-ins). */
export type Collation = 'BINARY' | 'NOCASE' | 'RTRIM';

/** A value that is available now, or once the pages it needs are read. */
export type MaybePromise<T> = T | Promise<T>;
