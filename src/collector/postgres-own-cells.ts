// This replica's own minute cells of the last few minutes, in memory, so that
// a summary reads from PostgreSQL only the other replicas' cells of the
// minutes that are not settled yet. Every summary re-reads those minutes (a
// late commit of another replica may still land in them), and under ingest
// they hold a cell per node and bucket hit: at 1,000,000 reports, 25,000 cells
// a minute read, hashed and sent by the server per summary, ~80 ms of its CPU
// on the cores that also take the reports (BENCHMARKS.md, bench/collector-scale,
// session 6).
//
// Each replica writes its cells under an id of its own (column `replica`,
// from the sequence netready_replicas), and what this object holds is exactly
// what was committed under its current id, for the minutes it still holds.
// A commit whose outcome is not known (the connection broke) may have stored
// cells that are not held here: forget() drops the id, and the next batch
// takes a new one, so those cells count as another replica's and are read.
import { type Cell, MINUTE_MS } from './aggregates.ts';
import { PendingCells } from './pending-cells.ts';
import type { CellSumSink } from './rollups.ts';
import type { Queryable } from './postgres-schema.ts';

/** The cells of one replica id: the id, the cells held, and from which minute on they are all there. */
interface Held {
  readonly replica: number;
  readonly cells: PendingCells;
  /** Minutes at or after this hold every cell committed under `replica`; those before were dropped. */
  fromMs: number;
}

/** This replica's committed cells of its newest minutes; see the file's comment. */
export class OwnCells {
  /** Minutes kept before the newest one written: a summary's unsettled ones, and one more. */
  readonly #keepMs: number;
  #held: Held | null = null;

  constructor(settleMs: number) {
    this.#keepMs = settleMs + 2 * MINUTE_MS;
  }

  /** The id to write cells under: a new one (and nothing held) if there is none. */
  async replica(q: Queryable): Promise<number> {
    if (this.#held === null) {
      const r = await q.query<{ id: number }>("SELECT nextval('netready_replicas')::integer AS id");
      this.#held ??= { replica: r.rows[0]!.id, cells: new PendingCells(), fromMs: Number.NEGATIVE_INFINITY };
    }
    return this.#held.replica;
  }

  /** Adds the cells committed under `replica` (still the current id), and drops minutes no summary re-reads. */
  committed(replica: number, cells: readonly Cell[], receivedMs: number): void {
    const held = this.#held;
    if (held === null || held.replica !== replica) return;
    held.cells.add(cells);
    const keepFrom = receivedMs - (receivedMs % MINUTE_MS) - this.#keepMs;
    if (keepFrom > held.fromMs) {
      held.cells.dropBefore(keepFrom);
      held.fromMs = keepFrom;
    }
  }

  /** After a commit whose outcome is unknown: the next batch writes under a new id. */
  forget(): void {
    this.#held = null;
  }

  /**
   * What a read of [fromMs, untilMs) needs: the current id and where its held
   * minutes start (cells of that id before it are read from the table), and
   * a function adding the held cells of [splitMs, untilMs); null without an id.
   */
  view(): { replica: number; fromMs: number; add(fromMs: number, untilMs: number, sink: CellSumSink): void } | null {
    const held = this.#held;
    if (held === null) return null;
    return {
      replica: held.replica,
      fromMs: held.fromMs,
      add: (fromMs, untilMs, sink) =>
        held.cells.forEach(fromMs, untilMs, (c) => sink(c.scope, c.key, c.bucket, c.reports, c.timeouts, c.maxDelay)),
    };
  }
}
