// The PostgreSQL store (node-postgres), for several replicas on one database.
// The contract is the SQLite store's (store.ts): a batch of reports and its
// minute aggregates commit in one transaction before any is acknowledged; a
// report already stored (by this replica or another, even at the same
// instant) is skipped by INSERT ... ON CONFLICT DO NOTHING; the schema is
// migrated under an advisory lock (postgres-schema.ts); retention and rollups
// run on whichever replica takes a try-advisory-lock for the step, so on one
// replica at a time (postgres-upkeep.ts).
//
// A batch is one statement (INSERT_BATCH), so one round trip. Lock order: it
// inserts its reports sorted by identity, so two batches (of one replica or
// two) writing the same reports wait for each other instead of deadlocking;
// its cells are appended, so they lock nothing.
import type pg from 'pg';
import type { Outage, Report } from '../lib/report.ts';
import { cellsOf, DELAY_EDGES_SQL, MINUTE_MS, periodStart, SCOPE } from './aggregates.ts';
import { OwnCells } from './postgres-own-cells.ts';
import { createPool, describeTarget, migrate, openError } from './postgres-schema.ts';
import { PG_SETTLE_MS, PgAggregates, upkeepStep } from './postgres-upkeep.ts';
import { WindowReader } from './rollups.ts';
import { type BodyRow, decodeOutages, decodeReports, nextBeforeId } from './stored-rows.ts';
import type {
  OpenOptions,
  OutageFilter,
  OutagePage,
  ReportFilter,
  ReportPage,
  ReportStore,
  StoreOptions,
  StoreWindow,
  WindowLimits,
  WindowRow,
} from './store.ts';

/** Reports counted (count(*)) at most this often per replica: other replicas' writes and retention change it. */
const ROW_COUNT_INTERVAL_MS = 30_000;
/** A batch that met a deadlock or serialization failure is retried this many times before it fails (503). */
const RETRIES = 3;
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Separates the bodies of a batch, sent as one text ($10): JSON.stringify
 * escapes every control character, so no body holds it. A text[] literal
 * would have node-postgres escape each body's quotes and backslashes and the
 * server unescape them (BENCHMARKS.md, bench/collector-scale, session 7).
 */
const BODY_SEPARATOR = '\x1e';

/**
 * A batch in one statement, so one round trip and its own transaction: the
 * reports (ON CONFLICT DO NOTHING skips those already stored), then the minute
 * cells of the ones inserted, summed per (scope, key, bucket) and appended:
 * rows of the same cell are summed when read (schema 3), which costs the
 * server a fraction of an upsert's CPU and takes no row locks. $1 the receive
 * time, $2 its minute; the reports' columns as arrays, sorted by identity,
 * the bodies as one text ($10, BODY_SEPARATOR between them); $11 the replica
 * id the cells are written under (postgres-own-cells.ts).
 */
const INSERT_BATCH = `
WITH inserted AS (
  INSERT INTO netready_reports (received_ms, pod_uid, pod_namespace, pod_name, node, started_ms, outcome, delay_seconds, body)
  SELECT $1, * FROM ROWS FROM (unnest($3::text[]), unnest($4::text[]), unnest($5::text[]), unnest($6::text[]),
    unnest($7::bigint[]), unnest($8::text[]), unnest($9::float8[]), unnest(string_to_array($10::text, E'\\x1e')))
  ON CONFLICT DO NOTHING
  RETURNING id, pod_uid, pod_namespace, pod_name, node, started_ms, outcome, delay_seconds
), cells AS (
  INSERT INTO netready_agg_minute (minute_ms, replica, scope, key, bucket, reports, timeouts, max_delay)
  SELECT $2, $11, scope, key, bucket, count(*), count(*) FILTER (WHERE outcome = 'timeout'), max(delay_seconds)
  FROM (
    SELECT ${SCOPE.node}::smallint AS scope, node AS key, ${DELAY_EDGES_SQL}::smallint AS bucket, outcome, delay_seconds FROM inserted
    UNION ALL
    SELECT ${SCOPE.namespace}::smallint, pod_namespace, ${DELAY_EDGES_SQL}::smallint, outcome, delay_seconds FROM inserted
  ) c
  GROUP BY scope, key, bucket
)
SELECT id, pod_uid, pod_namespace, pod_name, node, started_ms FROM inserted`;

/**
 * A window's rows in one statement: the newest $2 received at or after $1
 * (body NULL), then the slowest $4 of the newest $3, whole, slowest first.
 */
const WINDOW_ROWS = `
WITH recent AS MATERIALIZED (
  SELECT id, received_ms, node, pod_namespace, pod_name, outcome, delay_seconds FROM netready_reports
  WHERE received_ms >= $1 ORDER BY received_ms DESC, id DESC LIMIT GREATEST($2::bigint, $3::bigint)
)
SELECT id, received_ms, node, pod_namespace, pod_name, outcome, delay_seconds, body FROM (
  (SELECT 0 AS part, received_ms::float8 AS rank, id, received_ms, node, pod_namespace, pod_name, outcome, delay_seconds, NULL AS body
   FROM recent ORDER BY received_ms DESC, id DESC LIMIT $2::bigint)
  UNION ALL
  (SELECT 1, s.delay_seconds, r.id, r.received_ms, NULL, NULL, NULL, NULL, s.delay_seconds, r.body
   FROM (SELECT id, delay_seconds FROM recent ORDER BY received_ms DESC, id DESC LIMIT $3) AS s
   JOIN netready_reports AS r ON r.id = s.id ORDER BY s.delay_seconds DESC, s.id DESC LIMIT $4)
) AS w ORDER BY part, rank DESC, id DESC`;

/** A report's identity, as the unique indexes define it. */
function identity(uid: string, startedMs: number, namespace: string, name: string, node: string): string {
  return uid !== ''
    ? `u\u0000${startedMs}\u0000${uid}`
    : `n\u0000${startedMs}\u0000${namespace}\u0000${name}\u0000${node}`;
}
const identityOf = (r: Report) => identity(r.pod.uid, Date.parse(r.startedAt), r.pod.namespace, r.pod.name, r.pod.node);

/** Opens the store at `url`: connects, migrates the schema, proves it takes writes. Throws CodedError ERR_STORE_*. */
export async function openPostgresStore(url: string, options: OpenOptions): Promise<ReportStore> {
  const pool = createPool(url, options.password ?? null);
  try {
    await migrate(pool);
    const store = new PostgresStore(pool, options);
    await store.refresh(Date.now());
    await store.probeWritable(Date.now());
    return store;
  } catch (err) {
    const error = openError(err, describeTarget(pool));
    await pool.end().catch(() => {});
    throw error;
  }
}

/** A newest-first page of `table` under the conditions whose value is given; one row more than `limit` tells whether another page follows. */
function pageQuery(
  table: string,
  limit: number,
  conditions: readonly (readonly [string, string, string | number | undefined])[],
): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  for (const [column, op, value] of conditions) {
    if (value === undefined) continue;
    params.push(value);
    where.push(`${column} ${op} $${params.length}`);
  }
  params.push(limit + 1);
  return {
    sql: `SELECT id, received_ms, body FROM ${table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  };
}

class PostgresStore implements ReportStore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #options: StoreOptions;
  readonly #reader: WindowReader;
  /** This replica's cells of its newest minutes, which summaries read from memory. */
  readonly #own = new OwnCells(PG_SETTLE_MS);
  #rows = 0;
  #countedAtMs = Number.NaN;
  /** The retention floor as last read: no report is stored as received before it. */
  #floorMs = 0;
  #lastReceivedMs = 0;

  constructor(pool: pg.Pool, options: StoreOptions) {
    this.#pool = pool;
    this.#options = options;
    this.#reader = new WindowReader(new PgAggregates(pool, this.#own));
  }

  get rows(): number {
    return this.#rows;
  }

  /** Counts the reports and reads the retention floor, at most once per ROW_COUNT_INTERVAL_MS of `nowMs`. */
  async refresh(nowMs: number): Promise<void> {
    if (Math.abs(nowMs - this.#countedAtMs) < ROW_COUNT_INTERVAL_MS) return;
    const r = await this.#pool.query<{ n: string; floor: string | null }>(
      "SELECT (SELECT count(*) FROM netready_reports) AS n, (SELECT value FROM netready_meta WHERE key = 'floor_ms') AS floor",
    );
    this.#rows = Number(r.rows[0]!.n);
    this.#floorMs = Number(r.rows[0]!.floor ?? 0);
    this.#countedAtMs = nowMs;
  }

  /**
   * A `receivedMs` before this replica's last batch, or before the retention
   * floor, is stored as that: receive times never go backward on a replica,
   * and nothing lands in minutes that retention has deleted.
   */
  async insertBatch(reports: readonly Report[], receivedMs: number): Promise<(number | null)[]> {
    receivedMs = Math.max(receivedMs, this.#lastReceivedMs, this.#floorMs);
    // Set before the round trip: a batch committing beside this one is not received earlier.
    this.#lastReceivedMs = receivedMs;
    const keys = reports.map(identityOf);
    // Stable: of identical reports, the first received stays first (and is the one stored).
    const order = keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
    const sorted = order.map((i) => reports[i]!);
    const col = <T>(f: (r: Report) => T) => sorted.map(f);
    const replica = await this.#own.replica(this.#pool);
    const values = [
      receivedMs,
      periodStart(receivedMs, 0),
      col((r) => r.pod.uid),
      col((r) => r.pod.namespace),
      col((r) => r.pod.name),
      col((r) => r.pod.node),
      col((r) => Date.parse(r.startedAt)),
      col((r) => r.outcome),
      col((r) => r.delaySeconds),
      col((r) => JSON.stringify(r)).join(BODY_SEPARATOR),
      replica,
    ];
    let inserted: pg.QueryResult<{
      id: string;
      pod_uid: string;
      pod_namespace: string;
      pod_name: string;
      node: string;
      started_ms: string;
    }>;
    for (let attempt = 1; ; attempt++) {
      try {
        // Named: prepared once per connection.
        inserted = await this.#pool.query({ name: 'netready_insert_batch', text: INSERT_BATCH, values });
        break;
      } catch (err) {
        if (attempt < RETRIES && RETRYABLE.has((err as { code?: string }).code ?? '')) continue;
        // Rolled back, or committed with the answer lost: the cells held may now lack some of ours.
        this.#own.forget();
        throw err;
      }
    }
    const newIds = new Map(
      inserted.rows.map((r) => [
        identity(r.pod_uid, Number(r.started_ms), r.pod_namespace, r.pod_name, r.node),
        Number(r.id),
      ]),
    );
    // The first of several identical reports in the batch is the one stored.
    const answered = new Set<string>();
    const ids = keys.map((key) => {
      const id = newIds.get(key);
      if (id === undefined || answered.has(key)) return null;
      answered.add(key);
      this.#rows++;
      return id;
    });
    this.#own.committed(
      replica,
      cellsOf(
        reports.filter((_, i) => ids[i] !== null),
        receivedMs,
      ),
      receivedMs,
    );
    return ids;
  }

  async insertOutage(outage: Outage, receivedMs: number): Promise<number | null> {
    const p = outage.pod;
    const r = await this.#pool.query<{ id: string }>(
      `INSERT INTO netready_outages (received_ms, pod_uid, pod_namespace, pod_name, node, started_ms, body) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        Math.max(receivedMs, this.#lastReceivedMs, this.#floorMs),
        p.uid,
        p.namespace,
        p.name,
        p.node,
        Date.parse(outage.startedAt),
        JSON.stringify(outage),
      ],
    );
    return r.rows[0] ? Number(r.rows[0].id) : null;
  }

  async listOutages(filter: OutageFilter): Promise<OutagePage> {
    const { sql, params } = pageQuery('netready_outages', filter.limit, [
      ['id', '<', filter.beforeId],
      ['node', '=', filter.node],
      ['pod_namespace', '=', filter.namespace],
    ]);
    const rows = (await this.#pool.query<BodyRow>(sql, params)).rows;
    return {
      outages: decodeOutages(rows.slice(0, filter.limit), this.#options.onCorruptRow),
      nextBeforeId: nextBeforeId(rows, filter.limit),
    };
  }

  async list(filter: ReportFilter): Promise<ReportPage> {
    const { sql, params } = pageQuery('netready_reports', filter.limit, [
      ['id', '<', filter.beforeId],
      ['node', '=', filter.node],
      ['pod_namespace', '=', filter.namespace],
      ['outcome', '=', filter.outcome],
      ['started_ms', '>=', filter.startedSinceMs],
      ['delay_seconds', '>', filter.slowerThanSeconds],
    ]);
    const rows = (await this.#pool.query<BodyRow>(sql, params)).rows;
    return {
      reports: decodeReports(rows.slice(0, filter.limit), this.#options.onCorruptRow),
      nextBeforeId: nextBeforeId(rows, filter.limit),
    };
  }

  async window(sinceMs: number, nowMs: number, limits: WindowLimits): Promise<StoreWindow> {
    const floorRow = await this.#pool.query<{ value: string }>(
      "SELECT value FROM netready_meta WHERE key = 'floor_ms'",
    );
    const floor = Number(floorRow.rows[0]?.value ?? 0);
    const fromMs = Math.max(periodStart(sinceMs, 0), floor);
    // The rows on a connection of their own while the aggregates are read: one round trip,
    // with the slowest of the newest `slowestOf` picked by the server (only they come back whole).
    const recent = this.#pool.query<[string, string, string, string, string, 'ready' | 'timeout', number, string]>({
      text: WINDOW_ROWS,
      values: [Math.max(sinceMs, floor), limits.recent, limits.slowestOf, limits.slowest],
      rowMode: 'array',
    });
    // Handled below; without this, a failure while the totals are read would be unhandled.
    recent.catch(() => {});
    const totals = await this.#reader.totals(fromMs, periodStart(nowMs, 0) + MINUTE_MS);
    const rows: WindowRow[] = [];
    const bodies: BodyRow[] = [];
    for (const r of (await recent).rows) {
      if (r[7] !== null) bodies.push({ id: r[0], received_ms: r[1], body: r[7] });
      else
        rows.push({
          id: Number(r[0]),
          receivedMs: Number(r[1]),
          node: r[2],
          namespace: r[3],
          name: r[4],
          outcome: r[5],
          delaySeconds: r[6],
        });
    }
    return { fromMs, totals, rows, slowest: decodeReports(bodies, this.#options.onCorruptRow) };
  }

  async maintain(nowMs: number): Promise<number> {
    await this.refresh(nowMs);
    const step = await upkeepStep(this.#pool, nowMs, {
      rows: this.#rows,
      maxRows: this.#options.maxRows,
      maxAgeMs: this.#options.maxAgeMs,
    });
    // null: another replica is at it; nothing to do here now.
    if (step === null) return 0;
    this.#rows = Math.max(0, this.#rows - step.deleted);
    this.#floorMs = Math.max(this.#floorMs, step.floorMs);
    return step.work;
  }

  async probeWritable(nowMs: number): Promise<void> {
    await this.#pool.query(
      'INSERT INTO netready_probe (id, at_ms) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms',
      [nowMs],
    );
  }

  async close(): Promise<void> {
    if (this.#pool.ending) return;
    await this.#pool.end();
  }
}
