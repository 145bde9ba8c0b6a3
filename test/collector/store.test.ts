// The report store's contract, run as one table against both stores (SQLite
// in a temp file, PostgreSQL on a real server): dedupe, list filters with full
// pages and cursors, aggregates in the same transaction, retention by rows
// and by age in whole minutes (reports and aggregates alike), rollups, a
// damaged row skipped. SQLite-only behaviour: sqlite-store.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readSummary } from '../../src/collector/dashboard/summary.ts';
import { sweepIntervalMs, sweepOnce } from '../../src/collector/retention.ts';
import { makeReport } from './helpers.ts';
import { STORE_KINDS } from './stores.ts';

const T0 = Date.parse('2025-11-25T13:00:00Z');
const MIN = 60_000;
const clockAt = (ms: number) => ({ now: () => ms });
/** Ids only tell "stored" from "duplicate": they are increasing, not dense. */
const stored = (ids: (number | null)[]) => ids.map((id) => (id === null ? 'duplicate' : 'stored'));

for (const kind of STORE_KINDS) {
  describe(`store contract: ${kind.name}`, { timeout: 120_000 }, () => {
    test('the same report twice (same pod uid and start time) is stored once, also within one batch', async (t) => {
      const { store } = await kind.open(t);
      const r = makeReport(1);
      assert.deepEqual(stored(await store.insertBatch([r, r, makeReport(2)], T0)), ['stored', 'duplicate', 'stored']);
      assert.deepEqual(await store.insertBatch([r], T0 + 1), [null]);
      // A later run of the same pod (restarted init container) is a new report.
      assert.deepEqual(stored(await store.insertBatch([{ ...r, startedAt: '2025-11-25T13:05:00.000Z' }], T0 + 2)), [
        'stored',
      ]);
      // Without a uid (run outside Kubernetes) the identity is namespace, name, node and start time.
      const noUid = makeReport(9, { uid: '' });
      assert.deepEqual(
        stored(await store.insertBatch([noUid, noUid, { ...noUid, pod: { ...noUid.pod, node: 'other-node' } }], T0)),
        ['stored', 'duplicate', 'stored'],
      );
      assert.equal(store.rows, 5);
      assert.equal((await store.list({ limit: 100 })).reports.length, 5);
      // Aggregates count each report once: duplicates change no figure.
      assert.equal((await readSummary(store, T0 - MIN, T0 + MIN)).totals.reports, 5);
    });

    test('the stored report is the validated document, returned whole with its id and receipt time; reopened, it is still there', async (t) => {
      const { store, reopen } = await kind.open(t);
      const r = makeReport(1);
      const [id] = await store.insertBatch([r], T0);
      assert.deepEqual(await store.list({ limit: 1 }), {
        reports: [{ id, receivedAt: '2025-11-25T13:00:00.000Z', report: r }],
        nextBeforeId: null,
      });
      await store.close();
      const again = await reopen();
      assert.equal(again.rows, 1);
      assert.deepEqual((await again.list({ limit: 1 })).reports[0]!.report, r);
      assert.equal((await readSummary(again, T0, T0 + MIN)).totals.reports, 1);
    });

    test('a report whose strings hold quotes, backslashes, control characters, a lone surrogate and non-ASCII is stored whole, in a batch with others', async (t) => {
      const { store } = await kind.open(t);
      const odd = 'a "quoted" \\ back\\\\slash, \x1e\x1f\x7f\u0000\n\t, é, 𝄞, \ud800 lone, {[,]}';
      const base = makeReport(2);
      const r = {
        ...base,
        pod: { ...base.pod, name: 'web-"2"\\é' },
        checks: [{ ...base.checks[0]!, spec: odd, errors: { [odd]: 1 } }, ...base.checks.slice(1)],
      };
      const batch = [makeReport(1), r, makeReport(3)];
      assert.deepEqual(stored(await store.insertBatch(batch, T0)), ['stored', 'stored', 'stored']);
      const listed = (await store.list({ limit: 10 })).reports.map((x) => x.report);
      assert.deepEqual(listed, batch.toReversed());
    });

    test('list: filters by node, namespace, outcome, start time and delay; newest first; cursor pages', async (t) => {
      const { store } = await kind.open(t);
      const reports = Array.from({ length: 30 }, (_, i) =>
        makeReport(
          i * 1000,
          { node: `node-${i % 3}`, namespace: i % 2 ? 'shop' : 'default' },
          { delaySeconds: i / 10, outcome: i % 5 === 0 ? 'timeout' : 'ready' },
        ),
      );
      const ids = await store.insertBatch(reports, T0);
      const names = async (f: Parameters<typeof store.list>[0]) =>
        (await store.list(f)).reports.map((r) => r.report.pod.name);
      assert.deepEqual(await names({ node: 'node-1', limit: 3 }), ['web-28000', 'web-25000', 'web-22000']);
      assert.deepEqual(await names({ namespace: 'shop', outcome: 'timeout', limit: 100 }), [
        'web-25000',
        'web-15000',
        'web-5000',
      ]);
      assert.deepEqual(await names({ slowerThanSeconds: 2.65, limit: 100 }), ['web-29000', 'web-28000', 'web-27000']);
      assert.deepEqual(await names({ startedSinceMs: Date.parse(reports[28]!.startedAt), limit: 100 }), [
        'web-29000',
        'web-28000',
      ]);
      // Pages of 7 through all 30, no row twice, none left out.
      const seen: number[] = [];
      let before: number | undefined;
      do {
        const page = await store.list({ limit: 7, beforeId: before });
        seen.push(...page.reports.map((r) => r.id));
        before = page.nextBeforeId ?? undefined;
      } while (before !== undefined);
      assert.deepEqual(seen, ids.toReversed());
    });

    test('a filtered list returns full pages however rare the match, and null after the last', async (t) => {
      const { store } = await kind.open(t);
      const n = 30_000;
      // Every 1,000th report is on node-rare, the oldest of them first.
      for (let b = 0; b < n; b += 5000) {
        await store.insertBatch(
          Array.from({ length: 5000 }, (_, i) =>
            makeReport(b + i, { node: (b + i) % 1000 === 0 ? 'node-rare' : `node-${(b + i) % 97}` }),
          ),
          T0,
        );
      }
      const first = await store.list({ node: 'node-rare', limit: 20 });
      assert.equal(first.reports.length, 20);
      assert.equal(first.reports[0]!.report.pod.name, 'web-29000');
      const second = await store.list({ node: 'node-rare', limit: 20, beforeId: first.nextBeforeId! });
      assert.deepEqual(
        second.reports.map((r) => r.report.pod.name),
        [
          'web-9000',
          'web-8000',
          'web-7000',
          'web-6000',
          'web-5000',
          'web-4000',
          'web-3000',
          'web-2000',
          'web-1000',
          'web-0',
        ],
      );
      assert.equal(second.nextBeforeId, null);
      const slow = await store.list({ slowerThanSeconds: 1000, limit: 5 });
      assert.deepEqual(slow, { reports: [], nextBeforeId: null });
    });

    test('row retention: whole minutes of the oldest reports go, with their aggregates; never the current minute', async (t) => {
      const { store } = await kind.open(t, { maxRows: 10 });
      // 7 reports in each of 5 minutes.
      for (let m = 0; m < 5; m++)
        await store.insertBatch(
          Array.from({ length: 7 }, (_, i) => makeReport(m * 7 + i)),
          T0 + m * MIN,
        );
      assert.equal(store.rows, 35);
      await sweepOnce(store, clockAt(T0 + 4 * MIN + 30_000));
      // 25 beyond the limit: the oldest four minutes' 28 go; the current minute stays.
      assert.equal(store.rows, 7);
      assert.deepEqual(
        (await store.list({ limit: 100 })).reports.map((r) => r.report.pod.name),
        Array.from({ length: 7 }, (_, i) => `web-${34 - i}`),
      );
      const s = await readSummary(store, T0 - 60 * MIN, T0 + 4 * MIN + 30_000);
      assert.equal(s.totals.reports, 7);
      assert.equal(s.since, new Date(T0 + 4 * MIN).toISOString(), 'the window starts at the retention floor');
    });

    test('age retention: reports and aggregates received before the cutoff minute go; ids are never reused', async (t) => {
      const { store } = await kind.open(t, { maxAgeMs: 10 * MIN });
      await store.insertBatch(
        Array.from({ length: 4500 }, (_, i) => makeReport(i)),
        T0,
      );
      const [lastId] = await store.insertBatch([makeReport(5000)], T0 + 5 * MIN);
      await sweepOnce(store, clockAt(T0 + 12 * MIN));
      assert.deepEqual(
        (await store.list({ limit: 10 })).reports.map((r) => r.report.pod.name),
        ['web-5000'],
      );
      assert.equal(store.rows, 1);
      assert.equal((await readSummary(store, T0 - MIN, T0 + 12 * MIN)).totals.reports, 1);
      await sweepOnce(store, clockAt(T0 + 20 * MIN));
      assert.equal(store.rows, 0);
      assert.ok((await store.insertBatch([makeReport(6000)], T0 + 21 * MIN))[0]! > lastId!);
      assert.equal(sweepIntervalMs(7 * 86_400_000), 60_000);
      assert.equal(sweepIntervalMs(10_000), 1000);
    });

    test('rollups: complete hours and days are rolled up, and a summary reads the same figures before and after', async (t) => {
      const { store, reopen } = await kind.open(t);
      // 3 days, a report every 7 minutes on 5 nodes.
      let i = 0;
      for (let at = T0; at < T0 + 3 * 1440 * MIN; at += 7 * MIN, i++) {
        await store.insertBatch(
          [
            makeReport(
              i,
              { node: `node-${i % 5}`, namespace: `ns-${i % 3}` },
              { delaySeconds: (i % 50) / 7, outcome: i % 11 === 0 ? 'timeout' : 'ready' },
            ),
          ],
          at,
        );
      }
      const now = T0 + 3 * 1440 * MIN;
      const windows = [
        [T0 + 17 * MIN, now],
        [T0 + 26 * 60 * MIN + 5 * MIN, now - 3 * MIN],
        [T0, now],
      ] as const;
      const before = await Promise.all(windows.map(([since, until]) => readSummary(store, since, until)));
      const work = await sweepOnce(store, clockAt(now));
      assert.ok(work >= 60, `hours and days rolled up (${work})`);
      const after = await Promise.all(windows.map(([since, until]) => readSummary(store, since, until)));
      for (let w = 0; w < windows.length; w++) {
        assert.deepEqual(after[w]!.totals, before[w]!.totals);
        assert.deepEqual(after[w]!.nodes, before[w]!.nodes);
        assert.deepEqual(after[w]!.namespaces, before[w]!.namespaces);
      }
      assert.equal(after[2]!.totals.reports, i);
      await store.close();
      const again = await reopen();
      assert.deepEqual((await readSummary(again, T0, now)).nodes, after[2]!.nodes);
    });

    test('window: the newest `recent` reports, and the slowest `slowest` of the newest `slowestOf`, whole', async (t) => {
      const { store } = await kind.open(t);
      // Received a minute apart: 20 slow ones (10-29 s), then 10 fast ones (0.1-1 s).
      for (let i = 0; i < 30; i++) {
        const delay = i < 20 ? 10 + i : (i - 19) / 10;
        await store.insertBatch([makeReport(i, { node: `node-${i % 3}` }, { delaySeconds: delay })], T0 + i * MIN);
      }
      const now = T0 + 30 * MIN;
      const w = await store.window(T0, now, { recent: 4, slowestOf: 12, slowest: 3 });
      assert.deepEqual(
        w.rows.map((r) => [r.delaySeconds, r.receivedMs, r.node]),
        [
          [1, T0 + 29 * MIN, 'node-2'],
          [0.9, T0 + 28 * MIN, 'node-1'],
          [0.8, T0 + 27 * MIN, 'node-0'],
          [0.7, T0 + 26 * MIN, 'node-2'],
        ],
      );
      // The newest 12 are the 10 fast ones and the last two slow ones (28 s, 29 s).
      assert.deepEqual(
        w.slowest.map((r) => r.report.delaySeconds),
        [29, 28, 1],
      );
      assert.deepEqual(w.slowest[0]!.report, makeReport(19, { node: 'node-1' }, { delaySeconds: 29 }));
      // Since the 25th minute: 5 reports; the slowest of them.
      const late = await store.window(T0 + 25 * MIN, now, { recent: 10, slowestOf: 10, slowest: 2 });
      assert.equal(late.rows.length, 5);
      assert.deepEqual(
        late.slowest.map((r) => r.report.delaySeconds),
        [1, 0.9],
      );
    });

    test('a window read again sees reports that arrived since in its last minutes, and the same figures before them', async (t) => {
      const { store, reopen } = await kind.open(t);
      for (let i = 0; i < 90; i++) await store.insertBatch([makeReport(i, { node: `node-${i % 4}` })], T0 + i * MIN);
      const now = T0 + 90 * MIN;
      const first = await readSummary(store, T0 + 5 * MIN, now);
      assert.equal(first.totals.reports, 85);
      // Into the window's last minute, and a new node.
      await store.insertBatch([makeReport(1000, { node: 'late' }), makeReport(1001, { node: 'node-0' })], now + 10_000);
      const again = await readSummary(store, T0 + 5 * MIN, now);
      assert.equal(again.totals.reports, 87);
      assert.equal(again.totals.nodes, 5);
      if (kind.name === 'postgres') {
        // Another replica, its clock or commit a little behind, stamps into a minute that has ended.
        await (await reopen()).insertBatch([makeReport(1002, { node: 'late' })], now - 2 * MIN);
        assert.equal((await readSummary(store, T0 + 5 * MIN, now)).totals.reports, 88);
      }
      // A window that starts later reads the same minutes, partly kept from the first read.
      const later = await readSummary(store, T0 + 30 * MIN, now);
      assert.equal(later.totals.reports, kind.name === 'postgres' ? 63 : 62);
    });

    test('probeWritable: a committed write', async (t) => {
      const { store } = await kind.open(t);
      await store.probeWritable(T0);
    });
  });
}
