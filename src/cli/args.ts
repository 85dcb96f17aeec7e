/**
 * A small argument parser for the CLI: positionals, `--flag`, `--opt value`, `--opt=value`.
 * Unknown options and missing values are usage errors (exit 2).
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Takes a value (else a boolean flag). */
  value?: boolean;
}

export interface Parsed {
  positionals: string[];
  flags: Set<string>;
  values: Map<string, string>;
}

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): Parsed {
  const out: Parsed = { positionals: [], flags: new Set(), values: new Map() };
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (onlyPositionals || !a.startsWith('--') || a === '-') {
      out.positionals.push(a);
      continue;
    }
    if (a === '--') {
      onlyPositionals = true;
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const s = spec[name];
    if (!s) throw new UsageError(`unknown option --${name}`);
    if (s.value) {
      let v: string | undefined;
      if (eq >= 0) v = a.slice(eq + 1);
      else {
        v = argv[i + 1];
        i++;
      }
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      out.values.set(name, v);
    } else {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.flags.add(name);
    }
  }
  return out;
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

export function positionals(p: Parsed, names: string[], usage: string): string[] {
  if (p.positionals.length !== names.length) {
    throw new UsageError(`expected ${names.join(' ')}\nusage: ${usage}`);
  }
  return p.positionals;
}
