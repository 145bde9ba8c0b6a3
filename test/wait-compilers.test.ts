// A wait that lasts turns V8's optimizing compilers off, and turns them on again before the report,
// so that a built-in module loaded after the wait (node:tls for an https collector) is still
// compiled from Node's code cache: a changed flag hash rejects that cache (src/agent/compilers.ts).
// It runs the built bundle, as the image does: run from source, the agent has node:tls loaded
// before the wait ends, and the test could not tell whether the compilers were turned back on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logLineSeen, ROOT, runWait as runWaitFromSource } from './helpers/agent.ts';
import { freePort, startTcpListener } from './helpers/servers.ts';

const dist = mkdtempSync(join(tmpdir(), 'netready-compilers-'));
before(() => execFileSync(process.execPath, ['scripts/build.ts', dist], { cwd: ROOT, stdio: 'pipe' }));
after(() => rmSync(dist, { recursive: true, force: true }));

const runWait = (args: string[], options: Parameters<typeof runWaitFromSource>[1] = {}) =>
  runWaitFromSource(args, { ...options, argv0: [process.execPath, join(dist, 'netready.mjs')] });

const OFF_LINE = 'optimizing compilers off while waiting';

test('a wait that lasts: compilers off while waiting, on again before the report; node:tls keeps its code cache', async (t) => {
  const port = await freePort();
  let target: Awaited<ReturnType<typeof startTcpListener>> | undefined;
  t.after(() => target?.close());
  const r = await runWait(
    [
      '--check',
      `tcp://127.0.0.1:${port}`,
      '--collector',
      `https://127.0.0.1:${await freePort()}/`,
      '--report-budget',
      '300ms',
      '--log-level',
      'debug',
    ],
    {
      // Node logs on stderr whether each built-in module's code cache was accepted or rejected.
      env: { NODE_DEBUG_NATIVE: 'CODE_CACHE' },
      onSpawn: (child) => {
        // The check passes once the agent has turned the compilers off.
        void logLineSeen(child, OFF_LINE).then(async () => {
          target = await startTcpListener(port);
        });
      },
    },
  );
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.ok(
    r.logs.some((l) => l.msg?.startsWith('network ready')),
    'detected',
  );
  assert.ok(
    r.logs.some((l) => l.msg?.startsWith('report not delivered')),
    'the https delivery was tried (nothing listens)',
  );
  assert.match(r.stderr, /Code cache of tls \S+ is accepted/);
  assert.deepEqual(r.stderr.match(/Code cache of \S+ \S+ is rejected/g) ?? [], []);
});

test('a network up at once: the compilers are never touched', async (t) => {
  const target = await startTcpListener();
  t.after(() => target.close());
  const r = await runWait(['--check', `tcp://127.0.0.1:${target.port}`, '--log-level', 'debug']);
  assert.equal(r.code, 0);
  assert.equal(r.logs.filter((l) => l.msg === OFF_LINE).length, 0);
});
