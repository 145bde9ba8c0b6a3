// tcpConnect against real sockets on loopback: how an attempt settles, and that it leaves nothing
// behind on the socket once settled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { tcpConnect } from '../../src/agent/checks/tcp.ts';

/** A loopback port that was just listened on and closed: a connect to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Runs `fn`, collecting each client socket net opens meanwhile with its 'close' listeners at creation. */
async function withSockets(
  fn: () => Promise<unknown>,
): Promise<{ outcome: PromiseSettledResult<unknown>; sockets: { socket: Socket; closeListeners: number }[] }> {
  const sockets: { socket: Socket; closeListeners: number }[] = [];
  const onSocket = (message: unknown) => {
    const { socket } = message as { socket: Socket };
    sockets.push({ socket, closeListeners: socket.listenerCount('close') });
  };
  subscribe('net.client.socket', onSocket);
  try {
    const [outcome] = await Promise.allSettled([fn()]);
    // Checked in the turn the attempt settled: the socket's own 'close' comes later.
    for (const s of sockets) s.closeListeners -= s.socket.listenerCount('close');
    return { outcome: outcome!, sockets };
  } finally {
    unsubscribe('net.client.socket', onSocket);
  }
}

const CASES: { name: string; port: () => Promise<number>; outcome: 'fulfilled' | 'rejected'; code?: string }[] = [
  {
    name: 'connected',
    port: async () => {
      const server = createServer((s) => s.destroy()).listen(0, '127.0.0.1');
      await once(server, 'listening');
      server.unref();
      return (server.address() as { port: number }).port;
    },
    outcome: 'fulfilled',
  },
  { name: 'refused', port: closedPort, outcome: 'rejected', code: 'ECONNREFUSED' },
];

for (const c of CASES) {
  test(`tcpConnect ${c.name}: settles so, and leaves no listener for the socket's close`, async () => {
    const port = await c.port();
    const { outcome, sockets } = await withSockets(() => tcpConnect('127.0.0.1', port, new AbortController().signal));
    assert.equal(outcome.status, c.outcome);
    if (c.code) assert.equal(((outcome as PromiseRejectedResult).reason as NodeJS.ErrnoException).code, c.code);
    assert.equal(sockets.length, 1);
    // 0: as many 'close' listeners as net itself had put there; 1 was tcpConnect's, still
    // waiting to build an Error('closed') nobody reads.
    assert.equal(sockets[0]!.closeListeners, 0);
    await once(sockets[0]!.socket, 'close');
  });
}
