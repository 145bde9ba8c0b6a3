// What only the PostgreSQL store has to keep, on a real server: several
// replicas opening one empty database together, the same reports written by
// two replicas at once, retention on one replica at a time, a schema newer
// than the collector. The contract both stores keep: store.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { BUCKETS, bucketOf } from '../../src/collector/aggregates.ts';
import { readSummary } from '../../src/collector/dashboard/summary.ts';
import { LOCK, LOCK_CLASS, MIGRATIONS } from '../../src/collector/postgres-schema.ts';
import { openStore, type ReportStore } from '../../src/collector/store.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { makeReport } from './helpers.ts';

const T0 = Date.parse('2025-11-25T13:00:00Z');
const MIN = 60_000;

async function replicas(
  t: { after(fn: () => Promise<void>): void },
  db: string,
  n: number,
  maxAgeMs = 0,
): Promise<ReportStore[]> {
  const stores = await Promise.all(Array.from({ length: n }, () => openStore(db, { maxRows: 1_000_000, maxAgeMs })));
  t.after(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });
  return stores;
}

test('four replicas opening one empty database together: the schema is created once, all of them take writes', async (t) => {
  const db = await freshDatabase();
  const stores = await replicas(t, db, 4);
  const ids = await Promise.all(stores.map((s, i) => s.insertBatch([makeReport(i)], T0)));
  assert.ok(ids.every(([id]) => typeof id === 'number'));
  assert.equal((await stores[0]!.list({ limit: 10 })).reports.length, 4);
});

test('two replicas storing the same reports at the same moment, in opposite orders: each stored once, no error, counted once', async (t) => {
  const db = await freshDatabase();
  const [a, b] = await replicas(t, db, 2);
  for (let round = 0; round < 5; round++) {
    const batch = Array.from({ length: 200 }, (_, i) => makeReport(round * 1000 + i, { node: `node-${i % 7}` }));
    const [ia, ib] = await Promise.all([
      a!.insertBatch(batch, T0 + round),
      b!.insertBatch(batch.toReversed(), T0 + round),
    ]);
    const storedBy = batch.map((_, i) => [ia![i] !== null, ib![199 - i] !== null]);
    assert.ok(
      storedBy.every(([x, y]) => x !== y),
      'each report stored by exactly one replica',
    );
  }
  const s = await readSummary(a!, T0 - MIN, T0 + MIN);
  assert.equal(s.totals.reports, 1000);
  assert.equal(
    s.nodes.reduce((n, x) => n + x.reports, 0),
    1000,
  );
});

test('one replica committing eight batches at once, as its ingest does: every report counted once in its cells', async (t) => {
  const db = await freshDatabase();
  const [store] = await replicas(t, db, 1);
  // Few nodes and namespaces and close delays: the batches upsert the same cells at once.
  const batches = Array.from({ length: 8 }, (_, b) =>
    Array.from({ length: 50 }, (_, i) =>
      makeReport(
        b * 100 + i,
        { node: `node-${i % 3}`, namespace: `ns-${(b + i) % 2}` },
        { delaySeconds: (i % 4) * 0.3 },
      ),
    ),
  );
  const ids = await Promise.all(batches.map((batch) => store!.insertBatch(batch, T0)));
  assert.ok(ids.flat().every((id) => typeof id === 'number'));
  const want = new Map<string, number[]>();
  for (const r of batches.flat()) {
    for (const key of [`0:${r.pod.node}`, `1:${r.pod.namespace}`]) {
      const counts = want.get(key) ?? new Array<number>(BUCKETS).fill(0);
      counts[bucketOf(r.delaySeconds)]!++;
      want.set(key, counts);
    }
  }
  const { totals } = await store!.window(T0 - MIN, T0 + MIN, { recent: 0, slowestOf: 0, slowest: 0 });
  const got = new Map(
    ([0, 1] as const).flatMap((scope) =>
      totals.names(scope).map((key) => [`${scope}:${key}`, Array.from(totals.get(scope, key)!.reports)] as const),
    ),
  );
  assert.deepEqual(got, want);
});

test("a replica's own unsettled cells come from memory, the others' from the table: each replica's summary counts every report once", async (t) => {
  const db = await freshDatabase();
  const [a, b] = await replicas(t, db, 2);
  // Minutes 0-2: both write into the same minutes, which stay unsettled for a summary at minute 2.
  for (let m = 0; m < 3; m++)
    for (const [i, store] of [a!, b!].entries()) {
      const batch = Array.from({ length: 30 }, (_, k) => makeReport(m * 1000 + i * 100 + k, { node: `node-${k % 4}` }));
      await store.insertBatch(batch, T0 + m * MIN + i);
    }
  // A report a stored already, received again: not counted again.
  const dup = makeReport(1, { node: 'node-1' });
  assert.deepEqual(await a!.insertBatch([dup], T0 + 2 * MIN + 5), [null]);
  for (const store of [a!, b!]) {
    const s = await readSummary(store, T0 - MIN, T0 + 2 * MIN + 10);
    assert.equal(s.totals.reports, 180, store === a ? 'a' : 'b');
    assert.deepEqual(s.nodes.map((n) => [n.node, n.reports]).sort(), [
      ['node-0', 48],
      ['node-1', 48],
      ['node-2', 42],
      ['node-3', 42],
    ]);
  }
  // The same, read as settled minutes from the table only (a summary an hour later).
  const later = await readSummary(a!, T0 - MIN, T0 + 60 * MIN);
  assert.equal(later.totals.reports, 180);
});

test("a batch takes no lock on its minute's cells: it commits while another transaction holds every cell row", async (t) => {
  const db = await freshDatabase();
  const [store] = await replicas(t, db, 1);
  const batch = (from: number) =>
    Array.from({ length: 20 }, (_, i) => makeReport(from + i, { node: `node-${i % 2}`, namespace: 'ns-0' }));
  await store!.insertBatch(batch(0), T0);
  const other = new pg.Client({ connectionString: db });
  await other.connect();
  t.after(() => other.end());
  await other.query('BEGIN');
  await other.query('SELECT * FROM netready_agg_minute FOR UPDATE');
  // Upserted cells would wait here for the other transaction (until the statement timeout).
  assert.equal((await store!.insertBatch(batch(100), T0 + 1)).filter((id) => id !== null).length, 20);
  await other.query('COMMIT');
  const s = await readSummary(store!, T0 - MIN, T0 + 60 * MIN);
  assert.deepEqual(s.nodes.map((n) => [n.node, n.reports]).sort(), [
    ['node-0', 20],
    ['node-1', 20],
  ]);
});

// Each older schema, its cells as it wrote them: 7 reports of node-0 (one timeout, max 2.5 s).
const OLD_SCHEMAS = [
  {
    version: 1,
    what: 'cells without a replica',
    cells: `INSERT INTO netready_agg_minute (minute_ms, scope, key, bucket, reports, timeouts, max_delay) VALUES ($1, 0, 'node-0', $2, 7, 1, 2.5), ($1, 1, 'ns-0', $2, 7, 1, 2.5)`,
  },
  {
    version: 2,
    what: 'cells upserted, one row each',
    cells: `INSERT INTO netready_agg_minute (minute_ms, replica, scope, key, bucket, reports, timeouts, max_delay) VALUES ($1, 5, 0, 'node-0', $2, 7, 1, 2.5), ($1, 5, 1, 'ns-0', $2, 7, 1, 2.5)`,
  },
];

for (const { version, what, cells } of OLD_SCHEMAS)
  test(`a database at schema ${version} (${what}) is migrated: its figures are kept and new ones add to them; four replicas starting together migrate it once`, async (t) => {
    const db = await freshDatabase();
    const client = new pg.Client({ connectionString: db });
    await client.connect();
    t.after(() => client.end());
    await client.query('CREATE TABLE netready_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)');
    for (const migration of MIGRATIONS.slice(0, version)) await client.query(migration);
    await client.query("INSERT INTO netready_meta (key, value) VALUES ('schema_version', $1)", [version]);
    await client.query(cells, [T0, bucketOf(2.5)]);
    const stores = await replicas(t, db, 4);
    await Promise.all(
      stores.map((r, i) =>
        r.insertBatch([makeReport(1 + i, { node: 'node-0', namespace: 'ns-0' }, { delaySeconds: 2.4 })], T0 + 1),
      ),
    );
    // Unsettled (read per summary) and settled (an hour later): the same figures.
    for (const untilMs of [T0 + MIN, T0 + 60 * MIN]) {
      const s = await readSummary(stores[0]!, T0 - MIN, untilMs);
      assert.equal(s.totals.reports, 11);
      assert.deepEqual(
        s.nodes.map((n) => [n.node, n.reports, n.timeouts, n.max]),
        [['node-0', 11, 1, 2.5]],
      );
    }
    const stored = await client.query("SELECT value FROM netready_meta WHERE key = 'schema_version'");
    assert.equal(Number(stored.rows[0].value), MIGRATIONS.length);
  });

test('retention runs on one replica at a time: while another holds the lock a step does nothing', async (t) => {
  const db = await freshDatabase();
  const [a] = await replicas(t, db, 1, 10 * MIN);
  await a!.insertBatch(
    Array.from({ length: 50 }, (_, i) => makeReport(i)),
    T0,
  );
  // Another replica in the middle of its step: it holds the lock in its transaction.
  const other = new pg.Client({ connectionString: db });
  await other.connect();
  t.after(() => other.end());
  await other.query('BEGIN');
  assert.equal(
    (await other.query('SELECT pg_try_advisory_xact_lock($1, $2) AS got', [LOCK_CLASS, LOCK.maintain])).rows[0].got,
    true,
  );
  assert.equal(await a!.maintain(T0 + 20 * MIN), 0);
  assert.equal((await a!.list({ limit: 100 })).reports.length, 50);
  await other.query('COMMIT');
  assert.ok((await a!.maintain(T0 + 20 * MIN)) >= 50);
  assert.equal((await a!.list({ limit: 100 })).reports.length, 0);
});

test('a database holding a newer schema than this collector: opening fails, saying so', async () => {
  const db = await freshDatabase();
  const first = await openStore(db, { maxRows: 10, maxAgeMs: 0 });
  await first.close();
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  await client.query("UPDATE netready_meta SET value = value + 1 WHERE key = 'schema_version'");
  await client.end();
  await assert.rejects(openStore(db, { maxRows: 10, maxAgeMs: 0 }), {
    code: 'ERR_STORE_SCHEMA',
    message: /newer than this collector's/,
  });
});
