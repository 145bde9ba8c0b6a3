// Retention, enforced continuously. Every commit keeps the row limit (store.ts);
// a sweep every few seconds deletes reports received before now - age, and
// rows beyond the limit if it was lowered, in chunks so that no single delete
// pauses ingest for long.
import type { Logger } from '../lib/log.ts';
import type { Clock } from './pipeline.ts';
import type { ReportStore } from './store.ts';

/** Rows deleted per statement: a few milliseconds of work. */
export const SWEEP_CHUNK = 2000;

/** How often to sweep: 1/100 of the age, between 1 s and 1 min (10 s without an age limit). */
export function sweepIntervalMs(ageMs: number): number {
  if (ageMs === 0) return 10_000;
  return Math.min(60_000, Math.max(1000, Math.round(ageMs / 100)));
}

/** Deletes reports older than `ageMs` (0: none) and rows beyond the limit, a chunk per event-loop turn; resolves with the count. */
export async function sweepOnce(store: ReportStore, ageMs: number, clock: Clock, signal?: AbortSignal): Promise<number> {
  const cutoff = clock.now() - ageMs;
  let total = 0;
  while (!signal?.aborted) {
    const deleted = (ageMs > 0 ? store.deleteReceivedBefore(cutoff, SWEEP_CHUNK) : 0) + store.trimExcess(SWEEP_CHUNK);
    total += deleted;
    if (deleted === 0) return total;
    // Let requests in between chunks.
    await new Promise((r) => setImmediate(r));
  }
  return total;
}

/** Sweeps now and then periodically. stop() waits for a sweep in progress. */
export function startRetention(store: ReportStore, ageMs: number, clock: Clock, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const stopped = new AbortController();
  let busy = false;
  const sweep = () => {
    if (busy) return;
    busy = true;
    running = sweepOnce(store, ageMs, clock, stopped.signal).then(
      (n) => void (n > 0 && log.debug({ deleted: n }, 'retention: deleted old reports')),
      (err: unknown) => log.error({ err }, "retention sweep failed; check the store's disk"),
    ).finally(() => (busy = false));
  };
  sweep();
  const timer = setInterval(sweep, sweepIntervalMs(ageMs));
  return {
    async stop() {
      stopped.abort();
      clearInterval(timer);
      await running;
    },
  };
}
