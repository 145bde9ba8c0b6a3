// Issue 13, defect 5: one unparsable `nameserver` line used to make every dns
// check fail (class `other`, no hint) although a good nameserver followed, which
// glibc uses. The bad line is skipped, once, and the good ones answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { parseResolvConf } from '../../src/agent/resolv.ts';
import { resolveName } from '../../src/agent/checks/dns.ts';

const SKIPPED: { name: string; text: string; servers: string[]; skipped: string[] }[] = [
  {
    name: 'a name',
    text: 'nameserver kube-dns.kube-system\nnameserver 10.96.0.10\n',
    servers: ['10.96.0.10'],
    skipped: ['nameserver kube-dns.kube-system'],
  },
  {
    name: 'an address out of range',
    text: 'nameserver 10.96.0.300\nnameserver fd00::a\n',
    servers: ['fd00::a'],
    skipped: ['nameserver 10.96.0.300'],
  },
  {
    name: 'a port (resolv.conf has none)',
    text: 'nameserver 10.96.0.10:53\nnameserver 10.96.0.11\n',
    servers: ['10.96.0.11'],
    skipped: ['nameserver 10.96.0.10:53'],
  },
  { name: 'an IPv6 zone is fine', text: 'nameserver fe80::1%eth0\n', servers: ['fe80::1%eth0'], skipped: [] },
  {
    name: 'every line bad',
    text: 'nameserver x\nnameserver y # comment\n',
    servers: [],
    skipped: ['nameserver x', 'nameserver y # comment'],
  },
];

for (const { name, text, servers, skipped } of SKIPPED) {
  test(`parseResolvConf: a nameserver line with ${name}`, () => {
    const seen: string[] = [];
    assert.deepEqual(parseResolvConf(text, (line) => seen.push(line)).servers, servers);
    assert.deepEqual(seen, skipped);
  });
}

test('a dns lookup with a bad nameserver line before a good one is answered by the good one', async (t) => {
  // A DNS server on a loopback address of its own, port 53: resolv.conf carries no port.
  const server = '127.77.0.53';
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const query = dnsPacket.decode(msg);
    const q = query.questions![0]!;
    const answers =
      q.type === 'A' && q.name === 'ready.example'
        ? [{ name: q.name, type: 'A' as const, ttl: 5, data: '192.0.2.7' }]
        : [];
    socket.send(
      dnsPacket.encode({
        id: query.id,
        type: 'response',
        flags: dnsPacket.AUTHORITATIVE_ANSWER,
        questions: [q],
        answers,
      }),
      rinfo.port,
      rinfo.address,
    );
  });
  await new Promise<void>((resolve) => socket.bind(53, server, resolve));
  t.after(() => socket.close());

  const conf = parseResolvConf(`nameserver not-an-address\nnameserver ${server}\n`);
  const addrs = await resolveName(
    'ready.example.',
    { conf, servers: conf.servers, timeoutMs: 2000 },
    AbortSignal.timeout(5000),
  );
  assert.deepEqual(addrs, ['192.0.2.7']);
});
