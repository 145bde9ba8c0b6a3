// A burst: a handful of blocked pods, each with its agent, all programmed in one nftables
// transaction (Felix catching up after a resync). Every agent must exit 0 and report a delay
// within its error bound of the ground truth. bench/burst.ts measures the same at 30 pods.
// Run as root: `node --test test/e2e/burst.test.ts`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertMatchesGroundTruth,
  CHECKS,
  COLLECTOR,
  describeRun,
  runAgent,
  sleep,
  startCollector,
  type CollectorStub,
} from './agent-in-pod.ts';
import { createTestbed, SERVICES, type Pod, type ProgrammedAt, type Testbed } from './testbed.ts';

const PODS = 4;

describe('netready wait in a burst of pods', { timeout: 120_000 }, () => {
  let bed: Testbed;
  let collector: CollectorStub;
  before(async () => {
    bed = await createTestbed();
    await bed.listenTcp(SERVICES.api.v4, 443);
    collector = await startCollector(bed);
  });
  after(() => bed?.close());

  test(`${PODS} pods programmed in one transaction: every agent exits 0 and reports the truth`, async (t) => {
    const pods: Pod[] = [];
    for (let i = 0; i < PODS; i++) pods.push(await bed.createPod({ blocked: true }));
    let waiting = 0;
    const { promise: allWaiting, resolve } = Promise.withResolvers<void>();
    const runs = pods.map((pod) =>
      runAgent(bed, pod, [...CHECKS, '--collector', COLLECTOR.v4, '--timeout', '60s'], {
        killAfterMs: 60_000,
        onLog: (line) => {
          if (line.msg === 'waiting for the pod network' && ++waiting === PODS) resolve();
        },
      }),
    );
    await allWaiting;
    // Past the first attempts' timeout, so that every agent has seen the dataplane drop packets.
    await sleep(1500);
    const truth: ProgrammedAt = await bed.programAll(pods);
    const results = await Promise.all(runs);
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, describeRun(r));
      const report = collector.reportOf(pods[i]!);
      assert.equal(report.outcome, 'ready');
      const err = assertMatchesGroundTruth(report, report.delaySeconds, truth, `${pods[i]!.name} delaySeconds`);
      t.diagnostic(
        `${pods[i]!.name}: delay ${report.delaySeconds} s, error ${err.toFixed(1)} ms, exit ${Math.round(r.exitedAt - truth.at)} ms after the transaction`,
      );
    }
  });
});
