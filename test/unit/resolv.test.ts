// resolv.conf parsing, search-list expansion and the API Service name, over real resolv.conf files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { apiServiceName, parseResolvConf, searchCandidates, type ResolvConf } from '../../src/agent/resolv.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/resolv/${name}`, import.meta.url), 'utf8');

const PARSED: { file: string; want: ResolvConf }[] = [
  {
    file: 'kubelet-default.conf',
    want: {
      servers: ['10.96.0.10'],
      search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      ndots: 5,
    },
  },
  {
    file: 'eks-shop.conf',
    want: {
      servers: ['172.20.0.10'],
      search: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'eu-west-1.compute.internal'],
      ndots: 5,
    },
  },
  {
    file: 'ipv6-custom-domain.conf',
    want: {
      servers: ['fd00:10:96::a'],
      search: ['team-a.svc.corp.example', 'svc.corp.example', 'corp.example'],
      ndots: 5,
    },
  },
  // Comments (# and ;, whole-line and trailing) ignored; the last search/domain line wins; an empty nameserver line is skipped; ndots defaults to 1.
  {
    file: 'host-networkmanager.conf',
    want: { servers: ['192.168.1.1', '2001:db8::53'], search: ['lan', 'home.arpa.'], ndots: 1 },
  },
  // CRLF line ends and tabs; ndots capped at 15 as glibc does.
  {
    file: 'crlf-tabs.conf',
    want: {
      servers: ['10.96.0.10'],
      search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      ndots: 15,
    },
  },
];

for (const { file, want } of PARSED) {
  test(`parseResolvConf(${file})`, () => {
    assert.deepEqual(parseResolvConf(fixture(file)), want);
  });
}

const INLINE: { name: string; text: string; want: ResolvConf }[] = [
  { name: 'empty file', text: '', want: { servers: [], search: [], ndots: 1 } },
  {
    name: 'domain after search wins',
    text: 'search a.example b.example\ndomain c.example\n',
    want: { servers: [], search: ['c.example'], ndots: 1 },
  },
  {
    name: 'later ndots wins',
    text: 'options ndots:5\noptions ndots:2 rotate\n',
    want: { servers: [], search: [], ndots: 2 },
  },
  { name: 'bad ndots ignored', text: 'options ndots:x ndots:-1\n', want: { servers: [], search: [], ndots: 1 } },
  { name: 'ndots:0', text: 'options ndots:0\n', want: { servers: [], search: [], ndots: 0 } },
  {
    name: 'nameserver order kept',
    text: 'nameserver 10.96.0.10\nnameserver 10.96.0.11\nnameserver fd00::a\n',
    want: { servers: ['10.96.0.10', '10.96.0.11', 'fd00::a'], search: [], ndots: 1 },
  },
  {
    name: 'commented-out nameserver',
    text: '#nameserver 8.8.8.8\nnameserver 10.96.0.10\n',
    want: { servers: ['10.96.0.10'], search: [], ndots: 1 },
  },
];

for (const { name, text, want } of INLINE) {
  test(`parseResolvConf: ${name}`, () => {
    assert.deepEqual(parseResolvConf(text), want);
  });
}

const POD = parseResolvConf(fixture('kubelet-default.conf'));
const HOST = parseResolvConf(fixture('host-networkmanager.conf'));

const CANDIDATES: { name: string; conf: ResolvConf; confName: string; want: string[] }[] = [
  {
    name: 'kubernetes',
    conf: POD,
    confName: 'pod',
    want: [
      'kubernetes.default.svc.cluster.local',
      'kubernetes.svc.cluster.local',
      'kubernetes.cluster.local',
      'kubernetes',
    ],
  },
  {
    // 4 dots < ndots 5: the search list first, the name as is last.
    name: 'kubernetes.default.svc.cluster.local',
    conf: POD,
    confName: 'pod',
    want: [
      'kubernetes.default.svc.cluster.local.default.svc.cluster.local',
      'kubernetes.default.svc.cluster.local.svc.cluster.local',
      'kubernetes.default.svc.cluster.local.cluster.local',
      'kubernetes.default.svc.cluster.local',
    ],
  },
  {
    // 5 dots = ndots: the name as is first.
    name: 'a.b.c.example.co.uk',
    conf: POD,
    confName: 'pod',
    want: [
      'a.b.c.example.co.uk',
      'a.b.c.example.co.uk.default.svc.cluster.local',
      'a.b.c.example.co.uk.svc.cluster.local',
      'a.b.c.example.co.uk.cluster.local',
    ],
  },
  {
    name: 'kubernetes.default.svc.cluster.local.',
    conf: POD,
    confName: 'pod',
    want: ['kubernetes.default.svc.cluster.local'],
  },
  { name: 'example.com.', conf: HOST, confName: 'host', want: ['example.com'] },
  // ndots 1 and a trailing dot on a search domain.
  {
    name: 'example.com',
    conf: HOST,
    confName: 'host',
    want: ['example.com', 'example.com.lan', 'example.com.home.arpa'],
  },
  { name: 'printer', conf: HOST, confName: 'host', want: ['printer.lan', 'printer.home.arpa', 'printer'] },
  { name: 'printer', conf: { servers: [], search: [], ndots: 1 }, confName: 'no search', want: ['printer'] },
  {
    name: 'printer',
    conf: { servers: [], search: ['lan'], ndots: 0 },
    confName: 'ndots:0',
    want: ['printer', 'printer.lan'],
  },
];

for (const { name, conf, confName, want } of CANDIDATES) {
  test(`searchCandidates(${JSON.stringify(name)}, ${confName})`, () => {
    assert.deepEqual(searchCandidates(name, conf), want);
  });
}

const API_NAMES: { file: string; want: string }[] = [
  { file: 'kubelet-default.conf', want: 'kubernetes.default.svc.cluster.local.' },
  { file: 'eks-shop.conf', want: 'kubernetes.default.svc.cluster.local.' },
  { file: 'ipv6-custom-domain.conf', want: 'kubernetes.default.svc.corp.example.' },
  // Not a pod: no svc. entry, the default cluster domain.
  { file: 'host-networkmanager.conf', want: 'kubernetes.default.svc.cluster.local.' },
];

for (const { file, want } of API_NAMES) {
  test(`apiServiceName(${file}) = ${want}`, () => {
    assert.equal(apiServiceName(parseResolvConf(fixture(file))), want);
  });
}

test('apiServiceName with a trailing dot on the svc. entry', () => {
  assert.equal(
    apiServiceName({ servers: [], search: ['web.svc.k8s.internal.', 'svc.k8s.internal.', 'k8s.internal.'], ndots: 5 }),
    'kubernetes.default.svc.k8s.internal.',
  );
});

test('apiServiceName for a pod in a namespace named "svc"', () => {
  assert.equal(apiServiceName(parseResolvConf(fixture('namespace-svc.conf'))), 'kubernetes.default.svc.cluster.local.');
});
