/**
 * The Node entry point (`quire/node`): file storage and opening databases by path.
 * Everything runtime-neutral is re-exported from the main entry.
 */
import { Database, type OpenOptions } from '../database.js';
import { NodeFileStorage, type NodeFileStorageOptions } from './file-storage.js';

export { NodeFileStorage } from './file-storage.js';
export type { NodeFileStorageOptions } from './file-storage.js';
export * from '../index.js';

export interface OpenFileOptions extends OpenOptions {
  /** Open for writing. Default false (read-only: nothing is ever written beside the file). */
  readOnly?: boolean;
  /** Create the file if it does not exist (needs readOnly: false). Default false. */
  create?: boolean;
}

/** Opens the database file at `path` (read-only unless `readOnly: false`). */
export async function openDatabase(path: string, options: OpenFileOptions = {}): Promise<Database> {
  const readOnly = options.readOnly ?? true;
  const fsOpts: NodeFileStorageOptions = { readOnly, create: options.create ?? false };
  const storage = await NodeFileStorage.open(path, fsOpts);
  try {
    return await Database.open(storage, { ...options, readOnly, ownsStorage: true });
  } catch (e) {
    await storage.close();
    throw e;
  }
}
export { backupFile } from './backup-file.js';
export type { BackupFileOptions, BackupFileResult, BackupFileProgress } from './backup-file.js';
