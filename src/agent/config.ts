// `netready wait` configuration: flags and NETREADY_* environment variables
// (flags win), each given value validated by its zod schema, into a frozen, typed object.
// A bad value fails fast with the option's name and the value in the message.
// The value parsers are exported for `netready watch` (watch-config.ts), which
// shares the probing, collector and identity options.
import { isIP } from 'node:net';
// zod/mini: the same validation as zod, tree-shaken to a fraction of its start-up cost.
import * as z from 'zod/mini';
import { parseCheckSpec, type CheckSpec } from '../lib/check-spec.ts';
import { durationWithin, optionError, resolveOptions, type OptionDef } from '../lib/cli-options.ts';
import { readTokenFile } from '../lib/token.ts';
import { IDENTITY_ENV, waitHelp, WAIT_OPTIONS } from './options.ts';

type Env = Record<string, string | undefined>;

/** Thrown by option parsers; becomes a zod issue carrying its message. */
export class OptionError extends Error {}

/** A string option turned into a value by `parse`, which throws OptionError on a bad value. */
export const parsed = <T>(parse: (s: string) => T) =>
  z.pipe(
    z.string(),
    z.transform((s: string, ctx) => {
      try {
        return parse(s);
      } catch (err) {
        if (!(err instanceof OptionError)) throw err;
        ctx.issues.push({ code: 'custom', input: s, message: err.message });
        return z.NEVER;
      }
    }),
  );

/**
 * One option of wait or watch: its zod schema, built only when the option's raw value is not
 * its default, and the value the default stands for (the schema's output for it; the unit
 * tests hold the two equal). Zod's schemas are built by running zod's code once per kind of
 * schema, and in a process that never runs a full GC what that first run compiled and left
 * stays in its heap pages: a waiting agent kept ~0.9 MiB of private memory for a schema set it
 * used for a millisecond (BENCHMARKS.md, sessions 5 and 8). A default was valid when it was
 * written into the option table, so only the options actually given are validated; nothing is
 * built at module load, so the watch's import of these parsers builds nothing either.
 */
export interface Field<T> {
  readonly schema: () => z.ZodMiniType<T, unknown>;
  readonly fallback: T;
}
export const field = <T>(schema: () => z.ZodMiniType<T, unknown>, fallback: NoInfer<T>): Field<T> => ({
  schema,
  fallback,
});
/** A set of fields by option name (and identity key), and the typed values it parses into. */
export type Fields = Record<string, Field<unknown>>;
export type FieldValues<F extends Fields> = { -readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never };

/** A duration held to its option's documented maximum (the table's `max`) and to `min` ms. */
export const duration = (def: OptionDef, min = 0) =>
  parsed((s) => {
    const r = durationWithin(s, def, { min });
    if ('error' in r) throw new OptionError(r.error);
    return r.ms;
  });

export const statusList = () =>
  parsed((s) => {
    if (s.trim() === 'any') return null;
    return s.split(',').map((part): [number, number] => {
      const m = /^\s*([1-5]\d\d)(?:-([1-5]\d\d))?\s*$/.exec(part);
      if (!m) throw new OptionError('expected "any" or statuses and ranges such as 200-399,404');
      const lo = Number(m[1]);
      const hi = m[2] ? Number(m[2]) : lo;
      if (hi < lo) throw new OptionError(`range ${part.trim()} is reversed`);
      return [lo, hi];
    });
  });

/** `192.0.2.10`, `192.0.2.10:5353`, `2001:db8::1` or `[2001:db8::1]:53`: what c-ares setServers takes. */
function isDnsServer(s: string): boolean {
  const port = (p: string | undefined) => p === undefined || (Number(p) >= 1 && Number(p) <= 65535);
  const v6 = /^\[(.+)\](?::(\d{1,5}))?$/.exec(s);
  if (v6) return isIP(v6[1]!) === 6 && port(v6[2]);
  const v4 = /^([\d.]+)(?::(\d{1,5}))?$/.exec(s);
  if (v4) return isIP(v4[1]!) === 4 && port(v4[2]);
  return isIP(s) === 6;
}

export const dnsServers = () =>
  z.array(
    z
      .string()
      .check(
        z.refine(
          isDnsServer,
          'expected an IP address with an optional port, e.g. 192.0.2.10, 192.0.2.10:5353 or [2001:db8::1]:53',
        ),
      ),
  );

export const collectorUrl = () =>
  z.optional(
    parsed((s) => {
      if (s === '') return null;
      let url: URL | null = null;
      try {
        url = new URL(s);
      } catch {}
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
        throw new OptionError('expected an http:// or https:// URL');
      if (url.search || url.hash) throw new OptionError('must not have a query or fragment');
      if (url.username || url.password) throw new OptionError('must not carry credentials');
      return url.href.replace(/\/+$/, '');
    }),
  );

export const ipList = () =>
  parsed((s) => {
    const ips = s.split(/[\s,]+/).filter(Boolean);
    const bad = ips.find((ip) => isIP(ip) === 0);
    if (bad !== undefined) throw new OptionError(`"${bad}" is not an IP address`);
    if (ips.length > 8) throw new OptionError('at most 8 addresses');
    return ips;
  });

export const count = () =>
  parsed((s) => {
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!(n >= 1 && n <= 1024)) throw new OptionError('expected a whole number from 1 to 1024');
    return n;
  });

const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export const logLevel = () => z.enum(logLevels, { error: 'expected debug, info, warn or error' });

export const identity = () => z.string().check(z.maxLength(253));

/** The options and identity fields wait and watch share, with the defaults of the wait's option table. */
export const SHARED_FIELDS = {
  check: field(() => z.array(z.string()), []),
  'attempt-timeout': field(() => duration(WAIT_OPTIONS['attempt-timeout'], 1), 900),
  'max-in-flight': field(count, 64),
  'http-status': field(statusList, null),
  'dns-server': field(dnsServers, []),
  collector: field(collectorUrl, undefined),
  'collector-token-file': field(() => z.optional(z.string()), undefined),
  'log-level': field(logLevel, 'info'),
  'dry-run': field(() => z.boolean(), false),
  podName: field(identity, ''),
  podNamespace: field(identity, ''),
  podUid: field(() => z.string().check(z.maxLength(64)), ''),
  nodeName: field(identity, ''),
  podIps: field(ipList, []),
} satisfies Fields;

/** The wait's fields: its raw strings in, its typed configuration out. */
export const WAIT_FIELDS = {
  ...SHARED_FIELDS,
  timeout: field(() => duration(WAIT_OPTIONS.timeout), 300_000),
  'on-timeout': field(() => z.enum(['fail', 'continue'], { error: 'expected fail or continue' }), 'fail'),
  interval: field(() => duration(WAIT_OPTIONS.interval, 1), 20),
  settle: field(() => duration(WAIT_OPTIONS.settle), 0),
  'report-budget': field(() => duration(WAIT_OPTIONS['report-budget'], 1), 1000),
  'termination-log': field(() => z.string(), '/dev/termination-log'),
  // Empty when the pod lacks the webhook's annotation (the downward API gives ""): not an error.
  admittedAt: field(
    () =>
      z.union(
        [
          z.literal(''),
          z.iso.datetime({ offset: true, error: 'expected an RFC 3339 time such as 2026-11-25T10:00:00.000Z' }),
        ],
        { error: 'expected an RFC 3339 time such as 2026-11-25T10:00:00.000Z' },
      ),
    '',
  ),
} satisfies Fields;

/** The pod an agent runs in, from the downward API (shared by wait, watch and their reports). */
export interface PodIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly node: string;
  readonly ips: readonly string[];
}

export interface WaitConfig {
  readonly checks: readonly CheckSpec[];
  /** 0 = no deadline. */
  readonly timeoutMs: number;
  readonly onTimeout: 'fail' | 'continue';
  readonly intervalMs: number;
  readonly attemptTimeoutMs: number;
  readonly maxInFlight: number;
  readonly settleMs: number;
  /** Inclusive status ranges that pass http checks; null = any response. */
  readonly httpStatus: readonly (readonly [number, number])[] | null;
  readonly dnsServers: readonly string[];
  readonly collectorUrl: string | null;
  /** Bearer token for the collector, read from --collector-token-file at start. */
  readonly collectorToken: string | null;
  readonly reportBudgetMs: number;
  readonly terminationLog: string | null;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly dryRun: boolean;
  readonly pod: PodIdentity;
  readonly admittedAt: string | null;
}

/** Parses `netready wait` arguments and environment. Throws CodedError `ERR_CONFIG` naming the option, or `HELP`. */
export function parseWaitConfig(argv: readonly string[], env: Env): WaitConfig {
  const { c, checks, source } = parseAgentOptions(
    WAIT_FIELDS,
    WAIT_OPTIONS,
    resolveOptions(WAIT_OPTIONS, argv, env, waitHelp),
    env,
  );

  return deepFreeze({
    checks,
    timeoutMs: c.timeout,
    onTimeout: c['on-timeout'],
    intervalMs: c.interval,
    attemptTimeoutMs: c['attempt-timeout'],
    maxInFlight: c['max-in-flight'],
    settleMs: c.settle,
    httpStatus: c['http-status'],
    dnsServers: c['dns-server'],
    collectorUrl: c.collector ?? null,
    collectorToken: readToken(c['collector-token-file'], source['collector-token-file']!),
    reportBudgetMs: c['report-budget'],
    terminationLog: c['termination-log'] || null,
    logLevel: c['log-level'],
    dryRun: c['dry-run'],
    pod: { name: c.podName, namespace: c.podNamespace, uid: c.podUid, node: c.nodeName, ips: c.podIps },
    admittedAt: c.admittedAt || null,
  });
}

/**
 * The part of `wait` and `watch` configuration they share: the resolved options and the pod
 * identity from the environment, each given value validated with its field's schema (a value
 * equal to the option's default takes the field's fallback, see Field), and the checks (the
 * defaults when none is named). Throws naming the option or variable, with the value it got.
 */
export function parseAgentOptions<F extends Fields & { check: Field<string[]> }>(
  fields: F,
  table: Readonly<Record<string, OptionDef>>,
  resolved: { raw: Record<string, unknown>; source: Record<string, string> },
  env: Env,
  skipIdentity: readonly string[] = [],
): { c: FieldValues<F>; checks: CheckSpec[]; source: Record<string, string> } {
  // raw: the string each option resolved to; source: how to name it in an error.
  const raw: Record<string, unknown> = { ...resolved.raw };
  const source: Record<string, string> = { ...resolved.source };
  for (const [key, name] of Object.entries(IDENTITY_ENV)) {
    if (skipIdentity.includes(key)) continue;
    raw[key] = env[name] ?? '';
    source[key] = name;
  }
  const c: Record<string, unknown> = {};
  const shape: Record<string, z.ZodMiniType> = {};
  for (const [key, f] of Object.entries(fields)) {
    if (isDefault(raw[key], table[key])) c[key] = f.fallback;
    else shape[key] = f.schema();
  }
  const result = z.object(shape).safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const [key, index] = issue.path as [string, number | undefined];
    const value = index === undefined ? raw[key] : (raw[key] as string[])[index];
    throw optionError(source[key]!, value as string, issue.message);
  }
  Object.assign(c, result.data);
  const given = c.check as string[];
  const checks = (given.length > 0 ? given : defaultChecks(env)).map((s) => {
    const r = parseCheckSpec(s, env);
    if (!r.ok) throw optionError(source.check!, s, r.error);
    return Object.freeze(r.value);
  });
  return { c: c as FieldValues<F>, checks, source };
}

/** Whether `value` is what resolveOptions gives when neither flag nor variable is set (identity: ""). */
function isDefault(value: unknown, def: OptionDef | undefined): boolean {
  if (def === undefined) return value === '';
  if (def.type === 'boolean') return value === false;
  if (def.multiple) return Array.isArray(value) && value.length === 0;
  return value === def.default;
}

/** Reads the token file (a mounted Secret) with the collector's own validator; an unusable file is bad configuration. */
export function readToken(path: string | undefined, source: string): string | null {
  if (!path) return null;
  const r = readTokenFile(path);
  if ('error' in r) throw optionError(source, path, r.error);
  return r.token;
}

export function defaultChecks(env: Env): string[] {
  return env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT
    ? ['gateway', 'dns', 'kubernetes']
    : ['gateway', 'dns'];
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
