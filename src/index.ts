/**
 * quire: the runtime-neutral entry point. No Node built-ins are imported here or below;
 * file storage and the CLI live behind `quire/node`.
 */
export { Database } from './database.js';
export type { OpenOptions } from './database.js';
export { Backup, backup } from './backup/backup.js';
export type { BackupOptions, BackupInitOptions, ProgressCallback, StepStatus, SnapshotIdentity } from './backup/backup.js';
export { CopyEngine } from './backup/engine.js';
export type { PageSink, EngineOptions } from './backup/engine.js';
export { applyDestinationHeader } from './backup/sink.js';
export type { DestinationRules, DestinationJournalMode } from './backup/sink.js';
export { QuireError, ErrorCode, isQuireError } from '../pager/errors.js';
export type { QuireErrorOptions } from '../pager/errors.js';
export { MemoryStorage } from '../pager/memory.js';
export type { MemoryStorageOptions } from '../pager/memory.js';
export type { Storage, FileKind, FileStat } from '../pager/storage.js';
export { Pager, Snapshot, WriteTxn } from '../pager/pager.js';
export type { PagerOptions, CommitInfo, CommitListener, JournalMode, Synchronous } from '../pager/pager.js';
export { parseHeader, Encoding } from '../pager/header.js';
export type { DbHeader } from '../pager/header.js';
export { Sha256, sha256 } from './util/sha256.js';
export { backupStream } from './backup/stream.js';
export type { StreamOptions } from './backup/stream.js';
export { hashFile, hashSource, hashCopy, verifyCopy, buildManifest, MANIFEST_FORMAT } from './forensic.js';
export type { ForensicManifest, FileHash, CopyHashes, VerifyResult } from './forensic.js';
export { Transaction, splitStatements } from './write.js';
export type { CreateOptions, InputValue, RowInput, WriteOptions, ConflictMode } from './write.js';
export type { Catalog, TableInfo, IndexInfo, Column, SchemaRow } from './catalog.js';
export type { Row } from './read.js';
export { exportRow, exportValue } from './read.js';
export type { SqlValue } from '../btree/value.js';
export type { RowsOptions } from './database.js';
export type { CheckOptions } from './check.js';
export { parseCreateTable, parseCreateIndex, parseSchemaSql } from './schema/parse.js';
export { affinityOf, applyAffinity } from './schema/affinity.js';
export type { TableDef, IndexDef, ColumnDef, Affinity, TypedValue } from './schema/types.js';
