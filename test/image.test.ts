// The image, run without an image: the bundle the Containerfile copies to /app,
// alone in an empty directory, root-owned and read-only, with the compile cache
// its distroless stage makes (the stage's exec-form RUN lines, run as the build
// runs them), run by the same Node 24 binary with the ENTRYPOINT's Node flags
// (`wait` and `watch` with the flags of the command the webhook injects them
// with) as uid/gid 65532 from `/` (a directory it cannot write), with the
// image's ENV and nothing else — as `USER 65532:65532`, `WORKDIR /` and a
// read-only root filesystem run it. Each program does its job: `wait` against a
// loopback listener reporting to the collector, `watch` answering /readyz,
// `collector` with its store on a writable volume, `webhook` with a certificate
// from `netready certs`; each starts from the compile cache. Nothing may be
// written anywhere but the volume. Needs root (to switch uid).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/agent.ts';
import { parseLogLines } from './helpers/log-lines.ts';
import {
  imageEntrypoint,
  imageEnv,
  imageNodeFlags,
  imageRuns,
  localImageEnv,
  runImageBuildSteps,
  type LocalImage,
} from './helpers/image.ts';
import {
  INJECTED_COMMAND,
  INJECTED_NODE_FLAGS,
  injectedProcessEnv,
  WATCH_NODE_FLAGS,
} from '../src/webhook/container.ts';
import { MESH_UIDS } from '../src/webhook/mesh.ts';
import { startCollectorStub, startTcpListener } from './helpers/servers.ts';
import { spawnProgram, type Program } from './helpers/server-process.ts';
import { makeReport, postReport, send, samples } from './collector/helpers.ts';

/** The image's runtime user (distroless `nonroot`, `USER 65532:65532`). */
const UID = 65532;
const GID = 65532;
/** The environment a container starts with, and nothing from the developer's shell. */
const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

const isRoot = process.getuid?.() === 0;

/** Lists every path under `dir` with its mode, owner, size and mtime: what a write would change. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = lstatSync(p);
      out.push(`${p} ${s.mode.toString(8)} ${s.uid}:${s.gid} ${s.size} ${s.mtimeMs}`);
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** Entries of the world-writable directories owned by the runtime user: where a stray write would land. */
function strayFiles(except: string[]): string[] {
  return ['/tmp', '/var/tmp', '/dev/shm'].flatMap((d) => {
    try {
      return readdirSync(d)
        .map((n) => join(d, n))
        .filter((p) => !except.includes(p) && lstatSync(p).uid === UID);
    } catch {
      return [];
    }
  });
}

/** Makes `path` root-owned and read-only: directories 0555, files 0444 (the layer `COPY --chown=0:0` makes). */
function lockDown(path: string): void {
  const s = lstatSync(path);
  chownSync(path, 0, 0);
  if (s.isDirectory()) {
    for (const name of readdirSync(path)) lockDown(join(path, name));
    chmodSync(path, 0o555);
  } else {
    chmodSync(path, 0o444);
  }
}

/**
 * The image under `root`: the build stage, `COPY --from=build --chown=0:0 /src/dist /app`,
 * the runtime's Node, then the distroless stage's RUN lines (the compile cache's warm-up).
 */
function buildImage(root: string): LocalImage & { warmUp: string } {
  execFileSync(process.execPath, ['scripts/build.ts', join(root, 'build', 'dist')], {
    cwd: ROOT,
    stdio: 'pipe',
    timeout: 60_000,
  });
  const app = join(root, 'app');
  cpSync(join(root, 'build', 'dist'), app, { recursive: true });
  rmSync(join(root, 'build'), { recursive: true });
  // The runtime's Node, copied: the repository may not be readable by uid 65532.
  const nodeDir = join(root, 'nodejs');
  mkdirSync(nodeDir);
  copyFileSync(process.execPath, join(nodeDir, 'node'));
  lockDown(app);
  lockDown(nodeDir);
  chmodSync(join(nodeDir, 'node'), 0o555);
  const local = { node: join(nodeDir, 'node'), app };
  return { ...local, warmUp: runImageBuildSteps(local) };
}

/** Starts `netready ARGS` from `image` as the image runs it: as `uid`, from `/`, with the image's ENV, then `env`. */
function startProgram(
  image: LocalImage,
  args: string[],
  {
    nodeFlags = imageNodeFlags(),
    env = {},
    uid = UID,
  }: { nodeFlags?: readonly string[]; env?: Record<string, string | undefined>; uid?: number } = {},
): Program {
  // A variable given as undefined is left out, even the image's own.
  const fullEnv = Object.entries({ ...ENV, ...localImageEnv(image), ...env }).filter(([, v]) => v !== undefined);
  return spawnProgram([image.node, ...nodeFlags, join(image.app, 'netready.mjs'), ...args], {
    uid,
    gid: uid,
    cwd: '/',
    env: Object.fromEntries(fullEnv),
  });
}

/** Node's own account (NODE_DEBUG_NATIVE=COMPILE_CACHE) of the code cache of each module a program compiled. */
const DEBUG_CACHE = { NODE_DEBUG_NATIVE: 'COMPILE_CACHE' };
function cacheVerdicts(stderr: string): Map<string, string> {
  const verdicts = new Map<string, string>();
  for (const m of stderr.matchAll(/V8 code cache for ESM file:\/\/(\S+) was (accepted|rejected|not initialized)/g))
    verdicts.set(m[1]!.replace(/^.*\/app\//, ''), m[2]!);
  return verdicts;
}

/** Asserts that `proc` compiled every module from the cache (netready.mjs and `chunks` among them). */
function assertFromCache(name: string, proc: Program, chunks: RegExp[]): void {
  const verdicts = cacheVerdicts(proc.stderr());
  assert.ok(verdicts.has('netready.mjs'), `${name}: no compile cache in use; stderr: ${proc.stderr()}`);
  for (const chunk of chunks)
    assert.ok(
      [...verdicts.keys()].some((f) => chunk.test(f)),
      `${name}: ${chunk} not loaded: ${[...verdicts.keys()].join(', ')}`,
    );
  const missed = [...verdicts].filter(([, v]) => v !== 'accepted');
  assert.deepEqual(missed, [], `${name}: modules compiled without the cache`);
}

test(
  'the image: the bundle alone, read-only, as uid 65532 — wait, watch, collector and webhook each do their job, from the compile cache',
  { timeout: 120_000 },
  async (t) => {
    assert.ok(isRoot, 'this test must run as root (it switches to uid 65532): sudo npm test');
    const root = mkdtempSync(join(tmpdir(), 'netready-image-'));
    chmodSync(root, 0o755);
    const children: ChildProcess[] = [];
    const target = await startTcpListener();
    t.after(async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await target.close();
      rmSync(root, { recursive: true, force: true });
    });

    const image = buildImage(root);
    // The warm-up made the cache the programs read (the image's NODE_COMPILE_CACHE) as the
    // image's user, with the ENTRYPOINT's flags (the injected ones it takes from the webhook).
    assert.deepEqual(imageRuns(), [
      [
        imageEntrypoint().node,
        '/app/warm-compile-cache.mjs',
        '--dir',
        imageEnv().NODE_COMPILE_CACHE,
        '--uid',
        String(UID),
        `--node-flags=${imageNodeFlags().join(' ')}`,
      ],
    ]);
    // The collector's volume (emptyDir or PVC), writable by the runtime user only.
    const volume = join(root, 'data');
    mkdirSync(volume, { mode: 0o700 });
    chownSync(volume, UID, GID);
    // Where `netready certs` writes; then made read-only, as a mounted Secret is.
    const certs = join(root, 'certs');
    mkdirSync(certs, { mode: 0o700 });
    chownSync(certs, UID, GID);

    // Every program as the image runs it, and with Node's account of its compile cache on stderr.
    const start = (args: string[], nodeFlags?: readonly string[], runtimeEnv: Record<string, string> = {}): Program => {
      const proc = startProgram(image, args, { nodeFlags, env: { ...runtimeEnv, ...DEBUG_CACHE } });
      children.push(proc.child);
      return proc;
    };

    const before = snapshot(root).filter((l) => !l.startsWith(volume) && !l.startsWith(certs));
    const strayBefore = strayFiles([]);

    // collector: its store on the volume (`--data-dir`, as the manifests mount it).
    const collector = start(['collector', '--listen', '127.0.0.1:0', '--data-dir', volume]);
    const { port } = await collector.line('collector listening');
    const url = `http://127.0.0.1:${port}`;
    assert.equal((await postReport(url, makeReport(1, { node: 'image-node-a' }))).status, 202);

    // wait, as the webhook injects it (its own `command`, which must name the ENTRYPOINT's Node
    // and bundle, and its runtime's environment): a real probe, reporting to that collector, exit 0.
    const entrypoint = imageEntrypoint();
    assert.deepEqual(INJECTED_COMMAND, [entrypoint.node, ...INJECTED_NODE_FLAGS, entrypoint.script]);
    const wait = start(
      [
        'wait',
        '--check',
        `tcp://127.0.0.1:${target.port}`,
        '--collector',
        url,
        '--termination-log',
        '',
        '--timeout',
        '20s',
      ],
      INJECTED_NODE_FLAGS,
      injectedProcessEnv(),
    );
    const waited = await wait.exited;
    assert.equal(waited.code, 0, `wait: ${wait.stderr()} ${wait.stdout()}`);
    assert.ok(target.accepted >= 1);
    assertFromCache('wait', wait, [/^chunks\/main-/, /^chunks\/http-client-/]);

    // wait as the uids a mesh makes the webhook give it (with an http check, which loads the HTTP chunk).
    for (const uid of MESH_UIDS) {
      const meshWait = startProgram(
        image,
        ['wait', '--check', `http://127.0.0.1:${port}/metrics`, '--termination-log', '', '--timeout', '20s'],
        { nodeFlags: INJECTED_NODE_FLAGS, env: { ...injectedProcessEnv(), ...DEBUG_CACHE }, uid },
      );
      children.push(meshWait.child);
      assert.equal((await meshWait.exited).code, 0, `wait as ${uid}: ${meshWait.stderr()} ${meshWait.stdout()}`);
      assertFromCache(`wait as ${uid}`, meshWait, [/^chunks\/main-/, /^chunks\/http-client-/]);
    }

    // watch, as the webhook injects it too: /readyz answers 200 while its check passes, and
    // SIGTERM ends it at once.
    const watch = start(
      ['watch', '--listen', '127.0.0.1:0', '--check', `tcp://127.0.0.1:${target.port}`, '--collector', url],
      WATCH_NODE_FLAGS,
      injectedProcessEnv(),
    );
    const { port: watchPort } = await watch.line('watch listening');
    assert.equal((await send(`http://127.0.0.1:${watchPort}`, { path: '/readyz' })).status, 200);
    watch.child.kill('SIGTERM');
    assert.deepEqual(await watch.exited, { code: 0, signal: null }, watch.stderr());
    assertFromCache('watch', watch, [/^chunks\/watch-main-/]);

    const metrics = await send(url, { path: '/metrics' });
    assert.equal(metrics.status, 200);
    assert.equal(samples(metrics.text, 'netready_reports_total')[0]?.value, 2);
    const counts = samples(metrics.text, 'netready_ready_delay_seconds_count');
    assert.deepEqual(counts.find((s) => s.labels.node === 'image-node-a')?.labels, {
      node: 'image-node-a',
      outcome: 'ready',
    });
    assert.ok(
      readdirSync(volume).some((f) => f.endsWith('.db')),
      `store in the volume: ${readdirSync(volume).join(', ')}`,
    );

    collector.child.kill('SIGTERM');
    assert.deepEqual(await collector.exited, { code: 0, signal: null }, collector.stderr());
    assertFromCache('collector', collector, [/^chunks\/collector\.mjs$/]);

    // certs from the same bundle, then the webhook serving them.
    const made = start([
      'certs',
      '--service',
      'netready-webhook',
      '--namespace',
      'netready-system',
      '--out',
      join(certs, 'out'),
    ]);
    assert.equal((await made.exited).code, 0, made.stderr());
    assertFromCache('certs', made, [/^chunks\/certs\.mjs$/]);
    lockDown(certs);
    const webhook = start([
      'webhook',
      '--listen',
      '127.0.0.1:0',
      '--image',
      'registry.example/netready:0.1.0',
      '--tls-cert',
      join(certs, 'out', 'tls.crt'),
      '--tls-key',
      join(certs, 'out', 'tls.key'),
    ]);
    const hook = await webhook.line('webhook listening');
    const review = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/admission/deployment-pod.json'), 'utf8'));
    const answer = await postReview(hook.port, readFileSync(join(certs, 'out', 'ca.crt'), 'utf8'), review);
    assert.equal(answer.status, 200);
    const response = JSON.parse(answer.text).response;
    assert.equal(response.uid, review.request.uid);
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Array<{
      op: string;
      path: string;
      value?: any;
    }>;
    const init = ops.find((o) => o.path.startsWith('/spec/initContainers'));
    const container = Array.isArray(init?.value) ? init.value[0] : init?.value;
    assert.equal(container?.name, 'netready-wait');
    assert.equal(container?.image, 'registry.example/netready:0.1.0');

    webhook.child.kill('SIGTERM');
    assert.deepEqual(await webhook.exited, { code: 0, signal: null }, webhook.stderr());
    assertFromCache('webhook', webhook, [/^chunks\/webhook\.mjs$/]);

    // Nothing written outside the volume (and the certs `netready certs` was asked to write).
    const after = snapshot(root).filter((l) => !l.startsWith(volume) && !l.startsWith(certs));
    assert.deepEqual(after, before);
    assert.deepEqual(strayFiles([]), strayBefore);
  },
);

/** A run's log lines reduced to what does not vary between runs: level, message (digits masked) and field names. */
function outline(stdout: string): string[] {
  return parseLogLines(stdout).map(
    (l) => `${l.level} ${String(l.msg).replace(/\d+/g, 'N')} {${Object.keys(l).sort().join(',')}}`,
  );
}

test(
  'the image without its compile cache: a missing, foreign or stale cache changes nothing in what the wait does, says or writes',
  { timeout: 120_000 },
  async (t) => {
    assert.ok(isRoot, 'this test must run as root (it switches to uid 65532): sudo npm test');
    const root = mkdtempSync(join(tmpdir(), 'netready-image-cache-'));
    chmodSync(root, 0o755);
    const target = await startTcpListener();
    const collector = await startCollectorStub();
    t.after(async () => {
      await target.close();
      await collector.close();
      rmSync(root, { recursive: true, force: true });
    });
    const image = buildImage(root);
    const cache = localImageEnv(image).NODE_COMPILE_CACHE!;
    const tags = readdirSync(cache);
    // Another Node's cache: only directories under other version tags, read-only.
    const foreign = join(root, 'foreign-cache');
    mkdirSync(foreign);
    for (const tag of tags)
      cpSync(join(cache, tag), join(foreign, tag.replace(/^v[\d.]+-/, 'v23.0.0-')), { recursive: true });
    lockDown(foreign);
    // A stale cache: made for a bundle whose start-up chunk has changed since (hash mismatch).
    const staleRoot = join(root, 'stale');
    mkdirSync(staleRoot, { mode: 0o755 });
    const stale = buildImage(staleRoot);
    const main = readdirSync(join(stale.app, 'chunks')).find((f) => f.startsWith('main-'))!;
    chmodSync(join(stale.app, 'chunks', main), 0o644);
    appendFileSync(join(stale.app, 'chunks', main), '\n// changed after the cache was made\n');
    chmodSync(join(stale.app, 'chunks', main), 0o444);

    const cases: { name: string; image: LocalImage; env: Record<string, string | undefined>; expect: RegExp }[] = [
      { name: 'as the image', image, env: {}, expect: /was accepted/ },
      { name: 'no NODE_COMPILE_CACHE', image, env: { NODE_COMPILE_CACHE: undefined }, expect: /^$/ },
      {
        name: 'a missing directory',
        image,
        env: { NODE_COMPILE_CACHE: join(image.app, 'no-such-cache') },
        expect: /Cannot create cache directory: permission denied/,
      },
      {
        name: "another Node's cache",
        image,
        env: { NODE_COMPILE_CACHE: foreign },
        expect: /Cannot create cache directory: permission denied/,
      },
      { name: 'a stale cache', image: stale, env: {}, expect: /code size mismatch.*main-\S+ was not initialized/s },
    ];
    const waitArgs = [
      'wait',
      '--check',
      `tcp://127.0.0.1:${target.port}`,
      '--collector',
      collector.url,
      '--termination-log',
      '',
      '--timeout',
      '20s',
    ];
    const run = async (c: (typeof cases)[number], debug: boolean) => {
      const proc = startProgram(c.image, waitArgs, {
        nodeFlags: INJECTED_NODE_FLAGS,
        env: { ...injectedProcessEnv(), ...c.env, ...(debug ? DEBUG_CACHE : {}) },
      });
      return { ...(await proc.exited), stdout: proc.stdout(), stderr: proc.stderr() };
    };
    const before = snapshot(root);
    const outcomes: Record<string, { code: number | null; stderr: string; lines: string[] }> = {};
    for (const c of cases) {
      // Node's own account says the case is what its name says...
      const debugged = await run(c, true);
      assert.match(debugged.stderr, c.expect, `${c.name}: ${debugged.stderr}`);
      // ...and without it the wait exits, logs and reports the same, with nothing on stderr.
      const r = await run(c, false);
      outcomes[c.name] = { code: r.code, stderr: r.stderr, lines: outline(r.stdout) };
    }
    const expected = outcomes['as the image']!;
    assert.equal(expected.code, 0);
    assert.equal(expected.stderr, '');
    assert.equal(expected.lines.length, 3, expected.lines.join('; '));
    for (const c of cases) assert.deepEqual(outcomes[c.name], expected, c.name);
    assert.equal(collector.reports.length, 2 * cases.length);
    assert.deepEqual(snapshot(root), before, 'nothing written: not the cache, not the bundle');
  },
);

/** POSTs an AdmissionReview to https://127.0.0.1:port/mutate, trusting only `ca`, under the Service's name. */
function postReview(port: number, ca: string, review: unknown): Promise<{ status: number; text: string }> {
  const body = Buffer.from(JSON.stringify(review));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/mutate',
        ca: [ca],
        servername: 'netready-webhook.netready-system.svc',
        agent: false,
        timeout: 5_000,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.once('end', () => resolve({ status: res.statusCode!, text }));
        res.once('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error('request timed out')));
    req.once('error', reject);
    req.end(body);
  });
}
