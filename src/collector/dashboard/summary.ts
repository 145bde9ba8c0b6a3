// The figures the dashboard shows (GET /v1/summary), computed from the store's
// window of recent reports (store.ts window()), so they survive a restart:
// per node, delay quantiles, timeouts and a histogram, slowest nodes first;
// the timeline of recent reports; the slowest pods with their checks. Pure:
// the store, the clock and the query are the caller's.
import * as z from 'zod';
import { parseDuration } from '../../lib/duration.ts';
import type { CheckResult, Report } from '../../lib/report.ts';
import type { StoredReport, WindowRow } from '../store.ts';

/** Bounds on one summary: its cost and its size do not grow with the store or with the number of nodes. */
export const SUMMARY_LIMITS = {
  /** Newest reports of the window the figures cover at most. */
  reports: 5000,
  /** Slowest nodes listed at most. */
  nodes: 50,
  /** Newest reports on the timeline at most. */
  timeline: 1000,
  /** Slowest pods listed at most. */
  slowest: 10,
} as const;

/** The window when the query names none: the last hour. */
export const DEFAULT_SINCE = '1h';

/**
 * Upper bounds in seconds of the histogram's bins (a bin counts delays above
 * the previous bound up to its own); one more bin counts the delays beyond
 * the last. Log-spaced like the delays, with an edge at 5 s, the Kubernetes
 * pod start-up SLO.
 */
export const HISTOGRAM_BOUNDS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

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
  /** Reports per bin of `buckets`, plus one for delays beyond the last bound. */
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
  /** Start of the window: reports received at or after it. */
  readonly since: string;
  readonly limits: typeof SUMMARY_LIMITS;
  /** True when the window held more than `limits.reports` reports: the figures cover the newest of them. */
  readonly truncated: boolean;
  readonly buckets: readonly number[];
  readonly totals: Quantiles & { readonly reports: number; readonly timeouts: number; readonly nodes: number };
  /** Slowest first (by p90, then p99, timeouts, reports, name), at most `limits.nodes`. */
  readonly nodes: readonly NodeSummary[];
  /** Newest first, at most `limits.timeline`. */
  readonly timeline: readonly TimelinePoint[];
  /** Slowest first, at most `limits.slowest`. */
  readonly slowest: readonly SlowPod[];
}

/** What the store's window() returns. */
export interface SummaryWindow {
  readonly rows: readonly WindowRow[];
  readonly more: boolean;
  readonly slowest: readonly StoredReport[];
}

/**
 * The q-quantile of ascending `sorted` by the nearest-rank method: the
 * smallest delay that at least q of the reports did not exceed. Always a delay
 * some pod really waited, and exact, so that figures can be checked by hand.
 */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
}

function quantiles(sorted: readonly number[]): Quantiles {
  return { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? null };
}

/** Index of the histogram bin that `delay` falls in. */
export function bin(delay: number): number {
  const i = HISTOGRAM_BOUNDS.findIndex((le) => delay <= le);
  return i === -1 ? HISTOGRAM_BOUNDS.length : i;
}

const ascending = (a: number, b: number) => a - b;
/** null sorts below every number: a node with no figure is not "slow". */
const desc = (a: number | null, b: number | null) => (b ?? -1) - (a ?? -1);

/** Computes the summary of `window`, a window starting at `sinceMs`, as of `nowMs`. */
export function summarize(window: SummaryWindow, sinceMs: number, nowMs: number): Summary {
  // A timeout counts with the time the agent gave up after: that pod waited at
  // least that long, and leaving it out would make a failing node look fast.
  const byNode = new Map<string, { delays: number[]; timeouts: number; histogram: number[] }>();
  const all: number[] = [];
  let timeouts = 0;
  for (const r of window.rows) {
    let n = byNode.get(r.node);
    if (!n) byNode.set(r.node, (n = { delays: [], timeouts: 0, histogram: new Array<number>(HISTOGRAM_BOUNDS.length + 1).fill(0) }));
    n.delays.push(r.delaySeconds);
    n.histogram[bin(r.delaySeconds)]!++;
    all.push(r.delaySeconds);
    if (r.outcome === 'timeout') {
      n.timeouts++;
      timeouts++;
    }
  }
  const nodes: NodeSummary[] = [...byNode].map(([node, n]) => ({
    node,
    reports: n.delays.length,
    timeouts: n.timeouts,
    ...quantiles(n.delays.sort(ascending)),
    histogram: n.histogram,
  }));
  nodes.sort((a, b) => desc(a.p90, b.p90) || desc(a.p99, b.p99) || b.timeouts - a.timeouts || b.reports - a.reports || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return {
    generatedAt: new Date(nowMs).toISOString(),
    since: new Date(sinceMs).toISOString(),
    limits: SUMMARY_LIMITS,
    truncated: window.more,
    buckets: HISTOGRAM_BOUNDS,
    totals: { reports: window.rows.length, timeouts, nodes: byNode.size, ...quantiles(all.sort(ascending)) },
    nodes: nodes.slice(0, SUMMARY_LIMITS.nodes),
    timeline: window.rows.slice(0, SUMMARY_LIMITS.timeline).map((r) => ({
      id: r.id,
      receivedAt: new Date(r.receivedMs).toISOString(),
      node: r.node,
      namespace: r.namespace,
      pod: r.name,
      outcome: r.outcome,
      delaySeconds: r.delaySeconds,
    })),
    slowest: window.slowest.slice(0, SUMMARY_LIMITS.slowest).map(({ id, receivedAt, report }) => slowPod(id, receivedAt, report)),
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
    checks: r.checks.map(({ spec, kind, ok, readyAfterSeconds, attempts, errors }) => ({ spec, kind, ok, readyAfterSeconds, attempts, errors })),
  };
}

/** Reads the store's window for `sinceMs` and summarizes it. */
export function readSummary(store: { window(sinceMs: number, limit: number, slowest: number): SummaryWindow }, sinceMs: number, nowMs: number): Summary {
  return summarize(store.window(sinceMs, SUMMARY_LIMITS.reports, SUMMARY_LIMITS.slowest), sinceMs, nowMs);
}

/**
 * GET /v1/summary's query -> the window's start in epoch ms, or a message
 * naming the bad parameter. `since`: an RFC 3339 time, or a duration back from
 * `nowMs` (default 1h). Unknown or repeated parameters are errors, as for
 * GET /v1/reports.
 */
export function parseSummaryQuery(params: URLSearchParams, nowMs: number): { ok: true; sinceMs: number } | { ok: false; error: string } {
  const keys = [...params.keys()];
  const unknown = keys.find((k) => k !== 'since');
  if (unknown !== undefined) return { ok: false, error: `${unknown}: unknown parameter; expected since` };
  if (keys.length > 1) return { ok: false, error: 'since: given more than once' };
  const since = params.get('since') ?? DEFAULT_SINCE;
  const ago = parseDuration(since);
  if (ago !== null) return { ok: true, sinceMs: nowMs - ago };
  if (z.iso.datetime({ offset: true }).safeParse(since).success) return { ok: true, sinceMs: Date.parse(since) };
  return { ok: false, error: 'since: expected an RFC 3339 time (2025-11-25T13:00:00Z) or a duration back from now (10m, 24h)' };
}
