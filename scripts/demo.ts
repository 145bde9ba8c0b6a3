// npm run demo: the whole system on one machine. The real collector (with its
// embedded store), simulated pods whose dataplanes are programmed after random
// delays, `netready wait` in each reporting to the collector; then what each
// agent measured against ground truth, a summary per node from the collector,
// and the dashboard, served until Ctrl-C. Everything is removed afterwards.
// Needs root and iproute2, nftables, dnsmasq (the testbed of test/e2e/).
//
// DEMO_PODS (default 6), DEMO_MAX_DELAY (seconds, default 8); DEMO_EXIT=1 or
// --once: exit right after printing instead of serving the dashboard.
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestbed, preflight, SERVICES, type Pod, type Testbed } from '../test/e2e/testbed.ts';

const PODS = Number(process.env.DEMO_PODS ?? 6);
const MAX_DELAY_S = Number(process.env.DEMO_MAX_DELAY ?? 8);
const ONCE = process.env.DEMO_EXIT === '1' || process.argv.includes('--once');
/** Simulated nodes the pods are spread over (NETREADY_NODE_NAME). */
const NODES = ['node-a', 'node-b', 'node-c'];
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
/** On the testbed's service link: reachable from the pods, and from this host. */
const COLLECTOR_URL = `http://${SERVICES.collector.v4}:9470`;

interface Row {
  pod: string;
  node: string;
  trueDelay: number;
  reported: number | null;
  lagMs: number;
  checks: string;
  code: number | null;
}

const missing = preflight();
if (missing) {
  console.error(
    `The demo builds real network namespaces, so it ${missing.replace('testbed prerequisites missing: ', 'needs ')}.`,
  );
  console.error('sudo npm run demo installs them first (scripts/system-prerequisites.sh demo), on Debian or Ubuntu.');
  process.exit(1);
}
if (!(Number.isInteger(PODS) && PODS >= 1 && PODS <= 100) || !(MAX_DELAY_S > 0.2)) {
  console.error('DEMO_PODS must be 1 to 100 and DEMO_MAX_DELAY more than 0.2 (seconds)');
  process.exit(2);
}

const dataDir = mkdtempSync(join(tmpdir(), 'netready-demo-'));
let collector: ChildProcess | undefined;
// The testbed removes its namespaces on SIGINT/SIGTERM and exit, then re-raises
// the signal; these make sure the collector child and the store go with it.
const stopNow = () => {
  if (collector && collector.exitCode === null && collector.signalCode === null) collector.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
};
process.once('exit', stopNow);

const bed = await createTestbed();
let exitCode = 0;
try {
  await bed.listenTcp(SERVICES.api.v4, 443);
  collector = await startCollector(join(dataDir, 'demo.db'));

  console.log(
    `${PODS} pods on ${Math.min(PODS, NODES.length)} nodes, each with its dataplane programmed after a random delay of up to ${MAX_DELAY_S} s;`,
  );
  console.log(`netready wait in each, reporting to the collector at ${COLLECTOR_URL}:\n`);
  const runs = await Promise.all(Array.from({ length: PODS }, (_, i) => runPod(bed, i)));
  const stored = await getJson(`/v1/reports?namespace=demo&limit=1000`);
  const reports = new Map<string, any>(stored.reports.map((s: any) => [s.report.pod.name, s.report]));
  const rows = runs.map((r) => toRow(r, reports.get(r.pod))).sort((a, b) => a.trueDelay - b.trueDelay);

  console.log('| pod | node | programmed after | netready reported | error | exit lag | per check |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const err = r.reported === null ? '' : `${((r.reported - r.trueDelay) * 1000).toFixed(1)} ms`;
    const reported = r.reported === null ? `exit ${r.code}` : `${r.reported.toFixed(3)} s`;
    console.log(
      `| ${r.pod} | ${r.node} | ${r.trueDelay.toFixed(3)} s | ${reported} | ${err} | ${r.lagMs.toFixed(1)} ms | ${r.checks} |`,
    );
  }
  const q = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
  const delays = rows.flatMap((r) => (r.reported === null ? [] : [r.reported]));
  const lags = rows.map((r) => r.lagMs);
  console.log(`\nreported delay: p50 ${fmt(q(delays, 50))} s, p99 ${fmt(q(delays, 99))} s`);
  console.log(
    `exit lag after the dataplane was programmed: p50 ${q(lags, 50)!.toFixed(1)} ms, p99 ${q(lags, 99)!.toFixed(1)} ms`,
  );

  // What the dashboard shows, from the same endpoint it reads.
  const summary = await getJson('/v1/summary?since=1h');
  console.log('\nper node (from the collector, GET /v1/summary):\n');
  console.log('| node | reports | timeouts | p50 | p90 | p99 | max |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const n of summary.nodes) {
    console.log(
      `| ${n.node} | ${n.reports} | ${n.timeouts} | ${fmt(n.p50)} s | ${fmt(n.p90)} s | ${fmt(n.p99)} s | ${fmt(n.max)} s |`,
    );
  }
  if (rows.some((r) => r.code !== 0)) exitCode = 1;

  console.log(`\ndashboard: ${COLLECTOR_URL}/   (metrics: ${COLLECTOR_URL}/metrics)`);
  console.log(`The address exists on this machine only. From elsewhere, tunnel it:`);
  console.log(`  ssh -L 9470:${SERVICES.collector.v4}:9470 <this-host>   then open http://localhost:9470/`);
  if (!ONCE) {
    console.log('\nServing until Ctrl-C; everything is removed then.');
    await new Promise<void>((resolve) => {
      // The testbed's own handlers tear the network down and re-raise the signal.
      for (const signal of ['SIGINT', 'SIGTERM'] as const)
        process.once(signal, () => {
          stopNow();
          resolve();
        });
    });
  }
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await stopCollector();
  await bed.close();
  stopNow();
}
process.exitCode = exitCode;

/** Starts `netready collector` on the testbed's collector address; resolves once it listens. */
async function startCollector(db: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'collector', '--listen', `${SERVICES.collector.v4}:9470`, '--db', db], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the collector did not start in 10 s: ${output}`)), 10_000);
    const onData = (d: string) => {
      output += d;
      if (output.includes('"collector listening"')) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining its logs
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the collector exited (${code}) before listening: ${output}`));
    });
  });
  return child;
}

/** SIGTERM, so the store is flushed and closed; SIGKILL if it takes more than 5 s. */
async function stopCollector(): Promise<void> {
  const c = collector;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((resolve) => c.once('exit', resolve));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function getJson(path: string): Promise<any> {
  const res = await fetch(`${COLLECTOR_URL}${path}`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Seconds with 3 decimals; '-' when there is no figure. */
function fmt(x: number | null | undefined): string {
  return x === null || x === undefined ? '-' : x.toFixed(3);
}

interface PodRun {
  pod: string;
  node: string;
  programmedAt: number;
  exitedAt: number;
  code: number | null;
}

/** One pod: start the agent, program the dataplane after a random delay, wait for the agent's exit. */
async function runPod(bed: Testbed, i: number): Promise<PodRun> {
  const pod: Pod = await bed.createPod({ blocked: true });
  const name = `demo-${i}`;
  const node = NODES[i % NODES.length]!;
  // At least 1 s: the agents start from source, several at once; a dataplane programmed before an
  // agent's first probe would make its reported delay Node's start-up time, not the network's.
  const delayMs = 1000 + Math.random() * Math.max(0, MAX_DELAY_S * 1000 - 1000);
  const child: ChildProcess = bed.podExec(
    pod,
    [
      process.execPath,
      CLI,
      'wait',
      '--timeout',
      '60s',
      '--termination-log',
      '',
      '--check',
      'gateway',
      '--check',
      'dns',
      '--check',
      `tcp://${SERVICES.api.v4}:443`,
      '--collector',
      COLLECTOR_URL,
    ],
    {
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH,
        NETREADY_POD_NAME: name,
        NETREADY_POD_NAMESPACE: 'demo',
        NETREADY_NODE_NAME: node,
        NETREADY_POD_IPS: pod.ipv4,
      },
    },
  );
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: performance.timeOrigin + performance.now() })),
  );
  await new Promise((r) => setTimeout(r, delayMs));
  const programmed = await bed.program(pod);
  const { code, at } = await exited;
  return { pod: name, node, programmedAt: programmed.at, exitedAt: at, code };
}

/** The table's row: the ground truth beside what the agent reported (as the collector stored it). */
function toRow(run: PodRun, report: any): Row {
  const started = report ? Date.parse(report.startedAt) : run.programmedAt;
  return {
    pod: run.pod,
    node: run.node,
    trueDelay: Math.max(0, run.programmedAt - started) / 1000,
    reported: report?.outcome === 'ready' ? report.delaySeconds : null,
    lagMs: run.exitedAt - run.programmedAt,
    checks: report
      ? report.checks
          .map((c: any) => `${c.spec.replace(/^tcp:\/\/.*/, 'tcp')} ${c.readyAfterSeconds?.toFixed(3)} s`)
          .join(', ')
      : '',
    code: run.code,
  };
}
