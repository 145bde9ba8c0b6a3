// What a connection may take from the webhook: one that never starts TLS is
// closed after --tls-handshake-timeout (Node's default was 120 s), connections
// beyond --max-connections are closed at once and the rest keep being served,
// and a request whose headers never end is cut at the header timeout (5 s),
// not up to 30 s later at Node's default connection check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { review } from './helpers.ts';
import { https, postReview, startWebhook, tempDir } from './process.ts';
import { issue, publishSecret } from './tls-helpers.ts';

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
    const s = tcpConnect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

async function webhook(t: Parameters<typeof tempDir>[0], args: string[]) {
  const dir = tempDir(t);
  const pair = issue(dir, 'a');
  const files = publishSecret(join(dir, 'tls'), pair);
  const hook = await startWebhook(t, ['--tls-cert', files.cert, '--tls-key', files.key, ...args]);
  return { hook, ca: [pair.caPem] };
}

test('a connection that never starts TLS is closed after --tls-handshake-timeout', { timeout: 30_000 }, async (t) => {
  const { hook } = await webhook(t, ['--tls-handshake-timeout', '1s']);
  const socket = await idleTcp(hook.port);
  t.after(() => socket.destroy());
  const ms = await closedAfter(socket);
  // Node's default would hold it 120 s; the bound here only needs to tell the two apart.
  assert.ok(ms >= 900 && ms < 10_000, `closed after ${Math.round(ms)} ms`);
});

test(
  '--max-connections: connections beyond the cap are closed at once; the webhook serves again once idle ones are cut',
  { timeout: 30_000 },
  async (t) => {
    const { hook, ca } = await webhook(t, ['--max-connections', '3', '--tls-handshake-timeout', '2s']);
    const idle = await Promise.all([1, 2, 3].map(() => idleTcp(hook.port)));
    t.after(() => idle.forEach((s) => s.destroy()));
    const closed = Promise.all(idle.map(closedAfter));
    // Full: a real client is turned away at once rather than left hanging.
    await assert.rejects(
      postReview(hook.port, ca, review('job-pod')),
      (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' || /socket hang up|disconnected/.test(err.message),
    );
    // The idle ones are cut at the handshake timeout, and the webhook answers again.
    await closed;
    assert.equal((await postReview(hook.port, ca, review('job-pod'))).status, 200);
    assert.ok(
      hook.logs().some((l) => l.level === 'warn' && /connection limit reached/.test(l.msg) && l.maxConnections === 3),
    );
  },
);

test(
  "headers that never end are cut at the 5 s header timeout, not at Node's 30 s check",
  { timeout: 40_000 },
  async (t) => {
    const { hook, ca } = await webhook(t, []);
    const socket = tlsConnect({ host: '127.0.0.1', port: hook.port, ca, servername: 'localhost' });
    t.after(() => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    socket.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n');
    let answer = '';
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
    const ms = await closedAfter(socket);
    assert.ok(ms >= 4_000 && ms < 15_000, `closed after ${Math.round(ms)} ms`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.equal((await https(hook.port, { ca, path: '/healthz' })).status, 200);
  },
);
