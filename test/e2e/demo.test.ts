// `npm run demo` end to end, with DEMO_EXIT=1 so it leaves right after printing:
// the real collector, three simulated pods on three nodes, their agents
// reporting to it; the table, the per-node summary and the dashboard's URL are
// printed, and nothing is left behind. Needs root and the testbed's tools (it
// fails naming what is missing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { run, ROOT } from '../helpers/agent.ts';
import { SERVICES } from './testbed.ts';

const netns = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith('nr'));
/** Pids of processes whose command line listens on the demo collector's address. */
const collectors = () =>
  readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${SERVICES.collector.v4}:9470`);
      } catch {
        return false; // gone meanwhile
      }
    });
const demoDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('netready-demo-'));

test(
  'npm run demo (DEMO_EXIT=1): a row per pod, a summary per node, the dashboard URL, nothing left',
  { timeout: 120_000 },
  async () => {
    const dirsBefore = demoDirs();
    const r = await run([`${ROOT}scripts/demo.ts`], {
      argv0: [process.execPath],
      env: { DEMO_EXIT: '1', DEMO_PODS: '3', DEMO_MAX_DELAY: '1' },
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);

    // The per-pod table: one row each, the reported delay a number of seconds (the truth a window when nft was
    // slow), and an error against it unless the agent first looked after the programming.
    for (const pod of ['demo-0', 'demo-1', 'demo-2']) {
      assert.match(
        r.stdout,
        new RegExp(
          `^\\| ${pod} \\| node-[abc] \\| (\\d+\\.\\d{3}–)?\\d+\\.\\d{3} s \\| \\d+\\.\\d{3} s \\| (-?\\d+\\.\\d ms|none: first look at \\d+\\.\\d{3} s, after programming) \\|`,
          'm',
        ),
        r.stdout,
      );
    }
    // The per-node summary, from the collector: three nodes, one report each.
    const summary = r.stdout.split('per node (from the collector')[1] ?? '';
    for (const node of ['node-a', 'node-b', 'node-c']) {
      assert.match(summary, new RegExp(`^\\| ${node} \\| 1 \\| 0 \\| \\d+\\.\\d{3} s \\|`, 'm'), r.stdout);
    }
    assert.ok(r.stdout.includes(`dashboard: http://${SERVICES.collector.v4}:9470/`), r.stdout);
    assert.match(r.stdout, /ssh -L 9470:/);

    // Nothing left: no testbed namespace, no store, no collector still listening.
    assert.deepEqual(netns(), []);
    assert.deepEqual(demoDirs(), dirsBefore);
    // (Looked up in /proc, not by connecting: once the testbed is gone, that address routes off the machine.)
    assert.deepEqual(collectors(), []);
  },
);
