// The watch's /readyz: the pure answer to each request head, then the server on real sockets
// (kubelet's exact request, node's HTTP client with keep-alive, bad and oversized requests,
// both address families on `::`). No timing thresholds: every wait is for an event.
import assert from 'node:assert/strict';
import http from 'node:http';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { listen } from '../../src/lib/listen.ts';
import {
  answer,
  createReadinessServer,
  formatResponse,
  MAX_HEAD_BYTES,
  type Readiness,
} from '../../src/agent/watch-server.ts';

const READY = (): Readiness => ({ lost: false });
const LOST = (): Readiness => ({ lost: true, since: '2026-12-02T07:00:00.000Z' });

test('answer: the status and body for each request head', () => {
  const table: [string, () => Readiness, number, boolean][] = [
    ['GET /readyz HTTP/1.1\r\nHost: 10.0.0.5:9471\r\nConnection: close', READY, 200, false],
    ['GET /readyz HTTP/1.1\r\nHost: x', LOST, 503, false],
    ['GET /readyz?verbose=1 HTTP/1.0', READY, 200, false],
    ['GET http://10.0.0.5:9471/readyz HTTP/1.1', READY, 200, false],
    ['GET /readyz HTTP/1.1\nHost: x', READY, 200, false],
    ['HEAD /readyz HTTP/1.1', LOST, 503, true],
    ['GET / HTTP/1.1', READY, 404, false],
    ['GET /readyz/ HTTP/1.1', READY, 404, false],
    ['POST /readyz HTTP/1.1\r\nContent-Length: 2', READY, 405, false],
    ['GET /readyz HTTP/2.0', READY, 505, false],
    ['PRI * HTTP/2.0', READY, 505, false],
    ['GET /readyz', READY, 400, false],
    ['\x16\x03\x01\x02\x00\x01', READY, 400, false],
    ['GET  /readyz HTTP/1.1', READY, 400, false],
    ['', READY, 400, false],
  ];
  for (const [head, readiness, status, omitBody] of table) {
    const r = answer(head, readiness);
    assert.equal(r.status, status, JSON.stringify(head));
    assert.equal(r.omitBody, omitBody, JSON.stringify(head));
  }
  assert.deepEqual(answer('GET /readyz HTTP/1.1', READY).body, { status: 'ready' });
  assert.deepEqual(answer('GET /readyz HTTP/1.1', LOST).body, {
    status: 'lost',
    since: '2026-12-02T07:00:00.000Z',
    message: "the pod's checks keep failing: its network is lost",
  });
  assert.deepEqual(answer('DELETE /readyz HTTP/1.1', READY).headers, { allow: 'GET, HEAD' });
});

test('formatResponse: an HTTP/1.1 response that says it closes; HEAD keeps the length, not the body', () => {
  const date = new Date('2026-12-02T07:00:00Z');
  assert.equal(
    formatResponse(answer('GET /readyz HTTP/1.1', READY), date),
    'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 18\r\ncache-control: no-store\r\n' +
      'date: Wed, 02 Dec 2026 07:00:00 GMT\r\nconnection: close\r\n\r\n{"status":"ready"}',
  );
  assert.equal(
    formatResponse(answer('HEAD /readyz HTTP/1.1', READY), date),
    'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 18\r\ncache-control: no-store\r\n' +
      'date: Wed, 02 Dec 2026 07:00:00 GMT\r\nconnection: close\r\n\r\n',
  );
  assert.match(
    formatResponse(answer('PUT /readyz HTTP/1.1', READY), date),
    /^HTTP\/1\.1 405 Method Not Allowed\r\n.*allow: GET, HEAD\r\n/s,
  );
});

/** Starts the server on `host` port 0 with `readiness`; closed when the test ends. */
async function start(t: TestContext, host: string, readiness: () => Readiness, onAnswered?: () => void) {
  const readyz = createReadinessServer(readiness, onAnswered);
  await listen(readyz.server, host, 0);
  t.after(() => {
    readyz.closeAll();
    readyz.server.close();
  });
  return { readyz, port: (readyz.server.address() as { port: number }).port };
}

/** Writes `chunks` in turn on a new connection to host:port; resolves with all the server sent, once it closed. */
function exchange(host: string, port: number, chunks: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (got += d));
    socket.once('error', reject);
    socket.once('close', () => resolve(got));
    socket.once('connect', async () => {
      for (const chunk of chunks) {
        socket.write(chunk);
        await new Promise((r) => setImmediate(r));
      }
    });
  });
}

const KUBELET =
  'GET /readyz HTTP/1.1\r\nHost: 10.0.0.5:9471\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n';

test("kubelet's request is answered and the connection closed by the server; bad requests do not stop it", async (t) => {
  let readiness: Readiness = { lost: false };
  // Each readiness answer (200 or 503) is reported, for the watch's rounds to ride (watch-align.ts); nothing else is.
  let answered = 0;
  const { port } = await start(
    t,
    '127.0.0.1',
    () => readiness,
    () => answered++,
  );
  const ok = await exchange('127.0.0.1', port, [KUBELET]);
  assert.match(ok, /^HTTP\/1\.1 200 OK\r\n/);
  assert.ok(ok.endsWith('\r\n\r\n{"status":"ready"}'), ok);
  assert.equal(answered, 1);

  assert.match(await exchange('127.0.0.1', port, ['hello\r\n\r\n']), /^HTTP\/1\.1 400 Bad Request\r\n/);
  const huge = `GET /readyz HTTP/1.1\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
  assert.match(await exchange('127.0.0.1', port, [huge]), /^HTTP\/1\.1 431 /);
  // A head that comes a few bytes at a time is read to its end.
  assert.match(await exchange('127.0.0.1', port, KUBELET.match(/.{1,7}/gs)!), /^HTTP\/1\.1 200 OK\r\n/);

  assert.match(await exchange('127.0.0.1', port, ['GET /metrics HTTP/1.1\r\n\r\n']), /^HTTP\/1\.1 404 /);
  assert.equal(answered, 2);

  readiness = { lost: true, since: '2026-12-02T07:00:00.000Z' };
  assert.match(await exchange('127.0.0.1', port, [KUBELET]), /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.equal(answered, 3);
});

test("node's HTTP client with keep-alive reads it request after request ([::] takes IPv4 and IPv6)", async (t) => {
  const { port } = await start(t, '::', READY);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const get = (host: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host, port, path: '/readyz', agent }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .once('error', reject);
    });
  for (const host of ['127.0.0.1', '127.0.0.1', '::1', '::1'])
    assert.deepEqual(await get(host), { status: 200, body: '{"status":"ready"}' }, host);
});

test('closeAll ends a connection that never sent its request', async (t) => {
  const { readyz, port } = await start(t, '127.0.0.1', READY);
  const closed = new Promise<void>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('error', () => {});
    socket.once('close', () => resolve());
    socket.once('connect', () => setImmediate(() => readyz.closeAll()));
  });
  await closed;
});
