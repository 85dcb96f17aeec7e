/**
 * Big-endian byte helpers over plain `Uint8Array` (never Node's Buffer in the core).
 *
 * File offsets are JavaScript numbers: the largest SQLite file is 2^32 pages of 65536 bytes
 * = 2^48 bytes, well below 2^53, so every offset and size is an exact integer.
 *
 * These helpers do not bounds-check: callers check against the page end first and raise
 * CORRUPT naming the page (see btree/page.ts). Out-of-range typed-array reads yield
 * `undefined`, which would turn into NaN silently, so the checks matter.
 */

export function get16(b: Uint8Array, off: number): number {
  return (b[off] << 8) | b[off + 1];
}

/** Unsigned 32-bit big-endian. */
export function get32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) >>> 0) + ((b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]);
}

export function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v;
}

export function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

/** Little-endian 32-bit (-shm fields). */
export function get32le(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16)) + ((b[off + 3] << 24) >>> 0);
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * MurmurHash3's 32-bit finalizer (as a signed 32-bit integer): a bijection whose every output
 * bit depends on every input bit.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Byte equality (32 bits at a time where aligned); false for null or another length. */
export function sameBytes(a: Uint8Array, b: Uint8Array | null): boolean {
  const len = a.length;
  if (b === null || b.length !== len) return false;
  if ((a.byteOffset & 3) === 0 && (b.byteOffset & 3) === 0 && (len & 3) === 0) {
    const x = new Int32Array(a.buffer, a.byteOffset, len >> 2);
    const y = new Int32Array(b.buffer, b.byteOffset, len >> 2);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return false;
  return true;
}
