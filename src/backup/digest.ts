/**
 * Per-page digests of what a copy's sink holds, so that a pass that must be redone (the
 * source changed during it) writes only the pages that differ (src/backup/engine.ts).
 *
 * Memory is flat in the database size: 8 bytes of digest and 1 byte of "known" flag per page
 * (9 bytes/page: 2.3 MB per GB of 4 KiB pages, 0.6 MB per GB of 16 KiB pages).
 *
 * The digest is 64 bits: four independent multiply-xor lanes over the page's 32-bit words
 * (FNV-like, with four odd multipliers), folded to two words, keyed by four random 32-bit
 * seeds drawn for each copy (crypto.getRandomValues where the runtime has it). It is not a
 * cryptographic hash: for page images not chosen against the key (which never leaves the
 * process), two different images of a page share a digest with probability about 2^-64.
 * Callers that cannot accept even that (forensic copies) do not use digests.
 */

/** 8 bytes of digest + 1 byte of flag per page. */
export const DIGEST_BYTES_PER_PAGE = 9;

function randomSeeds(): Int32Array {
  const s = new Int32Array(4);
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Int32Array) => Int32Array } }).crypto;
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(s);
  else for (let i = 0; i < 4; i++) s[i] = (Math.random() * 0x100000000) | 0;
  return s;
}

export class PageDigests {
  readonly pageSize: number;
  private digest: Int32Array;
  private known: Uint8Array;
  private readonly seeds = randomSeeds();
  /** An aligned copy for pages whose bytes do not start on a 4-byte boundary. */
  private scratch: Int32Array | null = null;
  private d0 = 0;
  private d1 = 0;
  /** Pages whose digest is known. */
  knownPages = 0;

  constructor(pageSize: number, pageCount: number) {
    this.pageSize = pageSize;
    this.digest = new Int32Array(2 * (pageCount + 1));
    this.known = new Uint8Array(pageCount + 1);
  }

  private grow(pgno: number): void {
    if (pgno < this.known.length) return;
    const n = Math.max(pgno + 1, this.known.length * 2);
    const k = new Uint8Array(n);
    k.set(this.known);
    const d = new Int32Array(2 * n);
    d.set(this.digest);
    this.known = k;
    this.digest = d;
  }

  /** Computes the digest of one page image into d0/d1. */
  private compute(img: Uint8Array): void {
    let w: Int32Array;
    if ((img.byteOffset & 3) === 0) {
      w = new Int32Array(img.buffer, img.byteOffset, img.length >> 2);
    } else {
      if (!this.scratch || this.scratch.length < img.length >> 2) this.scratch = new Int32Array(img.length >> 2);
      new Uint8Array(this.scratch.buffer, 0, img.length).set(img);
      w = this.scratch;
    }
    const end = img.length >> 2;
    let a = this.seeds[0];
    let b = this.seeds[1];
    let c = this.seeds[2];
    let d = this.seeds[3];
    for (let i = 0; i < end; i += 4) {
      a = Math.imul(a ^ w[i], 0x01000193);
      b = Math.imul(b ^ w[i + 1], 0x5bd1e995);
      c = Math.imul(c ^ w[i + 2], 0x85ebca6b);
      d = Math.imul(d ^ w[i + 3], 0xcc9e2d51);
    }
    // Fold the four lanes: each output word mixes two lanes through a further multiply.
    this.d0 = Math.imul(a ^ (c >>> 15), 0x27d4eb2f) ^ c;
    this.d1 = Math.imul(b ^ (d >>> 13), 0x165667b1) ^ d;
  }

  /**
   * True when the sink already holds `img` at `pgno` (same digest); otherwise records `img`'s
   * digest for `pgno` (the caller then writes it) and returns false.
   */
  holds(pgno: number, img: Uint8Array): boolean {
    this.compute(img);
    this.grow(pgno);
    if (this.known[pgno] === 1 && this.digest[2 * pgno] === this.d0 && this.digest[2 * pgno + 1] === this.d1) return true;
    if (this.known[pgno] === 0) this.knownPages++;
    this.known[pgno] = 1;
    this.digest[2 * pgno] = this.d0;
    this.digest[2 * pgno + 1] = this.d1;
    return false;
  }
}
