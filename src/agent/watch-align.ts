// When kubelet's probe of /readyz should launch the watch's next round at once. A round and a
// probe each wake the process after ~2 s asleep, and such a wake-up costs about as much as the
// work done in it (BENCHMARKS.md, bench/watch): a round launched on the probe's wake-up shares
// it. Only ever earlier than the round's own timer, never later, so rounds stay at most an
// interval apart. A small stateful rule, tested as a table (test/unit/watch-align.test.ts); it
// knows nothing of time sources or sockets.

/** How far from a round's phase a probe still counts as on it, as a fraction of the interval. */
export const ALIGN_FRACTION = 0.1;

export class ProbeAlignment {
  readonly #intervalMs: number;
  readonly #slackMs: number;
  #lastProbeMs = -Infinity;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
    this.#slackMs = intervalMs * ALIGN_FRACTION;
  }

  /**
   * A probe arrived at `nowMs`; the last round launched at `launchedMs`. True when the next
   * round should launch now: it is due within the slack, or the probes come every interval (or
   * a multiple of it) off the rounds' phase, so that one early round puts every later probe on
   * the rounds' phase. A probe just after a round already (nearly) shares its wake-up.
   */
  probed(nowMs: number, launchedMs: number): boolean {
    const gap = nowMs - this.#lastProbeMs;
    this.#lastProbeMs = nowMs;
    const age = nowMs - launchedMs;
    if (age >= this.#intervalMs - this.#slackMs) return true;
    if (age < this.#slackMs || gap < this.#intervalMs - this.#slackMs) return false;
    const off = gap % this.#intervalMs;
    return off <= this.#slackMs || off >= this.#intervalMs - this.#slackMs;
  }
}
