/**
 * The CLI's argument parser and help text, both from one description per command.
 *
 * A command module exports a `CommandSpec`: its positional arguments, every option with what
 * it does and its default, and examples. `parseArgs` accepts exactly those options
 * (`--flag`, `--opt value`, `--opt=value`, and a one-letter `-x` where the spec gives one);
 * an unknown option is a usage error (exit 2) that names the nearest known one. `--help` and
 * `-h` are answered by main.ts before a command runs, from the same spec (`commandHelp`).
 */
import type { CliIO } from './io.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** The long name, without `--`. */
  name: string;
  /** A one-letter alias, without `-`. */
  short?: string;
  /** Takes a value, shown under this placeholder (`N`, `FILE`); a flag when absent. */
  value?: string;
  /** What it does, one sentence. */
  help: string;
  /** The default, as the user would type it (shown as "default: ..."). */
  default?: string;
  /** May be given more than once (values are collected in order). */
  repeat?: boolean;
}

export interface CommandSpec {
  /** The command's name (`quire NAME ...`). */
  name: string;
  /** Positional arguments as shown in the usage line, e.g. `DB TABLE` or `DB [TABLE...]`. */
  args: string;
  /** One line for the command list. */
  summary: string;
  /** A paragraph (or a few lines) on what it does, shown by `quire NAME --help`. */
  description: string;
  options: OptionSpec[];
  /** Example invocations, each a full command line. */
  examples: string[];
  /**
   * Takes `io.signal`: on SIGINT/SIGTERM it stops at a safe point and removes what it made.
   * Commands without it are ended at once by a signal (they have nothing to undo).
   */
  interruptible?: boolean;
  /**
   * Whole-file work that allocates fast and keeps little (export, dump, check, import, vacuum):
   * bin.ts holds V8's young generation at its first size so that peak memory stays flat.
   */
  steadyMemory?: boolean;
  /**
   * Work whose garbage outlives the young generation (import: page images read back and
   * dropped by the spill's cache, per-row objects held across awaits): bin.ts also runs V8
   * with --optimize-for-size, which collects the old generation at a smaller growth.
   */
  compactHeap?: boolean;
  /** Runs the command; returns the exit code. */
  run: (argv: string[], io: CliIO) => Promise<number>;
}

export interface Parsed {
  positionals: string[];
  flags: Set<string>;
  values: Map<string, string>;
  /** Every value of a repeatable option, in order. */
  lists: Map<string, string[]>;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The candidate nearest to `word` if it is near enough to be a likely typo, else null. */
export function nearest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 2 ? 0.5 : distance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function unknownOption(given: string, options: readonly OptionSpec[]): UsageError {
  const near = nearest(given.replace(/^-+/, ''), options.map((o) => o.name));
  return new UsageError(`unknown option ${given}${near ? ` (did you mean --${near}?)` : ''}`);
}

export function parseArgs(argv: readonly string[], options: readonly OptionSpec[]): Parsed {
  const out: Parsed = { positionals: [], flags: new Set(), values: new Map(), lists: new Map() };
  const byName = new Map(options.map((o) => [o.name, o]));
  const byShort = new Map(options.filter((o) => o.short).map((o) => [o.short!, o]));
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (onlyPositionals || a === '-' || !a.startsWith('-')) {
      out.positionals.push(a);
      continue;
    }
    if (a === '--') {
      onlyPositionals = true;
      continue;
    }
    let s: OptionSpec | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      s = byName.get(a.slice(2, eq < 0 ? undefined : eq));
      if (eq >= 0) inline = a.slice(eq + 1);
      if (!s) throw unknownOption(eq < 0 ? a : a.slice(0, eq), options);
    } else {
      // A negative number is a positional (or an option's value, taken below).
      if (/^-\d/.test(a)) {
        out.positionals.push(a);
        continue;
      }
      s = byShort.get(a.slice(1, 2));
      if (!s) throw unknownOption(a, options);
      if (a.length > 2) inline = a.slice(2);
    }
    if (s.value) {
      let v = inline;
      if (v === undefined) {
        v = argv[i + 1];
        i++;
      }
      if (v === undefined) throw new UsageError(`--${s.name} needs a value (${s.value})`);
      out.values.set(s.name, v);
      if (s.repeat) out.lists.set(s.name, [...(out.lists.get(s.name) ?? []), v]);
    } else {
      if (inline !== undefined) throw new UsageError(`--${s.name} takes no value`);
      out.flags.add(s.name);
    }
  }
  return out;
}

/** The value of a choice option, checked against its choices. */
export function choiceOption<T extends string>(p: Parsed, name: string, choices: readonly T[], fallback: T): T {
  const v = p.values.get(name);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be ${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export function intOption(p: Parsed, name: string, fallback: number, min = 0): number {
  const v = p.values.get(name);
  if (v === undefined) return fallback;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min) throw new UsageError(`--${name} must be at least ${min}`);
  return n;
}

export function numberOption(p: Parsed, name: string, fallback: number, min = 0): number {
  const v = p.values.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  if (n < min) throw new UsageError(`--${name} must be at least ${min}`);
  return n;
}

/** The usage line of a command. */
export function usageLine(spec: CommandSpec): string {
  return `quire ${spec.name} ${spec.args}${spec.options.length ? ' [options]' : ''}`;
}

/**
 * Exactly `min`..`max` positionals (default: exactly the number of names), else a usage error
 * that shows the usage line.
 */
export function positionals(p: Parsed, spec: CommandSpec, min?: number, max?: number): string[] {
  const names = spec.args.split(/\s+/).filter((s) => s && !s.startsWith('['));
  const lo = min ?? names.length;
  const hi = max ?? lo;
  const n = p.positionals.length;
  if (n < lo || n > hi) {
    const what = n < lo ? `missing ${names.slice(n).join(' ') || 'arguments'}` : `unexpected argument ${JSON.stringify(p.positionals[hi])}`;
    throw new UsageError(`${spec.name}: ${what}\nusage: ${usageLine(spec)} (quire ${spec.name} --help for more)`);
  }
  return p.positionals;
}

/** `quire CMD --help`: usage, description, every option with what it does and its default, examples. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`usage: ${usageLine(spec)}`, '', spec.description.trim(), ''];
  if (spec.options.length) {
    lines.push('options:');
    const heads = spec.options.map((o) => `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.value}` : ''}`);
    const width = Math.min(32, Math.max(...heads.map((h) => h.length)) + 2);
    spec.options.forEach((o, i) => {
      const text = o.help + (o.default !== undefined ? ` (default: ${o.default})` : '');
      const head = heads[i];
      if (head.length + 2 > width) lines.push(`  ${head}`, `  ${' '.repeat(width)}${text}`);
      else lines.push(`  ${head.padEnd(width)}${text}`);
    });
    lines.push(`  ${'-h, --help'.padEnd(width)}show this help`);
    lines.push('');
  }
  if (spec.examples.length) {
    lines.push('examples:');
    for (const e of spec.examples) lines.push(`  ${e}`);
    lines.push('');
  }
  return lines.join('\n');
}
