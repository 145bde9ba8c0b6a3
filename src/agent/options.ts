// The options of `netready wait`, declared once: flags, environment
// variables, defaults and help text all come from this table.
import { CodedError } from '../lib/errors.ts';

export interface OptionDef {
  env?: string;
  type?: 'boolean';
  multiple?: boolean;
  default?: string;
  /** Placeholder shown in --help. */
  value?: string;
  help: string;
}

/** Every option of `netready wait`: the flag is the key. --help is generated from this table. */
export const WAIT_OPTIONS = {
  check: { env: 'NETREADY_CHECKS', multiple: true, value: 'SPEC', help: 'check to pass: gateway, dns, dns:NAME, tcp://HOST:PORT, kubernetes, http(s)://URL; repeatable (env: comma or space separated). Default: gateway, dns, and kubernetes when KUBERNETES_SERVICE_HOST is set' },
  timeout: { env: 'NETREADY_TIMEOUT', default: '5m', value: 'DURATION', help: 'give up after this long; 0 waits forever' },
  'on-timeout': { env: 'NETREADY_ON_TIMEOUT', default: 'fail', value: 'fail|continue', help: 'at the deadline exit 1 (fail) or 0 (continue)' },
  interval: { env: 'NETREADY_INTERVAL', default: '20ms', value: 'DURATION', help: 'start a new attempt this often while a check has not passed; grows to 1.25 times that over the first 10 s of a long wait' },
  // Below the kernel's 1 s initial SYN retransmission timeout: an attempt is one SYN, and a
  // retransmitted SYN that gets through late can never pass for a fresh answer.
  'attempt-timeout': { env: 'NETREADY_ATTEMPT_TIMEOUT', default: '900ms', value: 'DURATION', help: 'time one attempt may take' },
  'max-in-flight': { env: 'NETREADY_MAX_IN_FLIGHT', default: '64', value: 'N', help: 'attempts in flight per check at most' },
  settle: { env: 'NETREADY_SETTLE', default: '0', value: 'DURATION', help: 'every check must keep passing this long before the network counts as ready' },
  'http-status': { env: 'NETREADY_HTTP_STATUS', default: 'any', value: 'LIST', help: 'HTTP statuses that pass http(s) checks, e.g. 200-399,404; any = every response' },
  'dns-server': { env: 'NETREADY_DNS_SERVERS', multiple: true, value: 'ADDR[:PORT]', help: 'resolver to query instead of the nameservers in /etc/resolv.conf; repeatable' },
  collector: { env: 'NETREADY_COLLECTOR_URL', value: 'URL', help: 'collector base URL; the report is POSTed to URL/v1/reports' },
  'collector-token-file': { env: 'NETREADY_COLLECTOR_TOKEN_FILE', value: 'PATH', help: 'file holding the bearer token the collector asks for (its --token-file)' },
  'report-budget': { env: 'NETREADY_REPORT_BUDGET', default: '1s', value: 'DURATION', help: 'time allowed for delivering the report, retries included' },
  'termination-log': { env: 'NETREADY_TERMINATION_LOG', default: '/dev/termination-log', value: 'PATH', help: 'file for the one-line summary; empty disables' },
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

/**
 * Splits argv into option values: `--name value`, `--name=value`, booleans as
 * `--name`, repeatable options collected into arrays. Hand-written rather than
 * node:util's parseArgs: loading node:util costs the agent ~5 ms of start-up
 * (it sets up colour support on stderr), a tenth of its budget.
 */
export function parseFlags(argv: readonly string[]): Record<string, unknown> {
  const defs: Record<string, OptionDef> = WAIT_OPTIONS;
  const values: Record<string, string | string[] | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new CodedError('ERR_CONFIG', `unexpected argument ${JSON.stringify(arg)}`);
    const name = m[1]!;
    const def = Object.hasOwn(defs, name) ? defs[name]! : undefined;
    if (!def) throw new CodedError('ERR_CONFIG', `unknown option --${name}`);
    if (def.type === 'boolean') {
      if (m[2] !== undefined) throw new CodedError('ERR_CONFIG', `--${name} takes no value`);
      values[name] = true;
      continue;
    }
    const value = m[2] ?? argv[++i];
    // `--check --timeout 5s` is a missing value, not a check named "--timeout".
    if (value === undefined || (m[2] === undefined && value.startsWith('--'))) throw new CodedError('ERR_CONFIG', `--${name} needs a value (${def.value})`);
    values[name] = def.multiple ? [...((values[name] as string[] | undefined) ?? []), value] : value;
  }
  return values;
}

/** The `netready wait --help` text. */
export function waitHelp(): string {
  const lines = ['Usage: netready wait [options]', '', 'Waits until the pod network works, reports the delay, exits.', '', 'Options (flag, environment variable, default):'];
  for (const [name, def] of Object.entries(WAIT_OPTIONS) as [string, OptionDef][]) {
    const flag = `--${name}${def.value ? ` ${def.value}` : ''}`;
    const meta = [def.env, def.default !== undefined ? `default ${def.default}` : undefined].filter(Boolean).join(', ');
    lines.push(`  ${flag.padEnd(30)} ${def.help}${meta ? ` [${meta}]` : ''}`);
  }
  lines.push('', 'Pod identity (downward API): ' + Object.values(IDENTITY_ENV).join(', '));
  lines.push('', 'Exit codes: 0 ready (or timeout with --on-timeout continue), 1 deadline passed, 2 bad configuration, 130/143 interrupted.');
  return lines.join('\n');
}
