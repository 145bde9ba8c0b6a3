// A minimal HTTP(S) client on Node's built-in http/https modules. Why not
// undici: bundled, its ~700 KiB of JavaScript adds ~45 ms and ~20 MiB to every
// agent start (see BENCHMARKS.md), more than the agent's whole budget, while
// Node's own client ships precompiled in the binary. Every request opens a new
// connection (agent: false): a probe must send a fresh SYN, never queue behind
// a connection stuck in SYN retransmits.
import type { LookupFunction } from 'node:net';
import type { IncomingMessage, RequestOptions } from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export interface RequestInit {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly signal: AbortSignal;
  readonly lookup?: LookupFunction;
  /** Bytes of response body to keep; the rest is read and dropped. */
  readonly maxBody?: number;
}

/** Sends one request on a new connection and reads the response. */
export function httpRequest(url: URL, init: RequestInit): Promise<HttpResponse> {
  // getBuiltinModule, not import(): the ES module facade of node:http reads
  // every export, and one of them loads Node's internal undici (~15 ms).
  // https (and so tls) is loaded only when a URL needs it.
  const mod = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
  const options: RequestOptions = { method: init.method, headers: init.headers, agent: false, signal: init.signal };
  if (init.lookup) options.lookup = init.lookup;
  return new Promise((resolve, reject) => {
    if (init.signal.aborted) return reject(init.signal.reason);
    const req = mod.request(url, options, (res: IncomingMessage) => {
      const max = init.maxBody ?? 0;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < max) body += chunk.slice(0, max - body.length);
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(init.body);
  });
}
