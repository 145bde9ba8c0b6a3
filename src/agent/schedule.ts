// Pure timing math for the prober, kept apart so it can be tested as a table.

/** How long the interval takes to reach its ceiling at the start of a long wait. */
export const INTERVAL_GROWTH_MS = 10_000;
/** The ceiling, as a multiple of the base interval. */
export const INTERVAL_MAX_FACTOR = 1.25;

/**
 * While the pacer's signal is silent, the paced checks are attempted this many times less
 * often (once a second at the default 20 ms): they would fail for the same reason, and the
 * pacer ends the pacing within one interval of the dataplane letting packets through. Their
 * estimates do not depend on this rate (the pacer's last silent probe bounds them); it only
 * bounds how late a check is noticed if the pacer's nameserver stays silent while its own
 * path works.
 */
export const PACE_FACTOR = 50;

/**
 * The same for a pacer that may stay silent whatever the dataplane does (an empty datagram to a
 * TCP port, see pacer.ts portPacer): the check it paces still goes every 5 intervals, so it is
 * noticed at most 5 intervals late if the target never answers UDP.
 */
export const PORT_PACE_FACTOR = 5;

/**
 * Interval between attempt launches `elapsedMs` into a wait: `baseMs` at first,
 * growing smoothly to 1.25 times that over the first 10 s, then flat. Detection
 * lag is bounded by the interval, so it stays near 20 ms, while a two-minute
 * wait sends ~40 attempts per second per check instead of ~50.
 */
export function attemptInterval(baseMs: number, elapsedMs: number): number {
  return baseMs * INTERVAL_MAX_FACTOR ** Math.min(1, Math.max(0, elapsedMs) / INTERVAL_GROWTH_MS);
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
