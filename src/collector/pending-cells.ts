// Minute cells not yet written to the SQLite store's agg_minute table. Each
// report adds to two cells of its minute (its node's and its namespace's),
// which lie anywhere among the minute's thousands of cells: upserted with
// every commit, they dirtied a page or two per report, copied to the WAL and
// back. So the store keeps the current minute's cells here, merged, and writes
// a minute's cells once it has ended (in key order: pages filled one after the
// other). Reports are the truth: a crash loses only these sums, and the store
// recomputes them from its reports when it opens (sqlite-store.ts).
import type { Cell, Scope } from './aggregates.ts';

interface MutableCell {
  readonly minuteMs: number;
  readonly scope: Scope;
  readonly key: string;
  readonly bucket: number;
  reports: number;
  timeouts: number;
  maxDelay: number;
}

/** Cells merged per minute and (scope, key, bucket), in memory. */
export class PendingCells {
  /** minute -> cell id -> cell; minutes in increasing order (cells only ever arrive for the newest). */
  readonly #minutes = new Map<number, Map<string, MutableCell>>();
  #size = 0;

  /** Cells held, over all minutes. */
  get size(): number {
    return this.#size;
  }

  /** The oldest minute held, or null when empty. */
  oldestMinute(): number | null {
    for (const minute of this.#minutes.keys()) return minute;
    return null;
  }

  /** Merges `cells` in: counts add up, the longest delay is kept. */
  add(cells: readonly Cell[]): void {
    for (const c of cells) {
      let minute = this.#minutes.get(c.minuteMs);
      if (!minute) {
        minute = new Map();
        this.#minutes.set(c.minuteMs, minute);
        // A minute put back after a failed write may be older than those held: keep the order.
        if ([...this.#minutes.keys()].some((m) => m > c.minuteMs)) this.#sortMinutes();
      }
      const id = `${c.scope}\u0000${c.key}\u0000${c.bucket}`;
      const held = minute.get(id);
      if (held) {
        held.reports += c.reports;
        held.timeouts += c.timeouts;
        held.maxDelay = Math.max(held.maxDelay, c.maxDelay);
      } else {
        minute.set(id, { ...c });
        this.#size++;
      }
    }
  }

  /**
   * Removes and returns up to `limit` cells of minutes before `beforeMs`,
   * oldest minute first and in (scope, key, bucket) order within it. If
   * writing them fails, add() them back.
   */
  take(beforeMs: number, limit: number): Cell[] {
    const out: Cell[] = [];
    for (const [minuteMs, minute] of this.#minutes) {
      if (minuteMs >= beforeMs || out.length >= limit) break;
      const sorted = [...minute.entries()].sort(
        ([, a], [, b]) => a.scope - b.scope || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || a.bucket - b.bucket,
      );
      for (const [id, cell] of sorted.slice(0, limit - out.length)) {
        minute.delete(id);
        out.push(cell);
      }
      if (minute.size === 0) this.#minutes.delete(minuteMs);
    }
    this.#size -= out.length;
    return out;
  }

  /** Calls `add` with every cell of a minute in [fromMs, untilMs). */
  forEach(fromMs: number, untilMs: number, add: (c: Cell) => void): void {
    for (const [minuteMs, minute] of this.#minutes) {
      if (minuteMs < fromMs || minuteMs >= untilMs) continue;
      for (const cell of minute.values()) add(cell);
    }
  }

  /** Forgets the cells of minutes before `ms` (retention deleted their reports). */
  dropBefore(ms: number): void {
    for (const [minuteMs, minute] of this.#minutes) {
      if (minuteMs >= ms) break;
      this.#size -= minute.size;
      this.#minutes.delete(minuteMs);
    }
  }

  #sortMinutes(): void {
    const entries = [...this.#minutes.entries()].sort(([a], [b]) => a - b);
    this.#minutes.clear();
    for (const [m, cells] of entries) this.#minutes.set(m, cells);
  }
}
