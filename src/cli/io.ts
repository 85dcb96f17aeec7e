/** What a CLI command writes to and reads from; tests pass their own. */
export interface CliIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** True when stderr is a terminal (progress bars). */
  isTTY: boolean;
  /** Reads all of standard input. */
  stdin: () => AsyncIterable<Uint8Array>;
}

export type Command = (argv: string[], io: CliIO) => Promise<number>;
