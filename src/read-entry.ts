/**
 * quire/read: the entry point for apps that only read. It exports ReadDatabase (schema,
 * tables, rows, lookups) and the read-only storages, and nothing that writes, vacuums,
 * checks or copies, so a bundle that imports only from here stays small (test/size.test.ts).
 * Everything here is also exported by `quire`.
 */
export { ReadDatabase, isReadDatabase } from './reader.js';
export type { ReadOptions, RowsOptions } from './reader.js';
export { QuireError, ErrorCode, isQuireError } from '../pager/errors.js';
export type { QuireErrorOptions } from '../pager/errors.js';
export { MemoryStorage } from '../pager/memory.js';
export type { MemoryStorageOptions } from '../pager/memory.js';
export type { Storage, FileKind, FileStat } from '../pager/storage.js';
export { BlobStorage } from './storage/blob.js';
export type { BlobStorageOptions } from './storage/blob.js';
export { HttpStorage } from './storage/http.js';
export type { HttpStorageOptions } from './storage/http.js';
export type { Catalog, TableInfo, IndexInfo, Column, SchemaRow } from './catalog.js';
export type { Row } from './read.js';
export { exportRow, exportValue } from './read.js';
export type { SqlValue } from '../btree/value.js';
