// The streak rules as a table: a sequence of launches and results, with the exact
// readySince (and pass result) expected after every step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Streak, type Attempt, type PassResult } from '../../src/agent/streak.ts';

/** launch at T; pass attempt #n (0-based launch order) answered at NOW; fail or cancel attempt #n. */
type Step =
  | { launch: number; readySince: number | null }
  | { pass: number; now: number; result: PassResult; readySince: number | null }
  | { fail: number; readySince: number | null }
  | { cancel: number; readySince: number | null }
  | { pacer: [number | null, number | null]; readySince: number | null };

const CASES: { name: string; steps: Step[] }[] = [
  {
    name: 'passes at its first attempt: ready since the wait began (0), however late it looked',
    steps: [
      { launch: 1000, readySince: null },
      { pass: 0, now: 1003, result: 'first', readySince: 0 },
    ],
  },
  {
    name: 'fails twice then passes: midway between the last failing launch and the passing one',
    steps: [
      { launch: 1000, readySince: null },
      { fail: 0, readySince: null },
      { launch: 1010, readySince: null },
      { fail: 1, readySince: null },
      { launch: 1020, readySince: null },
      { pass: 2, now: 1021, result: 'first', readySince: 1015 },
    ],
  },
  {
    name: 'a late pass launched before a failing attempt is stale',
    steps: [
      { launch: 1000, readySince: null },
      { launch: 1010, readySince: null },
      { fail: 1, readySince: null },
      { pass: 0, now: 1150, result: 'stale', readySince: null },
      { launch: 1020, readySince: null },
      { pass: 2, now: 1022, result: 'first', readySince: 1015 },
    ],
  },
  {
    name: 'a first attempt slower than the SYN retransmit counts from when it came back, not from 0',
    steps: [
      { launch: 1000, readySince: null },
      { pass: 0, now: 2000, result: 'first', readySince: 2000 },
    ],
  },
  {
    name: 'a pass slower than the SYN retransmit counts from when it came back',
    steps: [
      { launch: 1000, readySince: null },
      { launch: 1020, readySince: null },
      { fail: 0, readySince: null },
      { pass: 1, now: 2100, result: 'first', readySince: 2100 },
    ],
  },
  {
    name: 'a pass just under the SYN retransmit still counts from its launch',
    steps: [
      { launch: 1000, readySince: null },
      { launch: 1020, readySince: null },
      { pass: 1, now: 2019, result: 'first', readySince: 1010 },
    ],
  },
  {
    name: 'a flap: the failure ends the streak, the next pass starts a new one',
    steps: [
      { launch: 1000, readySince: null },
      { pass: 0, now: 1001, result: 'first', readySince: 0 },
      { launch: 1010, readySince: 0 },
      { fail: 1, readySince: null },
      { launch: 1020, readySince: null },
      { pass: 2, now: 1021, result: 'first', readySince: 1015 },
    ],
  },
  {
    name: 'a failure still in flight cuts the streak back to the first pass launched after it',
    steps: [
      { launch: 1000, readySince: null },
      { pass: 0, now: 1001, result: 'first', readySince: 0 },
      { launch: 1010, readySince: 0 },
      { launch: 1020, readySince: 0 },
      { pass: 2, now: 1021, result: 'later', readySince: 0 },
      { fail: 1, readySince: 1015 },
    ],
  },
  {
    name: 'an older attempt passing after a younger one moves the streak start back',
    steps: [
      { launch: 1000, readySince: null },
      { launch: 1010, readySince: null },
      { pass: 1, now: 1011, result: 'first', readySince: 1005 },
      { pass: 0, now: 1012, result: 'later', readySince: 0 },
    ],
  },
  {
    name: 'pacer window: a pass after a long gap is put inside the window (silent at 1480, answered the probe of 1500)',
    steps: [
      { launch: 1000, readySince: null },
      { fail: 0, readySince: null },
      { pacer: [1480, 1500], readySince: null },
      { launch: 1530, readySince: null },
      { pass: 1, now: 1532, result: 'first', readySince: 1490 },
    ],
  },
  {
    name: "pacer window without the answered probe's stamp: from the silent probe to the launch",
    steps: [
      { launch: 1000, readySince: null },
      { fail: 0, readySince: null },
      { pacer: [1480, null], readySince: null },
      { launch: 1500, readySince: null },
      { pass: 1, now: 1502, result: 'first', readySince: 1490 },
    ],
  },
  {
    name: 'pacer window: a paced attempt launched inside the window bounds it from below',
    steps: [
      { launch: 1000, readySince: null },
      { fail: 0, readySince: null },
      { launch: 1490, readySince: null },
      { pacer: [1480, 1500], readySince: null },
      { launch: 1530, readySince: null },
      { pass: 2, now: 1532, result: 'first', readySince: 1495 },
    ],
  },
  {
    name: "pacer window: a failure after the window means the check's own path opened later; its own launches count",
    steps: [
      { launch: 1000, readySince: null },
      { pacer: [1480, 1500], readySince: null },
      { launch: 1530, readySince: null },
      { fail: 1, readySince: null },
      { fail: 0, readySince: null },
      { launch: 1550, readySince: null },
      { pass: 2, now: 1551, result: 'first', readySince: 1540 },
    ],
  },
  {
    name: 'pacer window later than the passing launch is capped at the launch',
    steps: [
      { launch: 1000, readySince: null },
      { launch: 1500, readySince: null },
      { pacer: [1600, 1620], readySince: null },
      { pass: 1, now: 1502, result: 'first', readySince: 1500 },
    ],
  },
  {
    name: 'pacer window earlier than the previous launch changes nothing',
    steps: [
      { pacer: [900, 920], readySince: null },
      { launch: 1000, readySince: null },
      { launch: 1010, readySince: null },
      { pass: 1, now: 1012, result: 'first', readySince: 1005 },
    ],
  },
  {
    name: 'a cancelled attempt is no result',
    steps: [
      { launch: 1000, readySince: null },
      { cancel: 0, readySince: null },
      { launch: 1010, readySince: null },
      { pass: 1, now: 1012, result: 'first', readySince: 1005 },
    ],
  },
];

for (const { name, steps } of CASES) {
  test(`streak: ${name}`, () => {
    const streak = new Streak(0);
    const attempts: Attempt[] = [];
    for (const [i, step] of steps.entries()) {
      if ('launch' in step) attempts.push(streak.launch(step.launch));
      else if ('pass' in step) assert.equal(streak.pass(attempts[step.pass]!, step.now), step.result, `step ${i}`);
      else if ('fail' in step) streak.fail(attempts[step.fail]!);
      else if ('pacer' in step) streak.pacerWindow(...step.pacer);
      else streak.cancel(attempts[step.cancel]!);
      assert.equal(streak.readySince, step.readySince, `readySince after step ${i}`);
    }
    assert.equal(
      streak.inFlight,
      attempts.length - steps.filter((s) => 'pass' in s || 'fail' in s || 'cancel' in s).length,
    );
  });
}

const SETTLE: { name: string; run: (s: Streak) => void; at: number; settled: boolean }[] = [
  { name: 'no pass yet', run: (s) => void s.launch(1000), at: 5000, settled: false },
  { name: 'inside the window', run: (s) => s.pass(s.launch(1000), 1001), at: 1030, settled: false },
  { name: 'at the window end', run: (s) => s.pass(s.launch(1000), 1001), at: 1031, settled: true },
  {
    name: 'an attempt launched inside the window still out',
    run: (s) => {
      s.pass(s.launch(1000), 1001);
      s.launch(1025);
    },
    at: 1100,
    settled: false,
  },
  {
    name: 'the attempt launched inside the window came back passing',
    run: (s) => {
      s.pass(s.launch(1000), 1001);
      s.pass(s.launch(1025), 1040);
    },
    at: 1040,
    settled: true,
  },
  {
    name: 'an attempt launched after the window is not waited for',
    run: (s) => {
      s.pass(s.launch(1000), 1001);
      s.launch(1031);
    },
    at: 1031,
    settled: true,
  },
];

for (const { name, run, at, settled } of SETTLE) {
  test(`streak settle 30 ms: ${name}`, () => {
    const streak = new Streak(30);
    run(streak);
    assert.equal(streak.settled(at), settled);
  });
}

test('without settle, one pass is settled at once', () => {
  const streak = new Streak(0);
  streak.pass(streak.launch(1000), 1001);
  assert.equal(streak.settled(1001), true);
});
