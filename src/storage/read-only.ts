/**
 * The write side of a read-only Storage (a Blob, a file over HTTP): every write, truncate and
 * delete is READONLY, naming what the storage reads; sync has nothing to do. BlobStorage and
 * HttpStorage extend it and supply only the reading half.
 */
import { ErrorCode, QuireError } from '../../pager/errors.js';

export abstract class ReadOnlyStorage {
  readonly readOnly = true;

  /** Says what is read-only, e.g. "x.db is a read-only Blob". */
  protected abstract readOnlyReason(): string;

  private readOnlyError(): QuireError {
    return new QuireError(ErrorCode.READONLY, this.readOnlyReason());
  }

  async write(): Promise<void> {
    throw this.readOnlyError();
  }

  async truncate(): Promise<void> {
    throw this.readOnlyError();
  }

  async sync(): Promise<void> {}

  async delete(): Promise<void> {
    throw this.readOnlyError();
  }
}
