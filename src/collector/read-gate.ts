// Reads must not starve ingest (issue 13): a summary or a list page is tens of
// milliseconds of work on the one thread that also takes the agents' reports
// (the SQLite store is synchronous). The gate lets `concurrent` such reads run
// at once and `queued` more wait their turn; a read beyond that is refused at
// once (the server answers 503 with Retry-After). After each read its slot
// stays taken for as long again as the read took (at most PAUSE_MAX_MS): back
// to back, reads get at most half of the thread, and the reports that arrived
// meanwhile are taken in the pause.
//
// Summaries and list pages each have a gate (createReadGates): a page is a
// bounded walk of an index, a few milliseconds, and waiting out a summary's
// pause (up to 250 ms) made it as slow as the summary (BENCHMARKS.md,
// bench/collector-scale, session 6). So a page and a summary may run at
// once; back to back, each kind gets at most half of the thread (a page's
// share is a few milliseconds at a time).

/**
 * Resolves after the reports that arrived meanwhile have been taken: a long
 * read (a summary) awaits it between its parts, so that ingest waits for one
 * part, not for the whole read. Two turns of the loop: requests read in this
 * turn's poll phase queue their commit with setImmediate behind the first
 * one, and run before the second.
 */
export function yieldToIngest(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/** What run() resolves with when the gate is full. */
export const BUSY = Symbol('busy');

export interface ReadGateLimits {
  /** Reads running at once. */
  readonly concurrent: number;
  /** Reads waiting at most; one more is refused. */
  readonly queued: number;
}

/** Longest pause after one read. */
const PAUSE_MAX_MS = 250;

/** The collector's limits: one read at a time (SQLite reads do not overlap anyway), 16 waiting. */
export const READ_GATE_LIMITS: ReadGateLimits = { concurrent: 1, queued: 16 };

/** The collector's gates: one for summaries, one for list pages (reports, outages). */
export interface ReadGates {
  readonly summaries: ReadGate;
  readonly pages: ReadGate;
}

/** The gates the collector reads through, each with READ_GATE_LIMITS. */
export function createReadGates(): ReadGates {
  return { summaries: new ReadGate(READ_GATE_LIMITS), pages: new ReadGate(READ_GATE_LIMITS) };
}

/** Bounds concurrent expensive reads; see the file's comment. */
export class ReadGate {
  readonly #limits: ReadGateLimits;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limits: ReadGateLimits) {
    this.#limits = limits;
  }

  /** Reads running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  /** Runs `read` when a slot is free; BUSY at once when the queue is full too. */
  async run<T>(read: () => Promise<T>): Promise<T | typeof BUSY> {
    if (this.#running >= this.#limits.concurrent) {
      if (this.#waiting.length >= this.#limits.queued) return BUSY;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    const start = performance.now();
    try {
      return await read();
    } finally {
      setTimeout(() => this.#release(), Math.min(PAUSE_MAX_MS, performance.now() - start));
    }
  }

  /** Hands the slot to the next waiter, or frees it. */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}
