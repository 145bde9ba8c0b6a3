// `netready watch` configuration: the watch's option table (watch-options.ts)
// through the wait's value parsers (config.ts), into a frozen, typed object.
// A bad value fails fast with the option's name and the value in the message.
import type { CheckSpec } from '../lib/check-spec.ts';
import { resolveOptions } from '../lib/cli-options.ts';
import { parseListenAddress, type ListenAddress } from '../lib/listen.ts';
import {
  deepFreeze,
  duration,
  field,
  type Fields,
  OptionError,
  parseAgentOptions,
  parsed,
  type PodIdentity,
  readToken,
  SHARED_FIELDS,
  count,
} from './config.ts';
import { watchHelp, WATCH_OPTIONS } from './watch-options.ts';

type Env = Record<string, string | undefined>;

/** The watch's fields (see config.ts Field): the shared ones, and its own with its table's defaults. */
export const WATCH_FIELDS = {
  ...SHARED_FIELDS,
  interval: field(() => duration(WATCH_OPTIONS.interval, 1), 2000),
  failures: field(count, 3),
  'recover-interval': field(() => duration(WATCH_OPTIONS['recover-interval'], 1), 20),
  listen: field(
    () =>
      parsed((s) => {
        const r = parseListenAddress(s);
        if (!r.ok) throw new OptionError(r.error);
        return r.value;
      }),
    { host: '::', port: 9471 },
  ),
  'report-budget': field(() => duration(WATCH_OPTIONS['report-budget'], 1), 1000),
  'max-outages-per-minute': field(
    () =>
      parsed((s) => {
        const n = /^\d{1,4}$/.test(s) ? Number(s) : NaN;
        if (!(n >= 0 && n <= 1000)) throw new OptionError('expected a whole number from 0 to 1000');
        return n;
      }),
    6,
  ),
} satisfies Fields;

export interface WatchConfig {
  readonly checks: readonly CheckSpec[];
  readonly intervalMs: number;
  readonly failures: number;
  readonly recoverIntervalMs: number;
  readonly listen: ListenAddress;
  readonly attemptTimeoutMs: number;
  readonly maxInFlight: number;
  /** Inclusive status ranges that pass http checks; null = any response. */
  readonly httpStatus: readonly (readonly [number, number])[] | null;
  readonly dnsServers: readonly string[];
  readonly collectorUrl: string | null;
  readonly collectorToken: string | null;
  readonly reportBudgetMs: number;
  readonly maxOutagesPerMinute: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly dryRun: boolean;
  readonly pod: PodIdentity;
}

/** Parses `netready watch` arguments and environment. Throws CodedError `ERR_CONFIG` naming the option, or `HELP`. */
export function parseWatchConfig(argv: readonly string[], env: Env): WatchConfig {
  // admittedAt is a start-up figure: the watch has no use for it.
  const { c, checks, source } = parseAgentOptions(
    WATCH_FIELDS,
    WATCH_OPTIONS,
    resolveOptions(WATCH_OPTIONS, argv, env, watchHelp),
    env,
    ['admittedAt'],
  );
  return deepFreeze({
    checks,
    intervalMs: c.interval,
    failures: c.failures,
    recoverIntervalMs: c['recover-interval'],
    listen: c.listen,
    attemptTimeoutMs: c['attempt-timeout'],
    maxInFlight: c['max-in-flight'],
    httpStatus: c['http-status'],
    dnsServers: c['dns-server'],
    collectorUrl: c.collector ?? null,
    collectorToken: readToken(c['collector-token-file'], source['collector-token-file']!),
    reportBudgetMs: c['report-budget'],
    maxOutagesPerMinute: c['max-outages-per-minute'],
    logLevel: c['log-level'],
    dryRun: c['dry-run'],
    pod: { name: c.podName, namespace: c.podNamespace, uid: c.podUid, node: c.nodeName, ips: c.podIps },
  });
}
