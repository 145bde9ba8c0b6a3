// From a validated report to a durable row: the group committer feeds batches
// to the store, and the metrics count each report once, after its commit, so
// an agent's retry of a stored report changes no histogram.
import type { Logger } from '../lib/log.ts';
import type { Outage, Report } from '../lib/report.ts';
import type { Clock } from './clock.ts';
import { GroupCommitter } from './committer.ts';
import type { CollectorMetrics } from './metrics.ts';
import type { ReportStore } from './store.ts';

/** Reports per transaction at most: bounds one commit's pause of the event loop (~1 ms per 100 reports here). */
export const MAX_BATCH = 500;
/**
 * Batches committing at once on PostgreSQL. One, as SQLite: a batch costs the
 * server ~1 ms of CPU whatever its size (planning, the cells' grouping, the
 * commit), so overlapping small batches multiply that cost, and their
 * backends take the cores the collector's one thread needs; one at a time,
 * the next batch grows with the backlog instead (up to MAX_BATCH). Measured
 * at 1,000,000 reports with the server on the same 2 cores (BENCHMARKS.md,
 * bench/collector-scale): 4 at once 1,500-2,600 reports/s, 1 at once
 * 2,800-4,400.
 */
export const PG_CONCURRENT_COMMITS = 1;
/** A failing store (a full disk, a database away) is logged at most once per this period, with a count of the rest. */
export const ERROR_LOG_INTERVAL_MS = 10_000;

/** The ingest side of the store: submit() resolves with the new row id (null: already stored) once durable. */
export type Ingest = GroupCommitter<Report, number | null>;

/**
 * Repeated errors of one kind, logged at most once per interval: the first at
 * once, then one line per interval with how many were left out. A small
 * stateful object: its rule is tested as a table (test/collector/ingest.test.ts).
 */
export class ErrorThrottle {
  readonly #intervalMs: number;
  #lastLoggedMs = -Infinity;
  #suppressed = 0;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Whether to log an error seen at `nowMs`; when yes, also how many were left out since the last line. */
  take(nowMs: number): { log: true; suppressed: number } | { log: false } {
    if (nowMs - this.#lastLoggedMs < this.#intervalMs) {
      this.#suppressed++;
      return { log: false };
    }
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#lastLoggedMs = nowMs;
    return { log: true, suppressed };
  }
}

/** Builds the ingest pipeline on `store`, recording into `metrics`; failed commits are logged once per batch, rate-limited. */
export function createIngest(store: ReportStore, metrics: CollectorMetrics, clock: Clock, log: Logger): Ingest {
  const errors = new ErrorThrottle(ERROR_LOG_INTERVAL_MS);
  return new GroupCommitter<Report, number | null>(
    async (reports) => {
      const started = performance.now();
      let ids: (number | null)[];
      try {
        ids = await store.insertBatch(reports, clock.now());
      } catch (err) {
        const decision = errors.take(clock.now());
        if (decision.log) {
          log.error(
            { err, reports: reports.length, failedCommitsNotLogged: decision.suppressed },
            `could not store a batch of reports (answered 503); ${store.kind === 'sqlite' ? 'check the disk under --db / --data-dir' : 'check that PostgreSQL is reachable and has space'}`,
          );
        }
        throw err;
      }
      metrics.committed(reports.length, (performance.now() - started) / 1000);
      reports.forEach((r, i) => (ids[i] === null ? metrics.duplicate() : metrics.stored(r)));
      return ids;
    },
    { maxBatch: MAX_BATCH, concurrency: store.kind === 'postgres' ? PG_CONCURRENT_COMMITS : 1 },
  );
}

/**
 * Stores one outage at a time, straight to the store: outages are rare (a
 * watch sends a few per minute at most), so they need no batching. Counted in
 * the metrics once stored; a retried delivery counts as a duplicate.
 */
export function createOutageIngest(
  store: ReportStore,
  metrics: CollectorMetrics,
  clock: Clock,
  log: Logger,
): (outage: Outage) => Promise<number | null> {
  const errors = new ErrorThrottle(ERROR_LOG_INTERVAL_MS);
  return async (outage) => {
    let id: number | null;
    try {
      id = await store.insertOutage(outage, clock.now());
    } catch (err) {
      const decision = errors.take(clock.now());
      if (decision.log)
        log.error(
          { err, failedOutagesNotLogged: decision.suppressed },
          'could not store an outage (answered 503); check the store as for reports',
        );
      throw err;
    }
    if (id === null) metrics.duplicate();
    else metrics.outage(outage);
    return id;
  };
}
