// SIGTERM / SIGINT while waiting: a prompt exit with 128 + the signal number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWait } from './helpers/agent.ts';
import { freePort } from './helpers/servers.ts';

for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`${signal} while waiting exits ${code} promptly`, async () => {
    let signalledAt = 0;
    const r = await runWait(['--check', `tcp://127.0.0.1:${await freePort()}`], {
      onSpawn(child) {
        // Signal once the agent is waiting (its first log line), not while Node is still starting.
        child.stdout!.once('data', () => {
          signalledAt = Date.now();
          child.kill(signal);
        });
      },
    });
    assert.equal(r.code, code);
    assert.ok(signalledAt > 0);
    assert.ok(r.logs.some((l) => l.level === 'warn' && l.msg === `${signal} while waiting; exiting`));
    // The requirement is 100 ms; a loaded CI machine gets slack here, the benchmark measures it.
    assert.ok(r.exitedAt - signalledAt < 1000, `exited ${r.exitedAt - signalledAt} ms after ${signal}`);
  });
}
