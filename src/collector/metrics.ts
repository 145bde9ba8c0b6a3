// Every metric of the collector, declared in this one module: names, help,
// labels and buckets are constants, and the metrics live on a registry the
// caller passes in. Seconds are the unit, counters end in _total, and no pod
// name or uid is ever a label; node, namespace and error class go through the
// cardinality cap.
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import type { Outage, Report } from '../lib/report.ts';
import { LabelCap } from './cardinality.ts';
import { CounterFamily, HistogramFamily } from './prometheus-families.ts';

/** 1 ms to 2 min, with an exact edge at 5 s: the Kubernetes pod start-up SLO. */
export const DELAY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120,
] as const;
/** Admission to ready also spans scheduling and image pulls: up to 10 min, same 5 s edge. */
export const ADMISSION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600] as const;
/** Outage durations: from a few probe intervals (the detection window) up to an hour. */
export const OUTAGE_BUCKETS = [1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600] as const;
/** Reports per commit: 1 up to the committer's largest batch. */
export const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500] as const;
/** Commit time, fsync included. */
export const COMMIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

/** Why a POST /v1/reports was not stored: the values of `reason`. */
export const REJECT_REASONS = [
  'unauthorized',
  'unsupported_media_type',
  'too_large',
  'invalid_json',
  'invalid_report',
  'store_error',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** prom-client default metrics left out: gauges named like counters, each a sum of a series kept. */
export const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

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
  networkLost: {
    name: 'netready_network_lost_total',
    help: "Outages of a running pod's network reported by netready watch, per node.",
    labelNames: ['node'],
  },
  outageDuration: {
    name: 'netready_network_outage_seconds',
    help: 'Duration of each outage reported by netready watch (first failing probe until the path worked again), per node.',
    labelNames: ['node'],
    buckets: OUTAGE_BUCKETS,
  },
  outagesDropped: {
    name: 'netready_network_outages_dropped_total',
    help: 'Outages that watches saw but did not send because of their per-minute cap, as the next sent outage counts them.',
  },
  reports: { name: 'netready_reports_total', help: 'Reports stored (each pod run counted once).' },
  duplicates: {
    name: 'netready_reports_duplicate_total',
    help: 'Reports received again after they were stored (agent retries); not counted in other metrics.',
  },
  rejected: {
    name: 'netready_reports_rejected_total',
    help: 'POST /v1/reports requests not stored, per reason.',
    labelNames: ['reason'],
  },
  folded: {
    name: 'netready_label_values_folded_total',
    help: 'Observations whose label value was counted as "other" because the label reached --max-label-values distinct values.',
    labelNames: ['label'],
  },
  commitDuration: {
    name: 'netready_store_commit_duration_seconds',
    help: 'Time to commit one batch of reports to the store, fsync included.',
    buckets: COMMIT_BUCKETS,
  },
  commitBatch: {
    name: 'netready_store_commit_batch_reports',
    help: 'Reports per store commit.',
    buckets: BATCH_BUCKETS,
  },
  storeRows: { name: 'netready_store_reports', help: 'Reports kept in the store.' },
  corruptRows: {
    name: 'netready_store_corrupt_rows_total',
    help: 'Stored reports that could not be read back (damaged rows), skipped in lists and on the dashboard.',
  },
  readsRefused: {
    name: 'netready_reads_refused_total',
    help: 'GET /v1/reports, /v1/outages and /v1/summary requests answered 503 because too many reads were running and waiting.',
  },
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
  /** A newly stored outage. */
  outage(outage: Outage): void;
  duplicate(): void;
  rejected(reason: RejectReason): void;
  committed(reports: number, seconds: number): void;
  /** A stored row that could not be read back, skipped. */
  corruptRow(): void;
  /** A read refused by the read gate (503). */
  readRefused(): void;
}

/** Label values of one observation. */
type Labels = Readonly<Record<string, string>>;

/**
 * A metrics backend: Prometheus (prom-client, below) or the OTLP push (the
 * OpenTelemetry SDK, otlp.ts). Each makes an instrument of a METRICS entry
 * and hands back how to record into it.
 */
export interface Instruments {
  histogram(m: {
    name: string;
    help: string;
    labelNames?: readonly string[];
    buckets: readonly number[];
  }): (value: number, labels?: Labels) => void;
  counter(m: { name: string; help: string; labelNames?: readonly string[] }): (count: number, labels?: Labels) => void;
}

/**
 * The collector's metrics on one backend: every instrument of METRICS, every
 * known series at zero from the start (rate() sees the first event), and a
 * cardinality cap of the backend's own. /metrics and the OTLP push are both
 * built here from the same reports in the same order, so they fold the same
 * values into "other" and cannot drift apart.
 */
export function collectorMetrics(instruments: Instruments, maxLabelValues: number): CollectorMetrics {
  const readyDelay = instruments.histogram(METRICS.readyDelay);
  const namespaceDelay = instruments.histogram(METRICS.namespaceDelay);
  const checkReady = instruments.histogram(METRICS.checkReady);
  const admissionToReady = instruments.histogram(METRICS.admissionToReady);
  const commitDuration = instruments.histogram(METRICS.commitDuration);
  const commitBatch = instruments.histogram(METRICS.commitBatch);
  const checkErrors = instruments.counter(METRICS.checkErrors);
  const reports = instruments.counter(METRICS.reports);
  const duplicates = instruments.counter(METRICS.duplicates);
  const rejected = instruments.counter(METRICS.rejected);
  const folded = instruments.counter(METRICS.folded);
  const corruptRows = instruments.counter(METRICS.corruptRows);
  const readsRefused = instruments.counter(METRICS.readsRefused);
  readsRefused(0);
  const networkLost = instruments.counter(METRICS.networkLost);
  const outageDuration = instruments.histogram(METRICS.outageDuration);
  const outagesDropped = instruments.counter(METRICS.outagesDropped);
  outagesDropped(0);
  reports(0);
  corruptRows(0);
  duplicates(0);
  for (const reason of REJECT_REASONS) rejected(0, { reason });
  for (const label of CAPPED_LABELS) folded(0, { label });
  const cap = new LabelCap(maxLabelValues, (label) => folded(1, { label }));

  return {
    stored(report) {
      reports(1);
      const node = cap.fold('node', report.pod.node);
      const namespace = cap.fold('namespace', report.pod.namespace);
      readyDelay(report.delaySeconds, { node, outcome: report.outcome });
      namespaceDelay(report.delaySeconds, { namespace, outcome: report.outcome });
      for (const check of report.checks) {
        if (check.ok && check.readyAfterSeconds !== null) checkReady(check.readyAfterSeconds, { kind: check.kind });
        for (const [errorClass, count] of Object.entries(check.errors)) {
          if (count > 0) checkErrors(count, { kind: check.kind, class: cap.fold('class', errorClass) });
        }
      }
      // A negative value is clock skew between the API server and the node; it measures nothing.
      if (
        report.outcome === 'ready' &&
        report.admissionToReadySeconds !== null &&
        report.admissionToReadySeconds >= 0
      ) {
        admissionToReady(report.admissionToReadySeconds, { node });
      }
    },
    outage(outage) {
      const node = cap.fold('node', outage.pod.node);
      networkLost(1, { node });
      outageDuration(outage.durationSeconds, { node });
      if (outage.dropped > 0) outagesDropped(outage.dropped);
    },
    duplicate: () => duplicates(1),
    rejected: (reason) => rejected(1, { reason }),
    committed(count, seconds) {
      commitBatch(count);
      commitDuration(seconds);
    },
    corruptRow: () => corruptRows(1),
    readRefused: () => readsRefused(1),
  };
}

/**
 * Registers the collector's metrics on `registry`: its histograms and
 * counters as compact families (prometheus-families.ts; write them out with
 * its `exposition`), the store's gauge and Node's process metrics from prom-client.
 */
export function createMetrics(registry: Registry, options: MetricsOptions): CollectorMetrics {
  const on = { registers: [registry] };
  const metrics = collectorMetrics(
    {
      histogram(m) {
        const h = new HistogramFamily(m, registry);
        return (value, labels) => h.observe(value, labels);
      },
      counter(m) {
        const c = new CounterFamily(m, registry);
        return (count, labels) => c.inc(count, labels);
      },
    },
    options.maxLabelValues,
  );
  new Gauge({
    ...on,
    ...METRICS.storeRows,
    collect() {
      this.set(options.storeRows());
    },
  });
  if (options.processMetrics) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges with a _total suffix, which promtool (rightly)
    // flags: _total is for counters. Each is the sum of the per-type gauge
    // beside it (nodejs_active_handles{type} ...), so nothing is lost.
    for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  return metrics;
}

/** One CollectorMetrics that records into each of `targets` (Prometheus, and the OTLP push when configured). */
export function teeMetrics(...targets: readonly CollectorMetrics[]): CollectorMetrics {
  return {
    stored: (report) => targets.forEach((t) => t.stored(report)),
    outage: (outage) => targets.forEach((t) => t.outage(outage)),
    duplicate: () => targets.forEach((t) => t.duplicate()),
    rejected: (reason) => targets.forEach((t) => t.rejected(reason)),
    committed: (reports, seconds) => targets.forEach((t) => t.committed(reports, seconds)),
    corruptRow: () => targets.forEach((t) => t.corruptRow()),
    readRefused: () => targets.forEach((t) => t.readRefused()),
  };
}
