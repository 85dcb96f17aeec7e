export declare const WRITER: string;

export interface WriterAnswer<C> {
  counters: C;
  result?: unknown;
}

export interface WriterClient<C> {
  ask(cmd: string, args?: Record<string, unknown>): Promise<WriterAnswer<C>>;
  stop(): Promise<C>;
}

export declare function startWriter<C = Record<string, unknown>>(file: string, options: Record<string, unknown>): WriterClient<C>;
