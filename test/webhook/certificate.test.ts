// The serving certificate's life: an expired or expiring certificate is
// warned about and its expiry exported as a metric, and a certificate
// directory deleted and made again is noticed at once, not by the 30 s poll.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { https, startWebhook, tempDir } from './process.ts';
import { issue, publishSecret, type Issued } from './tls-helpers.ts';

const EXPIRY = 'netready_webhook_certificate_expiry_timestamp_seconds';
const notAfterSeconds = (pair: Issued) => Math.floor(Date.parse(new X509Certificate(pair.certPem).validTo) / 1000);

async function expiryMetric(port: number, ca: string[]): Promise<number> {
  // Not verified: the point is to read what an expired certificate's server says.
  const text = (await https(port, { ca, path: '/metrics', rejectUnauthorized: false })).text;
  return Number(new RegExp(`^${EXPIRY} (\\d+)$`, 'm').exec(text)?.[1]);
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  'an expired certificate is served with a warning and its expiry as a metric; a renewed one clears it',
  { timeout: 30_000 },
  async (t) => {
    const dir = tempDir(t);
    // Served certificates, by how long they are valid from now, and what the webhook logs about each.
    const TABLE: { days: number; warning: RegExp | null }[] = [
      { days: -1, warning: /^serving an EXPIRED certificate/ },
      { days: 3, warning: /^the serving certificate expires within 7 days/ },
      { days: 30, warning: null },
    ];
    const pairs = TABLE.map((row, i) => issue(dir, `p${i}`, undefined, row.days));
    const mount = join(dir, 'tls');
    const files = publishSecret(mount, pairs[0]!);
    const hook = await startWebhook(t, ['--tls-cert', files.cert, '--tls-key', files.key]);
    const ca = pairs.map((p) => p.caPem);
    for (const [i, row] of TABLE.entries()) {
      if (i > 0) {
        const before = hook.logs().length;
        publishSecret(mount, pairs[i]!);
        await until(`certificate ${i} reloaded`, () =>
          hook
            .logs()
            .slice(before)
            .some((l) => l.msg === 'TLS certificate reloaded'),
        );
      }
      assert.equal(await expiryMetric(hook.port, ca), notAfterSeconds(pairs[i]!), `metric for ${row.days} days`);
      const warned = hook
        .logs()
        .filter((l) => l.level === 'warn' && l.notAfter === new Date(notAfterSeconds(pairs[i]!) * 1000).toISOString());
      if (row.warning === null) assert.deepEqual(warned, [], `no warning for ${row.days} days`);
      else assert.match(warned[0]?.msg ?? '(none)', row.warning, `warning for ${row.days} days`);
    }
  },
);

test('a certificate directory deleted and made again is picked up within seconds', { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const first = issue(dir, 'first');
  const second = issue(dir, 'second');
  // Plain files, not a Secret volume: the directory itself goes away.
  const certs = join(dir, 'certs');
  const write = (pair: Issued) => {
    mkdirSync(certs, { recursive: true });
    writeFileSync(join(certs, 'tls.key'), pair.keyPem);
    writeFileSync(join(certs, 'tls.crt'), pair.certPem);
  };
  write(first);
  const hook = await startWebhook(t, ['--tls-cert', join(certs, 'tls.crt'), '--tls-key', join(certs, 'tls.key')]);
  const ca = [first.caPem, second.caPem];
  const served = async () => (await https(hook.port, { ca, path: '/healthz' })).fingerprint;
  assert.equal(await served(), new X509Certificate(first.certPem).fingerprint256);

  rmSync(certs, { recursive: true });
  // Gone for a moment, then back with a new pair (well before the 30 s poll).
  await new Promise((r) => setTimeout(r, 300));
  write(second);
  const want = new X509Certificate(second.certPem).fingerprint256;
  await until('the new certificate is served', async () => (await served()) === want);
  // Watched again: a second rotation in the new directory is seen too.
  const third = issue(dir, 'third');
  write(third);
  await until(
    'the third certificate is served',
    async () =>
      (await https(hook.port, { ca: [...ca, third.caPem], path: '/healthz' })).fingerprint ===
      new X509Certificate(third.certPem).fingerprint256,
  );
});
