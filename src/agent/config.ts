// `netready wait` configuration: flags and NETREADY_* environment variables
// (flags win), validated by one zod schema into a frozen, typed object.
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

/** A duration held to its option's documented maximum (the table's `max`) and to `min` ms. */
export const duration = (def: OptionDef, min = 0) =>
  parsed((s) => {
    const r = durationWithin(s, def, { min });
    if ('error' in r) throw new OptionError(r.error);
    return r.ms;
  });

export const statusList = parsed((s) => {
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

export const dnsServer = z
  .string()
  .check(
    z.refine(
      isDnsServer,
      'expected an IP address with an optional port, e.g. 192.0.2.10, 192.0.2.10:5353 or [2001:db8::1]:53',
    ),
  );

export const collectorUrl = parsed((s) => {
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
});

export const ipList = parsed((s) => {
  const ips = s.split(/[\s,]+/).filter(Boolean);
  const bad = ips.find((ip) => isIP(ip) === 0);
  if (bad !== undefined) throw new OptionError(`"${bad}" is not an IP address`);
  if (ips.length > 8) throw new OptionError('at most 8 addresses');
  return ips;
});

export const count = parsed((s) => {
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!(n >= 1 && n <= 1024)) throw new OptionError('expected a whole number from 1 to 1024');
  return n;
});

export const identity = z.string().check(z.maxLength(253));

/** The schema over raw strings; its output is the typed configuration. */
const configSchema = z.object({
  check: z.array(z.string()),
  timeout: duration(WAIT_OPTIONS.timeout),
  'on-timeout': z.enum(['fail', 'continue'], { error: 'expected fail or continue' }),
  interval: duration(WAIT_OPTIONS.interval, 1),
  'attempt-timeout': duration(WAIT_OPTIONS['attempt-timeout'], 1),
  'max-in-flight': count,
  settle: duration(WAIT_OPTIONS.settle),
  'http-status': statusList,
  'dns-server': z.array(dnsServer),
  collector: z.optional(collectorUrl),
  'collector-token-file': z.optional(z.string()),
  'report-budget': duration(WAIT_OPTIONS['report-budget'], 1),
  'termination-log': z.string(),
  'log-level': z.enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' }),
  'dry-run': z.boolean(),
  podName: identity,
  podNamespace: identity,
  podUid: z.string().check(z.maxLength(64)),
  nodeName: identity,
  podIps: ipList,
  // Empty when the pod lacks the webhook's annotation (the downward API gives ""): not an error.
  admittedAt: z.union(
    [
      z.literal(''),
      z.iso.datetime({ offset: true, error: 'expected an RFC 3339 time such as 2026-11-25T10:00:00.000Z' }),
    ],
    {
      error: 'expected an RFC 3339 time such as 2026-11-25T10:00:00.000Z',
    },
  ),
});

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
  const { c, checks, source } = parseAgentOptions(configSchema, resolveOptions(WAIT_OPTIONS, argv, env, waitHelp), env);

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
 * identity from the environment validated with `schema`, and the checks (the defaults when none
 * is named). Throws naming the option or variable, with the value it got.
 */
export function parseAgentOptions<S extends z.ZodMiniType<{ check: string[] }>>(
  schema: S,
  resolved: { raw: Record<string, unknown>; source: Record<string, string> },
  env: Env,
  skipIdentity: readonly string[] = [],
): { c: z.output<S>; checks: CheckSpec[]; source: Record<string, string> } {
  // raw: the string each option resolved to; source: how to name it in an error.
  const raw: Record<string, unknown> = { ...resolved.raw };
  const source: Record<string, string> = { ...resolved.source };
  for (const [key, name] of Object.entries(IDENTITY_ENV)) {
    if (skipIdentity.includes(key)) continue;
    raw[key] = env[name] ?? '';
    source[key] = name;
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const [key, index] = issue.path as [string, number | undefined];
    const value = index === undefined ? raw[key] : (raw[key] as string[])[index];
    throw optionError(source[key]!, value as string, issue.message);
  }
  const c = result.data;
  const checks = (c.check.length > 0 ? c.check : defaultChecks(env)).map((s) => {
    const r = parseCheckSpec(s, env);
    if (!r.ok) throw optionError(source.check!, s, r.error);
    return Object.freeze(r.value);
  });
  return { c, checks, source };
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
