// The pacer's DNS signal against real UDP sockets on loopback: the query it sends, which
// send an answer is matched to, and an ICMP port unreachable taken as an answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import { dnsPacer, dnsQuery, parseServer, portPacer } from '../../src/agent/pacer.ts';
import { PORT_PACE_FACTOR } from '../../src/agent/schedule.ts';

/** A loopback UDP port that was just bound and closed: a datagram to it gets ICMP port unreachable. */
async function closedUdpPort(): Promise<number> {
  const closed = createSocket('udp4');
  closed.bind(0, '127.0.0.1');
  await once(closed, 'listening');
  const port = closed.address().port;
  closed.close();
  return port;
}

const SERVERS: { server: string; want: { address: string; port: number } }[] = [
  { server: '10.96.0.10', want: { address: '10.96.0.10', port: 53 } },
  { server: '192.0.2.10:5353', want: { address: '192.0.2.10', port: 5353 } },
  { server: '[2001:db8::1]:53', want: { address: '2001:db8::1', port: 53 } },
  { server: '[2001:db8::1]', want: { address: '2001:db8::1', port: 53 } },
  { server: 'fd00:10:96::a', want: { address: 'fd00:10:96::a', port: 53 } },
  { server: 'fe80::1%eth0', want: { address: 'fe80::1%eth0', port: 53 } },
];

for (const { server, want } of SERVERS) {
  test(`parseServer(${server})`, () => {
    assert.deepEqual(parseServer(server), want);
  });
}

test('dnsQuery: one A/IN question for the name, recursion desired', () => {
  const decoded = dnsPacket.decode(dnsQuery('kubernetes.default.svc.cluster.local.'));
  assert.equal(decoded.id, 0);
  assert.equal(decoded.flags, dnsPacket.RECURSION_DESIRED);
  assert.deepEqual(decoded.questions, [{ name: 'kubernetes.default.svc.cluster.local', type: 'A', class: 'IN' }]);
});

test('no usable server: no pacer', async () => {
  assert.equal(await dnsPacer(undefined, 'kubernetes.default.svc.cluster.local.'), null);
});

test('the answer to the 4th query reports the 3rd send as the last silent one and the 4th as answered', async (t) => {
  const server = createSocket('udp4');
  t.after(() => server.close());
  server.bind(0, '127.0.0.1');
  await once(server, 'listening');
  const questions: string[] = [];
  server.on('message', (msg, from) => {
    const q = dnsPacket.decode(msg);
    questions.push(q.questions![0]!.name);
    // Drop the first three, as an unprogrammed dataplane would; answer from the 4th on.
    if (questions.length >= 4)
      server.send(
        dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED, questions: q.questions }),
        from.port,
        from.address,
      );
  });
  const pacer = (await dnsPacer(`127.0.0.1:${server.address().port}`, 'kubernetes.default.svc.cluster.local.'))!;
  t.after(() => pacer.close());
  const answers: (number | null)[][] = [];
  pacer.onAnswer((silentUntil, answeredSentAt) => answers.push([silentUntil, answeredSentAt]));
  for (const at of [100, 120, 140, 160, 180]) {
    pacer.send(at);
    await sleep(20);
  }
  assert.deepEqual(answers, [[140, 160]]);
  assert.deepEqual(questions, Array(5).fill('kubernetes.default.svc.cluster.local'));
});

test('an ICMP port unreachable is an answer: packets crossed', async (t) => {
  const port = await closedUdpPort();
  const pacer = (await dnsPacer(`127.0.0.1:${port}`, 'kubernetes.default.svc.cluster.local.'))!;
  t.after(() => pacer.close());
  const answered = new Promise<number | null>((resolve) => pacer.onAnswer(resolve));
  pacer.send(100);
  assert.equal(await answered, null);
});

test('portPacer: an empty datagram to the port; the ICMP port unreachable answers the last send', async (t) => {
  const port = await closedUdpPort();
  const pacer = (await portPacer('127.0.0.1', port))!;
  t.after(() => pacer.close());
  assert.equal(pacer.paceFactor, PORT_PACE_FACTOR);
  const answered = new Promise<(number | null)[]>((resolve) => pacer.onAnswer((...args) => resolve(args)));
  pacer.send(100);
  // No send before it: nothing known to have been dropped.
  assert.deepEqual(await answered, [null, 100]);
});

test('portPacer: a host name is no pacer (resolving it would ask a nameserver no check names)', async () => {
  assert.equal(await portPacer('api.example', 443), null);
});

test('portPacer: an ICMP port unreachable that the next send reports still answers the send before it', async (t) => {
  const port = await closedUdpPort();
  const pacer = (await portPacer('127.0.0.1', port))!;
  t.after(() => pacer.close());
  const answered = new Promise<(number | null)[]>((resolve) => pacer.onAnswer((...args) => resolve(args)));
  pacer.send(100);
  // On loopback the ICMP for the first datagram is already queued on the socket when send
  // returns; the second send, in the same turn of the loop, is the first to see it (and fails
  // without sending). A third send later on is answered too: without the second send's
  // report, its answer would be the first one seen.
  pacer.send(120);
  await sleep(20);
  pacer.send(140);
  assert.deepEqual(await answered, [null, 100]);
});
