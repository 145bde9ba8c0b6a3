// Pure timing math for the prober, kept apart so it can be tested as a table.

/** How long the interval takes to double at the start of a long wait. */
export const INTERVAL_DOUBLING_MS = 10_000;

/**
 * Interval between attempt launches `elapsedMs` into a wait: `baseMs` at first,
 * growing smoothly to twice that over the first 10 s, then flat. Detection lag
 * is bounded by the interval, so it stays in the tens of milliseconds while a
 * two-minute wait sends ~25 attempts per second per check instead of ~50.
 */
export function attemptInterval(baseMs: number, elapsedMs: number): number {
  return baseMs * 2 ** Math.min(1, Math.max(0, elapsedMs) / INTERVAL_DOUBLING_MS);
}

/**
 * When the network became ready, given the launch time of the first attempt
 * that passed and of the attempt launched just before it (null if none).
 * The earlier attempt saw no working path, the later one did, so the change
 * happened between the two: the midpoint is off by at most half an interval.
 */
export function readyEstimate(passedLaunchMs: number, previousLaunchMs: number | null): number {
  return previousLaunchMs === null ? passedLaunchMs : (previousLaunchMs + passedLaunchMs) / 2;
}
