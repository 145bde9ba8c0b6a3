// What a connection may take from the collector (issue 13): connections beyond
// --max-connections are closed at once and the rest keep being served, and a
// request whose headers never end is cut at the 10 s header timeout, not up to
// 30 s later at Node's default connection check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { makeReport, postReport, send, startCollector } from './helpers.ts';

/** Resolves with the milliseconds from now until `socket` is closed by the other side. */
function closedAfter(socket: Socket): Promise<number> {
  const start = performance.now();
  return new Promise((resolve) => {
    socket.on('error', () => {});
    socket.resume();
    socket.once('close', () => resolve(performance.now() - start));
  });
}

function idleTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Runs `attempt` until it is not refused with a reset, 50 times at most, 100 ms apart. */
async function retryWhileReset<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= 50 || (err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test(
  '--max-connections: connections beyond the cap are closed at once; the collector serves again once one goes',
  { timeout: 30_000 },
  async (t) => {
    const c = await startCollector(t, ['--db', ':memory:', '--max-connections', '3']);
    const idle = await Promise.all([1, 2, 3].map(() => idleTcp(c.port)));
    t.after(() => idle.forEach((s) => s.destroy()));
    // Full: an agent is turned away at once (it retries within its budget) rather than left hanging.
    await assert.rejects(
      postReport(c.url, makeReport(1)),
      (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' || /socket hang up/.test(err.message),
    );
    idle[0]!.destroy();
    // The server learns of the close a moment later: an agent's next retry gets in.
    assert.equal((await retryWhileReset(() => postReport(c.url, makeReport(1)))).status, 202);
    assert.ok(
      c.logs().some((l) => l.level === 'warn' && /connection limit reached/.test(l.msg) && l.maxConnections === 3),
    );
  },
);

test(
  "headers that never end are cut at the 10 s header timeout, not at Node's 30 s check",
  { timeout: 60_000 },
  async (t) => {
    const c = await startCollector(t, ['--db', ':memory:']);
    const socket = await idleTcp(c.port);
    t.after(() => socket.destroy());
    socket.write('POST /v1/reports HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n');
    let answer = '';
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
    const ms = await closedAfter(socket);
    // Node's 30 s check would cut it 30 s after the server started; the bound only needs to tell the two apart.
    assert.ok(ms >= 9_000 && ms < 20_000, `closed after ${Math.round(ms)} ms`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.equal((await send(c.url, { path: '/healthz' })).status, 200);
  },
);
