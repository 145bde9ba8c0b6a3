// bench/lag: how late each waiter notices that a pod's network started working, side by side in one
// run. Pods of the e2e testbed (test/e2e/testbed.ts) start with their dataplane "not programmed"
// (SYNs dropped, as before Calico's Felix programs the endpoint); each is programmed a chosen delay
// after its waiter started, from 0.1 s to ~60 s. Waiters, each in its own pod, all on a TCP listener
// at SERVICES.api.v4:443:
//   - `netready wait` from the built bundle with the Node flags the webhook injects, reporting to a collector stub;
//   - `wait-for-it -t 0` (Debian's package: bash `/dev/tcp`, a blocking connect, then `sleep 1`).
//     Its lag is the kernel's SYN retransmit schedule. Measured on this machine's kernel, whose
//     net.ipv4.tcp_syn_linear_timeouts=4 keeps the first retransmits 1 s apart: a dropped SYN is
//     resent at ~1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s, and connect() gives up only after ~130 s,
//     tcp_syn_retries=6 notwithstanding (the limit is a time, computed as if backoff doubled);
//   - a busybox loop: Debian's busybox nc has no -z, so `</dev/null` stands in for it, and its -w
//     is a connect timeout (it exits 1 with "nc: timed out"), so it tries every ~2 s.
// All waiters of one delay start together; delays run concurrently, staggered (staggerStarts) so
// that no pod is programmed while another delay's waiters start up.
// Detection lag = the waiter's exit (its 'exit' event here) minus the instant its pod was programmed.
// Prints markdown tables and the targets met or MISSED; exits 1 only if a tool never ran properly.
// Needs root, iproute2, nftables, dnsmasq, wait-for-it and busybox.
//
//   sudo node bench/lag.ts [--quick]
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { reportSchema } from '../src/lib/report.ts';
import { INJECTED_NODE_FLAGS, injectedProcessEnv } from '../src/webhook/container.ts';
import { createTestbed, SERVICES, type Pod, type Testbed } from '../test/e2e/testbed.ts';
import { names, now, which } from '../test/e2e/testbed-host.ts';
import { fmtMs, outcome, renderResults, staggerStarts, type RunRecord, type ToolName } from './lag-report.ts';

const args = process.argv.slice(2);
if (args.some((a) => a !== '--quick')) {
  console.error('usage: node bench/lag.ts [--quick]');
  process.exit(2);
}
const QUICK = args.includes('--quick');

/**
 * Delays from the waiters' start to programming their pods, 0.1 s to ~60 s. Off the whole and even
 * seconds on purpose: wait-for-it's SYN retransmits come ~1 s apart at first, and the busybox loop
 * tries every ~2 s, so whole-second delays would catch both at their best case (lag ≈ 0) every
 * time instead of at a typical phase.
 */
const DELAYS_S = QUICK ? [0.1, 0.7, 2.5] : [0.1, 0.3, 0.7, 1.5, 2.5, 5.5, 10.5, 20.5, 30.5, 45.5, 59.5];
/** Waiters per tool and delay, each in its own pod: 99 pods in all, half the testbed's limit. */
const REPS = QUICK ? 2 : 3;
/** Time between programming one netready pod of a delay and the next. */
const NETREADY_SPACING_MS = 150;
/** Least time between one group's start or programming and another's (see staggerStarts). */
const GAP_MS = 500;
/**
 * No group is programmed within this long after another group's start (see staggerStarts): 9
 * waiters starting at once, 3 of them Node, keep this 2-core machine busy for ~1-2 s when it is
 * slow (`node -e 0` 110-135 ms), and a pod programmed meanwhile measured their start-up (and an
 * `nft` run of 200 ms+), not its own agent.
 */
const STARTUP_MS = 2500;
/** Every waiter is SIGKILLed this long after its pod was due to be programmed. */
const GUARD_MS = QUICK ? 30_000 : 75_000;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const API = SERVICES.api.v4;
const COLLECTOR_PORT = 9470;

/** Each waiter as the argv run inside its pod; netready with the Node flags the webhook injects. */
const COMMANDS: Readonly<Record<ToolName, (bundle: string) => string[]>> = {
  netready: (bundle) => [
    process.execPath,
    ...INJECTED_NODE_FLAGS,
    bundle,
    'wait',
    '--check',
    `tcp://${API}:443`,
    '--collector',
    `http://${SERVICES.collector.v4}:${COLLECTOR_PORT}`,
    '--termination-log',
    '',
    '--timeout',
    '120s',
  ],
  'wait-for-it': () => ['wait-for-it', '-h', API, '-p', '443', '-t', '0'],
  busybox: () => ['sh', '-c', `until busybox nc -w 1 ${API} 443 </dev/null; do sleep 1; done`],
};
const TOOLS = Object.keys(COMMANDS) as ToolName[];

const missing = ['wait-for-it', 'busybox', 'sh', 'sleep'].filter((tool) => !which(tool));
if (missing.length) {
  console.error(`bench/lag: missing ${missing.join(', ')} (apt-get install wait-for-it busybox)`);
  process.exit(1);
}

const runs: (RunRecord & { readonly pod: Pod })[] = [];
const badReports: string[] = [];
const live = new Set<ChildProcess>();
const loadBefore = loadavg();
let cpu: ReturnType<typeof sampleCpu> | undefined;
let podTcp = '';
/** Aborted once the run ends, so that groups still sleeping after another one failed start nothing more. */
const ending = new AbortController();

console.error('bench/lag: waiting for the testbed (another e2e run may hold it)…');
const bed = await createTestbed();
try {
  // Built into the testbed's own temporary directory, which teardown removes on every exit path
  // (signals included), and not into dist/: other work on this machine rebuilds dist/ at any time.
  const bundleDir = join(names(bed.prefix).tmpDir, 'dist');
  execFileSync(process.execPath, ['scripts/build.ts', bundleDir], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const bundle = join(bundleDir, 'netready.mjs');

  await bed.listenTcp(API, 443);
  await bed.listenHttp(SERVICES.collector.v4, COLLECTOR_PORT, (req, res) => {
    const arrivedAt = now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const parsed = reportSchema.safeParse(body);
      if (!parsed.success) {
        badReports.push(parsed.error.message.slice(0, 300));
        res.writeHead(400).end('invalid report');
        return;
      }
      res.writeHead(202).end();
      const run = runs.find((r) => r.tag === parsed.data.pod.name);
      if (run) run.delivery = { report: parsed.data, arrivedAt, answeredAt: now() };
    });
  });

  const podsFrom = now();
  for (const delayS of DELAYS_S) {
    for (const tool of TOOLS) {
      for (let rep = 0; rep < REPS; rep++) {
        const pod = await bed.createPod({ blocked: true });
        runs.push({
          tool,
          delayMs: delayS * 1000,
          rep,
          pod,
          tag: `lag-${delayS}s-${tool}-${rep}`,
          killedByGuard: false,
          output: '',
        });
      }
    }
  }
  const sysctls = await bed.podRun(
    runs[0]!.pod,
    ['sh', '-c', 'cd /proc/sys/net/ipv4 && grep -H . tcp_syn_retries tcp_syn_linear_timeouts'],
    { timeoutMs: 5000 },
  );
  podTcp = sysctls.stdout.trim().replaceAll(':', '=').split('\n').join(', ');
  console.error(
    `bench/lag: ${runs.length} pods in ${fmtMs(now() - podsFrom)}; delays ${DELAYS_S.join(', ')} s; ${REPS} of each waiter per delay`,
  );

  const offsets = staggerStarts(
    DELAYS_S.map((s) => s * 1000),
    GAP_MS,
    STARTUP_MS,
  );
  cpu = sampleCpu();
  const t0 = now() + 500;
  await Promise.all(
    DELAYS_S.map(async (delayS, i) => {
      const group = runs.filter((r) => r.delayMs === delayS * 1000);
      await sleepUntil(t0 + offsets[i]!, ending.signal);
      const startedAt = now();
      const exits = group.map((run) => spawnWaiter(bed, run, bundle));
      await sleepUntil(startedAt + delayS * 1000, ending.signal);
      // One after another (~5 ms each): nft runs in parallel would widen every pod's before..at,
      // the uncertainty of the ground truth. netready's pods last, so that the bench's own nft
      // processes do not compete with the agents' report delivery and exit for the 2 cores, and
      // 150 ms apart: each agent's lag is measured on its own, as on a node where one pod's
      // dataplane is programmed at a time, not as a herd of agents sharing 2 cores at one instant.
      const order = [...group.filter((r) => r.tool !== 'netready'), ...group.filter((r) => r.tool === 'netready')];
      for (const run of order) {
        ending.signal.throwIfAborted();
        run.programmed = await bed.program(run.pod);
        if (run.tool === 'netready') await sleepUntil(now() + NETREADY_SPACING_MS, ending.signal);
      }
      await Promise.all(exits);
    }),
  );
} finally {
  ending.abort();
  for (const child of live) killGroup(child);
  cpu?.stop();
  await bed.close();
}

const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
console.log(
  `\n${renderResults(runs, {
    quick: QUICK,
    delaysS: DELAYS_S,
    reps: REPS,
    guardMs: GUARD_MS,
    target: `tcp://${API}:443`,
    machine:
      `${cpus().length} cores, Linux ${release()}; in the pods ${podTcp || 'SYN settings unknown'}. ` +
      `Load average ${load(loadBefore)} before, ${load(loadavg())} after; whole-machine CPU busy while the waiters ran (they included) ${cpu?.summary() ?? 'unknown'}.`,
    badReports,
  })}\n`,
);
const broken = TOOLS.filter((tool) => !runs.some((r) => r.tool === tool && outcome(r, GUARD_MS).ok));
if (broken.length) {
  console.error(`bench/lag: no successful run of ${broken.join(', ')}`);
  process.exitCode = 1;
}

/** Starts one waiter in its pod, in its own process group (so that a kill reaches a shell's children); resolves once it has exited. */
function spawnWaiter(testbed: Testbed, run: RunRecord & { readonly pod: Pod }, bundle: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  if (run.tool === 'netready') Object.assign(env, injectedProcessEnv(), { NETREADY_POD_NAME: run.tag });
  run.spawnedAt = now();
  const child = testbed.podExec(run.pod, COMMANDS[run.tool](bundle), {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);
  const keep = (chunk: string) => {
    run.output = (run.output + chunk).slice(-8192);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  const guard = setTimeout(() => {
    run.killedByGuard = true;
    killGroup(child);
  }, run.delayMs + GUARD_MS);
  child.once('exit', (code, signal) => {
    run.exitedAt = now(); // `ip netns exec` execs the waiter: this is the waiter's own exit
    run.code = code;
    run.signal = signal;
  });
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(guard);
      live.delete(child);
      resolve();
    };
    child.once('close', done);
    child.once('error', (err) => {
      run.output += `\nspawn failed: ${err.message}`;
      done();
    });
  });
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function sleepUntil(epochMs: number, signal: AbortSignal): Promise<void> {
  return sleep(Math.max(0, epochMs - now()), undefined, { signal });
}

/** Whole-machine CPU use from /proc/stat, once a second: other work on the machine shows here. */
function sampleCpu(): { stop(): void; summary(): string } {
  const read = () => {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    const t = fields.map(Number);
    const idle = t[3]! + (t[4] ?? 0); // idle + iowait
    return { idle, total: t.reduce((a, b) => a + b, 0) };
  };
  const busy: number[] = [];
  let last = read();
  const first = last;
  const timer = setInterval(() => {
    const cur = read();
    if (cur.total > last.total) busy.push(1 - (cur.idle - last.idle) / (cur.total - last.total));
    last = cur;
  }, 1000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      last = read();
    },
    summary: () => {
      const all = last.total > first.total ? 1 - (last.idle - first.idle) / (last.total - first.total) : NaN;
      const pct = (x: number) => `${Math.round(x * 100)} %`;
      return `${pct(all)} on average, ${pct(Math.max(...busy, 0))} in the busiest second`;
    },
  };
}
