// HTTP handling of the webhook: POST /mutate and GET /healthz. Decode, call the
// core (via admit), encode; every status but 200 is the client's fault or the
// route's. The API server treats a non-200 as a webhook failure, which the
// webhook configuration's failurePolicy Ignore turns into "admit unchanged".
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../lib/log.ts';
import type { InjectConfig } from './inject.ts';
import { admit, decodeReview, encodeReview } from './review.ts';

/** Largest review body read. The API server caps objects near 1.5 MiB (etcd); a CREATE review carries one. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface HandlerDeps {
  readonly config: InjectConfig;
  readonly log: Logger;
  readonly now: () => Date;
}

/** The request listener of the webhook's HTTPS server. */
export function createRequestListener(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return send(res, 200, 'ok\n');
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
      handleReview(Buffer.concat(chunks), res, deps);
    });
  };
}

function handleReview(body: Buffer, res: ServerResponse, { config, log, now }: HandlerDeps): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return send(res, 400, 'malformed AdmissionReview: the body is not JSON\n');
  }
  const decoded = decodeReview(parsed);
  if (!decoded.ok) {
    log.warn({ error: decoded.error }, 'malformed AdmissionReview; is the webhook configuration using admissionReviewVersions [v1]?');
    return send(res, 400, `malformed AdmissionReview: ${decoded.error}\n`);
  }
  const { request } = decoded;
  const { response, outcome } = admit(request, config, now());
  const pod = request.object as { metadata?: { name?: unknown; generateName?: unknown } } | null;
  const fields = {
    uid: request.uid,
    namespace: request.namespace,
    pod: pod?.metadata?.name ?? pod?.metadata?.generateName,
    dryRun: request.dryRun === true,
    action: outcome.action,
    ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
    ...(outcome.uid !== undefined ? { runAsUser: outcome.uid } : {}),
    ...(response.warnings ? { warnings: response.warnings } : {}),
  };
  if (outcome.action === 'failed') log.error({ ...fields, err: outcome.error }, 'injection failed; pod admitted unchanged');
  else log.info(fields, outcome.action === 'skipped' ? 'pod left unchanged' : `pod ${outcome.action}`);
  send(res, 200, encodeReview(response), { 'content-type': 'application/json' });
}

function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent) return;
  // Close rather than drain: the rest of an oversized body is not worth reading.
  send(res, 413, `body larger than ${MAX_BODY_BYTES} bytes\n`, { connection: 'close' });
  req.pause();
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
