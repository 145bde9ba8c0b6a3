// `netready certs`: the files and printed manifest, checked with openssl (an
// independent implementation) and by serving the webhook with them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../helpers/agent.ts';
import { https, startWebhook, tempDir } from './process.ts';

const openssl = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', timeout: 10_000 });

test('netready certs: a CA and a serving certificate for the Service names, the caBundle and a Secret', { timeout: 30_000 }, async (t) => {
  const out = join(tempDir(t), 'certs');
  const r = await run(['certs', '--service', 'netready-webhook', '--namespace', 'platform', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const file = (f: string) => readFileSync(join(out, f), 'utf8');

  assert.equal(openssl(['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt')]).trim(), `${join(out, 'tls.crt')}: OK`);
  const ext = openssl(['x509', '-in', join(out, 'tls.crt'), '-noout', '-ext', 'subjectAltName,extendedKeyUsage,basicConstraints']);
  assert.match(ext, /DNS:netready-webhook, DNS:netready-webhook\.platform, DNS:netready-webhook\.platform\.svc, DNS:netready-webhook\.platform\.svc\.cluster\.local\n/);
  assert.match(ext, /TLS Web Server Authentication/);
  assert.match(ext, /CA:FALSE/);
  assert.match(openssl(['x509', '-in', join(out, 'ca.crt'), '-noout', '-ext', 'basicConstraints']), /CA:TRUE/);
  // The key matches the certificate.
  const pub = (args: string[]) => openssl(args);
  assert.equal(pub(['pkey', '-in', join(out, 'tls.key'), '-pubout']), pub(['x509', '-in', join(out, 'tls.crt'), '-noout', '-pubkey']));
  assert.equal(statSync(join(out, 'tls.key')).mode & 0o777, 0o600);

  // stdout: the caBundle as a comment, then a Secret that kubectl can apply.
  const [first, sep, ...manifest] = r.stdout.split('\n');
  const caBundle = Buffer.from(file('ca.crt')).toString('base64');
  assert.equal(first, `# caBundle (for the MutatingWebhookConfiguration's clientConfig.caBundle): ${caBundle}`);
  assert.equal(sep, '---');
  assert.equal(manifest.join('\n'), file('secret.yaml'));
  assert.match(file('secret.yaml'), /^apiVersion: v1\nkind: Secret\nmetadata:\n  name: netready-webhook-tls\n  namespace: platform\n/);
  const data = (key: string) => Buffer.from(new RegExp(`^  ${key.replace('.', '\\.')}: (\\S+)$`, 'm').exec(file('secret.yaml'))![1]!, 'base64').toString('utf8');
  assert.equal(data('tls.crt'), file('tls.crt'));
  assert.equal(data('tls.key'), file('tls.key'));
  assert.equal(file('ca-bundle.txt').trim(), caBundle);

  // Served by the webhook, it verifies against the CA under the name the API server uses.
  const hook = await startWebhook(t, ['--tls-cert', join(out, 'tls.crt'), '--tls-key', join(out, 'tls.key')]);
  const health = await https(hook.port, { ca: [file('ca.crt')], path: '/healthz', servername: 'netready-webhook.platform.svc' });
  assert.equal(health.status, 200);
  await assert.rejects(https(hook.port, { ca: [file('ca.crt')], path: '/healthz', servername: 'other.platform.svc' }), /altnames/);
});

test('netready certs: bad options exit 2 naming the option', { timeout: 15_000 }, async () => {
  const cases: [string[], string][] = [
    [['--service', 'x'], 'netready certs: --out: is required\n'],
    [['--out', '/tmp/x', '--service', 'Bad_Name'], 'netready certs: --service "Bad_Name": expected a DNS label: lowercase letters, digits and -\n'],
    [['--out', '/tmp/x', '--days', '0'], 'netready certs: --days "0": expected 1 to 3650\n'],
  ];
  for (const [args, stderr] of cases) {
    const r = await run(['certs', ...args]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, stderr);
  }
});
