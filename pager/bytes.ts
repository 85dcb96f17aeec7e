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

export function get24(b: Uint8Array, off: number): number {
  return (b[off] << 16) | (b[off + 1] << 8) | b[off + 2];
}

/** Unsigned 32-bit big-endian. */
export function get32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) >>> 0) + ((b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]);
}

/** Signed 32-bit big-endian. */
export function get32s(b: Uint8Array, off: number): number {
  return (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
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

/** Little-endian 32-bit (used by WAL checksums in little-endian mode and -shm). */
export function get32le(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16)) + ((b[off + 3] << 24) >>> 0);
}

export function put32le(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
  b[off + 1] = v >>> 8;
  b[off + 2] = v >>> 16;
  b[off + 3] = v >>> 24;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
