// Issue 13 defect 1, the collector's side: no request may end the process.
// Every handler runs inside one catch at the listener's edge; here the store
// goes away under a running collector (as PostgreSQL can), and each read that
// needs it is a 500 while the rest keeps answering. Without the catch the
// first failed read is an unhandled rejection, which ends the process (and
// fails this test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCollector } from '../../src/collector/collector.ts';
import { parseCollectorConfig } from '../../src/collector/config.ts';
import { createLogger } from '../../src/lib/log.ts';
import { makeReport, postReport, send, serveCollector } from './helpers.ts';

test('reads that fail in the store are a 500 each, and the collector keeps serving', async (t) => {
  const logs: Record<string, any>[] = [];
  const collector = await createCollector(parseCollectorConfig(['--db', ':memory:'], {}), {
    log: createLogger('test', 'info', (l) => logs.push(JSON.parse(l))),
    processMetrics: false,
    retention: false,
  });
  const url = await serveCollector(t, collector);
  assert.equal((await postReport(url, makeReport(1))).status, 202);

  await collector.store.close();
  for (const path of ['/v1/reports', '/v1/reports?limit=1', '/v1/summary?since=10m']) {
    const res = await send(url, { path });
    assert.equal(res.status, 500, `${path}: ${res.text}`);
    assert.deepEqual(res.json(), { error: 'internal', message: 'internal error' }, path);
  }
  assert.equal((await send(url, { path: '/healthz' })).status, 200);
  assert.equal((await send(url, { path: '/readyz' })).status, 503);
  const failed = logs.filter((l) => l.msg === 'request failed');
  assert.deepEqual(
    failed.map((l) => l.path),
    ['/v1/reports', '/v1/reports', '/v1/summary'],
  );
  assert.ok(
    failed.every((l) => typeof l.err?.message === 'string'),
    'each failure is logged with its error',
  );
});
