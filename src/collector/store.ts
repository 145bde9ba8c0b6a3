// The report store: one SQLite database (node:sqlite) in WAL mode with
// synchronous=FULL, so a committed transaction is on disk when COMMIT returns.
// Writes come in batches (see committer.ts): one transaction, one fsync, many
// reports. Reports are stored whole (the validated JSON) next to the columns
// that the list queries filter on.
//
// The table has no secondary index beyond the two that make a report's
// identity. An index on node or namespace takes each insert on another page
// (40 nodes: a batch of 30 reports dirtied ~30 of its pages), and every page
// dirtied is written to the WAL at commit: without the node, namespace and
// receive-time indexes the collector's ingest went from 0.38x to 0.57x of a
// bare HTTP server's (BENCHMARKS.md). Instead, ids and receive times grow together (the receive
// time never goes backward, see insertBatch), so "newest", "oldest" and
// "received since" are walks of the rowid from one end, and a filtered list
// looks at a bounded range of ids per page (LIST_SCAN_IDS).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Report } from '../lib/report.ts';

/** A stored report as GET /v1/reports returns it. */
export interface StoredReport {
  readonly id: number;
  readonly receivedAt: string;
  readonly report: Report;
}

/** Filters of a list query; every one optional. `beforeId` is the pagination cursor: ids below it. */
export interface ReportFilter {
  readonly node?: string | undefined;
  readonly namespace?: string | undefined;
  readonly outcome?: 'ready' | 'timeout' | undefined;
  /** Reports whose agent started at or after this epoch ms. */
  readonly startedSinceMs?: number | undefined;
  /** Reports whose delay exceeds this many seconds. */
  readonly slowerThanSeconds?: number | undefined;
  readonly beforeId?: number | undefined;
  readonly limit: number;
}

/** A report in the dashboard's window: the columns its figures need, without the body. */
export interface WindowRow {
  readonly id: number;
  readonly receivedMs: number;
  readonly node: string;
  readonly namespace: string;
  readonly name: string;
  readonly outcome: 'ready' | 'timeout';
  readonly delaySeconds: number;
}

// AUTOINCREMENT: ids are never reused, even after retention has deleted every
// row, so a pagination cursor always means what it meant. The two partial
// unique indexes make a report's identity its pod uid and start time, or, for
// an agent run outside Kubernetes (no uid), its pod name, namespace and node.
// Start time first: a report arrives soon after its agent started, so inserts
// land at the end of these indexes. The DROPs remove the secondary indexes of
// stores written by earlier versions. Pod uids are random: a uid-first index
// takes every insert on a random page, which cost 1.6x the bytes written and
// 1.2x the CPU per report with bench/collector's reports (BENCHMARKS.md).
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
DROP INDEX IF EXISTS reports_node;
DROP INDEX IF EXISTS reports_namespace;
DROP INDEX IF EXISTS reports_received;
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms INTEGER NOT NULL) STRICT;
`;

/** Rows beyond the limit one commit deletes in addition to its own count. */
const TRIM_EXTRA_PER_COMMIT = 1000;
/** Ids one list page looks at, at most: a few milliseconds however rare the filter's match. */
export const LIST_SCAN_IDS = 20_000;

export interface StoreOptions {
  /** Rows kept at most; each commit deletes the oldest beyond it. */
  readonly maxRows: number;
}

/** A page of a list query; `nextBeforeId` is the cursor of the next page, null after the last. */
export interface ReportPage {
  readonly reports: StoredReport[];
  readonly nextBeforeId: number | null;
}

/** Opens (creating if needed) the store at `path` (`:memory:` allowed). Throws when the file cannot be opened or written. */
export function openStore(path: string, options: StoreOptions): ReportStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  try {
    // WAL: readers never block the writer. FULL: the WAL is fsynced at every
    // commit, so an acknowledged report survives a crash of the process or the
    // machine. journal_size_limit keeps the WAL file from staying large after
    // a burst.
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA journal_size_limit = 67108864; PRAGMA busy_timeout = 5000;');
    db.exec(SCHEMA);
    return new ReportStore(db, options);
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The SQLite-backed report store. All methods are synchronous; the caller batches writes. */
export class ReportStore {
  readonly #db: DatabaseSync;
  readonly #maxRows: number;
  readonly #insert: StatementSync;
  readonly #trimOldest: StatementSync;
  readonly #deleteOlder: StatementSync;
  readonly #probe: StatementSync;
  readonly #idRange: StatementSync;
  readonly #lists = new Map<string, StatementSync>();
  #rows: number;
  #lastReceivedMs: number;

  constructor(db: DatabaseSync, options: StoreOptions) {
    this.#db = db;
    this.#maxRows = options.maxRows;
    this.#insert = db.prepare(
      `INSERT INTO reports (received_ms, pod_uid, pod_namespace, pod_name, node, started_ms, outcome, delay_seconds, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
    );
    this.#trimOldest = db.prepare('DELETE FROM reports WHERE id IN (SELECT id FROM reports ORDER BY id LIMIT ?)');
    // The oldest `limit` rows, and of those the ones received before the
    // cutoff: receive times grow with ids, so that is a prefix, found without
    // an index and without walking past it.
    this.#deleteOlder = db.prepare('DELETE FROM reports WHERE id IN (SELECT id FROM reports ORDER BY id LIMIT ?) AND received_ms < ?');
    this.#probe = db.prepare('INSERT INTO probe (id, at_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms');
    // Two subqueries: SQLite answers a lone min() or max() from the end of the rowid, both in one SELECT by a full scan.
    this.#idRange = db.prepare('SELECT (SELECT min(id) FROM reports) AS first, (SELECT max(id) FROM reports) AS last');
    this.#rows = Number((db.prepare('SELECT count(*) AS n FROM reports').get() as { n: number }).n);
    this.#lastReceivedMs = Number((db.prepare('SELECT received_ms FROM reports ORDER BY id DESC LIMIT 1').get() as { received_ms: number } | undefined)?.received_ms ?? 0);
  }

  /** Rows in the store. */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Stores `reports` in one transaction, then deletes the oldest rows beyond
   * the row limit in the same transaction. Returns each report's new id, or
   * null for a report already stored. When it returns, the batch is durable.
   * A `receivedMs` before the last batch's (the clock was stepped back) is
   * stored as the last batch's: receive times never go backward, which the
   * index-free queries rely on.
   */
  insertBatch(reports: readonly Report[], receivedMs: number): (number | null)[] {
    receivedMs = Math.max(receivedMs, this.#lastReceivedMs);
    const ids: (number | null)[] = [];
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const r of reports) {
        const row = this.#insert.get(receivedMs, r.pod.uid, r.pod.namespace, r.pod.name, r.pod.node, Date.parse(r.startedAt), r.outcome, r.delaySeconds, JSON.stringify(r)) as { id: number } | undefined;
        ids.push(row ? Number(row.id) : null);
      }
      const inserted = ids.filter((id) => id !== null).length;
      // At the limit, as many go as came in. A store far over it (the limit
      // was lowered) shrinks by a bounded amount per commit, and in retention
      // sweeps, never in one long pause.
      const excess = Math.min(this.#rows + inserted - this.#maxRows, inserted + TRIM_EXTRA_PER_COMMIT);
      const trimmed = excess > 0 ? Number(this.#trimOldest.run(excess).changes) : 0;
      this.#db.exec('COMMIT');
      this.#rows += inserted - trimmed;
      this.#lastReceivedMs = receivedMs;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
    return ids;
  }

  /** Deletes up to `limit` of the oldest reports beyond the row limit; returns how many. */
  trimExcess(limit: number): number {
    const excess = Math.min(this.#rows - this.#maxRows, limit);
    if (excess <= 0) return 0;
    const deleted = Number(this.#trimOldest.run(excess).changes);
    this.#rows -= deleted;
    return deleted;
  }

  /** Deletes up to `limit` reports received before `cutoffMs`; returns how many. Call again while it returns `limit`. */
  deleteReceivedBefore(cutoffMs: number, limit: number): number {
    const deleted = Number(this.#deleteOlder.run(limit, cutoffMs).changes);
    this.#rows -= deleted;
    return deleted;
  }

  /**
   * Newest first, at most `filter.limit` reports, from the LIST_SCAN_IDS ids
   * below the cursor. A filter that matches few reports can fill less than a
   * page, even none, while older ids remain: then `nextBeforeId` says where to
   * go on. It is null once the oldest report has been looked at.
   */
  list(filter: ReportFilter): ReportPage {
    const range = this.#idRange.get() as { first: number | null; last: number | null };
    if (range.first === null || range.last === null) return { reports: [], nextBeforeId: null };
    const before = Math.min(filter.beforeId ?? Infinity, Number(range.last) + 1);
    const floor = before - LIST_SCAN_IDS;
    const where = ['id < ?', 'id >= ?'];
    const params: (string | number)[] = [before, floor];
    const add = (sql: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(sql);
      params.push(value);
    };
    add('node = ?', filter.node);
    add('pod_namespace = ?', filter.namespace);
    add('outcome = ?', filter.outcome);
    add('started_ms >= ?', filter.startedSinceMs);
    add('delay_seconds > ?', filter.slowerThanSeconds);
    // At most 2^5 shapes of query: each is prepared once. One more row than
    // asked tells whether the page ends before the range does.
    const rows = this.#prepared(`SELECT id, received_ms, body FROM reports WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...params, filter.limit + 1) as {
      id: number;
      received_ms: number;
      body: string;
    }[];
    const page = rows.slice(0, filter.limit);
    const full = rows.length > filter.limit;
    const nextBeforeId = full ? Number(page.at(-1)!.id) : floor > Number(range.first) ? floor : null;
    return {
      reports: page.map((r) => ({ id: Number(r.id), receivedAt: new Date(Number(r.received_ms)).toISOString(), report: JSON.parse(r.body) as Report })),
      nextBeforeId,
    };
  }

  #prepared(sql: string): StatementSync {
    let stmt = this.#lists.get(sql);
    if (!stmt) this.#lists.set(sql, (stmt = this.#db.prepare(sql)));
    return stmt;
  }

  /**
   * The dashboard's window: the newest `limit` reports received at or after
   * `sinceMs`, newest first; whether older ones were left out; and the
   * `slowest` of the same reports whole (slowest first, newer first among
   * equals). One walk of the rowid from its end: receive times grow with ids,
   * so the reports received since `sinceMs` are the newest, and the cost is
   * bounded by `limit` however large the store; only those few bodies are read.
   */
  window(sinceMs: number, limit: number, slowest: number): { rows: WindowRow[]; more: boolean; slowest: StoredReport[] } {
    const newest = this.#prepared('SELECT id, received_ms, node, pod_namespace, pod_name, outcome, delay_seconds FROM reports ORDER BY id DESC LIMIT ?').all(limit + 1) as {
      id: number;
      received_ms: number;
      node: string;
      pod_namespace: string;
      pod_name: string;
      outcome: 'ready' | 'timeout';
      delay_seconds: number;
    }[];
    const since = newest.findIndex((r) => Number(r.received_ms) < sinceMs);
    const found = since === -1 ? newest : newest.slice(0, since);
    const rows: WindowRow[] = found.slice(0, limit).map((r) => ({ id: Number(r.id), receivedMs: Number(r.received_ms), node: r.node, namespace: r.pod_namespace, name: r.pod_name, outcome: r.outcome, delaySeconds: r.delay_seconds }));
    const top = rows.toSorted((a, b) => b.delaySeconds - a.delaySeconds || b.id - a.id).slice(0, slowest);
    const bodies = new Map(
      (this.#prepared('SELECT id, received_ms, body FROM reports WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(top.map((r) => r.id))) as { id: number; received_ms: number; body: string }[]).map((r) => [Number(r.id), r]),
    );
    return {
      rows,
      more: found.length > limit,
      // Both statements run in this one synchronous call: no row can go in between.
      slowest: top.map((r) => {
        const b = bodies.get(r.id)!;
        return { id: r.id, receivedAt: new Date(Number(b.received_ms)).toISOString(), report: JSON.parse(b.body) as Report };
      }),
    };
  }

  /** Proves the store takes writes: a committed one-row write. Throws when it cannot. */
  probeWritable(nowMs: number): void {
    this.#probe.run(nowMs);
  }

  /** Checkpoints the WAL into the database file and closes it. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
