// The parent's side of test/live/writer.mjs `run`: starts the writer with an IPC channel and
// drives it. Used by the live tests and by the live benchmarks (bench/lib/live-matrix.mjs).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'writer.mjs');

/**
 * Starts `writer.mjs run file options`. `ask(cmd, args)` sends one command and resolves with
 * the writer's answer `{ counters, result }` once it is done (rejects on its error, or when the
 * writer exits first); `stop()` ends it with SIGTERM and resolves with its final counters.
 */
export function startWriter(file, options) {
  const child = spawn(process.execPath, [WRITER, 'run', file, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let seq = 0;
  const pending = new Map();
  child.on('message', (m) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) p?.reject(new Error(`writer: ${m.error}`));
    else p?.resolve(m);
  });
  const exited = new Promise((resolve) =>
    child.on('exit', (code) => {
      for (const p of pending.values()) p.reject(new Error(`writer exited with ${code}: ${err}`));
      pending.clear();
      resolve(code);
    }),
  );
  return {
    ask: (cmd, args = {}) =>
      new Promise((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve, reject });
        child.send({ id, cmd, ...args });
      }),
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`writer exited with ${code}: ${err}`);
      return JSON.parse(out.trim().split('\n').pop());
    },
  };
}
