// Collector processes on one real PostgreSQL (test/helpers/postgres.ts): two
// replicas see each other's reports; kill -9 of one mid-burst loses no
// acknowledged report; PostgreSQL stopped and started under load gives 503s,
// never a 202 for a report it did not store, and the collector serves again
// without a restart; the password comes from the URL, a file or PGPASSWORD
// and is never logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { run } from '../helpers/agent.ts';
import { freshDatabase, sharedPostgres, startPostgres } from '../helpers/postgres.ts';
import { makeReport, postReport, send, startCollector, tempDir, type CollectorProcess } from './helpers.ts';

/** Every stored report's pod uid, read page by page through `url`'s GET /v1/reports. */
async function storedUids(url: string): Promise<Set<string>> {
  const uids = new Set<string>();
  let cursor: string | null = '';
  while (cursor !== null) {
    const page: any = (await send(url, { path: `/v1/reports?limit=1000${cursor ? `&cursor=${cursor}` : ''}` })).json();
    for (const r of page.reports) uids.add(r.report.pod.uid);
    cursor = page.next;
  }
  return uids;
}

/** Nothing a collector printed holds the password. */
function assertNotLogged(password: string, ...collectors: CollectorProcess[]): void {
  for (const c of collectors) {
    assert.ok(!JSON.stringify(c.logs()).includes(password), 'the password is in a log line');
    assert.ok(!c.stderr().includes(password), 'the password is on stderr');
  }
}

/** Posts reports `from`..`to`-1 with `concurrency` workers, round robin over `urls`; collects what each answered. */
function burst(
  urls: string[],
  from: number,
  to: number,
  concurrency: number,
  onAnswer: (uid: string, status: number | 'error') => void,
  stop: () => boolean = () => false,
) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = from;
  const worker = async () => {
    while (next < to && !stop()) {
      const i = next++;
      const report = makeReport(i, { node: `node-${i % 13}`, namespace: `ns-${i % 5}` });
      try {
        onAnswer(report.pod.uid, (await postReport(urls[i % urls.length]!, report, {}, agent)).status);
      } catch {
        onAnswer(report.pod.uid, 'error');
      }
    }
  };
  return Promise.all(Array.from({ length: concurrency }, worker)).finally(() => agent.destroy());
}

test('two collectors on one PostgreSQL: each lists and counts the reports sent to both; a report sent to both is stored once', async (t) => {
  const db = await freshDatabase();
  const server = await sharedPostgres();
  // Started together on an empty database: the schema lock lets one create it.
  const [a, b] = await Promise.all([startCollector(t, ['--db', db]), startCollector(t, ['--db', db])]);
  const acked = new Set<string>();
  await burst([a.url, b.url], 0, 200, 8, (uid, status) => status === 202 && acked.add(uid));
  assert.equal(acked.size, 200);
  const same = makeReport(1000, { node: 'node-0', namespace: 'ns-0' });
  const answers = await Promise.all([postReport(a.url, same), postReport(b.url, same)]);
  assert.deepEqual(
    answers.map((r) => r.status),
    [202, 202],
  );
  assert.deepEqual(answers.map((r) => r.json().status).sort(), ['duplicate', 'stored']);
  for (const c of [a, b]) {
    assert.equal((await storedUids(c.url)).size, 201);
    const summary = (await send(c.url, { path: '/v1/summary?since=1h' })).json();
    assert.equal(summary.totals.reports, 201);
    assert.equal(summary.totals.nodes, 13);
    assert.equal((await send(c.url, { path: '/v1/reports?node=node-3&limit=100' })).json().reports.length, 16);
  }
  assertNotLogged(server.password, a, b);
});

test('kill -9 of one collector during a burst to both: every acknowledged report is in PostgreSQL', async (t) => {
  const db = await freshDatabase();
  const [a, b] = await Promise.all([startCollector(t, ['--db', db]), startCollector(t, ['--db', db])]);
  const acked = new Set<string>();
  let errors = 0;
  await burst([a.url, b.url], 0, 1500, 24, (uid, status) => {
    if (status === 202) acked.add(uid);
    else errors++;
    if (acked.size === 400) a.child.kill('SIGKILL');
  });
  assert.equal((await a.exited).signal, 'SIGKILL');
  assert.ok(errors > 0, 'requests to the killed collector failed');
  const stored = await storedUids(b.url);
  const lost = [...acked].filter((uid) => !stored.has(uid));
  assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged reports lost`);
  // The killed replica's cells (of minutes not settled yet) are read from the table.
  assert.equal((await send(b.url, { path: '/v1/summary?since=1h' })).json().totals.reports, stored.size);
  t.diagnostic(`acknowledged ${acked.size}, failed ${errors}, stored ${stored.size}`);
});

test('PostgreSQL stopped and started under load: 503s and /readyz 503 while it is away, no 202 for a report not stored, then serving again without a restart', async (t) => {
  const server = await sharedPostgres();
  const db = await freshDatabase();
  const c = await startCollector(t, ['--db', db]);
  // The server is shared by this file's tests: whatever happens here, it runs again afterwards.
  t.after(async () => {
    await server.start().catch(() => {});
  });
  const acked = new Set<string>();
  const statuses = new Map<number | 'error', number>();
  let phase: 'before' | 'away' | 'back' = 'before';
  const ackedBack = new Set<string>();
  let done = false;
  const load = burst(
    [c.url],
    0,
    1_000_000,
    8,
    (uid, status) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status !== 202) return;
      acked.add(uid);
      if (phase === 'back') ackedBack.add(uid);
    },
    () => done,
  );
  const waitFor = async (what: string, ok: () => Promise<boolean> | boolean) => {
    for (const deadline = Date.now() + 30_000; !(await ok()); ) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await waitFor('reports stored', () => acked.size >= 100);
    await server.stop();
    phase = 'away';
    await waitFor('/readyz 503', async () => (await send(c.url, { path: '/readyz' })).status === 503);
    await waitFor('POSTs answered 503', () => (statuses.get(503) ?? 0) >= 20);
    await server.start();
    phase = 'back';
    await waitFor('/readyz 200', async () => (await send(c.url, { path: '/readyz' })).status === 200);
    await waitFor('reports stored again', () => ackedBack.size >= 100);
  } finally {
    done = true;
    await load;
  }
  assert.deepEqual(
    [...statuses.keys()].filter((s) => s !== 202 && s !== 503),
    [],
    `answers other than 202 and 503: ${JSON.stringify([...statuses])}`,
  );
  const stored = await storedUids(c.url);
  const lost = [...acked].filter((uid) => !stored.has(uid));
  assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged reports not stored`);
  // Batches whose commit lost its answer included: every stored report counted once.
  assert.equal((await send(c.url, { path: '/v1/summary?since=1h' })).json().totals.reports, stored.size);
  assert.equal(c.child.exitCode, null, 'the same process serves');
  assertNotLogged(server.password, c);
  t.diagnostic(`answers ${JSON.stringify([...statuses])}, stored ${stored.size}`);
});

test('the password from --db-password-file or PGPASSWORD when the URL has none; a wrong one exits 1 naming what to check, never the password', async (t) => {
  const server = await sharedPostgres();
  const url = await freshDatabase();
  const bare = url.replace(`:${server.password}@`, '@');
  assert.notEqual(bare, url);
  const dir = tempDir(t);
  const pwFile = join(dir, 'pw');
  writeFileSync(pwFile, `${server.password}\n`);
  const fromFile = await startCollector(t, ['--db', bare, '--db-password-file', pwFile]);
  assert.equal((await send(fromFile.url, { path: '/readyz' })).status, 200);
  const fromEnv = await startCollector(t, ['--db', bare], { env: { PGPASSWORD: server.password } });
  assert.equal((await postReport(fromEnv.url, makeReport(1))).status, 202);
  assertNotLogged(server.password, fromFile, fromEnv);

  // The file wins over the URL's password: a wrong file fails even with the right URL.
  const wrong = 'not-the-pw-5521';
  writeFileSync(pwFile, `${wrong}\n`);
  const refused = await run(['collector', '--listen', '127.0.0.1:0', '--db', url, '--db-password-file', pwFile]);
  assert.equal(refused.code, 1, refused.stdout);
  const line = refused.logs.find((l) => l.level === 'error')!;
  assert.match(line.msg, /refused the login/);
  assert.match(line.msg, /--db-password-file/);
  for (const secret of [wrong, server.password])
    assert.ok(!`${refused.stdout}${refused.stderr}`.includes(secret), 'a password was printed');
});

test('a collector started before PostgreSQL starts unready (/healthz 200, /readyz 503, reports 503) and serves once the server is up, without a restart', async (t) => {
  const server = await startPostgres();
  t.after(() => server.destroy());
  await server.stop();
  const c = await startCollector(t, ['--db', server.url('postgres')]);
  assert.equal((await send(c.url, { path: '/healthz' })).status, 200);
  const unready = await send(c.url, { path: '/readyz' });
  assert.equal(unready.status, 503);
  assert.match(unready.json().message, /cannot reach PostgreSQL at 127\.0\.0\.1:\d+\/postgres/);
  assert.equal((await postReport(c.url, makeReport(1))).status, 503);
  assert.ok(
    c.logs().some((l) => l.level === 'warn' && /starting unready, retrying/.test(l.msg)),
    'the wait is logged',
  );

  await server.start();
  for (const deadline = Date.now() + 30_000; (await send(c.url, { path: '/readyz' })).status !== 200; ) {
    assert.ok(Date.now() < deadline, 'never ready after PostgreSQL started');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await postReport(c.url, makeReport(2))).status, 202);
  assert.deepEqual([...(await storedUids(c.url))], [makeReport(2).pod.uid]);
  assert.equal(c.child.exitCode, null, 'the same process serves');
  assertNotLogged(server.password, c);
});
