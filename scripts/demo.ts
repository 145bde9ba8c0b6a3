// npm run demo: the whole system on one machine. The real collector (with its
// embedded store), simulated pods whose dataplanes are programmed a random delay
// after each agent's first look, `netready wait` in each reporting to the collector; then what each
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
import { createInterface } from 'node:readline';
import { createTestbed, preflight, SERVICES, type Pod, type ProgrammedAt, type Testbed } from '../test/e2e/testbed.ts';

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
  /** The rule letting the pod through took effect in trueFrom..trueDelay (s from the agent's start): nft's own run. */
  trueFrom: number;
  trueDelay: number;
  reported: number | null;
  /** Seconds from the agent's start to its first probe (its ready line); null if it never said. */
  firstLook: number | null;
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
    `${PODS} pods on ${Math.min(PODS, NODES.length)} nodes, each with its dataplane programmed a random 0.2 to ${MAX_DELAY_S} s after its agent's first look;`,
  );
  console.log(`netready wait in each, reporting to the collector at ${COLLECTOR_URL}.`);
  console.log(
    "Times from each agent's start; where nft took 10 ms or more to program a pod, the window in which the rule took effect, and the error against its nearest instant:\n",
  );
  const runs = await Promise.all(Array.from({ length: PODS }, (_, i) => runPod(bed, i)));
  const stored = await getJson(`/v1/reports?namespace=demo&limit=1000`);
  const reports = new Map<string, any>(stored.reports.map((s: any) => [s.report.pod.name, s.report]));
  const rows = runs.map((r) => toRow(r, reports.get(r.pod))).sort((a, b) => a.trueDelay - b.trueDelay);

  console.log('| pod | node | programmed after | netready reported | error | exit lag | per check |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const err = errorCell(r);
    const reported = r.reported === null ? `exit ${r.code}` : `${r.reported.toFixed(3)} s`;
    console.log(
      `| ${r.pod} | ${r.node} | ${truthCell(r)} | ${reported} | ${err} | ${r.lagMs.toFixed(1)} ms | ${r.checks} |`,
    );
  }
  const q = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
  const delays = rows.flatMap((r) => (r.reported === null ? [] : [r.reported]));
  const lags = rows.map((r) => r.lagMs);
  const late = rows.filter(lookedLate).map((r) => r.pod);
  console.log(`\nreported delay: p50 ${fmt(q(delays, 50))} s, p99 ${fmt(q(delays, 99))} s`);
  if (late.length > 0)
    console.log(
      `${late.join(', ')}: the agent first looked after its dataplane was programmed (a slow start-up), so it reported the 0 s it saw and no error is shown`,
    );
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

/**
 * The reported delay minus the truth; none when the agent first looked after its dataplane was
 * programmed: it then reports the 0 s it saw (the network never held it up once it looked), and
 * the difference would be its own start-up time, not a measuring error.
 */
function errorCell(r: Row): string {
  if (r.reported === null) return '';
  if (lookedLate(r)) return `none: first look at ${fmt(r.firstLook)} s, after programming`;
  // Against the nearest instant of the window in which the rule took effect.
  const nearest = Math.min(Math.max(r.reported, r.trueFrom), r.trueDelay);
  return `${((r.reported - nearest) * 1000).toFixed(1)} ms`;
}

/** When the dataplane was programmed; `nft` itself can take a second on a busy machine, and then the window is shown. */
function truthCell(r: Row): string {
  const window = r.trueDelay - r.trueFrom >= 0.01 ? `${fmt(r.trueFrom)}–` : '';
  return `${window}${fmt(r.trueDelay)} s`;
}

function lookedLate(r: Row): boolean {
  return r.firstLook !== null && r.firstLook > r.trueFrom;
}

interface PodRun {
  pod: string;
  node: string;
  programmed: ProgrammedAt;
  exitedAt: number;
  code: number | null;
  /** firstLookAfterSeconds from the agent's ready line. */
  firstLook: number | null;
}

/** One pod: start the agent, program the dataplane after a random delay, wait for the agent's exit. */
async function runPod(bed: Testbed, i: number): Promise<PodRun> {
  const pod: Pod = await bed.createPod({ blocked: true });
  const name = `demo-${i}`;
  const node = NODES[i % NODES.length]!;
  // Counted from the agent's start line, just before its first probe: the agents start from source,
  // several at once, which can take seconds, and a dataplane programmed before an agent's first
  // probe would make its reported delay 0 s and the comparison one of start-up times.
  const delayMs = 200 + Math.random() * Math.max(0, MAX_DELAY_S * 1000 - 200);
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
      stdio: ['ignore', 'pipe', 'ignore'],
      env: {
        PATH: process.env.PATH,
        NETREADY_POD_NAME: name,
        NETREADY_POD_NAMESPACE: 'demo',
        NETREADY_NODE_NAME: node,
        NETREADY_POD_IPS: pod.ipv4,
      },
    },
  );
  let firstLook: number | null = null;
  const started = Promise.withResolvers<void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: { msg?: unknown; firstLookAfterSeconds?: unknown };
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    if (line.msg === 'waiting for the pod network') started.resolve();
    if (typeof line.firstLookAfterSeconds === 'number') firstLook = line.firstLookAfterSeconds;
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: performance.timeOrigin + performance.now() })),
  );
  // An agent that fails before its start line is programmed anyway; its row shows the exit code.
  await Promise.race([started.promise, exited]);
  await new Promise((r) => setTimeout(r, delayMs));
  const programmed = await bed.program(pod);
  const { code, at } = await exited;
  // Its stdout may be read to the end only after 'exit'.
  if (child.stdout!.readable) await new Promise((r) => child.stdout!.once('close', r));
  return { pod: name, node, programmed, exitedAt: at, code, firstLook };
}

/** The table's row: the ground truth beside what the agent reported (as the collector stored it). */
function toRow(run: PodRun, report: any): Row {
  const started = report ? Date.parse(report.startedAt) : run.programmed.at;
  return {
    pod: run.pod,
    node: run.node,
    trueFrom: Math.max(0, run.programmed.before - started) / 1000,
    trueDelay: Math.max(0, run.programmed.at - started) / 1000,
    reported: report?.outcome === 'ready' ? report.delaySeconds : null,
    firstLook: run.firstLook,
    lagMs: run.exitedAt - run.programmed.at,
    checks: report
      ? report.checks
          .map((c: any) => `${c.spec.replace(/^tcp:\/\/.*/, 'tcp')} ${c.readyAfterSeconds?.toFixed(3)} s`)
          .join(', ')
      : '',
    code: run.code,
  };
}
