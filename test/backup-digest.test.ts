/**
 * The re-pass digest (src/backup/digest.ts): a page whose digest equals what the copy holds is
 * not written again, so two different images of a page must (practically) never share one.
 * The first version multiplied without rotating, and pages differing only in the high bytes
 * of some words (or in two bytes by +1) shared a digest often enough to tear live copies.
 */
import { describe, it, expect } from 'vitest';
import { PageDigests } from '../src/backup/digest.js';

const PS = 4096;

/**
 * A deterministic stream of numbers in [0, 1) for `seed` (a multiplicative hash of a counter),
 * so that a failure replays.
 */
function stream(seed: number): () => number {
  let n = Math.imul(seed, 0x2545f491);
  return () => {
    n = (n + 0x6d2b79f5) | 0;
    let t = Math.imul(n ^ (n >>> 15), n | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  };
}

/**
 * How many of the `n` variants `vary` makes of a random page share its digest. `holds` is the
 * only way in: each variant is tried at page 2 right after page 2 was given the base image.
 */
function collisions(seed: number, n: number, vary: (page: Uint8Array, k: number, random: () => number) => void) {
  const random = stream(seed);
  const base = new Uint8Array(PS);
  for (let i = 0; i < PS; i++) base[i] = Math.floor(random() * 256);
  const d = new PageDigests(PS, 2);
  const same = (img: Uint8Array) => {
    d.holds(2, base);
    return d.holds(2, img);
  };
  let full = 0;
  let tried = 0;
  for (let k = 0; k < n; k++) {
    const p = base.slice();
    vary(p, k, random);
    if (p.every((v, i) => v === base[i])) continue;
    tried++;
    if (same(p)) full++;
  }
  return { full, tried };
}

describe('page digests', () => {
  it('pages differing in the high bytes of two words of one lane never share a digest (the first version: 255 in 65025)', () => {
    // Bytes 3 and 19 are the high bytes (little-endian words) of words 0 and 4.
    const r = collisions(1, 255 * 255, (p, k) => {
      p[3] ^= 1 + (k % 255);
      p[19] ^= 1 + Math.floor(k / 255);
    });
    expect(r.tried).toBe(65025);
    expect(r.full).toBe(0);
  });

  it('pages differing in the top bit of two words never share a digest (the first version: one in four)', () => {
    const r = collisions(2, 20000, (p, _k, random) => {
      p[Math.floor(random() * 1024) * 4 + 3] ^= 0x80;
      p[Math.floor(random() * 1024) * 4 + 3] ^= 0x80;
    });
    expect(r.tried).toBeGreaterThan(19900);
    expect(r.full).toBe(0);
  });

  for (const bytes of [2, 3, 4]) {
    const was = bytes === 2 ? ' (the first version: one in 5,000-10,000)' : '';
    it(`pages differing by ±1 in ${bytes} random bytes never share a digest${was}`, () => {
      const r = collisions(10 + bytes, 40000, (p, _k, random) => {
        for (let j = 0; j < bytes; j++) {
          const o = Math.floor(random() * PS);
          p[o] = (p[o] + (random() < 0.5 ? 1 : 255)) & 255;
        }
      });
      expect(r.tried).toBeGreaterThan(39900);
      expect(r.full).toBe(0);
    });
  }

  it('a page whose image is unchanged is held; a changed one is not, and is held once recorded', () => {
    const d = new PageDigests(PS, 4);
    const img = new Uint8Array(PS).fill(7);
    expect(d.holds(3, img)).toBe(false);
    expect(d.holds(3, img)).toBe(true);
    const other = img.slice();
    other[4095] = 8;
    expect(d.holds(3, other)).toBe(false);
    expect(d.holds(3, other)).toBe(true);
    // An image at an odd offset (not 4-byte aligned) digests as the same bytes aligned.
    const buf = new Uint8Array(PS + 1);
    buf.set(other, 1);
    expect(d.holds(3, buf.subarray(1))).toBe(true);
    expect(d.knownPages).toBe(1);
  });
});
