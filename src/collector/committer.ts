// Group commit: requests hand their report to submit() and wait; everything
// submitted while no commit runs is committed in one transaction (one fsync),
// then every waiter is answered. While a commit runs (synchronous with SQLite,
// a round trip with PostgreSQL), new submissions queue and form the next batch.
// Batches grow with load and a lone request is committed at once: no timer, no
// added latency.

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
}

export interface CommitterOptions {
  /** Items per transaction at most; a larger backlog is committed over several turns. */
  readonly maxBatch: number;
  /** Runs `fn` after the I/O of the current turn: setImmediate (tests may pass their own). */
  readonly schedule?: (fn: () => void) => void;
}

/** Batches items into calls of `commit`, which stores them all or rejects. One commit runs at a time. */
export class GroupCommitter<T, R> {
  readonly #commit: (items: readonly T[]) => readonly R[] | Promise<readonly R[]>;
  readonly #maxBatch: number;
  readonly #schedule: (fn: () => void) => void;
  #queue: Pending<T, R>[] = [];
  #scheduled = false;
  #idle: (() => void)[] = [];

  constructor(commit: (items: readonly T[]) => readonly R[] | Promise<readonly R[]>, options: CommitterOptions) {
    this.#commit = commit;
    this.#maxBatch = options.maxBatch;
    this.#schedule = options.schedule ?? setImmediate;
  }

  /** Resolves with the item's result once its batch is committed; rejects if the commit failed. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.#schedule(() => void this.#flush());
      }
    });
  }

  /** Items waiting for a commit, or in the commit running now. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Resolves when nothing is waiting to be committed. */
  drained(): Promise<void> {
    if (!this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, this.#maxBatch);
    try {
      const results = await this.#commit(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
    if (this.#queue.length > 0) {
      this.#schedule(() => void this.#flush());
      return;
    }
    this.#scheduled = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
