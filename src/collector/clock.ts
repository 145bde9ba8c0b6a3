// The collector's clock: passed in (main uses Date.now), so tests can step it.

/** Wall-clock time as the collector reads it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };
