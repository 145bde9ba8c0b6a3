// The figures the dashboard shows (GET /v1/summary): per node and per
// namespace, counts, timeouts and delay quantiles over the whole window, from
// the store's aggregates (aggregates.ts), slowest first; the timeline of
// recent reports; the slowest of those pods with their checks. Pure: the
// store's window, the clock and the query are the caller's.
import type { CheckResult, Report } from '../../lib/report.ts';
import { figuresOf, SCOPE, type Figures } from '../aggregates.ts';
import type { Totals } from '../totals.ts';
import { DELAY_BUCKETS } from '../metrics.ts';
import { parseSince } from '../query.ts';
import type { ReportStore, StoreWindow, WindowRow } from '../store.ts';
import { yieldToIngest } from '../read-gate.ts';

/** Bounds on one summary's size: it does not grow with the store or with the number of nodes. */
export const SUMMARY_LIMITS = {
  /** Slowest nodes listed at most. */
  nodes: 50,
  /** Slowest namespaces listed at most. */
  namespaces: 50,
  /** Newest reports on the timeline at most. */
  timeline: 1000,
  /** Newest reports of the window that the slowest pods are picked from. */
  recent: 5000,
  /** Slowest pods listed at most. */
  slowest: 10,
} as const;

/** The window when the query names none: the last hour. */
export const DEFAULT_SINCE = '1h';

/** How the quantiles are taken (README, "GET /v1/summary"). */
export const PRECISION =
  'p50/p90/p99: the largest delay in the bucket (edges of netready_ready_delay_seconds) that holds the exact ' +
  "nearest-rank quantile: never below it, above it by less than that bucket's width. " +
  'The window: whole minutes, from since rounded down to the minute.';

/** Delay quantiles in seconds; null when there is nothing to take them of. */
export interface Quantiles {
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface NodeSummary extends Quantiles {
  readonly node: string;
  readonly reports: number;
  readonly timeouts: number;
  /** Reports per bucket of `buckets`, plus one for delays beyond the last edge. */
  readonly histogram: readonly number[];
}

export interface NamespaceSummary extends Quantiles {
  readonly namespace: string;
  readonly reports: number;
  readonly timeouts: number;
  readonly histogram: readonly number[];
}

export interface TimelinePoint {
  readonly id: number;
  readonly receivedAt: string;
  readonly node: string;
  readonly namespace: string;
  readonly pod: string;
  readonly outcome: 'ready' | 'timeout';
  readonly delaySeconds: number;
}

export interface SlowPod {
  readonly id: number;
  readonly receivedAt: string;
  readonly pod: { readonly name: string; readonly namespace: string; readonly node: string };
  readonly outcome: 'ready' | 'timeout';
  readonly delaySeconds: number;
  readonly checks: readonly Pick<CheckResult, 'spec' | 'kind' | 'ok' | 'readyAfterSeconds' | 'attempts' | 'errors'>[];
}

/** The body of GET /v1/summary. */
export interface Summary {
  readonly generatedAt: string;
  /** Start of the window: reports received at or after it (`since` rounded down to the minute). */
  readonly since: string;
  readonly limits: typeof SUMMARY_LIMITS;
  readonly precision: string;
  /** Upper edges of the histogram buckets, in seconds; one more bucket counts delays beyond the last. */
  readonly buckets: readonly number[];
  readonly totals: Quantiles & {
    readonly reports: number;
    readonly timeouts: number;
    readonly nodes: number;
    readonly namespaces: number;
  };
  /** Slowest first (by p90, then p99, timeouts, reports, name), at most `limits.nodes`. */
  readonly nodes: readonly NodeSummary[];
  /** Slowest first, ordered as nodes, at most `limits.namespaces`. */
  readonly namespaces: readonly NamespaceSummary[];
  /** Newest first, at most `limits.timeline`. */
  readonly timeline: readonly TimelinePoint[];
  /** The slowest of the newest `limits.recent` reports of the window, slowest first, at most `limits.slowest`. */
  readonly slowest: readonly SlowPod[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Slowest first: p90, then p99, timeouts, reports, name. Every key is ranked
 * on those four figures only; the full figures (p50, max, histogram) are
 * computed for the `limit` listed: with 5,000 nodes in a window, the rest
 * was most of a summary's allocation.
 */
function ranked(totals: Totals, scope: 0 | 1, limit: number): (Figures & { key: string })[] {
  const ids = totals.ids(scope);
  const reports = new Float64Array(ids.length);
  const timeouts = new Float64Array(ids.length);
  const p90 = new Float64Array(ids.length);
  const p99 = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const c = totals.counts(ids[i]!);
    reports[i] = c.reports;
    timeouts[i] = c.timeouts;
    // Every key in a window has a report, so its quantiles are numbers.
    p90[i] = totals.quantile(ids[i]!, c.reports, 0.9) ?? -1;
    p99[i] = totals.quantile(ids[i]!, c.reports, 0.99) ?? -1;
  }
  const order = Array.from(ids.keys()).sort(
    (a, b) =>
      p90[b]! - p90[a]! ||
      p99[b]! - p99[a]! ||
      timeouts[b]! - timeouts[a]! ||
      reports[b]! - reports[a]! ||
      byName(totals.keys.nameOf(ids[a]!), totals.keys.nameOf(ids[b]!)),
  );
  return order
    .slice(0, limit)
    .map((i) => ({ key: totals.keys.nameOf(ids[i]!), ...figuresOf(totals.figures(ids[i]!)) }));
}

const quantilesOf = (f: Figures): Quantiles => ({ p50: f.p50, p90: f.p90, p99: f.p99, max: f.max });

/** Computes the summary of the store's `window` as of `nowMs`. */
export function summarize(window: StoreWindow, nowMs: number): Summary {
  // A timeout counts with the time the agent gave up after: that pod waited at
  // least that long, and leaving it out would make a failing node look fast.
  const all = figuresOf(window.totals.sum(SCOPE.node));
  return {
    generatedAt: new Date(nowMs).toISOString(),
    since: new Date(window.fromMs).toISOString(),
    limits: SUMMARY_LIMITS,
    precision: PRECISION,
    buckets: DELAY_BUCKETS,
    totals: {
      reports: all.reports,
      timeouts: all.timeouts,
      nodes: window.totals.ids(SCOPE.node).length,
      namespaces: window.totals.ids(SCOPE.namespace).length,
      ...quantilesOf(all),
    },
    nodes: ranked(window.totals, SCOPE.node, SUMMARY_LIMITS.nodes).map((f) => ({
      node: f.key,
      reports: f.reports,
      timeouts: f.timeouts,
      ...quantilesOf(f),
      histogram: f.histogram,
    })),
    namespaces: ranked(window.totals, SCOPE.namespace, SUMMARY_LIMITS.namespaces).map((f) => ({
      namespace: f.key,
      reports: f.reports,
      timeouts: f.timeouts,
      ...quantilesOf(f),
      histogram: f.histogram,
    })),
    timeline: window.rows.slice(0, SUMMARY_LIMITS.timeline).map((r: WindowRow) => ({
      id: r.id,
      receivedAt: new Date(r.receivedMs).toISOString(),
      node: r.node,
      namespace: r.namespace,
      pod: r.name,
      outcome: r.outcome,
      delaySeconds: r.delaySeconds,
    })),
    slowest: window.slowest
      .slice(0, SUMMARY_LIMITS.slowest)
      .map(({ id, receivedAt, report }) => slowPod(id, receivedAt, report)),
  };
}

/** Only the fields the page shows: the stored body may carry more (IPs, uid) than a dashboard needs to expose. */
function slowPod(id: number, receivedAt: string, r: Report): SlowPod {
  return {
    id,
    receivedAt,
    pod: { name: r.pod.name, namespace: r.pod.namespace, node: r.pod.node },
    outcome: r.outcome,
    delaySeconds: r.delaySeconds,
    checks: r.checks.map(({ spec, kind, ok, readyAfterSeconds, attempts, errors }) => ({
      spec,
      kind,
      ok,
      readyAfterSeconds,
      attempts,
      errors,
    })),
  };
}

/** Reads the store's window for `sinceMs` and summarizes it, letting ingest run in between (yieldToIngest). */
export async function readSummary(
  store: Pick<ReportStore, 'window'>,
  sinceMs: number,
  nowMs: number,
): Promise<Summary> {
  const window = await store.window(sinceMs, nowMs, {
    recent: SUMMARY_LIMITS.timeline,
    slowestOf: SUMMARY_LIMITS.recent,
    slowest: SUMMARY_LIMITS.slowest,
  });
  // Reading the window and summarizing it are each ~5-15 ms of the thread that also takes the
  // reports (SQLite's reads block it): the reports that arrived meanwhile are taken in between.
  await yieldToIngest();
  return summarize(window, nowMs);
}

/**
 * GET /v1/summary's query -> the window's start in epoch ms, or a message
 * naming the bad parameter. `since`: an RFC 3339 time, or a duration back from
 * `nowMs` (default 1h). Unknown or repeated parameters are errors, as for
 * GET /v1/reports.
 */
export function parseSummaryQuery(
  params: URLSearchParams,
  nowMs: number,
): { ok: true; sinceMs: number } | { ok: false; error: string } {
  const keys = [...params.keys()];
  const unknown = keys.find((k) => k !== 'since');
  if (unknown !== undefined) return { ok: false, error: `${unknown}: unknown parameter; expected since` };
  if (keys.length > 1) return { ok: false, error: 'since: given more than once' };
  const since = parseSince(params.get('since') ?? DEFAULT_SINCE, nowMs);
  return since.ok ? { ok: true, sinceMs: since.ms } : { ok: false, error: `since: ${since.error}` };
}
