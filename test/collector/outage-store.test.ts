// The store contract for outages, run against every store of stores.ts:
// an outage is stored once per pod and start, listed whole and newest first
// with filters and cursors, survives a reopen, and retention keeps at most
// maxRows of them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Outage } from '../../src/lib/report.ts';
import { fixture } from './helpers.ts';
import { STORE_KINDS } from './stores.ts';

const T0 = Date.parse('2025-11-25T14:11:00Z');

function outage(i: number, pod: Partial<Outage['pod']> = {}): Outage {
  const base = fixture('valid-outage.json') as Outage;
  return {
    ...base,
    pod: { ...base.pod, ...pod },
    startedAt: new Date(Date.parse(base.startedAt) + i * 1000).toISOString(),
  };
}

for (const kind of STORE_KINDS) {
  describe(`outage store contract: ${kind.name}`, { timeout: 120_000 }, () => {
    test('one row per pod and start; stored whole with its id and receipt time; still there when reopened', async (t) => {
      const { store, reopen } = await kind.open(t);
      const id = await store.insertOutage(outage(1), T0);
      assert.equal(typeof id, 'number');
      assert.equal(await store.insertOutage(outage(1), T0 + 5), null);
      // The same start on another pod (no uid: name, namespace and node tell pods apart) is its own outage.
      assert.notEqual(await store.insertOutage(outage(1, { uid: '', name: 'other' }), T0), null);
      assert.notEqual(await store.insertOutage(outage(1, { uid: '', name: 'other', node: 'n2' }), T0), null);
      const page = await store.listOutages({ limit: 10 });
      assert.equal(page.outages.length, 3);
      assert.deepEqual(page.outages.at(-1), { id, receivedAt: new Date(T0).toISOString(), outage: outage(1) });
      // Outages are not reports.
      assert.equal(store.rows, 0);
      await store.close();
      const again = await reopen();
      assert.deepEqual(
        (await again.listOutages({ limit: 10 })).outages.map((o) => o.id),
        page.outages.map((o) => o.id),
      );
    });

    test('listOutages: newest first, node and namespace filters, full pages and a cursor', async (t) => {
      const { store } = await kind.open(t);
      for (let i = 0; i < 7; i++)
        await store.insertOutage(outage(i, { node: i % 2 ? 'b' : 'a', namespace: i < 4 ? 'x' : 'y' }), T0 + i);
      const starts = (page: { outages: { outage: Outage }[] }) =>
        page.outages.map((o) => (Date.parse(o.outage.startedAt) - Date.parse(outage(0).startedAt)) / 1000);
      assert.deepEqual(starts(await store.listOutages({ limit: 100 })), [6, 5, 4, 3, 2, 1, 0]);
      assert.deepEqual(starts(await store.listOutages({ node: 'b', limit: 100 })), [5, 3, 1]);
      assert.deepEqual(starts(await store.listOutages({ node: 'a', namespace: 'y', limit: 100 })), [6, 4]);
      const first = await store.listOutages({ limit: 3 });
      assert.deepEqual(starts(first), [6, 5, 4]);
      const second = await store.listOutages({ limit: 3, beforeId: first.nextBeforeId! });
      assert.deepEqual(starts(second), [3, 2, 1]);
      const last = await store.listOutages({ limit: 3, beforeId: second.nextBeforeId! });
      assert.deepEqual(starts(last), [0]);
      assert.equal(last.nextBeforeId, null);
    });

    test('retention keeps at most maxRows outages, the newest', async (t) => {
      const { store } = await kind.open(t, { maxRows: 3 });
      for (let i = 0; i < 5; i++) await store.insertOutage(outage(i), T0 + i);
      while ((await store.maintain(T0 + 10)) > 0);
      const left = (await store.listOutages({ limit: 10 })).outages.map(
        (o) => Date.parse(o.outage.startedAt) - Date.parse(outage(0).startedAt),
      );
      assert.deepEqual(left, [4000, 3000, 2000]);
    });
  });
}
