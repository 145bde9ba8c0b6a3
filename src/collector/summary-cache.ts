// GET /v1/summary for many viewers at the price of one: the dashboard asks
// every 5 s per open page, and every viewer of the same window (its start
// minute: the summary's window is whole minutes) within TTL_MS gets the same
// answer, computed and encoded once (a summary is ~200 KiB of JSON). Answers
// are at most TTL_MS old.
import { BUSY } from './read-gate.ts';

/** How long one computed summary answers for its window. */
export const SUMMARY_TTL_MS = 1_000;

/** A summary's JSON text, or BUSY. */
type ReadSummary = (sinceMs: number, nowMs: number) => Promise<string | typeof BUSY>;

/** `read` behind a cache keyed by the window's start minute; a BUSY or failed read is not kept. */
export function cachedSummaries(read: ReadSummary, ttlMs = SUMMARY_TTL_MS): ReadSummary {
  const cache = new Map<number, { at: number; answer: Promise<string | typeof BUSY> }>();
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
