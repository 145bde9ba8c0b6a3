// bench/collector: POST /v1/reports throughput and latency of `netready
// collector` side by side with a bare node:http server that only parses the
// same JSON and answers 202 (collector-bare.ts), in one run; then the
// collector's memory over 1,000,000 reports with retention on. The collector
// runs from the bundle, as the image runs it, with its SQLite store in a temp
// dir: every report is committed and fsynced before its 202.
//
// Load: autocannon in its own process (collector-load.ts), keep-alive
// connections, closed loop, a distinct realistic report on every request
// (collector-reports.ts: random-looking pod uids, 40 nodes, 25 namespaces, log-
// uniform delays), so the collector's dedupe never short-cuts a request. The
// generator shares the machine's cores with the server under test; its CPU time
// is printed next to the results. Each server gets a warm-up, then ROUNDS timed
// runs, the two servers alternating, so drift in the machine's load hits both.
// Everything is on loopback; the temp dir is removed at the end. ~5 minutes.
//
//   node bench/collector.ts [--quick] [--connections N]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { imageNodeFlags } from '../test/helpers/image.ts';

const USAGE = 'usage: node bench/collector.ts [--quick] [--connections N]';
let values: { quick: boolean; connections: string };
try {
  ({ values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, connections: { type: 'string', default: '32' } },
  }));
} catch {
  console.error(USAGE);
  process.exit(2);
}
const QUICK = values.quick;
/** Connections kept open by the generator: about the reports in flight at 5,000/s and a few ms each. */
const CONNECTIONS = Number(values.connections);
const WARMUP_S = QUICK ? 2 : 3;
const DURATION_S = QUICK ? 3 : 8;
const ROUNDS = QUICK ? 1 : 3;
/** The memory phase: this many reports into a collector keeping RETENTION_ROWS. */
const MEMORY_REPORTS = QUICK ? 100_000 : 1_000_000;
const RETENTION_ROWS = 100_000;
const RSS_SAMPLE_MS = 500;

const TARGET = { reportsPerSecond: 5000, p99Ms: 20, ratio: 0.5, rssMiB: 200 };

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE = process.execPath;

interface LoadResult {
  reportsPerSecond: number;
  p50: number;
  p99: number;
  sent: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  generatorCpuS: number;
  serverCpuS: number;
  machineBusy: number;
  seconds: number;
}

interface Server {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
}

const children = new Set<ChildProcess>();
const dir = mkdtempSync(join(tmpdir(), 'netready-bench-collector-'));
let runId = 0;
/** The collector from the bundle built into `dir`, with Node flags `flags`. */
const netready = (flags: string[]) => [
  NODE,
  ...flags,
  join(dir, 'dist/netready.mjs'),
  'collector',
  '--listen',
  '127.0.0.1:0',
];
/** The Node flags of the image's ENTRYPOINT. */
const IMAGE_FLAGS = imageNodeFlags();
/** How the collector says that it listens. */
const listening = (line: Record<string, unknown>) =>
  line.msg === 'collector listening' ? (line.port as number) : undefined;

try {
  const loadBefore = loadavg();
  console.error(
    `temp dir ${dir} (${fsType(dir)}); ${CONNECTIONS} connections; ${ROUNDS} rounds of ${DURATION_S} s per server after a ${WARMUP_S} s warm-up`,
  );

  // The collector as the image runs it: the bundle (running src/ directly adds the
  // TypeScript loader, ~40 MiB of RSS) and the ENTRYPOINT's Node flags.
  execFileSync(NODE, [join(ROOT, 'scripts/build.ts'), join(dir, 'dist')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const bare = await startServer(
    'bare',
    [NODE, join(ROOT, 'bench/collector-bare.ts')],
    (line) => line.port as number | undefined,
  );
  const collector = await startServer(
    'collector',
    [...netready(IMAGE_FLAGS), '--db', join(dir, 'throughput.db')],
    listening,
  );
  const servers = [bare, collector];
  for (const s of servers) await load(s, { duration: WARMUP_S });

  const results: Record<string, LoadResult[]> = { bare: [], collector: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of round % 2 === 0 ? servers : [...servers].reverse()) {
      const r = await load(s, { duration: DURATION_S });
      results[s.name]!.push(r);
      console.error(
        `round ${round + 1} ${s.name}: ${count(r.reportsPerSecond)} reports/s, p50 ${ms(r.p50)}, p99 ${ms(r.p99)}`,
      );
    }
  }
  await Promise.all(servers.map(stop));

  // Memory: a fresh collector with retention, a million reports as fast as it
  // takes them; as the image runs it, then without its Node flags for
  // reference (on a machine with plenty of RAM and no memory limit, V8 then
  // grows its young generation to 128 MiB under a steady allocation rate).
  const memory = [
    await memoryRun(`as the image runs it (\`${IMAGE_FLAGS.join(' ')}\`)`, IMAGE_FLAGS),
    await memoryRun('without Node flags', []),
  ];
  const loadAfter = loadavg();

  // Report.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const summary = (rs: LoadResult[]) => ({
    rps: median(rs.map((r) => r.reportsPerSecond)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    serverCpu: median(rs.map((r) => r.serverCpuS / r.seconds)),
    generatorCpu: median(rs.map((r) => r.generatorCpuS / r.seconds)),
  });
  const b = summary(results.bare!);
  const c = summary(results.collector!);
  const ratio = c.rps / b.rps;
  const rounds = (rs: LoadResult[]) => rs.map((r) => `${count(r.reportsPerSecond)} (p99 ${ms(r.p99)})`).join(', ');
  const cores = (x: number) => `${(x * 100).toFixed(0)} %`;
  const mib = (kb: number) => kb / 1024;
  const rssPeak = mib(memory[0]!.peakKiB);

  console.log(
    `\nPOST /v1/reports, ${CONNECTIONS} keep-alive connections, a distinct realistic report per request; median of ${ROUNDS} × ${DURATION_S} s per server, alternating.\n`,
  );
  console.log('| server | reports/s | p50 latency | p99 latency | server CPU | generator CPU |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  console.log(
    `| bare \`node:http\`: parse the JSON, answer 202 | ${count(b.rps)} | ${ms(b.p50)} | ${ms(b.p99)} | ${cores(b.serverCpu)} | ${cores(b.generatorCpu)} |`,
  );
  console.log(
    `| \`netready collector\`, SQLite file store | ${count(c.rps)} | ${ms(c.p50)} | ${ms(c.p99)} | ${cores(c.serverCpu)} | ${cores(c.generatorCpu)} |`,
  );
  console.log(
    `| collector / bare | **${ratio.toFixed(2)}x** | ${(c.p50 / b.p50).toFixed(1)}x | ${(c.p99 / b.p99).toFixed(1)}x | | |`,
  );
  console.log(`\n- rounds, bare: ${rounds(results.bare!)}; collector: ${rounds(results.collector!)}`);
  console.log(`- CPU columns: CPU time over wall time of the run (100 % = one core of ${cpus().length})`);
  console.log(
    `\nMemory: ${MEMORY_REPORTS.toLocaleString('en')} reports into a fresh collector with --retention-rows ${RETENTION_ROWS.toLocaleString('en')}, ${CONNECTIONS} connections, as fast as it takes them.\n`,
  );
  console.log(
    '| collector run with | reports/s | p99 latency | RSS at start | RSS at the end | peak RSS (VmHWM) | V8 new / old space at the end |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const m of memory) {
    console.log(
      `| ${m.name} | ${count(m.run.reportsPerSecond)} | ${ms(m.run.p99)} | ${mib(m.startKiB).toFixed(1)} MiB | ${mib(m.endKiB).toFixed(1)} MiB | ${mib(m.peakKiB).toFixed(1)} MiB | ${m.newSpaceMiB.toFixed(0)} / ${m.oldSpaceMiB.toFixed(0)} MiB |`,
    );
  }
  console.log('');
  for (const m of memory) {
    const step = Math.max(1, Math.floor(m.samples.length / 10));
    const shown = m.samples.filter((_x, i) => i % step === 0).map((kb) => mib(kb).toFixed(0));
    console.log(
      `- ${m.name}: ${m.stored.toLocaleString('en')} stored, ${m.kept.toLocaleString('en')} kept; RSS every ${((step * RSS_SAMPLE_MS) / 1000).toFixed(1)} s: ${shown.join(', ')} MiB`,
    );
  }
  console.log(
    `- ${cpus().length} cores, Linux ${release()}, Node.js ${process.versions.node}; store on ${fsType(dir)}; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after; whole-machine CPU busy during the timed runs ${cores(median([...results.bare!, ...results.collector!].map((r) => r.machineBusy)))} (median)`,
  );

  const verdict = (ok: boolean) => (ok ? 'met' : '**MISSED**');
  const allOk = (rs: LoadResult[]) => rs.every((r) => r.non2xx === 0 && r.errors === 0 && r.timeouts === 0);
  console.log('\nTargets:\n');
  console.log(
    `- collector ≥ ${TARGET.reportsPerSecond} reports/s: ${count(c.rps)} — ${verdict(c.rps >= TARGET.reportsPerSecond)}`,
  );
  console.log(`- collector p99 ≤ ${TARGET.p99Ms} ms: ${ms(c.p99)} — ${verdict(c.p99 <= TARGET.p99Ms)}`);
  console.log(
    `- collector ≥ ${TARGET.ratio}x the bare server's throughput: ${ratio.toFixed(2)}x — ${verdict(ratio >= TARGET.ratio)}`,
  );
  console.log(
    `- collector peak RSS after ${MEMORY_REPORTS.toLocaleString('en')} reports, retention on, as the image runs it, ≤ ${TARGET.rssMiB} MiB: ${rssPeak.toFixed(1)} MiB — ${verdict(rssPeak <= TARGET.rssMiB)}`,
  );
  console.log(
    `- every request answered 2xx, no errors or timeouts: ${verdict(allOk([...results.bare!, ...results.collector!, ...memory.map((m) => m.run)]) && memory.every((m) => m.stored === MEMORY_REPORTS && m.kept === RETENTION_ROWS))}`,
  );
} finally {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

/** A fresh collector (node flags `flags`) with retention, MEMORY_REPORTS reports, its RSS sampled throughout. */
async function memoryRun(name: string, flags: string[]) {
  const s = await startServer(
    'collector',
    [...netready(flags), '--db', join(dir, `memory-${runId}.db`), '--retention-rows', String(RETENTION_ROWS)],
    listening,
  );
  const startKiB = procStatus(s.child.pid!).VmRSS;
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(procStatus(s.child.pid!).VmRSS), RSS_SAMPLE_MS);
  const run = await load(s, { amount: MEMORY_REPORTS });
  clearInterval(sampler);
  const end = procStatus(s.child.pid!);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  const value = (re: RegExp) => Number(re.exec(metrics)?.[1]);
  await stop(s);
  return {
    name,
    run,
    startKiB,
    endKiB: end.VmRSS,
    peakKiB: end.VmHWM,
    samples,
    stored: value(/^netready_reports_total (\d+)$/m),
    kept: value(/^netready_store_reports (\d+)$/m),
    newSpaceMiB: value(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m) / 2 ** 20,
    oldSpaceMiB: value(/^nodejs_heap_space_size_total_bytes\{space="old"\} (\d+)$/m) / 2 ** 20,
  };
}

/** A rate or count, whole, with thousands separators. */
function count(x: number): string {
  return Math.round(x).toLocaleString('en');
}

/** Milliseconds, to the precision that matters at their size. */
function ms(x: number): string {
  return `${x.toFixed(x < 10 ? 2 : 1)} ms`;
}

/** Spawns a server and resolves once `portOf` finds its port in a JSON line of its stdout. */
async function startServer(
  name: string,
  argv: string[],
  portOf: (line: Record<string, unknown>) => number | undefined,
): Promise<Server> {
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '' },
  });
  children.add(child);
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 10 s: ${buffered}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${buffered}`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      for (const line of buffered.split('\n')) {
        if (!line.startsWith('{')) continue;
        const p = portOf(JSON.parse(line));
        if (p !== undefined) {
          clearTimeout(timer);
          resolve(p);
        }
      }
    });
  });
  // Keep draining its stdout (logs) so that it never blocks on a full pipe.
  child.stdout!.removeAllListeners('data').resume();
  return { name, child, url: `http://127.0.0.1:${port}` };
}

async function stop(s: Server): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => s.child.once('exit', () => r()));
  s.child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000, undefined, { ref: false }).then(() => s.child.kill('SIGKILL'))]);
  children.delete(s.child);
}

/** One run of the generator against `s`; resolves with what it measured plus CPU used on the machine meanwhile. */
async function load(s: Server, what: { duration: number } | { amount: number }): Promise<LoadResult> {
  const args = [
    join(ROOT, 'bench/collector-load.ts'),
    s.url,
    '--run',
    String(++runId),
    '--connections',
    String(CONNECTIONS),
  ];
  args.push(...('duration' in what ? ['--duration', String(what.duration)] : ['--amount', String(what.amount)]));
  const serverBefore = procCpuSeconds(s.child.pid!);
  const machineBefore = machineCpu();
  const child = spawn(NODE, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  // Bounded: a duration run gets its duration plus a minute; an amount run the time it takes at 2,000/s plus a minute.
  const limitMs = 'duration' in what ? (what.duration + 60) * 1000 : (what.amount / 2000 + 60) * 1000;
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(killer);
  children.delete(child);
  if (code !== 0) throw new Error(`load generator against ${s.name} exited with ${code} (limit ${limitMs / 1000} s)`);
  const machineAfter = machineCpu();
  const r = JSON.parse(out);
  return {
    reportsPerSecond: r['2xx'] / r.duration,
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    sent: r.sent,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    generatorCpuS: r.cpuSeconds,
    serverCpuS: procCpuSeconds(s.child.pid!) - serverBefore,
    machineBusy: (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total),
    seconds: r.duration,
  };
}

/** utime + stime of a process, in seconds (clock ticks of 1/100 s). */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The whole machine's CPU ticks, busy and total, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  // idle and iowait
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** VmRSS and VmHWM of a process, in KiB. */
function procStatus(pid: number): { VmRSS: number; VmHWM: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
  return { VmRSS: kb('VmRSS'), VmHWM: kb('VmHWM') };
}

/** The file system type under `path` (the longest mount point that contains it). */
function fsType(path: string): string {
  let best = { point: '', type: 'unknown' };
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, point, type] = line.split(' ');
    if (
      point &&
      type &&
      (path === point || path.startsWith(point.endsWith('/') ? point : `${point}/`)) &&
      point.length >= best.point.length
    )
      best = { point, type };
  }
  return best.type;
}
