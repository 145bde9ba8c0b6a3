// HTTP handling of the webhook: POST /mutate, GET /healthz and GET /metrics.
// Decode, call the core (via admit), encode; every status but 200 is the
// client's fault or the route's. The API server treats a non-200 as a webhook
// failure, which the webhook configuration's failurePolicy Ignore turns into
// "admit unchanged". Whatever a request holds, it gets an answer and the
// process goes on serving: every handler is caught at its edge, and nothing
// taken from the request is logged unbounded.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/log.ts';
import type { InjectConfig } from './inject.ts';
import type { AdmissionResult, WebhookMetrics } from './metrics.ts';
import { admit, decodeReview, encodeReview, type Outcome } from './review.ts';

/** Largest review body read. The API server caps objects near 1.5 MiB (etcd); a CREATE review carries one. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Characters of a value taken from a request (pod name, namespace, reason) that are logged at most. */
const MAX_LOGGED = 253;

export interface HandlerDeps {
  readonly config: InjectConfig;
  readonly log: Logger;
  readonly now: () => Date;
  readonly metrics: WebhookMetrics;
  /** Served on GET /metrics. */
  readonly registry: Registry;
}

/** The request listener of the webhook's HTTPS server. */
export function createRequestListener(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    try {
      route(req, res, deps);
    } catch (err) {
      failed(res, deps, err);
    }
  };
}

function route(req: IncomingMessage, res: ServerResponse, deps: HandlerDeps): void {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' || path === '/metrics') {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    if (path === '/healthz') return send(res, 200, 'ok\n');
    return void deps.registry.metrics().then(
      (text) => send(res, 200, text, { 'content-type': deps.registry.contentType }),
      (err: unknown) => failed(res, deps, err),
    );
  }
  if (path !== '/mutate') return send(res, 404, 'not found\n');
  if (req.method !== 'POST') return send(res, 405, 'method not allowed\n', { allow: 'POST' });
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    req.resume();
    return send(res, 415, 'expected Content-Type: application/json\n');
  }
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return tooLarge(req, res);
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return tooLarge(req, res);
    chunks.push(chunk);
  });
  req.once('error', () => res.destroy());
  req.once('end', () => {
    if (res.headersSent) return;
    // An event handler is an edge of its own: a throw here would not reach the listener's catch.
    try {
      handleReview(Buffer.concat(chunks), res, deps);
    } catch (err) {
      failed(res, deps, err);
    }
  });
}

function handleReview(body: Buffer, res: ServerResponse, { config, log, now, metrics }: HandlerDeps): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    metrics.admission('error');
    return send(res, 400, 'malformed AdmissionReview: the body is not JSON\n');
  }
  const decoded = decodeReview(parsed);
  if (!decoded.ok) {
    metrics.admission('error');
    log.warn(
      { error: clip(decoded.error) },
      'malformed AdmissionReview; is the webhook configuration using admissionReviewVersions [v1]?',
    );
    return send(res, 400, `malformed AdmissionReview: ${decoded.error}\n`);
  }
  const { request } = decoded;
  const { response, outcome } = admit(request, config, now());
  metrics.admission(RESULTS[outcome.action]);
  // Answer first: the log line below cannot hold the answer up or lose it.
  send(res, 200, encodeReview(response), { 'content-type': 'application/json' });
  const pod = request.object as { metadata?: { name?: unknown; generateName?: unknown } } | null;
  const fields = {
    uid: request.uid,
    namespace: clip(request.namespace),
    pod: clip(pod?.metadata?.name ?? pod?.metadata?.generateName),
    dryRun: request.dryRun === true,
    action: outcome.action,
    ...(outcome.reason !== undefined ? { reason: clip(outcome.reason) } : {}),
    ...(outcome.uid !== undefined ? { runAsUser: outcome.uid } : {}),
    ...(response.warnings ? { warnings: response.warnings } : {}),
  };
  if (outcome.action === 'failed')
    log.error({ ...fields, err: outcome.error }, 'injection failed; pod admitted unchanged');
  else log.info(fields, outcome.action === 'skipped' ? 'pod left unchanged' : `pod ${outcome.action}`);
}

const RESULTS: Record<Outcome['action'], AdmissionResult> = {
  injected: 'injected',
  fixed: 'injected',
  skipped: 'skipped',
  failed: 'error',
};

/** A string from the request, cut to MAX_LOGGED characters; anything else (an array, an object nested 2,500 deep) is not logged. */
function clip(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length <= MAX_LOGGED ? value : `${value.slice(0, MAX_LOGGED)}…`;
}

/** The last resort of every handler: log what can be logged, answer 500 (failurePolicy Ignore admits the pod), keep serving. */
function failed(res: ServerResponse, { log }: HandlerDeps, err: unknown): void {
  try {
    log.error(
      { err: err instanceof Error ? { name: err.name, message: clip(err.message) } : { message: 'non-error thrown' } },
      'request failed',
    );
  } catch {
    // Not even a line could be written: the answer below matters more.
  }
  if (!res.headersSent) send(res, 500, 'internal error\n');
  else if (!res.writableEnded) res.destroy();
}

function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent) return;
  // Close rather than drain: the rest of an oversized body is not worth reading.
  send(res, 413, `body larger than ${MAX_BODY_BYTES} bytes\n`, { connection: 'close' });
  req.pause();
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    ...headers,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
