// Every metric of the collector, declared in this one module: names, help,
// labels and buckets are constants, and the metrics live on a registry the
// caller passes in. Seconds are the unit, counters end in _total, and no pod
// name or uid is ever a label; node, namespace and error class go through the
// cardinality cap.
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Report } from '../lib/report.ts';
import { LabelCap } from './cardinality.ts';

/** 1 ms to 2 min, with an exact edge at 5 s: the Kubernetes pod start-up SLO. */
export const DELAY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120] as const;
/** Admission to ready also spans scheduling and image pulls: up to 10 min, same 5 s edge. */
export const ADMISSION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600] as const;
/** Reports per commit: 1 up to the committer's largest batch. */
export const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500] as const;
/** Commit time, fsync included. */
export const COMMIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

/** Why a POST /v1/reports was not stored: the values of `reason`. */
export const REJECT_REASONS = ['unauthorized', 'unsupported_media_type', 'too_large', 'invalid_json', 'invalid_report', 'store_error'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** prom-client default metrics left out: gauges named like counters, each a sum of a series kept. */
export const DROPPED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/** Labels whose values come from reports, and so are capped. */
export const CAPPED_LABELS = ['node', 'namespace', 'class'] as const;

export const METRICS = {
  readyDelay: {
    name: 'netready_ready_delay_seconds',
    help: 'Time from agent start until every check passed (outcome="ready") or until the agent gave up (outcome="timeout"), per node.',
    labelNames: ['node', 'outcome'],
    buckets: DELAY_BUCKETS,
  },
  namespaceDelay: {
    name: 'netready_namespace_ready_delay_seconds',
    help: 'The same delay as netready_ready_delay_seconds, per pod namespace.',
    labelNames: ['namespace', 'outcome'],
    buckets: DELAY_BUCKETS,
  },
  checkReady: {
    name: 'netready_check_ready_seconds',
    help: 'Time from agent start until a check passed, per check kind (gateway, dns, tcp, http); checks that never passed are not observed.',
    labelNames: ['kind'],
    buckets: DELAY_BUCKETS,
  },
  checkErrors: {
    name: 'netready_check_errors_total',
    help: 'Failed probe attempts reported by agents, per check kind and error class (timeout, refused, unreachable, dns_servfail, ...).',
    labelNames: ['kind', 'class'],
  },
  admissionToReady: {
    name: 'netready_admission_to_ready_seconds',
    help: 'Time from pod admission (webhook annotation) until the network was ready, per node; only pods that carry the annotation.',
    labelNames: ['node'],
    buckets: ADMISSION_BUCKETS,
  },
  reports: { name: 'netready_reports_total', help: 'Reports stored (each pod run counted once).' },
  duplicates: { name: 'netready_reports_duplicate_total', help: 'Reports received again after they were stored (agent retries); not counted in other metrics.' },
  rejected: { name: 'netready_reports_rejected_total', help: 'POST /v1/reports requests not stored, per reason.', labelNames: ['reason'] },
  folded: {
    name: 'netready_label_values_folded_total',
    help: 'Observations whose label value was counted as "other" because the label reached --max-label-values distinct values.',
    labelNames: ['label'],
  },
  commitDuration: { name: 'netready_store_commit_duration_seconds', help: 'Time to commit one batch of reports to the store, fsync included.', buckets: COMMIT_BUCKETS },
  commitBatch: { name: 'netready_store_commit_batch_reports', help: 'Reports per store commit.', buckets: BATCH_BUCKETS },
  storeRows: { name: 'netready_store_reports', help: 'Reports kept in the store.' },
} as const;

export interface MetricsOptions {
  readonly maxLabelValues: number;
  /** Rows in the store, read at scrape time. */
  readonly storeRows: () => number;
  /** Also register Node's default process metrics (off in tests that count series). */
  readonly processMetrics: boolean;
}

/** What the collector records; every call is cheap and synchronous. */
export interface CollectorMetrics {
  /** A newly stored report. */
  stored(report: Report): void;
  duplicate(): void;
  rejected(reason: RejectReason): void;
  committed(reports: number, seconds: number): void;
}

/** The histograms a stored report feeds. */
export type ReportHistogram = 'readyDelay' | 'namespaceDelay' | 'checkReady' | 'admissionToReady';

/** Where recordReport puts what a report adds: the Prometheus registry or the OTLP meter. */
export interface ReportSink {
  observe(metric: ReportHistogram, labels: Record<string, string>, value: number): void;
  addErrors(labels: { kind: string; class: string }, count: number): void;
}

/**
 * What one stored report adds to the metrics, label values folded by `cap`.
 * /metrics and the OTLP push both go through here, so they cannot drift apart.
 */
export function recordReport(report: Report, cap: LabelCap, sink: ReportSink): void {
  const node = cap.fold('node', report.pod.node);
  const namespace = cap.fold('namespace', report.pod.namespace);
  sink.observe('readyDelay', { node, outcome: report.outcome }, report.delaySeconds);
  sink.observe('namespaceDelay', { namespace, outcome: report.outcome }, report.delaySeconds);
  for (const check of report.checks) {
    if (check.ok && check.readyAfterSeconds !== null) sink.observe('checkReady', { kind: check.kind }, check.readyAfterSeconds);
    for (const [errorClass, count] of Object.entries(check.errors)) {
      if (count > 0) sink.addErrors({ kind: check.kind, class: cap.fold('class', errorClass) }, count);
    }
  }
  // A negative value is clock skew between the API server and the node; it measures nothing.
  if (report.outcome === 'ready' && report.admissionToReadySeconds !== null && report.admissionToReadySeconds >= 0) {
    sink.observe('admissionToReady', { node }, report.admissionToReadySeconds);
  }
}

/** Registers the collector's metrics on `registry`. */
export function createMetrics(registry: Registry, options: MetricsOptions): CollectorMetrics {
  const on = { registers: [registry] };
  const histogram = (m: { name: string; help: string; labelNames?: readonly string[]; buckets: readonly number[] }) =>
    new Histogram({ ...on, name: m.name, help: m.help, labelNames: m.labelNames ?? [], buckets: [...m.buckets] });

  const readyDelay = histogram(METRICS.readyDelay);
  const namespaceDelay = histogram(METRICS.namespaceDelay);
  const checkReady = histogram(METRICS.checkReady);
  const admissionToReady = histogram(METRICS.admissionToReady);
  const commitDuration = histogram(METRICS.commitDuration);
  const commitBatch = histogram(METRICS.commitBatch);
  const checkErrors = new Counter({ ...on, ...METRICS.checkErrors, labelNames: [...METRICS.checkErrors.labelNames] });
  const reports = new Counter({ ...on, ...METRICS.reports });
  const duplicates = new Counter({ ...on, ...METRICS.duplicates });
  const rejected = new Counter({ ...on, ...METRICS.rejected, labelNames: [...METRICS.rejected.labelNames] });
  const folded = new Counter({ ...on, ...METRICS.folded, labelNames: [...METRICS.folded.labelNames] });
  new Gauge({
    ...on,
    ...METRICS.storeRows,
    collect() {
      this.set(options.storeRows());
    },
  });
  // Every known series exists from the start, at zero: rate() sees the first event.
  for (const reason of REJECT_REASONS) rejected.inc({ reason }, 0);
  for (const label of CAPPED_LABELS) folded.inc({ label }, 0);
  if (options.processMetrics) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges with a _total suffix, which promtool (rightly)
    // flags: _total is for counters. Each is the sum of the per-type gauge
    // beside it (nodejs_active_handles{type} ...), so nothing is lost.
    for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }

  const cap = new LabelCap(options.maxLabelValues, (label) => folded.inc({ label }));

  const histograms = { readyDelay, namespaceDelay, checkReady, admissionToReady };
  const sink: ReportSink = {
    observe: (metric, labels, value) => histograms[metric].observe(labels, value),
    addErrors: (labels, count) => checkErrors.inc(labels, count),
  };
  return {
    stored(report) {
      reports.inc();
      recordReport(report, cap, sink);
    },
    duplicate: () => duplicates.inc(),
    rejected: (reason) => rejected.inc({ reason }),
    committed(count, seconds) {
      commitBatch.observe(count);
      commitDuration.observe(seconds);
    },
  };
}

/** One CollectorMetrics that records into each of `targets` (Prometheus, and the OTLP push when configured). */
export function teeMetrics(...targets: readonly CollectorMetrics[]): CollectorMetrics {
  return {
    stored: (report) => targets.forEach((t) => t.stored(report)),
    duplicate: () => targets.forEach((t) => t.duplicate()),
    rejected: (reason) => targets.forEach((t) => t.rejected(reason)),
    committed: (reports, seconds) => targets.forEach((t) => t.committed(reports, seconds)),
  };
}
