// bench/startup-ab: builds of the agent side by side, and `node -e 0`, interleaved in one
// run: `netready wait --check tcp://…` against a loopback listener, delivering its report to a
// loopback collector stub, with the Node flags the webhook injects it with. No root, no pod: a quick A/B of a
// start-up change before `bench/startup` measures it in a simulated pod.
// Prints median wall time (spawn to exit), CPU time (user + system) and peak RSS (/usr/bin/time)
// of each; CPU time is the figure least moved by other work on the machine.
//
//   node scripts/build.ts /tmp/a; node scripts/build.ts /tmp/b   (in two trees)
//   node bench/startup-ab.ts /tmp/a /tmp/b … [RUNS]
// A build may also be a V8 startup snapshot blob (a path ending in .blob), run as
// `node --snapshot-blob BLOB wait …`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { INJECTED_NODE_FLAGS, injectedProcessEnv } from '../src/webhook/container.ts';

const args = process.argv.slice(2);
const RUNS = /^\d+$/.test(args.at(-1) ?? '') ? Number(args.pop()) : 31;
if (args.length === 0) throw new Error('usage: node bench/startup-ab.ts DIST_A [DIST_B …] [RUNS]');

const tcp = createTcpServer((s) => s.destroy()).listen(0, '127.0.0.1');
let reports = 0;
const collector = createHttpServer((req, res) => {
  req.resume();
  req.on('end', () => {
    reports++;
    res.writeHead(202).end();
  });
}).listen(0, '127.0.0.1');
await Promise.all([once(tcp, 'listening'), once(collector, 'listening')]);
const port = (s: { address(): unknown }) => (s.address() as AddressInfo).port;

const agent = (dir: string) => [
  process.execPath,
  ...INJECTED_NODE_FLAGS,
  ...(dir.endsWith('.blob') ? ['--snapshot-blob', dir] : [`${dir}/netready.mjs`]),
  'wait',
  '--check',
  `tcp://127.0.0.1:${port(tcp)}`,
  '--collector',
  `http://127.0.0.1:${port(collector)}`,
  '--termination-log',
  '',
];
const commands: Record<string, string[]> = { 'node -e 0': [process.execPath, '-e', '0'] };
for (const dir of args) commands[dir] = agent(dir);

/** Runs argv under /usr/bin/time; resolves with wall ms and peak RSS MiB. */
async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<{ wall: number; cpu: number; rss: number }> {
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'maxrss_kb=%M cpu_s=%U+%S', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'close');
  const wall = performance.now() - t0;
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${stderr}`);
  const cpu = /cpu_s=([\d.]+)\+([\d.]+)/.exec(stderr);
  return {
    wall,
    cpu: (Number(cpu?.[1]) + Number(cpu?.[2])) * 1000,
    rss: Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1]) / 1024,
  };
}

const samples: Record<string, { wall: number[]; cpu: number[]; rss: number[] }> = {};
for (const name of Object.keys(commands)) samples[name] = { wall: [], cpu: [], rss: [] };
for (let i = 0; i < RUNS; i++) {
  for (const [name, argv] of Object.entries(commands)) {
    // The agents as the webhook injects them (their runtime's environment too); `node -e 0` as it is.
    const r = await run(argv, name === 'node -e 0' ? process.env : { ...process.env, ...injectedProcessEnv() });
    samples[name]!.wall.push(r.wall);
    samples[name]!.cpu.push(r.cpu);
    samples[name]!.rss.push(r.rss);
  }
}
tcp.close();
collector.close();
if (reports !== args.length * RUNS)
  throw new Error(`collector stub got ${reports} reports, expected ${args.length * RUNS}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const base = samples['node -e 0']!;
console.log(`\n${RUNS} runs each, interleaved, loopback\n`);
console.log('| command | median wall | median CPU | median peak RSS | wall / node -e 0 | RSS / node -e 0 |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [name, s] of Object.entries(samples)) {
  const w = median(s.wall);
  const r = median(s.rss);
  console.log(
    `| \`${name}\` | ${w.toFixed(1)} ms | ${median(s.cpu).toFixed(0)} ms | ${r.toFixed(1)} MiB | ${(w / median(base.wall)).toFixed(2)}x | ${(r / median(base.rss)).toFixed(2)}x |`,
  );
}
