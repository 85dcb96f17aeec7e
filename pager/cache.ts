/**
 * A bounded page cache (CLOCK replacement) for committed page images.
 *
 * Entries are immutable page images keyed by pgno. A hit sets the entry's reference bit
 * (except the first hit of a page stored by read-ahead or a load: a scan's one use of a page
 * does not make it hot);
 * eviction walks entries in insertion order, giving referenced entries a second chance (they
 * move to the back with the bit cleared) and dropping the first unreferenced one. Interior
 * b-tree pages, touched on every descent, therefore stay; a sequential scan's leaves pass
 * through without flushing them. Memory is bounded by `capacity` pages whatever the file size.
 *
 * An image may be a view into a larger buffer (the pager's read-ahead reads a run of pages in
 * one buffer and caches views into it): it keeps that whole buffer alive. Those of a sequential
 * pass leave together; an entry that earns its second chance (an interior page, kept for long)
 * is copied into a buffer of its own then (`ownViews`), so a few hot pages never hold whole
 * runs. The copy has the same bytes (committed images are immutable), so a caller still
 * holding the view is unaffected.
 */
interface Entry {
  data: Uint8Array;
  ref: boolean;
  /** Not yet asked for since it was stored: the first hit sets no reference bit. */
  fresh: boolean;
}

export class PageCache {
  readonly capacity: number;
  private map = new Map<number, Entry>();
  /** Copy a view out of its buffer at its second chance (only for immutable images). */
  private readonly ownViews: boolean;

  /**
   * `ownViews`: the images are immutable (committed pages), so an entry may be replaced by a
   * copy. Not for a write transaction's clean spilled pages, whose buffer becomes the dirty
   * image again (WriteTxn.writable) and must stay the one its holders have.
   */
  constructor(capacity: number, ownViews = false) {
    this.capacity = Math.max(16, capacity | 0);
    this.ownViews = ownViews;
  }

  get size(): number {
    return this.map.size;
  }

  get(pgno: number): Uint8Array | undefined {
    const e = this.map.get(pgno);
    if (e === undefined) return undefined;
    if (e.fresh) e.fresh = false;
    else e.ref = true;
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
    this.map.set(pgno, { data, ref: false, fresh: true });
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
        if (this.ownViews && e.data.byteLength !== e.data.buffer.byteLength) e.data = e.data.slice();
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
