// End-to-end scenarios: the real agent in Calico-style pods on the real kernel.
// IPv6-only and dual-stack pods, and the agent as it runs in a locked-down init container:
// the production bundle, a non-root uid, no capabilities.
// Run as root: `node --test test/e2e/scenarios-ipv6-unprivileged.test.ts`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  assertMatchesGroundTruth,
  CHECKS,
  checkOf,
  COLLECTOR,
  describeRun,
  findLog,
  isDeadlineLine,
  isReadyLine,
  ROOT,
  runAgent,
  runProgrammedAfter,
  startCollector,
  type AgentOptions,
  type CollectorStub,
} from './agent-in-pod.ts';
import { createTestbed, GATEWAY, SERVICES, type PodOptions, type Testbed } from './testbed.ts';

const TCP4 = `tcp://${SERVICES.api.v4}:443`;
const TCP6 = `tcp://[${SERVICES.api.v6}]:443`;

const STACKS = [
  {
    name: 'IPv6-only',
    pod: { ipv4: false, ipv6: true },
    args: ['--check', 'gateway', '--check', 'dns', '--check', TCP6, '--collector', COLLECTOR.v6],
  },
  {
    name: 'dual-stack',
    pod: { ipv4: true, ipv6: true },
    args: ['--check', 'gateway', '--check', 'dns', '--check', TCP4, '--check', TCP6, '--collector', COLLECTOR.v4],
  },
] as const satisfies readonly { name: string; pod: PodOptions; args: readonly string[] }[];

describe('netready wait in a pod: IPv6, dual stack, no privileges', { timeout: 180_000 }, () => {
  let bed: Testbed;
  let collector: CollectorStub;
  before(async () => {
    bed = await createTestbed();
    for (const address of [SERVICES.api.v4, SERVICES.api.v6]) await bed.listenTcp(address, 443);
    collector = await startCollector(bed, [SERVICES.collector.v4, SERVICES.collector.v6]);
  });
  after(() => bed?.close());

  for (const stack of STACKS) {
    test(`${stack.name} pod, network up: ready, the gateway of every family answers`, async (t) => {
      const pod = await bed.createPod(stack.pod);
      const r = await runAgent(bed, pod, stack.args);
      assert.equal(r.code, 0, describeRun(r));
      const report = collector.reportOf(pod);
      assert.equal(report.outcome, 'ready');
      assert.ok(
        report.checks.every((c) => c.ok),
        JSON.stringify(report.checks),
      );
      assert.deepEqual(report.pod.ips, [pod.ipv4, pod.ipv6].filter(Boolean));
      assert.ok(report.delaySeconds < 2, `delay ${report.delaySeconds} s`);
      const gw = checkOf(report, 'gateway');
      t.diagnostic(
        `gateway ${gw.readyAfterSeconds} s after start (${gw.attempts} attempts), delay ${report.delaySeconds} s`,
      );
    });

    test(`${stack.name} pod, dataplane programmed after ~1.5 s: the report matches ground truth`, async (t) => {
      const pod = await bed.createPod({ ...stack.pod, blocked: true });
      const { r, truth } = await runProgrammedAfter(bed, pod, stack.args, 1500);
      assert.equal(r.code, 0, describeRun(r));
      const report = collector.reportOf(pod);
      assert.equal(report.outcome, 'ready');
      const err = assertMatchesGroundTruth(report, report.delaySeconds, truth, 'delaySeconds');
      for (const c of report.checks.filter((c) => c.kind !== 'gateway'))
        assertMatchesGroundTruth(report, c.readyAfterSeconds!, truth, c.spec);
      // Neighbour discovery works while the dataplane drops the rest: the gateway passes before.
      const gw = checkOf(report, 'gateway');
      const programmedAfter = (truth.before - Date.parse(report.startedAt)) / 1000;
      assert.ok(
        gw.readyAfterSeconds! < programmedAfter - 0.5,
        `gateway ${gw.readyAfterSeconds} s, programmed at ${programmedAfter.toFixed(3)} s`,
      );
      t.diagnostic(
        `programmed at ${programmedAfter.toFixed(3)} s, reported ${report.delaySeconds} s (error ${err.toFixed(1)} ms); ` +
          report.checks.map((c) => `${c.spec} ${c.readyAfterSeconds} s`).join(', '),
      );
    });

    test(`${stack.name} pod, blocked: the gateway check alone passes through neighbour discovery`, async (t) => {
      const pod = await bed.createPod({ ...stack.pod, blocked: true });
      const r = await runAgent(bed, pod, ['--check', 'gateway']);
      assert.equal(r.code, 0, describeRun(r));
      const ready = r.logs.find(isReadyLine);
      assert.ok(ready, describeRun(r));
      // From the agent's first look (its first attempt passed: the gateway answers neighbour
      // discovery through the block) to the agent knowing it.
      const tookMs = (ready.detectedAfterSeconds - ready.firstLookAfterSeconds) * 1000;
      assert.ok(tookMs < 1000, `the gateway attempt took ${tookMs} ms`);
      t.diagnostic(
        `gateway passed ${ready.checks[0].readyAfterSeconds} s after start, attempt took ${tookMs.toFixed(0)} ms, ${ready.checks[0].attempts} attempt(s)`,
      );
    });
  }

  // A first hop that never answers neighbour discovery must fail the gateway check, whichever
  // family it is: a dual-stack pod needs both. The drop is inside the pod (gone with its namespace).
  const SILENT_GATEWAYS = [
    {
      family: 'IPv4',
      firewall:
        'nft add table arp podfw && nft add chain arp podfw in "{ type filter hook input priority 0; }" && nft add rule arp podfw in drop',
    },
    {
      family: 'IPv6',
      firewall: `nft add table inet podfw && nft add chain inet podfw in "{ type filter hook input priority 0; }" && nft add rule inet podfw in ip6 saddr ${GATEWAY.v6} drop`,
    },
  ];
  for (const { family, firewall } of SILENT_GATEWAYS) {
    test(`dual-stack pod whose ${family} gateway never answers neighbour discovery: gateway fails`, async (t) => {
      const pod = await bed.createPod({ ipv4: true, ipv6: true });
      const fw = await bed.podRun(pod, ['sh', '-c', firewall]);
      assert.equal(fw.code, 0, fw.stderr);
      // The other family works: its target and the collector are reached through it.
      const [other, collectorUrl] = family === 'IPv4' ? [TCP6, COLLECTOR.v6] : [TCP4, COLLECTOR.v4];
      // Longer than the kernel's neighbour-discovery window (3 x 1 s).
      const r = await runAgent(bed, pod, [
        '--check',
        'gateway',
        '--check',
        other,
        '--collector',
        collectorUrl,
        '--timeout',
        '4s',
      ]);
      const gw = r.logs.findLast((l) => Array.isArray(l.checks))?.checks?.find((c: any) => c.spec === 'gateway');
      t.diagnostic(`exit ${r.code} after ${Math.round(r.exitedAt - r.spawnedAt)} ms; gateway ${JSON.stringify(gw)}`);
      assert.equal(r.code, 1, describeRun(r));
      const line = r.logs.find(isDeadlineLine);
      assert.ok(line, describeRun(r));
      assert.deepEqual(
        line.failing.map((f: any) => f.spec),
        ['gateway'],
      );
      assert.ok(['unreachable', 'timeout'].includes(line.failing[0].error), JSON.stringify(line.failing));
      assert.ok(findLog(r, 'report delivered'), describeRun(r));
      assert.equal(collector.reportOf(pod).outcome, 'timeout');
    });
  }

  describe('without privileges: the bundle as uid 65532 with no capabilities', () => {
    let dir: string;
    before(() => {
      // The checkout (and its Node) may be unreadable for uid 65532 (e.g. under /root in CI):
      // run a bundle and a copy of this Node from a directory anyone can read.
      dir = mkdtempSync(join(tmpdir(), 'netready-e2e-unpriv-'));
      execFileSync(process.execPath, ['scripts/build.ts', join(dir, 'dist')], { cwd: ROOT, stdio: 'pipe' });
      copyFileSync(process.execPath, join(dir, 'node'));
      execFileSync('chmod', ['-R', 'a+rX', dir]);
      chmodSync(join(dir, 'node'), 0o755);
    });
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    test('blocked, then programmed: ready with a correct report, gateway included', async (t) => {
      const pod = await bed.createPod({ blocked: true });
      let status = '';
      const opts: AgentOptions = {
        argv0: [
          'setpriv',
          '--reuid=65532',
          '--regid=65532',
          '--clear-groups',
          '--inh-caps=-all',
          '--bounding-set=-all',
          join(dir, 'node'),
          join(dir, 'dist', 'netready.mjs'),
        ],
        // setpriv and `ip netns exec` both exec: the child's pid is the agent's.
        onLog: (line, child) =>
          void (
            line.msg === 'waiting for the pod network' && (status = readFileSync(`/proc/${child.pid}/status`, 'utf8'))
          ),
      };
      const { r, truth } = await runProgrammedAfter(bed, pod, [...CHECKS, '--collector', COLLECTOR.v4], 1500, opts);
      assert.equal(r.code, 0, describeRun(r));
      // It really ran unprivileged.
      assert.match(status, /^Uid:\s+65532\s+65532\s+65532\s+65532$/m, status);
      assert.match(status, /^Groups:\s*$/m, status);
      for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'])
        assert.match(status, new RegExp(`^${cap}:\\s+0+$`, 'm'), status);

      const report = collector.reportOf(pod);
      assert.equal(report.outcome, 'ready');
      assert.deepEqual(
        report.checks.map((c) => [c.kind, c.ok]),
        [
          ['gateway', true],
          ['dns', true],
          ['tcp', true],
        ],
      );
      const err = assertMatchesGroundTruth(report, report.delaySeconds, truth, 'delaySeconds');
      const gw = checkOf(report, 'gateway');
      const programmedAfter = (truth.before - Date.parse(report.startedAt)) / 1000;
      assert.ok(
        gw.readyAfterSeconds! < programmedAfter - 0.5,
        `gateway ${gw.readyAfterSeconds} s, programmed at ${programmedAfter.toFixed(3)} s`,
      );
      t.diagnostic(
        `programmed at ${programmedAfter.toFixed(3)} s, reported ${report.delaySeconds} s (error ${err.toFixed(1)} ms), gateway ${gw.readyAfterSeconds} s`,
      );
    });
  });
});
