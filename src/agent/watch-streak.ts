// The watch's rule for "the network is lost": a streak of consecutive failed
// rounds (a round probes every check once; it fails when any check fails)
// reaching the threshold. A small stateful object, tested as a table
// (test/unit/watch-streak.test.ts); it knows nothing of time sources or I/O.

/** A round's result: per check, null when it passed, else its error class. */
export type RoundResult = readonly (string | null)[];

export type StreakVerdict =
  | { readonly state: 'ok' }
  | { readonly state: 'failing'; readonly failures: number }
  | { readonly state: 'lost'; readonly startedMs: number };

export class FailureStreak {
  readonly #threshold: number;
  #failures = 0;
  #startedMs = 0;
  #errors: Record<string, number>[];

  /** `threshold` consecutive failed rounds mark the network lost; `checks` is how many checks a round has. */
  constructor(threshold: number, checks: number) {
    this.#threshold = threshold;
    this.#errors = Array.from({ length: checks }, () => ({}));
  }

  /** Records the round launched at `launchMs`. A passing round ends the streak; the threshold-th failure makes it lost (and every later one keeps it lost). */
  record(launchMs: number, round: RoundResult): StreakVerdict {
    if (round.every((r) => r === null)) {
      this.reset();
      return { state: 'ok' };
    }
    if (this.#failures === 0) this.#startedMs = launchMs;
    this.#failures++;
    round.forEach((cls, i) => {
      if (cls !== null) this.#errors[i]![cls] = (this.#errors[i]![cls] ?? 0) + 1;
    });
    return this.#failures >= this.#threshold
      ? { state: 'lost', startedMs: this.#startedMs }
      : { state: 'failing', failures: this.#failures };
  }

  /** Per check, the error classes of the streak's failed rounds (copies). */
  errors(): Record<string, number>[] {
    return this.#errors.map((e) => ({ ...e }));
  }

  /** Forgets the streak: the network worked again. */
  reset(): void {
    this.#failures = 0;
    this.#errors = this.#errors.map(() => ({}));
  }
}
