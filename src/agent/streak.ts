// The passing-streak rules of one check, as a small object with no timers and no I/O: the
// prober tells it when attempts launch and how they end, and asks when the check became
// ready and whether it has settled. Times are the prober clock's milliseconds.
import { readyEstimate } from './schedule.ts';

/** Linux's initial TCP SYN retransmission timeout (TCP_TIMEOUT_INIT). */
export const SYN_RETRANSMIT_MS = 1000;

/** One launched attempt, as the streak knows it. */
export interface Attempt {
  readonly launch: number;
  /** Launch time of this check's attempt just before it; null for the first. */
  readonly previous: number | null;
}

/** What a passing attempt meant. */
export type PassResult =
  /** It began the streak (the check had no passing streak before). */
  | 'first'
  /** The streak was already running; it only extends it. */
  | 'later'
  /** A failure launched after it already ended any streak it could start: ignored. */
  | 'stale';

interface Pass {
  readonly launch: number;
  readonly estimate: number;
  readonly detectedAt: number;
}

/** Streak state of one check; `settleMs` 0 means one pass is enough. */
export class Streak {
  readonly #settleMs: number;
  #lastLaunch: number | null = null;
  /** Launch times of attempts still in flight. */
  readonly #inFlight: number[] = [];
  #lastFailedLaunch = -Infinity;
  /** The check is known to have failed until then, and to work by then, says the pacer (see pacerWindow). */
  #floor = -Infinity;
  #workingBy = Infinity;
  // Passing attempts launched after the last failing one, in launch order; the first is the
  // streak. A failure launched later cuts the list there, so a flap restarts the streak at
  // the first pass after it, not at the next one.
  #passes: Pass[] = [];

  readonly #origin: number;

  /** `origin`: when the wait began (the agent's start); a check that passes at its first attempt is ready since then. */
  constructor(settleMs: number, origin = 0) {
    this.#settleMs = settleMs;
    this.#origin = origin;
  }

  /** Records an attempt launched at `at`. */
  launch(at: number): Attempt {
    const attempt = { launch: at, previous: this.#lastLaunch };
    this.#lastLaunch = at;
    this.#inFlight.push(at);
    return attempt;
  }

  /**
   * The pacer's window: the dataplane dropped everything at `silentUntil` and let its probe sent
   * at `workingBy` through (either may be null when unknown). A pass is not estimated to have
   * begun before the window, and a first pass launched after it is put inside it: the launch
   * only came once the pacer's answer had been seen, later by the answer's round trip and by
   * however long a busy node took to run the agent.
   */
  pacerWindow(silentUntil: number | null, workingBy: number | null): void {
    if (silentUntil !== null) this.#floor = Math.max(this.#floor, silentUntil);
    if (workingBy !== null) this.#workingBy = workingBy;
  }

  /** `attempt` passed; the answer came back at `now`. */
  pass(attempt: Attempt, now: number): PassResult {
    this.#settle(attempt);
    if (attempt.launch <= this.#lastFailedLaunch) return 'stale';
    // A pass that took longer than the kernel's first SYN retransmit may be a retransmission
    // that got through: its launch says nothing about when the path began to work, so count
    // it from when it came back.
    // The last instant it is known to have failed: its previous launch, or the pacer's floor.
    const failing = Math.max(attempt.previous ?? -Infinity, Math.min(this.#floor, attempt.launch));
    // Never seen failing: it did not hold the pod up at all, however late the agent got to look
    // (a busy node can take seconds to start it), so it counts from the start of the wait.
    const estimate =
      now - attempt.launch >= SYN_RETRANSMIT_MS
        ? now
        : failing === -Infinity
          ? this.#origin
          : readyEstimate(
              failing < this.#workingBy && this.#workingBy < attempt.launch ? this.#workingBy : attempt.launch,
              failing,
            );
    const first = this.#passes.length === 0;
    let i = this.#passes.length;
    while (i > 0 && this.#passes[i - 1]!.launch > attempt.launch) i--;
    this.#passes.splice(i, 0, { launch: attempt.launch, estimate, detectedAt: now });
    // Keep the streak's start and the passes that a failure still in flight could expose; no others can matter.
    const oldest = Math.min(...this.#inFlight);
    this.#passes = this.#passes.filter((p, k) => k === 0 || p.launch >= oldest);
    return first ? 'first' : 'later';
  }

  /** `attempt` failed. */
  fail(attempt: Attempt): void {
    this.#settle(attempt);
    this.#lastFailedLaunch = Math.max(this.#lastFailedLaunch, attempt.launch);
    this.#passes = this.#passes.filter((p) => p.launch > this.#lastFailedLaunch);
  }

  /** `attempt` was cancelled by the prober: no result. */
  cancel(attempt: Attempt): void {
    this.#settle(attempt);
  }

  /** Estimated instant the current passing streak began; null while the check fails. */
  get readySince(): number | null {
    return this.#passes[0]?.estimate ?? null;
  }

  /** Attempts in flight. */
  get inFlight(): number {
    return this.#inFlight.length;
  }

  /** True when the check needs no more attempts: passing, and with settle, passing through the whole window. */
  settled(now: number): boolean {
    const first = this.#passes[0];
    if (!first) return false;
    if (this.#settleMs === 0) return true;
    // Every attempt launched inside the window must have come back passing.
    const windowEnd = first.detectedAt + this.#settleMs;
    return now >= windowEnd && this.#inFlight.every((at) => at >= windowEnd);
  }

  #settle(attempt: Attempt): void {
    const i = this.#inFlight.indexOf(attempt.launch);
    if (i >= 0) this.#inFlight.splice(i, 1);
  }
}
