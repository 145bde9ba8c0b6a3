// A corpus of hostile requests against the real webhook process over HTTPS:
// each one gets an answer (a 4xx, or 200 allowed: the webhook never denies),
// the process keeps serving after every one, its log lines stay small, and
// /metrics counts the admissions by result. Anything that can reach the
// Service can send these; the API server never does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { review } from './helpers.ts';
import { https, postReview, startWebhook, tempDir } from './process.ts';
import { issue, publishSecret } from './tls-helpers.ts';

/** An array nested `levels` deep, as JSON text: built as a string, since JSON.stringify of it would overflow here too. */
const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const DEEP = '"__DEEP__"';

/** The review as JSON text, with every string "__DEEP__" replaced by an array nested `levels` deep. */
function withDeep(doc: unknown, levels: number): string {
  const text = JSON.stringify(doc);
  assert.ok(text.includes(DEEP));
  return text.replaceAll(DEEP, deep(levels));
}

function reinvocation(): any {
  // A re-invocation whose netready-wait container sits behind a regular init container: the
  // webhook moves it back, so the patch would carry the whole container, deep field and all.
  const doc = review('already-injected');
  const [ours] = doc.request.object.spec.initContainers;
  doc.request.object.spec.initContainers = [
    { name: 'setup', image: 'busybox:1.36' },
    { ...ours, x: '__DEEP__' },
  ];
  return doc;
}

interface Case {
  readonly name: string;
  /** The body: a review object, or JSON text. */
  readonly body: () => unknown;
  readonly status: number;
  /** For 200: the whole `response` expected, the uid taken from the request. */
  readonly response?: 'allowed-unchanged' | 'patched';
  readonly contentType?: string;
}

const pod = (mutate: (doc: any) => void) => () => {
  const doc = review('deployment-pod');
  mutate(doc);
  return doc;
};

const CORPUS: Case[] = [
  {
    name: 'metadata.name an array nested 2,500 deep (7.6 KB)',
    body: () => withDeep(pod((d) => (d.request.object.metadata.name = '__DEEP__'))(), 2_500),
    status: 200,
    response: 'allowed-unchanged',
  },
  {
    name: 'metadata.generateName nested 100,000 deep',
    body: () => withDeep(pod((d) => (d.request.object.metadata.generateName = '__DEEP__'))(), 100_000),
    status: 200,
    response: 'allowed-unchanged',
  },
  {
    name: 'a re-invocation whose netready-wait holds a field nested 500,000 deep',
    body: () => withDeep(reinvocation(), 500_000),
    status: 200,
    response: 'allowed-unchanged',
  },
  {
    name: 'an annotation value nested 5,000 deep',
    body: () =>
      withDeep(pod((d) => (d.request.object.metadata.annotations = { 'netready.io/timeout': '__DEEP__' }))(), 5_000),
    status: 200,
    response: 'allowed-unchanged',
  },
  {
    name: 'the inject label nested 5,000 deep',
    body: () => withDeep(pod((d) => (d.request.object.metadata.labels['netready.io/inject'] = '__DEEP__'))(), 5_000),
    status: 200,
    response: 'allowed-unchanged',
  },
  {
    name: 'request.object itself nested 500,000 deep',
    body: () => withDeep(pod((d) => (d.request.object = '__DEEP__'))(), 500_000),
    status: 200,
    response: 'allowed-unchanged',
  },
  {
    name: 'a 1 MB pod name',
    body: pod((d) => (d.request.object.metadata.name = 'x'.repeat(1024 * 1024))),
    status: 200,
    response: 'patched',
  },
  {
    name: 'request.oldObject nested 500,000 deep beside a real pod (ignored)',
    body: () => withDeep(pod((d) => (d.request.oldObject = '__DEEP__'))(), 500_000),
    status: 200,
    response: 'patched',
  },
  {
    name: 'request.uid nested 2,500 deep',
    body: () => withDeep(pod((d) => (d.request.uid = '__DEEP__'))(), 2_500),
    status: 400,
  },
  {
    name: 'request.namespace nested 2,500 deep',
    body: () => withDeep(pod((d) => (d.request.namespace = '__DEEP__'))(), 2_500),
    status: 400,
  },
  {
    name: 'a 3 MB namespace',
    body: pod((d) => (d.request.namespace = 'n'.repeat(2 * 1024 * 1024))),
    status: 200,
    response: 'patched',
  },
  { name: 'the whole body an array nested 1,000,000 deep', body: () => deep(1_000_000), status: 400 },
  { name: 'body not JSON', body: () => '{"apiVersion":', status: 400 },
  { name: 'v1beta1 review', body: pod((d) => (d.apiVersion = 'admission.k8s.io/v1beta1')), status: 400 },
  { name: 'no request.uid', body: pod((d) => delete d.request.uid), status: 400 },
  { name: 'non-JSON content type', body: () => review('deployment-pod'), contentType: 'text/plain', status: 415 },
  { name: 'body over the limit', body: () => JSON.stringify({ pad: 'x'.repeat(4 * 1024 * 1024) }), status: 413 },
];

test('every hostile admission request is answered, and the webhook keeps serving', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const pair = issue(dir, 'a');
  const files = publishSecret(join(dir, 'tls'), pair);
  const hook = await startWebhook(t, ['--tls-cert', files.cert, '--tls-key', files.key]);
  const ca = [pair.caPem];
  const counted = { injected: 0, skipped: 0, error: 0 };

  for (const k of CORPUS) {
    const body = k.body();
    const r = await postReview(hook.port, ca, body, k.contentType ? { contentType: k.contentType } : {}).catch(
      (err: NodeJS.ErrnoException) => {
        // An oversized body is answered 413 and the connection closed while the client still writes.
        if (k.status === 413 && (err.code === 'ECONNRESET' || err.code === 'EPIPE'))
          return { status: 413, json: () => null, text: '' };
        throw err;
      },
    );
    assert.equal(r.status, k.status, `${k.name}: ${r.text.slice(0, 200)}`);
    if (k.status === 200) {
      const uid = (typeof body === 'string' ? JSON.parse(body.replace(/\[{100,}\]+/g, '0')) : body).request.uid;
      const response = r.json().response;
      if (k.response === 'allowed-unchanged') assert.deepEqual(response, { uid, allowed: true }, k.name);
      else assert.equal(response.patchType, 'JSONPatch', k.name);
      counted[k.response === 'patched' ? 'injected' : 'skipped']++;
    } else if (k.status === 400) counted.error++;
    assert.equal((await https(hook.port, { ca, path: '/healthz' })).status, 200, `serving after: ${k.name}`);
    assert.equal(hook.child.exitCode, null, `alive after: ${k.name}`);
  }

  // A real pod is still injected after all of it.
  assert.equal((await postReview(hook.port, ca, review('job-pod'))).json().response.patchType, 'JSONPatch');
  counted.injected++;

  // Nothing taken from a request is logged unbounded.
  const longest = Math.max(...hook.logs().map((l) => JSON.stringify(l).length));
  assert.ok(longest < 4096, `longest log line ${longest} characters`);
  const metrics = await https(hook.port, { ca, path: '/metrics' });
  assert.equal(metrics.status, 200);
  for (const [result, n] of Object.entries(counted)) {
    assert.match(
      metrics.text,
      new RegExp(`^netready_webhook_admissions_total\\{result="${result}"\\} ${n}$`, 'm'),
      result,
    );
  }
});
