// The report store on real SQLite files: dedupe, list filters and cursors,
// retention by rows and by age, reopening; and the group committer's batching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { LIST_SCAN_IDS, openStore } from '../../src/collector/store.ts';
import { GroupCommitter } from '../../src/collector/committer.ts';
import { sweepOnce, sweepIntervalMs } from '../../src/collector/retention.ts';
import { makeReport, tempDir } from './helpers.ts';
import type { TestContext } from 'node:test';

const T0 = Date.parse('2025-11-25T13:00:00Z');

function fileStore(t: TestContext, maxRows = 1000) {
  const path = join(tempDir(t), 'sub', 'reports.db');
  const store = openStore(path, { maxRows });
  t.after(() => store.close());
  return { store, path };
}

test('a file store is created with its directory, in WAL mode, and keeps its rows across a reopen', (t) => {
  const { store, path } = fileStore(t);
  assert.deepEqual(store.insertBatch([makeReport(1), makeReport(2)], T0), [1, 2]);
  store.close();
  const check = new DatabaseSync(path);
  assert.equal((check.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  check.close();
  const again = openStore(path, { maxRows: 1000 });
  t.after(() => again.close());
  assert.equal(again.rows, 2);
  assert.deepEqual(again.list({ limit: 10 }).reports.map((r) => r.report.pod.name), ['web-2', 'web-1']);
});

test('the same report twice (same pod uid and start time) is stored once, also within one batch', (t) => {
  const { store } = fileStore(t);
  const r = makeReport(1);
  // Ids are increasing, not dense: a refused duplicate may use one up.
  const stored = (ids: (number | null)[]) => ids.map((id) => (id === null ? 'duplicate' : 'stored'));
  assert.deepEqual(stored(store.insertBatch([r, r, makeReport(2)], T0)), ['stored', 'duplicate', 'stored']);
  assert.deepEqual(store.insertBatch([r], T0 + 1), [null]);
  // A later run of the same pod (restarted init container) is a new report.
  assert.deepEqual(stored(store.insertBatch([{ ...r, startedAt: '2025-11-25T13:05:00.000Z' }], T0 + 2)), ['stored']);
  // Without a uid (run outside Kubernetes) the identity is namespace, name, node and start time.
  const noUid = makeReport(9, { uid: '' });
  assert.deepEqual(stored(store.insertBatch([noUid, noUid, { ...noUid, pod: { ...noUid.pod, node: 'other-node' } }], T0)), ['stored', 'duplicate', 'stored']);
  assert.equal(store.rows, 5);
  assert.equal(store.list({ limit: 100 }).reports.length, 5);
});

test('the stored report is the validated document, returned whole with its id and receipt time', (t) => {
  const { store } = fileStore(t);
  const r = makeReport(1);
  store.insertBatch([r], T0);
  assert.deepEqual(store.list({ limit: 1 }), { reports: [{ id: 1, receivedAt: '2025-11-25T13:00:00.000Z', report: r }], nextBeforeId: null });
});

test('list: filters by node, namespace, outcome, start time and delay; newest first; cursor pages', (t) => {
  const { store } = fileStore(t);
  const reports = Array.from({ length: 30 }, (_, i) =>
    makeReport(i * 1000, { node: `node-${i % 3}`, namespace: i % 2 ? 'shop' : 'default' }, { delaySeconds: i / 10, outcome: i % 5 === 0 ? 'timeout' : 'ready' }),
  );
  store.insertBatch(reports, T0);
  const names = (f: Parameters<typeof store.list>[0]) => store.list(f).reports.map((r) => r.report.pod.name);
  assert.deepEqual(names({ node: 'node-1', limit: 3 }), ['web-28000', 'web-25000', 'web-22000']);
  assert.deepEqual(names({ namespace: 'shop', outcome: 'timeout', limit: 100 }), ['web-25000', 'web-15000', 'web-5000']);
  assert.deepEqual(names({ slowerThanSeconds: 2.65, limit: 100 }), ['web-29000', 'web-28000', 'web-27000']);
  assert.deepEqual(names({ startedSinceMs: Date.parse(reports[28]!.startedAt), limit: 100 }), ['web-29000', 'web-28000']);
  // Pages of 7 through all 30, no row twice, none left out.
  const seen: number[] = [];
  let before: number | undefined;
  do {
    const page = store.list({ limit: 7, beforeId: before });
    seen.push(...page.reports.map((r) => r.id));
    before = page.nextBeforeId ?? undefined;
  } while (before !== undefined);
  assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => 30 - i));
});

test('a filtered list looks at a bounded range of ids per page and says where to go on', (t) => {
  const { store } = fileStore(t, 100_000);
  const n = LIST_SCAN_IDS + 5000;
  // Only the oldest report is on node-rare.
  store.insertBatch(Array.from({ length: n }, (_, i) => makeReport(i, { node: i === 0 ? 'node-rare' : 'node-common' })), T0);
  const first = store.list({ node: 'node-rare', limit: 10 });
  assert.deepEqual(first.reports, [], 'the first page covers the newest LIST_SCAN_IDS ids only');
  assert.equal(first.nextBeforeId, n + 1 - LIST_SCAN_IDS);
  const second = store.list({ node: 'node-rare', limit: 10, beforeId: first.nextBeforeId! });
  assert.deepEqual(second.reports.map((r) => r.report.pod.name), ['web-0']);
  assert.equal(second.nextBeforeId, null, 'the oldest id has been looked at');
  // Unfiltered, pages are full and follow each other.
  const page = store.list({ limit: 3 });
  assert.deepEqual([page.reports.map((r) => r.id), page.nextBeforeId], [[n, n - 1, n - 2], n - 2]);
  assert.deepEqual(store.list({ limit: 3, beforeId: 2 }), { reports: [store.list({ limit: 1, beforeId: 2 }).reports[0]], nextBeforeId: null });
});

test('receive times never go backward, so a clock stepped back keeps "newest" and "received since" right, also after a reopen', (t) => {
  const { store, path } = fileStore(t);
  store.insertBatch([makeReport(1)], T0 + 60_000);
  store.insertBatch([makeReport(2)], T0);
  store.close();
  const again = openStore(path, { maxRows: 1000 });
  t.after(() => again.close());
  again.insertBatch([makeReport(3)], T0 + 1000);
  assert.deepEqual(again.list({ limit: 10 }).reports.map((r) => [r.report.pod.name, r.receivedAt]), [
    ['web-3', '2025-11-25T13:01:00.000Z'],
    ['web-2', '2025-11-25T13:01:00.000Z'],
    ['web-1', '2025-11-25T13:01:00.000Z'],
  ]);
  assert.equal(again.window(T0 + 60_000, 10, 1).rows.length, 3);
  assert.equal(again.window(T0 + 60_001, 10, 1).rows.length, 0);
});

test('a store written by an earlier version loses its secondary indexes and keeps its rows', (t) => {
  const path = join(tempDir(t), 'old.db');
  const old = openStore(path, { maxRows: 1000 });
  old.insertBatch([makeReport(1)], T0);
  old.close();
  const raw = new DatabaseSync(path);
  raw.exec('CREATE INDEX reports_node ON reports (node, id); CREATE INDEX reports_namespace ON reports (pod_namespace, id); CREATE INDEX reports_received ON reports (received_ms);');
  raw.close();
  const store = openStore(path, { maxRows: 1000 });
  t.after(() => store.close());
  const check = new DatabaseSync(path, { readOnly: true });
  t.after(() => check.close());
  const indexes = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reports' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  assert.deepEqual(indexes, ['reports_by_name', 'reports_by_uid']);
  assert.deepEqual(store.list({ limit: 10 }).reports.map((r) => r.report.pod.name), ['web-1']);
});

test('row retention: every commit keeps at most the limit, deleting the oldest', (t) => {
  const { store } = fileStore(t, 10);
  for (let b = 0; b < 5; b++) store.insertBatch(Array.from({ length: 7 }, (_, i) => makeReport(b * 7 + i)), T0);
  assert.equal(store.rows, 10);
  assert.deepEqual(store.list({ limit: 100 }).reports.map((r) => r.id), [35, 34, 33, 32, 31, 30, 29, 28, 27, 26]);
});

test('a lowered row limit is reached in bounded steps: per commit and by the sweep', async (t) => {
  const { path } = fileStore(t);
  const big = openStore(path, { maxRows: 100_000 });
  big.insertBatch(Array.from({ length: 5000 }, (_, i) => makeReport(i)), T0);
  big.close();
  const small = openStore(path, { maxRows: 10 });
  t.after(() => small.close());
  small.insertBatch([makeReport(99_999)], T0);
  // One report in, 1 + 1000 out: not all 4,991 at once.
  assert.equal(small.rows, 5000 + 1 - 1001);
  await sweepOnce(small, 0, { now: () => T0 });
  assert.equal(small.rows, 10);
  assert.equal(small.list({ limit: 1 }).reports[0]!.report.pod.name, 'web-99999');
});

test('age retention: the sweep deletes reports received before now - age; ids are never reused', async (t) => {
  const { store } = fileStore(t, 100_000);
  store.insertBatch(Array.from({ length: 4500 }, (_, i) => makeReport(i)), T0);
  const [lastId] = store.insertBatch([makeReport(5000)], T0 + 100_000);
  const deleted = await sweepOnce(store, 50_000, { now: () => T0 + 120_000 });
  assert.equal(deleted, 4500);
  assert.deepEqual(store.list({ limit: 10 }).reports.map((r) => r.report.pod.name), ['web-5000']);
  await sweepOnce(store, 1, { now: () => T0 + 200_000 });
  assert.equal(store.rows, 0);
  assert.ok(store.insertBatch([makeReport(6000)], T0 + 300_000)[0]! > lastId!);
  assert.equal(sweepIntervalMs(7 * 86_400_000), 60_000);
  assert.equal(sweepIntervalMs(10_000), 1000);
});

test('group commit: what is submitted in one turn is one transaction; larger backlogs are split; a failed commit fails only its batch', async () => {
  const batches: number[][] = [];
  let failNext = false;
  const c = new GroupCommitter<number, number>(
    (items) => {
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      batches.push([...items]);
      return items.map((i) => i * 2);
    },
    { maxBatch: 500 },
  );
  const first = await Promise.all(Array.from({ length: 300 }, (_, i) => c.submit(i)));
  assert.equal(first[299], 598);
  assert.deepEqual(batches.map((b) => b.length), [300]);
  batches.length = 0;
  await Promise.all(Array.from({ length: 1200 }, (_, i) => c.submit(i)));
  assert.deepEqual(batches.map((b) => b.length), [500, 500, 200]);
  failNext = true;
  const failed = await Promise.allSettled([c.submit(1), c.submit(2)]);
  assert.deepEqual(failed.map((f) => f.status), ['rejected', 'rejected']);
  assert.equal(await c.submit(3), 6);
  const a = c.submit(4);
  const drained = c.drained();
  assert.equal(c.pending, 1);
  await drained;
  assert.equal(c.pending, 0);
  assert.equal(await a, 8);
});

test('a real store behind the committer: 2,000 concurrent submissions, few commits, every id distinct', async (t) => {
  const { store } = fileStore(t, 100_000);
  let commits = 0;
  const c = new GroupCommitter<ReturnType<typeof makeReport>, number | null>(
    (items) => {
      commits++;
      return store.insertBatch(items, T0);
    },
    { maxBatch: 500 },
  );
  const ids = await Promise.all(Array.from({ length: 2000 }, (_, i) => c.submit(makeReport(i))));
  assert.equal(new Set(ids).size, 2000);
  assert.equal(commits, 4);
  assert.equal(store.rows, 2000);
});
