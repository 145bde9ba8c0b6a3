// bench/burst: N pods on one node (30 by default), each a testbed network namespace laid out as
// Calico does (test/e2e/testbed.ts), all blocked by the testbed's nftables drop, then all let
// through in ONE nftables transaction (Felix catching up after a Typha resync). In every pod, side
// by side: `netready wait` from the built bundle with the Node flags the webhook injects it with, `wait-for-it -t 0`
// and a busybox loop (see bench/lag.ts for what those two do), all on SERVICES.api.v4:443.
// Rounds, on the same pods (blocked again between rounds):
//   default     netready's default checks (gateway, dns, kubernetes), no collector
//   tcp         netready with a single tcp:// check, no collector
//   collector   the default checks, each agent delivering its report to a stub collector in this
//               process (it notes when each request came and was answered)
//   collector-real  the same, to `netready collector` from the bundle, in its own process on this
//               machine (SQLite store in the testbed's temp dir); copies counted from its /metrics
// Per waiter: detection lag (its exit minus the transaction's end, and minus its start: the
// rules took effect somewhere between, and `nft` itself takes 5 ms on a quiet machine but
// several hundred on a busy one), CPU per second of waiting (between 2 s after the last spawn and
// the programming instant: the scheduler's run time of every thread, /proc/PID/task/*/schedstat in
// ns, plus the reaped children's cutime+cstime in 10 ms ticks for the shell loops' nc and sleep),
// Private_Dirty (smaps_rollup) just before the programming, and netready's peak RSS (VmHWM, read
// every 10 ms until exit) with how far the largest stays under the memory limit the webhook gives
// the container by default. --node-flags replaces the webhook's Node flags (an A/B, e.g.
// "--max-semi-space-size=16", the image ENTRYPOINT's), --node-env the environment it gives the
// runtime (INJECTED_ENV, e.g. MALLOC_ARENA_MAX=1; "" for none). Needs root, iproute2, nftables, dnsmasq,
// wait-for-it and busybox. Run alone:
//
//   flock /work/team/bench.lock node bench/burst.ts [--pods N] [--wait-ms MS] [--rounds default,tcp,collector]
//     [--bundle DIST/netready.mjs]… [--tools netready,wait-for-it,busybox]
//     [--node-flags "..."] [--node-env "NAME=VALUE ..."]
//
// Without --bundle the agent is built from this tree; with one or more, each round runs once per
// bundle given, in the order given, on the same pods (an A/B in one run). --tools leaves the
// references out (netready alone: what the agents cost each other, without the 60 other waiters).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTestbed, SERVICES, type Pod, type ProgrammedAt } from '../test/e2e/testbed.ts';
import { names, now, which } from '../test/e2e/testbed-host.ts';
import { benchNodeEnv, imageNodeFlags } from '../test/helpers/image.ts';
import { INJECTED_NODE_FLAGS } from '../src/webhook/container.ts';
import { WEBHOOK_OPTIONS } from '../src/webhook/options.ts';
import { quantityValue } from '../src/webhook/quantity.ts';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '30' },
    'wait-ms': { type: 'string', default: '6000' },
    rounds: { type: 'string', default: 'default,tcp,collector' },
    bundle: { type: 'string', multiple: true },
    tools: { type: 'string', default: 'netready,wait-for-it,busybox' },
    'node-flags': { type: 'string' },
    'node-env': { type: 'string' },
  },
});
const PODS = Number(values.pods);
const WAIT_MS = Number(values['wait-ms']);
const ROUNDS = values.rounds.split(',') as Round[];
const TOOLS = values.tools.split(',') as Tool[];
if (
  !(PODS >= 1 && PODS <= 150) ||
  !(WAIT_MS >= 3000) ||
  ROUNDS.some((r) => !['default', 'tcp', 'collector', 'collector-real'].includes(r)) ||
  !TOOLS.includes('netready') ||
  TOOLS.some((t) => !['netready', 'wait-for-it', 'busybox'].includes(t))
) {
  console.error(
    'usage: node bench/burst.ts [--pods 1-150] [--wait-ms >=3000] [--rounds default,tcp,collector,collector-real] [--bundle FILE]… [--tools netready,…]',
  );
  process.exit(2);
}

type Round = 'default' | 'tcp' | 'collector' | 'collector-real';
type Tool = 'netready' | 'wait-for-it' | 'busybox';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const API = SERVICES.api.v4;
const COLLECTOR_PORT = 9470;
/** Where `netready collector` listens in the collector-real round. */
const REAL_COLLECTOR_PORT = 9471;
/** Node's flags in the injected netready-wait container's `command` (the webhook's, src/webhook/container.ts). */
const NODE_FLAGS =
  values['node-flags'] === undefined ? INJECTED_NODE_FLAGS : values['node-flags'].split(' ').filter(Boolean);
/** The environment the webhook gives the injected container's runtime (src/webhook/container.ts), beside netready's own. */
const NODE_ENV = benchNodeEnv(values['node-env']);
/** The memory limit the webhook gives the injected container by default, in MiB. */
const LIMIT_MIB = quantityValue(WEBHOOK_OPTIONS['memory-limit'].default)! / 2 ** 20;
const CLK_TCK_MS = 10;
/** When the CPU window starts, after the last waiter was spawned. */
const BASELINE_MS = 2000;

function command(tool: Tool, round: Round, bundle: string): string[] {
  if (tool === 'wait-for-it') return ['wait-for-it', '-h', API, '-p', '443', '-t', '0'];
  if (tool === 'busybox') return ['sh', '-c', `until busybox nc -w 1 ${API} 443 </dev/null; do sleep 1; done`];
  const base = [process.execPath, ...NODE_FLAGS, bundle, 'wait', '--termination-log', '', '--timeout', '120s'];
  if (round === 'tcp') return [...base, '--check', `tcp://${API}:443`];
  if (round === 'collector') return [...base, '--collector', `http://${SERVICES.collector.v4}:${COLLECTOR_PORT}`];
  if (round === 'collector-real')
    return [...base, '--collector', `http://${SERVICES.collector.v4}:${REAL_COLLECTOR_PORT}`];
  return base;
}

interface Waiter {
  readonly tool: Tool;
  readonly pod: Pod;
  child?: ChildProcess;
  spawnedAt: number;
  exitedAt?: number;
  code?: number | null;
  cpuAt1s?: { at: number; ms: number };
  cpuAtProgram?: { at: number; ms: number };
  privateDirtyKiB?: number;
  peakRssKiB?: number;
  output: string;
  /** netready with a collector: every request the stub took for this pod (a retried delivery sends more than one). */
  requests: { arrivedAt: number; answeredAt: number }[];
}

/**
 * CPU time of a process in ms, null once it is gone: the scheduler's own account of its threads
 * (schedstat, ns; utime+stime come in 10 ms ticks, too coarse for an agent that costs a few ms per
 * second over 4 s), plus its reaped children's cutime+cstime (ticks: the shell loops' nc and sleep).
 */
function cpuMs(pid: number): number | null {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ns / 1e6 + (Number(f[13]) + Number(f[14])) * CLK_TCK_MS;
  } catch {
    return null;
  }
}

function kib(path: string, key: string): number | null {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(path, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');

for (const tool of ['wait-for-it', 'busybox', 'sh']) {
  if (!which(tool)) {
    console.error(`bench/burst: missing ${tool} (apt-get install wait-for-it busybox)`);
    process.exit(1);
  }
}

const loadBefore = loadavg();
const results: { round: string; programmed: ProgrammedAt; waiters: Waiter[]; reports: number }[] = [];
console.error('bench/burst: waiting for the testbed (another e2e run may hold it)…');
const bed = await createTestbed();
const live = new Set<ChildProcess>();
try {
  let bundles = values.bundle ?? [];
  if (bundles.length === 0) {
    const bundleDir = join(names(bed.prefix).tmpDir, 'dist');
    execFileSync(process.execPath, ['scripts/build.ts', bundleDir], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    bundles = [join(bundleDir, 'netready.mjs')];
  }
  await bed.listenTcp(API, 443);
  let reports = 0;
  let current: Waiter[] = [];
  // A stub, not the collector: it reads the body, answers 202 and notes when, by the report's pod
  // name; it validates and stores nothing, so each request costs it less than the collector's
  // ingest would (see BENCHMARKS.md). It runs in this process, on the same 2 cores.
  await bed.listenHttp(SERVICES.collector.v4, COLLECTOR_PORT, (req, res) => {
    const arrivedAt = now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      reports++;
      res.writeHead(202).end();
      let pod: unknown;
      try {
        pod = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { pod?: { name?: unknown } }).pod?.name;
      } catch {}
      const w = current.find((x) => x.tool === 'netready' && x.pod.name === pod);
      w?.requests.push({ arrivedAt, answeredAt: now() });
    });
  });
  const realCollector = ROUNDS.includes('collector-real')
    ? await startCollector(bundles[0]!, join(names(bed.prefix).tmpDir, 'collector.db'))
    : null;
  if (realCollector) live.add(realCollector);
  const pods: Pod[] = [];
  for (let i = 0; i < PODS; i++) pods.push(await bed.createPod({ blocked: true }));

  const runs = ROUNDS.flatMap((round) => bundles.map((bundle) => ({ round, bundle })));
  for (const [i, { round, bundle }] of runs.entries()) {
    const name = values.bundle ? `${round} (${bundle})` : round;
    if (i > 0) for (const pod of pods) await bed.block(pod);
    reports = 0;
    const postsBefore = round === 'collector-real' ? await collectorPosts() : 0;
    const waiters: Waiter[] = [];
    current = waiters;
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      KUBERNETES_SERVICE_HOST: API,
      KUBERNETES_SERVICE_PORT: '443',
    };
    const exits: Promise<void>[] = [];
    for (const pod of pods) {
      for (const tool of TOOLS) {
        const w: Waiter = { tool, pod, spawnedAt: now(), output: '', requests: [] };
        const child = bed.podExec(pod, command(tool, round, bundle), {
          env: tool === 'netready' ? { ...env, ...NODE_ENV, NETREADY_POD_NAME: pod.name } : env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        w.child = child;
        live.add(child);
        const keep = (chunk: string) => {
          w.output = (w.output + chunk).slice(-4096);
        };
        child.stdout!.setEncoding('utf8').on('data', keep);
        child.stderr!.setEncoding('utf8').on('data', keep);
        exits.push(
          new Promise((resolve) => {
            child.once('exit', (code) => {
              w.exitedAt = now();
              w.code = code;
            });
            child.once('close', () => {
              live.delete(child);
              resolve();
            });
          }),
        );
        waiters.push(w);
      }
    }
    const lastSpawn = now();
    // Peak RSS: VmHWM (a high-water mark) every 10 ms from now until each waiter exits.
    const poll = setInterval(() => {
      for (const w of waiters) {
        if (w.exitedAt !== undefined || w.tool !== 'netready') continue;
        const hwm = kib(`/proc/${w.child!.pid}/status`, 'VmHWM');
        if (hwm !== null) w.peakRssKiB = hwm;
      }
    }, 10);
    // CPU baseline BASELINE_MS after the last waiter started: start-up excluded, even on a busy
    // machine where 90 processes starting at once take more than a second to get going.
    await sleep(BASELINE_MS);
    for (const w of waiters) {
      const ms = cpuMs(w.child!.pid!);
      if (ms !== null) w.cpuAt1s = { at: now(), ms };
    }
    await sleep(Math.max(0, lastSpawn + WAIT_MS - now()));
    for (const w of waiters) {
      const ms = cpuMs(w.child!.pid!);
      if (ms !== null) w.cpuAtProgram = { at: now(), ms };
      w.privateDirtyKiB = kib(`/proc/${w.child!.pid}/smaps_rollup`, 'Private_Dirty') ?? undefined;
    }
    const programmed = await bed.programAll(pods);
    const guard = setTimeout(() => {
      for (const child of live) killGroup(child);
    }, 60_000);
    await Promise.all(exits);
    clearInterval(poll);
    clearTimeout(guard);
    if (round === 'collector-real') reports = (await collectorPosts()) - postsBefore;
    results.push({ round: name, programmed, waiters, reports });
    console.error(`bench/burst: round ${name} done (transaction ${f1(programmed.at - programmed.before)} ms)`);
  }
} finally {
  for (const child of live) killGroup(child);
  await bed.close();
}

const lines: string[] = [];
lines.push(
  `${PODS} pods, waiting ${WAIT_MS} ms blocked, then programmed in one nftables transaction; netready's Node flags: ${NODE_FLAGS.join(' ') || '(none)'}, environment: ${
    Object.entries(NODE_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || '(none)'
  }; memory limit ${LIMIT_MIB} MiB. ${cpus().length} cores, Linux ${release()}; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} after.`,
);
lines.push('');
lines.push(
  '| round | nft transaction ms | waiter | ok | lag p50 ms | lag p99 ms | lag max ms | lag from the transaction start, p50 | p99 | CPU ms/s per pod while waiting, mean | p99 | Private_Dirty MiB, mean | max | peak RSS MiB, mean | max | max, % under the limit |',
);
lines.push(
  '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
);
let failed = false;
for (const { round, programmed, waiters, reports } of results) {
  for (const tool of TOOLS) {
    const ws = waiters.filter((w) => w.tool === tool);
    const ok = ws.filter((w) => w.code === 0 && w.exitedAt !== undefined);
    if (ok.length < ws.length) failed = true;
    const lags = ok.map((w) => w.exitedAt! - programmed.at);
    const lagsBefore = ok.map((w) => w.exitedAt! - programmed.before);
    const cpu = ws
      .filter((w) => w.cpuAt1s && w.cpuAtProgram)
      .map((w) => (w.cpuAtProgram!.ms - w.cpuAt1s!.ms) / ((w.cpuAtProgram!.at - w.cpuAt1s!.at) / 1000));
    const pd = ws.flatMap((w) => (w.privateDirtyKiB === undefined ? [] : [w.privateDirtyKiB / 1024]));
    const rss = ws.flatMap((w) => (w.peakRssKiB === undefined ? [] : [w.peakRssKiB / 1024]));
    const collector = round.startsWith('collector');
    const label = tool === 'netready' ? `netready (${round}${collector ? `, ${reports} reports` : ''})` : tool;
    lines.push(
      `| ${round} | ${f1(programmed.at - programmed.before)} | ${label} | ${ok.length}/${ws.length} | ${f1(pct(lags, 50))} | ${f1(pct(lags, 99))} | ${f1(Math.max(...lags))} | ${f1(pct(lagsBefore, 50))} | ${f1(pct(lagsBefore, 99))} | ${f1(mean(cpu))} | ${f1(pct(cpu, 99))} | ${f1(mean(pd))} | ${f1(Math.max(...pd))} | ${f1(mean(rss))} | ${f1(Math.max(...rss))} | ${tool === 'netready' ? f1(100 * (1 - Math.max(...rss) / LIMIT_MIB)) : '–'} |`,
    );
  }
}
lines.push('');
lines.push(
  'netready\'s lag split at its "network ready" log line (its `time`, the agent\'s wall clock in whole ms) and, with a collector, at the stub; p50 / p99 over the agents that exited 0:',
);
lines.push('');
lines.push(
  '| round | transaction end → ready line | ready line → exit | ready line → first request at the stub | stub: request → answer | last answer → exit | requests per agent, mean (max) | agents sending more than one | attempts per agent (its log), max | agents whose log says not delivered | "report delivered" line → exit |',
);
lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const { round, programmed, waiters } of results) {
  const ok = waiters.filter((w) => w.tool === 'netready' && w.code === 0 && w.exitedAt !== undefined);
  const split = ok.map((w) => {
    const ready = logLine(w.output, (l) => typeof l.detectedAfterSeconds === 'number');
    const delivered = logLine(w.output, (l) => l.msg === 'report delivered');
    const notDelivered = logLine(
      w.output,
      (l) => typeof l.msg === 'string' && l.msg.startsWith('report not delivered'),
    );
    const readyAt = typeof ready?.time === 'string' ? Date.parse(ready.time) : NaN;
    const answered = w.requests.filter((r) => r.answeredAt <= w.exitedAt!);
    return {
      toReady: readyAt - programmed.at,
      readyToExit: w.exitedAt! - readyAt,
      toStub: w.requests.length ? w.requests[0]!.arrivedAt - readyAt : NaN,
      stub: w.requests.length ? w.requests[0]!.answeredAt - w.requests[0]!.arrivedAt : NaN,
      afterAnswer: answered.length ? w.exitedAt! - answered.at(-1)!.answeredAt : NaN,
      requests: w.requests.length,
      attempts: (delivered ?? notDelivered)?.attempts as number,
      notDelivered: notDelivered !== undefined,
      // The agent's last line to its exit as the bench sees it: process exit and the bench's own delay.
      deliveredToExit: typeof delivered?.time === 'string' ? w.exitedAt! - Date.parse(delivered.time) : NaN,
    };
  });
  const col = (k: 'toReady' | 'readyToExit' | 'toStub' | 'stub' | 'afterAnswer' | 'deliveredToExit') => {
    const xs = split.map((x) => x[k]).filter(Number.isFinite);
    return xs.length ? `${f1(pct(xs, 50))} / ${f1(pct(xs, 99))}` : '–';
  };
  const requests = split.map((x) => x.requests);
  const stub = round.startsWith('collector') && !round.startsWith('collector-real');
  const stubCells = stub
    ? `${col('toStub')} | ${col('stub')} | ${col('afterAnswer')} | ${f1(mean(requests))} (${Math.max(...requests)}) | ${requests.filter((n) => n > 1).length}`
    : '– | – | – | – | –';
  const attempts = Math.max(...split.map((x) => x.attempts).filter(Number.isFinite));
  const reported = round.startsWith('collector');
  lines.push(
    `| ${round} | ${col('toReady')} | ${col('readyToExit')} | ${stubCells} | ${Number.isFinite(attempts) ? attempts : '–'} | ${reported ? split.filter((x) => x.notDelivered).length : '–'} | ${col('deliveredToExit')} |`,
  );
}
console.log(lines.join('\n'));
for (const { round, waiters } of results) {
  for (const w of waiters.filter((x) => x.code !== 0))
    console.error(`bench/burst: ${round} ${w.tool} in ${w.pod.name} exited ${w.code}: ${w.output.slice(-400)}`);
}
if (failed) process.exitCode = 1;

/** Starts `netready collector` from `bundle` on the host side and resolves once it listens. */
async function startCollector(bundle: string, db: string): Promise<ChildProcess> {
  const listen = `${SERVICES.collector.v4}:${REAL_COLLECTOR_PORT}`;
  const child = spawn(process.execPath, [...imageNodeFlags(), bundle, 'collector', '--listen', listen, '--db', db], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`netready collector exited ${code}: ${out.slice(-400)}`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out = (out + d).slice(-4096);
      if (out.includes('"collector listening"')) resolve();
    });
  });
  return child;
}

/** POSTs the collector took: stored, duplicates and rejected, from its /metrics. */
async function collectorPosts(): Promise<number> {
  const text = await (await fetch(`http://${SERVICES.collector.v4}:${REAL_COLLECTOR_PORT}/metrics`)).text();
  let n = 0;
  for (const name of ['netready_reports_total', 'netready_reports_duplicate_total', 'netready_reports_rejected_total'])
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))) n += Number(m[1]);
  return n;
}

/** The last JSON log line of an agent's output that `match` accepts (lines cut by the tail buffer are skipped). */
function logLine(
  output: string,
  match: (line: Record<string, unknown>) => boolean,
): Record<string, unknown> | undefined {
  let found: Record<string, unknown> | undefined;
  for (const text of output.split('\n')) {
    try {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (match(line)) found = line;
    } catch {}
  }
  return found;
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
