// An http(s) check passes on the status line and headers: a slow or endless body neither holds
// it nor fills the agent's memory; the agent drops the connection instead of reading on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { httpCheck } from '../src/agent/checks/http.ts';
import { runWait } from './helpers/agent.ts';

/** An HTTP server whose 200 body never ends: `endless` writes as fast as the client reads, `slow` one chunk then nothing. */
async function startBodyServer(kind: 'endless' | 'slow') {
  const state = { url: '', requests: 0, bytes: 0, closedByPeer: 0, sockets: new Set<Socket>() };
  const server = createServer((req, res) => {
    state.requests++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked: no length
    res.write(Buffer.alloc(1024, 'x'));
    res.socket!.once('close', () => state.closedByPeer++);
    if (kind === 'endless') pump(res);
  });
  const pump = (res: ServerResponse) => {
    const chunk = Buffer.alloc(64 * 1024, 'y');
    const more = () => {
      while (!res.destroyed && res.write(chunk)) state.bytes += chunk.length;
      if (!res.destroyed) res.once('drain', more);
    };
    more();
  };
  server.on('connection', (s) => {
    state.sockets.add(s);
    s.once('close', () => state.sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return Object.assign(state, {
    close: () => {
      for (const s of state.sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  });
}

for (const kind of ['endless', 'slow'] as const) {
  test(`an http check passes on the headers of a ${kind} body, and the agent drops the connection`, async (t) => {
    const server = await startBodyServer(kind);
    t.after(() => server.close());
    const check = httpCheck('http', server.url, null, () => Promise.reject(new Error('no DNS here')), 'netready-test');
    // Resolves although the body never ends (before the fix it waited for the end: never).
    await check.attempt(AbortSignal.timeout(60_000));
    // The server sees its connection closed by the client, while this process still runs.
    while (server.sockets.size > 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.requests, 1);
  });
}

test('the agent with an http check on an endless chunked body: exit 0', async (t) => {
  const server = await startBodyServer('endless');
  t.after(() => server.close());
  const r = await runWait(['--check', server.url, '--timeout', '20s']);
  assert.equal(r.code, 0, r.stdout);
  assert.ok(r.logs.some((l) => l.msg?.startsWith('network ready')));
  // Every connection it opened, it closed: none is left reading the body.
  assert.equal(server.sockets.size, 0);
});
