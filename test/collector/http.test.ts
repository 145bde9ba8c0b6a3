// The collector's HTTP interface in-process: createCollector(config), the
// factory main.ts uses, from a parsed configuration, its request listener on a
// real node:http server on loopback. Auth, listing and paging, readiness, a
// failing store and its rate-limited log, the label cap.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createCollector } from '../../src/collector/collector.ts';
import { parseCollectorConfig } from '../../src/collector/config.ts';
import { ErrorThrottle } from '../../src/collector/ingest.ts';
import { createLogger } from '../../src/lib/log.ts';
import { makeReport, postReport, samples, send, serveCollector } from './helpers.ts';

async function startInProcess(
  t: TestContext,
  options: { token?: string; maxLabelValues?: number; reads?: 'token' } = {},
) {
  const args = [
    ...['--db', ':memory:', '--max-label-values', String(options.maxLabelValues ?? 1000)],
    ...(options.token === undefined ? [] : ['--token-file', '/token']),
    ...(options.reads === undefined ? [] : ['--reads', options.reads]),
  ];
  const config = parseCollectorConfig(args, {}, () => `${options.token}\n`);
  const clock = { ms: Date.now(), now: () => clock.ms };
  const logs: Record<string, any>[] = [];
  const log = createLogger('test', 'debug', (line) => logs.push(JSON.parse(line)));
  const collector = await createCollector(config, { log, clock, processMetrics: false, retention: false });
  const state = {
    set stopping(v: boolean) {
      if (v) collector.stopAccepting();
    },
  };
  const url = await serveCollector(t, collector);
  return {
    url,
    store: collector.store,
    registry: collector.registry,
    logs,
    state,
    ingest: collector.ingest,
    clock,
  };
}

test('bearer token: 401 without it or with a wrong one, 202 with it', async (t) => {
  const c = await startInProcess(t, { token: 'tok-123' });
  const none = await postReport(c.url, makeReport(1));
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Bearer realm="netready"');
  assert.equal(none.json().error, 'unauthorized');
  assert.equal((await postReport(c.url, makeReport(1), { authorization: 'Bearer tok-1234' })).status, 401);
  assert.equal((await postReport(c.url, makeReport(1), { authorization: 'Basic dG9rLTEyMw==' })).status, 401);
  assert.equal((await postReport(c.url, makeReport(1), { authorization: 'Bearer tok-123' })).status, 202);
  assert.equal((await postReport(c.url, makeReport(2), { authorization: 'bearer tok-123' })).status, 202);
  // Reads and probes need no token.
  assert.equal((await send(c.url, { path: '/v1/reports' })).json().reports.length, 2);
  const text = await c.registry.metrics();
  assert.equal(
    samples(text, 'netready_reports_rejected_total').find((s) => s.labels.reason === 'unauthorized')!.value,
    2 + 1,
  );
});

test('--reads token: the endpoints that list pods need the token too; the dashboard page, metrics and probes do not', async (t) => {
  const c = await startInProcess(t, { token: 'tok-123', reads: 'token' });
  const auth = { authorization: 'Bearer tok-123' };
  assert.equal((await postReport(c.url, makeReport(1), auth)).status, 202);
  for (const path of ['/v1/reports', '/v1/reports?limit=1', '/v1/summary?since=1h', '/v1/outages']) {
    for (const [headers, status] of [
      [{}, 401],
      [{ authorization: 'Bearer tok-1234' }, 401],
      [auth, 200],
    ] as const) {
      const res = await send(c.url, { path, headers });
      assert.equal(res.status, status, `${path} ${JSON.stringify(headers)}: ${res.text}`);
      if (status === 401) {
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="netready"');
        assert.equal(res.json().error, 'unauthorized');
        assert.equal(res.text.includes('web-1'), false, 'nothing of the store in a 401');
      }
    }
    assert.equal((await send(c.url, { method: 'HEAD', path })).status, 401, `HEAD ${path}`);
  }
  assert.equal((await send(c.url, { path: '/v1/reports', headers: auth })).json().reports[0].report.pod.name, 'web-1');
  for (const path of ['/', '/metrics', '/healthz', '/readyz'])
    assert.equal((await send(c.url, { path })).status, 200, path);
});

test('202 answers say stored or duplicate; a duplicate changes no metric but its own counter', async (t) => {
  const c = await startInProcess(t);
  const r = makeReport(1);
  const first = await postReport(c.url, r);
  assert.equal(first.status, 202);
  assert.deepEqual(first.json(), { status: 'stored', id: 1 });
  assert.deepEqual((await postReport(c.url, r)).json(), { status: 'duplicate' });
  const text = await c.registry.metrics();
  assert.deepEqual(samples(text, 'netready_reports_total'), [{ labels: {}, value: 1 }]);
  assert.deepEqual(samples(text, 'netready_reports_duplicate_total'), [{ labels: {}, value: 1 }]);
  assert.equal(samples(text, 'netready_ready_delay_seconds_count')[0]!.value, 1);
});

test('GET /v1/reports: filters and cursor pages over HTTP; bad parameters are named', async (t) => {
  const c = await startInProcess(t);
  for (let i = 0; i < 25; i++) {
    const res = await postReport(
      c.url,
      makeReport(
        i * 1000,
        { node: i % 2 ? 'node-odd' : 'node-even', namespace: 'shop' },
        { delaySeconds: i, outcome: i === 24 ? 'timeout' : 'ready' },
      ),
    );
    assert.equal(res.status, 202);
  }
  const get = async (q: string) => send(c.url, { path: `/v1/reports?${q}` });
  const names: string[] = [];
  let cursor: string | null = '';
  while (cursor !== null) {
    const res = await get(`node=node-even&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200);
    const page = res.json();
    names.push(...page.reports.map((r: any) => r.report.pod.name));
    cursor = page.next;
  }
  assert.equal(names.length, 13);
  assert.equal(names[0], 'web-24000');
  assert.equal(new Set(names).size, 13);
  assert.deepEqual(
    (await get('outcome=timeout')).json().reports.map((r: any) => r.report.pod.name),
    ['web-24000'],
  );
  assert.equal((await get('slower-than=20s')).json().reports.length, 4);
  assert.equal((await get('slower-than=22.5')).json().reports.length, 2);
  assert.equal((await get('since=2025-11-25T13:02:32.418Z&namespace=shop')).json().reports.length, 5);
  assert.equal((await get('since=1h')).json().reports.length, 0, 'the fixtures started in 2025');

  const BAD: [string, RegExp][] = [
    ['limit=0', /^limit: expected 1 to 1000/],
    ['limit=5000', /^limit/],
    ['outcome=ok', /^outcome: expected ready or timeout/],
    ['slower-than=fast', /^slower-than: expected seconds/],
    ['since=yesterday', /^since: expected an RFC 3339 time/],
    ['since=99999999999h', /^since: a duration back from now is at most 87600h/],
    ['cursor=abc', /^cursor: not a cursor/],
    ['slowerThan=2', /^slowerThan: unknown parameter/],
    ['node=a&node=b', /^node: given more than once/],
    [`node=${'n'.repeat(300)}`, /^node: /],
  ];
  for (const [q, message] of BAD) {
    const res = await get(q);
    assert.equal(res.status, 400, q);
    assert.equal(res.json().error, 'invalid_query');
    assert.match(res.json().message, message, q);
  }
});

test('routes: /healthz, /readyz, /metrics with the exposition content type, 404, 405 with Allow, HEAD', async (t) => {
  const c = await startInProcess(t);
  assert.deepEqual((await send(c.url, { path: '/healthz' })).json(), { status: 'ok' });
  assert.deepEqual((await send(c.url, { path: '/readyz' })).json(), { status: 'ready' });
  const m = await send(c.url, { path: '/metrics' });
  assert.equal(m.status, 200);
  assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.equal((await send(c.url, { path: '/nope' })).status, 404);
  const put = await send(c.url, { method: 'PUT', path: '/v1/reports' });
  assert.equal(put.status, 405);
  assert.equal(put.headers.allow, 'POST, GET');
  assert.equal((await send(c.url, { method: 'POST', path: '/metrics' })).status, 405);
  const head = await send(c.url, { method: 'HEAD', path: '/healthz' });
  assert.equal(head.status, 200);
  assert.equal(head.text, '');
  // While stopping: not ready, and connections are closed after each answer.
  c.state.stopping = true;
  const stopping = await send(c.url, { path: '/readyz' });
  assert.equal(stopping.status, 503);
  assert.equal(stopping.headers.connection, 'close');
});

test('a store that takes no writes: /readyz 503, POST 503 with Retry-After (the agent retries), counted as store_error, logged', async (t) => {
  const c = await startInProcess(t);
  await c.store.close();
  const ready = await send(c.url, { path: '/readyz' });
  assert.equal(ready.status, 503);
  assert.equal(ready.json().status, 'not_ready');
  assert.ok(ready.json().message.length > 0);
  const [post] = await Promise.all([
    postReport(c.url, makeReport(1)),
    postReport(c.url, makeReport(2)),
    postReport(c.url, makeReport(3)),
  ]);
  assert.equal(post!.status, 503);
  assert.equal(post!.headers['retry-after'], '1');
  assert.equal(post!.json().error, 'store_error');
  assert.equal(
    samples(await c.registry.metrics(), 'netready_reports_rejected_total').find(
      (s) => s.labels.reason === 'store_error',
    )!.value,
    3,
  );
  const errors = () =>
    c.logs.filter((l) => l.level === 'error' && /could not store a batch of reports/.test(l.msg)).length;
  const before = errors();
  assert.ok(before >= 1);
  // One failed commit of 50 reports: one error line, not 50.
  c.clock.ms += 60_000;
  const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => c.ingest.submit(makeReport(100 + i))));
  assert.ok(results.every((r) => r.status === 'rejected'));
  assert.equal(errors() - before, 1);
  // A full disk fails every commit: 100 failed commits within 10 s log no more lines; the
  // next line, 10 s on, says how many were left out.
  for (let i = 0; i < 100; i++) await c.ingest.submit(makeReport(200 + i)).catch(() => {});
  assert.equal(errors() - before, 1);
  c.clock.ms += 10_000;
  await c.ingest.submit(makeReport(999)).catch(() => {});
  assert.equal(errors() - before, 2);
  assert.equal(c.logs.filter((l) => /could not store a batch/.test(l.msg)).at(-1)!.failedCommitsNotLogged, 100);
});

test('ErrorThrottle: the first error at once, then one per interval with the count left out', () => {
  const throttle = new ErrorThrottle(10_000);
  const STEPS: [number, ReturnType<ErrorThrottle['take']>][] = [
    [0, { log: true, suppressed: 0 }],
    [1, { log: false }],
    [9_999, { log: false }],
    [10_000, { log: true, suppressed: 2 }],
    [15_000, { log: false }],
    [60_000, { log: true, suppressed: 1 }],
    [70_000, { log: true, suppressed: 0 }],
  ];
  for (const [at, want] of STEPS) assert.deepEqual(throttle.take(at), want, `at ${at}`);
});

test('300 distinct node names over HTTP with --max-label-values 20: /metrics carries 20 nodes and "other"', async (t) => {
  const c = await startInProcess(t, { maxLabelValues: 20 });
  const results = await Promise.all(
    Array.from({ length: 300 }, (_, i) => postReport(c.url, makeReport(i, { node: `node-${i}` }))),
  );
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set([202]));
  const text = (await send(c.url, { path: '/metrics' })).text;
  const nodes = samples(text, 'netready_ready_delay_seconds_count');
  assert.equal(nodes.length, 21);
  assert.equal(nodes.find((s) => s.labels.node === 'other')!.value, 280);
  assert.equal(samples(text, 'netready_label_values_folded_total').find((s) => s.labels.label === 'node')!.value, 280);
});
