// `--listen HOST:PORT` for the servers (collector, webhook): an IPv4 address,
// a bracketed IPv6 literal (`[::]:9470`) or a host name, and a port (0 = any
// free port); and listening on it and closing down, the same for both.
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { isIP } from 'node:net';
import { isDnsName } from './check-spec.ts';

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

/** Listens on `host:port` (`::` takes IPv4 too); rejects with the listen error (EADDRINUSE, EACCES, ...). */
export function listen(server: HttpServer | HttpsServer, host: string, port: number): Promise<void> {
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
