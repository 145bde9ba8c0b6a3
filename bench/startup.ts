// bench/startup: `netready wait` from the built bundle against `node -e 0`,
// side by side in one run, both inside the same simulated pod, both as the
// image runs them (uid 65532, no capabilities); the agent with the Node flags
// the webhook injects it with (src/webhook/container.ts).
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

  const commands = {
    'node -e 0': [process.execPath, '-e', '0'],
    'netready wait': [
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
    ],
  };
  const samples: Record<string, { wall: number[]; rss: number[] }> = {};
  for (const name of Object.keys(commands)) samples[name] = { wall: [], rss: [] };

  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so drift in the machine's load hits both alike.
    for (const [name, argv] of Object.entries(commands)) {
      const t0 = performance.now();
      const r = await bed.podRun(pod, ['/usr/bin/time', '-f', 'maxrss_kb=%M', ...AS_IMAGE, ...argv], {
        timeoutMs: 10_000,
        // netready as the webhook injects it (its runtime's environment too); `node -e 0` as it is.
        env: { PATH: process.env.PATH, ...(name === 'node -e 0' ? {} : injectedProcessEnv()) },
      });
      const wall = performance.now() - t0;
      if (r.code !== 0) throw new Error(`${name} exited ${r.code}: ${r.stderr}`);
      samples[name]!.wall.push(wall);
      samples[name]!.rss.push(Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1]) / 1024);
    }
  }
  if (reports !== RUNS) throw new Error(`collector stub got ${reports} reports, expected ${RUNS}`);

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const base = samples['node -e 0']!;
  const agent = samples['netready wait']!;
  console.log(`\n${RUNS} runs each, interleaved, inside a simulated pod, as uid 65532 without capabilities\n`);
  console.log('| command | median wall | median peak RSS |');
  console.log('| --- | ---: | ---: |');
  for (const [name, s] of Object.entries(samples)) {
    console.log(`| \`${name}\` | ${median(s.wall).toFixed(1)} ms | ${median(s.rss).toFixed(1)} MiB |`);
  }
  const wallRatio = median(agent.wall) / median(base.wall);
  const rssRatio = median(agent.rss) / median(base.rss);
  console.log(`| ratio | ${wallRatio.toFixed(2)}x (target <= 2.0x) | ${rssRatio.toFixed(2)}x (target <= 1.5x) |`);
} finally {
  await bed.close();
}
