// The watch's readiness endpoint: GET /readyz answers 200 while the network
// works and 503 while it is lost; kubelet's httpGet readiness probe reads it.
//
// Served on a bare TCP server, by hand, not through node:http: kubelet probes
// for the pod's whole life (a new connection each time, `Connection: close`),
// and node:http's machinery per request (its parser, IncomingMessage,
// ServerResponse, all cold code in a process that sleeps between probes) cost
// about as much CPU as the watch's own rounds (BENCHMARKS.md, bench/watch).
// The whole protocol here is one request per connection: read the request
// head, answer, close (RFC 9112 §9.6: a server may close after any response
// it marked `Connection: close`). Anything else is refused with a status.
import { createServer, type Server, type Socket } from 'node:net';

/** The network as the endpoint reports it: lost since a wall-clock time, or not. */
export type Readiness = { readonly lost: false } | { readonly lost: true; readonly since: string };

/** An answer: status, JSON body, extra headers, and whether the body is left out (HEAD). */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly omitBody: boolean;
}

/** A request head larger than this is refused (431); kubelet's is ~150 bytes. */
export const MAX_HEAD_BYTES = 8 * 1024;
/** A connection that has not sent its request head by then is closed (as node:http's requestTimeout did). */
export const REQUEST_TIMEOUT_MS = 5_000;

const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** `METHOD SP request-target SP HTTP/1.x`, the request line (RFC 9112 §3). */
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/(\d)\.(\d)$/;

/**
 * The answer to a request head (the text up to its blank line): pure, so
 * tests can go through every case without a socket.
 */
export function answer(head: string, readiness: () => Readiness): Reply {
  const line = REQUEST_LINE.exec(head.split('\n', 1)[0]!.replace(/\r$/, ''));
  if (line === null)
    return { status: 400, body: { error: 'bad_request', message: 'not an HTTP/1.x request' }, omitBody: false };
  const [, method, target, major] = line;
  const omitBody = method === 'HEAD';
  if (major !== '1') return { status: 505, body: { error: 'http_version', message: 'HTTP/1.x only' }, omitBody };
  // origin-form (/readyz?x) or absolute-form (http://host/readyz), the two a GET may use.
  const path = target!.replace(/^https?:\/\/[^/?#]*/i, '').split('?', 1)[0];
  if (path !== '/readyz')
    return {
      status: 404,
      body: { error: 'not_found', message: `no route ${path}; the watch serves GET /readyz` },
      omitBody,
    };
  if (method !== 'GET' && method !== 'HEAD')
    return {
      status: 405,
      body: { error: 'method_not_allowed', message: 'use GET' },
      headers: { allow: 'GET, HEAD' },
      omitBody: false,
    };
  const r = readiness();
  if (r.lost)
    return {
      status: 503,
      body: { status: 'lost', since: r.since, message: "the pod's checks keep failing: its network is lost" },
      omitBody,
    };
  return { status: 200, body: { status: 'ready' }, omitBody };
}

/** The response: status line, headers (`Connection: close`: the server closes after it), the JSON body unless omitted. */
export function formatResponse(a: Reply, date: Date): string {
  const body = JSON.stringify(a.body);
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    date: date.toUTCString(),
    connection: 'close',
    ...a.headers,
  };
  let text = `HTTP/1.1 ${a.status} ${REASONS[a.status]}\r\n`;
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  return `${text}\r\n${a.omitBody ? '' : body}`;
}

const TOO_LARGE: Reply = {
  status: 431,
  body: { error: 'head_too_large', message: `request head over ${MAX_HEAD_BYTES} bytes` },
  omitBody: false,
};

/** The readiness server; `closeAll` destroys the connections still open (SIGTERM ends the watch at once). */
export interface ReadinessServer {
  readonly server: Server;
  closeAll(): void;
}

/**
 * A TCP server answering one request per connection from `readiness`; `onAnswered` is called
 * after each readiness answer (200 or 503) is handed to the socket, as kubelet's probe gets it.
 */
export function createReadinessServer(readiness: () => Readiness, onAnswered: () => void = () => {}): ReadinessServer {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    serve(socket, readiness, onAnswered);
  });
  return {
    server,
    closeAll() {
      for (const socket of open) socket.destroy();
    },
  };
}

function serve(socket: Socket, readiness: () => Readiness, onAnswered: () => void): void {
  // A deadline per connection, released when it closes: while rounds are under 5 s apart it is
  // never the process's next timer, so it costs no wake-up of its own.
  const deadline = setTimeout(() => socket.destroy(), REQUEST_TIMEOUT_MS);
  socket.once('close', () => clearTimeout(deadline));
  socket.on('error', () => socket.destroy());
  let head = '';
  let answered = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    if (answered) return;
    head += chunk;
    const end = head.search(/\r?\n\r?\n/);
    if (end < 0 && head.length <= MAX_HEAD_BYTES) return;
    answered = true;
    const reply = end < 0 || end > MAX_HEAD_BYTES ? TOO_LARGE : answer(head.slice(0, end), readiness);
    const text = formatResponse(reply, new Date());
    // The answer is the state now; written after what onAnswered starts at once (the watch's next
    // round, whose sockets then get their answers while this wake-up still writes this one: in
    // bench/watch 0.4-0.7 ms/s less than writing first). Closed as soon as it is
    // written, as node:http does after `Connection: close`, not when the client's FIN comes: that
    // would wake the process once more per probe.
    if (reply.status === 200 || reply.status === 503) onAnswered();
    queueMicrotask(() => socket.end(text, () => socket.destroy()));
  });
}
