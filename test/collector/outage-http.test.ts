// Outage documents (`netready watch`) at a real collector process: POST
// /v1/reports takes a start report (kind "start" or none) and an outage
// (kind "outage"), any other kind is a 400 naming `kind`; GET /v1/outages
// lists them; /metrics counts each stored outage once, per node, under the
// label cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, makeReport, postReport, samples, send, startCollector } from './helpers.ts';

/** valid-outage.json made unique by `i` (its start time), with `pod` fields and other fields overridden. */
function makeOutage(i: number, pod: Record<string, string> = {}, fields: Record<string, unknown> = {}) {
  const base = fixture('valid-outage.json');
  return {
    ...base,
    pod: { ...base.pod, ...pod },
    startedAt: new Date(Date.parse(base.startedAt) + i * 60_000).toISOString(),
    ...fields,
  };
}

test('an outage is stored once and listed whole; start reports with kind "start" or none are still taken', async (t) => {
  const c = await startCollector(t, ['--db', ':memory:']);
  const outage = makeOutage(0);
  const first = await postReport(c.url, outage);
  assert.equal(first.status, 202);
  assert.equal(first.json().status, 'stored');
  // The watch's delivery retries a document whose answer it did not see.
  assert.deepEqual((await postReport(c.url, outage)).json(), { status: 'duplicate' });
  const listed = (await send(c.url, { path: '/v1/outages' })).json();
  assert.equal(listed.outages.length, 1);
  assert.deepEqual(listed.outages[0].outage, outage);
  assert.equal(listed.next, null);

  assert.equal((await postReport(c.url, makeReport(1))).status, 202);
  assert.equal((await postReport(c.url, { ...makeReport(2), kind: 'start' })).status, 202);
  // Outages are not start reports: the report list holds the two reports only.
  assert.equal((await send(c.url, { path: '/v1/reports' })).json().reports.length, 2);
});

test('an unknown kind is a 400 naming kind; an outage missing a field is a 400 naming the field', async (t) => {
  const c = await startCollector(t, ['--db', ':memory:']);
  for (const kind of ['restart', 7, null]) {
    const res = await postReport(c.url, { ...makeOutage(0), kind });
    assert.equal(res.status, 400, `kind ${JSON.stringify(kind)}`);
    assert.equal(res.json().error, 'invalid_report');
    assert.match(res.json().message, /^kind: /);
    assert.deepEqual(
      res.json().issues.map((i: { path: string }) => i.path),
      ['kind'],
    );
  }
  const { durationSeconds: _, ...noDuration } = makeOutage(0);
  const missing = await postReport(c.url, noDuration);
  assert.equal(missing.status, 400);
  assert.deepEqual(
    missing.json().issues.map((i: { path: string }) => i.path),
    ['durationSeconds'],
  );
  const badClass = await postReport(
    c.url,
    makeOutage(0, {}, { checks: [{ spec: 'dns', kind: 'dns', errors: { 'Not A Class': 1 } }] }),
  );
  assert.deepEqual(
    badClass.json().issues.map((i: { path: string }) => i.path),
    ['checks.0.errors.Not A Class'],
  );
  assert.equal((await send(c.url, { path: '/v1/outages' })).json().outages.length, 0);
  const text = await (await send(c.url, { path: '/metrics' })).text;
  assert.equal(
    samples(text, 'netready_reports_rejected_total').find((s) => s.labels.reason === 'invalid_report')!.value,
    5,
  );
});

test('GET /v1/outages: newest first, filters by node and namespace, pages by cursor, names a bad parameter', async (t) => {
  const c = await startCollector(t, ['--db', ':memory:']);
  for (let i = 0; i < 5; i++)
    assert.equal(
      (await postReport(c.url, makeOutage(i, { node: i % 2 ? 'node-b' : 'node-a', namespace: i < 3 ? 'shop' : 'pay' })))
        .status,
      202,
    );
  const starts = (q: string) =>
    send(c.url, { path: `/v1/outages${q}` }).then((r) =>
      r.json().outages.map((o: any) => (Date.parse(o.outage.startedAt) - Date.parse(makeOutage(0).startedAt)) / 60_000),
    );
  assert.deepEqual(await starts(''), [4, 3, 2, 1, 0]);
  assert.deepEqual(await starts('?node=node-b'), [3, 1]);
  assert.deepEqual(await starts('?namespace=pay'), [4, 3]);
  assert.deepEqual(await starts('?node=node-a&namespace=shop'), [2, 0]);
  const page1 = (await send(c.url, { path: '/v1/outages?limit=2' })).json();
  assert.equal(page1.outages.length, 2);
  const page2 = (await send(c.url, { path: `/v1/outages?limit=2&cursor=${page1.next}` })).json();
  const page3 = (await send(c.url, { path: `/v1/outages?limit=2&cursor=${page2.next}` })).json();
  assert.deepEqual(
    [...page1.outages, ...page2.outages, ...page3.outages].map((o: any) => o.id),
    (await send(c.url, { path: '/v1/outages' })).json().outages.map((o: any) => o.id),
  );
  assert.equal(page3.next, null);
  for (const [query, message] of [
    ['?outcome=ready', 'outcome: unknown parameter; expected node, namespace, limit, cursor'],
    ['?limit=0', 'limit: expected 1 to 1000'],
    ['?node=a&node=b', 'node: given more than once'],
  ]) {
    const res = await send(c.url, { path: `/v1/outages${query}` });
    assert.equal(res.status, 400, query);
    assert.deepEqual(res.json(), { error: 'invalid_query', message });
  }
});

test('metrics: netready_network_lost_total and netready_network_outage_seconds per node, under the label cap; dropped outages counted', async (t) => {
  const c = await startCollector(t, ['--db', ':memory:', '--max-label-values', '1']);
  await postReport(c.url, makeOutage(0, { node: 'node-a' }, { durationSeconds: 7.25 }));
  await postReport(c.url, makeOutage(0, { node: 'node-a' }, { durationSeconds: 7.25 })); // a retry: counted once
  await postReport(c.url, makeOutage(1, { node: 'node-a' }, { durationSeconds: 40, dropped: 3 }));
  await postReport(c.url, makeOutage(2, { node: 'node-b' }, { durationSeconds: 2 }));
  const text = await (await send(c.url, { path: '/metrics' })).text;
  assert.deepEqual(samples(text, 'netready_network_lost_total'), [
    { labels: { node: 'node-a' }, value: 2 },
    { labels: { node: 'other' }, value: 1 },
  ]);
  const count = samples(text, 'netready_network_outage_seconds_count');
  assert.deepEqual(count, [
    { labels: { node: 'node-a' }, value: 2 },
    { labels: { node: 'other' }, value: 1 },
  ]);
  assert.equal(
    samples(text, 'netready_network_outage_seconds_sum').find((s) => s.labels.node === 'node-a')!.value,
    47.25,
  );
  const le10 = samples(text, 'netready_network_outage_seconds_bucket').find(
    (s) => s.labels.node === 'node-a' && s.labels.le === '10',
  )!;
  assert.equal(le10.value, 1);
  assert.deepEqual(samples(text, 'netready_network_outages_dropped_total'), [{ labels: {}, value: 3 }]);
  assert.equal(samples(text, 'netready_label_values_folded_total').find((s) => s.labels.label === 'node')!.value, 1);
});
