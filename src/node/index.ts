/**
 * The Node entry point (`quire/node`): file storage and opening databases by path.
 * Everything runtime-neutral is re-exported from the main entry.
 */
import { Database, type OpenOptions } from '../database.js';
import type { CreateOptions } from '../write.js';
import { NodeFileStorage, type NodeFileStorageOptions } from './file-storage.js';

export { NodeFileStorage } from './file-storage.js';
export type { NodeFileStorageOptions } from './file-storage.js';
export * from '../index.js';

export interface OpenFileOptions extends Omit<OpenOptions, 'create'> {
  /** Refuse writes. Default true: a read-only database never writes anything beside its file. */
  readOnly?: boolean;
  /**
   * Create the file if it does not exist (needs readOnly: false): true, or the options of the
   * new database (page size, encoding, auto-vacuum, journal mode). Default false.
   */
  create?: boolean | CreateOptions;
}

/** Opens the database file at `path` (read-only unless `readOnly: false`). */
export async function openDatabase(path: string, options: OpenFileOptions = {}): Promise<Database> {
  const readOnly = options.readOnly ?? true;
  const fsOpts: NodeFileStorageOptions = { readOnly, create: Boolean(options.create) };
  const storage = await NodeFileStorage.open(path, fsOpts);
  const create = typeof options.create === 'object' ? options.create : undefined;
  try {
    return await Database.open(storage, { ...options, create, readOnly, ownsStorage: true });
  } catch (e) {
    await storage.close();
    throw e;
  }
}
export { backupFile } from './backup-file.js';
export type { BackupFileOptions, BackupFileResult, BackupFileProgress } from './backup-file.js';
export { verifyFiles } from './verify-files.js';
export type { VerifyFilesResult, FileCheck, FileStatus } from './verify-files.js';
export { recoverFile } from './recover.js';
export type { RecoverOptions, RecoverResult } from './recover.js';
