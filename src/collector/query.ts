// GET /v1/reports query parameters -> a store filter, or a message naming the
// bad parameter. Unknown or repeated parameters are errors: a mistyped filter
// must not silently list everything.
import * as z from 'zod';
import { parseDuration } from '../lib/duration.ts';
import type { OutageFilter, ReportFilter } from './store.ts';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** A duration (`2s`, `1m30s`) or bare seconds (`2.5`): both read naturally for a delay threshold. */
function seconds(s: string): number | null {
  const value = /^\d+(?:\.\d+)?$/.test(s) ? Number(s) : (parseDuration(s) ?? NaN) / 1000;
  // 400 nines is Infinity: not a threshold.
  return Number.isFinite(value) ? value : null;
}

/**
 * Longest duration `since` may go back: the longest retention (--retention-age
 * 3650d), so nothing older can be stored. Beyond it a time is not a valid Date
 * (99999999999h) and turning it into one threw, a 500.
 */
export const MAX_SINCE_AGO = '87600h';
const MAX_SINCE_AGO_MS = parseDuration(MAX_SINCE_AGO)!;

/** `since` of the list and the summary: an RFC 3339 time, or a duration back from `nowMs` ("the last 10m"), at most MAX_SINCE_AGO. */
export function parseSince(text: string, nowMs: number): { ok: true; ms: number } | { ok: false; error: string } {
  const ago = parseDuration(text);
  if (ago !== null && ago > MAX_SINCE_AGO_MS)
    return { ok: false, error: `a duration back from now is at most ${MAX_SINCE_AGO} (3650 days)` };
  if (ago !== null) return { ok: true, ms: nowMs - ago };
  if (z.iso.datetime({ offset: true }).safeParse(text).success) return { ok: true, ms: Date.parse(text) };
  return {
    ok: false,
    error: 'expected an RFC 3339 time (2025-11-25T13:00:00Z) or a duration back from now (10m, 24h)',
  };
}

/** Cursor: the last id of a page, opaque to clients. */
export function encodeCursor(id: number): string {
  return Buffer.from(`r${id}`).toString('base64url');
}

function decodeCursor(s: string): number | null {
  const m = /^r(\d{1,15})$/.exec(Buffer.from(s, 'base64url').toString('latin1'));
  return m ? Number(m[1]) : null;
}

const custom = <T>(parse: (s: string) => T | null, message: string) =>
  z.string().transform((s, ctx) => {
    const v = parse(s);
    if (v !== null) return v;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });

const limit = custom(
  (s) => (/^\d{1,4}$/.test(s) && Number(s) >= 1 && Number(s) <= MAX_LIMIT ? Number(s) : null),
  `expected 1 to ${MAX_LIMIT}`,
).optional();
const cursor = custom(decodeCursor, 'not a cursor from a previous page').optional();

const schema = z.strictObject({
  node: z.string().max(253).optional(),
  namespace: z.string().max(253).optional(),
  outcome: z.enum(['ready', 'timeout'], { error: 'expected ready or timeout' }).optional(),
  since: z.string().optional(),
  'slower-than': custom(seconds, 'expected seconds (2.5) or a duration (2s, 1m)').optional(),
  limit,
  cursor,
});

const outageSchema = z.strictObject({
  node: z.string().max(253).optional(),
  namespace: z.string().max(253).optional(),
  limit,
  cursor,
});

/** Parses the query of GET /v1/outages: node, namespace, limit, cursor. */
export function parseOutageQuery(
  params: URLSearchParams,
): { ok: true; filter: OutageFilter } | { ok: false; error: string } {
  const r = parseParams(params, outageSchema, 'node, namespace, limit, cursor');
  if (!r.ok) return r;
  return {
    ok: true,
    filter: {
      node: r.data.node,
      namespace: r.data.namespace,
      beforeId: r.data.cursor,
      limit: r.data.limit ?? DEFAULT_LIMIT,
    },
  };
}

/** Query parameters through `schema`; repeated and unknown parameters are errors naming them. */
function parseParams<S extends z.ZodType>(
  params: URLSearchParams,
  schema: S,
  expected: string,
): { ok: true; data: z.infer<S> } | { ok: false; error: string } {
  const raw: Record<string, string> = {};
  for (const [key, value] of params) {
    if (Object.hasOwn(raw, key)) return { ok: false, error: `${key}: given more than once` };
    raw[key] = value;
  }
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, data: r.data };
  const issue = r.error.issues[0]!;
  const name = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : String(issue.path[0]);
  const message = issue.code === 'unrecognized_keys' ? `unknown parameter; expected ${expected}` : issue.message;
  return { ok: false, error: `${name}: ${message}` };
}

/** Parses the query of a list request; `nowMs` resolves `since` given as a duration ("the last 10m"). */
export function parseListQuery(
  params: URLSearchParams,
  nowMs: number,
): { ok: true; filter: ReportFilter } | { ok: false; error: string } {
  const r = parseParams(params, schema, 'node, namespace, outcome, since, slower-than, limit, cursor');
  if (!r.ok) return r;
  const q = r.data;
  let startedSinceMs: number | undefined;
  if (q.since !== undefined) {
    const since = parseSince(q.since, nowMs);
    if (!since.ok) return { ok: false, error: `since: ${since.error}` };
    startedSinceMs = since.ms;
  }
  return {
    ok: true,
    filter: {
      node: q.node,
      namespace: q.namespace,
      outcome: q.outcome,
      startedSinceMs,
      slowerThanSeconds: q['slower-than'],
      beforeId: q.cursor,
      limit: q.limit ?? DEFAULT_LIMIT,
    },
  };
}
