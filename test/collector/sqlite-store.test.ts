// SQLite-only behaviour of the store (the shared contract is store.test.ts):
// the WAL is checkpointed by a worker thread, not by the committing one, and
// rewound between the writer's transactions however busy it is; the current
// minute's cells, held in memory, are computed again from the reports after a
// crash; the index by node and namespace is written in bulk (sqlite-keys.ts),
// read from memory and table alike, rebuilt after a crash, migrated from the
// old indexes, and swept by retention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSummary } from '../../src/collector/dashboard/summary.ts';
import { CHECKPOINT_EVERY_MS, startCheckpointer } from '../../src/collector/sqlite-checkpointer.ts';
import { sweepOnce } from '../../src/collector/retention.ts';
import { openStore } from '../../src/collector/store.ts';
import { makeReport, tempDir } from './helpers.ts';

const T0 = Date.parse('2025-11-25T13:00:00Z');

/** Reports in the database file alone, as a copy without its WAL reads it (null: the copy caught a write half done). */
function reportsInFileAlone(db: string, copy: string): number | null {
  copyFileSync(db, copy);
  const d = new DatabaseSync(copy, { readOnly: true });
  try {
    return Number((d.prepare('SELECT count(*) AS n FROM reports').get() as { n: number }).n);
  } catch {
    return null;
  } finally {
    d.close();
  }
}

test('committed reports reach the database file itself within seconds, copied back from the WAL by the worker; close() leaves no WAL', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'reports.db');
  const store = await openStore(db, { maxRows: 100_000, maxAgeMs: 0 });
  // 1,000 reports: a few hundred WAL pages, far below the writer's own threshold, so only the worker copies them back.
  for (let b = 0; b < 20; b++)
    await store.insertBatch(
      Array.from({ length: 50 }, (_x, i) => makeReport(b * 50 + i, { node: `node-${i % 7}` })),
      T0 + b,
    );
  assert.ok(existsSync(`${db}-wal`));
  let inFile: number | null = 0;
  for (let waited = 0; waited < 20 * CHECKPOINT_EVERY_MS && inFile !== 1000; waited += 100) {
    await sleep(100);
    inFile = reportsInFileAlone(db, join(dir, 'copy.db'));
  }
  assert.equal(inFile, 1000);
  await store.close();
  // The worker's connection was closed first, so the writer's close was the last one: it checkpointed and removed the WAL.
  assert.equal(existsSync(`${db}-wal`), false);
  const again = await openStore(db, { maxRows: 100_000, maxAgeMs: 0 });
  t.after(() => again.close());
  assert.equal(again.rows, 1000);
});

test('a writer that never pauses gets its WAL rewound: the worker copies all but a few pages, the writer the rest between its transactions', async (t) => {
  const path = join(tempDir(t), 'w.db');
  const db = new DatabaseSync(path);
  t.after(() => db.close());
  // No checkpoint of the writer's own: only the hand-over can rewind the WAL.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX t_v ON t (v)');
  const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  let handOvers = 0;
  let failure: Error | null = null;
  const checkpointer = startCheckpointer(
    path,
    {
      handOver: () => {
        handOvers++;
        if (!db.isTransaction) passive.get();
      },
      failed: (err) => (failure = err),
    },
    { everyMs: 20, rewindAfterPages: 20, handOverPages: 10_000, maxPasses: 8 },
  );
  // The WAL header's checkpoint sequence: SQLite adds one each time the WAL is written from its start again.
  // Only the header is read: reading the whole WAL would leave the writer idle for long enough to rewind it.
  const header = Buffer.alloc(16);
  const rewinds = () => {
    const fd = openSync(`${path}-wal`, 'r');
    readSync(fd, header, 0, 16, 0);
    closeSync(fd);
    return header.readUInt32BE(12);
  };
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const commit = () => {
    db.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < 20; i++) insert.run(randomBytes(200));
    db.exec('COMMIT');
  };
  commit();
  const first = rewinds();
  // Back to back, 20 transactions at a time, then a turn of the event loop (where the hand-over runs): the
  // writer is almost never between two transactions when the worker's pass ends.
  for (let i = 0; i < 100 && rewinds() < first + 3; i++) {
    for (let k = 0; k < 20; k++) commit();
    await new Promise((r) => setImmediate(r));
  }
  await checkpointer.stop();
  assert.equal(failure, null);
  assert.ok(rewinds() >= first + 3, `rewound ${rewinds() - first} times after ${handOvers} hand-overs`);
});

test('close() waits for the worker even when nothing else keeps the process alive', () => {
  // A child whose only pending work is close(): it must print after the await, not exit before it.
  const code = `
    const { openStore } = await import(${JSON.stringify(new URL('../../src/collector/store.ts', import.meta.url).href)});
    const store = await openStore(process.argv[1], { maxRows: 10, maxAgeMs: 0 });
    await store.close();
    console.log('closed');
  `;
  const dir = mkdtempSync(join(tmpdir(), 'netready-close-'));
  try {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, join(dir, 'reports.db')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.stdout.trim(), 'closed', r.stderr);
    assert.equal(r.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('killed with minute cells still in memory: the store opened again counts every stored report once', async (t) => {
  const db = join(tempDir(t), 'reports.db');
  // A child stores 30 reports in one minute and 40 in the next (the first minute's cells are then written,
  // the second's held in memory) and a retried 10 of them, then waits to be killed.
  const code = `
    const { openStore } = await import(${JSON.stringify(new URL('../../src/collector/store.ts', import.meta.url).href)});
    const { makeReport } = await import(${JSON.stringify(new URL('./helpers.ts', import.meta.url).href)});
    const store = await openStore(process.argv[1], { maxRows: 1000, maxAgeMs: 0 });
    const batch = (from, n) => Array.from({ length: n }, (_x, i) => makeReport(from + i, { node: 'node-' + ((from + i) % 3) }));
    await store.insertBatch(batch(0, 30), ${T0});
    await store.insertBatch(batch(30, 40), ${T0 + 60_000});
    await store.insertBatch(batch(60, 10), ${T0 + 61_000});
    console.log('stored');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, db], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('stored') && resolve());
    child.once('exit', (c) => reject(new Error(`child exited with ${c}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const store = await openStore(db, { maxRows: 1000, maxAgeMs: 0 });
  t.after(() => store.close());
  assert.equal(store.rows, 70);
  // The second minute's key ids were held in memory too: put into report_keys again at open.
  assert.equal((await store.list({ node: 'node-0', limit: 100 })).reports.length, 24);
  assert.equal((await store.list({ namespace: 'shop', limit: 100 })).reports.length, 70);
  const summary = await readSummary(store, T0, T0 + 3 * 60_000);
  assert.equal(summary.totals.reports, 70);
  assert.deepEqual(summary.nodes.map((n) => [n.node, n.reports]).sort(), [
    ['node-0', 24],
    ['node-1', 23],
    ['node-2', 23],
  ]);
  // Closed and opened again: the same figures, not twice.
  await store.close();
  const again = await openStore(db, { maxRows: 1000, maxAgeMs: 0 });
  t.after(() => again.close());
  assert.equal((await readSummary(again, T0, T0 + 3 * 60_000)).totals.reports, 70);
});

/** Ids in report_keys under (scope, key), read from the file (and its WAL) by a connection of the test's. */
function keyIdsInTable(db: string, scope: number, key: string): number[] {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    return (
      d.prepare('SELECT id FROM report_keys WHERE scope = ? AND key = ? ORDER BY id').all(scope, key) as {
        id: number;
      }[]
    ).map((r) => Number(r.id));
  } finally {
    d.close();
  }
}

/** Every page of `filter`, `limit` at a time: the ids, newest first. */
async function allPages(
  store: Awaited<ReturnType<typeof openStore>>,
  filter: { node?: string; namespace?: string; outcome?: 'timeout'; slowerThanSeconds?: number },
  limit: number,
): Promise<number[]> {
  const seen: number[] = [];
  let before: number | undefined;
  do {
    const page = await store.list({ ...filter, limit, beforeId: before });
    assert.ok(page.reports.length === limit || page.nextBeforeId === null, 'a page is full unless it is the last');
    seen.push(...page.reports.map((r) => r.id));
    before = page.nextBeforeId ?? undefined;
  } while (before !== undefined);
  return seen;
}

test('lists by node, namespace and slowness read the ids held in memory and those written to report_keys alike, pages crossing from one to the other', async (t) => {
  const db = join(tempDir(t), 'reports.db');
  const store = await openStore(db, { maxRows: 100_000, maxAgeMs: 0 });
  t.after(() => store.close());
  const node = (i: number) => `node-${i % 4}`;
  const namespace = (i: number) => (i % 3 === 0 ? 'shop' : 'default');
  const outcome = (i: number) => (i % 5 === 0 ? 'timeout' : 'ready');
  // Over the histogram's buckets; 3 and 4 s share the bucket up to 5 s.
  const delay = (i: number) => [0.004, 0.03, 0.3, 3, 4, 12, 25, 70, 150][i % 9]!;
  const batch = (from: number, n: number) =>
    Array.from({ length: n }, (_x, i) =>
      makeReport(
        from + i,
        { node: node(from + i), namespace: namespace(from + i) },
        { outcome: outcome(from + i), delaySeconds: delay(from + i) },
      ),
    );
  // Minute 0; minute 1 (its first batch writes minute 0's key ids); more of minute 1, held.
  const ids = [
    ...(await store.insertBatch(batch(0, 40), T0)),
    ...(await store.insertBatch(batch(40, 20), T0 + 60_000)),
    ...(await store.insertBatch(batch(60, 20), T0 + 61_000)),
  ] as number[];
  const expected = (keep: (i: number) => boolean) => ids.flatMap((id, i) => (keep(i) ? [id] : [])).toReversed();
  // Written: minute 0's; held: minute 1's.
  assert.deepEqual(keyIdsInTable(db, 0, 'node-1'), expected((i) => i < 40 && node(i) === 'node-1').toReversed());
  for (const limit of [1, 3, 7, 100]) {
    assert.deepEqual(
      await allPages(store, { node: 'node-1' }, limit),
      expected((i) => node(i) === 'node-1'),
    );
    assert.deepEqual(
      await allPages(store, { namespace: 'shop' }, limit),
      expected((i) => namespace(i) === 'shop'),
    );
    assert.deepEqual(
      await allPages(store, { node: 'node-2', namespace: 'shop', outcome: 'timeout' }, limit),
      expected((i) => node(i) === 'node-2' && namespace(i) === 'shop' && outcome(i) === 'timeout'),
    );
    for (const slower of [0, 3, 20, 100, 200])
      assert.deepEqual(
        await allPages(store, { slowerThanSeconds: slower }, limit),
        expected((i) => delay(i) > slower),
      );
    assert.deepEqual(
      await allPages(store, { slowerThanSeconds: 3.5, outcome: 'timeout' }, limit),
      expected((i) => delay(i) > 3.5 && outcome(i) === 'timeout'),
    );
  }
  assert.deepEqual(await store.list({ node: 'node-9', limit: 5 }), { reports: [], nextBeforeId: null });
});

test('a store written before report_keys gets it filled from its reports at open, and its old node, namespace and delay indexes dropped', async (t) => {
  const db = join(tempDir(t), 'reports.db');
  const first = await openStore(db, { maxRows: 100_000, maxAgeMs: 0 });
  const ids = await first.insertBatch(
    Array.from({ length: 30 }, (_x, i) => makeReport(i, { node: `node-${i % 3}` }, { delaySeconds: i })),
    T0,
  );
  await first.close();
  // Back to the schema of session 6: the two indexes, no report_keys, no keys_id.
  const d = new DatabaseSync(db);
  d.exec(`DROP TABLE report_keys; DELETE FROM meta WHERE key = 'keys_id';
    CREATE INDEX reports_node ON reports (node, id); CREATE INDEX reports_namespace ON reports (pod_namespace, id);
    CREATE INDEX reports_delay ON reports (delay_seconds);`);
  d.close();
  const store = await openStore(db, { maxRows: 100_000, maxAgeMs: 0 });
  t.after(() => store.close());
  assert.deepEqual(
    (await store.list({ node: 'node-2', limit: 100 })).reports.map((r) => r.id),
    ids.filter((_id, i) => i % 3 === 2).toReversed(),
  );
  assert.equal(keyIdsInTable(db, 1, 'shop').length, 30);
  assert.deepEqual(
    (await store.list({ slowerThanSeconds: 26, limit: 100 })).reports.map((r) => r.id),
    ids.slice(27).toReversed(),
  );
  const check = new DatabaseSync(db, { readOnly: true });
  t.after(() => check.close());
  assert.deepEqual(
    check
      .prepare("SELECT name FROM sqlite_master WHERE name IN ('reports_node', 'reports_namespace', 'reports_delay')")
      .all(),
    [],
  );
});

test('retention deletes the key ids of the reports it deletes, held and written alike', async (t) => {
  const db = join(tempDir(t), 'reports.db');
  const store = await openStore(db, { maxRows: 100_000, maxAgeMs: 10 * 60_000 });
  t.after(() => store.close());
  const batch = (from: number, n: number) =>
    Array.from({ length: n }, (_x, i) => makeReport(from + i, { node: `node-${(from + i) % 2}` }));
  // Minutes 0 and 1 (written to report_keys by the next minute's batch), then minute 5 (held).
  await store.insertBatch(batch(0, 10), T0);
  await store.insertBatch(batch(10, 10), T0 + 60_000);
  const kept = (await store.insertBatch(batch(20, 10), T0 + 5 * 60_000)) as number[];
  assert.equal(keyIdsInTable(db, 0, 'node-0').length, 10);
  // 12 minutes in: minutes 0 and 1 are past the 10-minute age; minute 5 stays.
  await sweepOnce(store, { now: () => T0 + 12 * 60_000 });
  assert.equal(store.rows, 10);
  assert.deepEqual(
    (await store.list({ node: 'node-0', limit: 100 })).reports.map((r) => r.id),
    kept.filter((_id, i) => i % 2 === 0).toReversed(),
  );
  // The sweep wrote minute 5's held ids (ingest has paused) and deleted the rest.
  assert.deepEqual(
    keyIdsInTable(db, 0, 'node-0'),
    kept.filter((_id, i) => i % 2 === 0),
  );
  assert.deepEqual(keyIdsInTable(db, 1, 'shop'), kept);
});

test('a summary lets a batch commit while it runs, and its timeline and slowest hold only the reports its figures count', async (t) => {
  const store = await openStore(join(tempDir(t), 'reports.db'), { maxRows: 100_000, maxAgeMs: 0 });
  t.after(() => store.close());
  const ids = await store.insertBatch(
    Array.from({ length: 20 }, (_x, i) => makeReport(i, {}, { delaySeconds: 1 + i / 10 })),
    T0 + 60_000,
  );
  const order: string[] = [];
  const summary = readSummary(store, T0, T0 + 90_000).then((s) => {
    order.push('summary');
    return s;
  });
  // Queued once the summary has read its figures: a batch (the committer's turn) with the slowest report of all.
  const late = new Promise<(number | null)[]>((resolve) =>
    setImmediate(() => {
      void store.insertBatch([makeReport(99, {}, { delaySeconds: 299 })], T0 + 61_000).then((id) => {
        order.push('batch');
        resolve(id);
      });
    }),
  );
  const s = await summary;
  const [lateId] = await late;
  assert.deepEqual(order, ['batch', 'summary']);
  assert.equal(s.totals.reports, 20);
  assert.deepEqual(
    s.timeline.map((p) => p.id),
    ids.toReversed(),
  );
  assert.ok(!s.slowest.some((p) => p.id === lateId));
  assert.equal(s.slowest[0]!.id, ids[19]);
  // The next summary counts it.
  const next = await readSummary(store, T0, T0 + 90_000);
  assert.equal(next.totals.reports, 21);
  assert.equal(next.slowest[0]!.id, lateId);
});

test('a store with reports_received gets reports_newest at open (the slowest are picked from it) and the old index dropped', async (t) => {
  const db = join(tempDir(t), 'reports.db');
  const first = await openStore(db, { maxRows: 100_000, maxAgeMs: 0 });
  const ids = await first.insertBatch(
    Array.from({ length: 30 }, (_x, i) => makeReport(i, {}, { delaySeconds: (i * 7) % 30 })),
    T0,
  );
  await first.close();
  // The index as it was until session 8.
  const d = new DatabaseSync(db);
  d.exec('DROP INDEX reports_newest; CREATE INDEX reports_received ON reports (received_ms);');
  d.close();
  const store = await openStore(db, { maxRows: 100_000, maxAgeMs: 0 });
  t.after(() => store.close());
  const check = new DatabaseSync(db, { readOnly: true });
  t.after(() => check.close());
  assert.deepEqual(
    check
      .prepare("SELECT name FROM sqlite_master WHERE name IN ('reports_received', 'reports_newest')")
      .all()
      .map((r) => r.name),
    ['reports_newest'],
  );
  const slowest = (await readSummary(store, T0, T0 + 60_000)).slowest;
  // Delays 29, 28, ... are those of reports i with (i * 7) % 30 = 29, 28, ...
  const byDelay = ids.map((id, i) => ({ id, delay: (i * 7) % 30 })).sort((a, b) => b.delay - a.delay);
  assert.deepEqual(
    slowest.map((p) => p.id),
    byDelay.slice(0, slowest.length).map((x) => x.id),
  );
  assert.equal(slowest.length, 10);
});
