// bench/watch: what `netready watch` costs a pod for its whole life. One testbed pod (a network
// namespace laid out as Calico does, test/e2e/testbed.ts) whose network works; in it, the watch
// from the built bundle with the Node flags the webhook injects it with (src/webhook/container.ts),
// the default checks (gateway, dns, kubernetes)
// and a collector URL (so its HTTP client is loaded, as in a cluster), probing every 2 s. After a
// warm-up, over --seconds (60 by default): CPU (the scheduler's run time of every thread,
// /proc/PID/task/*/schedstat) per second of watching, then Private_Dirty and Rss (smaps_rollup).
// For comparison, in the same pod and the same way: the watch under the image ENTRYPOINT's flags
// (sized for the collector), a Node process that only runs a 2 s timer (`node -e`, the floor of
// any Node.js watch), and the watch with --optimize-for-size added, which trades CPU for memory.
// (Not --jitless or --lite-mode: both remove WebAssembly, so the watch could not report an
// outage through undici, whose HTTP parser is WebAssembly.) Needs root, iproute2, nftables and dnsmasq. Run alone:
//
//   flock /work/team/bench.lock node bench/watch.ts [--seconds 60] [--warmup-ms 5000] [--breakdown]
//
// --breakdown: instead, the watch with each default check alone, to see which one costs what.
// --bundle FILE (repeatable): instead, the watch from each given bundle (e.g. one built from an older
// commit with scripts/build.ts) and the floor, an A/B on the same pod in one run.
// --node-flags "FLAGS" (repeatable, with --bundle): each bundle once per set of Node flags given, in
// place of the webhook's (WATCH_NODE_FLAGS), to A/B flags in one run; "" for none.
// --node-env "NAME=VALUE ...": instead of the environment the webhook gives the runtime (INJECTED_ENV,
// src/webhook/container.ts), which every process here gets by default; "" for none (an A/B).
// --probe: while measuring, GET /readyz on the pod IP from the host every 2 s on a new connection,
// as kubelet's readinessProbe does (the webhook's period, on a fixed grid as kubelet's ticker, not
// re-armed after each probe), so its cost to the watch is counted.
// Besides CPU and memory, wake-ups per second: the voluntary context switches of all its threads
// (each a sleep ended by a timer, a socket or another thread), the unit a sleeping program pays in.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTestbed, SERVICES, type Pod } from '../test/e2e/testbed.ts';
import { names } from '../test/e2e/testbed-host.ts';
import { benchNodeEnv, imageNodeFlags } from '../test/helpers/image.ts';
import { WATCH_NODE_FLAGS, WATCH_PROBE_PERIOD_SECONDS } from '../src/webhook/container.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    'warmup-ms': { type: 'string', default: '5000' },
    breakdown: { type: 'boolean', default: false },
    bundle: { type: 'string', multiple: true, default: [] },
    probe: { type: 'boolean', default: false },
    'node-env': { type: 'string' },
    'node-flags': { type: 'string', multiple: true },
  },
});
/** The runtime's environment, as the webhook injects it unless --node-env says otherwise. */
const NODE_ENV = benchNodeEnv(values['node-env']);
const SECONDS = Number(values.seconds);
const WARMUP_MS = Number(values['warmup-ms']);
if (!(SECONDS >= 10) || !(WARMUP_MS >= 1000)) {
  console.error('usage: node bench/watch.ts [--seconds >=10] [--warmup-ms >=1000]');
  process.exit(2);
}

/** The watch's port; --probe reads /readyz on it from the host, as kubelet does from the node. */
const PORT = 9471;
/** The webhook's readinessProbe periodSeconds. */
const PROBE_EVERY_MS = WATCH_PROBE_PERIOD_SECONDS * 1000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const API = SERVICES.api.v4;
/** The image's ENTRYPOINT flags (image/Containerfile), which the collector runs with. */
const IMAGE_FLAGS = imageNodeFlags();

/**
 * CPU time of a process, all its threads, in ms: the scheduler's own account (schedstat, ns),
 * not utime+stime, which are charged in 10 ms ticks and so, for a process that wakes for ~1 ms
 * every 2 s, count only the few wake-ups a tick happens to land in (±30 % over 60 s).
 */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`))
    ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}

/** Voluntary context switches of a process, all its threads: how often one of them slept and woke again. */
function wakeUps(pid: number): number {
  let n = 0;
  for (const task of readdirSync(`/proc/${pid}/task`))
    n += Number(
      /^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8'))?.[1],
    );
  return n;
}

/** Calls `fn` every `periodMs` on a fixed grid from now, as Go's time.Ticker in kubelet's prober; returns the stop. */
function ticker(periodMs: number, fn: () => void): () => void {
  const start = performance.now();
  let n = 0;
  let timer: NodeJS.Timeout;
  const arm = () => {
    timer = setTimeout(
      () => {
        fn();
        arm();
      },
      start + ++n * periodMs - performance.now(),
    );
  };
  arm();
  return () => clearTimeout(timer);
}

function kib(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

interface Variant {
  readonly name: string;
  readonly argv: (bundle: string) => string[];
}

const WATCH = (bundle: string, flags: string[]) => [
  process.execPath,
  ...flags,
  bundle,
  'watch',
  // As the webhook renders it: `[::]` takes both families (IPv4 probes arrive as mapped addresses).
  `--listen=[::]:${PORT}`,
  '--collector',
  `http://${SERVICES.collector.v4}:9470`,
];
const INJECTED = [...WATCH_NODE_FLAGS];
const VARIANTS: Variant[] = [
  { name: `netready watch, as injected (${INJECTED.join(' ')})`, argv: (b) => WATCH(b, INJECTED) },
  { name: `netready watch, image flags (${IMAGE_FLAGS.join(' ')})`, argv: (b) => WATCH(b, IMAGE_FLAGS) },
  {
    name: 'Node floor: a 2 s timer (node -e), as injected',
    argv: () => [process.execPath, ...INJECTED, '-e', 'setInterval(() => {}, 2000)'],
  },
  {
    name: 'netready watch, as injected + --optimize-for-size',
    argv: (b) => WATCH(b, [...INJECTED, '--optimize-for-size']),
  },
];

const ONE_CHECK = (check: string): Variant => ({
  name: `netready watch, --check ${check} only, as injected`,
  argv: (b) => [...WATCH(b, INJECTED), '--check', check],
});
const FLOOR = VARIANTS.find((v) => v.name.startsWith('Node floor'))!;
const FLAG_SETS = (values['node-flags'] ?? [INJECTED.join(' ')]).map((f) => f.split(' ').filter(Boolean));
const BUNDLES: Variant[] = values.bundle.flatMap((file) =>
  FLAG_SETS.map((flags) => ({
    name: `netready watch from ${file}, ${values['node-flags'] ? `flags ${flags.join(' ') || '(none)'}` : 'as injected'}`,
    argv: () => WATCH(file, flags),
  })),
);
const RUN = values.breakdown
  ? ['gateway', 'dns', 'kubernetes'].map(ONE_CHECK)
  : BUNDLES.length > 0
    ? [...BUNDLES, FLOOR]
    : VARIANTS;

/** kubelet's httpGet probe: a new connection per probe (kubelet disables keep-alive); resolves with the status, 0 for none. */
function probeOnce(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume().once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

const loadBefore = loadavg();
console.error('bench/watch: waiting for the testbed (another e2e run may hold it)…');
const bed = await createTestbed();
const rows: {
  name: string;
  cpuMsPerS: number;
  wakeUpsPerS: number;
  privateDirtyMiB: number;
  rssMiB: number;
  rounds: number;
}[] = [];
let child: ChildProcess | undefined;
try {
  const bundleDir = join(names(bed.prefix).tmpDir, 'dist');
  execFileSync(process.execPath, ['scripts/build.ts', bundleDir], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const bundle = join(bundleDir, 'netready.mjs');
  await bed.listenTcp(API, 443);
  await bed.listenHttp(SERVICES.collector.v4, 9470, (req, res) =>
    req.resume().on('end', () => res.writeHead(202).end()),
  );
  const pod: Pod = await bed.createPod();
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    KUBERNETES_SERVICE_HOST: API,
    KUBERNETES_SERVICE_PORT: '443',
    NETREADY_POD_NAME: 'bench',
    NETREADY_NODE_NAME: 'bench',
    ...NODE_ENV,
  };
  for (const v of RUN) {
    let output = '';
    child = bed.podExec(pod, v.argv(bundle), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await sleep(WARMUP_MS);
    const pid = child.pid!;
    const start = { at: performance.now(), cpu: cpuMs(pid), wakeUps: wakeUps(pid) };
    const probes: number[] = [];
    const stopProbing = values.probe
      ? ticker(PROBE_EVERY_MS, () => void probeOnce(`http://${pod.ipv4}:${PORT}/readyz`).then((s) => probes.push(s)))
      : () => {};
    await sleep(SECONDS * 1000);
    stopProbing();
    const end = { at: performance.now(), cpu: cpuMs(pid), wakeUps: wakeUps(pid) };
    if (values.probe && !v.name.startsWith('Node floor') && !probes.every((s) => s === 200))
      throw new Error(`${v.name}: a probe did not answer 200: ${probes.join(' ')}`);
    const privateDirtyMiB = kib(pid, 'Private_Dirty') / 1024;
    const rssMiB = kib(pid, 'Rss') / 1024;
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('close', r));
    if (/network lost/.test(output))
      throw new Error(`${v.name}: the pod's network was lost during the bench:\n${output}`);
    rows.push({
      name: v.name,
      cpuMsPerS: (end.cpu - start.cpu) / ((end.at - start.at) / 1000),
      wakeUpsPerS: (end.wakeUps - start.wakeUps) / ((end.at - start.at) / 1000),
      privateDirtyMiB,
      rssMiB,
      rounds: Math.round((end.at - start.at) / 2000),
    });
    console.error(
      `bench/watch: ${v.name}: ${rows.at(-1)!.cpuMsPerS.toFixed(2)} ms/s, ${rows.at(-1)!.wakeUpsPerS.toFixed(2)} wake-ups/s, Private_Dirty ${privateDirtyMiB.toFixed(1)} MiB`,
    );
  }
} finally {
  child?.kill('SIGKILL');
  await bed.close();
}

const lines = [
  `bench/watch: ${SECONDS} s after a ${WARMUP_MS} ms warm-up, one testbed pod, checks gateway, dns, kubernetes every 2 s, collector URL set${values.probe ? `, GET /readyz from the host every ${PROBE_EVERY_MS / 1000} s` : ''}; environment: ${
    Object.entries(NODE_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || '(none)'
  }`,
  `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), kernel ${release()}, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} after`,
  '',
  '| process | CPU ms/s | wake-ups/s | Private_Dirty MiB | Rss MiB |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.cpuMsPerS.toFixed(2)} | ${r.wakeUpsPerS.toFixed(2)} | ${r.privateDirtyMiB.toFixed(1)} | ${r.rssMiB.toFixed(1)} |`,
  ),
];
console.log(lines.join('\n'));
