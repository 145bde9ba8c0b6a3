// A minimal HTTP(S) client on Node's built-in http/https modules. Why not
// undici: bundled, its ~700 KiB of JavaScript adds ~45 ms and ~20 MiB to every
// agent start (see BENCHMARKS.md), more than the agent's whole budget, while
// Node's own client ships precompiled in the binary. Every request opens a new
// connection (agent: false): a probe must send a fresh SYN, never queue behind
// a connection stuck in SYN retransmits.
import { isIP, type LookupFunction } from 'node:net';
import { CodedError } from '../lib/errors.ts';
import type { ResolveHost } from './checks/tcp.ts';
import type { IncomingMessage, RequestOptions } from 'node:http';

export interface HttpResponse {
  readonly status: number;
  /** The first `maxBody` bytes of the body, decoded as UTF-8. */
  readonly body: string;
}

export interface RequestInit {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly signal: AbortSignal;
  readonly lookup?: LookupFunction;
  /** Bytes of response body to read (default 0); the connection is dropped once they are in. */
  readonly maxBody?: number;
}

/**
 * Sends one request on a new connection. Resolves once the status line and headers are in and
 * at most `maxBody` bytes of the body (or its end), then drops the connection: a slow or endless
 * body neither delays the answer nor grows memory.
 */
export function httpRequest(url: URL, init: RequestInit): Promise<HttpResponse> {
  // getBuiltinModule, not import(): the ES module facade of node:http reads
  // every export, and one of them loads Node's internal undici (~15 ms).
  // https (and so tls) is loaded only when a URL needs it.
  const mod = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
  const options: RequestOptions = { method: init.method, headers: init.headers, agent: false, signal: init.signal };
  if (init.lookup) options.lookup = init.lookup;
  const max = init.maxBody ?? 0;
  return new Promise((resolve, reject) => {
    if (init.signal.aborted) return reject(init.signal.reason);
    const req = mod.request(url, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      const done = () => {
        res.destroy(); // errors after this (the dropped connection) concern no one
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      };
      res.on('error', reject);
      if (max === 0) return done();
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk.subarray(0, max - kept));
        kept += Math.min(chunk.length, max - kept);
        if (kept >= max) done();
      });
      res.once('end', done);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * A net.connect `lookup` that resolves through netready's own DNS client under `signal`, never
 * through getaddrinfo: that runs on libuv's threads, which an abort cannot stop, and follows the
 * host's resolver settings instead of the checks' (--dns-server).
 */
export function lookupWith(resolve: ResolveHost, signal: AbortSignal): LookupFunction {
  return (hostname, options, callback) => {
    const found = isIP(hostname) ? Promise.resolve([hostname]) : resolve(hostname, signal);
    found.then(
      (addrs) => {
        const wanted = options.family === 4 || options.family === 6 ? addrs.filter((a) => isIP(a) === options.family) : addrs;
        if (wanted.length === 0) return callback(new CodedError('ENODATA', `${hostname} has no address of that family`), '', 0);
        if (options.all) callback(null, wanted.map((address) => ({ address, family: isIP(address) })));
        else callback(null, wanted[0]!, isIP(wanted[0]!));
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
