// Reading aggregates over a window, and rolling complete periods up, the same
// way for both stores: each store supplies the few queries (AggregateSource),
// this decides which rollups and minute ranges a window is made of.
import { LEVEL_MS, MINUTE_MS, periodStart, planWindow, ROLLUP_SETTLE_MS, type Scope } from './aggregates.ts';
import { decodeRollup, encodeRollup, KeyTable, Totals } from './totals.ts';

/** Receives the cells of one (scope, key, bucket) summed over several minutes. */
export type CellSumSink = (
  scope: Scope,
  key: string,
  bucket: number,
  reports: number,
  timeouts: number,
  maxDelay: number,
) => void;

/** Receives one stored minute cell: its minute, then its node or namespace, histogram bucket and counts. */
export type MinuteCellSink = (minuteMs: number, ...cell: Parameters<CellSumSink>) => void;

/** The queries a store answers for aggregates. */
export interface AggregateSource {
  /**
   * How long after a minute ended reports may still be stamped into it: 0 for
   * one SQLite writer (receive times never go backward), ROLLUP_SETTLE_MS and
   * a minute for replicas whose clocks and commits lag each other.
   */
  readonly settleMs: number;
  /** The rollups that exist with a period starting in [fromMs, untilMs). */
  rolledPeriods(fromMs: number, untilMs: number): Promise<{ level: 1 | 2; periodMs: number }[]>;
  /** The stored rollup of `level` at `periodMs`. */
  readRollup(level: 1 | 2, periodMs: number): Promise<Uint8Array | null>;
  /** Calls `add` with every minute cell in [fromMs, untilMs). */
  readMinuteCells(fromMs: number, untilMs: number, add: MinuteCellSink): Promise<void>;
  /**
   * Calls `add` once per (scope, key, bucket) with its cells in [fromMs,
   * untilMs) summed: how a window's unsettled minutes, re-read by every
   * summary, are read when the source can sum them itself. Without it they
   * are read cell by cell (readMinuteCells).
   */
  readCellSums?(fromMs: number, untilMs: number, add: CellSumSink): Promise<void>;
}

/**
 * Decoded rollups kept in memory up to this many bytes (an hour of 5,000 nodes
 * is ~0.5 MiB): a rollup is read only when a window's kept sum is rebuilt,
 * once an hour per window length, so a few are enough (the day's hours that
 * the 24 h and 7 d sums share); more was RSS for nothing.
 */
const CACHED_ROLLUP_BYTES = 4 * 1024 * 1024;
/**
 * Decoded minutes kept up to this many bytes (a minute of 100 reports is ~8 KiB):
 * the edges of the windows being watched, which move by a minute a minute.
 */
const CACHED_MINUTE_BYTES = 8 * 1024 * 1024;
/** Sums of the rolled-up part of a window kept (LRU): one per window length being watched. */
const CACHED_SUMS = 4;
/** Past this many interned keys (node churn over months), the key table and the caches start afresh. */
const MAX_KEYS = 200_000;

/**
 * Reads windows of aggregates from `source`. A window is its rolled-up
 * periods plus minute cells at its edges. The sum of its rolled-up periods is
 * kept, so that while the same periods are in the window (an hour for the
 * hourly ones) a summary reads only the edges' minute cells; and settled
 * minutes (ended the source's settleMs before the window's last minute: no
 * report is stamped into them any more) are kept decoded, so that a window moving by a minute reads one new
 * minute at its start and the unsettled ones at its end. A sliding 7-day
 * window then costs about what the last hour does, and that little.
 */
export class WindowReader {
  readonly #source: AggregateSource;
  #keys = new KeyTable();
  readonly #rollups = new CellCache(CACHED_ROLLUP_BYTES);
  readonly #minutes = new CellCache(CACHED_MINUTE_BYTES);
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
    // Minutes that ended settleMs before the window's last minute began.
    const settledBefore = untilMs - MINUTE_MS - this.#source.settleMs;
    for (const block of blocks) {
      if (block.level !== 0) continue;
      const split = Math.max(block.fromMs, Math.min(block.untilMs, settledBefore));
      for (const cells of await this.#settledMinutes(block.fromMs, split, keys)) totals.addCells(cells);
      if (split >= block.untilMs) continue;
      const add: CellSumSink = (s, k, b, r, t, m) => totals.add(s, k, b, r, t, m);
      if (this.#source.readCellSums) await this.#source.readCellSums(split, block.untilMs, add);
      else
        await this.#source.readMinuteCells(split, block.untilMs, (_minute, s, k, b, r, t, m) => add(s, k, b, r, t, m));
    }
    return totals;
  }

  /** The cells of each settled minute in [fromMs, untilMs), from the cache or read in one query. */
  async #settledMinutes(fromMs: number, untilMs: number, keys: KeyTable): Promise<Float64Array[]> {
    const cached = keys === this.#keys;
    const found = new Map<number, Float64Array>();
    let missingFrom = Number.POSITIVE_INFINITY;
    let missingUntil = fromMs;
    for (let m = fromMs; m < untilMs; m += MINUTE_MS) {
      const hit = cached ? this.#minutes.get(`${m}`) : undefined;
      if (hit) found.set(m, hit);
      else {
        missingFrom = Math.min(missingFrom, m);
        missingUntil = m + MINUTE_MS;
      }
    }
    if (missingFrom < missingUntil) {
      const read = new Map<number, number[]>();
      await this.#source.readMinuteCells(missingFrom, missingUntil, (minute, s, k, b, r, t, m) => {
        let cells = read.get(minute);
        if (!cells) read.set(minute, (cells = []));
        cells.push(keys.id(s, k), b, r, t, m);
      });
      for (let m = missingFrom; m < missingUntil; m += MINUTE_MS) {
        if (found.has(m)) continue;
        // A minute without reports is kept too (empty): it is not asked for again.
        const cells = Float64Array.from(read.get(m) ?? []);
        found.set(m, cells);
        if (cached && keys === this.#keys) this.#minutes.set(`${m}`, cells);
      }
    }
    return [...found.values()];
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
        // A sum of ~50 rollups is read once an hour per window length: between
        // two of them, reports that arrived meanwhile are taken (SQLite reads
        // block the thread), so ingest never waits for the whole sum.
        await new Promise((resolve) => setImmediate(resolve));
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
    if (hit) return hit;
    const data = await this.#source.readRollup(level, periodMs);
    if (!data) return null;
    const cells = decodeRollup(data, keys);
    if (keys === this.#keys) this.#rollups.set(id, cells);
    return cells;
  }

  /** A new key table; everything that holds ids of the old one goes. */
  #restart(): void {
    this.#keys = new KeyTable();
    this.#rollups.clear();
    this.#minutes.clear();
    this.#sums.clear();
  }
}

/** Decoded cells kept up to a byte budget, the least recently used dropped first. */
class CellCache {
  readonly #budget: number;
  readonly #entries = new Map<string, Float64Array>();
  #bytes = 0;

  constructor(budget: number) {
    this.#budget = budget;
  }

  get(id: string): Float64Array | undefined {
    const hit = this.#entries.get(id);
    if (hit) {
      // Most recently used last.
      this.#entries.delete(id);
      this.#entries.set(id, hit);
    }
    return hit;
  }

  set(id: string, cells: Float64Array): void {
    this.#entries.delete(id);
    this.#entries.set(id, cells);
    // An empty entry still costs its Map slot.
    this.#bytes += cells.byteLength + 64;
    for (const [old, c] of this.#entries) {
      if (this.#bytes <= this.#budget) break;
      this.#entries.delete(old);
      this.#bytes -= c.byteLength + 64;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
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
