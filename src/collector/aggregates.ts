// Aggregates kept as reports arrive, so that a summary over any window reads
// a bounded number of rows however many reports the window holds. Pure: the
// stores (sqlite-store.ts, postgres-store.ts) keep what this computes.
//
// A cell counts the reports of one minute, one node (or namespace) and one
// bucket of netready_ready_delay_seconds's edges: reports, timeouts and the
// largest delay. Minute cells are written in the transaction that stores the
// reports. Complete hours and days are rolled up into one "rollup" blob each
// (every node and namespace of that period): a 7-day window reads ~6 day
// blobs, ~46 hour blobs and the minute cells of at most two partial hours.
import { DELAY_BUCKETS } from './metrics.ts';
import type { Report } from '../lib/report.ts';
import type { KeyFigures } from './totals.ts';

/** Buckets per key: one per edge of DELAY_BUCKETS, plus one for delays beyond the last. */
export const BUCKETS = DELAY_BUCKETS.length + 1;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Rolled-up levels: 1 = hour, 2 = day (0 = the minute cells). */
export const LEVEL_MS = [MINUTE_MS, HOUR_MS, DAY_MS] as const;
/** A period is rolled up this long after it ended: receive times of several replicas can lag by seconds. */
export const ROLLUP_SETTLE_MS = 2 * MINUTE_MS;

/** What a cell is about: a node or a namespace. */
export const SCOPE = { node: 0, namespace: 1 } as const;
export type Scope = (typeof SCOPE)[keyof typeof SCOPE];

/** One aggregate cell as the stores keep it. */
export interface Cell {
  readonly minuteMs: number;
  readonly scope: Scope;
  readonly key: string;
  readonly bucket: number;
  readonly reports: number;
  readonly timeouts: number;
  readonly maxDelay: number;
}

/** Index of the bucket that `delay` falls in: the first edge at or above it; BUCKETS - 1 beyond the last. */
export function bucketOf(delay: number): number {
  const i = DELAY_BUCKETS.findIndex((le) => delay <= le);
  return i === -1 ? DELAY_BUCKETS.length : i;
}

/** bucketOf() in SQL, over the column `delay_seconds` (SQLite and PostgreSQL alike). */
export const DELAY_EDGES_SQL = `(CASE ${DELAY_BUCKETS.map((le, i) => `WHEN delay_seconds <= ${le} THEN ${i}`).join(' ')} ELSE ${DELAY_BUCKETS.length} END)`;

/** Start of the period of `level` that holds `ms`. */
export function periodStart(ms: number, level: number): number {
  const size = LEVEL_MS[level]!;
  return Math.floor(ms / size) * size;
}

/**
 * The minute cells of `reports` received at `receivedMs`, one per (scope, key,
 * bucket), sorted by scope, key and bucket (the SQLite store upserts them in
 * the order of their primary key). The PostgreSQL store computes the same
 * cells in SQL (postgres-store.ts).
 */
export function cellsOf(reports: readonly Report[], receivedMs: number): Cell[] {
  const minuteMs = periodStart(receivedMs, 0);
  const cells = new Map<
    string,
    { scope: Scope; key: string; bucket: number; reports: number; timeouts: number; maxDelay: number }
  >();
  const add = (scope: Scope, key: string, r: Report) => {
    const bucket = bucketOf(r.delaySeconds);
    const id = `${scope}\u0000${key}\u0000${bucket}`;
    let c = cells.get(id);
    if (!c) cells.set(id, (c = { scope, key, bucket, reports: 0, timeouts: 0, maxDelay: -Infinity }));
    c.reports++;
    if (r.outcome === 'timeout') c.timeouts++;
    c.maxDelay = Math.max(c.maxDelay, r.delaySeconds);
  };
  for (const r of reports) {
    add(SCOPE.node, r.pod.node, r);
    add(SCOPE.namespace, r.pod.namespace, r);
  }
  return [...cells.values()]
    .map((c) => ({ minuteMs, ...c }))
    .sort((a, b) => a.scope - b.scope || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || a.bucket - b.bucket);
}

/** One block of a window: a rolled-up period, or a range of minutes read from the cells. */
export type Block =
  | { readonly level: 1 | 2; readonly periodMs: number }
  | { readonly level: 0; readonly fromMs: number; readonly untilMs: number };

/**
 * Splits [fromMs, untilMs) (minute-aligned) into the largest rolled-up periods
 * that fit in it and ranges of minutes for the rest. `rolled(level, periodMs)`
 * says whether that rollup exists.
 */
export function planWindow(
  fromMs: number,
  untilMs: number,
  rolled: (level: 1 | 2, periodMs: number) => boolean,
): Block[] {
  const blocks: Block[] = [];
  let minutesFrom: number | null = null;
  let at = fromMs;
  const flushMinutes = () => {
    if (minutesFrom !== null && minutesFrom < at) blocks.push({ level: 0, fromMs: minutesFrom, untilMs: at });
    minutesFrom = null;
  };
  while (at < untilMs) {
    let step = 0;
    for (const level of [2, 1] as const) {
      const size = LEVEL_MS[level];
      if (at % size === 0 && at + size <= untilMs && rolled(level, at)) {
        flushMinutes();
        blocks.push({ level, periodMs: at });
        step = size;
        break;
      }
    }
    if (step === 0) {
      minutesFrom ??= at;
      // Jump to the next hour boundary (or the end): minutes in between are one range.
      step = Math.min(untilMs, periodStart(at, 1) + HOUR_MS) - at;
    }
    at += step;
  }
  flushMinutes();
  return blocks;
}

/** Figures of one key, or of everything: counts and quantiles. */
export interface Figures {
  readonly reports: number;
  readonly timeouts: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  /** Reports per bucket (edges DELAY_BUCKETS, plus one beyond the last). */
  readonly histogram: readonly number[];
}

/**
 * The q-quantile as the stated precision allows: find the bucket that holds
 * the exact nearest-rank quantile (the smallest delay that at least q of the
 * reports did not exceed) and answer the largest delay seen in that bucket.
 * Never below the exact value; above it by less than the bucket's width.
 * `offset`: where the key's buckets start in `reports` and `max`.
 */
export function bucketQuantile(
  reports: ArrayLike<number>,
  max: ArrayLike<number>,
  total: number,
  q: number,
  offset = 0,
): number | null {
  if (total === 0) return null;
  const rank = Math.min(total, Math.max(1, Math.ceil(q * total)));
  let seen = 0;
  for (let b = offset; b < offset + BUCKETS; b++) {
    seen += reports[b]!;
    if (seen >= rank) return max[b]!;
  }
  return null;
}

/** Counts and quantiles of per-bucket figures (totals.ts). */
export function figuresOf(f: KeyFigures): Figures {
  let reports = 0;
  let timeouts = 0;
  let max = -Infinity;
  for (let b = 0; b < BUCKETS; b++) {
    reports += f.reports[b]!;
    timeouts += f.timeouts[b]!;
    if (f.reports[b]! > 0 && f.max[b]! > max) max = f.max[b]!;
  }
  return {
    reports,
    timeouts,
    p50: bucketQuantile(f.reports, f.max, reports, 0.5),
    p90: bucketQuantile(f.reports, f.max, reports, 0.9),
    p99: bucketQuantile(f.reports, f.max, reports, 0.99),
    max: reports === 0 ? null : max,
    histogram: Array.from(f.reports),
  };
}
