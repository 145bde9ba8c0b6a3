// `netready certs`: the files and printed manifest, checked with openssl (an
// independent implementation) and by serving the webhook with them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { run } from '../helpers/agent.ts';
import { https, startWebhook, tempDir } from './process.ts';

const openssl = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', timeout: 10_000 });

test(
  'netready certs: a CA and a serving certificate for the Service names, the caBundle and a Secret',
  { timeout: 30_000 },
  async (t) => {
    const out = join(tempDir(t), 'certs');
    const r = await run(['certs', '--service', 'netready-webhook', '--namespace', 'platform', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const file = (f: string) => readFileSync(join(out, f), 'utf8');

    assert.equal(
      openssl(['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt')]).trim(),
      `${join(out, 'tls.crt')}: OK`,
    );
    const ext = openssl([
      'x509',
      '-in',
      join(out, 'tls.crt'),
      '-noout',
      '-ext',
      'subjectAltName,extendedKeyUsage,basicConstraints',
    ]);
    assert.match(
      ext,
      /DNS:netready-webhook, DNS:netready-webhook\.platform, DNS:netready-webhook\.platform\.svc, DNS:netready-webhook\.platform\.svc\.cluster\.local\n/,
    );
    assert.match(ext, /TLS Web Server Authentication/);
    assert.match(ext, /CA:FALSE/);
    assert.match(openssl(['x509', '-in', join(out, 'ca.crt'), '-noout', '-ext', 'basicConstraints']), /CA:TRUE/);
    // The key matches the certificate.
    const pub = (args: string[]) => openssl(args);
    assert.equal(
      pub(['pkey', '-in', join(out, 'tls.key'), '-pubout']),
      pub(['x509', '-in', join(out, 'tls.crt'), '-noout', '-pubkey']),
    );
    assert.equal(statSync(join(out, 'tls.key')).mode & 0o777, 0o600);

    // stdout: the caBundle as a comment, then a Secret that kubectl can apply.
    const [first, sep, ...manifest] = r.stdout.split('\n');
    const caBundle = Buffer.from(file('ca.crt')).toString('base64');
    assert.equal(first, `# caBundle (for the MutatingWebhookConfiguration's clientConfig.caBundle): ${caBundle}`);
    assert.equal(sep, '---');
    assert.equal(manifest.join('\n'), file('secret.yaml'));
    assert.match(
      file('secret.yaml'),
      /^apiVersion: v1\nkind: Secret\nmetadata:\n {2}name: netready-webhook-tls\n {2}namespace: platform\n/,
    );
    const data = (key: string) =>
      Buffer.from(
        new RegExp(`^  ${key.replace('.', '\\.')}: (\\S+)$`, 'm').exec(file('secret.yaml'))![1]!,
        'base64',
      ).toString('utf8');
    assert.equal(data('tls.crt'), file('tls.crt'));
    assert.equal(data('tls.key'), file('tls.key'));
    assert.equal(file('ca-bundle.txt').trim(), caBundle);

    // Served by the webhook, it verifies against the CA under the name the API server uses.
    const hook = await startWebhook(t, ['--tls-cert', join(out, 'tls.crt'), '--tls-key', join(out, 'tls.key')]);
    const health = await https(hook.port, {
      ca: [file('ca.crt')],
      path: '/healthz',
      servername: 'netready-webhook.platform.svc',
    });
    assert.equal(health.status, 200);
    await assert.rejects(
      https(hook.port, { ca: [file('ca.crt')], path: '/healthz', servername: 'other.platform.svc' }),
      /altnames/,
    );
  },
);

test('netready certs: bad options exit 2 naming the option', { timeout: 15_000 }, async () => {
  const cases: [string[], string][] = [
    [['--service', 'x'], 'netready certs: --out: is required\n'],
    [
      ['--out', '/tmp/x', '--service', 'Bad_Name'],
      'netready certs: --service "Bad_Name": expected a DNS label: lowercase letters, digits and -\n',
    ],
    [['--out', '/tmp/x', '--days', '0'], 'netready certs: --days "0": expected 1 to 3650\n'],
  ];
  for (const [args, stderr] of cases) {
    const r = await run(['certs', ...args]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, stderr);
  }
});

test(
  'netready certs: files replaced, not written through; the key is 0600 even over a 0644 file or a symlink',
  { timeout: 30_000 },
  async (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'certs');
    mkdirSync(out);
    // Left by an earlier run or by hand: a world-readable key, and a Secret manifest that is a link to a file elsewhere.
    writeFileSync(join(out, 'tls.key'), 'old key\n', { mode: 0o644 });
    chmodSync(join(out, 'tls.key'), 0o644);
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'not yours\n', { mode: 0o644 });
    symlinkSync(victim, join(out, 'secret.yaml'));
    // A dangling link where the CA goes: following it would create a file outside --out.
    symlinkSync(join(dir, 'elsewhere.crt'), join(out, 'ca.crt'));
    const r = await run(['certs', '--out', out]);
    assert.equal(r.code, 0, r.stderr);

    const mode = (f: string) => lstatSync(join(out, f)).mode & 0o777;
    const TABLE: [string, number][] = [
      ['tls.key', 0o600],
      ['secret.yaml', 0o600],
      ['tls.crt', 0o644],
      ['ca.crt', 0o644],
      ['ca-bundle.txt', 0o644],
    ];
    for (const [file, expected] of TABLE) {
      assert.ok(lstatSync(join(out, file)).isFile(), `${file} is a regular file, not a link`);
      assert.equal(mode(file).toString(8), expected.toString(8), file);
    }
    assert.match(readFileSync(join(out, 'tls.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(readFileSync(join(out, 'secret.yaml'), 'utf8'), /^apiVersion: v1\n/);
    assert.equal(readFileSync(victim, 'utf8'), 'not yours\n', 'the link target is untouched');
    assert.equal(existsSync(join(dir, 'elsewhere.crt')), false, 'nothing was created through the dangling link');
    // No temporary files are left behind.
    assert.deepEqual(readdirSync(out).sort(), ['ca-bundle.txt', 'ca.crt', 'secret.yaml', 'tls.crt', 'tls.key']);
  },
);

test('netready certs: an unwritable --out exits 1 and leaves no temporary file', { timeout: 15_000 }, async (t) => {
  const dir = tempDir(t);
  // A directory where tls.key should be: the rename fails after the others were written.
  const out = join(dir, 'certs');
  mkdirSync(join(out, 'tls.key'), { recursive: true });
  const r = await run(['certs', '--out', out]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^netready certs: cannot write to .*certs: /);
  assert.deepEqual(
    readdirSync(out).filter((f) => f.endsWith('.tmp')),
    [],
  );
});
