// Group commit: requests hand their report to submit() and wait; everything
// submitted while no commit slot is free is committed in one transaction (one
// fsync), then every waiter is answered. While the commits run (synchronous
// with SQLite, round trips with PostgreSQL), new submissions queue and form
// the next batch. Batches grow with load and a lone request is committed at
// once: no timer, no added latency.
//
// `concurrency` commits may run at once (default 1): for a store whose commit
// is mostly a wait for a server with cores to spare, so that the server's own
// group commit shares one WAL flush among the transactions that commit
// together. Both stores commit one batch at a time (ingest.ts says why for
// PostgreSQL).

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
}

export interface CommitterOptions {
  /** Items per transaction at most; a larger backlog is committed over several turns. */
  readonly maxBatch: number;
  /** Commits running at once at most (default 1). */
  readonly concurrency?: number;
  /** Runs `fn` after the I/O of the current turn: setImmediate (tests may pass their own). */
  readonly schedule?: (fn: () => void) => void;
}

/** Batches items into calls of `commit`, which stores them all or rejects. */
export class GroupCommitter<T, R> {
  readonly #commit: (items: readonly T[]) => readonly R[] | Promise<readonly R[]>;
  readonly #maxBatch: number;
  readonly #concurrency: number;
  readonly #schedule: (fn: () => void) => void;
  #queue: Pending<T, R>[] = [];
  #scheduled = false;
  #running = 0;
  #idle: (() => void)[] = [];

  constructor(commit: (items: readonly T[]) => readonly R[] | Promise<readonly R[]>, options: CommitterOptions) {
    this.#commit = commit;
    this.#maxBatch = options.maxBatch;
    this.#concurrency = options.concurrency ?? 1;
    this.#schedule = options.schedule ?? setImmediate;
  }

  /** Resolves with the item's result once its batch is committed; rejects if the commit failed. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#kick();
    });
  }

  /** Items waiting for a commit (not those in a commit running now). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Resolves when nothing is waiting to be committed or being committed. */
  drained(): Promise<void> {
    if (this.#queue.length === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Schedules a commit when items wait and a slot is free (once per turn). */
  #kick(): void {
    if (this.#scheduled || this.#queue.length === 0 || this.#running >= this.#concurrency) return;
    this.#scheduled = true;
    this.#schedule(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#queue.length === 0 || this.#running >= this.#concurrency) return;
    const batch = this.#queue.splice(0, this.#maxBatch);
    this.#running++;
    // A backlog larger than one batch goes to the next free slot.
    this.#kick();
    try {
      const results = await this.#commit(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
    this.#running--;
    this.#kick();
    if (this.#queue.length === 0 && this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
}
