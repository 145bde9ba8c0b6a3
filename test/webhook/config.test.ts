// `netready webhook` configuration: defaults, flags over environment, and a bad
// value of an option failing with the option's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWebhookConfig } from '../../src/webhook/config.ts';
import { WEBHOOK_OPTIONS } from '../../src/webhook/options.ts';
import { CodedError } from '../../src/lib/errors.ts';

const IMAGE = ['--image', 'registry.example/netready:0.1.0'];

test('defaults: 0.0.0.0:9443, the mounted Secret, 2m fail, small resources, uid 65532, netready-system', () => {
  const c = parseWebhookConfig(IMAGE, {});
  assert.deepEqual(c, {
    listen: { host: '0.0.0.0', port: 9443 },
    tlsCert: '/etc/netready/tls/tls.crt',
    tlsKey: '/etc/netready/tls/tls.key',
    inject: {
      defaults: {
        image: 'registry.example/netready:0.1.0',
        checks: [],
        timeout: '2m',
        onTimeout: 'fail',
        settle: '0',
        collector: null,
        cpuRequest: '10m',
        cpuLimit: '200m',
        memoryRequest: '32Mi',
        memoryLimit: '96Mi',
        watch: false,
        watchPort: 9471,
      },
      runAsUser: 65532,
      ownNamespace: 'netready-system',
    },
    maxConnections: 500,
    tlsHandshakeTimeoutMs: 5_000,
    logLevel: 'info',
    dryRun: false,
  });
  assert.ok(
    Object.isFrozen(c) &&
      Object.isFrozen(c.inject) &&
      Object.isFrozen(c.inject.defaults) &&
      Object.isFrozen(c.inject.defaults.checks),
  );
});

test('every option but the booleans has a variable; flags win', () => {
  for (const [name, def] of Object.entries(WEBHOOK_OPTIONS)) if (!('type' in def)) assert.ok('env' in def, name);
  const env = {
    NETREADY_WEBHOOK_IMAGE: 'a:1',
    NETREADY_WEBHOOK_CHECKS: 'gateway, dns',
    NETREADY_WEBHOOK_COLLECTOR: 'http://c:9470/',
    NETREADY_WEBHOOK_NAMESPACE: 'ops',
  };
  const c = parseWebhookConfig(['--image', 'b:2'], env);
  assert.equal(c.inject.defaults.image, 'b:2');
  assert.deepEqual(c.inject.defaults.checks, ['gateway', 'dns']);
  assert.equal(c.inject.defaults.collector, 'http://c:9470');
  assert.equal(c.inject.ownNamespace, 'ops');
});

const BAD: [string[], Record<string, string>, string][] = [
  [[], {}, '--image: is required: the image of the injected container'],
  [['--listen', ':9443'], {}, '--listen ":9443": expected HOST:PORT, e.g. 0.0.0.0:9470, [::]:9470 or localhost:9470'],
  [[], { NETREADY_WEBHOOK_TIMEOUT: 'soon' }, 'NETREADY_WEBHOOK_TIMEOUT "soon": expected a duration such as 30s or 5m'],
  [
    ['--checks', 'gateway,ftp://x'],
    {},
    '--checks "gateway,ftp://x": check "ftp://x": expected gateway, dns, dns:NAME, tcp://HOST:PORT, kubernetes, http://… or https://…',
  ],
  [['--cpu-request', '1'], {}, '--cpu-request "1": above --cpu-limit "200m"'],
  [['--memory-limit', '64MB'], {}, '--memory-limit "64MB": expected a positive quantity such as 50m or 64Mi'],
  [['--run-as-user', '0'], {}, '--run-as-user "0": expected a non-zero uid'],
  [['--on-timeout', 'retry'], {}, '--on-timeout "retry": expected fail or continue'],
  [['--max-connections', '0'], {}, '--max-connections "0": expected a whole number from 1 to 100000'],
  [[], { NETREADY_WEBHOOK_TLS_HANDSHAKE_TIMEOUT: '2m' }, 'NETREADY_WEBHOOK_TLS_HANDSHAKE_TIMEOUT "2m": at most 60s'],
  [['--watch', 'yes'], {}, '--watch "yes": expected "true" or "false"'],
  [
    [],
    { NETREADY_WEBHOOK_WATCH_PORT: '70000' },
    'NETREADY_WEBHOOK_WATCH_PORT "70000": expected a port from 1 to 65535',
  ],
];
for (const [argv, env, message] of BAD) {
  test(`bad configuration: ${message.split(':')[0]}`, () => {
    const args = argv.includes('--image') || message.startsWith('--image') ? argv : [...IMAGE, ...argv];
    assert.throws(
      () => parseWebhookConfig(args, env),
      (err: unknown) => err instanceof CodedError && err.code === 'ERR_CONFIG' && err.message === message,
    );
  });
}
