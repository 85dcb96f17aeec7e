/**
 * A bounded page cache (CLOCK replacement) for committed page images.
 *
 * Entries are immutable page images keyed by pgno. A hit sets the entry's reference bit;
 * eviction walks entries in insertion order, giving referenced entries a second chance (they
 * move to the back with the bit cleared) and dropping the first unreferenced one. Interior
 * b-tree pages, touched on every descent, therefore stay; a sequential scan's leaves pass
 * through without flushing them. Memory is bounded by `capacity` pages whatever the file size.
 */
interface Entry {
  data: Uint8Array;
  ref: boolean;
}

export class PageCache {
  readonly capacity: number;
  private map = new Map<number, Entry>();

  constructor(capacity: number) {
    this.capacity = Math.max(16, capacity | 0);
  }

  get size(): number {
    return this.map.size;
  }

  get(pgno: number): Uint8Array | undefined {
    const e = this.map.get(pgno);
    if (e === undefined) return undefined;
    e.ref = true;
    return e.data;
  }

  has(pgno: number): boolean {
    return this.map.has(pgno);
  }

  set(pgno: number, data: Uint8Array): void {
    const e = this.map.get(pgno);
    if (e) {
      e.data = data;
      return;
    }
    if (this.map.size >= this.capacity) this.evict();
    this.map.set(pgno, { data, ref: false });
  }

  delete(pgno: number): void {
    this.map.delete(pgno);
  }

  clear(): void {
    this.map.clear();
  }

  private evict(): void {
    // Bounded: each referenced entry is moved at most once per call before its bit is clear.
    let budget = this.map.size + 1;
    for (const [k, e] of this.map) {
      if (budget-- <= 0) break;
      this.map.delete(k);
      if (e.ref) {
        e.ref = false;
        this.map.set(k, e);
        continue;
      }
      return;
    }
    // Everything was referenced: drop the oldest.
    const first = this.map.keys().next();
    if (!first.done) this.map.delete(first.value);
  }
}
