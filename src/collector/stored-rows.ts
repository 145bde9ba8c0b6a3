// Stored bodies back to documents, for both stores: one place decides what a damaged row is,
// and a damaged row is skipped and reported, so one bad row cannot fail a page or the dashboard.
import type { Outage, Report } from '../lib/report.ts';
import type { StoredOutage, StoredReport } from './store.ts';

/** A row as either store returns it (PostgreSQL gives bigints as strings). */
export interface BodyRow {
  id: number | string;
  received_ms: number | string;
  body: unknown;
}

/** A stored body back to a report; null when it is not the JSON object that was stored. */
export function parseBody(body: unknown): Report | null {
  const doc = parseObject(body);
  if (doc === null || typeof doc.pod !== 'object' || !Array.isArray(doc.checks)) return null;
  return doc as unknown as Report;
}

/** A stored body back to an outage; null when it is not the JSON object that was stored. */
export function parseOutageBody(body: unknown): Outage | null {
  const doc = parseObject(body);
  if (doc === null || doc.kind !== 'outage' || typeof doc.pod !== 'object' || !Array.isArray(doc.checks)) return null;
  return doc as unknown as Outage;
}

/** Report rows in order, the damaged ones skipped and passed to `onCorrupt`. */
export function decodeReports(rows: readonly BodyRow[], onCorrupt?: (id: number) => void): StoredReport[] {
  return decode(rows, parseBody, onCorrupt).map(({ id, receivedAt, doc }) => ({ id, receivedAt, report: doc }));
}

/** Outage rows in order, the damaged ones skipped and passed to `onCorrupt`. */
export function decodeOutages(rows: readonly BodyRow[], onCorrupt?: (id: number) => void): StoredOutage[] {
  return decode(rows, parseOutageBody, onCorrupt).map(({ id, receivedAt, doc }) => ({ id, receivedAt, outage: doc }));
}

/** The cursor of a page fetched with `limit + 1` rows: the last id shown, or null on the last page. */
export function nextBeforeId(rows: readonly BodyRow[], limit: number): number | null {
  return rows.length > limit ? Number(rows[limit - 1]!.id) : null;
}

interface Decoded<T> {
  id: number;
  receivedAt: string;
  doc: T;
}

function decode<T>(
  rows: readonly BodyRow[],
  parse: (body: unknown) => T | null,
  onCorrupt?: (id: number) => void,
): Decoded<T>[] {
  return rows.flatMap((r): Decoded<T>[] => {
    const doc = parse(r.body);
    if (doc === null) {
      onCorrupt?.(Number(r.id));
      return [];
    }
    return [{ id: Number(r.id), receivedAt: new Date(Number(r.received_ms)).toISOString(), doc }];
  });
}

function parseObject(body: unknown): Record<string, unknown> | null {
  try {
    const doc = typeof body === 'string' ? (JSON.parse(body) as unknown) : body;
    return typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
