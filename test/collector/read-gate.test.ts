// Reads must not starve ingest (issue 13): the read gate (one read at a time,
// a bounded queue, BUSY beyond it), the summary cache (one computation per
// window start minute and second, for every viewer), and the 503 a refused
// read gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createCollector } from '../../src/collector/collector.ts';
import { parseCollectorConfig } from '../../src/collector/config.ts';
import { createMetrics } from '../../src/collector/metrics.ts';
import { BUSY, createReadGates, ReadGate } from '../../src/collector/read-gate.ts';
import { createRequestListener } from '../../src/collector/server.ts';
import { cachedSummaries } from '../../src/collector/summary-cache.ts';
import { createLogger } from '../../src/lib/log.ts';
import { makeReport, postReport, samples, send, serveCollector } from './helpers.ts';

/** A read that finishes when the test says so. */
function controlled(name: string, log: string[]) {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return {
    finish,
    read: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
      return name;
    },
  };
}

test('the read gate: one read runs, `queued` wait in order, the next is BUSY at once; each waiter runs after the one before', async () => {
  const gate = new ReadGate({ concurrent: 1, queued: 2 });
  const log: string[] = [];
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => controlled(n, log));
  const results = [a!, b!, c!].map((r) => gate.run(r.read));
  assert.equal(await gate.run(d!.read), BUSY, 'the fourth read is refused while one runs and two wait');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['start a']);
  assert.deepEqual(gate.load, { running: 1, waiting: 2 });
  a!.finish();
  assert.equal(await results[0], 'a');
  b!.finish();
  c!.finish();
  assert.deepEqual(await Promise.all(results), ['a', 'b', 'c']);
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c'], 'never two at once');
  // Once the last pause is over the slot is free again.
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(gate.load, { running: 0, waiting: 0 });
  assert.equal(await gate.run(async () => 'e'), 'e');
});

test('the read gate: a read that throws frees its slot and rejects its caller', async () => {
  const gate = new ReadGate({ concurrent: 1, queued: 0 });
  await assert.rejects(
    gate.run(async () => {
      throw new Error('store gone');
    }),
    /store gone/,
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await gate.run(async () => 'next'), 'next');
});

test("the collector's gates: a list page runs beside a summary and in its pause; the next summary waits for that pause", async () => {
  const gates = createReadGates();
  const log: string[] = [];
  const [s1, s2, p1, p2] = ['s1', 's2', 'p1', 'p2'].map((n) => controlled(n, log));
  const first = gates.summaries.run(s1!.read);
  const second = gates.summaries.run(s2!.read);
  const page1 = gates.pages.run(p1!.read);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['start s1', 'start p1'], 'the page does not wait for the summary');
  p1!.finish();
  assert.equal(await page1, 'p1');
  // s1 takes 200 ms, so its pause does too: a page asked for in it runs at once, s2 only after it.
  await new Promise((r) => setTimeout(r, 200));
  s1!.finish();
  assert.equal(await first, 's1');
  const page2 = gates.pages.run(p2!.read);
  await new Promise((r) => setImmediate(r));
  p2!.finish();
  s2!.finish();
  assert.deepEqual(await Promise.all([page2, second]), ['p2', 's2']);
  assert.deepEqual(log, ['start s1', 'start p1', 'end p1', 'end s1', 'start p2', 'end p2', 'start s2', 'end s2']);
});

test('the summary cache: one computation per window start minute within the TTL; BUSY and failures are not kept', async () => {
  const MIN = 60_000;
  const T = 1_764_075_600_000; // a whole minute
  const calls: number[] = [];
  let answer: string | typeof BUSY | Error = 'S';
  const cached = cachedSummaries(async (sinceMs) => {
    calls.push(sinceMs);
    if (answer instanceof Error) throw answer;
    return answer;
  }, 1000);
  const STEPS: {
    since: number;
    now: number;
    want: string | typeof BUSY | RegExp;
    computed: boolean;
    thenAnswer?: string | typeof BUSY | Error;
  }[] = [
    { since: T - 60 * MIN, now: T, want: 'S', computed: true },
    // Another viewer, the same minute of window start, within the TTL: the same answer.
    { since: T - 60 * MIN + 59_999, now: T + 500, want: 'S', computed: false },
    // Another window.
    { since: T - 15 * MIN, now: T + 600, want: 'S', computed: true },
    // The TTL passed.
    { since: T - 60 * MIN, now: T + 1000, want: 'S', computed: true, thenAnswer: BUSY },
    { since: T - 30 * MIN, now: T + 1100, want: BUSY, computed: true, thenAnswer: 'S' },
    { since: T - 30 * MIN, now: T + 1200, want: 'S', computed: true, thenAnswer: new Error('store gone') },
    { since: T - 5 * MIN, now: T + 1300, want: /store gone/, computed: true, thenAnswer: 'S' },
    { since: T - 5 * MIN, now: T + 1400, want: 'S', computed: true },
  ];
  for (const [i, s] of STEPS.entries()) {
    const before = calls.length;
    const got = cached(s.since, s.now);
    if (s.want instanceof RegExp) await assert.rejects(got, s.want, `step ${i}`);
    else assert.equal(await got, s.want, `step ${i}`);
    assert.equal(calls.length - before, s.computed ? 1 : 0, `step ${i}: computed`);
    if (s.thenAnswer !== undefined) answer = s.thenAnswer;
  }
});

test('a read the gate refuses is a 503 with Retry-After, counted in netready_reads_refused_total', async (t) => {
  const registry = new Registry();
  const server = createServer(
    createRequestListener({
      submit: async () => 1,
      submitOutage: async () => 1,
      list: async () => BUSY,
      listOutages: async () => BUSY,
      summary: async () => BUSY,
      readiness: async () => null,
      registry,
      metrics: createMetrics(registry, { maxLabelValues: 10, storeRows: () => 0, processMetrics: false }),
      log: createLogger('test', 'error', () => {}),
      clock: { now: () => Date.now() },
      token: null,
      readToken: null,
      stopping: () => false,
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const path of ['/v1/reports', '/v1/outages', '/v1/summary']) {
    const res = await send(url, { path });
    assert.equal(res.status, 503, path);
    assert.equal(res.headers['retry-after'], '1', path);
    assert.equal(res.json().error, 'busy', path);
  }
  assert.deepEqual(samples(await registry.metrics(), 'netready_reads_refused_total'), [{ labels: {}, value: 3 }]);
});

test('GET /v1/summary: encoded once, sent gzipped to clients that take gzip, the same JSON either way', async (t) => {
  const collector = await createCollector(parseCollectorConfig(['--db', ':memory:'], {}), {
    log: createLogger('test', 'error', () => {}),
    processMetrics: false,
    retention: false,
  });
  const url = await serveCollector(t, collector);
  assert.equal((await postReport(url, makeReport(1))).status, 202);
  const plain = await send(url, { path: '/v1/summary?since=1h' });
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.headers.vary, 'accept-encoding');
  assert.equal(plain.json().totals.reports, 1);
  const ENCODINGS: [string, boolean][] = [
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['br;q=1, gzip;q=0.5', true],
    ['*', true],
    ['gzip;q=0', false],
    ['identity', false],
    ['deflate', false],
  ];
  for (const [header, gzipped] of ENCODINGS) {
    const res = await rawGet(`${url}/v1/summary?since=1h`, { 'accept-encoding': header });
    assert.equal(res.headers['content-encoding'], gzipped ? 'gzip' : undefined, header);
    assert.equal(Number(res.headers['content-length']), res.body.length, header);
    assert.deepEqual(JSON.parse((gzipped ? gunzipSync(res.body) : res.body).toString()), plain.json(), header);
  }
});

/** GET with these headers; the raw body bytes (not decoded). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).once('error', reject);
  });
}
