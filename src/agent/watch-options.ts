// The options of `netready watch`, declared once, in the one option system
// (lib/cli-options.ts). The probing, collector and logging options are the
// wait's own rows (same flags, same variables), so a webhook or a manifest can
// give both containers the same environment; the rest are the watch's.
import { optionsHelp, type OptionDef } from '../lib/cli-options.ts';
import { IDENTITY_ENV, WAIT_OPTIONS } from './options.ts';

/** The detection window's parts' defaults: 3 failed rounds, one every 2 s. */
export const DEFAULT_WATCH_INTERVAL = '2s';
export const DEFAULT_WATCH_FAILURES = '3';
/** The port of the watch's readiness endpoint, beside the collector's 9470. */
export const DEFAULT_WATCH_PORT = 9471;

/** Every option of `netready watch`: the flag is the key. --help is generated from this table. */
export const WATCH_OPTIONS = {
  check: WAIT_OPTIONS.check,
  interval: {
    env: 'NETREADY_WATCH_INTERVAL',
    default: DEFAULT_WATCH_INTERVAL,
    max: '10m',
    value: 'DURATION',
    help: 'probe every check once this often while the network works',
  },
  failures: {
    env: 'NETREADY_WATCH_FAILURES',
    default: DEFAULT_WATCH_FAILURES,
    value: 'N',
    help: 'consecutive failed rounds (some check failed) that mark the network lost: /readyz then answers 503',
  },
  'recover-interval': {
    env: 'NETREADY_WATCH_RECOVER_INTERVAL',
    default: WAIT_OPTIONS.interval.default,
    max: WAIT_OPTIONS.interval.max,
    value: 'DURATION',
    help: "while lost, start a new attempt per check this often (the wait's start-up rate) until every check passes: /readyz then answers 200",
  },
  listen: {
    env: 'NETREADY_WATCH_LISTEN',
    default: `[::]:${DEFAULT_WATCH_PORT}`,
    value: 'HOST:PORT',
    help: 'address of GET /readyz (200 while the network works, 503 while it is lost); [::] takes IPv4 too, and is IPv4 alone on a kernel without IPv6',
  },
  'attempt-timeout': WAIT_OPTIONS['attempt-timeout'],
  'max-in-flight': WAIT_OPTIONS['max-in-flight'],
  'http-status': WAIT_OPTIONS['http-status'],
  'dns-server': WAIT_OPTIONS['dns-server'],
  collector: { ...WAIT_OPTIONS.collector, help: 'collector base URL; each outage is POSTed to URL/v1/reports' },
  'collector-token-file': WAIT_OPTIONS['collector-token-file'],
  'report-budget': {
    ...WAIT_OPTIONS['report-budget'],
    help: 'time allowed for delivering one outage, retries included',
  },
  'max-outages-per-minute': {
    env: 'NETREADY_WATCH_MAX_OUTAGES_PER_MINUTE',
    default: '6',
    value: 'N',
    help: 'outages sent to the collector in any 60 s at most; the rest are counted, and the next one sent carries the count (dropped)',
  },
  'log-level': WAIT_OPTIONS['log-level'],
  'dry-run': WAIT_OPTIONS['dry-run'],
  help: WAIT_OPTIONS.help,
} as const satisfies Record<string, OptionDef>;

/** The `netready watch --help` text. */
export function watchHelp(): string {
  return optionsHelp(
    'Usage: netready watch [options]',
    "Watches a running pod's network: fails GET /readyz while its checks keep failing, reports each outage.",
    WATCH_OPTIONS,
    [
      'Durations: 500ms, 30s, 5m, 1h or 0.',
      `Pod identity (downward API): ${Object.values(IDENTITY_ENV).join(', ')}`,
      'Exit codes: 0 stopped by SIGTERM/SIGINT, 1 --listen unusable, 2 bad configuration.',
    ],
  );
}
