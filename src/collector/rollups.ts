// Reading aggregates over a window, and rolling complete periods up, the same
// way for both stores: each store supplies the few queries (AggregateSource),
// this decides which rollups and minute ranges a window is made of.
import { LEVEL_MS, periodStart, planWindow, ROLLUP_SETTLE_MS, type Scope } from './aggregates.ts';
import { decodeRollup, encodeRollup, KeyTable, Totals } from './totals.ts';

/** The queries a store answers for aggregates. */
export interface AggregateSource {
  /** The rollups that exist with a period starting in [fromMs, untilMs). */
  rolledPeriods(fromMs: number, untilMs: number): Promise<{ level: 1 | 2; periodMs: number }[]>;
  /** The stored rollup of `level` at `periodMs`. */
  readRollup(level: 1 | 2, periodMs: number): Promise<Uint8Array | null>;
  /** Calls `add` with every minute cell in [fromMs, untilMs). */
  readMinuteCells(
    fromMs: number,
    untilMs: number,
    add: (scope: Scope, key: string, bucket: number, reports: number, timeouts: number, maxDelay: number) => void,
  ): Promise<void>;
}

/** Decoded rollups kept in memory up to this many bytes: a rollup never changes once written. */
const CACHED_ROLLUP_BYTES = 16 * 1024 * 1024;
/** Sums of the rolled-up part of a window kept (LRU): one per window length being watched. */
const CACHED_SUMS = 4;
/** Past this many interned keys (node churn over months), the key table and the caches start afresh. */
const MAX_KEYS = 200_000;

/**
 * Reads windows of aggregates from `source`. A window is its rolled-up
 * periods plus minute cells at its edges; the sum of its rolled-up periods is
 * kept, so that while the same periods are in the window (an hour for the
 * hourly ones) a summary reads only the edges' minute cells: a sliding
 * 7-day window costs about what the last hour does.
 */
export class WindowReader {
  readonly #source: AggregateSource;
  #keys = new KeyTable();
  readonly #rollups = new Map<string, Float64Array>();
  #rollupBytes = 0;
  readonly #sums = new Map<string, Totals>();

  constructor(source: AggregateSource) {
    this.#source = source;
  }

  /** Every report received in [fromMs, untilMs) (both minute-aligned), aggregated. */
  async totals(fromMs: number, untilMs: number): Promise<Totals> {
    if (this.#keys.size > MAX_KEYS) this.#restart();
    const keys = this.#keys;
    const totals = new Totals(keys, Math.max(64, keys.size));
    if (untilMs <= fromMs) return totals;
    const rolled = new Set((await this.#source.rolledPeriods(fromMs, untilMs)).map((p) => `${p.level}:${p.periodMs}`));
    const blocks = planWindow(fromMs, untilMs, (level, periodMs) => rolled.has(`${level}:${periodMs}`));
    const periods = blocks.filter((b) => b.level !== 0);
    if (periods.length > 0) totals.addTotals(await this.#sumOf(periods, keys));
    for (const block of blocks) {
      if (block.level !== 0) continue;
      await this.#source.readMinuteCells(block.fromMs, block.untilMs, (s, k, b, r, t, m) =>
        totals.add(s, k, b, r, t, m),
      );
    }
    return totals;
  }

  /** The sum of these rolled-up periods, from the cache or from their rollups. */
  async #sumOf(periods: readonly { level: 1 | 2; periodMs: number }[], keys: KeyTable): Promise<Totals> {
    const id = periods.map((p) => `${p.level}:${p.periodMs}`).join(',');
    let sum = keys === this.#keys ? this.#sums.get(id) : undefined;
    if (sum) {
      this.#sums.delete(id);
    } else {
      sum = new Totals(keys, Math.max(64, keys.size));
      for (const p of periods) {
        const cells = await this.#rollup(p.level, p.periodMs, keys);
        if (cells) sum.addCells(cells);
      }
    }
    // The table may have been restarted meanwhile: what holds ids of the old one is not kept.
    if (keys === this.#keys) {
      this.#sums.set(id, sum); // most recently used last
      if (this.#sums.size > CACHED_SUMS) this.#sums.delete(this.#sums.keys().next().value!);
    }
    return sum;
  }

  async #rollup(level: 1 | 2, periodMs: number, keys: KeyTable): Promise<Float64Array | null> {
    const id = `${level}:${periodMs}`;
    const hit = keys === this.#keys ? this.#rollups.get(id) : undefined;
    if (hit) {
      this.#rollups.delete(id);
      this.#rollups.set(id, hit);
      return hit;
    }
    const data = await this.#source.readRollup(level, periodMs);
    if (!data) return null;
    const cells = decodeRollup(data, keys);
    if (keys !== this.#keys) return cells;
    this.#rollups.set(id, cells);
    this.#rollupBytes += cells.byteLength;
    for (const [old, c] of this.#rollups) {
      if (this.#rollupBytes <= CACHED_ROLLUP_BYTES) break;
      this.#rollups.delete(old);
      this.#rollupBytes -= c.byteLength;
    }
    return cells;
  }

  /** A new key table; everything that holds ids of the old one goes. */
  #restart(): void {
    this.#keys = new KeyTable();
    this.#rollups.clear();
    this.#rollupBytes = 0;
    this.#sums.clear();
  }
}

/** The next period of a level that is complete and settled, and not rolled up yet; null when none is due. */
export function duePeriod(
  level: 1 | 2,
  rolledUntilMs: number,
  hourRolledUntilMs: number,
  nowMs: number,
): number | null {
  const size = LEVEL_MS[level];
  // Hours once they ended ROLLUP_SETTLE_MS ago; days once all their hours are rolled up.
  const limit = level === 1 ? periodStart(nowMs - ROLLUP_SETTLE_MS, 1) : periodStart(hourRolledUntilMs, 2);
  return rolledUntilMs + size <= limit ? rolledUntilMs : null;
}

/** The rollup of [periodMs, periodMs + size of level), or null when that period has no reports. */
export async function buildRollup(reader: WindowReader, level: 1 | 2, periodMs: number): Promise<Buffer | null> {
  const totals = await reader.totals(periodMs, periodMs + LEVEL_MS[level]);
  const rollup = totals.toRollup();
  return rollup.keys.length === 0 ? null : encodeRollup(rollup);
}
