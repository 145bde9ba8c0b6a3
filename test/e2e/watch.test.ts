// End-to-end: `netready watch`, from source, in a Calico-style testbed pod on the real kernel,
// reporting to a real collector (createCollector, the factory main uses) on the host's collector
// address. The pod's network works, then its host route is removed (what Felix does) and
// restored; /readyz is read from inside the pod, where the watch serves it, and compared with the
// testbed's ground truth. Run as root: `node --test test/e2e/watch.test.ts`.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createCollector, type Collector } from '../../src/collector/collector.ts';
import { parseCollectorConfig } from '../../src/collector/config.ts';
import { formatHostPort } from '../../src/lib/listen.ts';
import { createLogger } from '../../src/lib/log.ts';
import { parseLogLine, type LogLine } from '../helpers/log-lines.ts';
import { samples } from '../collector/helpers.ts';
import { CLI, COLLECTOR, COLLECTOR_PORT, ROOT, sleep } from './agent-in-pod.ts';
import { createTestbed, SERVICES, type Pod, type Testbed } from './testbed.ts';

const CHECKS = ['--check', 'dns', '--check', `tcp://${SERVICES.api.v4}:443`];
const INTERVAL_MS = 1000;
const FAILURES = 3;
const ATTEMPT_TIMEOUT_MS = 900;
/** The latest a broken path is declared lost (README, "Detection window"; the interval is above the attempt timeout). */
const DETECTION_MS = FAILURES * INTERVAL_MS + ATTEMPT_TIMEOUT_MS;

interface Running {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
}

/** Spawns `node ARGV` in the pod with the pod's identity; its JSON lines are collected as they come. */
function spawnInPod(bed: Testbed, pod: Pod, argv: readonly string[]): Running {
  const env = {
    PATH: process.env.PATH ?? '',
    NETREADY_POD_NAME: pod.name,
    NETREADY_POD_NAMESPACE: 'e2e',
    NETREADY_POD_UID: `uid-${pod.name}`,
    NETREADY_NODE_NAME: 'testbed-node',
    NETREADY_POD_IPS: [pod.ipv4, pod.ipv6].filter(Boolean).join(','),
  };
  const child = bed.podExec(pod, [process.execPath, ...argv], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: LogLine[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const text of parts) {
      const line = parseLogLine(text) ?? (text.startsWith('{') ? JSON.parse(text) : null);
      if (line) lines.push(line);
    }
  });
  return { child, lines };
}

/** The status of GET `url` from the host, 0 when there is no answer within a second. */
function statusOf(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

/** Polls `read` every 10 ms until it returns a value; bounded by the test's timeout. */
async function until<T>(read: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await read();
    if (v !== undefined) return v;
    await sleep(10);
  }
}

describe('netready watch in a pod whose host route is removed and restored', { timeout: 120_000 }, () => {
  let bed: Testbed;
  let collector: Collector;
  before(async () => {
    bed = await createTestbed();
    await bed.listenTcp(SERVICES.api.v4, 443);
    await bed.listenTcp(SERVICES.api.v6, 443);
    const config = parseCollectorConfig(['--db', ':memory:'], {}, () => '');
    collector = await createCollector(config, {
      log: createLogger('collector', 'warn', () => {}),
      processMetrics: false,
      retention: false,
    });
    await bed.listenHttp(SERVICES.collector.v4, COLLECTOR_PORT, collector.handler);
  });
  after(async () => {
    await bed?.close();
    await collector?.close();
  });

  test('5 s without a route: 503 within the detection window, 200 within 50 ms of the restore, one outage stored and counted', async (t) => {
    const pod = await bed.createPod();
    const watch = spawnInPod(bed, pod, [
      CLI,
      'watch',
      ...CHECKS,
      '--interval',
      `${INTERVAL_MS}ms`,
      '--failures',
      String(FAILURES),
      '--collector',
      COLLECTOR.v4,
    ]);
    await until(() => watch.lines.find((l) => l.msg === 'watch listening'));
    // What kubelet's httpGet reads: the pod IP, from the node.
    const fromNode = `http://${pod.ipv4}:9471/readyz`;
    assert.equal(await statusOf(fromNode), 200);
    const readiness = spawnInPod(bed, pod, [`${ROOT}test/e2e/readyz-poller.ts`, 'http://127.0.0.1:9471/readyz', '5']);
    await until(() => readiness.lines.find((l) => l.status === 200));
    // A few healthy rounds first.
    await sleep(2 * INTERVAL_MS);

    const removed = await bed.removeRoute(pod);
    // Without the route, the node's probe gets no answer at all: NotReady by the probe's own failure.
    assert.equal(await statusOf(fromNode), 0);
    await sleep(5000 - (Date.now() - removed.at));
    const restored = await bed.restoreRoute(pod);
    const back = await until(() => readiness.lines.find((l) => l.status === 200 && l.at > removed.before));
    const lost = readiness.lines.find((l) => l.status === 503 && l.at > removed.before);
    assert.ok(lost, `readiness never answered 503: ${JSON.stringify(readiness.lines)}`);
    // Nothing but 200 and 503 in between: the endpoint itself stayed reachable in the pod.
    assert.deepEqual(
      readiness.lines.filter((l) => l.at > removed.before).map((l) => l.status),
      [503, 200],
    );
    // When /readyz turned: the watch logs it in the same turn as the change (whole ms of its clock),
    // and the poller's reads bound it (after the last request with the old answer went out, before
    // the new answer came back; 2 ms for the processes' clocks). Counted from the poller's reads,
    // the poller's own latency (up to 115 ms at load average 10) would be charged to the watch.
    const turned = async (msg: RegExp, read: LogLine) => {
      const line = await until(() => watch.lines.find((l) => msg.test(String(l.msg))));
      const at = Date.parse(line.time);
      assert.ok(
        at + 2 > read.after && at <= read.at + 2,
        `"${line.msg}" logged at ${at}; the poller read the old answer until ${read.after}, the new at ${read.at}`,
      );
      return at;
    };
    const lostAt = await turned(/^network lost/, lost);
    const backAt = await turned(/^network back/, back);
    assert.ok(
      lostAt - removed.at <= DETECTION_MS,
      `503 ${Math.round(lostAt - removed.at)} ms after the route went, detection window ${DETECTION_MS} ms`,
    );
    // The route came back while `ip route add` ran: at the latest when the test saw it exit (restored.at).
    assert.ok(backAt + 2 > restored.before, 'not 200 before the route was back');
    assert.ok(
      backAt - restored.at <= 50,
      `200 ${Math.round(backAt - restored.at)} ms after the route was back (ip ran ${Math.round(restored.at - restored.before)} ms; the poller read it ${Math.round(back.at - backAt)} ms later)`,
    );
    t.diagnostic(
      `503 ${Math.round(lostAt - removed.at)} ms after the route went; 200 ${Math.round(backAt - restored.at)} ms after it was back (ip route add ran ${Math.round(restored.at - restored.before)} ms), read by the poller ${Math.round(back.at - backAt)} ms later`,
    );

    const stored = await until(async () => {
      const page = await collector.store.listOutages({ limit: 10 });
      return page.outages.length > 0 ? page.outages : undefined;
    });
    assert.equal(stored.length, 1);
    const o = stored[0]!.outage;
    assert.equal(o.pod.name, pod.name);
    const truthMin = restored.before - removed.at;
    const truthMax = restored.at - removed.before;
    const measured = o.durationSeconds * 1000;
    // It ends within 25 ms of the truth; it starts at the first failed round, up to an interval after the break.
    assert.ok(
      measured <= truthMax + 25,
      `duration ${measured} ms, truth ${Math.round(truthMin)}-${Math.round(truthMax)} ms`,
    );
    assert.ok(
      measured >= truthMin - INTERVAL_MS - 25,
      `duration ${measured} ms, truth ${Math.round(truthMin)}-${Math.round(truthMax)} ms, interval ${INTERVAL_MS} ms`,
    );
    for (const c of o.checks) assert.ok((c.errors.timeout ?? 0) >= FAILURES, `${c.spec}: ${JSON.stringify(c.errors)}`);
    const text = await collector.registry.metrics();
    assert.deepEqual(samples(text, 'netready_network_lost_total'), [{ labels: { node: 'testbed-node' }, value: 1 }]);
    assert.equal(samples(text, 'netready_network_outage_seconds_count')[0]!.value, 1);

    readiness.child.kill('SIGKILL');
    watch.child.kill('SIGTERM');
    const code = await new Promise((r) => watch.child.once('exit', (c) => r(c)));
    assert.equal(code, 0);
  });

  test('the default --listen answers a probe from the node to the pod IP of either family', async () => {
    // kubelet's httpGet goes to the pod's IP from the node: here, from the host, through the pod's host route.
    for (const [kind, opts] of [
      ['IPv6-only', { ipv4: false, ipv6: true }],
      ['dual-stack', { ipv4: true, ipv6: true }],
      ['IPv4-only', { ipv4: true, ipv6: false }],
    ] as const) {
      const pod = await bed.createPod(opts);
      const api = pod.ipv4 ? SERVICES.api.v4 : `[${SERVICES.api.v6}]`;
      const watch = spawnInPod(bed, pod, [CLI, 'watch', '--check', `tcp://${api}:443`]);
      const listening = await until(() => watch.lines.find((l) => l.msg === 'watch listening'));
      assert.equal(listening.listen, '[::]:9471');
      for (const ip of [pod.ipv4, pod.ipv6].filter((a) => a !== undefined)) {
        const url = `http://${formatHostPort(ip, 9471)}/readyz`;
        assert.equal(await statusOf(url), 200, `${kind} pod: GET ${url}`);
      }
      watch.child.kill('SIGTERM');
      assert.equal(await new Promise((r) => watch.child.once('exit', (c) => r(c))), 0);
    }
  });

  test('a flapping route: one document per outage, at most the cap, the rest counted', async () => {
    const pod = await bed.createPod();
    const before = (await collector.store.listOutages({ limit: 100 })).outages.length;
    const watch = spawnInPod(bed, pod, [
      CLI,
      'watch',
      ...CHECKS,
      '--interval',
      '200ms',
      '--attempt-timeout',
      '150ms',
      '--failures',
      '1',
      '--max-outages-per-minute',
      '2',
      '--listen',
      '127.0.0.1:9471',
      '--collector',
      COLLECTOR.v4,
    ]);
    await until(() => watch.lines.find((l) => l.msg === 'watch listening'));
    const count = (msg: RegExp) => watch.lines.filter((l) => msg.test(String(l.msg))).length;
    for (let i = 1; i <= 4; i++) {
      await bed.removeRoute(pod);
      await until(() => count(/^network lost/) >= i || undefined);
      await bed.restoreRoute(pod);
      // Sent (and delivered while the route is there) or held back by the cap: then the next flap.
      await until(() => count(/^outage (delivered|not sent)/) >= i || undefined);
    }
    assert.equal(count(/^outage delivered/), 2, JSON.stringify(watch.lines));
    const held = watch.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('outage not sent'));
    assert.deepEqual(
      held.map((l) => l.dropped),
      [1, 2],
    );
    const mine = (await collector.store.listOutages({ limit: 100 })).outages.filter(
      (s) => s.outage.pod.name === pod.name,
    );
    assert.equal(mine.length, 2, 'two outages stored, one document each');
    assert.equal((await collector.store.listOutages({ limit: 100 })).outages.length, before + 2);
    watch.child.kill('SIGTERM');
  });
});
