// bench/startup: `netready wait` from the built bundle against `node -e 0`,
// side by side in one run, both inside the same simulated pod, both as the
// image runs them (uid 65532, no capabilities); the agent with the Node flags
// the webhook injects it with (src/webhook/container.ts), and with the compile
// cache the image's build makes (image/Containerfile's RUN line, run here
// against the bundle) and its ENV; and, for comparison, the same agent without
// the compile cache (NODE_COMPILE_CACHE unset).
// The agent runs gateway, dns and tcp checks that pass at once and reports to
// a collector stub.
// Prints median wall time and peak RSS of each, and the ratios.
// Needs root, iproute2, nftables, dnsmasq and /usr/bin/time.
//
//   sudo npm run bench:startup [-- RUNS]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestbed, SERVICES } from '../test/e2e/testbed.ts';
import { INJECTED_NODE_FLAGS, injectedProcessEnv } from '../src/webhook/container.ts';
import { localImageEnv, runImageBuildSteps } from '../test/helpers/image.ts';

const RUNS = Number(process.argv[2] ?? 41);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AS_IMAGE = [
  'setpriv',
  '--reuid=65532',
  '--regid=65532',
  '--clear-groups',
  '--inh-caps=-all',
  '--bounding-set=-all',
];

execFileSync(process.execPath, ['scripts/build.ts'], { cwd: ROOT, stdio: 'inherit' });
// The image's build step: the compile cache, made as the image's build makes it, where the bundle is.
const image = { node: process.execPath, app: `${ROOT}dist` };
process.stdout.write(runImageBuildSteps(image));
const IMAGE_ENV = localImageEnv(image);
const bed = await createTestbed();
try {
  const pod = await bed.createPod();
  let reports = 0;
  await bed.listenTcp(SERVICES.api.v4, 443);
  await bed.listenHttp(SERVICES.collector.v4, 9470, (req, res) => {
    req.resume();
    req.on('end', () => {
      reports++;
      res.writeHead(202).end();
    });
  });

  const wait = [
    process.execPath,
    ...INJECTED_NODE_FLAGS,
    `${ROOT}dist/netready.mjs`,
    'wait',
    '--check',
    'gateway',
    '--check',
    'dns',
    '--check',
    `tcp://${SERVICES.api.v4}:443`,
    '--collector',
    `http://${SERVICES.collector.v4}:9470`,
    '--termination-log',
    '',
  ];
  // Each command with its environment: netready as the webhook injects it into the image (its
  // runtime's environment and the image's ENV too); `node -e 0` as it is.
  const NO_CACHE = 'netready wait, no compile cache';
  const commands: Record<string, { argv: string[]; env: Record<string, string> }> = {
    'node -e 0': { argv: [process.execPath, '-e', '0'], env: {} },
    'netready wait': { argv: wait, env: { ...IMAGE_ENV, ...injectedProcessEnv() } },
    [NO_CACHE]: { argv: wait, env: injectedProcessEnv() },
  };
  const samples: Record<string, { wall: number[]; cpu: number[]; rss: number[] }> = {};
  for (const name of Object.keys(commands)) samples[name] = { wall: [], cpu: [], rss: [] };

  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so drift in the machine's load hits all alike.
    for (const [name, { argv, env }] of Object.entries(commands)) {
      const t0 = performance.now();
      const r = await bed.podRun(pod, ['/usr/bin/time', '-f', 'maxrss_kb=%M cpu_s=%U+%S', ...AS_IMAGE, ...argv], {
        timeoutMs: 10_000,
        env: { PATH: process.env.PATH, ...env },
      });
      const wall = performance.now() - t0;
      if (r.code !== 0) throw new Error(`${name} exited ${r.code}: ${r.stderr}`);
      const cpu = /cpu_s=([\d.]+)\+([\d.]+)/.exec(r.stderr);
      samples[name]!.wall.push(wall);
      samples[name]!.cpu.push((Number(cpu?.[1]) + Number(cpu?.[2])) * 1000);
      samples[name]!.rss.push(Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1]) / 1024);
    }
  }
  const agents = Object.keys(commands).length - 1;
  if (reports !== agents * RUNS) throw new Error(`collector stub got ${reports} reports, expected ${agents * RUNS}`);

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const base = samples['node -e 0']!;
  console.log(`\n${RUNS} runs each, interleaved, inside a simulated pod, as uid 65532 without capabilities\n`);
  console.log('| command | median wall | median CPU | median peak RSS | wall / `node -e 0` | RSS / `node -e 0` |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, s] of Object.entries(samples)) {
    const wallRatio = median(s.wall) / median(base.wall);
    const rssRatio = median(s.rss) / median(base.rss);
    console.log(
      `| \`${name}\` | ${median(s.wall).toFixed(1)} ms | ${median(s.cpu).toFixed(0)} ms | ${median(s.rss).toFixed(1)} MiB | ${wallRatio.toFixed(2)}x | ${rssRatio.toFixed(2)}x |`,
    );
  }
  console.log('\nTargets for `netready wait` (as the image runs it): wall <= 2.0x, RSS <= 1.5x.');
} finally {
  await bed.close();
}
