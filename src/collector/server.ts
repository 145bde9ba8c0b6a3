// The collector's HTTP interface on node:http: routing, reading bodies within
// their limit, writing JSON. Decisions are made by the pure modules
// (report-request.ts, query.ts); the store, the ingest queue, the registry, the logger and the
// clock are passed in.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/log.ts';
import type { Outage, Report } from '../lib/report.ts';
import {
  bearerMatches,
  checkRequestHead,
  decodeDocument,
  MAX_BODY_BYTES,
  tooLarge,
  type Rejection,
} from './report-request.ts';
import type { CollectorMetrics } from './metrics.ts';
import { exposition } from './prometheus-families.ts';
import type { Clock } from './clock.ts';
import { encodeCursor, parseListQuery, parseOutageQuery } from './query.ts';
import { dashboardPage } from './dashboard/page.ts';
import { parseSummaryQuery } from './dashboard/summary.ts';
import { BUSY } from './read-gate.ts';
import type { EncodedJson } from './summary-cache.ts';
import type { OutageFilter, OutagePage, ReportFilter, ReportPage } from './store.ts';

export interface ServerDeps {
  /** Resolves with the new row id (null: already stored) once the report is durable. */
  readonly submit: (report: Report) => Promise<number | null>;
  /** BUSY: too many reads at once (read-gate.ts); the answer is a 503. */
  readonly list: (filter: ReportFilter) => Promise<ReportPage | typeof BUSY>;
  /** Resolves with the new row id (null: already stored) once the outage is durable. */
  readonly submitOutage: (outage: Outage) => Promise<number | null>;
  readonly listOutages: (filter: OutageFilter) => Promise<OutagePage | typeof BUSY>;
  /** null when the store takes writes, else why not. */
  readonly readiness: () => Promise<string | null>;
  readonly registry: Registry;
  readonly metrics: CollectorMetrics;
  readonly log: Logger;
  readonly clock: Clock;
  /** Bearer token required on POST /v1/reports; null: none. */
  readonly token: string | null;
  /** Bearer token required on the READS (--reads token); null: they are open. */
  readonly readToken: string | null;
  /** True once SIGTERM arrived: answers carry Connection: close and /readyz fails. */
  readonly stopping: () => boolean;
  /** The dashboard's figures for reports received since `sinceMs`, encoded; absent: GET /v1/summary answers 404. */
  readonly summary?: (sinceMs: number, nowMs: number) => Promise<EncodedJson | typeof BUSY>;
}

/** Bytes of a rejected body read and dropped at most before the connection is cut. */
const MAX_DISCARD_BYTES = 16 * 1024 * 1024;

type Handler = (req: IncomingMessage, res: ServerResponse, deps: ServerDeps) => Promise<void> | void;

/** What --reads token guards: the endpoints that list pods (names, uids, IPs). */
const READS = new Set(['/v1/reports', '/v1/outages', '/v1/summary']);

const ROUTES: Record<string, Partial<Record<string, Handler>>> = {
  '/v1/reports': { POST: postReport, GET: listReports },
  '/v1/outages': { GET: listOutages },
  '/metrics': { GET: metrics },
  '/healthz': { GET: (_req, res, deps) => sendJson(res, 200, { status: 'ok' }, deps) },
  '/readyz': { GET: readyz },
  '/': { GET: dashboard },
  '/v1/summary': { GET: summary },
};

/**
 * The request listener for node:http's createServer. Every request, routing
 * included, runs inside one catch: a throw or a rejection (a store that went
 * away, a bug) is a 500 for that request, never the end of the process.
 */
export function createRequestListener(deps: ServerDeps): RequestListener {
  return (req, res) => {
    Promise.resolve()
      .then(() => route(req, res, deps))
      .catch((err: unknown) => {
        try {
          deps.log.error(
            { err, path: (req.url ?? '/').split('?', 1)[0]!.slice(0, 200), method: req.method },
            'request failed',
          );
          if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: 'internal error' }, deps);
          else res.destroy();
        } catch {
          // Nothing left to tell the client; the connection goes.
          res.destroy();
        }
      });
  };
}

function route(req: IncomingMessage, res: ServerResponse, deps: ServerDeps): Promise<void> | void {
  const path = (req.url ?? '/').split('?', 1)[0]!;
  const route = Object.hasOwn(ROUTES, path) ? ROUTES[path]! : undefined;
  // HEAD is GET without a body (node:http drops it).
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
  if (!route) return sendJson(res, 404, { error: 'not_found', message: `no route ${path.slice(0, 200)}` }, deps);
  const handler = Object.hasOwn(route, method) ? route[method] : undefined;
  if (!handler)
    return sendJson(
      res,
      405,
      { error: 'method_not_allowed', message: `use ${Object.keys(route).join(' or ')}` },
      deps,
      { allow: Object.keys(route).join(', ') },
    );
  if (
    method === 'GET' &&
    READS.has(path) &&
    deps.readToken !== null &&
    !bearerMatches(req.headers.authorization, deps.readToken)
  ) {
    return sendJson(
      res,
      401,
      {
        error: 'unauthorized',
        message: 'a valid bearer token is required to read (Authorization: Bearer TOKEN; --reads token)',
      },
      deps,
      { 'www-authenticate': 'Bearer realm="netready"' },
    );
  }
  return handler(req, res, deps);
}

async function postReport(req: IncomingMessage, res: ServerResponse, deps: ServerDeps): Promise<void> {
  const early = checkRequestHead(req.headers, deps.token);
  if (early) return sendRejection(req, res, early, deps);
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === 'aborted') return;
  if (body === 'too_large') return sendRejection(req, res, tooLarge(), deps);
  const decoded = decodeDocument(body);
  if (!decoded.ok) return sendRejection(req, res, decoded.rejection, deps);
  let id: number | null;
  try {
    id = decoded.kind === 'start' ? await deps.submit(decoded.report) : await deps.submitOutage(decoded.outage);
  } catch (err) {
    // Logged once per failed commit by the pipeline.
    deps.log.debug({ err }, 'report not stored');
    deps.metrics.rejected('store_error');
    // 503: the agent retries within its report budget.
    return sendJson(res, 503, { error: 'store_error', message: 'the report could not be stored; retry' }, deps, {
      'retry-after': '1',
    });
  }
  sendJson(res, 202, id === null ? { status: 'duplicate' } : { status: 'stored', id }, deps);
}

async function listReports(req: IncomingMessage, res: ServerResponse, deps: ServerDeps): Promise<void> {
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const parsed = parseListQuery(query, deps.clock.now());
  if (!parsed.ok) return sendJson(res, 400, { error: 'invalid_query', message: parsed.error }, deps);
  const page = await deps.list(parsed.filter);
  if (page === BUSY) return sendBusy(res, deps);
  sendJson(
    res,
    200,
    { reports: page.reports, next: page.nextBeforeId === null ? null : encodeCursor(page.nextBeforeId) },
    deps,
  );
}

async function listOutages(req: IncomingMessage, res: ServerResponse, deps: ServerDeps): Promise<void> {
  const parsed = parseOutageQuery(new URLSearchParams((req.url ?? '').split('?')[1] ?? ''));
  if (!parsed.ok) return sendJson(res, 400, { error: 'invalid_query', message: parsed.error }, deps);
  const page = await deps.listOutages(parsed.filter);
  if (page === BUSY) return sendBusy(res, deps);
  sendJson(
    res,
    200,
    { outages: page.outages, next: page.nextBeforeId === null ? null : encodeCursor(page.nextBeforeId) },
    deps,
  );
}

function dashboard(_req: IncomingMessage, res: ServerResponse, deps: ServerDeps): void {
  const page = dashboardPage();
  res.writeHead(200, { ...page.headers, ...closing(deps) }).end(page.body);
}

async function summary(req: IncomingMessage, res: ServerResponse, deps: ServerDeps): Promise<void> {
  if (!deps.summary) return sendJson(res, 404, { error: 'not_found', message: 'no summary without a store' }, deps);
  const now = deps.clock.now();
  const parsed = parseSummaryQuery(new URLSearchParams((req.url ?? '').split('?')[1] ?? ''), now);
  if (!parsed.ok) return sendJson(res, 400, { error: 'invalid_query', message: parsed.error }, deps);
  const answer = await deps.summary(parsed.sinceMs, now);
  if (answer === BUSY) return sendBusy(res, deps);
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  res
    .writeHead(200, {
      'content-type': 'application/json',
      'content-length': (gzip ? answer.gzip : answer.body).length,
      'cache-control': 'no-store',
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      ...closing(deps),
    })
    .end(gzip ? answer.gzip : answer.body);
}

/** The exposition in chunks as the socket takes them, not as one string (prometheus-families.ts). */
async function metrics(_req: IncomingMessage, res: ServerResponse, deps: ServerDeps): Promise<void> {
  res.writeHead(200, { 'content-type': deps.registry.contentType, ...closing(deps) });
  // A client gone mid-way ends the pipeline with ERR_STREAM_PREMATURE_CLOSE: nothing to answer then.
  await pipeline(Readable.from(exposition(deps.registry)), res).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE') deps.log.warn({ err }, '/metrics: the exposition failed mid-way');
  });
}

async function readyz(_req: IncomingMessage, res: ServerResponse, deps: ServerDeps): Promise<void> {
  const problem = deps.stopping() ? 'shutting down' : await deps.readiness();
  sendJson(
    res,
    problem === null ? 200 : 503,
    problem === null ? { status: 'ready' } : { status: 'not_ready', message: problem },
    deps,
  );
}

/** Reads the body, at most `max` bytes; beyond that it stops collecting and returns 'too_large' at once. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too_large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) done('too_large');
      else chunks.push(chunk);
    };
    const done = (result: Buffer | 'too_large' | 'aborted') => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      chunks.length = 0;
      resolve(result);
    };
    const onEnd = () => done(Buffer.concat(chunks, size));
    const onError = () => done('aborted');
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
  });
}

/**
 * Reads and drops the rest of a rejected request's body; resolves true at its
 * end, false after cutting the connection past MAX_DISCARD_BYTES (or when the
 * client went away). Why not answer and close at once: closing a socket with
 * unread bytes makes the kernel reset the connection, and a client still
 * sending (a chunked or large upload) gets EPIPE instead of its 4xx.
 */
function discardRest(req: IncomingMessage): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let discarded = 0;
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > MAX_DISCARD_BYTES) {
        req.socket.destroy();
        resolve(false);
      }
    });
    req.once('end', () => resolve(true));
    req.once('error', () => resolve(false));
    req.resume();
  });
}

async function sendRejection(req: IncomingMessage, res: ServerResponse, r: Rejection, deps: ServerDeps): Promise<void> {
  deps.metrics.rejected(r.reason);
  deps.log.debug({ status: r.status, reason: r.reason, message: r.body.message }, 'report rejected');
  // A body declared larger than we would read is not read at all: answer and close.
  if (Number(req.headers['content-length'] ?? 0) > MAX_DISCARD_BYTES)
    return sendJson(res, r.status, r.body, deps, { ...r.headers, connection: 'close' });
  if (await discardRest(req)) sendJson(res, r.status, r.body, deps, r.headers);
}

/** Accept-Encoding takes gzip: named (or `*`) without q=0. */
export function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((part) => {
    const [name, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return (name === 'gzip' || name === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  deps: ServerDeps,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
      ...closing(deps),
    })
    .end(text);
}

/** 503 for a read refused by the read gate: the reports keep their latency; the reader comes back. */
function sendBusy(res: ServerResponse, deps: ServerDeps): void {
  deps.metrics.readRefused();
  sendJson(res, 503, { error: 'busy', message: 'too many reads at once; retry after a second' }, deps, {
    'retry-after': '1',
  });
}

/** While stopping, every answer closes its connection so that clients reconnect elsewhere. */
function closing(deps: ServerDeps): Record<string, string> {
  return deps.stopping() ? { connection: 'close' } : {};
}
