/**
 * A PageSink for engine tests (test/backup-*.test.ts): keeps the copy in memory, has no
 * whole-file copy (a pass goes run by run) and counts nothing itself (the engine counts).
 * finish() marks the image rollback mode, so SQLite reads it without a -wal.
 */
import type { PageSink } from '../../src/index.js';

export class ImageSink implements PageSink {
  image = new Uint8Array(0);
  private ps = 0;
  private count = 0;
  async begin(pageSize: number, pageCount: number): Promise<void> {
    if (pageSize !== this.ps) this.image = new Uint8Array(0);
    this.ps = pageSize;
    this.count = pageCount;
  }
  async write(first: number, data: Uint8Array): Promise<void> {
    const end = (first - 1) * this.ps + data.length;
    if (end > this.image.length) {
      const g = new Uint8Array(Math.max(end, this.image.length * 2));
      g.set(this.image);
      this.image = g;
    }
    this.image.set(data, (first - 1) * this.ps);
  }
  setPageCount(n: number): void {
    this.count = n;
  }
  async finish(): Promise<void> {
    this.image = this.image.slice(0, this.count * this.ps);
    // A rollback-mode file, so SQLite reads it without a -wal.
    this.image[18] = this.image[19] = 1;
  }
  async abort(): Promise<void> {}
}
