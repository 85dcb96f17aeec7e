/**
 * The integrity check (in the spirit of PRAGMA integrity_check). Owned by the integrity work;
 * see btree/integrity.ts.
 */
import type { Database } from './database.js';

export interface CheckOptions {
  /** Stop after this many problems (PRAGMA integrity_check(N)). Default 100. */
  maxErrors?: number;
}

/** Returns the problems found; an empty list means the database is sound. */
export async function checkDatabase(db: Database, options: CheckOptions = {}): Promise<string[]> {
  void db;
  void options;
  throw new Error('checkDatabase: not implemented yet');
}
