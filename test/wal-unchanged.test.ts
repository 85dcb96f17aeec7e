import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MemoryStorage } from '../pager/memory.js';
import { get32, put32 } from '../pager/bytes.js';
import { frameOffset, scanWal, walChecksum, walUnchanged, WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE, type WalIndex } from '../pager/wal.js';
import { Database } from '../src/database.js';
import { SEED } from './util/btree-db.js';

/** A WAL-mode database in memory with `commits` auto-commit inserts, and its log as scanned. */
async function walDb(commits: number): Promise<{ st: MemoryStorage; db: Database; known: WalIndex }> {
  const st = new MemoryStorage();
  const db = await Database.open(st, { readOnly: false, create: { journalMode: 'wal' }, walAutoCheckpoint: 100000 });
  await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)');
  for (let i = 1; i <= commits; i++) await db.insert('t', [i, new Uint8Array(i % 300)]);
  const known = (await scanWal(st, null)).index!;
  return { st, db, known };
}

/** The frame header at `frame` with the log's salts and the given page number (checksums left as they are). */
function frameHeader(known: WalIndex, pgno: number, commitSize: number, salt1 = known.header.salt1): Uint8Array {
  const b = new Uint8Array(WAL_FRAME_HEADER_SIZE);
  put32(b, 0, pgno);
  put32(b, 4, commitSize);
  put32(b, 8, salt1);
  put32(b, 12, known.header.salt2);
  return b;
}

describe('walUnchanged (the look at the WAL between two transactions)', () => {
  it('is true for the log a scan just read, and for one followed by a partial frame or a frame of another generation', async () => {
    const { st, db, known } = await walDb(5);
    const scratch = new Uint8Array(32);
    try {
      expect(await walUnchanged(st, known, scratch)).toBe(true);
      const end = frameOffset(known.pageSize, known.mxFrame + 1);
      // Half a frame after the last commit: no frame for a scan to read.
      await st.write('wal', end, new Uint8Array(100).fill(7));
      expect(await walUnchanged(st, known, scratch)).toBe(true);
      // A whole frame of an older generation (salt-1 one less): stale, as a restarted log leaves it.
      await st.write('wal', end, frameHeader(known, 2, 0, (known.header.salt1 - 1) >>> 0));
      await st.write('wal', end + WAL_FRAME_HEADER_SIZE, new Uint8Array(known.pageSize));
      expect(await walUnchanged(st, known, scratch)).toBe(true);
      expect((await scanWal(st, known)).index).toBe(known);
      // A frame with this generation's salts: it may continue the log; the look says "scan".
      await st.write('wal', end, frameHeader(known, 2, 3));
      expect(await walUnchanged(st, known, scratch)).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('is false after another commit, a rewritten header or a shorter log', async () => {
    const { st, db, known } = await walDb(5);
    const scratch = new Uint8Array(32);
    try {
      await db.insert('t', [100, new Uint8Array(10)]);
      expect(await walUnchanged(st, known, scratch)).toBe(false);
      const now = (await scanWal(st, null)).index!;
      expect(await walUnchanged(st, now, scratch)).toBe(true);
      // The checkpoint sequence is in the header's checksum: any header byte differing says "scan".
      const head = await st.read('wal', 0, WAL_HEADER_SIZE);
      head[15] ^= 1;
      await st.write('wal', 0, head);
      expect(await walUnchanged(st, now, scratch)).toBe(false);
      head[15] ^= 1;
      await st.write('wal', 0, head);
      expect(await walUnchanged(st, now, scratch)).toBe(true);
      // (On a copy: the database itself must not meet its log cut short.)
      const copy = new MemoryStorage();
      await copy.write('wal', 0, await st.read('wal', 0, await st.size('wal')));
      expect(await walUnchanged(copy, now, scratch)).toBe(true);
      await copy.truncate('wal', frameOffset(now.pageSize, now.mxFrame));
      expect(await walUnchanged(copy, now, scratch)).toBe(false);
    } finally {
      await db.close();
    }
  });

  it(`never says "unchanged" where a scan finds another log (random damage and appends, seed ${SEED})`, async () => {
    const base = await walDb(8);
    const image = await base.st.read('wal', 0, await base.st.size('wal'));
    const known = base.known;
    const end = frameOffset(known.pageSize, known.mxFrame + 1);
    const frameSize = WAL_FRAME_HEADER_SIZE + known.pageSize;
    // A valid continuation of the log: the frames of one more commit.
    await base.db.insert('t', [1000, new Uint8Array(50)]);
    const longer = await base.st.read('wal', 0, await base.st.size('wal'));
    await base.db.close();
    expect(longer.subarray(0, end)).toEqual(image.subarray(0, end));
    expect(longer.length).toBeGreaterThan(end);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(end + 2 * frameSize), bit: fc.nat(7) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(end + frameSize) }),
      fc.record({ kind: fc.constant('continue' as const), at: fc.constant(0) }),
      fc.record({ kind: fc.constant('frame' as const), at: fc.nat(3), salt: fc.boolean() }),
    );
    let unchanged = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { maxLength: 3 }), async (ms) => {
        const st = new MemoryStorage();
        await st.write('wal', 0, image);
        for (const m of ms) {
          if (m.kind === 'flip') {
            const size = await st.size('wal');
            if (m.at >= size) continue;
            const b = await st.read('wal', m.at, 1);
            b[0] ^= 1 << m.bit;
            await st.write('wal', m.at, b);
          } else if (m.kind === 'truncate') {
            await st.truncate('wal', m.at);
          } else if (m.kind === 'continue') {
            await st.write('wal', end, longer.subarray(end));
          } else {
            // A frame header after the last commit (this generation's salts or another's), a page of zeros.
            const salt1 = m.salt ? known.header.salt1 : (known.header.salt1 + 1) >>> 0;
            await st.write('wal', end, frameHeader(known, 2 + m.at, m.at === 0 ? 3 : 0, salt1));
            await st.write('wal', end + WAL_FRAME_HEADER_SIZE, new Uint8Array(known.pageSize));
          }
        }
        // Both ways of bounding the size: by size(), and by reads where the storage tells that
        // its open file is the named one (Storage.isCurrent).
        const named = Object.assign(Object.create(st) as MemoryStorage, { isCurrent: () => true });
        for (const s of [st, named]) {
          if (await walUnchanged(s, known, new Uint8Array(32))) {
            unchanged++;
            expect((await scanWal(st, known)).index).toBe(known);
          }
        }
      }),
      { seed: SEED + 61, numRuns: 400 },
    );
    // The look answered "unchanged" often enough for the property to mean something.
    expect(unchanged).toBeGreaterThan(20);
    expect(get32(image, 16)).toBe(known.header.salt1);
  });
});

describe('walChecksum', () => {
  /** The checksum as SQLite's walChecksumBytes computes it, byte by byte. */
  function reference(bigEndian: boolean, b: Uint8Array, off: number, len: number, s: [number, number]): [number, number] {
    let [s0, s1] = s;
    for (let i = off; i < off + len; i += 8) {
      const w = (k: number) => (bigEndian ? (b[k] << 24) | (b[k + 1] << 16) | (b[k + 2] << 8) | b[k + 3] : b[k] | (b[k + 1] << 8) | (b[k + 2] << 16) | (b[k + 3] << 24));
      s0 = (s0 + w(i) + s1) >>> 0;
      s1 = (s1 + w(i + 4) + s0) >>> 0;
    }
    return [s0, s1];
  }

  it(`equals the byte-by-byte sums for any alignment, length and byte order (seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 700, size: 'max' }),
        fc.nat(7),
        fc.nat(7),
        fc.boolean(),
        fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff)),
        (bytes, shift, start, bigEndian, seed) => {
          // The bytes at an offset of `shift` in their buffer, summed from `start`.
          const buf = new Uint8Array(bytes.length + 16);
          const b = buf.subarray(shift, shift + bytes.length + 8);
          b.set(bytes);
          const len = Math.max(0, (bytes.length - start) & ~7);
          const s = Uint32Array.from(seed);
          walChecksum(bigEndian, b, start, len, s);
          expect([s[0], s[1]]).toEqual(reference(bigEndian, b, start, len, seed));
        },
      ),
      { seed: SEED + 62, numRuns: 500 },
    );
  });
});
