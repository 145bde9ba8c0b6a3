// The bundle the image runs: built, copied alone (no node_modules anywhere up
// the tree), it starts each command and does the agent's job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { run, ROOT } from './helpers/agent.ts';
import { startCollectorStub, startTcpListener } from './helpers/servers.ts';
import { reportSchema } from '../src/lib/report.ts';

test('the bundle runs alone: version, wait --dry-run, and a real wait with a report', async (t) => {
  const build = mkdtempSync(join(tmpdir(), 'netready-build-'));
  const alone = mkdtempSync(join(tmpdir(), 'netready-alone-'));
  const target = await startTcpListener();
  const collector = await startCollectorStub();
  t.after(async () => {
    rmSync(build, { recursive: true, force: true });
    rmSync(alone, { recursive: true, force: true });
    await target.close();
    await collector.close();
  });
  execFileSync(process.execPath, ['scripts/build.ts', join(build, 'dist')], { cwd: ROOT, stdio: 'pipe' });
  cpSync(join(build, 'dist'), join(alone, 'app'), { recursive: true });
  const entry = join(alone, 'app', 'netready.mjs');
  const argv0 = [process.execPath, entry];

  // Each command's code is its own chunk, loaded on demand: the entry stays tiny.
  assert.ok(statSync(entry).size < 4096, `entry is ${statSync(entry).size} bytes`);
  assert.ok(readdirSync(join(alone, 'app', 'chunks')).some((f) => f.endsWith('.mjs')));
  // pino is in every program, its worker-thread transports and file streams in none (scripts/build.ts stubs them).
  for (const chunk of readdirSync(join(alone, 'app', 'chunks')).filter((f) => f.endsWith('.mjs'))) {
    const code = readFileSync(join(alone, 'app', 'chunks', chunk), 'utf8');
    for (const gone of ['thread-stream', 'sonic-boom']) assert.ok(!code.includes(gone), `${chunk} holds ${gone}`);
    if (chunk.startsWith('main-'))
      assert.ok(!code.includes('node:worker_threads'), `the agent's ${chunk} loads worker_threads`);
    // undici (its llhttp parser in WebAssembly) only in the agent's HTTP chunk, which the agent import()s when it needs HTTP,
    // and that without HTTP/2 or undici's non-SIMD parser copy (scripts/build.ts stubs them).
    if (chunk.startsWith('main-')) assert.ok(!code.includes('WebAssembly'), `the agent's ${chunk} holds undici`);
    // The agent validates with zod/mini; full zod (the report contract's schemas, src/lib/report.ts) is the collector's.
    if (chunk.startsWith('main-')) assert.ok(!code.includes('"ZodObject"'), `the agent's ${chunk} holds full zod`);
    if (chunk.startsWith('http-client-')) {
      assert.ok(code.includes('WebAssembly'), `${chunk} lacks undici`);
      assert.ok(!code.includes('node:http2'), `${chunk} holds HTTP/2`);
      assert.ok(code.length < 200_000, `${chunk} is ${code.length} bytes`);
    }
  }

  const version = await run(['version'], { argv0 });
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);

  const dry = await run(['wait', '--dry-run', '--check', 'dns:example.test'], { argv0 });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(JSON.parse(dry.stdout).checks[0].name, 'example.test');

  const wait = await run(
    ['wait', '--check', `tcp://127.0.0.1:${target.port}`, '--collector', collector.url, '--termination-log', ''],
    {
      argv0,
      env: { NETREADY_POD_NAME: 'bundle-test' },
    },
  );
  assert.equal(wait.code, 0, wait.stderr);
  assert.equal(reportSchema.parse(collector.reports[0]).pod.name, 'bundle-test');

  // An http check and the report, both through the bundled undici.
  const http = await run(
    ['wait', '--check', `${collector.url}/`, '--collector', collector.url, '--termination-log', ''],
    { argv0 },
  );
  assert.equal(http.code, 0, http.stderr);
  assert.equal(collector.reports.length, 2);

  const bad = await run(['wait', '--timeout', 'never'], { argv0 });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--timeout "never"/);
});
