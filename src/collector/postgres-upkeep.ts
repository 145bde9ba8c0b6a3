// Upkeep of the PostgreSQL store: retention and rollups, one bounded step at
// a time, on one replica at a time: a step runs in a transaction that first
// takes a try-advisory-lock, and a replica that does not get it does nothing
// (another is at it). Also the aggregate queries (rollups.ts) that both the
// store's summaries and the rollups read.
import type pg from 'pg';
import { LEVEL_MS, MINUTE_MS, periodStart, ROLLUP_SETTLE_MS, type Scope } from './aggregates.ts';
import type { OwnCells } from './postgres-own-cells.ts';
import { inTransaction, LOCK, LOCK_CLASS, type Queryable } from './postgres-schema.ts';
import {
  buildRollup,
  duePeriod,
  WindowReader,
  type AggregateSource,
  type CellSumSink,
  type MinuteCellSink,
} from './rollups.ts';
import { SWEEP_CHUNK } from './sqlite-store.ts';

/** Replicas' clocks and commits lag each other: the rollups' settle time, and a minute more. */
export const PG_SETTLE_MS = ROLLUP_SETTLE_MS + MINUTE_MS;

/** The aggregate queries (rollups.ts) over the pool, or over the client of a transaction. */
export class PgAggregates implements AggregateSource {
  readonly settleMs = PG_SETTLE_MS;
  readonly #q: Queryable;
  readonly #own: OwnCells | null;
  constructor(q: Queryable, own: OwnCells | null = null) {
    this.#q = q;
    this.#own = own;
  }

  async rolledPeriods(fromMs: number, untilMs: number): Promise<{ level: 1 | 2; periodMs: number }[]> {
    const r = await this.#q.query<{ level: number; period_ms: string }>(
      'SELECT level, period_ms FROM netready_rollups WHERE period_ms >= $1 AND period_ms < $2',
      [fromMs, untilMs],
    );
    return r.rows.map((row) => ({ level: row.level as 1 | 2, periodMs: Number(row.period_ms) }));
  }

  async readRollup(level: 1 | 2, periodMs: number): Promise<Uint8Array | null> {
    // As base64, not bytea's hex text: a rollup of 5,000 nodes is ~0.5 MiB, and on the wire and as
    // a string on its way to a Buffer hex is twice that (base64 4/3); PostgreSQL's line breaks are
    // skipped by Node's decoder.
    const r = await this.#q.query<{ data: string }>(
      "SELECT encode(data, 'base64') AS data FROM netready_rollups WHERE level = $1 AND period_ms = $2",
      [level, periodMs],
    );
    const text = r.rows[0]?.data;
    return text === undefined ? null : Buffer.from(text, 'base64');
  }

  async readMinuteCells(fromMs: number, untilMs: number, add: MinuteCellSink): Promise<void> {
    const r = await this.#q.query<[string, number, string, number, string, string, number]>({
      // A cell may have several rows (each batch appends its own): summed here.
      text: `SELECT minute_ms, scope, key, bucket, sum(reports)::bigint, sum(timeouts)::bigint, max(max_delay)
        FROM netready_agg_minute WHERE minute_ms >= $1 AND minute_ms < $2 GROUP BY minute_ms, scope, key, bucket`,
      values: [fromMs, untilMs],
      rowMode: 'array',
    });
    for (const c of r.rows) add(Number(c[0]), c[1] as Scope, c[2], c[3], Number(c[4]), Number(c[5]), c[6]);
  }

  // Summed by the server: under ingest a minute holds a cell per node and bucket hit
  // (~50,000 at 3,000 reports/s over 5,000 nodes), and every summary re-reads the
  // unsettled ones (settleMs: four minutes); summed, each (scope, key, bucket) comes once.
  // With `own` (the store's reader), this replica's cells come from memory and the
  // server reads only the other replicas' (the index skips ours: see the schema).
  async readCellSums(fromMs: number, untilMs: number, add: CellSumSink): Promise<void> {
    const own = this.#own?.view() ?? null;
    // [fromMs, splitMs): every replica's cells from the table; [splitMs, untilMs): the others', and ours held.
    const splitMs = own === null ? untilMs : Math.min(untilMs, Math.max(fromMs, own.fromMs));
    const minutes: number[] = [];
    for (let m = splitMs; m < untilMs; m += MINUTE_MS) minutes.push(m);
    const r = await this.#q.query<[number, string, number, string, string, number]>({
      text: CELL_SUMS,
      values: [fromMs, splitMs, minutes, own?.replica ?? 0],
      rowMode: 'array',
    });
    for (const c of r.rows) add(c[0] as Scope, c[1], c[2], Number(c[3]), Number(c[4]), c[5]);
    own?.add(splitMs, untilMs, add);
  }
}

/**
 * Cells summed per (scope, key, bucket): every replica's in [$1, $2), those of
 * replicas other than $4 in the minutes $3 (each minute and each side of $4 an
 * index range of its own, (minute_ms, replica): our own cells are not visited,
 * as they would be under a range of minutes).
 */
const CELL_SUMS = `
SELECT scope, key, bucket, sum(reports)::bigint, sum(timeouts)::bigint, max(max_delay) FROM (
  SELECT scope, key, bucket, reports, timeouts, max_delay FROM netready_agg_minute WHERE minute_ms >= $1 AND minute_ms < $2
  UNION ALL
  SELECT scope, key, bucket, reports, timeouts, max_delay FROM netready_agg_minute WHERE minute_ms = ANY($3::bigint[]) AND replica < $4
  UNION ALL
  SELECT scope, key, bucket, reports, timeouts, max_delay FROM netready_agg_minute WHERE minute_ms = ANY($3::bigint[]) AND replica > $4
) AS c GROUP BY scope, key, bucket`;

/** What a step needs to know of the store: its report count (as last counted) and its retention. */
export interface UpkeepState {
  readonly rows: number;
  readonly maxRows: number;
  readonly maxAgeMs: number;
}

/**
 * One step of retention and rollups (see sqlite-store.ts maintain(): the same
 * rules). Resolves with the rows it deleted or wrote, the retention floor and
 * the reports deleted; null when another replica holds the lock.
 */
export async function upkeepStep(
  pool: pg.Pool,
  nowMs: number,
  state: UpkeepState,
): Promise<{ work: number; floorMs: number; deleted: number } | null> {
  return inTransaction(pool, async (c) => {
    const locked = await c.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS got', [
      LOCK_CLASS,
      LOCK.maintain,
    ]);
    return locked.rows[0]!.got ? lockedStep(c, nowMs, state) : null;
  });
}

/** One step of retention and rollups, in the transaction `c` that holds the maintain lock. */
async function lockedStep(
  c: pg.PoolClient,
  nowMs: number,
  state: UpkeepState,
): Promise<{ work: number; floorMs: number; deleted: number }> {
  const meta = async (key: string) => {
    const r = await c.query<{ value: string }>('SELECT value FROM netready_meta WHERE key = $1', [key]);
    return r.rows[0] ? Number(r.rows[0].value) : null;
  };
  const setMeta = (key: string, value: number) =>
    c.query(
      'INSERT INTO netready_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  let work = 0;
  // Retention: the floor moves to the newest cutoff, in whole minutes, never into the current minute.
  const floor = (await meta('floor_ms')) ?? 0;
  const cutoffs = [floor];
  if (state.maxAgeMs > 0) cutoffs.push(periodStart(nowMs - state.maxAgeMs, 0));
  const excess = state.rows - state.maxRows;
  if (excess > 0) {
    const nth = await c.query<{ received_ms: string }>(
      'SELECT received_ms FROM netready_reports ORDER BY received_ms, id OFFSET $1 LIMIT 1',
      [excess - 1],
    );
    if (nth.rows[0]) cutoffs.push(periodStart(Number(nth.rows[0].received_ms), 0) + MINUTE_MS);
  }
  const newFloor = Math.min(Math.max(...cutoffs), periodStart(nowMs, 0));
  if (newFloor > floor) await setMeta('floor_ms', newFloor);
  const deleted =
    (
      await c.query(
        'DELETE FROM netready_reports WHERE id IN (SELECT id FROM netready_reports WHERE received_ms < $1 ORDER BY received_ms, id LIMIT $2)',
        [newFloor, SWEEP_CHUNK],
      )
    ).rowCount ?? 0;
  work += deleted;
  // Outages: the same floor, and at most maxRows of them (ids have gaps here: counted from the newest).
  work +=
    (
      await c.query(
        `DELETE FROM netready_outages WHERE id IN (SELECT id FROM netready_outages
           WHERE received_ms < $1 OR id <= (SELECT id FROM netready_outages ORDER BY id DESC OFFSET $2 LIMIT 1) ORDER BY id LIMIT $3)`,
        [newFloor, Math.floor(state.maxRows), SWEEP_CHUNK],
      )
    ).rowCount ?? 0;
  const oldest = await c.query<{ minute_ms: string }>(
    'SELECT minute_ms FROM netready_agg_minute ORDER BY minute_ms LIMIT 1',
  );
  const oldestCell = oldest.rows[0] ? Number(oldest.rows[0].minute_ms) : null;
  if (oldestCell !== null && oldestCell < newFloor) {
    // Ten minutes of cells per step: bounded work whatever the rate.
    work +=
      (
        await c.query('DELETE FROM netready_agg_minute WHERE minute_ms < $1', [
          Math.min(newFloor, oldestCell + 10 * MINUTE_MS),
        ])
      ).rowCount ?? 0;
  }
  work +=
    (
      await c.query(
        'DELETE FROM netready_rollups WHERE period_ms + (CASE level WHEN 1 THEN $1::bigint ELSE $2::bigint END) <= $3',
        [LEVEL_MS[1], LEVEL_MS[2], newFloor],
      )
    ).rowCount ?? 0;

  // Rollups: one due hour and one due day per step, if any.
  let hours = (await meta('rolled_1')) ?? periodStart(oldestCell ?? nowMs, 1);
  let days = (await meta('rolled_2')) ?? periodStart(hours, 2);
  // Periods that began before the floor were partly deleted: never rolled up.
  hours = Math.max(hours, Math.ceil(newFloor / LEVEL_MS[1]) * LEVEL_MS[1]);
  days = Math.max(days, Math.ceil(newFloor / LEVEL_MS[2]) * LEVEL_MS[2]);
  const reader = new WindowReader(new PgAggregates(c));
  for (const level of [1, 2] as const) {
    const from = level === 1 ? hours : days;
    const due = duePeriod(level, from, hours, nowMs);
    if (due !== null) {
      const blob = await buildRollup(reader, level, due);
      if (blob)
        await c.query(
          'INSERT INTO netready_rollups (level, period_ms, data) VALUES ($1, $2, $3) ON CONFLICT (level, period_ms) DO UPDATE SET data = excluded.data',
          [level, due, blob],
        );
      await setMeta(`rolled_${level}`, due + LEVEL_MS[level]);
      if (level === 1) hours = due + LEVEL_MS[1];
      work++;
    } else if ((await meta(`rolled_${level}`)) === null) {
      await setMeta(`rolled_${level}`, from);
    }
  }
  return { work, floorMs: newFloor, deleted };
}
