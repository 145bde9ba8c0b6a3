// Delivers the report to the collector within a fixed time budget. A collector
// that is down, slow or failing costs at most that budget and never changes
// the agent's exit code; the caller logs what happened.
import pRetry, { AbortError } from 'p-retry';
import type { Report } from '../lib/report.ts';
import { CodedError } from '../lib/errors.ts';
import { httpRequest } from './http-client.ts';

export type Delivery = { ok: true; attempts: number } | { ok: false; attempts: number; error: string };

/** POSTs `report` to `<collectorUrl>/v1/reports`, retrying transient failures until `budgetMs` runs out. */
export async function deliverReport(collectorUrl: string, token: string | null, report: Report, budgetMs: number, userAgent: string): Promise<Delivery> {
  const budget = new AbortController();
  const timer = setTimeout(() => budget.abort(), budgetMs);
  const url = new URL(`${collectorUrl}/v1/reports`);
  const body = JSON.stringify(report);
  let attempts = 0;
  let lastError = 'no answer';
  try {
    await pRetry(
      async () => {
        attempts++;
        // A try whose SYN or request was lost is abandoned for a fresh one
        // rather than left waiting on the kernel's 1 s retransmit.
        const tryTimeout = AbortSignal.timeout(Math.max(100, Math.round(budgetMs / 3)));
        const res = await httpRequest(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'user-agent': userAgent,
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body,
          signal: AbortSignal.any([budget.signal, tryTimeout]),
          maxBody: 200,
        });
        if (res.status >= 200 && res.status < 300) return;
        const err = new CodedError(`HTTP_${res.status}`, `collector answered ${res.status}: ${res.body}`);
        // Other 4xx mean the collector will not take this report however often it is sent.
        const transient = res.status >= 500 || res.status === 408 || res.status === 429;
        throw transient ? err : new AbortError(err);
      },
      {
        retries: 20,
        minTimeout: 10,
        maxTimeout: 100,
        factor: 2,
        signal: budget.signal,
        onFailedAttempt: ({ error }) => {
          lastError = error.message;
        },
      },
    );
    return { ok: true, attempts };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const error = budget.signal.aborted ? `report budget of ${budgetMs} ms used up (last error: ${lastError})` : message;
    return { ok: false, attempts, error };
  } finally {
    clearTimeout(timer);
  }
}
