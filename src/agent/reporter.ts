// Delivers the report to the collector within a fixed time budget. A collector
// that is down, slow or failing costs at most that budget and never changes
// the agent's exit code; the caller logs what happened. The collector's name is
// resolved by the checks' own DNS client under the same signals, so the budget
// holds whatever DNS does, and the caller's signal (SIGTERM) ends it at once.
import { createServer, type AddressInfo } from 'node:net';
import pRetry, { AbortError } from 'p-retry';
import { CodedError } from '../lib/errors.ts';
import { lookupWith } from './lookup.ts';
import type { ResolveHost } from './checks/tcp.ts';

export type Delivery = { ok: true; attempts: number } | { ok: false; attempts: number; error: string };

export interface DeliveryOptions {
  /** Ends the delivery at once when it aborts (SIGTERM). */
  readonly signal?: AbortSignal;
  /** Resolves the collector's host name: the checks' DNS client. Without it, getaddrinfo (not abortable). */
  readonly resolve?: ResolveHost;
  /** Where on the collector the document goes (default /v1/reports). */
  readonly path?: string;
}

/**
 * POSTs `document` as JSON to the collector (a Report to /v1/reports by default, or another
 * document to `options.path`), retrying transient failures until `budgetMs` runs out.
 */
export async function deliverReport(
  collectorUrl: string,
  token: string | null,
  document: object,
  budgetMs: number,
  userAgent: string,
  options: DeliveryOptions = {},
): Promise<Delivery> {
  const budget = new AbortController();
  const timer = setTimeout(() => budget.abort(), budgetMs);
  const stop = options.signal ? AbortSignal.any([budget.signal, options.signal]) : budget.signal;
  const url = new URL(`${collectorUrl}${options.path ?? '/v1/reports'}`);
  const body = JSON.stringify(document);
  const sliceMs = Math.max(100, Math.round(budgetMs / 3));
  let attempts = 0;
  let lastError = 'no answer';
  try {
    // undici is loaded here, or earlier by rehearseDelivery while the checks wait.
    const { httpRequest } = await import('./http-client.ts');
    await pRetry(
      async () => {
        attempts++;
        // A try still connecting after its slice (a SYN, or the collector's name lookup, lost in a
        // dataplane not yet programmed) is abandoned for a fresh one rather than left waiting on
        // the kernel's 1 s retransmit. A request already written runs to the end of the budget:
        // cutting it would send the same report again to a collector that is merely slow (or to
        // an agent starved of CPU in a burst), and load it with copies.
        const connectSlice = AbortSignal.timeout(sliceMs);
        const res = await httpRequest(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': userAgent,
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body,
          signal: stop,
          connectSignal: connectSlice,
          ...(options.resolve ? { lookup: lookupWith(options.resolve, AbortSignal.any([stop, connectSlice])) } : {}),
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
        signal: stop,
        onFailedAttempt: ({ error }) => {
          lastError = error.name === 'TimeoutError' ? `not connected within ${sliceMs} ms` : error.message;
        },
      },
    );
    return { ok: true, attempts };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    let error = message;
    if (options.signal?.aborted) error = 'interrupted';
    else if (budget.signal.aborted) error = `report budget of ${budgetMs} ms used up (last error: ${lastError})`;
    return { ok: false, attempts, error };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Delivers `document` once to a stand-in collector on loopback (in this process, on a port the
 * kernel picks, answering as the collector does), so that what the first delivery pays once is
 * paid while the checks wait, not after the network came up: undici's load, llhttp's WebAssembly
 * compile and the first calls' compiles along the retry loop, the connector, the socket and the
 * answer's parse. Nothing leaves the pod. Resolves to null when no loopback socket could be opened.
 */
export async function rehearseDelivery(
  token: string | null,
  document: object,
  userAgent: string,
  options: Pick<DeliveryOptions, 'resolve'> = {},
): Promise<Delivery | null> {
  const standIn = createServer((socket) => {
    // The agent drops the connection once the answer is in.
    socket.on('error', () => {});
    socket.once('data', () => socket.write(STAND_IN_ANSWER));
  });
  standIn.unref();
  try {
    await new Promise<void>((resolve, reject) => {
      standIn.once('error', reject);
      standIn.listen(0, '127.0.0.1', resolve);
    });
  } catch {
    return null;
  }
  try {
    const { port } = standIn.address() as AddressInfo;
    return await deliverReport(`http://127.0.0.1:${port}`, token, document, REHEARSAL_BUDGET_MS, userAgent, options);
  } finally {
    standIn.close();
  }
}

/** An upper bound for the rehearsal, which nothing waits for: it must not linger. */
const REHEARSAL_BUDGET_MS = 5_000;

/** The collector's answer to a report, headers as Node's HTTP server sends them. */
const STAND_IN_ANSWER = [
  'HTTP/1.1 202 Accepted',
  'Content-Type: application/json',
  'Date: Thu, 01 Jan 1970 00:00:00 GMT',
  'Connection: keep-alive',
  'Keep-Alive: timeout=5',
  'Content-Length: 29',
  '',
  '{"status":"stored","id":"0"}\n',
].join('\r\n');
