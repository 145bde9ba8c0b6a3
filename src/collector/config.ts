// `netready collector` configuration: flags and NETREADY_COLLECTOR_* variables
// (flags win), validated by one zod schema into a frozen, typed object. A bad
// value fails fast with the option's name and the value in the message.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { durationWithin, optionError, resolveOptions } from '../lib/cli-options.ts';
import { parseDuration } from '../lib/duration.ts';
import { CodedError } from '../lib/errors.ts';
import { readTokenFile } from '../lib/token.ts';
import { parseListenAddress, type ListenAddress } from '../lib/listen.ts';
import type { Level } from '../lib/log.ts';
import { COLLECTOR_OPTIONS, collectorHelp } from './options.ts';
import { parseOtlpConfig, type OtlpConfig } from './otlp-config.ts';
import { isPostgresUrl } from './store.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface CollectorConfig {
  readonly listen: ListenAddress;
  /** The store: an SQLite file path, `:memory:`, or a postgres:// URL. */
  readonly db: string;
  /** The PostgreSQL password read from --db-password-file; null: none given. */
  readonly dbPassword: string | null;
  readonly dbPasswordFile: string | null;
  /** 0: no age limit. */
  readonly retentionAgeMs: number;
  readonly retentionRows: number;
  /** Bearer token required on POST /v1/reports; null: none. */
  readonly token: string | null;
  readonly tokenFile: string | null;
  /** `token`: the read endpoints need the bearer token too. */
  readonly reads: 'open' | 'token';
  readonly maxLabelValues: number;
  /** Open connections at most; more are closed as they arrive. */
  readonly maxConnections: number;
  /** OTLP push of the metrics; null: off. */
  readonly otlp: OtlpConfig | null;
  readonly logLevel: Level;
  readonly dryRun: boolean;
}

const DAY_MS = 86_400_000;

/** Durations as in lib/duration.ts plus a leading day count (`7d`, `1d12h`): retention is counted in days. */
export function parseRetention(text: string): number | null {
  const m = /^\s*(\d+)d(.*)$/s.exec(text);
  if (!m) return parseDuration(text);
  const rest = m[2]!.trim() === '' ? 0 : parseDuration(m[2]!);
  return rest === null ? null : Number(m[1]) * DAY_MS + rest;
}

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected a whole number from ${min} to ${max}`);

const schema = z.object({
  listen: z.string().transform((s, ctx) => {
    const r = parseListenAddress(s);
    if (r.ok) return r.value;
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  }),
  'data-dir': z.string().min(1, 'must not be empty'),
  db: z.string().min(1, 'must not be empty; use :memory: for a store in memory').optional(),
  'retention-age': z.string().transform((s, ctx) => {
    const r = durationWithin(s, COLLECTOR_OPTIONS['retention-age'], {
      parse: parseRetention,
      examples: '12h, 7d or 0',
    });
    if ('ms' in r) return r.ms;
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  }),
  'retention-rows': wholeNumber(1, 1_000_000_000),
  'db-password-file': z.string().min(1, 'must not be empty').optional(),
  'token-file': z.string().min(1, 'must not be empty').optional(),
  reads: z.enum(['open', 'token'], { error: 'expected open or token' }),
  'max-label-values': wholeNumber(1, 100_000),
  'max-connections': wholeNumber(1, 100_000),
  'log-level': z.enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' }),
  'dry-run': z.boolean(),
});

/** Parses `netready collector` arguments and environment. Throws CodedError `ERR_CONFIG` naming the option, or `HELP`. */
export function parseCollectorConfig(
  argv: readonly string[],
  env: Env,
  readText: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): CollectorConfig {
  const { raw, source } = resolveOptions(COLLECTOR_OPTIONS, argv, env, collectorHelp);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const key = String(result.error.issues[0]!.path[0]);
    throw optionError(source[key]!, raw[key], result.error.issues[0]!.message);
  }
  const c = result.data;
  const tokenFile = c['token-file'] ?? null;
  if (c.reads === 'token' && tokenFile === null)
    throw optionError(source.reads!, raw.reads, 'needs --token-file (the token the reads must carry)');
  return Object.freeze({
    listen: Object.freeze(c.listen),
    db: checkDb(c.db ?? join(c['data-dir'], 'reports.db'), source.db ?? '--db'),
    dbPassword:
      c['db-password-file'] === undefined
        ? null
        : readSecret(c['db-password-file'], source['db-password-file']!, readText),
    dbPasswordFile: c['db-password-file'] ?? null,
    retentionAgeMs: c['retention-age'],
    retentionRows: c['retention-rows'],
    token: tokenFile === null ? null : readToken(tokenFile, source['token-file']!, readText),
    tokenFile,
    reads: c.reads,
    maxLabelValues: c['max-label-values'],
    maxConnections: c['max-connections'],
    otlp: parseOtlpConfig(
      { endpoint: raw['otlp-endpoint'] as string | undefined, interval: raw['otlp-interval'] as string | undefined },
      { endpoint: source['otlp-endpoint']!, interval: source['otlp-interval']! },
      env,
    ),
    logLevel: c['log-level'],
    dryRun: c['dry-run'],
  });
}

/** A postgres:// URL must parse: its error names the option, never the URL (it may hold a password). */
function checkDb(db: string, source: string): string {
  if (!isPostgresUrl(db)) return db;
  let url: URL;
  try {
    url = new URL(db);
  } catch {
    throw new CodedError('ERR_CONFIG', `${source}: not a valid postgres:// URL`);
  }
  if (url.hostname === '' && !url.searchParams.has('host'))
    throw new CodedError('ERR_CONFIG', `${source}: the postgres:// URL names no host`);
  return db;
}

/** A password file's content without a trailing newline (a Secret's key often ends in one). */
function readSecret(path: string, source: string, readText: (path: string) => string): string {
  try {
    return readText(path).replace(/\r?\n$/, '');
  } catch (err) {
    throw new CodedError(
      'ERR_CONFIG',
      `${source} ${JSON.stringify(path)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

/** The token, read and validated as the agent reads the one it sends (lib/token.ts). */
function readToken(path: string, source: string, readText: (path: string) => string): string {
  const r = readTokenFile(path, readText);
  if ('error' in r) throw optionError(source, path, r.error);
  return r.token;
}
