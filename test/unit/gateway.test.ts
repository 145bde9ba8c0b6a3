// The gateway check's /proc parsing, over fixture copies of the kernel's files
// (Calico, flannel, Multus pods). Attempts run only against loopback "gateways"
// or with no default route at all: no test packet leaves the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  arpResolved,
  defaultGateways,
  gatewayCheck,
  neighbourAdvertisements,
  parseRoute4,
  parseRoute6,
  recheckGap,
  type Gateway,
  type ProcFiles,
} from '../../src/agent/checks/gateway.ts';
import { classifyError } from '../../src/agent/classify.ts';
import { CodedError } from '../../src/lib/errors.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/proc/${name}`, import.meta.url), 'utf8');

/** A ProcFiles serving fixture files (or literal text) at kernel paths; absent paths read as null, as a missing file does. */
function fakeProc(files: Record<string, { fixture: string } | { text: string }>): ProcFiles {
  return {
    read(path) {
      const f = files[path];
      if (!f) return null;
      return 'fixture' in f ? fixture(f.fixture) : f.text;
    },
  };
}

const ROUTE4: { file: string; want: Gateway[] }[] = [
  { file: 'route-calico', want: [{ family: 4, ip: '169.254.1.1', dev: 'eth0' }] },
  { file: 'route-flannel', want: [{ family: 4, ip: '10.244.1.1', dev: 'eth0' }] },
  // The down default on net2 (flags 0002) is skipped.
  {
    file: 'route-multus',
    want: [
      { family: 4, ip: '10.244.1.1', dev: 'eth0' },
      { family: 4, ip: '192.168.0.1', dev: 'net1' },
    ],
  },
  { file: 'route-empty', want: [] },
  { file: 'route-loopback', want: [{ family: 4, ip: '127.0.0.1', dev: 'lo' }] },
];

for (const { file, want } of ROUTE4) {
  test(`parseRoute4(${file})`, () => {
    assert.deepEqual(parseRoute4(fixture(file)), want);
  });
}

const ROUTE4_INLINE: { name: string; text: string; want: Gateway[] }[] = [
  { name: 'empty text', text: '', want: [] },
  // A default route without a gateway (flags 0001, point-to-point device): nothing to ask.
  {
    name: 'default without RTF_GATEWAY',
    text: 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\nwg0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n',
    want: [],
  },
  // A data line in first position is the header's place: skipped.
  { name: 'no header line', text: 'eth0\t00000000\t0101FEA9\t0003\t0\t0\t0\t00000000\t0\t0\t0\n', want: [] },
];

for (const { name, text, want } of ROUTE4_INLINE) {
  test(`parseRoute4: ${name}`, () => {
    assert.deepEqual(parseRoute4(text), want);
  });
}

const ZERO = '0'.repeat(32);
const ROUTE6: { name: string; text: string; want: Gateway[] }[] = [
  // Calico: default via fe80::ecee:eeff:feee:eeee; the lo reject default (00200200) is ignored.
  {
    name: 'ipv6_route-calico',
    text: fixture('ipv6_route-calico'),
    want: [{ family: 6, ip: 'fe80::ecee:eeff:feee:eeee', dev: 'eth0' }],
  },
  {
    name: 'ipv6_route-ra (router-advertised default)',
    text: fixture('ipv6_route-ra'),
    want: [{ family: 6, ip: 'fe80::221:86ff:fe9a:1b2c', dev: 'eth0' }],
  },
  { name: 'ipv6_route-lo-only', text: fixture('ipv6_route-lo-only'), want: [] },
  { name: 'ipv6_route-loopback', text: fixture('ipv6_route-loopback'), want: [{ family: 6, ip: '::1', dev: 'lo' }] },
  { name: 'empty text', text: '', want: [] },
  // The reject bit alone must exclude a default route, even one with a next hop.
  {
    name: 'reject default with a next hop',
    text: `${ZERO} 00 ${ZERO} 00 fe80000000000000eceeeefffeeeeeee 00000400 00000001 00000000 00000203     eth0\n`,
    want: [],
  },
  {
    name: 'default route that is not up',
    text: `${ZERO} 00 ${ZERO} 00 fe80000000000000eceeeefffeeeeeee 00000400 00000001 00000000 00000002     eth0\n`,
    want: [],
  },
  {
    name: 'global next hop',
    text: `${ZERO} 00 ${ZERO} 00 20010db8000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n`,
    want: [{ family: 6, ip: '2001:db8::1', dev: 'eth0' }],
  },
];

for (const { name, text, want } of ROUTE6) {
  test(`parseRoute6: ${name}`, () => {
    assert.deepEqual(parseRoute6(text), want);
  });
}

const ARP: { file: string; ip: string; dev: string; want: boolean }[] = [
  { file: 'arp-calico-complete', ip: '169.254.1.1', dev: 'eth0', want: true },
  { file: 'arp-calico-incomplete', ip: '169.254.1.1', dev: 'eth0', want: false },
  { file: 'arp-other-device', ip: '169.254.1.1', dev: 'eth0', want: false },
  { file: 'arp-other-device', ip: '169.254.1.1', dev: 'net1', want: true },
  { file: 'arp-other-device', ip: '10.244.1.1', dev: 'eth0', want: false },
  // 0x6 = complete | permanent.
  { file: 'arp-flannel-permanent', ip: '10.244.1.1', dev: 'eth0', want: true },
  // Prefix of another address is not a match.
  { file: 'arp-flannel-permanent', ip: '10.244.1.', dev: 'eth0', want: false },
  { file: 'arp-empty', ip: '169.254.1.1', dev: 'eth0', want: false },
];

for (const { file, ip, dev, want } of ARP) {
  test(`arpResolved(${file}, ${ip}, ${dev}) = ${want}`, () => {
    assert.equal(arpResolved(fixture(file), ip, dev), want);
  });
}

const NA: { name: string; text: string; want: number }[] = [
  { name: 'dev_snmp6-eth0-answered', text: fixture('dev_snmp6-eth0-answered'), want: 1 },
  { name: 'dev_snmp6-eth0-silent', text: fixture('dev_snmp6-eth0-silent'), want: 0 },
  { name: 'empty', text: '', want: 0 },
  // Only the In counter counts; Out is what the pod sent.
  { name: 'only Icmp6OutNeighborAdvertisements', text: 'Icmp6OutNeighborAdvertisements  \t7\n', want: 0 },
  {
    name: 'large counter',
    text: 'Icmp6InNeighborSolicits         \t12\nIcmp6InNeighborAdvertisements   \t40213\n',
    want: 40213,
  },
];

for (const { name, text, want } of NA) {
  test(`neighbourAdvertisements(${name}) = ${want}`, () => {
    assert.equal(neighbourAdvertisements(text), want);
  });
}

const DEFAULTS: { name: string; proc: ProcFiles; want: Gateway[] }[] = [
  {
    name: 'Calico dual-stack',
    proc: fakeProc({
      '/proc/net/route': { fixture: 'route-calico' },
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-calico' },
    }),
    want: [
      { family: 4, ip: '169.254.1.1', dev: 'eth0' },
      { family: 6, ip: 'fe80::ecee:eeff:feee:eeee', dev: 'eth0' },
    ],
  },
  {
    name: 'IPv4-only pod',
    proc: fakeProc({
      '/proc/net/route': { fixture: 'route-flannel' },
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-lo-only' },
    }),
    want: [{ family: 4, ip: '10.244.1.1', dev: 'eth0' }],
  },
  {
    name: 'IPv6 disabled (no ipv6_route file)',
    proc: fakeProc({ '/proc/net/route': { fixture: 'route-calico' } }),
    want: [{ family: 4, ip: '169.254.1.1', dev: 'eth0' }],
  },
  {
    name: 'IPv6-only pod',
    proc: fakeProc({
      '/proc/net/route': { fixture: 'route-empty' },
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-calico' },
    }),
    want: [{ family: 6, ip: 'fe80::ecee:eeff:feee:eeee', dev: 'eth0' }],
  },
  {
    name: 'before the CNI plugin ran',
    proc: fakeProc({
      '/proc/net/route': { fixture: 'route-empty' },
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-lo-only' },
    }),
    want: [],
  },
  { name: 'no /proc at all', proc: fakeProc({}), want: [] },
];

for (const { name, proc, want } of DEFAULTS) {
  test(`defaultGateways: ${name}`, () => {
    assert.deepEqual(defaultGateways(proc), want);
  });
}

const NO_ROUTE: { name: string; proc: ProcFiles }[] = [
  {
    name: 'only loopback routes',
    proc: fakeProc({
      '/proc/net/route': { fixture: 'route-empty' },
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-lo-only' },
    }),
  },
  { name: 'no route files', proc: fakeProc({}) },
];

for (const { name, proc } of NO_ROUTE) {
  test(`gateway attempt with no default route (${name}) rejects NO_DEFAULT_ROUTE`, async () => {
    const err = await gatewayCheck('gateway', proc)
      .attempt(AbortSignal.timeout(2000))
      .then(
        () => assert.fail('the attempt passed'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof CodedError);
    assert.equal(err.code, 'NO_DEFAULT_ROUTE');
    assert.match(err.message, /\/proc\/net\/route/);
    assert.equal(classifyError(err), 'no_default_route');
  });
}

// From here on the "gateway" is loopback: whatever the check sends stays on this host.

// fe80::1 on lo: a link-local "gateway" the kernel cannot route to (ENETUNREACH, no packet
// sent), so only the neighbour-advertisement counter can make such an attempt pass.
const ATTEMPTS: { name: string; files: Record<string, { fixture: string }>; want: string }[] = [
  {
    name: 'IPv4 127.0.0.1 on lo, ARP incomplete: the SYN is answered',
    files: { '/proc/net/route': { fixture: 'route-loopback' }, '/proc/net/arp': { fixture: 'arp-empty' } },
    want: 'pass',
  },
  {
    name: 'IPv4 127.0.0.1 on lo, ARP complete',
    files: { '/proc/net/route': { fixture: 'route-loopback' }, '/proc/net/arp': { fixture: 'arp-loopback-complete' } },
    want: 'pass',
  },
  {
    name: 'IPv6 ::1 on lo: the SYN is answered',
    files: {
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-loopback' },
      '/proc/net/dev_snmp6/lo': { fixture: 'dev_snmp6-eth0-silent' },
    },
    want: 'pass',
  },
  {
    name: 'IPv6 fe80::1 on lo, a neighbour advertisement received',
    files: {
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-linklocal-lo' },
      '/proc/net/dev_snmp6/lo': { fixture: 'dev_snmp6-eth0-answered' },
    },
    want: 'pass',
  },
  {
    name: 'IPv6 fe80::1 on lo, no neighbour advertisement',
    files: {
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-linklocal-lo' },
      '/proc/net/dev_snmp6/lo': { fixture: 'dev_snmp6-eth0-silent' },
    },
    want: 'unreachable',
  },
  // Within a family one answering gateway is enough.
  {
    name: 'IPv6 fe80::1 and ::1 on lo',
    files: {
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-two-lo' },
      '/proc/net/dev_snmp6/lo': { fixture: 'dev_snmp6-eth0-silent' },
    },
    want: 'pass',
  },
  {
    name: 'both families answer',
    files: {
      '/proc/net/route': { fixture: 'route-loopback' },
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-loopback' },
    },
    want: 'pass',
  },
  // Every family with a default route must pass.
  {
    name: 'IPv4 answers, IPv6 does not',
    files: {
      '/proc/net/route': { fixture: 'route-loopback' },
      '/proc/net/ipv6_route': { fixture: 'ipv6_route-linklocal-lo' },
      '/proc/net/dev_snmp6/lo': { fixture: 'dev_snmp6-eth0-silent' },
    },
    want: 'unreachable',
  },
];

for (const { name, files, want } of ATTEMPTS) {
  test(`gateway attempt: ${name} -> ${want}`, async () => {
    const got = await gatewayCheck('gateway', fakeProc(files))
      .attempt(AbortSignal.timeout(2000))
      .then(
        () => 'pass',
        (err: unknown) => classifyError(err),
      );
    assert.equal(got, want);
  });
}

test('each attempt re-reads the routes: the check passes once the CNI plugin adds the default route', async () => {
  const files: Record<string, { fixture: string }> = { '/proc/net/route': { fixture: 'route-empty' } };
  const check = gatewayCheck('gateway', fakeProc(files));
  await assert.rejects(check.attempt(AbortSignal.timeout(2000)), { code: 'NO_DEFAULT_ROUTE' });
  files['/proc/net/route'] = { fixture: 'route-loopback' };
  await check.attempt(AbortSignal.timeout(2000));
});

test('an attempt given an already-aborted signal rejects without connecting', async () => {
  const reason = new Error('stopped');
  const proc = fakeProc({
    '/proc/net/route': { fixture: 'route-loopback' },
    '/proc/net/arp': { fixture: 'arp-empty' },
  });
  await assert.rejects(gatewayCheck('gateway', proc).attempt(AbortSignal.abort(reason)), reason);
});

const GAPS: [number, number][] = [
  [0, 5],
  [1, 10],
  [2, 20],
  [3, 40],
  [4, 40],
  [100, 40],
  [-1, 5],
];

for (const [n, want] of GAPS) {
  test(`recheckGap(${n}) = ${want} ms`, () => {
    assert.equal(recheckGap(n), want);
  });
}
