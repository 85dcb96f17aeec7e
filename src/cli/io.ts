/** What a CLI command writes to and reads from; tests pass their own. */
export interface CliIO {
  /**
   * Writes to standard output. The process's writer returns a promise while the output is
   * full (a slow pipe): commands that write a lot await it, so memory stays flat. After the
   * reader went away (EPIPE) it rejects with `OutputClosed`, which ends the command quietly.
   */
  stdout: (s: string) => void | Promise<void>;
  /**
   * Writes UTF-8 bytes to standard output, as `stdout` writes text (the process's writer
   * has it; without it, export and dump decode their chunks and call `stdout`). The caller
   * reuses the buffer once the writer is done with it: at once when it returns nothing (it
   * wrote the bytes or copied them), else when the promise it returns resolves (the bytes
   * are written, and the output has room for more).
   */
  stdoutBytes?: (b: Uint8Array) => void | Promise<void>;
  stderr: (s: string) => void;
  /** True when stderr is a terminal (progress bars). */
  isTTY: boolean;
  /** Reads all of standard input. */
  stdin: () => AsyncIterable<Uint8Array>;
  /**
   * Aborted on SIGINT or SIGTERM. Commands that write (backup, vacuum, import) pass it on, stop
   * at a safe point, remove what they made and rethrow; main.ts then exits 128 + the signal.
   */
  signal?: AbortSignal;
}

/** The reader of standard output went away (EPIPE): stop writing, exit 0, say nothing. */
export class OutputClosed extends Error {
  constructor() {
    super('standard output closed');
    this.name = 'OutputClosed';
  }
}
