// The options of `netready wait`, declared once: flags, environment
// variables, defaults, maxima and help text all come from this table, parsed
// by the one option system of every program (lib/cli-options.ts).
import { optionsHelp, type OptionDef } from '../lib/cli-options.ts';
import { MAX_WAIT_SETTLE, MAX_WAIT_TIMEOUT } from '../lib/wait-limits.ts';

/** Every option of `netready wait`: the flag is the key. --help is generated from this table. */
export const WAIT_OPTIONS = {
  check: {
    env: 'NETREADY_CHECKS',
    multiple: true,
    value: 'SPEC',
    help: 'check to pass: gateway, dns, dns:NAME, tcp://HOST:PORT, kubernetes, http(s)://URL; repeatable (env: comma or space separated). Default: gateway, dns, and kubernetes when KUBERNETES_SERVICE_HOST is set',
  },
  timeout: {
    env: 'NETREADY_TIMEOUT',
    default: '5m',
    max: MAX_WAIT_TIMEOUT,
    value: 'DURATION',
    help: 'give up after this long; 0 waits forever',
  },
  'on-timeout': {
    env: 'NETREADY_ON_TIMEOUT',
    default: 'fail',
    value: 'fail|continue',
    help: 'at the deadline exit 1 (fail) or 0 (continue)',
  },
  interval: {
    env: 'NETREADY_INTERVAL',
    default: '20ms',
    max: '10s',
    value: 'DURATION',
    help: 'start a new attempt this often while a check has not passed; grows to 1.25 times that over the first 10 s of a long wait',
  },
  // Below the kernel's 1 s initial SYN retransmission timeout: an attempt is one SYN, and a
  // retransmitted SYN that gets through late can never pass for a fresh answer.
  'attempt-timeout': {
    env: 'NETREADY_ATTEMPT_TIMEOUT',
    default: '900ms',
    max: '10m',
    value: 'DURATION',
    help: 'time one attempt may take',
  },
  'max-in-flight': {
    env: 'NETREADY_MAX_IN_FLIGHT',
    default: '64',
    value: 'N',
    help: 'attempts in flight per check at most',
  },
  settle: {
    env: 'NETREADY_SETTLE',
    default: '0',
    max: MAX_WAIT_SETTLE,
    value: 'DURATION',
    help: 'every check must keep passing this long before the network counts as ready',
  },
  'http-status': {
    env: 'NETREADY_HTTP_STATUS',
    default: 'any',
    value: 'LIST',
    help: 'HTTP statuses that pass http(s) checks, e.g. 200-399,404; any = every response',
  },
  'dns-server': {
    env: 'NETREADY_DNS_SERVERS',
    multiple: true,
    value: 'ADDR[:PORT]',
    help: 'resolver to query instead of the nameservers in /etc/resolv.conf; repeatable',
  },
  collector: {
    env: 'NETREADY_COLLECTOR_URL',
    value: 'URL',
    help: 'collector base URL; the report is POSTed to URL/v1/reports',
  },
  'collector-token-file': {
    env: 'NETREADY_COLLECTOR_TOKEN_FILE',
    value: 'PATH',
    help: 'file holding the bearer token the collector asks for (its --token-file)',
  },
  'report-budget': {
    env: 'NETREADY_REPORT_BUDGET',
    default: '1s',
    max: '1m',
    value: 'DURATION',
    help: 'time allowed for delivering the report, retries included',
  },
  'termination-log': {
    env: 'NETREADY_TERMINATION_LOG',
    default: '/dev/termination-log',
    value: 'PATH',
    help: 'file for the one-line summary; empty disables',
  },
  'log-level': { env: 'NETREADY_LOG_LEVEL', default: 'info', value: 'LEVEL', help: 'debug, info, warn or error' },
  'dry-run': { type: 'boolean', help: 'print the resolved configuration as JSON and exit' },
  help: { type: 'boolean', help: 'show this help' },
} as const satisfies Record<string, OptionDef>;

/** Environment variables set through the downward API; they have no flags. */
export const IDENTITY_ENV = {
  podName: 'NETREADY_POD_NAME',
  podNamespace: 'NETREADY_POD_NAMESPACE',
  podUid: 'NETREADY_POD_UID',
  nodeName: 'NETREADY_NODE_NAME',
  podIps: 'NETREADY_POD_IPS',
  admittedAt: 'NETREADY_ADMITTED_AT',
} as const;

export type OptionName = keyof typeof WAIT_OPTIONS;

/** The `netready wait --help` text. */
export function waitHelp(): string {
  return optionsHelp(
    'Usage: netready wait [options]',
    'Waits until the pod network works, reports the delay, exits.',
    WAIT_OPTIONS,
    [
      'Durations: 500ms, 30s, 5m, 1h or 0.',
      `Pod identity (downward API): ${Object.values(IDENTITY_ENV).join(', ')}`,
      'Exit codes: 0 ready (or timeout with --on-timeout continue), 1 deadline passed, 2 bad configuration, 130/143 interrupted.',
    ],
  );
}
