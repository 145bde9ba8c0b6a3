// GET /v1/summary for many viewers at the price of one: the dashboard asks
// every 5 s per open page, and every viewer of the same window (its start
// minute: the summary's window is whole minutes) within TTL_MS gets the same
// answer, computed and encoded once (a summary is ~200 KiB of JSON: encoding
// it for each of 40 viewers cost more than computing it once), plain and
// gzipped. Answers are at most TTL_MS old.
import { gzipSync } from 'node:zlib';
import { BUSY } from './read-gate.ts';

/** A JSON answer encoded once for all its viewers: its bytes, and the same gzipped. */
export interface EncodedJson {
  readonly body: Buffer;
  readonly gzip: Buffer;
}

/** Encodes `value` as JSON, plain and gzipped (level 1: ~7x smaller for a few ms, once). */
export function encodeJson(value: unknown): EncodedJson {
  const body = Buffer.from(JSON.stringify(value));
  return { body, gzip: gzipSync(body, { level: 1 }) };
}

/** How long one computed summary answers for its window. */
export const SUMMARY_TTL_MS = 1_000;

/** A summary (encoded, in the collector), or BUSY. */
type ReadSummary<T> = (sinceMs: number, nowMs: number) => Promise<T | typeof BUSY>;

/** `read` behind a cache keyed by the window's start minute; a BUSY or failed read is not kept. */
export function cachedSummaries<T>(read: ReadSummary<T>, ttlMs = SUMMARY_TTL_MS): ReadSummary<T> {
  const cache = new Map<number, { at: number; answer: Promise<T | typeof BUSY> }>();
  return (sinceMs, nowMs) => {
    const key = Math.floor(sinceMs / 60_000);
    const hit = cache.get(key);
    if (hit && nowMs - hit.at < ttlMs) return hit.answer;
    // Stale entries go, so the map holds only windows asked for within the last ttlMs.
    for (const [k, v] of cache) if (nowMs - v.at >= ttlMs) cache.delete(k);
    const entry = { at: nowMs, answer: read(sinceMs, nowMs) };
    cache.set(key, entry);
    const forget = () => {
      if (cache.get(key) === entry) cache.delete(key);
    };
    entry.answer.then((a) => a === BUSY && forget(), forget);
    return entry.answer;
  };
}
