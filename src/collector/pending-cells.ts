// Minute cells not yet written to the SQLite store's agg_minute table. Each
// report adds to two cells of its minute (its node's and its namespace's),
// which lie anywhere among the minute's thousands of cells: upserted with
// every commit, they dirtied a page or two per report, copied to the WAL and
// back. So the store keeps the current minute's cells here, merged, and writes
// a minute's cells once it has ended (in key order: pages filled one after the
// other). Reports are the truth: a crash loses only these sums, and the store
// recomputes them from its reports when it opens (sqlite-store.ts). Held as
// typed arrays with names interned once: an object and a string per cell
// held ~200 bytes each, tens of MiB of heap at a few thousand reports/s.
import { BUCKETS, type Cell, type Scope } from './aggregates.ts';

/** One minute's cells: slot per (key, bucket), its counts in growable typed arrays (no object per cell). */
class MinuteCells {
  /** key id * BUCKETS + bucket -> slot. */
  readonly slots = new Map<number, number>();
  cells = new Float64Array(0);
  /** Slots handed out (insertion order); a taken cell's slot leaves `slots` and is not reused. */
  used = 0;
  live = 0;

  /** The slot of `cell` (key id * BUCKETS + bucket), added if new: [cell, reports, timeouts, maxDelay]. */
  slotOf(cell: number): number {
    let slot = this.slots.get(cell);
    if (slot === undefined) {
      slot = this.used++;
      this.live++;
      this.slots.set(cell, slot);
      if (this.cells.length < this.used * FIELDS) {
        const grown = new Float64Array(Math.max(64, this.used * 2) * FIELDS);
        grown.set(this.cells);
        this.cells = grown;
      }
      this.cells.set([cell, 0, 0, Number.NEGATIVE_INFINITY], slot * FIELDS);
    }
    return slot;
  }
}
const FIELDS = 4;

/** Cells merged per minute and (scope, key, bucket), in memory: names interned once, counts in typed arrays. */
export class PendingCells {
  /** `${scope}\u0000${key}` -> key id; and back. */
  readonly #ids = new Map<string, number>();
  readonly #names: { scope: Scope; key: string }[] = [];
  /** minute -> its cells; minutes in increasing order (cells only ever arrive for the newest). */
  readonly #minutes = new Map<number, MinuteCells>();
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
        minute = new MinuteCells();
        this.#minutes.set(c.minuteMs, minute);
        // A minute put back after a failed write may be older than those held: keep the order.
        if ([...this.#minutes.keys()].some((m) => m > c.minuteMs)) this.#sortMinutes();
      }
      const name = `${c.scope}\u0000${c.key}`;
      let id = this.#ids.get(name);
      if (id === undefined) {
        id = this.#names.length;
        this.#ids.set(name, id);
        this.#names.push({ scope: c.scope, key: c.key });
      }
      const before = minute.live;
      const at = minute.slotOf(id * BUCKETS + c.bucket) * FIELDS;
      this.#size += minute.live - before;
      const f = minute.cells;
      f[at + 1]! += c.reports;
      f[at + 2]! += c.timeouts;
      if (c.maxDelay > f[at + 3]!) f[at + 3] = c.maxDelay;
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
      const taken = [...minute.slots]
        .map(([id, slot]) => ({ id, cell: this.#cellAt(minuteMs, minute, slot) }))
        .sort(
          ({ cell: a }, { cell: b }) =>
            a.scope - b.scope || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || a.bucket - b.bucket,
        )
        .slice(0, limit - out.length);
      for (const { id, cell } of taken) {
        minute.slots.delete(id);
        minute.live--;
        out.push(cell);
      }
      if (minute.live === 0) this.#minutes.delete(minuteMs);
    }
    this.#size -= out.length;
    this.#forgetNamesIfEmpty();
    return out;
  }

  /** Calls `add` with every cell of a minute in [fromMs, untilMs). */
  forEach(fromMs: number, untilMs: number, add: (c: Cell) => void): void {
    for (const [minuteMs, minute] of this.#minutes) {
      if (minuteMs < fromMs || minuteMs >= untilMs) continue;
      for (const slot of minute.slots.values()) add(this.#cellAt(minuteMs, minute, slot));
    }
  }

  /**
   * forEach without an object per cell: `add` gets the minute and the cell's
   * fields. A summary reads the current minute's cells (tens of thousands at
   * a few thousand reports/s) on the thread that takes the reports.
   */
  forEachCell(
    fromMs: number,
    untilMs: number,
    add: (
      minuteMs: number,
      scope: Scope,
      key: string,
      bucket: number,
      reports: number,
      timeouts: number,
      maxDelay: number,
    ) => void,
  ): void {
    for (const [minuteMs, minute] of this.#minutes) {
      if (minuteMs < fromMs || minuteMs >= untilMs) continue;
      const f = minute.cells;
      for (const slot of minute.slots.values()) {
        const at = slot * FIELDS;
        const cell = f[at]!;
        const name = this.#names[Math.floor(cell / BUCKETS)]!;
        add(minuteMs, name.scope, name.key, cell % BUCKETS, f[at + 1]!, f[at + 2]!, f[at + 3]!);
      }
    }
  }

  /** Forgets the cells of minutes before `ms` (retention deleted their reports). */
  dropBefore(ms: number): void {
    for (const [minuteMs, minute] of this.#minutes) {
      if (minuteMs >= ms) break;
      this.#size -= minute.live;
      this.#minutes.delete(minuteMs);
    }
    this.#forgetNamesIfEmpty();
  }

  /** Names are interned while cells use them: nothing held, nothing kept (nodes come and go over months). */
  #forgetNamesIfEmpty(): void {
    if (this.#minutes.size > 0) return;
    this.#ids.clear();
    this.#names.length = 0;
  }

  #cellAt(minuteMs: number, minute: MinuteCells, slot: number): Cell {
    const f = minute.cells;
    const at = slot * FIELDS;
    const cell = f[at]!;
    const name = this.#names[Math.floor(cell / BUCKETS)]!;
    return {
      minuteMs,
      scope: name.scope,
      key: name.key,
      bucket: cell % BUCKETS,
      reports: f[at + 1]!,
      timeouts: f[at + 2]!,
      maxDelay: f[at + 3]!,
    };
  }

  #sortMinutes(): void {
    const entries = [...this.#minutes.entries()].sort(([a], [b]) => a - b);
    this.#minutes.clear();
    for (const [m, cells] of entries) this.#minutes.set(m, cells);
  }
}
