// `netready watch` as a user meets it, against real parts on loopback: a TCP
// target that goes away and comes back (connections refused in between), a
// real collector process, GET /readyz over HTTP, signals. No timing
// thresholds: every wait is for a state, bounded only by the test's timeout.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, run } from './helpers/agent.ts';
import { startServerProcess } from './helpers/server-process.ts';
import { startTcpListener } from './helpers/servers.ts';
import { send, startCollector } from './collector/helpers.ts';

const IDENTITY = {
  NETREADY_POD_NAME: 'web-1',
  NETREADY_POD_NAMESPACE: 'shop',
  NETREADY_POD_UID: '0b5d2f7e-6a1c-4a8e-9d53-000000000001',
  NETREADY_NODE_NAME: 'node-a',
  NETREADY_POD_IPS: '192.0.2.10',
};

/** Starts `netready watch --listen 127.0.0.1:0 ARGS`; resolves once it listens. Killed when the test ends. */
async function startWatch(t: TestContext, args: string[]) {
  const p = await startServerProcess(
    t,
    [process.execPath, CLI, 'watch', '--listen', '127.0.0.1:0', ...args],
    'watch listening',
    IDENTITY,
  );
  return { ...p, url: `http://127.0.0.1:${p.port}` };
}

/** Polls `read` every 20 ms until `ok` holds; returns that value. */
async function until<T>(_what: string, read: () => Promise<T> | T, ok: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const readyz = (url: string) => send(url, { path: '/readyz' }).then((r) => r.status);

test('watch --help lists its options; bad configuration exits 2 naming the option', async () => {
  const help = await run(['watch', '--help']);
  assert.equal(help.code, 0);
  for (const text of [
    '--interval DURATION',
    'NETREADY_WATCH_INTERVAL',
    '--failures N',
    '--recover-interval',
    '--listen HOST:PORT',
    '--max-outages-per-minute',
    'NETREADY_CHECKS',
  ]) {
    assert.ok(help.stdout.includes(text), `help mentions ${text}`);
  }
  for (const [args, message] of [
    [['--failures', '0'], /--failures "0": expected a whole number from 1 to 1024/],
    [['--interval', '0'], /--interval "0": at least 1 ms/],
    [['--listen', '9471'], /--listen "9471": expected HOST:PORT/],
    [['--max-outages-per-minute', '-1'], /--max-outages-per-minute "-1"/],
    [['--check', 'ftp://x'], /--check "ftp:\/\/x"/],
  ] as const) {
    const r = await run(['watch', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message);
  }
});

test('--dry-run prints the defaults: a round every 2 s, lost after 3, /readyz on [::]:9471 (both families)', async () => {
  const r = await run(['watch', '--dry-run', '--check', 'tcp://127.0.0.1:1'], { env: IDENTITY });
  assert.equal(r.code, 0);
  const c = JSON.parse(r.stdout);
  assert.equal(c.intervalMs, 2000);
  assert.equal(c.failures, 3);
  assert.equal(c.recoverIntervalMs, 20);
  assert.deepEqual(c.listen, { host: '::', port: 9471 });
  assert.equal(c.maxOutagesPerMinute, 6);
  assert.equal(c.pod.node, 'node-a');
});

test(
  'a target that goes away: /readyz 503 after the failed rounds, 200 once it is back; one outage at the collector',
  { timeout: 60_000 },
  async (t) => {
    let target = await startTcpListener();
    const port = target.port;
    t.after(() => target.close());
    const collector = await startCollector(t, ['--db', ':memory:']);
    const watch = await startWatch(t, [
      '--check',
      `tcp://127.0.0.1:${port}`,
      '--interval',
      '100ms',
      '--failures',
      '3',
      '--collector',
      collector.url,
      // Delivery is checked here, not its budget (1 s by default, which includes loading the HTTP client
      // on the first delivery: one wait agent run from source took longer on a loaded machine).
      '--report-budget',
      '1m',
    ]);
    assert.equal(await readyz(watch.url), 200);
    assert.equal((await send(watch.url, { path: '/' })).status, 404);

    await target.close();
    await until(
      'readiness fails',
      () => readyz(watch.url),
      (s) => s === 503,
    );
    // The line was written before /readyz turned, but its pipe may be read after the answer's socket.
    const lost = (await until(
      'the loss is logged',
      () => watch.logs().find((l) => l.msg.startsWith('network lost')),
      Boolean,
    ))!;
    assert.deepEqual(lost.failing, [{ spec: `tcp://127.0.0.1:${port}`, error: 'refused' }]);
    const body = (await send(watch.url, { path: '/readyz' })).json();
    assert.equal(body.status, 'lost');

    target = await startTcpListener(port);
    await until(
      'readiness passes again',
      () => readyz(watch.url),
      (s) => s === 200,
    );
    const stored = await until(
      'the outage is stored',
      () => send(collector.url, { path: '/v1/outages' }).then((r) => r.json().outages),
      (o) => o.length > 0,
    );
    assert.equal(stored.length, 1);
    const o = stored[0].outage;
    assert.equal(o.kind, 'outage');
    assert.deepEqual(o.pod, {
      name: 'web-1',
      namespace: 'shop',
      uid: IDENTITY.NETREADY_POD_UID,
      node: 'node-a',
      ips: ['192.0.2.10'],
    });
    assert.equal(o.checks.length, 1);
    assert.ok(o.checks[0].errors.refused >= 3, `at least the 3 failed rounds: ${JSON.stringify(o.checks[0].errors)}`);
    assert.ok(Date.parse(o.startedAt) <= Date.parse(o.detectedAt) && Date.parse(o.detectedAt) <= Date.parse(o.endedAt));
    assert.equal(o.durationSeconds, (Date.parse(o.endedAt) - Date.parse(o.startedAt)) / 1000);
    assert.equal(o.dropped, 0);
    const metrics = (await send(collector.url, { path: '/metrics' })).text;
    assert.match(metrics, /^netready_network_lost_total\{node="node-a"\} 1$/m);

    watch.child.kill('SIGTERM');
    assert.deepEqual(await watch.exited, { code: 0, signal: null });
  },
);

test(
  'a flapping target: one document per outage, at most the cap per minute, the held-back ones counted',
  { timeout: 90_000 },
  async (t) => {
    let target = await startTcpListener();
    const port = target.port;
    t.after(() => target.close());
    const collector = await startCollector(t, ['--db', ':memory:']);
    const watch = await startWatch(t, [
      '--check',
      `tcp://127.0.0.1:${port}`,
      '--interval',
      '50ms',
      '--failures',
      '2',
      '--max-outages-per-minute',
      '1',
      '--collector',
      collector.url,
      // Delivery is checked, not its budget (see above).
      '--report-budget',
      '1m',
    ]);
    for (let i = 0; i < 3; i++) {
      await target.close();
      await until(
        'readiness fails',
        () => readyz(watch.url),
        (s) => s === 503,
      );
      target = await startTcpListener(port);
      await until(
        'readiness passes',
        () => readyz(watch.url),
        (s) => s === 200,
      );
    }
    await until(
      'three outages seen',
      () => watch.logs().filter((l) => l.msg === 'network back; /readyz answers 200').length,
      (n) => n === 3,
    );
    await until('the first is delivered', () => watch.logs().some((l) => l.msg === 'outage delivered'), Boolean);
    const held = watch.logs().filter((l) => l.msg.startsWith('outage not sent'));
    assert.deepEqual(
      held.map((l) => l.dropped),
      [1, 2],
    );
    assert.equal((await send(collector.url, { path: '/v1/outages' })).json().outages.length, 1);
    watch.child.kill('SIGTERM');
    assert.equal((await watch.exited).code, 0);
  },
);

test(
  'SIGTERM while the network is lost ends the watch at once, delivery and probes included',
  { timeout: 60_000 },
  async (t) => {
    // Nothing listens there: every round fails, and the watch stays lost.
    const gone = await startTcpListener();
    await gone.close();
    const watch = await startWatch(t, [
      '--check',
      `tcp://127.0.0.1:${gone.port}`,
      '--interval',
      '50ms',
      '--failures',
      '1',
    ]);
    await until(
      'readiness fails',
      () => readyz(watch.url),
      (s) => s === 503,
    );
    watch.child.kill('SIGTERM');
    assert.deepEqual(await watch.exited, { code: 0, signal: null });
    assert.ok(watch.logs().some((l) => l.msg === 'watch stopped' && l.signal === 'SIGTERM'));
  },
);

test('a --listen port already taken exits 1 and says what to check', async (t) => {
  const taken = await startTcpListener();
  t.after(() => taken.close());
  const r = await run(['watch', '--check', 'tcp://127.0.0.1:1', '--listen', `127.0.0.1:${taken.port}`], {
    env: IDENTITY,
  });
  assert.equal(r.code, 1);
  assert.ok(
    r.logs.some((l) => /cannot listen; check --listen/.test(l.msg)),
    r.stdout,
  );
});
