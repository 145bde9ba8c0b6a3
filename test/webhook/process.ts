// The webhook as a child process (`node src/cli.ts webhook`), and an HTTPS
// client that trusts given CAs and reports which certificate it was served.
import { request, type Agent } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { TestContext } from 'node:test';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { CLI } from '../helpers/agent.ts';

/** A temp directory removed when the test ends, passed or failed. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'netready-webhook-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `netready webhook --listen 127.0.0.1:0 ARGS`; resolves once it listens. Killed when the test ends. */
export function startWebhook(t: TestContext, args: string[]): Promise<ServerProcess> {
  return startServerProcess(
    t,
    [
      process.execPath,
      CLI,
      'webhook',
      '--listen',
      '127.0.0.1:0',
      '--image',
      'registry.example/netready:0.1.0',
      ...args,
    ],
    'webhook listening',
  );
}

export interface HttpsResponse {
  readonly status: number;
  readonly text: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  readonly fingerprint: string;
  /** True when the request went over a connection opened earlier. */
  readonly reused: boolean;
  json(): any;
}

/** One HTTPS request to 127.0.0.1:port trusting `ca` (PEM list), with servername for SNI. */
export function https(
  port: number,
  options: {
    ca: string[];
    method?: string;
    path?: string;
    headers?: Record<string, string | number>;
    body?: string | Buffer;
    agent?: Agent | false;
    timeoutMs?: number;
    servername?: string;
    rejectUnauthorized?: boolean;
  },
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers,
        ca: options.ca,
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 5_000,
        ...(options.servername ? { servername: options.servername } : {}),
        rejectUnauthorized: options.rejectUnauthorized ?? true,
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.once('end', () =>
          resolve({
            status: res.statusCode!,
            text,
            fingerprint,
            reused: req.reusedSocket,
            json: () => JSON.parse(text),
          }),
        );
        res.once('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error('request timed out')));
    req.once('error', reject);
    req.end(options.body);
  });
}

/** POSTs an AdmissionReview (object or raw text) to /mutate. */
export function postReview(
  port: number,
  ca: string[],
  review: unknown,
  extra: { agent?: Agent; contentType?: string } = {},
): Promise<HttpsResponse> {
  const body = Buffer.from(typeof review === 'string' ? review : JSON.stringify(review));
  return https(port, {
    ca,
    method: 'POST',
    path: '/mutate',
    headers: { 'content-type': extra.contentType ?? 'application/json', 'content-length': body.length },
    body,
    ...(extra.agent ? { agent: extra.agent } : {}),
  });
}
