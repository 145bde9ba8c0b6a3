// `--listen HOST:PORT` for the servers (collector, webhook): an IPv4 address,
// a bracketed IPv6 literal (`[::]:9470`) or a host name, and a port (0 = any
// free port); the limits every connection lives under; and listening on it and
// closing down, the same for both.
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { isIP, type Server } from 'node:net';
import { isDnsName } from './check-spec.ts';
import type { Logger } from './log.ts';

export interface ListenAddress {
  /** Without brackets: what server.listen() takes. */
  readonly host: string;
  readonly port: number;
}

export type ParsedListen = { ok: true; value: ListenAddress } | { ok: false; error: string };

const EXPECTED = 'expected HOST:PORT, e.g. 0.0.0.0:9470, [::]:9470 or localhost:9470';

/** Parses `HOST:PORT`; IPv6 literals go in brackets. */
export function parseListenAddress(text: string): ParsedListen {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return { ok: false, error: EXPECTED };
  const port = Number(m[3]);
  if (port > 65535) return { ok: false, error: 'port must be 0-65535' };
  if (m[1] !== undefined) {
    if (isIP(m[1]) !== 6) return { ok: false, error: `"${m[1]}" is not an IPv6 address` };
    return { ok: true, value: { host: m[1], port } };
  }
  const host = m[2]!;
  if (isIP(host) === 4 || isDnsName(host)) return { ok: true, value: { host, port } };
  return { ok: false, error: `"${host}" is not an IPv4 address or a host name` };
}

/** Formats an address as a URL authority: IPv6 in brackets. */
export function formatHostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** What one connection may take: slow or idle clients are cut, and the number of connections is capped. */
export interface ServerLimits {
  /** From connection (or the end of the previous request) to the last header line. */
  readonly headersTimeoutMs: number;
  /** From connection to the last byte of the request body. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Connections beyond this are closed as soon as they are accepted (keep it under the file limit). */
  readonly maxConnections: number;
}

/**
 * How often node:http looks for requests past their header or request
 * timeout. Node's default, 30 s, made a 10 s timeout act like 10-40 s; this
 * makes it act like 10-10.5 s, for a walk over the open connections twice a second.
 */
export const TIMEOUT_CHECK_MS = 500;

/** The node:http(s) createServer options that make `limits`' timeouts hold within TIMEOUT_CHECK_MS. */
export function serverOptions(limits: ServerLimits): {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  };
}

/** A full server is logged at most this often. */
const DROP_LOG_MS = 60_000;

/** Caps `server`'s connections at `max`, logging (at most once a minute) how many were turned away. */
export function capConnections(server: HttpServer | HttpsServer, max: number, log: Logger): void {
  server.maxConnections = max;
  let dropped = 0;
  let loggedAt = -Infinity;
  server.on('drop', () => {
    dropped++;
    const now = performance.now();
    if (now - loggedAt < DROP_LOG_MS) return;
    loggedAt = now;
    log.warn(
      { maxConnections: max, dropped },
      'connection limit reached; new connections are being closed (see --max-connections)',
    );
  });
}

/** Listens on `host:port` (`::` takes IPv4 too); rejects with the listen error (EADDRINUSE, EACCES, ...). */
export function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, closes idle keep-alive connections, waits for the rest; after `graceMs` cuts them. Resolves true if it had to. */
export function closeServer(server: HttpServer | HttpsServer, graceMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolve(true);
    }, graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve(false);
    });
    server.closeIdleConnections();
  });
}
