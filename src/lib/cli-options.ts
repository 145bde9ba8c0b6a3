// The one option system of every program (wait, collector, webhook, certs):
// each declares its options in one table (flag, environment variable, default,
// maximum, help text) and resolves argv and env through resolveOptions. Flags
// win over the environment; a variable set to "" counts as set. Tokenizing is
// node:util's parseArgs (in the bundle taken with process.getBuiltinModule,
// well under 1 ms); the messages are our own, naming the option.
import { parseArgs } from 'node:util';
import { parseDuration } from './duration.ts';
import { CodedError } from './errors.ts';

export interface OptionDef {
  readonly env?: string;
  readonly type?: 'boolean';
  /** Repeatable flag; its variable takes a comma- or space-separated list. */
  readonly multiple?: boolean;
  readonly default?: string;
  /** A duration option's largest value (shown in --help and the README); above it is bad configuration. */
  readonly max?: string;
  /** Placeholder shown in --help. */
  readonly value?: string;
  readonly help: string;
}

export type RawValue = string | readonly string[] | boolean | undefined;

export interface ResolvedOptions {
  /** Each option's raw value: a flag's or variable's string (an array for `multiple`), a boolean flag, or the default. */
  readonly raw: Record<string, RawValue>;
  /** How to name each option in an error: `--flag` or the environment variable it came from. */
  readonly source: Record<string, string>;
}

/** Resolves argv and env against `table`. Throws CodedError `ERR_CONFIG` (bad flags) or `HELP` (carrying `help()`). */
export function resolveOptions(
  table: Readonly<Record<string, OptionDef>>,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  help: () => string,
): ResolvedOptions {
  const flags = parseFlags(table, argv);
  if (flags.help === true) throw new CodedError('HELP', help());

  const raw: Record<string, RawValue> = {};
  const source: Record<string, string> = {};
  for (const [name, def] of Object.entries(table)) {
    const fromEnv = def.env !== undefined ? env[def.env] : undefined;
    if (flags[name] !== undefined) {
      raw[name] = flags[name];
      source[name] = `--${name}`;
    } else if (fromEnv !== undefined && def.type !== 'boolean') {
      raw[name] = def.multiple ? fromEnv.split(/[\s,]+/).filter(Boolean) : fromEnv;
      source[name] = def.env!;
    } else {
      raw[name] = def.type === 'boolean' ? false : def.multiple ? [] : def.default;
      source[name] = `--${name}`;
    }
  }
  return { raw, source };
}

/** argv -> values by option name: strings, arrays for `multiple`, true for booleans. */
function parseFlags(table: Readonly<Record<string, OptionDef>>, argv: readonly string[]): Record<string, RawValue> {
  const options = Object.fromEntries(
    Object.entries(table).map(([name, def]) => [name, { type: def.type ?? 'string' }] as const),
  );
  // Not strict: parseArgs only tokenizes; every rule below gives our own message naming the option.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string[] | string | boolean> = {};
  for (const token of tokens) {
    if (token.kind === 'positional')
      throw new CodedError('ERR_CONFIG', `unexpected argument ${JSON.stringify(token.value)}`);
    if (token.kind === 'option-terminator') continue;
    const def = Object.hasOwn(table, token.name) && token.rawName.startsWith('--') ? table[token.name]! : undefined;
    if (!def) throw new CodedError('ERR_CONFIG', `unknown option ${token.rawName}`);
    if (def.type === 'boolean') {
      if (token.value !== undefined) throw new CodedError('ERR_CONFIG', `${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    // `--check --timeout 5s` is a missing value, not a check named "--timeout".
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
      throw new CodedError('ERR_CONFIG', `--${token.name} needs a value (${def.value ?? 'VALUE'})`);
    }
    values[token.name] = def.multiple
      ? [...((values[token.name] as string[] | undefined) ?? []), token.value]
      : token.value;
  }
  return values;
}

/**
 * Parses a duration option's raw text, holding it to the table's `max` and to
 * `min` ms. Returns the milliseconds, or a message for the caller to name the
 * option with. `parse` and `examples` let an option take other units (days).
 */
export function durationWithin(
  text: string,
  def: OptionDef,
  {
    min = 0,
    parse = parseDuration,
    examples = '500ms, 30s or 5m',
  }: { min?: number; parse?: (s: string) => number | null; examples?: string } = {},
): { ms: number } | { error: string } {
  const ms = parse(text);
  if (ms === null) return { error: `expected a duration such as ${examples}${def.max ? `, at most ${def.max}` : ''}` };
  if (def.max !== undefined && ms > parse(def.max)!) return { error: `at most ${def.max}` };
  if (ms < min) return { error: `at least ${min} ms` };
  return { ms };
}

/** The error of one bad option: `<source> "<value>": <message>` (no value shown when none was given). */
export function optionError(source: string, value: RawValue, message: string): CodedError {
  return new CodedError('ERR_CONFIG', `${source}${value === undefined ? '' : ` ${JSON.stringify(value)}`}: ${message}`);
}

/** The --help text: usage, a description, one line per option, and closing lines. */
export function optionsHelp(
  usage: string,
  about: string,
  table: Readonly<Record<string, OptionDef>>,
  closing: readonly string[],
): string {
  const lines = [usage, '', about, '', 'Options (flag, environment variable, default, maximum):'];
  for (const [name, def] of Object.entries(table)) {
    const flag = `--${name}${def.value ? ` ${def.value}` : ''}`;
    const meta = [
      def.env,
      def.default !== undefined ? `default ${def.default === '' ? '""' : def.default}` : undefined,
      def.max !== undefined ? `at most ${def.max}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  ${flag.padEnd(30)} ${def.help}${meta ? ` [${meta}]` : ''}`);
  }
  return [...lines, '', ...closing].join('\n');
}
