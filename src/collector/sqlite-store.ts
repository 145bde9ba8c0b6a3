// The SQLite store (node:sqlite): one file in WAL mode with synchronous=FULL,
// so a committed transaction is on disk when COMMIT returns. Writes come in
// batches (see committer.ts): one transaction, one fsync, many reports and
// their minute aggregates. Reports are stored whole (the validated JSON) next
// to the columns that the list queries filter on, each of which is indexed,
// so a filtered page is a walk of one index, however rare the match. Node and
// namespace are indexed by the table report_keys, written in bulk
// (sqlite-keys.ts).
//
// Ids and receive times grow together (the receive time never goes backward,
// see insertBatch), so "newest" and "received since" are walks of the rowid
// from its end, and retention deletes a prefix of it.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { CodedError } from '../lib/errors.ts';
import type { Outage, Report } from '../lib/report.ts';
import {
  BUCKETS,
  bucketOf,
  type Cell,
  cellsOf,
  DELAY_EDGES_SQL,
  LEVEL_MS,
  MINUTE_MS,
  periodStart,
} from './aggregates.ts';
import { DELAY_BUCKETS } from './metrics.ts';
import { PendingCells } from './pending-cells.ts';
import { IDS_PER_FLUSH, type KeyIds, PendingKeys, ROUND_IDS } from './sqlite-keys.ts';
import { yieldToIngest } from './read-gate.ts';
import {
  type Checkpointer,
  DEFAULT_CHECKPOINT_PAGES,
  startCheckpointer,
  WRITER_CHECKPOINT_PAGES,
} from './sqlite-checkpointer.ts';
import { buildRollup, duePeriod, WindowReader, type AggregateSource, type MinuteCellSink } from './rollups.ts';
import { type BodyRow, decodeOutages, decodeReports, nextBeforeId } from './stored-rows.ts';
import type {
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

// AUTOINCREMENT: ids are never reused, even after retention has deleted every
// row, so a pagination cursor always means what it meant. The two partial
// unique indexes make a report's identity its pod uid and start time, or, for
// an agent run outside Kubernetes (no uid), its pod name, namespace and node.
// The filter indexes end in the id, so a page is read in id order from them;
// reports_newest walks the newest of a window, and holds their delays: the
// slowest of a window's newest thousands are picked from the index alone
// (it replaces reports_received (received_ms), dropped at open).
// report_keys: (scope, key, id) of every report by node (scope 0), by namespace (1) and
// by delay bucket (2), written in bulk (sqlite-keys.ts) instead of the indexes
// reports_node, reports_namespace and reports_delay, dropped at open (recoverKeys).
// outages: one row per outage a watch reported, its identity the pod and the
// outage's start; kept by the same retention floor as reports, and at most
// maxRows of them. agg_minute: the minute cells (aggregates.ts); rollups: one blob per rolled
// hour (level 1) or day (level 2); meta: the retention floor and how far
// rollups have got.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_ms INTEGER NOT NULL,
  pod_uid TEXT NOT NULL,
  pod_namespace TEXT NOT NULL,
  pod_name TEXT NOT NULL,
  node TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  delay_seconds REAL NOT NULL,
  body TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS reports_by_uid ON reports (started_ms, pod_uid) WHERE pod_uid <> '';
CREATE UNIQUE INDEX IF NOT EXISTS reports_by_name ON reports (started_ms, pod_namespace, pod_name, node) WHERE pod_uid = '';
CREATE INDEX IF NOT EXISTS reports_outcome ON reports (outcome, id);
CREATE INDEX IF NOT EXISTS reports_newest ON reports (received_ms, id, delay_seconds);
CREATE TABLE IF NOT EXISTS outages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_ms INTEGER NOT NULL,
  pod_uid TEXT NOT NULL,
  pod_namespace TEXT NOT NULL,
  pod_name TEXT NOT NULL,
  node TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  body TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS outages_identity ON outages (started_ms, pod_uid, pod_namespace, pod_name, node);
CREATE INDEX IF NOT EXISTS outages_node ON outages (node, id);
CREATE INDEX IF NOT EXISTS outages_namespace ON outages (pod_namespace, id);
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS rollups (level INTEGER NOT NULL, period_ms INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (level, period_ms)) STRICT;
CREATE TABLE IF NOT EXISTS report_keys (scope INTEGER NOT NULL, key TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (scope, key, id)) STRICT, WITHOUT ROWID;
`;
const AGG_TABLE = `
CREATE TABLE agg_minute (
  minute_ms INTEGER NOT NULL, scope INTEGER NOT NULL, key TEXT NOT NULL, bucket INTEGER NOT NULL,
  reports INTEGER NOT NULL, timeouts INTEGER NOT NULL, max_delay REAL NOT NULL,
  PRIMARY KEY (minute_ms, scope, key, bucket)
) STRICT, WITHOUT ROWID;
`;
/**
 * The minute cells of the reports received at or after `?`, computed from the
 * reports themselves: for a store written before aggregates existed, and at
 * every open for the minutes whose cells were still in memory (pending-cells.ts).
 */
const CELLS_FROM_REPORTS = ['node', 'pod_namespace'].map(
  (column, scope) => `
INSERT INTO agg_minute (minute_ms, scope, key, bucket, reports, timeouts, max_delay)
SELECT (received_ms / ${MINUTE_MS}) * ${MINUTE_MS}, ${scope}, ${column}, ${DELAY_EDGES_SQL}, count(*), sum(outcome = 'timeout'), max(delay_seconds)
FROM reports WHERE received_ms >= ? GROUP BY 1, 3, 4`,
);
/** Cells written per transaction when a minute's pending cells go to agg_minute: a few ms of the thread. */
export const CELLS_PER_FLUSH = 2000;

/** SQLite's primary result codes that a store at start can meet (sqlite3.h). */
const SQLITE_READONLY = 8;
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/** Opens (creating if needed) the store at `path` (`:memory:` allowed) and proves it takes writes. Throws CodedError ERR_STORE_* naming what is wrong. */
export function openSqliteStore(path: string, options: StoreOptions): ReportStore {
  let db: DatabaseSync | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new DatabaseSync(path);
    // WAL: readers never block the writer. FULL: the WAL is fsynced at every
    // commit, so an acknowledged report survives a crash of the process or the
    // machine. journal_size_limit keeps the WAL file from staying large after
    // a burst.
    db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA journal_size_limit = 134217728; PRAGMA busy_timeout = 5000;',
    );
    db.exec('BEGIN IMMEDIATE');
    db.exec(SCHEMA);
    db.exec('DROP INDEX IF EXISTS reports_received');
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'agg_minute'").get()) db.exec(AGG_TABLE);
    recomputeRecentCells(db);
    recoverKeys(db);
    db.exec('COMMIT');
    const store = new SqliteStore(db, options);
    // A store that cannot be written is unusable: say so at start (exit 1), not with 503s later.
    store.probeWritableSync(Date.now());
    if (path !== ':memory:') store.checkpointOffThread(path);
    return store;
  } catch (err) {
    if (db?.isOpen) db.close();
    throw storeError(err, path);
  }
}

/**
 * The minutes from meta `cells_ms` on may have had cells only in memory when
 * the store was last closed or the process killed: their cells are computed
 * again from the reports (a minute or two of them). A store without
 * `cells_ms` (written before pending cells, or before aggregates) gets every
 * cell from its reports... from its newest minute: older stores wrote every
 * minute's cells with its reports, and a store without agg_minute has none.
 */
function recomputeRecentCells(db: DatabaseSync): void {
  const stored = db.prepare("SELECT value FROM meta WHERE key = 'cells_ms'").get() as { value: number } | undefined;
  let fromMs: number;
  if (stored) fromMs = Number(stored.value);
  else if (db.prepare('SELECT 1 FROM agg_minute LIMIT 1').get() || !db.prepare('SELECT 1 FROM reports LIMIT 1').get()) {
    const newest = db.prepare('SELECT received_ms FROM reports ORDER BY id DESC LIMIT 1').get() as
      | { received_ms: number }
      | undefined;
    fromMs = periodStart(Number(newest?.received_ms ?? 0), 0);
  } else fromMs = 0;
  db.prepare('DELETE FROM agg_minute WHERE minute_ms >= ?').run(fromMs);
  for (const sql of CELLS_FROM_REPORTS) db.prepare(sql).run(fromMs);
  db.prepare(
    "INSERT INTO meta (key, value) VALUES ('cells_ms', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  ).run(fromMs);
}

/**
 * Puts the keys of every report from meta `keys_id` on into report_keys: those
 * that were held in memory when the store was last closed or the process
 * killed (a round's worth at most); for a store written before a scope was in
 * report_keys (its old index is there), every report's, and its old index is
 * dropped. In key order: the table is filled page after page.
 */
function recoverKeys(db: DatabaseSync): void {
  const stored = db.prepare("SELECT value FROM meta WHERE key = 'keys_id'").get() as { value: number } | undefined;
  const fromId = Number(stored?.value ?? 0);
  for (const [scope, key, oldIndex] of [
    [0, 'node', 'reports_node'],
    [1, 'pod_namespace', 'reports_namespace'],
    [2, `CAST(${DELAY_EDGES_SQL} AS TEXT)`, 'reports_delay'],
  ] as const) {
    const old = db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(oldIndex) !== undefined;
    db.prepare(
      `INSERT OR IGNORE INTO report_keys (scope, key, id) SELECT ${scope}, ${key}, id FROM reports WHERE id >= ? ORDER BY 2, 3`,
    ).run(old ? 0 : fromId);
    db.exec(`DROP INDEX IF EXISTS ${oldIndex}`);
  }
  const newest = db.prepare('SELECT id FROM reports ORDER BY id DESC LIMIT 1').get() as { id: number } | undefined;
  db.prepare(
    "INSERT INTO meta (key, value) VALUES ('keys_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  ).run(Math.max(fromId, Number(newest?.id ?? 0) + 1));
}

/** The operator's next step for an error met while opening `path`. */
function storeError(err: unknown, path: string): Error {
  const code = (err as { errcode?: number }).errcode;
  const primary = code === undefined ? undefined : code & 0xff;
  if (primary === SQLITE_CORRUPT || primary === SQLITE_NOTADB) {
    return new CodedError(
      'ERR_STORE_CORRUPT',
      `the store file ${path} is corrupt (${(err as Error).message}): stop the collector, move the file aside (with its -wal and -shm files) to start an empty store, or restore it from a backup; \`sqlite3 ${path} .recover\` may save its reports`,
      { cause: err },
    );
  }
  if (
    primary === SQLITE_READONLY ||
    (err as NodeJS.ErrnoException).code === 'EROFS' ||
    (err as NodeJS.ErrnoException).code === 'EACCES'
  ) {
    return new CodedError(
      'ERR_STORE_READONLY',
      `the store ${path} cannot be written (${(err as Error).message}): mount --db / --data-dir on a writable volume owned by the collector's user`,
      { cause: err },
    );
  }
  return new CodedError(
    'ERR_STORE_OPEN',
    `cannot open the store ${path} (${(err as Error).message}): check that --db / --data-dir is on a writable volume`,
    { cause: err },
  );
}

class SqliteStore implements ReportStore, AggregateSource {
  readonly kind = 'sqlite';
  /** One writer whose receive times never go backward: a minute is final once the next has begun. */
  readonly settleMs = 0;
  readonly #db: DatabaseSync;
  readonly #options: StoreOptions;
  readonly #insert: StatementSync;
  readonly #upsertCell: StatementSync;
  readonly #deleteOlder: StatementSync;
  readonly #probe: StatementSync;
  readonly #getMeta: StatementSync;
  readonly #setMeta: StatementSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #reader: WindowReader;
  #rows: number;
  #lastReceivedMs: number;
  /** The retention floor (meta floor_ms), kept here: only maintain() moves it, and a batch reads it. */
  #floorMs: number;
  #checkpointer: Checkpointer | null = null;
  /** Cells of reports committed since `#cellsMs`, not yet in agg_minute (pending-cells.ts). */
  readonly #pending = new PendingCells();
  /** Meta cells_ms: agg_minute holds every cell of the minutes before it; later ones may be pending. */
  #cellsMs: number;
  /** Ids of reports not yet in report_keys, per node and namespace (sqlite-keys.ts). */
  readonly #keys = new PendingKeys();
  readonly #insertKey: StatementSync;
  /** The largest report id stored so far (0: none). */
  #maxId: number;
  /** Retention's pass over report_keys: the last (scope, key) swept, null when none is under way. */
  #keySweep: { scope: number; key: string } | null = null;

  constructor(db: DatabaseSync, options: StoreOptions) {
    this.#db = db;
    this.#options = options;
    this.#insert = db.prepare(
      `INSERT INTO reports (received_ms, pod_uid, pod_namespace, pod_name, node, started_ms, outcome, delay_seconds, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
    );
    this.#upsertCell = db.prepare(
      `INSERT INTO agg_minute (minute_ms, scope, key, bucket, reports, timeouts, max_delay) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (minute_ms, scope, key, bucket) DO UPDATE SET reports = reports + excluded.reports,
         timeouts = timeouts + excluded.timeouts, max_delay = max(max_delay, excluded.max_delay)`,
    );
    // The oldest `limit` rows, and of those the ones received before the
    // cutoff: receive times grow with ids, so that is a prefix of the rowid.
    this.#deleteOlder = db.prepare(
      'DELETE FROM reports WHERE id IN (SELECT id FROM reports ORDER BY id LIMIT ?) AND received_ms < ?',
    );
    this.#probe = db.prepare(
      'INSERT INTO probe (id, at_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms',
    );
    this.#getMeta = db.prepare('SELECT value FROM meta WHERE key = ?');
    this.#setMeta = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.#insertKey = db.prepare('INSERT OR IGNORE INTO report_keys (scope, key, id) VALUES (?, ?, ?)');
    this.#floorMs = this.#meta('floor_ms') ?? 0;
    this.#cellsMs = this.#meta('cells_ms') ?? 0;
    this.#rows = Number((db.prepare('SELECT count(*) AS n FROM reports').get() as { n: number }).n);
    const newest = db.prepare('SELECT id, received_ms FROM reports ORDER BY id DESC LIMIT 1').get() as
      | { id: number; received_ms: number }
      | undefined;
    this.#lastReceivedMs = Number(newest?.received_ms ?? 0);
    this.#maxId = Number(newest?.id ?? 0);
    this.#reader = new WindowReader(this);
  }

  get rows(): number {
    return this.#rows;
  }

  /**
   * A `receivedMs` before the last batch's (the clock was stepped back) is
   * stored as the last batch's: receive times never go backward, which the
   * rowid walks rely on.
   */
  async insertBatch(reports: readonly Report[], receivedMs: number): Promise<(number | null)[]> {
    receivedMs = Math.max(receivedMs, this.#lastReceivedMs, this.#floorMs);
    const ids: (number | null)[] = [];
    let flushed: Cell[] = [];
    let keys: KeyIds[] = [];
    // A new minute, or many ids held: a round writes them all, a chunk per commit.
    if (this.#keys.size >= ROUND_IDS || periodStart(receivedMs, 0) > periodStart(this.#lastReceivedMs, 0))
      this.#keys.startRound();
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const inserted: Report[] = [];
      const newIds: number[] = [];
      for (const r of reports) {
        const row = this.#insert.get(
          receivedMs,
          r.pod.uid,
          r.pod.namespace,
          r.pod.name,
          r.pod.node,
          Date.parse(r.startedAt),
          r.outcome,
          r.delaySeconds,
          JSON.stringify(r),
        ) as { id: number } | undefined;
        ids.push(row ? Number(row.id) : null);
        if (row) {
          inserted.push(r);
          newIds.push(Number(row.id));
        }
      }
      // Ended minutes' cells go to agg_minute a chunk per commit; this batch's join the pending ones once committed.
      flushed = this.#flushCells(periodStart(receivedMs, 0), receivedMs);
      keys = this.#flushKeys();
      this.#db.exec('COMMIT');
      this.#rows += inserted.length;
      this.#lastReceivedMs = receivedMs;
      this.#pending.add(cellsOf(inserted, receivedMs));
      inserted.forEach((r, i) => this.#keys.add(newIds[i]!, r.pod.node, r.pod.namespace, bucketOf(r.delaySeconds)));
      if (newIds.length > 0) this.#maxId = newIds[newIds.length - 1]!;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      this.#pending.add(flushed);
      this.#keys.putBack(keys);
      this.#cellsMs = this.#meta('cells_ms') ?? this.#cellsMs;
      throw err;
    }
    return ids;
  }

  /**
   * Within the open transaction: writes the next IDS_PER_FLUSH ids of a round
   * under way to report_keys, and moves meta keys_id up to the smallest id
   * still held (or past the last stored). Returns what it wrote, to be put
   * back if the transaction fails.
   */
  #flushKeys(): KeyIds[] {
    const taken = this.#keys.take(IDS_PER_FLUSH);
    if (taken.length === 0) return taken;
    for (const { scope, key, ids } of taken) for (const id of ids) this.#insertKey.run(scope, key, id);
    this.#setMeta.run('keys_id', this.#keys.smallest() ?? this.#maxId + 1);
    return taken;
  }

  /** Writes the next chunk of a round of key ids in a transaction of its own; returns how many. */
  #flushKeysInTransaction(): number {
    let taken: KeyIds[] = [];
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      taken = this.#flushKeys();
      this.#db.exec('COMMIT');
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      this.#keys.putBack(taken);
      throw err;
    }
    return taken.reduce((n, k) => n + k.ids.length, 0);
  }

  /**
   * Within the open transaction: writes up to CELLS_PER_FLUSH pending cells of
   * minutes before `beforeMs`, and moves cells_ms up to the oldest minute still
   * pending, but not past the minute of `nextReceivedMs` (the earliest receive
   * time a later batch can have: reports may still arrive in that minute).
   * Returns the cells written, to be put back if the transaction fails.
   */
  #flushCells(beforeMs: number, nextReceivedMs: number): Cell[] {
    const cells = this.#pending.take(beforeMs, CELLS_PER_FLUSH);
    for (const c of cells)
      this.#upsertCell.run(c.minuteMs, c.scope, c.key, c.bucket, c.reports, c.timeouts, c.maxDelay);
    const whole = Math.min(this.#pending.oldestMinute() ?? Number.POSITIVE_INFINITY, periodStart(nextReceivedMs, 0));
    if (whole > this.#cellsMs) {
      this.#setMeta.run('cells_ms', whole);
      this.#cellsMs = whole;
    }
    return cells;
  }

  /** Writes pending cells of ended minutes (before the last batch's), a chunk at a time, each in its own transaction; returns how many. */
  #flushInTransaction(beforeMs: number): number {
    if (this.#pending.size === 0) return 0;
    let flushed: Cell[] = [];
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      flushed = this.#flushCells(beforeMs, this.#lastReceivedMs);
      this.#db.exec('COMMIT');
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      this.#pending.add(flushed);
      this.#cellsMs = this.#meta('cells_ms') ?? this.#cellsMs;
      throw err;
    }
    return flushed.length;
  }

  async insertOutage(outage: Outage, receivedMs: number): Promise<number | null> {
    const p = outage.pod;
    const row = this.#prepared(
      `INSERT INTO outages (received_ms, pod_uid, pod_namespace, pod_name, node, started_ms, body) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING RETURNING id`,
    ).get(
      Math.max(receivedMs, this.#lastReceivedMs),
      p.uid,
      p.namespace,
      p.name,
      p.node,
      Date.parse(outage.startedAt),
      JSON.stringify(outage),
    ) as { id: number } | undefined;
    return row ? Number(row.id) : null;
  }

  async listOutages(filter: OutageFilter): Promise<OutagePage> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    for (const [sql, value] of [
      ['id < ?', filter.beforeId],
      ['node = ?', filter.node],
      ['pod_namespace = ?', filter.namespace],
    ] as const) {
      if (value === undefined) continue;
      where.push(sql);
      params.push(value);
    }
    const sql = `SELECT id, received_ms, body FROM outages ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.#prepared(sql).all(...params, filter.limit + 1) as unknown as BodyRow[];
    return {
      outages: decodeOutages(rows.slice(0, filter.limit), this.#options.onCorruptRow),
      nextBeforeId: nextBeforeId(rows, filter.limit),
    };
  }

  async list(filter: ReportFilter): Promise<ReportPage> {
    // By node (or else namespace), the page is walked from that key's ids: held in memory, then report_keys.
    const by =
      filter.node !== undefined
        ? { scope: 0 as const, key: filter.node }
        : filter.namespace !== undefined
          ? { scope: 1 as const, key: filter.namespace }
          : null;
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (sql: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(sql);
      params.push(value);
    };
    const bySlowness = by === null && filter.slowerThanSeconds !== undefined;
    if (by === null && !bySlowness) add('r.id < ?', filter.beforeId);
    if (by?.scope !== 0) add('r.node = ?', filter.node);
    if (by?.scope !== 1) add('r.pod_namespace = ?', filter.namespace);
    add('r.outcome = ?', filter.outcome);
    add('r.started_ms >= ?', filter.startedSinceMs);
    add('r.delay_seconds > ?', filter.slowerThanSeconds);
    const and = where.map((w) => ` AND ${w}`).join('');
    // At most 2^5 shapes of query per source: each is prepared once. One more
    // row than asked tells whether another page follows.
    const want = filter.limit + 1;
    let rows: BodyRow[];
    if (bySlowness) {
      rows = this.#slowerThan(filter.slowerThanSeconds!, filter.beforeId, and, params, want);
    } else if (by === null) {
      rows = this.#prepared(
        `SELECT r.id, r.received_ms, r.body FROM reports AS r WHERE 1${and} ORDER BY r.id DESC LIMIT ?`,
      ).all(...params, want) as unknown as BodyRow[];
    } else {
      rows = [];
      // The ids held are all newer than the key's ids in the table: read them first, in growing chunks
      // (the other filters may match few of them).
      const held = this.#keys.idsBelow(by.scope, by.key, filter.beforeId);
      const fromHeld = this.#prepared(
        `SELECT r.id, r.received_ms, r.body FROM reports AS r WHERE r.id IN (SELECT value FROM json_each(?))${and} ORDER BY r.id DESC LIMIT ?`,
      );
      for (let at = 0, chunk = want; at < held.length && rows.length < want; at += chunk, chunk *= 2)
        rows.push(
          ...(fromHeld.all(
            JSON.stringify(held.slice(at, at + chunk)),
            ...params,
            want - rows.length,
          ) as unknown as BodyRow[]),
        );
      if (rows.length < want)
        rows.push(
          ...(this.#prepared(
            `SELECT r.id, r.received_ms, r.body FROM report_keys AS k JOIN reports AS r ON r.id = k.id
             WHERE k.scope = ? AND k.key = ? AND k.id < ?${and} ORDER BY k.id DESC LIMIT ?`,
          ).all(
            by.scope,
            by.key,
            held.length > 0 ? held[held.length - 1]! : (filter.beforeId ?? Number.MAX_SAFE_INTEGER),
            ...params,
            want - rows.length,
          ) as unknown as BodyRow[]),
        );
    }
    return {
      reports: decodeReports(rows.slice(0, filter.limit), this.#options.onCorruptRow),
      nextBeforeId: nextBeforeId(rows, filter.limit),
    };
  }

  /**
   * A page "slower than `seconds`" (with the other filters in `and`): the
   * newest ids of the delay buckets that can hold such reports (held, then in
   * report_keys) merged, newest first, and their rows read; `seconds`'s own
   * bucket also holds faster ones, which `and` filters out. `n` ids at a
   * time, doubling while the filters leave the page short.
   */
  #slowerThan(
    seconds: number,
    beforeId: number | undefined,
    and: string,
    params: (string | number)[],
    want: number,
  ): BodyRow[] {
    const newest = this.#prepared(
      'SELECT id FROM report_keys WHERE scope = 2 AND key = ? AND id < ? ORDER BY id DESC LIMIT ?',
    );
    const read = this.#prepared(
      `SELECT r.id, r.received_ms, r.body FROM reports AS r WHERE r.id IN (SELECT value FROM json_each(?))${and} ORDER BY r.id DESC LIMIT ?`,
    );
    const rows: BodyRow[] = [];
    let below = beforeId ?? Number.MAX_SAFE_INTEGER;
    // A threshold on an edge (5 s, 20 s...) leaves nothing in its own bucket.
    const first = bucketOf(seconds) + (DELAY_BUCKETS[bucketOf(seconds)] === seconds ? 1 : 0);
    for (let n = want; rows.length < want; n *= 2) {
      const ids: number[] = [];
      for (let b = first; b < BUCKETS; b++) {
        const held = this.#keys.idsBelow(2, String(b), below, n);
        ids.push(...held);
        if (held.length < n)
          for (const r of newest.all(String(b), held.length > 0 ? held[held.length - 1]! : below, n - held.length) as {
            id: number;
          }[])
            ids.push(Number(r.id));
      }
      // The newest n of them all: every bucket gave its newest n, so none newer is left out.
      const top = ids.sort((x, y) => y - x).slice(0, n);
      if (top.length > 0)
        rows.push(...(read.all(JSON.stringify(top), ...params, want - rows.length) as unknown as BodyRow[]));
      if (ids.length < n) break;
      below = top[top.length - 1]!;
    }
    return rows;
  }

  #prepared(sql: string): StatementSync {
    let stmt = this.#statements.get(sql);
    if (!stmt) this.#statements.set(sql, (stmt = this.#db.prepare(sql)));
    return stmt;
  }

  async window(sinceMs: number, nowMs: number, limits: WindowLimits): Promise<StoreWindow> {
    const floor = this.#meta('floor_ms') ?? 0;
    const fromMs = Math.max(periodStart(sinceMs, 0), floor);
    const totals = await this.#reader.totals(fromMs, periodStart(nowMs, 0) + MINUTE_MS);
    // The reports counted in `totals`: its last part (the minute cells held in memory) and this
    // line run in one synchronous stretch, so no batch committed in between. The rows below are
    // read after the reports that arrived meanwhile are taken (yieldToIngest), bounded by this id
    // so that the timeline and the slowest are of the same reports as the figures.
    const upToId = this.#maxId;
    const since = Math.max(sinceMs, floor);
    await yieldToIngest();
    // The newest reports: a walk of reports_newest from its end, bounded by `recent` and by
    // the window's start (a walk of the rowid alone went through the whole table when the
    // window held fewer than `recent`: 1-2 s at 200,000 reports).
    const newest = this.#prepared(
      'SELECT id, received_ms, node, pod_namespace, pod_name, outcome, delay_seconds FROM reports WHERE received_ms >= ? AND id <= ? ORDER BY received_ms DESC, id DESC LIMIT ?',
    ).all(since, upToId, limits.recent) as {
      id: number;
      received_ms: number;
      node: string;
      pod_namespace: string;
      pod_name: string;
      outcome: 'ready' | 'timeout';
      delay_seconds: number;
    }[];
    const rows: WindowRow[] = newest.map((r) => ({
      id: Number(r.id),
      receivedMs: Number(r.received_ms),
      node: r.node,
      namespace: r.pod_namespace,
      name: r.pod_name,
      outcome: r.outcome,
      delaySeconds: r.delay_seconds,
    }));
    // The slowest of the newest `slowestOf`, picked by SQLite from reports_newest alone (their
    // delays are in it): only the bodies of those `slowest` are read from the table.
    const slowest = decodeReports(
      this.#prepared(
        `SELECT r.id, r.received_ms, r.body FROM (
           SELECT id, delay_seconds FROM (
             SELECT id, delay_seconds FROM reports INDEXED BY reports_newest
             WHERE received_ms >= ? AND id <= ? ORDER BY received_ms DESC, id DESC LIMIT ?
           ) ORDER BY delay_seconds DESC, id DESC LIMIT ?
         ) AS n JOIN reports AS r ON r.id = n.id ORDER BY n.delay_seconds DESC, n.id DESC`,
      ).all(since, upToId, limits.slowestOf, limits.slowest) as unknown as BodyRow[],
      this.#options.onCorruptRow,
    );
    return { fromMs, totals, rows, slowest };
  }

  async rolledPeriods(fromMs: number, untilMs: number): Promise<{ level: 1 | 2; periodMs: number }[]> {
    const rows = this.#prepared('SELECT level, period_ms FROM rollups WHERE period_ms >= ? AND period_ms < ?').all(
      fromMs,
      untilMs,
    ) as { level: number; period_ms: number }[];
    return rows.map((r) => ({ level: Number(r.level) as 1 | 2, periodMs: Number(r.period_ms) }));
  }

  async readRollup(level: 1 | 2, periodMs: number): Promise<Uint8Array | null> {
    const row = this.#prepared('SELECT data FROM rollups WHERE level = ? AND period_ms = ?').get(level, periodMs) as
      | { data: Uint8Array }
      | undefined;
    return row?.data ?? null;
  }

  async readMinuteCells(fromMs: number, untilMs: number, add: MinuteCellSink): Promise<void> {
    const stmt = this.#prepared(
      'SELECT minute_ms, scope, key, bucket, reports, timeouts, max_delay FROM agg_minute WHERE minute_ms >= ? AND minute_ms < ?',
    );
    stmt.setReturnArrays(true);
    for (const r of stmt.iterate(fromMs, untilMs) as unknown as Iterable<
      [number, number, string, number, number, number, number]
    >) {
      add(Number(r[0]), Number(r[1]) as 0 | 1, r[2], Number(r[3]), Number(r[4]), Number(r[5]), r[6]);
    }
    // A cell in both (part written, part arrived since) is two calls: the reader adds them up.
    this.#pending.forEachCell(fromMs, untilMs, add);
  }

  async maintain(nowMs: number): Promise<number> {
    // Cells of ended minutes that no batch has written yet (ingest stopped): a chunk per step.
    let work = this.#flushInTransaction(periodStart(this.#lastReceivedMs, 0));
    // Key ids held since a minute that has ended: a round, a chunk per step (a batch writes one too).
    if (periodStart(nowMs, 0) > periodStart(this.#lastReceivedMs, 0)) this.#keys.startRound();
    if (this.#keys.writing) work += this.#flushKeysInTransaction();
    // Retention: the floor moves to the newest cutoff, in whole minutes, never into the current minute.
    const floor = this.#meta('floor_ms') ?? 0;
    const cutoffs = [floor];
    if (this.#options.maxAgeMs > 0) cutoffs.push(periodStart(nowMs - this.#options.maxAgeMs, 0));
    const excess = this.#rows - this.#options.maxRows;
    if (excess > 0) {
      const nth = this.#prepared('SELECT received_ms FROM reports ORDER BY id LIMIT 1 OFFSET ?').get(excess - 1) as
        | { received_ms: number }
        | undefined;
      if (nth) cutoffs.push(periodStart(Number(nth.received_ms), 0) + MINUTE_MS);
    }
    const newFloor = Math.min(Math.max(...cutoffs), periodStart(nowMs, 0));
    if (newFloor > floor) this.#setMeta.run('floor_ms', newFloor);
    this.#floorMs = Math.max(floor, newFloor);
    this.#pending.dropBefore(this.#floorMs);
    const deleted = Number(this.#deleteOlder.run(SWEEP_CHUNK, newFloor).changes);
    this.#rows -= deleted;
    work += deleted;
    if (deleted > 0) {
      // Their keys: those held go now, those in report_keys by a pass over its keys (below).
      this.#keys.dropBelow(this.#firstId());
      this.#keySweep ??= { scope: -1, key: '' };
    }
    if (this.#keySweep) work += this.#sweepKeys();
    // Outages: the same floor, and at most maxRows of them (ids grow by one per stored outage).
    const outageCap = `(SELECT coalesce(max(id), 0) FROM outages) - ${Math.floor(this.#options.maxRows)}`;
    work += Number(
      this.#prepared(
        `DELETE FROM outages WHERE id IN (SELECT id FROM outages WHERE received_ms < ? OR id <= ${outageCap} ORDER BY id LIMIT ?)`,
      ).run(newFloor, SWEEP_CHUNK).changes,
    );
    const oldestCell = this.#prepared('SELECT minute_ms FROM agg_minute ORDER BY minute_ms LIMIT 1').get() as
      | { minute_ms: number }
      | undefined;
    if (oldestCell && Number(oldestCell.minute_ms) < newFloor) {
      // Ten minutes of cells per step: bounded work whatever the rate.
      work += Number(
        this.#prepared('DELETE FROM agg_minute WHERE minute_ms < ?').run(
          Math.min(newFloor, Number(oldestCell.minute_ms) + 10 * MINUTE_MS),
        ).changes,
      );
    }
    work += Number(
      this.#prepared(
        `DELETE FROM rollups WHERE period_ms + (CASE level WHEN 1 THEN ${LEVEL_MS[1]} ELSE ${LEVEL_MS[2]} END) <= ?`,
      ).run(newFloor).changes,
    );
    work += await this.#rollUp(nowMs, newFloor);
    return work;
  }

  /** The smallest id stored, or the next one when none is. */
  #firstId(): number {
    const row = this.#prepared('SELECT id FROM reports ORDER BY id LIMIT 1').get() as { id: number } | undefined;
    return row ? Number(row.id) : this.#maxId + 1;
  }

  /**
   * One step of retention's pass over report_keys: for the next KEYS_PER_SWEEP
   * keys, deletes their ids of reports that retention deleted (below the
   * smallest id stored: a prefix of each key's range). Returns keys visited
   * plus ids deleted; the pass ends after the last key.
   */
  #sweepKeys(): number {
    const next = this.#prepared(
      'SELECT scope, key FROM report_keys WHERE (scope, key) > (?, ?) ORDER BY scope, key LIMIT 1',
    );
    const drop = this.#prepared('DELETE FROM report_keys WHERE scope = ? AND key = ? AND id < ?');
    const below = this.#firstId();
    let work = 0;
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (let n = 0; n < KEYS_PER_SWEEP && this.#keySweep; n++) {
        const at = this.#keySweep;
        const row = next.get(at.scope, at.key) as { scope: number; key: string } | undefined;
        this.#keySweep = row ? { scope: Number(row.scope), key: row.key } : null;
        if (row) work += 1 + Number(drop.run(row.scope, row.key, below).changes);
      }
      this.#db.exec('COMMIT');
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
    return work;
  }

  /** Rolls up one due hour and one due day, if any; returns how many it wrote. */
  async #rollUp(nowMs: number, floor: number): Promise<number> {
    let work = 0;
    const start = () => {
      const oldest = this.#prepared('SELECT minute_ms FROM agg_minute ORDER BY minute_ms LIMIT 1').get() as
        | { minute_ms: number }
        | undefined;
      return oldest ? Number(oldest.minute_ms) : nowMs;
    };
    let hours = this.#meta('rolled_1') ?? periodStart(start(), 1);
    let days = this.#meta('rolled_2') ?? periodStart(hours, 2);
    // Periods that began before the floor were partly deleted: never rolled up.
    hours = Math.max(hours, Math.ceil(floor / LEVEL_MS[1]) * LEVEL_MS[1]);
    days = Math.max(days, Math.ceil(floor / LEVEL_MS[2]) * LEVEL_MS[2]);
    for (const level of [1, 2] as const) {
      const from = level === 1 ? hours : days;
      const due = duePeriod(level, from, hours, nowMs);
      if (due !== null) {
        const blob = await buildRollup(this.#reader, level, due);
        this.#db.exec('BEGIN IMMEDIATE');
        try {
          if (blob)
            this.#prepared('INSERT OR REPLACE INTO rollups (level, period_ms, data) VALUES (?, ?, ?)').run(
              level,
              due,
              blob,
            );
          this.#setMeta.run(`rolled_${level}`, due + LEVEL_MS[level]);
          this.#db.exec('COMMIT');
        } catch (err) {
          if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
          throw err;
        }
        if (level === 1) hours = due + LEVEL_MS[1];
        work++;
      } else if (this.#meta(`rolled_${level}`) === null) {
        this.#setMeta.run(`rolled_${level}`, from);
      }
    }
    return work;
  }

  #meta(key: string): number | null {
    const row = this.#getMeta.get(key) as { value: number } | undefined;
    return row ? Number(row.value) : null;
  }

  async probeWritable(nowMs: number): Promise<void> {
    this.probeWritableSync(nowMs);
  }

  /** A committed one-row write; throws when the store does not take writes. */
  probeWritableSync(nowMs: number): void {
    this.#probe.run(nowMs);
  }

  /** Moves the WAL's checkpoints to a worker thread (sqlite-checkpointer.ts); the writer keeps a higher threshold of its own. */
  checkpointOffThread(path: string): void {
    this.#db.exec(`PRAGMA wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
    const passive = this.#db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
    this.#checkpointer = startCheckpointer(path, {
      // Run from the event loop, so never inside insertBatch's transaction: the last few pages, then the next commit rewinds the WAL.
      handOver: () => {
        if (!this.#db.isOpen || this.#db.isTransaction) return;
        try {
          passive.get();
        } catch {
          // The WAL is then rewound later (the next hand-over, or the writer's own checkpoint); a failing disk shows at the next commit.
        }
      },
      failed: () => {
        if (this.#db.isOpen) this.#db.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_CHECKPOINT_PAGES}`);
      },
    });
  }

  /** Checkpoints the WAL into the database file and closes it. */
  async close(): Promise<void> {
    await this.#checkpointer?.stop();
    if (!this.#db.isOpen) return;
    // Every pending cell and key id, so that the next open recomputes only the last minute's cells.
    try {
      while (this.#flushInTransaction(Number.POSITIVE_INFINITY) > 0);
      while (this.#keys.size > 0) {
        this.#keys.startRound();
        this.#flushKeysInTransaction();
      }
    } finally {
      this.#db.close();
    }
  }
}

/** Reports deleted per retention step: a few milliseconds of work. */
export const SWEEP_CHUNK = 2000;
/** Keys of report_keys visited per retention step (a seek and a range delete each): a few milliseconds. */
export const KEYS_PER_SWEEP = 500;
