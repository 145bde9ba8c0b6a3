// OTLP/HTTP push of the collector's metrics to an OpenTelemetry Collector,
// with the OpenTelemetry JS SDK: a MeterProvider whose periodic reader sends
// cumulative totals every interval, so a push lost while the endpoint is down
// loses nothing (the next one carries the totals). The instruments mirror
// metrics.ts one to one: collectorMetrics() there builds both, so the names,
// help, labels, bucket edges and the cardinality cap are the same. main.ts imports this module only when
// a push is configured, so the SDK is never loaded otherwise; the collector's
// own bundle carries it, the agent's never does.
import { diag, DiagLogLevel, ValueType, type DiagLogger } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
  type Resource,
} from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { Logger } from '../lib/log.ts';
import { VERSION } from '../lib/version.ts';
import { collectorMetrics, METRICS, type CollectorMetrics } from './metrics.ts';
import type { OtlpConfig } from './otlp-config.ts';

/** The service.name resource attribute (OTEL_SERVICE_NAME overrides it). */
export const SERVICE_NAME = 'netready-collector';
/** Time the final push at shutdown may take: well inside Kubernetes' 30 s grace period, after the server's 5 s. */
const SHUTDOWN_TIMEOUT_MS = 5_000;
/** ExportResultCode.SUCCESS of @opentelemetry/core (not a direct dependency; the value is fixed by the SDK's API). */
const EXPORT_SUCCESS = 0;

export interface OtlpOptions extends OtlpConfig {
  readonly maxLabelValues: number;
  /** Rows in the store, read at each push. */
  readonly storeRows: () => number;
  readonly log: Logger;
}

/** The metrics, recorded for the push; shutdown() sends what is left and stops. */
export interface OtlpPush extends CollectorMetrics {
  /** Pushes the last totals and stops, within SHUTDOWN_TIMEOUT_MS even when the endpoint does not answer; never rejects. */
  shutdown(): Promise<void>;
}

/** Starts pushing to `options.endpoint` every `options.intervalMs`. */
export function startOtlp(options: OtlpOptions): OtlpPush {
  const { log, endpoint } = options;
  // The SDK reports problems through its global diag logger, silent unless set.
  diag.setLogger(diagToLog(log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const exporter = new OTLPMetricExporter({ url: endpoint, timeoutMillis: options.timeoutMs });
  const reader = new PeriodicExportingMetricReader({
    exporter: watchExports(exporter, endpoint, log),
    exportIntervalMillis: options.intervalMs,
    exportTimeoutMillis: options.timeoutMs,
    // The SDK's own cap (2000 series per instrument by default) must not fold
    // before ours does: our widest instrument is kind (4) x class (cap + other + unknown).
    cardinalityLimits: { default: 8 * (options.maxLabelValues + 2) },
  });
  const provider = new MeterProvider({ resource: collectorResource(), readers: [reader] });
  const meter = provider.getMeter(SERVICE_NAME, VERSION);

  const unit = (name: string) => (name.endsWith('_seconds') ? 's' : '');
  meter
    .createObservableGauge(METRICS.storeRows.name, { description: METRICS.storeRows.help })
    .addCallback((r) => r.observe(options.storeRows()));
  const metrics = collectorMetrics(
    {
      histogram(m) {
        const h = meter.createHistogram(m.name, {
          description: m.help,
          unit: unit(m.name),
          advice: { explicitBucketBoundaries: [...m.buckets] },
        });
        return (value, labels) => h.record(value, labels);
      },
      counter(m) {
        const c = meter.createCounter(m.name, { description: m.help, valueType: ValueType.INT });
        return (count, labels) => c.add(count, labels);
      },
    },
    options.maxLabelValues,
  );

  log.info({ endpoint, intervalMs: options.intervalMs }, 'OTLP push on');
  let stopped: Promise<void> | null = null;
  return {
    ...metrics,
    shutdown() {
      stopped ??= provider
        .shutdown({ timeoutMillis: SHUTDOWN_TIMEOUT_MS })
        .catch((err: unknown) =>
          log.warn({ err, endpoint }, 'OTLP push: the last totals may not have been sent before shutdown'),
        )
        .finally(() => diag.disable());
      return stopped;
    },
  };
}

/**
 * service.name and service.version, a random service.instance.id (replicas
 * push cumulative series that must not merge), then whatever
 * OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME say, which win.
 */
function collectorResource(): Resource {
  return defaultResource()
    .merge(resourceFromAttributes({ 'service.name': SERVICE_NAME, 'service.version': VERSION }))
    .merge(detectResources({ detectors: [serviceInstanceIdDetector, envDetector] }));
}

/** The exporter, with its outcomes logged: a warning when pushes start failing, once per outage, and a line when they work again. */
function watchExports(inner: PushMetricExporter, endpoint: string, log: Logger): PushMetricExporter {
  let failed = 0;
  return {
    export(metrics, done) {
      inner.export(metrics, (result) => {
        if (result.code === EXPORT_SUCCESS) {
          if (failed > 0) log.info({ endpoint, failedPushes: failed }, 'OTLP push works again');
          failed = 0;
        } else {
          if (failed === 0) {
            log.warn(
              { endpoint, err: result.error },
              'OTLP push failed; the collector keeps serving and the next push carries the totals; check --otlp-endpoint and that the OpenTelemetry Collector is up',
            );
          }
          failed++;
        }
        done(result);
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: (type) => inner.selectAggregationTemporality!(type),
    selectAggregation: (type) => inner.selectAggregation!(type),
  };
}

/**
 * The SDK's diagnostics into our log. Errors go to debug: the ones that matter
 * here are failed or timed-out pushes, which watchExports reports once per
 * outage instead of at every interval.
 */
function diagToLog(log: Logger): DiagLogger {
  const line =
    (write: Logger['warn']) =>
    (message: string, ...args: unknown[]) =>
      write({ detail: args.map(String) }, `OpenTelemetry SDK: ${message}`);
  const ignore = () => {};
  return { error: line(log.debug), warn: line(log.warn), info: ignore, debug: ignore, verbose: ignore };
}
