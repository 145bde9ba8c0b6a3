// npm run demo: simulated pods whose dataplanes are programmed after random
// delays, `netready wait` in each, and what it measured against ground truth.
// Needs root and iproute2, nftables, dnsmasq (the testbed of test/e2e/).
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { createTestbed, preflight, SERVICES, type Pod, type Testbed } from '../test/e2e/testbed.ts';

const PODS = Number(process.env.DEMO_PODS ?? 6);
const MAX_DELAY_S = Number(process.env.DEMO_MAX_DELAY ?? 8);
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

interface Row {
  pod: string;
  trueDelay: number;
  reported: number | null;
  lagMs: number;
  checks: string;
  code: number | null;
}

const missing = preflight();
if (missing) {
  console.error(`The demo builds real network namespaces, so it ${missing.replace('testbed prerequisites missing: ', 'needs ')}.`);
  console.error('On Debian or Ubuntu: sudo apt-get install iproute2 nftables dnsmasq-base, then: sudo npm run demo');
  process.exit(1);
}

const bed = await createTestbed();
try {
  const reports = new Map<string, any>();
  await bed.listenTcp(SERVICES.api.v4, 443);
  await bed.listenHttp(SERVICES.collector.v4, 9470, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const report = JSON.parse(body);
      reports.set(report.pod.name, report);
      res.writeHead(202).end();
    });
  });

  console.log(`${PODS} pods, each with its dataplane programmed after a random delay of up to ${MAX_DELAY_S} s; netready wait in each:\n`);
  const rows = await Promise.all(Array.from({ length: PODS }, (_, i) => runPod(bed, i, reports)));
  rows.sort((a, b) => a.trueDelay - b.trueDelay);
  console.log('| pod | programmed after | netready reported | error | exit lag | per check |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const err = r.reported === null ? '' : `${((r.reported - r.trueDelay) * 1000).toFixed(1)} ms`;
    console.log(`| ${r.pod} | ${r.trueDelay.toFixed(3)} s | ${r.reported?.toFixed(3) ?? `exit ${r.code}`} s | ${err} | ${r.lagMs.toFixed(1)} ms | ${r.checks} |`);
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
  const delays = rows.flatMap((r) => (r.reported === null ? [] : [r.reported]));
  const lags = rows.map((r) => r.lagMs);
  console.log(`\nreported delay: p50 ${q(delays, 50).toFixed(3)} s, p99 ${q(delays, 99).toFixed(3)} s`);
  console.log(`exit lag after the dataplane was programmed: p50 ${q(lags, 50).toFixed(1)} ms, p99 ${q(lags, 99).toFixed(1)} ms`);
} finally {
  await bed.close();
}

/** One pod: start the agent, program the dataplane after a random delay, wait for the agent's exit. */
async function runPod(bed: Testbed, i: number, reports: Map<string, any>): Promise<Row> {
  const pod: Pod = await bed.createPod({ blocked: true });
  const name = `demo-${i}`;
  const delayMs = 200 + Math.random() * (MAX_DELAY_S * 1000 - 200);
  const child: ChildProcess = bed.podExec(pod, [process.execPath, CLI, 'wait', '--timeout', '60s', '--termination-log', '',
    '--check', 'gateway', '--check', 'dns', '--check', `tcp://${SERVICES.api.v4}:443`, '--collector', `http://${SERVICES.collector.v4}:9470`], {
    stdio: 'ignore',
    env: { PATH: process.env.PATH, NETREADY_POD_NAME: name, NETREADY_POD_NAMESPACE: 'demo', NETREADY_NODE_NAME: 'node-a', NETREADY_POD_IPS: pod.ipv4 },
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: performance.timeOrigin + performance.now() })),
  );
  await new Promise((r) => setTimeout(r, delayMs));
  const programmed = await bed.program(pod);
  const { code, at } = await exited;
  const report = reports.get(name);
  const started = report ? Date.parse(report.startedAt) : programmed.at;
  return {
    pod: name,
    trueDelay: Math.max(0, programmed.at - started) / 1000,
    reported: report?.outcome === 'ready' ? report.delaySeconds : null,
    lagMs: at - programmed.at,
    checks: report ? report.checks.map((c: any) => `${c.spec.replace(/^tcp:\/\/.*/, 'tcp')} ${c.readyAfterSeconds?.toFixed(3)} s`).join(', ') : '',
    code,
  };
}
