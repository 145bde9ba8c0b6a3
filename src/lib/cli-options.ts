// Options of a long-running program (collector, webhook) declared in one table:
// flag, environment variable, default and help text. Flags win over the
// environment; a variable set to "" counts as set. Parsing is node:util's
// parseArgs (strict); the agent keeps its own smaller parser for start-up time.
import { parseArgs } from 'node:util';
import { CodedError } from './errors.ts';

export interface OptionDef {
  readonly env?: string;
  readonly type?: 'boolean';
  readonly default?: string;
  /** Placeholder shown in --help. */
  readonly value?: string;
  readonly help: string;
}

export interface ResolvedOptions {
  /** Each option's raw value: a flag's or variable's string, a boolean flag, or the default (undefined when none). */
  readonly raw: Record<string, string | boolean | undefined>;
  /** How to name each option in an error: `--flag` or the environment variable it came from. */
  readonly source: Record<string, string>;
}

/** Resolves argv and env against `table`. Throws CodedError `ERR_CONFIG` (bad flags) or `HELP` (carrying `help`). */
export function resolveOptions(table: Readonly<Record<string, OptionDef>>, argv: readonly string[], env: Readonly<Record<string, string | undefined>>, help: () => string): ResolvedOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.entries(table).map(([name, def]) => [name, { type: def.type ?? 'string' }] as const));
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) throw new CodedError('ERR_CONFIG', (err as Error).message);
    throw err;
  }
  if (values.help === true) throw new CodedError('HELP', help());

  const raw: Record<string, string | boolean | undefined> = {};
  const source: Record<string, string> = {};
  for (const [name, def] of Object.entries(table)) {
    const fromEnv = def.env !== undefined ? env[def.env] : undefined;
    if (values[name] !== undefined) {
      raw[name] = values[name];
      source[name] = `--${name}`;
    } else if (fromEnv !== undefined && def.type !== 'boolean') {
      raw[name] = fromEnv;
      source[name] = def.env!;
    } else {
      raw[name] = def.type === 'boolean' ? false : def.default;
      source[name] = `--${name}`;
    }
  }
  return { raw, source };
}

/** The --help text: usage, a description, one line per option, and closing lines. */
export function optionsHelp(usage: string, about: string, table: Readonly<Record<string, OptionDef>>, closing: readonly string[]): string {
  const lines = [usage, '', about, '', 'Options (flag, environment variable, default):'];
  for (const [name, def] of Object.entries(table)) {
    const flag = `--${name}${def.value ? ` ${def.value}` : ''}`;
    const meta = [def.env, def.default !== undefined ? `default ${def.default === '' ? '""' : def.default}` : undefined].filter(Boolean).join(', ');
    lines.push(`  ${flag.padEnd(30)} ${def.help}${meta ? ` [${meta}]` : ''}`);
  }
  return [...lines, '', ...closing].join('\n');
}
