// The report store: one SQLite database (node:sqlite) in WAL mode with
// synchronous=FULL, so a committed transaction is on disk when COMMIT returns.
// Writes come in batches (see committer.ts): one transaction, one fsync, many
// reports. Reports are stored whole (the validated JSON) next to the columns
// that the list queries filter on.
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

/** Filters of a list query; every one optional. `beforeId` is the pagination cursor. */
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
// land at the end of these indexes. Pod uids are random: a uid-first index
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
CREATE INDEX IF NOT EXISTS reports_node ON reports (node, id);
CREATE INDEX IF NOT EXISTS reports_namespace ON reports (pod_namespace, id);
CREATE INDEX IF NOT EXISTS reports_received ON reports (received_ms);
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms INTEGER NOT NULL) STRICT;
`;

/** Rows beyond the limit one commit deletes in addition to its own count. */
const TRIM_EXTRA_PER_COMMIT = 1000;

export interface StoreOptions {
  /** Rows kept at most; each commit deletes the oldest beyond it. */
  readonly maxRows: number;
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
  readonly #lists = new Map<string, StatementSync>();
  #rows: number;

  constructor(db: DatabaseSync, options: StoreOptions) {
    this.#db = db;
    this.#maxRows = options.maxRows;
    this.#insert = db.prepare(
      `INSERT INTO reports (received_ms, pod_uid, pod_namespace, pod_name, node, started_ms, outcome, delay_seconds, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
    );
    this.#trimOldest = db.prepare('DELETE FROM reports WHERE id IN (SELECT id FROM reports ORDER BY id LIMIT ?)');
    this.#deleteOlder = db.prepare('DELETE FROM reports WHERE id IN (SELECT id FROM reports WHERE received_ms < ? LIMIT ?)');
    this.#probe = db.prepare('INSERT INTO probe (id, at_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms');
    this.#rows = Number((db.prepare('SELECT count(*) AS n FROM reports').get() as { n: number }).n);
  }

  /** Rows in the store. */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Stores `reports` in one transaction, then deletes the oldest rows beyond
   * the row limit in the same transaction. Returns each report's new id, or
   * null for a report already stored. When it returns, the batch is durable.
   */
  insertBatch(reports: readonly Report[], receivedMs: number): (number | null)[] {
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
    const deleted = Number(this.#deleteOlder.run(cutoffMs, limit).changes);
    this.#rows -= deleted;
    return deleted;
  }

  /** Newest first, at most `filter.limit` reports. */
  list(filter: ReportFilter): StoredReport[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
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
    add('id < ?', filter.beforeId);
    const sql = `SELECT id, received_ms, body FROM reports ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    // At most 2^6 shapes of query: each is prepared once.
    let stmt = this.#lists.get(sql);
    if (!stmt) this.#lists.set(sql, (stmt = this.#db.prepare(sql)));
    const rows = stmt.all(...params, filter.limit) as { id: number; received_ms: number; body: string }[];
    return rows.map((r) => ({ id: Number(r.id), receivedAt: new Date(Number(r.received_ms)).toISOString(), report: JSON.parse(r.body) as Report }));
  }

  /**
   * The dashboard's window: the newest `limit` reports received at or after
   * `sinceMs`, newest first; whether older ones were left out; and the
   * `slowest` of the same reports whole (slowest first, newer first among
   * equals). One walk of the received_ms index from its end, so the cost is
   * bounded by `limit` however large the store; only those few bodies are read.
   */
  window(sinceMs: number, limit: number, slowest: number): { rows: WindowRow[]; more: boolean; slowest: StoredReport[] } {
    const prepared = (sql: string) => {
      let stmt = this.#lists.get(sql);
      if (!stmt) this.#lists.set(sql, (stmt = this.#db.prepare(sql)));
      return stmt;
    };
    const found = prepared('SELECT id, received_ms, node, pod_namespace, pod_name, outcome, delay_seconds FROM reports WHERE received_ms >= ? ORDER BY received_ms DESC, id DESC LIMIT ?').all(sinceMs, limit + 1) as {
      id: number;
      received_ms: number;
      node: string;
      pod_namespace: string;
      pod_name: string;
      outcome: 'ready' | 'timeout';
      delay_seconds: number;
    }[];
    const rows: WindowRow[] = found.slice(0, limit).map((r) => ({ id: Number(r.id), receivedMs: Number(r.received_ms), node: r.node, namespace: r.pod_namespace, name: r.pod_name, outcome: r.outcome, delaySeconds: r.delay_seconds }));
    const top = rows.toSorted((a, b) => b.delaySeconds - a.delaySeconds || b.id - a.id).slice(0, slowest);
    const bodies = new Map(
      (prepared('SELECT id, received_ms, body FROM reports WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(top.map((r) => r.id))) as { id: number; received_ms: number; body: string }[]).map((r) => [Number(r.id), r]),
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
