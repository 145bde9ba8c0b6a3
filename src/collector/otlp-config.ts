// Where and how often the collector pushes OTLP, from its own options and the
// standard OpenTelemetry variables. Pure and SDK-free: config.ts calls it at
// start, and a bad value fails fast naming the option or variable it came from.
// Headers, compression, TLS files, temporality and resource attributes
// (OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES, ...) are read by the
// OpenTelemetry SDK itself, as every SDK does.
import { parseDuration } from '../lib/duration.ts';
import { CodedError } from '../lib/errors.ts';
import { COLLECTOR_OPTIONS } from './options.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface OtlpConfig {
  /** Full URL the metrics are POSTed to, ending in /v1/metrics unless a signal-specific variable said otherwise. */
  readonly endpoint: string;
  readonly intervalMs: number;
  /** Time one push may take, retries included: at most the interval, so pushes never pile up behind a dead endpoint. */
  readonly timeoutMs: number;
}

/** The OTLP/HTTP path for metrics, appended to a base endpoint. */
export const METRICS_PATH = 'v1/metrics';
/** Push interval when neither --otlp-interval nor OTEL_METRIC_EXPORT_INTERVAL is set (the SDK's own default is 60 s). */
export const DEFAULT_INTERVAL_MS = 15_000;
/** Time a push may take when OTEL_EXPORTER_OTLP_(METRICS_)TIMEOUT is not set: the SDK's own default. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Longest push interval accepted (--otlp-interval's documented maximum): beyond it, a cumulative series looks stale to most backends. */
const MAX_INTERVAL = COLLECTOR_OPTIONS['otlp-interval'].max;
const MAX_INTERVAL_MS = parseDuration(MAX_INTERVAL)!;

/**
 * Resolves the OTLP push; null when nothing configures it. `endpoint` and
 * `interval` are the raw --otlp-endpoint / --otlp-interval values (flag or
 * NETREADY_COLLECTOR_* variable), `source` names where each came from.
 * Precedence: --otlp-endpoint, then OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (used
 * as is), then OTEL_EXPORTER_OTLP_ENDPOINT (/v1/metrics appended); an empty
 * --otlp-endpoint turns the push off whatever the OTEL_ variables say.
 */
export function parseOtlpConfig(
  raw: { readonly endpoint: string | undefined; readonly interval: string | undefined },
  source: { readonly endpoint: string; readonly interval: string },
  env: Env,
): OtlpConfig | null {
  // Validated even when the push is off: a typo in a flag should not pass silently.
  const intervalMs = raw.interval === undefined ? undefined : parseInterval(raw.interval, source.interval);
  let endpoint: string | null;
  if (raw.endpoint !== undefined) {
    endpoint = raw.endpoint === '' ? null : baseEndpoint(raw.endpoint, source.endpoint);
  } else if (nonEmpty(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)) {
    endpoint = parseHttpUrl(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT').href;
  } else if (nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT)) {
    endpoint = baseEndpoint(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  } else {
    endpoint = null;
  }
  if (endpoint === null) return null;
  const interval = intervalMs ?? wholeMs(env, 'OTEL_METRIC_EXPORT_INTERVAL') ?? DEFAULT_INTERVAL_MS;
  const timeout =
    wholeMs(env, 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT') ??
    wholeMs(env, 'OTEL_EXPORTER_OTLP_TIMEOUT') ??
    DEFAULT_TIMEOUT_MS;
  return Object.freeze({ endpoint, intervalMs: interval, timeoutMs: Math.min(interval, timeout) });
}

/** The OpenTelemetry spec treats an empty variable as unset. */
function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** A base URL gets /v1/metrics appended, as OTEL_EXPORTER_OTLP_ENDPOINT does; a URL already ending in it is kept. */
function baseEndpoint(text: string, source: string): string {
  const url = parseHttpUrl(text, source);
  if (url.pathname.replace(/\/+$/, '').endsWith(`/${METRICS_PATH}`)) return url.href;
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${METRICS_PATH}`;
  return url.href;
}

function parseHttpUrl(text: string, source: string): URL {
  const fail = (why: string) => new CodedError('ERR_CONFIG', `${source} ${JSON.stringify(text)}: ${why}`);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw fail('expected an http:// or https:// URL, e.g. http://otel-collector.observability.svc:4318');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw fail(`expected an http:// or https:// URL (OTLP/HTTP), not ${url.protocol}`);
  // The endpoint is logged at start; credentials belong in OTEL_EXPORTER_OTLP_HEADERS, which is not.
  if (url.username !== '' || url.password !== '')
    throw fail(
      'credentials in the URL are not accepted; set OTEL_EXPORTER_OTLP_HEADERS, e.g. authorization=Bearer%20TOKEN',
    );
  if (url.search !== '' || url.hash !== '') throw fail('expected no query or fragment');
  return url;
}

function parseInterval(text: string, source: string): number {
  const ms = parseDuration(text);
  if (ms !== null && ms > MAX_INTERVAL_MS)
    throw new CodedError('ERR_CONFIG', `${source} ${JSON.stringify(text)}: at most ${MAX_INTERVAL}`);
  if (ms === null || ms <= 0)
    throw new CodedError(
      'ERR_CONFIG',
      `${source} ${JSON.stringify(text)}: expected a duration from 1ms to ${MAX_INTERVAL}, such as 15s or 500ms`,
    );
  return ms;
}

/** An OTEL_ interval or timeout variable: whole milliseconds, per the OpenTelemetry spec; undefined when unset. */
function wholeMs(env: Env, name: string): number | undefined {
  const text = env[name];
  if (!nonEmpty(text)) return undefined;
  const ms = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(ms > 0 && ms <= MAX_INTERVAL_MS))
    throw new CodedError(
      'ERR_CONFIG',
      `${name} ${JSON.stringify(text)}: expected whole milliseconds from 1 to ${MAX_INTERVAL_MS}`,
    );
  return ms;
}
