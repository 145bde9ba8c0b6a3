// The options of `netready collector`, declared once: flags, environment
// variables, defaults and help text all come from this table.
import { optionsHelp, type OptionDef } from '../lib/cli-options.ts';

/** Every option of `netready collector`: the flag is the key. */
export const COLLECTOR_OPTIONS = {
  listen: {
    env: 'NETREADY_COLLECTOR_LISTEN',
    default: '0.0.0.0:9470',
    value: 'HOST:PORT',
    help: 'address to serve HTTP on; IPv6 in brackets, e.g. [::]:9470',
  },
  'data-dir': {
    env: 'NETREADY_COLLECTOR_DATA_DIR',
    default: '/var/lib/netready',
    value: 'DIR',
    help: 'directory for the store when --db is not given (created if missing)',
  },
  db: {
    env: 'NETREADY_COLLECTOR_DB',
    value: 'PATH|URL',
    help: 'the report store: an SQLite file, :memory: (reports lost at exit), or a postgres:// (postgresql://) URL shared by several replicas; PG* variables fill in what the URL leaves out [default DIR/reports.db]',
  },
  'db-password-file': {
    env: 'NETREADY_COLLECTOR_DB_PASSWORD_FILE',
    value: 'PATH',
    help: "file holding the PostgreSQL password (a Secret's key); unset: from the URL or PGPASSWORD",
  },
  'retention-age': {
    env: 'NETREADY_COLLECTOR_RETENTION_AGE',
    default: '7d',
    max: '3650d',
    value: 'DURATION',
    help: 'delete reports received longer ago than this; 0 keeps them (the row limit still applies)',
  },
  'retention-rows': {
    env: 'NETREADY_COLLECTOR_RETENTION_ROWS',
    default: '500000',
    value: 'N',
    help: 'keep at most this many reports, deleting the oldest',
  },
  'token-file': {
    env: 'NETREADY_COLLECTOR_TOKEN_FILE',
    value: 'PATH',
    help: 'file holding a bearer token that POST /v1/reports must carry; unset: no token needed',
  },
  'max-connections': {
    env: 'NETREADY_COLLECTOR_MAX_CONNECTIONS',
    default: '1000',
    value: 'N',
    help: 'open connections at most (1 to 100000); more are closed at once (keep it under the file limit)',
  },
  reads: {
    env: 'NETREADY_COLLECTOR_READS',
    default: 'open',
    value: 'open|token',
    help: 'who may GET /v1/reports, /v1/summary and /v1/outages (pod names, uids, IPs): open, or token (the --token-file bearer token, as POST needs)',
  },
  'max-label-values': {
    env: 'NETREADY_COLLECTOR_MAX_LABEL_VALUES',
    default: '1000',
    value: 'N',
    help: 'distinct values per metric label (node, namespace, error class); later ones are counted as "other"',
  },
  'otlp-endpoint': {
    env: 'NETREADY_COLLECTOR_OTLP_ENDPOINT',
    value: 'URL',
    help: 'also push the metrics over OTLP/HTTP to this base URL, e.g. http://otel-collector:4318 (/v1/metrics is appended); empty: no push [default OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT, else no push]',
  },
  'otlp-interval': {
    env: 'NETREADY_COLLECTOR_OTLP_INTERVAL',
    max: '1h',
    value: 'DURATION',
    help: 'time between OTLP pushes [default OTEL_METRIC_EXPORT_INTERVAL (ms) or 15s]',
  },
  'log-level': {
    env: 'NETREADY_COLLECTOR_LOG_LEVEL',
    default: 'info',
    value: 'LEVEL',
    help: 'debug, info, warn or error',
  },
  'dry-run': { type: 'boolean', help: 'print the resolved configuration as JSON and exit' },
  help: { type: 'boolean', help: 'show this help' },
} as const satisfies Record<string, OptionDef>;

export type CollectorOptionName = keyof typeof COLLECTOR_OPTIONS;

/** The `netready collector --help` text. */
export function collectorHelp(): string {
  return optionsHelp(
    'Usage: netready collector [options]',
    "Receives the agents' reports (POST /v1/reports), keeps them in SQLite or PostgreSQL, serves GET /v1/reports, /metrics, /healthz and /readyz.",
    COLLECTOR_OPTIONS,
    [
      'Durations: 500ms, 30s, 5m, 12h, 7d, 1d12h or 0.',
      'Exit codes: 0 stopped by SIGTERM/SIGINT, 1 store or listen address unusable, 2 bad configuration, 143/130 a second SIGTERM/SIGINT during shutdown (the store closed all the same).',
    ],
  );
}
