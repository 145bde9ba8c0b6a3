// End-to-end scenarios: the real agent, from source, in Calico-style pods on the real kernel.
// Probing: a network already up, one programmed late, one never programmed, packet loss, a
// flapping dataplane, and signals. Run as root: `node --test test/e2e/scenarios-probing.test.ts`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertMatchesGroundTruth,
  CHECKS,
  checkOf,
  COLLECTOR,
  describeRun,
  findLog,
  EARLY_MS,
  isDeadlineLine,
  isReadyLine,
  now,
  runAgent,
  runProgrammedAfter,
  sleep,
  startCollector,
  type CollectorStub,
} from './agent-in-pod.ts';
import { createTestbed, SERVICES, type ProgrammedAt, type Testbed } from './testbed.ts';

const WAIT = [...CHECKS, '--collector', COLLECTOR.v4];

describe('netready wait in a pod: probing', { timeout: 180_000 }, () => {
  let bed: Testbed;
  let collector: CollectorStub;
  before(async () => {
    bed = await createTestbed();
    await bed.listenTcp(SERVICES.api.v4, 443);
    collector = await startCollector(bed);
  });
  after(() => bed?.close());

  test('network already up: ready at once, every check ok', async (t) => {
    const pod = await bed.createPod();
    const r = await runAgent(bed, pod, WAIT);
    assert.equal(r.code, 0, describeRun(r));
    const report = collector.reportOf(pod);
    assert.equal(report.outcome, 'ready');
    // Includes Node's start-up from source.
    assert.ok(report.delaySeconds < 2, `delay ${report.delaySeconds} s`);
    assert.deepEqual(
      report.checks.map((c) => [c.kind, c.ok]),
      [
        ['gateway', true],
        ['dns', true],
        ['tcp', true],
      ],
    );
    assert.equal(report.pod.name, pod.name);
    assert.deepEqual(report.pod.ips, [pod.ipv4]);
    assert.ok(findLog(r, 'report delivered'), describeRun(r));
    t.diagnostic(`delay ${report.delaySeconds} s; exit ${Math.round(r.exitedAt - r.spawnedAt)} ms after spawn`);
  });

  test('dataplane programmed after ~3 s: ready, and the report matches ground truth', async (t) => {
    const pod = await bed.createPod({ blocked: true });
    const { r, truth } = await runProgrammedAfter(bed, pod, WAIT, 3000);
    assert.equal(r.code, 0, describeRun(r));
    const report = collector.reportOf(pod);
    assert.equal(report.outcome, 'ready');
    const err = assertMatchesGroundTruth(report, report.delaySeconds, truth, 'delaySeconds');
    const [gw, dns, tcp] = ['gateway', 'dns', 'tcp'].map((k) => checkOf(report, k));
    // Neighbour discovery works while the dataplane drops everything else.
    assert.ok(
      gw!.readyAfterSeconds! < dns!.readyAfterSeconds! - 1,
      `gateway ${gw!.readyAfterSeconds} s, dns ${dns!.readyAfterSeconds} s`,
    );
    assert.ok(
      gw!.readyAfterSeconds! < tcp!.readyAfterSeconds! - 1,
      `gateway ${gw!.readyAfterSeconds} s, tcp ${tcp!.readyAfterSeconds} s`,
    );
    assertMatchesGroundTruth(report, dns!.readyAfterSeconds!, truth, 'dns readyAfterSeconds');
    assertMatchesGroundTruth(report, tcp!.readyAfterSeconds!, truth, 'tcp readyAfterSeconds');
    // While blocked, attempts time out (the SYN and the query are dropped).
    assert.ok((tcp!.errors.timeout ?? 0) > 0, JSON.stringify(tcp!.errors));
    t.diagnostic(
      `ground truth ${(truth.at - Date.parse(report.startedAt)).toFixed(1)} ms (program() took ${(truth.at - truth.before).toFixed(1)} ms), ` +
        `reported ${report.delaySeconds} s (error ${err.toFixed(1)} ms); gateway ${gw!.readyAfterSeconds} s, dns ${dns!.readyAfterSeconds} s, tcp ${tcp!.readyAfterSeconds} s`,
    );
  });

  test('a lone tcp:// check programmed after ~2 s: paced by its port, ready, and the report matches ground truth', async (t) => {
    const pod = await bed.createPod({ blocked: true });
    // No dns check: the agent paces the tcp check by an empty datagram to its own address and
    // port, which the host answers with ICMP port unreachable once the dataplane lets it through.
    const { r, truth } = await runProgrammedAfter(
      bed,
      pod,
      ['--check', `tcp://${SERVICES.api.v4}:443`, '--collector', COLLECTOR.v4],
      2000,
    );
    assert.equal(r.code, 0, describeRun(r));
    const report = collector.reportOf(pod);
    assert.equal(report.outcome, 'ready');
    const err = assertMatchesGroundTruth(report, report.delaySeconds, truth, 'delaySeconds');
    const tcp = checkOf(report, 'tcp')!;
    assertMatchesGroundTruth(report, tcp.readyAfterSeconds!, truth, 'tcp readyAfterSeconds');
    // Paced while blocked: far fewer attempts than one per 20 ms interval, each a timeout.
    const fullRate = (truth.at - Date.parse(report.startedAt)) / 20;
    assert.ok(tcp.attempts < fullRate / 2, `${tcp.attempts} attempts, ${fullRate.toFixed(0)} at the full rate`);
    assert.ok((tcp.errors.timeout ?? 0) > 0, JSON.stringify(tcp.errors));
    t.diagnostic(
      `ground truth ${(truth.at - Date.parse(report.startedAt)).toFixed(1)} ms, reported ${report.delaySeconds} s (error ${err.toFixed(1)} ms); ${tcp.attempts} attempts`,
    );
  });

  test('never programmed: exit 1 at the deadline naming dns and tcp; --on-timeout continue exits 0', async (t) => {
    const failPod = await bed.createPod({ blocked: true });
    const continuePod = await bed.createPod({ blocked: true });
    // While the pacer's query goes unanswered, dns and tcp are tried 50 times less often: 5 s from
    // the process start lets an attempt of each come back as a timeout, also after a slow start-up.
    const DEADLINE = '5s';
    let deadlineSeenAt = 0;
    let programmed: Promise<ProgrammedAt> | undefined;
    const [fail, cont] = await Promise.all([
      runAgent(bed, failPod, [...WAIT, '--timeout', DEADLINE]),
      // This one's dataplane arrives just after its deadline: the timeout report then gets through
      // (a blocked pod cannot reach the collector at all). The budget outlasts one SYN retransmit.
      runAgent(
        bed,
        continuePod,
        [...WAIT, '--timeout', DEADLINE, '--on-timeout', 'continue', '--report-budget', '3s'],
        {
          onLog(line) {
            if (isDeadlineLine(line) && !programmed) {
              deadlineSeenAt = now();
              programmed = bed.program(continuePod);
            }
          },
        },
      ),
    ]);

    for (const r of [fail, cont]) {
      assert.ok(r.exitedAt - r.spawnedAt >= 5000, `exited ${Math.round(r.exitedAt - r.spawnedAt)} ms after spawn`);
      const line = r.logs.find(isDeadlineLine);
      assert.ok(line, describeRun(r));
      assert.deepEqual(
        line.failing.map((f: any) => [f.spec, f.error]),
        [
          ['dns', 'timeout'],
          [`tcp://${SERVICES.api.v4}:443`, 'timeout'],
        ],
        describeRun(r),
      );
      for (const f of line.failing) {
        // Paced while the pacer goes unanswered: one attempt that timed out is enough to name the class.
        assert.ok(f.attempts >= 1, `${f.spec} attempts ${f.attempts}`);
        assert.match(f.hint, /dataplane/);
      }
      // The message names them too, for a human reading `kubectl logs`.
      for (const f of line.failing) assert.ok(line.msg.includes(f.spec), line.msg);
      assert.ok(!line.msg.includes('gateway'), line.msg);
    }
    assert.equal(fail.code, 1, describeRun(fail));
    // A blocked pod cannot deliver its report either: the budget runs out, the exit code stays.
    assert.ok(findLog(fail, /^report not delivered/), describeRun(fail));
    assert.equal(collector.reports.get(failPod.name), undefined);

    assert.equal(cont.code, 0, describeRun(cont));
    assert.ok(programmed, 'the deadline line was seen');
    await programmed;
    assert.ok(findLog(cont, 'report delivered'), describeRun(cont));
    const report = collector.reportOf(continuePod);
    assert.equal(report.outcome, 'timeout');
    assert.equal(report.readyAt, null);
    // The deadline counts from the agent's start, which comes after the spawn: the reported delay
    // lies between the 5 s deadline and the moment its line reached the test.
    const seenSeconds = (deadlineSeenAt - cont.spawnedAt) / 1000;
    assert.ok(
      report.delaySeconds >= 5 && report.delaySeconds <= seenSeconds,
      `delay ${report.delaySeconds} s, deadline line seen ${seenSeconds} s after spawn`,
    );
    assert.deepEqual(
      report.checks.map((c) => [c.kind, c.ok]),
      [
        ['gateway', true],
        ['dns', false],
        ['tcp', false],
      ],
    );
    assert.ok((checkOf(report, 'tcp').errors.timeout ?? 0) > 0);
    t.diagnostic(
      `exit 1 at ${Math.round(fail.exitedAt - fail.spawnedAt)} ms (5 s deadline + 1 s report budget on a blocked pod); ` +
        `continue: exit 0 at ${Math.round(cont.exitedAt - cont.spawnedAt)} ms, ${Math.round(cont.exitedAt - deadlineSeenAt)} ms after programming (report delivered)`,
    );
  });

  test('30% packet loss on a programmed pod: ready within a few seconds, no hang', async (t) => {
    const pod = await bed.createPod();
    await bed.netem(pod, { loss: 30 });
    try {
      const r = await runAgent(bed, pod, WAIT, { killAfterMs: 15_000 });
      assert.equal(r.code, 0, describeRun(r));
      const took = r.exitedAt - r.spawnedAt;
      // Ready in well under a second; the rest is at most the 1 s report budget.
      assert.ok(took < 4000, `exited ${Math.round(took)} ms after spawn`);
      const ready = r.logs.find(isReadyLine);
      assert.ok(ready, describeRun(r));
      assert.ok(ready.delaySeconds < 2, `delay ${ready.delaySeconds} s`);
      // Not asserted: one lost SYN or SYN-ACK costs a 1 s retransmit, the whole report budget.
      const undelivered = findLog(r, /^report not delivered/);
      t.diagnostic(
        `ready after ${ready.delaySeconds} s, exit ${Math.round(took)} ms after spawn; ` +
          (undelivered ? `report not delivered: ${undelivered.error}` : 'report delivered'),
      );
    } finally {
      await bed.clearNetem(pod);
    }
  });

  test('flapping dataplane with --settle 1s: the report counts from the last programming', async (t) => {
    const pod = await bed.createPod({ blocked: true });
    const running = runAgent(bed, pod, [...WAIT, '--settle', '1s']);
    await sleep(1000);
    const first = await bed.program(pod);
    await sleep(300);
    await bed.block(pod);
    const reblocked = now();
    await sleep(200);
    const last = await bed.program(pod); // the ground truth
    const r = await running;
    assert.equal(r.code, 0, describeRun(r));
    const report = collector.reportOf(pod);
    assert.equal(report.outcome, 'ready');
    const startedAt = Date.parse(report.startedAt);
    const rel = (ms: number) => `${(ms - startedAt).toFixed(0)} ms`;
    const ready = r.logs.find(isReadyLine);
    t.diagnostic(
      `first program ${rel(first.at)}, re-blocked ${rel(reblocked)}, last program ${rel(last.at)}; reported ${report.delaySeconds} s, ` +
        `detected ${ready?.detectedAfterSeconds} s; checks ${report.checks.map((c) => `${c.kind} ${c.readyAfterSeconds}`).join(', ')}`,
    );
    // Ready no earlier than the last programming, and declared only after a full settle window.
    assert.ok(
      report.delaySeconds * 1000 >= last.before - startedAt - EARLY_MS,
      `delay ${report.delaySeconds} s, last program ${rel(last.before)}`,
    );
    assert.ok(r.exitedAt >= last.at + 1000, `exited ${Math.round(r.exitedAt - last.at)} ms after the last program()`);
    // And no later than the usual tolerance: the network has worked without a break since then.
    assertMatchesGroundTruth(report, report.delaySeconds, last, 'delaySeconds against the last program()');
  });

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    test(`${signal} while waiting on a blocked pod: exit ${code} promptly`, async (t) => {
      const pod = await bed.createPod({ blocked: true });
      let signalledAt = 0;
      const r = await runAgent(bed, pod, WAIT, {
        onLog(line, child) {
          // Once the agent is waiting (and has waited a little), not while Node is still starting.
          if (line.msg === 'waiting for the pod network') {
            setTimeout(() => {
              signalledAt = now();
              child.kill(signal); // `ip netns exec` exec'd the agent: this pid is the agent
            }, 300);
          }
        },
      });
      assert.equal(r.code, code, describeRun(r));
      assert.ok(signalledAt > 0);
      assert.ok(findLog(r, `${signal} while waiting; exiting`), describeRun(r));
      const took = r.exitedAt - signalledAt;
      assert.ok(took < 1000, `exited ${took.toFixed(0)} ms after ${signal}`);
      t.diagnostic(`exit ${code} ${took.toFixed(1)} ms after ${signal}`);
    });
  }
});
