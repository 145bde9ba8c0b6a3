// The webhook over real HTTPS: `netready webhook` as a child process, a node:https
// client trusting the test CA, real AdmissionReview fixtures, and a certificate
// rotation done the way the kubelet updates a Secret volume while requests flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { applyPatch, assertValidPod, review } from './helpers.ts';
import { https, postReview, startWebhook, tempDir } from './process.ts';
import { issue, publishSecret } from './tls-helpers.ts';

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

test(
  'POST /mutate and GET /healthz over HTTPS: patches, skips, dry runs and bad requests',
  { timeout: 30_000 },
  async (t) => {
    const dir = tempDir(t);
    const pair = issue(dir, 'a');
    const files = publishSecret(join(dir, 'tls'), pair);
    const hook = await startWebhook(t, ['--tls-cert', files.cert, '--tls-key', files.key]);
    const ca = [pair.caPem];

    const health = await https(hook.port, { ca, path: '/healthz' });
    assert.equal(health.status, 200);
    assert.equal(health.fingerprint, fingerprint(pair.certPem));

    // Injected: apiVersion, kind and uid echoed; a JSONPatch that applies to the pod and makes a valid Pod.
    const doc = review('deployment-pod');
    const injected = await postReview(hook.port, ca, doc);
    assert.equal(injected.status, 200);
    const answer = injected.json();
    assert.equal(answer.apiVersion, 'admission.k8s.io/v1');
    assert.equal(answer.kind, 'AdmissionReview');
    assert.equal(answer.response.uid, doc.request.uid);
    assert.equal(answer.response.allowed, true);
    assert.equal(answer.response.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8'));
    const pod = applyPatch(doc.request.object, ops);
    assertValidPod(pod);
    assert.equal(pod.spec.initContainers[0].name, 'netready-wait');
    assert.equal(pod.spec.initContainers[0].image, 'registry.example/netready:0.1.0');
    assert.match(pod.metadata.annotations['netready.io/admitted-at'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // A dry run gets the same answer (apart from the admission time).
    const dry = structuredClone(doc);
    dry.request.dryRun = true;
    const dryOps = JSON.parse(
      Buffer.from((await postReview(hook.port, ca, dry)).json().response.patch, 'base64').toString('utf8'),
    );
    assert.deepEqual(dryOps[0], ops[0]);

    // Left alone: allowed, no patch, no patchType.
    for (const name of ['host-network', 'mirror', 'already-injected']) {
      const r = (await postReview(hook.port, ca, review(name))).json();
      assert.deepEqual(r.response, { uid: review(name).request.uid, allowed: true }, name);
    }
    // A bad annotation: still allowed and injected, with the warning.
    const warned = (await postReview(hook.port, ca, review('init-containers'))).json().response;
    assert.equal(warned.patchType, 'JSONPatch');
    assert.deepEqual(warned.warnings, [
      'netready.io/timeout "soon" ignored (using the default): expected a duration such as 30s or 5m',
    ]);
    // Not a pod CREATE: allowed untouched.
    const update = review('deployment-pod');
    update.request.operation = 'UPDATE';
    assert.deepEqual((await postReview(hook.port, ca, update)).json().response, {
      uid: update.request.uid,
      allowed: true,
    });
    // Garbage inside a well-formed review never denies: allowed, unchanged.
    const odd = review('deployment-pod');
    odd.request.object = { metadata: 'x', spec: [1, 2] };
    assert.deepEqual((await postReview(hook.port, ca, odd)).json().response, { uid: odd.request.uid, allowed: true });

    const BAD: { name: string; status: number; send: () => Promise<{ status: number }> }[] = [
      {
        name: 'non-JSON content type',
        status: 415,
        send: () => postReview(hook.port, ca, doc, { contentType: 'text/plain' }),
      },
      { name: 'body not JSON', status: 400, send: () => postReview(hook.port, ca, '{"apiVersion":') },
      {
        name: 'v1beta1 review',
        status: 400,
        send: () => postReview(hook.port, ca, { ...doc, apiVersion: 'admission.k8s.io/v1beta1' }),
      },
      {
        name: 'no request.uid',
        status: 400,
        send: () => postReview(hook.port, ca, { ...doc, request: { ...doc.request, uid: undefined } }),
      },
      {
        name: 'body over the limit',
        status: 413,
        send: () => postReview(hook.port, ca, JSON.stringify({ pad: 'x'.repeat(4 * 1024 * 1024) })),
      },
      { name: 'unknown path', status: 404, send: () => https(hook.port, { ca, path: '/validate', method: 'POST' }) },
      { name: 'GET /mutate', status: 405, send: () => https(hook.port, { ca, path: '/mutate' }) },
    ];
    for (const bad of BAD) {
      const r = await bad.send().catch((err: NodeJS.ErrnoException) => ({
        status: err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 413 : -1,
      }));
      assert.equal(r.status, bad.status, bad.name);
    }

    const logs = hook.logs();
    assert.ok(
      logs.some((l) => l.action === 'injected' && l.namespace === 'shop' && l.dryRun === true),
      'dry run logged',
    );
    assert.ok(
      logs.some((l) => l.action === 'skipped' && /^hostNetwork/.test(l.reason)),
      'skip reason logged',
    );
  },
);

test(
  'certificate rotation: a ..data symlink swap is picked up while requests flow; none fails, open connections stay',
  { timeout: 30_000 },
  async (t) => {
    const dir = tempDir(t);
    const first = issue(dir, 'first');
    const second = issue(dir, 'second');
    const mount = join(dir, 'tls');
    const files = publishSecret(mount, first);
    const hook = await startWebhook(t, ['--tls-cert', files.cert, '--tls-key', files.key]);
    const ca = [first.caPem, second.caPem];
    const doc = review('deployment-pod');

    // A keep-alive connection opened before the rotation, used again after it.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1, ca });
    t.after(() => keepAlive.destroy());
    const before = await postReview(hook.port, ca, doc, { agent: keepAlive });
    assert.equal(before.fingerprint, fingerprint(first.certPem));

    // Fresh connections in a loop (each one a new TLS handshake) until the new certificate is served.
    const seen: string[] = [];
    let failures = 0;
    let stop = false;
    const flow = (async () => {
      while (!stop) {
        const r = await postReview(hook.port, ca, doc).catch(() => null);
        if (!r || r.status !== 200 || r.json().response.allowed !== true) failures++;
        else seen.push(r.fingerprint);
      }
    })();
    while (seen.length < 20) await new Promise((r) => setTimeout(r, 5));
    publishSecret(mount, second);
    const deadline = Date.now() + 10_000;
    while (seen.at(-1) !== fingerprint(second.certPem) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const switchedAt = seen.length;
    while (seen.length < switchedAt + 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await flow;

    assert.equal(failures, 0);
    assert.equal(seen.at(-1), fingerprint(second.certPem), 'the new certificate is served');
    // Once switched, never back: the old certificate is not served to new connections any more.
    assert.deepEqual(
      seen.slice(switchedAt - 1).filter((f) => f !== fingerprint(second.certPem)),
      [],
    );
    const after = await postReview(hook.port, ca, doc, { agent: keepAlive });
    assert.equal(after.status, 200);
    assert.equal(after.reused, true, 'the connection opened before the rotation is still open');
    assert.equal(after.fingerprint, fingerprint(first.certPem));
    assert.ok(hook.logs().some((l) => l.msg === 'TLS certificate reloaded'));
  },
);

test('a bad --tls-key exits 1 naming the files; a missing --image exits 2', { timeout: 15_000 }, async (t) => {
  const dir = tempDir(t);
  const a = issue(dir, 'a');
  const b = issue(dir, 'b');
  const files = publishSecret(join(dir, 'tls'), { ...a, keyPem: b.keyPem });
  const { run } = await import('../helpers/agent.ts');
  const mismatched = await run([
    'webhook',
    '--listen',
    '127.0.0.1:0',
    '--image',
    'x:1',
    '--tls-cert',
    files.cert,
    '--tls-key',
    files.key,
  ]);
  assert.equal(mismatched.code, 1);
  assert.match(mismatched.logs[0]?.err?.message ?? '', /not a usable certificate and key/);
  const noImage = await run(['webhook', '--tls-cert', files.cert]);
  assert.equal(noImage.code, 2);
  assert.equal(noImage.stderr, 'netready webhook: --image: is required: the image of the injected container\n');
});

test('SIGTERM: stops listening and exits 0', { timeout: 15_000 }, async (t) => {
  const dir = tempDir(t);
  const pair = issue(dir, 'a');
  const files = publishSecret(join(dir, 'tls'), pair);
  const hook = await startWebhook(t, ['--tls-cert', files.cert, '--tls-key', files.key]);
  assert.equal((await postReview(hook.port, [pair.caPem], review('job-pod'))).status, 200);
  hook.child.kill('SIGTERM');
  assert.equal((await hook.exited).code, 0);
  assert.equal(hook.logs().at(-1)?.msg, 'webhook stopped');
});
