// Real servers on loopback for the agent to probe and report to.
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';

export interface CollectorStub {
  readonly url: string;
  /** Parsed JSON bodies of the POST /v1/reports requests received. */
  readonly reports: unknown[];
  requests: number;
  close(): Promise<void>;
}

/** A stand-in collector: `ok` answers 202, `fail` 500, `hang` never answers; `answerAfterMs` after the body is in. */
export async function startCollectorStub(
  mode: 'ok' | 'fail' | 'hang' = 'ok',
  answerAfterMs = 0,
): Promise<CollectorStub> {
  const pending = new Set<IncomingMessage>();
  const stub: CollectorStub = {
    url: '',
    reports: [],
    requests: 0,
    close: () => closeServer(server),
  };
  const server = createHttpServer((req, res) => {
    stub.requests++;
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/reports') stub.reports.push(JSON.parse(body));
      if (mode === 'hang') return void pending.add(req);
      const answer = () => void res.writeHead(mode === 'ok' ? 202 : 500).end();
      if (answerAfterMs > 0) setTimeout(answer, answerAfterMs);
      else answer();
    });
  });
  await listen(server);
  (stub as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stub;
}

/** A TCP listener on loopback that accepts and closes connections; `accepted` counts them. */
export async function startTcpListener(port = 0): Promise<{ port: number; accepted: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { port: 0, accepted: 0, close: () => closeServer(server, sockets) };
  const server = createTcpServer((s) => {
    state.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.end();
  });
  await listen(server, port);
  state.port = (server.address() as AddressInfo).port;
  return state;
}

/** A loopback port that nothing listens on (taken, then released). */
export async function freePort(): Promise<number> {
  const l = await startTcpListener();
  await l.close();
  return l.port;
}

/** A minimal authoritative DNS server over UDP on loopback: A records from `records`, NXDOMAIN otherwise, or SERVFAIL for everything. */
export async function startDnsServer(
  records: Record<string, string>,
  mode: 'answer' | 'servfail' = 'answer',
): Promise<{ server: string; queries: number; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  const state = { server: '', queries: 0, close: () => new Promise<void>((r) => socket.close(() => r())) };
  socket.on('message', (msg, rinfo) => {
    state.queries++;
    const query = dnsPacket.decode(msg);
    const q = query.questions?.[0];
    if (!q) return;
    const address = records[q.name.toLowerCase()];
    const rcode = mode === 'servfail' ? 'SERVFAIL' : address === undefined ? 'NXDOMAIN' : 'NOERROR';
    const answers =
      rcode === 'NOERROR' && q.type === 'A' ? [{ name: q.name, type: 'A' as const, ttl: 5, data: address! }] : [];
    const reply = dnsPacket.encode({
      id: query.id,
      type: 'response',
      flags: dnsPacket.AUTHORITATIVE_ANSWER | rcodeFlag(rcode),
      questions: [q],
      answers,
    });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  state.server = `127.0.0.1:${socket.address().port}`;
  return state;
}

function rcodeFlag(rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL'): number {
  return { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 }[rcode];
}

/** An HTTP server on loopback answering every request with `status`. */
export async function startHttpServer(
  status: number,
): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const state = { url: '', requests: 0, close: () => closeServer(server) };
  const server = createHttpServer((_req, res) => {
    state.requests++;
    res.writeHead(status).end('hello');
  });
  await listen(server);
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
  return state;
}

function listen(server: Server | ReturnType<typeof createTcpServer>, port = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

function closeServer(server: Server | ReturnType<typeof createTcpServer>, sockets?: Set<Socket>): Promise<void> {
  for (const s of sockets ?? []) s.destroy();
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
