// The options of `netready webhook`, declared once: flags, environment
// variables, defaults and help text all come from this table.
import { optionsHelp, type OptionDef } from '../lib/cli-options.ts';
import { MAX_WAIT_SETTLE, MAX_WAIT_TIMEOUT } from '../lib/wait-limits.ts';

/** Every option of `netready webhook`: the flag is the key. */
export const WEBHOOK_OPTIONS = {
  listen: {
    env: 'NETREADY_WEBHOOK_LISTEN',
    default: '0.0.0.0:9443',
    value: 'HOST:PORT',
    help: 'address to serve HTTPS on; IPv6 in brackets, e.g. [::]:9443',
  },
  'tls-cert': {
    env: 'NETREADY_WEBHOOK_TLS_CERT',
    default: '/etc/netready/tls/tls.crt',
    value: 'FILE',
    help: 'serving certificate (PEM, chain allowed); reloaded when it changes',
  },
  'tls-key': {
    env: 'NETREADY_WEBHOOK_TLS_KEY',
    default: '/etc/netready/tls/tls.key',
    value: 'FILE',
    help: 'private key of the serving certificate (PEM); reloaded when it changes',
  },
  image: {
    env: 'NETREADY_WEBHOOK_IMAGE',
    value: 'IMAGE',
    help: 'image of the injected netready-wait container (required)',
  },
  checks: {
    env: 'NETREADY_WEBHOOK_CHECKS',
    default: '',
    value: 'SPECS',
    help: "default checks, comma or space separated; empty: the agent's own default (gateway, dns, kubernetes)",
  },
  timeout: {
    env: 'NETREADY_WEBHOOK_TIMEOUT',
    default: '2m',
    max: MAX_WAIT_TIMEOUT,
    value: 'DURATION',
    help: 'default --timeout of the agent',
  },
  'on-timeout': {
    env: 'NETREADY_WEBHOOK_ON_TIMEOUT',
    default: 'fail',
    value: 'fail|continue',
    help: 'default --on-timeout of the agent',
  },
  settle: {
    env: 'NETREADY_WEBHOOK_SETTLE',
    default: '0',
    max: MAX_WAIT_SETTLE,
    value: 'DURATION',
    help: 'default --settle of the agent',
  },
  collector: {
    env: 'NETREADY_WEBHOOK_COLLECTOR',
    default: '',
    value: 'URL',
    help: 'collector base URL given to the agent; empty: no reports',
  },
  'cpu-request': {
    env: 'NETREADY_WEBHOOK_CPU_REQUEST',
    default: '10m',
    value: 'QUANTITY',
    help: 'CPU request of the injected container',
  },
  'cpu-limit': {
    env: 'NETREADY_WEBHOOK_CPU_LIMIT',
    default: '200m',
    value: 'QUANTITY',
    help: 'CPU limit of the injected container',
  },
  'memory-request': {
    env: 'NETREADY_WEBHOOK_MEMORY_REQUEST',
    default: '32Mi',
    value: 'QUANTITY',
    help: 'memory request of the injected containers',
  },
  'memory-limit': {
    env: 'NETREADY_WEBHOOK_MEMORY_LIMIT',
    // The largest peak RSS measured (61 MiB, most of it Node's code, shared) stays 36 % under it:
    // an OOM-killed init container restarts and holds the pod back (docs/operators-guide.md, "Resources").
    default: '96Mi',
    value: 'QUANTITY',
    help: 'memory limit of the injected containers',
  },
  watch: {
    env: 'NETREADY_WEBHOOK_WATCH',
    default: 'false',
    value: 'true|false',
    help: 'add the netready-watch native sidecar (after netready-wait) to pods that do not set netready.io/watch themselves',
  },
  'watch-port': {
    env: 'NETREADY_WEBHOOK_WATCH_PORT',
    default: '9471',
    value: 'PORT',
    help: "default port of the watch's GET /readyz (netready.io/watch-port overrides it per pod)",
  },
  'run-as-user': {
    env: 'NETREADY_WEBHOOK_RUN_AS_USER',
    default: '65532',
    value: 'UID',
    help: 'uid of the injected container when no mesh needs another (Istio 1337, Linkerd 2102)',
  },
  namespace: {
    env: 'NETREADY_WEBHOOK_NAMESPACE',
    default: 'netready-system',
    value: 'NAME',
    help: "the webhook's own namespace, never injected (set it from the downward API)",
  },
  'max-connections': {
    env: 'NETREADY_WEBHOOK_MAX_CONNECTIONS',
    default: '500',
    value: 'N',
    help: 'open connections at most; more are closed at once (keep it under the file limit)',
  },
  'tls-handshake-timeout': {
    env: 'NETREADY_WEBHOOK_TLS_HANDSHAKE_TIMEOUT',
    default: '5s',
    max: '60s',
    value: 'DURATION',
    help: 'a connection that has not finished its TLS handshake by then is closed (at least 100ms)',
  },
  'log-level': {
    env: 'NETREADY_WEBHOOK_LOG_LEVEL',
    default: 'info',
    value: 'LEVEL',
    help: 'debug, info, warn or error',
  },
  'dry-run': { type: 'boolean', help: 'print the resolved configuration as JSON and exit' },
  help: { type: 'boolean', help: 'show this help' },
} as const satisfies Record<string, OptionDef>;

/** The `netready webhook --help` text. */
export function webhookHelp(): string {
  return optionsHelp(
    'Usage: netready webhook --image IMAGE [options]',
    'Mutating admission webhook: injects the netready-wait init container into opted-in pods (POST /mutate, GET /healthz, GET /metrics, HTTPS).',
    WEBHOOK_OPTIONS,
    [
      'Durations: 500ms, 30s, 5m, 1h or 0.',
      'Exit codes: 0 stopped by SIGTERM/SIGINT, 1 certificate or listen address unusable, 2 bad configuration.',
    ],
  );
}
