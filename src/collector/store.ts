// The report store's contract, kept by two implementations: SQLite in one
// file (sqlite-store.ts, the embedded default) and PostgreSQL shared by
// several replicas (postgres-store.ts). openStore() picks one from --db.
//
// Both keep, in the transaction that stores a batch of reports, per-minute
// aggregates of them (aggregates.ts), roll complete hours and days up into
// one row each, and apply retention to reports and aggregates alike in whole
// minutes, so that a summary over any window reads aggregates, not reports.
import type { Outage, Report } from '../lib/report.ts';
import type { Totals } from './totals.ts';

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

/** A page of a list query; `nextBeforeId` is the cursor of the next page, null after the last. */
export interface ReportPage {
  readonly reports: StoredReport[];
  readonly nextBeforeId: number | null;
}

/** A recent report on the dashboard's timeline: the columns its figures need, without the body. */
export interface WindowRow {
  readonly id: number;
  readonly receivedMs: number;
  readonly node: string;
  readonly namespace: string;
  readonly name: string;
  readonly outcome: 'ready' | 'timeout';
  readonly delaySeconds: number;
}

/** A stored outage as GET /v1/outages returns it. */
export interface StoredOutage {
  readonly id: number;
  readonly receivedAt: string;
  readonly outage: Outage;
}

/** Filters of an outage list; `beforeId` is the pagination cursor: ids below it. */
export interface OutageFilter {
  readonly node?: string | undefined;
  readonly namespace?: string | undefined;
  readonly beforeId?: number | undefined;
  readonly limit: number;
}

/** A page of outages, newest first; `nextBeforeId` is the cursor of the next page, null after the last. */
export interface OutagePage {
  readonly outages: StoredOutage[];
  readonly nextBeforeId: number | null;
}

/** How many reports a window reads: the newest, and the slowest of how many newest (picked by the database). */
export interface WindowLimits {
  readonly recent: number;
  readonly slowestOf: number;
  readonly slowest: number;
}

/** What a summary needs from the store for one window. */
export interface StoreWindow {
  /** Where the aggregates start: `sinceMs` rounded down to the minute, or the retention floor if later. */
  readonly fromMs: number;
  /** Every report received in [fromMs, now], aggregated per node and per namespace. */
  readonly totals: Totals;
  /** The newest reports received at or after `sinceMs`, newest first, at most `recent`. */
  readonly rows: readonly WindowRow[];
  /** The slowest of the newest `slowestOf` reports of the window, whole, slowest first, at most `slowest`. */
  readonly slowest: readonly StoredReport[];
}

export interface StoreOptions {
  /** Reports kept at most; retention deletes whole minutes of the oldest beyond it. */
  readonly maxRows: number;
  /** Reports received longer ago than this are deleted (0: no age limit). */
  readonly maxAgeMs: number;
  /** Called once per stored row that cannot be read (a damaged body): it is skipped, not a 500. */
  readonly onCorruptRow?: (id: number) => void;
}

/** The store; every method may reject when the database cannot be reached or written. */
export interface ReportStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Reports in the store, as of the last write or retention pass. */
  readonly rows: number;
  /**
   * Stores `reports` and their aggregates in one transaction; resolves with
   * each report's new id, or null for a report already stored, once durable.
   */
  insertBatch(reports: readonly Report[], receivedMs: number): Promise<(number | null)[]>;
  /**
   * Stores one outage (`netready watch`), durable when it resolves: its new
   * id, or null when that pod's outage of that start is already stored (a
   * retried delivery). Outages are rare, so each is its own transaction.
   */
  insertOutage(outage: Outage, receivedMs: number): Promise<number | null>;
  /** Outages newest first: a full page of `filter.limit` unless it is the last. */
  listOutages(filter: OutageFilter): Promise<OutagePage>;
  /** Newest first: a full page of `filter.limit` reports unless it is the last. */
  list(filter: ReportFilter): Promise<ReportPage>;
  /** The aggregates of [sinceMs, nowMs], its newest `recent` reports, and the `slowest` of its newest `slowestOf` whole. */
  window(sinceMs: number, nowMs: number, limits: WindowLimits): Promise<StoreWindow>;
  /**
   * One bounded step of upkeep: retention (by age and by rows, in whole
   * minutes) and rolling up complete hours and days. Resolves with the rows
   * it deleted or wrote; 0 when there is nothing left to do now.
   */
  maintain(nowMs: number): Promise<number>;
  /** A committed one-row write; rejects when the store does not take writes. */
  probeWritable(nowMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Whether `db` (the --db value) names a PostgreSQL database rather than an SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(db);
}

/** Connection settings beyond the URL (PostgreSQL only). */
export interface OpenOptions extends StoreOptions {
  /** The password from --db-password-file; null: from the URL or PGPASSWORD. */
  readonly password?: string | null;
}

/** Opens the store that `db` names: a PostgreSQL URL, else an SQLite file path (or `:memory:`). */
export async function openStore(db: string, options: OpenOptions): Promise<ReportStore> {
  if (isPostgresUrl(db)) return (await import('./postgres-store.ts')).openPostgresStore(db, options);
  return (await import('./sqlite-store.ts')).openSqliteStore(db, options);
}

/** `db` fit for a log line: a URL's password replaced by `***`. */
export function redactDb(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const url = new URL(db);
    if (url.password !== '') url.password = '***';
    for (const key of [...url.searchParams.keys()]) if (/pass/i.test(key)) url.searchParams.set(key, '***');
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
