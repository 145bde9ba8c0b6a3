// When kubelet's probe launches the watch's next round: the rule as a table with exact expected
// values, then the loop itself on mocked timers and clock (exact times, no real waiting): rounds
// move onto the probes' phase, never more than an interval apart, and a streak of failed rounds
// is detected exactly when it would be without probes.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { CodedError } from '../../src/lib/errors.ts';
import type { Check } from '../../src/agent/prober.ts';
import { ProbeAlignment } from '../../src/agent/watch-align.ts';
import { runWatch, type WatchOptions } from '../../src/agent/watch-loop.ts';

test('ProbeAlignment: a probe launches the next round when it is due within a tenth of the interval, or to move the rounds onto probes that come every interval (or a multiple of it)', () => {
  const cases: [name: string, probes: [atMs: number, lastLaunchMs: number, launchNow: boolean][]][] = [
    [
      'every 2 s, half an interval off the rounds: the second probe moves them, then each is due',
      [
        [1000, 0, false], // nothing to go by yet
        [3000, 2000, true], // a probe every interval: one round 1 s early
        [5000, 3000, true],
        [6950, 5000, true], // 50 ms early (kubelet's jitter): within the slack
        [9000, 6950, true],
      ],
    ],
    [
      'every 2 s, just after each round: they (nearly) share a wake-up already',
      [
        [2005, 2000, false],
        [4005, 4000, false],
        [6005, 6000, false],
      ],
    ],
    [
      'every 10 s (five intervals), off the rounds: moved once',
      [
        [1000, 0, false],
        [11000, 10000, true],
        [21000, 20999, false], // the rounds' own timer came first, by a millisecond
        [31000, 30000, true],
      ],
    ],
    [
      'every 3 s: not on the rounds\u2019 grid, only the probes that find a round due launch it',
      [
        [1000, 0, false],
        [4000, 2000, true],
        [7000, 6000, false],
        [10000, 8000, true],
      ],
    ],
    [
      'a flood of requests: never more than one round per 1.8 s',
      [
        [2500, 2000, false],
        [2510, 2000, false],
        [2520, 2000, false],
        [3900, 2000, true],
        [3910, 3900, false],
      ],
    ],
    [
      'two probes per interval (readiness and liveness), off the rounds: neither launches',
      [
        [1000, 0, false],
        [1500, 0, false],
        [3000, 2000, false],
        [3500, 2000, false],
      ],
    ],
  ];
  for (const [name, probes] of cases) {
    const alignment = new ProbeAlignment(2000);
    for (const [at, launch, expected] of probes)
      assert.equal(alignment.probed(at, launch), expected, `${name}: probe at ${at} ms, last round at ${launch} ms`);
  }
});

const OPTIONS: WatchOptions = {
  intervalMs: 2000,
  failures: 3,
  recoverIntervalMs: 20,
  attemptTimeoutMs: 900,
  maxInFlight: 4,
};

/** A check whose attempts pass at once while `broken()` is false, and else hang until their deadline; launch times recorded. */
function fakeCheck(broken: () => boolean, launches: number[]): Check {
  return {
    spec: 'fake',
    kind: 'tcp',
    attempt(signal) {
      launches.push(Date.now());
      if (!broken()) return Promise.resolve();
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(new CodedError('ETIMEDOUT', 'no answer')), { once: true }),
      );
    },
  };
}

interface Run {
  /** Launch times of the watch's rounds (the recovery's attempts, from the detection on, left out). */
  readonly rounds: number[];
  /** When the network was declared lost, with the start of the streak; null if not within the run. */
  readonly lost: { readonly startedMs: number; readonly detectedMs: number } | null;
}

/**
 * Runs the watch on mocked timers until `untilMs`: the check breaks at `breakAtMs`, and
 * /readyz is probed at each of `probesAtMs` (answered, so the probe's callback runs then).
 */
async function simulate(
  t: TestContext,
  opts: { readonly probesAtMs: readonly number[]; readonly breakAtMs?: number; readonly untilMs: number },
): Promise<Run> {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const launches: number[] = [];
  let lost: Run['lost'] = null;
  const stop = new AbortController();
  const watch = runWatch(
    [fakeCheck(() => Date.now() >= (opts.breakAtMs ?? Infinity), launches)],
    OPTIONS,
    { now: () => Date.now() },
    stop.signal,
    {
      lost(e) {
        lost ??= { startedMs: e.startedMs, detectedMs: e.detectedMs };
      },
      restored() {},
    },
  );
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  await flush();
  const probes = new Set(opts.probesAtMs);
  for (let now = 1; now <= opts.untilMs; now++) {
    t.mock.timers.tick(1);
    await flush();
    if (probes.has(now)) {
      watch.probed();
      await flush();
    }
  }
  stop.abort();
  await watch.done;
  const detected = (lost as Run['lost'])?.detectedMs ?? Infinity;
  return { rounds: launches.filter((at) => at < detected), lost };
}

/** Probes every `periodMs` from `firstMs` up to `untilMs`. */
const every = (periodMs: number, firstMs: number, untilMs: number) =>
  Array.from({ length: Math.floor((untilMs - firstMs) / periodMs) + 1 }, (_, i) => firstMs + i * periodMs);

test('runWatch: without probes, a round every interval', async (t) => {
  const run = await simulate(t, { probesAtMs: [], untilMs: 8500 });
  assert.deepEqual(run.rounds, [0, 2000, 4000, 6000, 8000]);
});

test('runWatch: probes every interval, off the rounds: the second one moves the rounds onto the probes, none more than an interval apart', async (t) => {
  const run = await simulate(t, { probesAtMs: every(2000, 1300, 12000), untilMs: 12000 });
  assert.deepEqual(run.rounds, [0, 2000, 3300, 5300, 7300, 9300, 11300]);
});

test('runWatch: a probe a little before the round is due launches it then', async (t) => {
  const run = await simulate(t, { probesAtMs: every(2000, 1950, 8000), untilMs: 8000 });
  assert.deepEqual(run.rounds, [0, 1950, 3950, 5950, 7950]);
});

test('runWatch: a streak is detected as without probes: its rounds an interval apart, whatever the probes do', async (t) => {
  // Probes every 2 s on the rounds' phase, and a flood of requests while the checks fail: the
  // streak's rounds stay on their own timer.
  const flood = every(100, 8000, 14000);
  const run = await simulate(t, {
    probesAtMs: [...every(2000, 1950, 6000), ...flood],
    breakAtMs: 6500,
    untilMs: 15000,
  });
  // Rounds at 1950, 3950, 5950 pass; 7950 is the first after the break, then 9950 and 11950.
  assert.deepEqual(run.rounds, [0, 1950, 3950, 5950, 7950, 9950, 11950]);
  assert.deepEqual(run.lost, { startedMs: 7950, detectedMs: 11950 + OPTIONS.attemptTimeoutMs });
  // The README's window: between (failures - 1) x interval and failures x interval + attempt timeout after the break.
  const after = run.lost!.detectedMs - 6500;
  assert.ok(after >= (OPTIONS.failures - 1) * OPTIONS.intervalMs, String(after));
  assert.ok(after <= OPTIONS.failures * OPTIONS.intervalMs + OPTIONS.attemptTimeoutMs, String(after));
});
