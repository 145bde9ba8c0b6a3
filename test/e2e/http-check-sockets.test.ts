// An http:// check on a blocked network: every attempt's connection is still being made (SYN-SENT)
// when the attempt times out, and the agent must drop it then. Left to the kernel, each stays ~2 min
// and the open sockets (fds, memory) grow with every attempt until the container is OOM-killed.
// Run as root: `node --test test/e2e/http-check-sockets.test.ts`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describeRun, runAgent, sleep } from './agent-in-pod.ts';
import { createTestbed, SERVICES, type Testbed } from './testbed.ts';

let bed: Testbed;
before(async () => {
  bed = await createTestbed();
});
after(() => bed?.close());

test('http check on a blocked network: connecting sockets are dropped with their attempt, not left to pile up', async () => {
  const pod = await bed.createPod({ blocked: true });
  const run = runAgent(bed, pod, ['--timeout', '6s', '--check', `http://${SERVICES.api.v4}:443/healthz`]);
  // ~4 s of probing at up to 50 attempts a second, each given --attempt-timeout (900 ms): at most
  // ~45 connect at once. Left behind, they were ~180 at this point.
  await sleep(5000);
  const ss = await bed.podRun(pod, ['ss', '-tn', 'state', 'syn-sent']);
  const connecting = ss.stdout.trim().split('\n').length - 1;
  const r = await run;
  assert.equal(r.code, 1, describeRun(r));
  assert.ok(connecting < 100, `${connecting} sockets still connecting in the pod`);
});
