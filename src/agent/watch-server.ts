// The watch's readiness endpoint: GET /readyz answers 200 while the network
// works and 503 while it is lost; kubelet's httpGet readiness probe reads it.
// A request listener over a state getter: no probing, no I/O of its own.
import type { RequestListener, ServerResponse } from 'node:http';

/** The network as the endpoint reports it: lost since a wall-clock time, or not. */
export type Readiness = { readonly lost: false } | { readonly lost: true; readonly since: string };

/** The request listener for node:http's createServer. */
export function createReadinessListener(readiness: () => Readiness): RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/readyz')
      return send(res, 404, { error: 'not_found', message: `no route ${path}; the watch serves GET /readyz` });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, { error: 'method_not_allowed', message: 'use GET' }, { allow: 'GET, HEAD' });
    const r = readiness();
    if (r.lost)
      send(res, 503, { status: 'lost', since: r.since, message: "the pod's checks keep failing: its network is lost" });
    else send(res, 200, { status: 'ready' });
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      // A Date of our own: node:http's shared one arms a timer per response to expire its cache a
      // second later, which would wake the idle watch once more after every kubelet probe.
      date: new Date().toUTCString(),
      ...headers,
    })
    .end(text);
}
