// Reading aggregates over a window, and rolling complete periods up, the same
// way for both stores: each store supplies the few queries (AggregateSource),
// this decides which rollups and minute ranges a window is made of.
import {
  decodeRollup,
  encodeRollup,
  LEVEL_MS,
  periodStart,
  planWindow,
  ROLLUP_SETTLE_MS,
  Totals,
  type Rollup,
  type Scope,
} from './aggregates.ts';

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

/** Decoded rollups kept in memory this many at most: a rollup never changes once written. */
const CACHED_ROLLUPS = 256;

/** Reads windows of aggregates from `source`, caching decoded rollups. */
export class WindowReader {
  readonly #source: AggregateSource;
  readonly #cache = new Map<string, Rollup>();

  constructor(source: AggregateSource) {
    this.#source = source;
  }

  /** Every report received in [fromMs, untilMs) (both minute-aligned), aggregated. */
  async totals(fromMs: number, untilMs: number): Promise<Totals> {
    const totals = new Totals();
    if (untilMs <= fromMs) return totals;
    const rolled = new Set((await this.#source.rolledPeriods(fromMs, untilMs)).map((p) => `${p.level}:${p.periodMs}`));
    for (const block of planWindow(fromMs, untilMs, (level, periodMs) => rolled.has(`${level}:${periodMs}`))) {
      if (block.level === 0) {
        await this.#source.readMinuteCells(block.fromMs, block.untilMs, (s, k, b, r, t, m) =>
          totals.add(s, k, b, r, t, m),
        );
        continue;
      }
      const rollup = await this.#rollup(block.level, block.periodMs);
      if (rollup) totals.addRollup(rollup);
    }
    return totals;
  }

  async #rollup(level: 1 | 2, periodMs: number): Promise<Rollup | null> {
    const id = `${level}:${periodMs}`;
    const hit = this.#cache.get(id);
    if (hit) {
      // Most recently used last.
      this.#cache.delete(id);
      this.#cache.set(id, hit);
      return hit;
    }
    const data = await this.#source.readRollup(level, periodMs);
    if (!data) return null;
    const rollup = decodeRollup(data);
    this.#cache.set(id, rollup);
    if (this.#cache.size > CACHED_ROLLUPS) this.#cache.delete(this.#cache.keys().next().value!);
    return rollup;
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
