// The agent's HTTP client (undici) against real servers on loopback: what `connectSignal` ends
// and what it no longer ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpRequest } from '../../src/agent/http-client.ts';
import { CodedError } from '../../src/lib/errors.ts';

/** An HTTP server on loopback that holds each request's response until the test answers it. */
async function holdingServer(t: { after(fn: () => unknown): void }) {
  const held: ServerResponse[] = [];
  const arrived: (() => void)[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      held.push(res);
      arrived.shift()?.();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/reports`),
    held,
    /** Resolves when the next request's body has arrived. */
    nextRequest: () => new Promise<void>((resolve) => arrived.push(resolve)),
  };
}

test('connectSignal ends a request that is still connecting, with its reason', async () => {
  const connecting = new AbortController();
  const reason = new CodedError('SLICE', 'not connected in time');
  const lookupCalled = Promise.withResolvers<void>();
  const request = httpRequest(new URL('http://collector.invalid:9/v1/reports'), {
    method: 'POST',
    headers: {},
    body: '{}',
    signal: AbortSignal.timeout(30_000),
    connectSignal: connecting.signal,
    // A name lookup that never answers: the request stays in its connecting phase.
    lookup: () => lookupCalled.resolve(),
  });
  await lookupCalled.promise;
  connecting.abort(reason);
  await assert.rejects(request, (err) => err === reason);
});

test('once the request is written, connectSignal no longer ends it: the answer comes back, one request sent', async (t) => {
  const server = await holdingServer(t);
  const connecting = new AbortController();
  const arrived = server.nextRequest();
  const request = httpRequest(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"a":1}',
    signal: AbortSignal.timeout(30_000),
    connectSignal: connecting.signal,
  });
  await arrived;
  connecting.abort(new CodedError('SLICE', 'too late to matter'));
  server.held[0]!.writeHead(202).end();
  assert.equal((await request).status, 202);
  assert.equal(server.held.length, 1);
});

test('signal ends a written request too', async (t) => {
  const server = await holdingServer(t);
  const stop = new AbortController();
  const arrived = server.nextRequest();
  const request = httpRequest(server.url, { method: 'POST', headers: {}, body: '{}', signal: stop.signal });
  await arrived;
  const reason = new CodedError('STOP', 'interrupted');
  stop.abort(reason);
  await assert.rejects(request, (err) => err === reason);
});

test('an already aborted signal or connectSignal rejects at once with its reason', async () => {
  const url = new URL('http://127.0.0.1:9/');
  const reason = new CodedError('GONE', 'aborted before');
  const aborted = AbortSignal.abort(reason);
  const live = new AbortController().signal;
  await assert.rejects(httpRequest(url, { method: 'GET', headers: {}, signal: aborted }), (e) => e === reason);
  await assert.rejects(
    httpRequest(url, { method: 'GET', headers: {}, signal: live, connectSignal: aborted }),
    (e) => e === reason,
  );
});
