// bench/startup-programs: how long `netready watch` and `netready collector` take to start
// (spawn to their "listening" log line) from the built bundle, with the compile cache the
// image's build makes (image/Containerfile's RUN line, run here against the bundle) and
// without it, interleaved in one run. As the image runs them: uid 65532, from `/`, the
// watch with the flags and environment the webhook injects it with, the collector with
// the ENTRYPOINT's flags (its store in a fresh directory each run). Loopback only.
// Needs root (the warm-up and the uid switch).
//
//   sudo node bench/startup-programs.ts [RUNS]
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { injectedProcessEnv, WATCH_NODE_FLAGS } from '../src/webhook/container.ts';
import { imageNodeFlags, localImageEnv, runImageBuildSteps } from '../test/helpers/image.ts';

const RUNS = Number(process.argv[2] ?? 21);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const UID = 65532;

execFileSync(process.execPath, ['scripts/build.ts'], { cwd: ROOT, stdio: 'inherit' });
const image = { node: process.execPath, app: `${ROOT}dist` };
process.stdout.write(runImageBuildSteps(image));
const IMAGE_ENV = localImageEnv(image);
const ENTRY = `${ROOT}dist/netready.mjs`;

const target = createServer((s) => s.destroy()).listen(0, '127.0.0.1');
await once(target, 'listening');
const check = `tcp://127.0.0.1:${(target.address() as AddressInfo).port}`;
const scratch = mkdtempSync(join(tmpdir(), 'netready-startup-programs-'));
chmodSync(scratch, 0o755);

/** Spawn to the program's `msg` log line, in ms; then SIGTERM, and it must exit 0. */
async function timeToListen(argv: string[], env: Record<string, string>, msg: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, {
    uid: UID,
    gid: UID,
    cwd: '/',
    env: { PATH: '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const closed = once(child, 'close');
  const started = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(`"msg":"${msg}"`)) resolve(performance.now() - t0);
    });
    void closed.then(() => reject(new Error(`exited before "${msg}": ${err} ${out}`)));
  });
  child.kill('SIGTERM');
  const [code] = await closed;
  if (code !== 0 || err !== '') throw new Error(`${argv.join(' ')} exited ${code}: ${err}`);
  return started;
}

type Program = { argv: () => string[]; env: Record<string, string>; msg: string };
const watch = (env: Record<string, string>): Program => ({
  argv: () => [...WATCH_NODE_FLAGS, ENTRY, 'watch', '--listen', '127.0.0.1:0', '--check', check],
  env: { ...injectedProcessEnv(), ...env },
  msg: 'watch listening',
});
const collector = (env: Record<string, string>): Program => ({
  argv: () => {
    const dir = mkdtempSync(join(scratch, 'data-'));
    chownSync(dir, UID, UID);
    return [...imageNodeFlags(), ENTRY, 'collector', '--listen', '127.0.0.1:0', '--data-dir', dir];
  },
  env,
  msg: 'collector listening',
});
const programs: Record<string, Program> = {
  'watch, compile cache': watch(IMAGE_ENV),
  'watch, no compile cache': watch({}),
  'collector, compile cache': collector(IMAGE_ENV),
  'collector, no compile cache': collector({}),
};

const samples: Record<string, number[]> = {};
try {
  for (let i = 0; i < RUNS; i++) {
    for (const [name, p] of Object.entries(programs)) {
      const ms = await timeToListen(p.argv(), p.env, p.msg);
      (samples[name] ??= []).push(ms);
    }
  }
} finally {
  target.close();
  rmSync(scratch, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`\n${RUNS} runs each, interleaved, loopback, as uid ${UID}: spawn to the "listening" line\n`);
console.log('| program | median | min | max |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, xs] of Object.entries(samples)) {
  console.log(
    `| ${name} | ${median(xs).toFixed(1)} ms | ${Math.min(...xs).toFixed(1)} ms | ${Math.max(...xs).toFixed(1)} ms |`,
  );
}
