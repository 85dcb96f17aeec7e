/**
 * OpfsStorage against the Storage rules, in Node, over a fake OPFS directory that behaves as
 * Chromium's does where quire relies on it (NotFoundError for an absent file without create,
 * one sync access handle per file at a time: NoModificationAllowedError). The real thing is
 * tested in Chromium Workers by test/opfs.test.ts.
 */
import { describe, it, expect } from 'vitest';
import { Database, OpfsStorage, isQuireError, type OpfsDirectory } from '../src/index.js';

class DomError extends Error {
  constructor(name: string) {
    super(name);
    this.name = name;
  }
}

/**
 * An OPFS directory in memory: file name → bytes; `locked` holds the files with an open
 * handle; a write past `quota` bytes of one file is QuotaExceededError.
 */
function fakeDirectory(quota = Infinity): OpfsDirectory & { files: Map<string, Uint8Array>; locked: Set<string> } {
  const files = new Map<string, Uint8Array>();
  const locked = new Set<string>();
  const bytes = (name: string) => files.get(name)!;
  return {
    files,
    locked,
    async getFileHandle(name, options) {
      if (!files.has(name)) {
        if (!options?.create) throw new DomError('NotFoundError');
        files.set(name, new Uint8Array(0));
      }
      return {
        async createSyncAccessHandle() {
          if (locked.has(name)) throw new DomError('NoModificationAllowedError');
          locked.add(name);
          return {
            getSize: () => bytes(name).length,
            read: (buf, { at }) => {
              const part = bytes(name).subarray(at, at + buf.length);
              buf.set(part);
              return part.length;
            },
            write: (buf, { at }) => {
              if (at + buf.length > quota) throw new DomError('QuotaExceededError');
              const old = bytes(name);
              const next = new Uint8Array(Math.max(old.length, at + buf.length));
              next.set(old);
              next.set(buf, at);
              files.set(name, next);
              return buf.length;
            },
            truncate: (n) => void files.set(name, bytes(name).slice(0, n)),
            flush: () => {},
            close: () => void locked.delete(name),
          };
        },
      };
    },
    async removeEntry(name) {
      if (!files.delete(name)) throw new DomError('NotFoundError');
    },
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isQuireError(e) ? e.code : `not a QuireError: ${String(e)}`;
  }
}

describe('OpfsStorage (fake directory)', () => {
  it('reading creates nothing; writes, truncate, stat, delete follow the Storage rules', async () => {
    const directory = fakeDirectory();
    const st = await OpfsStorage.open('a.db', { directory });
    expect(await st.exists('db')).toBe(false);
    expect(await st.size('wal')).toBe(0);
    expect(await st.read('db', 0, 100)).toEqual(new Uint8Array(0));
    expect(await st.stat('journal')).toBeNull();
    expect([...directory.files.keys()]).toEqual([]);

    await st.write('journal', 10, new Uint8Array([1, 2, 3]));
    expect([...directory.files.keys()]).toEqual(['a.db-journal']);
    expect(await st.read('journal', 8, 10)).toEqual(new Uint8Array([0, 0, 1, 2, 3]));
    const dest = new Uint8Array(4);
    expect(await st.readInto('journal', 11, dest)).toBe(2);
    expect(dest).toEqual(new Uint8Array([2, 3, 0, 0]));
    const first = await st.stat('journal');
    expect(first?.size).toBe(13);
    await st.truncate('journal', 4);
    expect(await st.size('journal')).toBe(4);
    await st.delete('journal');
    await st.delete('journal'); // absent: not an error
    expect(await st.exists('journal')).toBe(false);
    await st.write('journal', 0, new Uint8Array(1));
    expect((await st.stat('journal'))?.ino).not.toBe(first?.ino); // a new file
    await st.close();
    expect(directory.locked.size).toBe(0);
    expect(await code(st.size('db'))).toBe('MISUSE');
  });

  it('a database written, closed and reopened; another open of a file in use is BUSY', async () => {
    const directory = fakeDirectory();
    const db = await Database.open(await OpfsStorage.open('b.db', { directory }), { readOnly: false, ownsStorage: true });
    await db.exec('CREATE TABLE t(x TEXT)');
    for (let i = 0; i < 50; i++) await db.insert('t', { x: `v${i}` });
    await db.close();
    expect([...directory.files.keys()]).toEqual(['b.db']);

    const again = await Database.open(await OpfsStorage.open('b.db', { directory }), { ownsStorage: true });
    let n = 0;
    for await (const _ of again.rows('t')) n++;
    expect(n).toBe(50);
    expect(await again.check()).toEqual([]);
    expect(await code(Database.open(await OpfsStorage.open('b.db', { directory }), { ownsStorage: true }))).toBe('BUSY');
    await again.close();
  });

  it('names and modes: MISUSE for a path, READONLY when opened read-only, CANTOPEN without OPFS, FULL past the quota', async () => {
    const directory = fakeDirectory();
    for (const bad of ['', 'dir/a.db', '..']) expect(await code(OpfsStorage.open(bad, { directory }))).toBe('MISUSE');
    const ro = await OpfsStorage.open('c.db', { directory, readOnly: true });
    expect(await code(ro.write('db', 0, new Uint8Array(1)))).toBe('READONLY');
    expect(await code(ro.delete('db'))).toBe('READONLY');
    expect(directory.files.size).toBe(0);
    expect(await code(OpfsStorage.open('c.db'))).toBe('CANTOPEN'); // Node: no navigator.storage
    const small = await OpfsStorage.open('d.db', { directory: fakeDirectory(100) });
    expect(await code(small.write('db', 90, new Uint8Array(20)))).toBe('FULL');
  });
});
