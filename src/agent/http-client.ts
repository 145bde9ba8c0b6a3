// The agent's HTTP requests (report delivery, http(s) checks) on undici's Client, taken from
// its own module rather than undici's index: the index loads fetch, pools, caches and
// interceptors the agent never uses (start-up cost, BENCHMARKS.md). Callers import() this
// module, so a pod that needs no HTTP never loads undici.
//
// One Client per request: every request opens a new connection, so a probe sends a fresh SYN
// and never queues behind a connection stuck in SYN retransmits; the Client is destroyed as
// soon as the answer is in, which drops the connection.
import Client from 'undici/lib/dispatcher/client.js';
import buildConnector from 'undici/lib/core/connect.js';
import type { LookupFunction, Socket } from 'node:net';
import type { Dispatcher } from 'undici';

export interface HttpResponse {
  readonly status: number;
  /** The first `maxBody` bytes of the body, decoded as UTF-8. */
  readonly body: string;
}

export interface RequestInit {
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** Ends the request at once, rejecting with the signal's reason. */
  readonly signal: AbortSignal;
  /**
   * Ends the request as `signal` does, but only while it is still connecting (name lookup, TCP
   * handshake): once the request is written to the connection, this signal no longer applies.
   */
  readonly connectSignal?: AbortSignal;
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
  // undici's own timeouts are off: the signals bound the request. They run on undici's coarse
  // timer wheel (a 100 ms connect timeout fires after ~1 s), too coarse for a report's tries of
  // a few hundred ms.
  const connector = buildConnector({ timeout: 0, ...(init.lookup ? { lookup: init.lookup } : {}) });
  let socket: Socket | undefined;
  const client = new Client(url.origin, {
    allowH2: false, // HTTP/1.1 only: node:http2 is not bundled
    // undici's own connector, with a hand on the socket: destroying a Client whose connection is
    // still being made leaves that socket connecting (a SYN-SENT socket and its fd per attempt on
    // a blocked network, until the kernel gives up after ~2 min), so it is destroyed here too.
    connect: (options, callback) => (socket = connector(options, callback) as unknown as Socket),
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  return send(client, url, init).finally(() => {
    if (socket?.connecting) socket.destroy();
  });
}

/** Sends `init` on `client`'s connection and destroys the client once it is answered or ended. */
function send(client: Client, url: URL, init: RequestInit): Promise<HttpResponse> {
  const max = init.maxBody ?? 0;
  return new Promise<HttpResponse>((resolve, reject) => {
    let status = 0;
    let kept = 0;
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (err: unknown, res?: HttpResponse) => {
      if (settled) return;
      settled = true;
      init.signal.removeEventListener('abort', onAbort);
      init.connectSignal?.removeEventListener('abort', onConnectAbort);
      // Errors after this (the dropped connection) concern no one.
      client.destroy().catch(() => {});
      if (res) resolve(res);
      else reject(err);
    };
    const onAbort = () => settle(init.signal.reason);
    const onConnectAbort = () => settle(init.connectSignal?.reason);
    if (init.signal.aborted) return onAbort();
    if (init.connectSignal?.aborted) return onConnectAbort();
    init.signal.addEventListener('abort', onAbort, { once: true });
    init.connectSignal?.addEventListener('abort', onConnectAbort, { once: true });
    // Once the answer is in, the request is aborted (undici reads no more) and the Client destroyed.
    const answer = (controller: Dispatcher.DispatchController) => {
      settle(null, { status, body: Buffer.concat(chunks).toString('utf8') });
      if (!controller.aborted) controller.abort(new Error('answer read'));
    };
    const handler: Dispatcher.DispatchHandler = {
      // Connected: the request is written right after this, and from now on only `signal` ends it.
      onRequestStart() {
        init.connectSignal?.removeEventListener('abort', onConnectAbort);
      },
      onResponseStart(controller, statusCode) {
        status = statusCode;
        if (max === 0) answer(controller);
      },
      onResponseData(controller, chunk) {
        chunks.push(chunk.subarray(0, max - kept));
        kept += Math.min(chunk.length, max - kept);
        if (kept >= max) answer(controller);
      },
      onResponseEnd: answer,
      onResponseError: (_controller, err) => settle(err),
    };
    client.dispatch(
      {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: init.method,
        headers: init.headers,
        body: init.body ?? null,
      },
      handler,
    );
  });
}
