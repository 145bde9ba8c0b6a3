// Durability: kill -9 the collector in the middle of a burst of ingest, start it
// again on the same file, and every report it acknowledged with 202 is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { makeReport, postReport, send, startCollector, tempDir } from './helpers.ts';

const REPORTS = 2000;
const CONCURRENCY = 32;
/** Acknowledgements seen before the kill: the burst is well under way, far from done. */
const KILL_AFTER = 600;

test('kill -9 during a burst of 2,000 reports: every acknowledged report survives the restart', async (t) => {
  const db = join(tempDir(t), 'reports.db');
  const c = await startCollector(t, ['--db', db]);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.after(() => agent.destroy());

  const acked = new Set<string>();
  let failed = 0;
  let next = 0;
  let killedAt = -1;
  const worker = async () => {
    while (next < REPORTS) {
      const report = makeReport(next++, { node: `node-${next % 7}` });
      try {
        const res = await postReport(c.url, report, {}, agent);
        if (res.status === 202) acked.add(report.pod.uid);
      } catch {
        failed++;
      }
      if (acked.size >= KILL_AFTER && killedAt < 0) {
        killedAt = acked.size;
        c.child.kill('SIGKILL');
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const { signal } = await c.exited;
  assert.equal(signal, 'SIGKILL');
  assert.ok(acked.size < REPORTS, `the kill came mid-burst (${acked.size} acknowledged)`);
  assert.ok(failed > 0, 'requests were cut by the kill');
  // How long the burst took is a figure, not a check (9.7 s at load average 10, 3 s on a quiet machine): in the diagnostic.

  const again = await startCollector(t, ['--db', db]);
  const stored = new Set<string>();
  let cursor: string | null = '';
  while (cursor !== null) {
    const page: any = (
      await send(again.url, { path: `/v1/reports?limit=1000${cursor ? `&cursor=${cursor}` : ''}` })
    ).json();
    for (const r of page.reports) stored.add(r.report.pod.uid);
    cursor = page.next;
  }
  const lost = [...acked].filter((uid) => !stored.has(uid));
  assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged reports lost`);
  // Counted from the store on start: the history is there, metrics start from zero.
  assert.ok(again.logs().some((l) => l.msg === 'collector listening' && l.reports === stored.size));
  const metrics = (await send(again.url, { path: '/metrics' })).text;
  assert.match(metrics, /^netready_reports_total 0$/m);
  assert.match(metrics, new RegExp(`^netready_store_reports ${stored.size}$`, 'm'));
  t.diagnostic(
    `acknowledged ${acked.size} (kill at ${killedAt}), stored ${stored.size}, cut ${failed}, burst ${Date.now() - started} ms`,
  );
});
