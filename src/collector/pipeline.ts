// From a validated report to a durable row: the group committer feeds batches
// to the store, and the metrics count each report once, after its commit, so
// an agent's retry of a stored report changes no histogram.
import type { Logger } from '../lib/log.ts';
import type { Report } from '../lib/report.ts';
import { GroupCommitter } from './committer.ts';
import type { CollectorMetrics } from './metrics.ts';
import type { ReportStore } from './store.ts';

/** Reports per transaction at most: bounds one commit's pause of the event loop (~1 ms per 100 reports here). */
export const MAX_BATCH = 500;

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The ingest side of the store: submit() resolves with the new row id (null: already stored) once durable. */
export type Ingest = GroupCommitter<Report, number | null>;

/** Builds the ingest pipeline on `store`, recording into `metrics`; a failed commit is logged once, not once per report. */
export function createIngest(store: ReportStore, metrics: CollectorMetrics, clock: Clock, log: Logger): Ingest {
  return new GroupCommitter<Report, number | null>(
    (reports) => {
      const started = performance.now();
      let ids: (number | null)[];
      try {
        ids = store.insertBatch(reports, clock.now());
      } catch (err) {
        log.error({ err, reports: reports.length }, 'could not store a batch of reports (answered 503); check the disk under --db / --data-dir');
        throw err;
      }
      metrics.committed(reports.length, (performance.now() - started) / 1000);
      reports.forEach((r, i) => (ids[i] === null ? metrics.duplicate() : metrics.stored(r)));
      return ids;
    },
    { maxBatch: MAX_BATCH },
  );
}
