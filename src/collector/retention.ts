// Retention and rollups, enforced continuously: a pass every few seconds calls
// the store's maintain() step by step (each a few milliseconds), letting
// requests in between, until nothing is left to do. What a step does is the
// store's (store.ts): delete reports and aggregates before the retention
// floor, roll complete hours and days up.
import type { Logger } from '../lib/log.ts';
import type { Clock } from './clock.ts';
import type { ReportStore } from './store.ts';

/** How often to run a pass: 1/100 of the age, between 1 s and 1 min (10 s without an age limit). */
export function sweepIntervalMs(ageMs: number): number {
  if (ageMs === 0) return 10_000;
  return Math.min(60_000, Math.max(1000, Math.round(ageMs / 100)));
}

/** Runs maintain() steps until one has nothing to do (or `signal` aborts); resolves with the work done. */
export async function sweepOnce(store: ReportStore, clock: Clock, signal?: AbortSignal): Promise<number> {
  let total = 0;
  while (!signal?.aborted) {
    const done = await store.maintain(clock.now());
    total += done;
    if (done === 0) return total;
    // Let requests in between steps.
    await new Promise((r) => setImmediate(r));
  }
  return total;
}

/** Sweeps now and then periodically. stop() waits for a sweep in progress. */
export function startRetention(
  store: ReportStore,
  ageMs: number,
  clock: Clock,
  log: Logger,
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const stopped = new AbortController();
  let busy = false;
  let failing = false;
  const sweep = () => {
    if (busy) return;
    busy = true;
    running = sweepOnce(store, clock, stopped.signal)
      .then(
        (n) => {
          failing = false;
          if (n > 0) log.debug({ rows: n }, 'retention: deleted old reports, rolled up aggregates');
        },
        (err: unknown) => {
          // Once per outage, not once per pass.
          if (!failing) log.error({ err }, "retention pass failed; check the store's disk or database");
          failing = true;
        },
      )
      .finally(() => (busy = false));
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
