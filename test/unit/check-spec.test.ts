// parseCheckSpec / isDnsName: the check strings users write in flags, env and the pod annotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDnsName, parseCheckSpec, type CheckSpec, type ServiceEnv } from '../../src/lib/check-spec.ts';

const KUBE_ENV: ServiceEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

const GOOD: { raw: string; env?: ServiceEnv; want: CheckSpec }[] = [
  { raw: 'gateway', want: { kind: 'gateway', spec: 'gateway' } },
  { raw: '  gateway\n', want: { kind: 'gateway', spec: 'gateway' } },
  { raw: 'dns', want: { kind: 'dns', spec: 'dns', name: null } },
  {
    raw: 'dns:kubernetes.default.svc.cluster.local',
    want: {
      kind: 'dns',
      spec: 'dns:kubernetes.default.svc.cluster.local',
      name: 'kubernetes.default.svc.cluster.local',
    },
  },
  {
    raw: 'dns:kubernetes.default.svc.cluster.local.',
    want: {
      kind: 'dns',
      spec: 'dns:kubernetes.default.svc.cluster.local.',
      name: 'kubernetes.default.svc.cluster.local.',
    },
  },
  {
    raw: 'dns:kube-dns.kube-system',
    want: { kind: 'dns', spec: 'dns:kube-dns.kube-system', name: 'kube-dns.kube-system' },
  },
  {
    raw: 'dns:_grpc._tcp.api.example.com',
    want: { kind: 'dns', spec: 'dns:_grpc._tcp.api.example.com', name: '_grpc._tcp.api.example.com' },
  },
  { raw: 'tcp://10.96.0.10:53', want: { kind: 'tcp', spec: 'tcp://10.96.0.10:53', host: '10.96.0.10', port: 53 } },
  { raw: 'tcp://10.96.0.10:53/', want: { kind: 'tcp', spec: 'tcp://10.96.0.10:53/', host: '10.96.0.10', port: 53 } },
  {
    raw: 'tcp://[fd00:10:96::a]:53',
    want: { kind: 'tcp', spec: 'tcp://[fd00:10:96::a]:53', host: 'fd00:10:96::a', port: 53 },
  },
  { raw: 'tcp://[::1]:65535', want: { kind: 'tcp', spec: 'tcp://[::1]:65535', host: '::1', port: 65535 } },
  {
    raw: 'tcp://postgres.db.svc.cluster.local:5432',
    want: {
      kind: 'tcp',
      spec: 'tcp://postgres.db.svc.cluster.local:5432',
      host: 'postgres.db.svc.cluster.local',
      port: 5432,
    },
  },
  { raw: 'tcp://redis:1', want: { kind: 'tcp', spec: 'tcp://redis:1', host: 'redis', port: 1 } },
  { raw: 'kubernetes', env: KUBE_ENV, want: { kind: 'tcp', spec: 'kubernetes', host: '10.96.0.1', port: 443 } },
  {
    raw: 'kubernetes',
    env: { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '6443' },
    want: { kind: 'tcp', spec: 'kubernetes', host: 'fd00:10:96::1', port: 6443 },
  },
  {
    raw: 'kubernetes',
    env: { KUBERNETES_SERVICE_HOST: 'api.internal.example.com', KUBERNETES_SERVICE_PORT: '443' },
    want: { kind: 'tcp', spec: 'kubernetes', host: 'api.internal.example.com', port: 443 },
  },
  {
    raw: 'http://10.96.0.50:8080/healthz',
    want: { kind: 'http', spec: 'http://10.96.0.50:8080/healthz', url: 'http://10.96.0.50:8080/healthz' },
  },
  {
    raw: 'https://kubernetes.default.svc/readyz',
    want: { kind: 'http', spec: 'https://kubernetes.default.svc/readyz', url: 'https://kubernetes.default.svc/readyz' },
  },
  {
    raw: 'https://[fd00:10:96::1]:6443/livez?verbose',
    want: {
      kind: 'http',
      spec: 'https://[fd00:10:96::1]:6443/livez?verbose',
      url: 'https://[fd00:10:96::1]:6443/livez?verbose',
    },
  },
  // URL normalises: default port dropped, path added.
  { raw: 'http://Example.COM:80', want: { kind: 'http', spec: 'http://Example.COM:80', url: 'http://example.com/' } },
];

for (const { raw, env, want } of GOOD) {
  test(`parseCheckSpec(${JSON.stringify(raw)})${env ? ` with ${env.KUBERNETES_SERVICE_HOST}` : ''}`, () => {
    assert.deepEqual(parseCheckSpec(raw, env ?? {}), { ok: true, value: want });
  });
}

const BAD: { raw: string; env?: ServiceEnv; error: RegExp }[] = [
  { raw: '', error: /^expected gateway, dns/ },
  { raw: 'ping', error: /^expected gateway, dns/ },
  { raw: 'Gateway', error: /^expected gateway, dns/ },
  { raw: 'udp://10.96.0.10:53', error: /^expected gateway, dns/ },
  { raw: '10.96.0.10:53', error: /^expected gateway, dns/ },
  { raw: 'dns:', error: /^"" is not a valid DNS name$/ },
  { raw: 'dns:bad..name', error: /^"bad..name" is not a valid DNS name$/ },
  { raw: 'dns:-leading-hyphen.example', error: /"-leading-hyphen.example" is not a valid DNS name/ },
  { raw: 'dns:has space.example', error: /"has space.example" is not a valid DNS name/ },
  { raw: 'tcp://10.96.0.10', error: /^expected tcp:\/\/HOST:PORT$/ },
  { raw: 'tcp://10.96.0.10:', error: /^expected tcp:\/\/HOST:PORT$/ },
  { raw: 'tcp://10.96.0.10:0', error: /^port must be 1-65535$/ },
  { raw: 'tcp://[fd00::1]:0', error: /^port must be 1-65535$/ },
  { raw: 'tcp://10.96.0.10:70000', error: /^expected tcp:\/\/HOST:PORT$/ },
  { raw: 'tcp://10.96.0.10:http', error: /^expected tcp:\/\/HOST:PORT$/ },
  { raw: 'tcp://10.96.0.10:53/dns', error: /^expected tcp:\/\/HOST:PORT$/ },
  { raw: 'tcp://10.96.0.10:53?proto=tcp', error: /^expected tcp:\/\/HOST:PORT$/ },
  { raw: 'tcp://10.96.0.10:53#x', error: /^expected tcp:\/\/HOST:PORT$/ },
  { raw: 'tcp://:53', error: /^expected tcp:\/\/HOST:PORT$/ },
  { raw: 'tcp://[fd00::1:53', error: /^expected tcp:\/\/HOST:PORT$/ },
  { raw: 'tcp://fd00::1:53', error: /^expected tcp:\/\/HOST:PORT$/ },
  { raw: 'tcp://under_score-._x:53', error: /is not a valid host/ },
  { raw: 'kubernetes', error: /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/ },
  { raw: 'kubernetes', env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, error: /KUBERNETES_SERVICE_PORT/ },
  { raw: 'kubernetes', env: { KUBERNETES_SERVICE_PORT: '443' }, error: /KUBERNETES_SERVICE_HOST/ },
  {
    raw: 'kubernetes',
    env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '0' },
    error: /^port must be 1-65535$/,
  },
  {
    raw: 'kubernetes',
    env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: 'https' },
    error: /^expected tcp:\/\/HOST:PORT$/,
  },
  { raw: 'http://', error: /^is not a valid URL$/ },
  { raw: 'https://api.example.com:99999/', error: /^is not a valid URL$/ },
  { raw: 'https://admin:hunter2@api.example.com/healthz', error: /^must not carry credentials$/ },
  { raw: 'http://token@10.96.0.50:8080/', error: /^must not carry credentials$/ },
];

for (const { raw, env, error } of BAD) {
  test(`parseCheckSpec(${JSON.stringify(raw)}) fails${env ? ` with ${JSON.stringify(env)}` : ''}`, () => {
    const r = parseCheckSpec(raw, env ?? {});
    assert.equal(r.ok, false, `accepted as ${JSON.stringify(r)}`);
    if (!r.ok) assert.match(r.error, error);
  });
}

test('tcp:// with credentials is rejected, as http(s):// is', () => {
  assert.equal(parseCheckSpec('tcp://user:pw@redis:6379', {}).ok, false);
});

test('tcp:// with an impossible IPv4 address is rejected', () => {
  assert.equal(parseCheckSpec('tcp://256.1.1.1:80', {}).ok, false);
});

const DNS_NAMES: [string, boolean][] = [
  ['kubernetes', true],
  ['kubernetes.default.svc.cluster.local', true],
  ['kubernetes.default.svc.cluster.local.', true],
  ['_dns._udp.example.com', true],
  ['xn--bcher-kva.example', true],
  [`${'a'.repeat(63)}.example`, true],
  [`${'a'.repeat(64)}.example`, false],
  [`${Array(4).fill('a'.repeat(62)).join('.')}.a`, true], // 253 characters
  [`${Array(4).fill('a'.repeat(62)).join('.')}.ab`, false], // 254 characters
  [`${Array(4).fill('a'.repeat(62)).join('.')}.a.`, true], // 253 plus the root dot
  ['', false],
  ['.', false],
  ['example..com', false],
  ['.example.com', false],
  ['-example.com', false],
  ['example-.com', false],
  ['exa mple.com', false],
  ['example.com/path', false],
  ['ex@mple.com', false],
  ['bücher.example', false],
];

for (const [name, want] of DNS_NAMES) {
  test(`isDnsName(${JSON.stringify(name.length > 40 ? `${name.slice(0, 20)}…(${name.length})` : name)}) is ${want}`, () => {
    assert.equal(isDnsName(name), want);
  });
}
