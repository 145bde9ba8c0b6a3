// The watch's rules as tables with exact expected values: the failure streak
// (when the network counts as lost, and the errors it carries), the per-minute
// outage cap, and the outage document built from monotonic times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outageSchema } from '../../src/lib/report.ts';
import { FailureStreak, type RoundResult, type StreakVerdict } from '../../src/agent/watch-streak.ts';
import { buildOutage, OutageCap } from '../../src/agent/watch-outage.ts';

test('FailureStreak: the threshold-th consecutive failed round is lost, from the first failure of the streak; a passing round resets', () => {
  const rows: [launchMs: number, round: RoundResult, expected: StreakVerdict][] = [
    [0, [null, null], { state: 'ok' }],
    [2000, ['timeout', null], { state: 'failing', failures: 1 }],
    [4000, [null, null], { state: 'ok' }], // a flap: the streak starts over
    [6000, [null, 'refused'], { state: 'failing', failures: 1 }],
    [8000, ['timeout', 'refused'], { state: 'failing', failures: 2 }],
    [10000, ['timeout', null], { state: 'lost', startedMs: 6000 }],
    [12000, ['timeout', null], { state: 'lost', startedMs: 6000 }],
  ];
  const streak = new FailureStreak(3, 2);
  for (const [launch, round, expected] of rows)
    assert.deepEqual(streak.record(launch, round), expected, `round at ${launch}`);
  // Only the streak's rounds: the flap at 2000 ms is forgotten.
  assert.deepEqual(streak.errors(), [{ timeout: 3 }, { refused: 2 }]);
  streak.reset();
  assert.deepEqual(streak.errors(), [{}, {}]);
  assert.deepEqual(streak.record(14000, ['x', null]), { state: 'failing', failures: 1 });
});

test('FailureStreak: a threshold of 1 is lost at the first failed round', () => {
  assert.deepEqual(new FailureStreak(1, 1).record(500, ['timeout']), { state: 'lost', startedMs: 500 });
});

test('OutageCap: at most N in any 60 s; the held back are counted and carried by the next one sent', () => {
  const cap = new OutageCap(2);
  const rows: [nowMs: number, expected: ReturnType<OutageCap['take']>][] = [
    [0, { send: true, dropped: 0 }],
    [10_000, { send: true, dropped: 0 }],
    [20_000, { send: false }],
    [59_999, { send: false }],
    [60_000, { send: true, dropped: 2 }], // the one at 0 left the window
    [65_000, { send: false }],
    [70_000, { send: true, dropped: 1 }],
  ];
  for (const [now, expected] of rows) assert.deepEqual(cap.take(now), expected, `at ${now}`);
  const none = new OutageCap(0);
  assert.deepEqual([none.take(0), none.take(1)], [{ send: false }, { send: false }]);
  assert.equal(none.dropped, 2);
});

test('buildOutage: wall times from the monotonic origin, whole milliseconds so that endedAt - startedAt is the duration, a document the collector takes', () => {
  const doc = buildOutage(
    {
      agentVersion: '0.1.0',
      pod: { name: 'web-1', namespace: 'shop', uid: 'u-1', node: 'node-a', ips: ['192.0.2.10'] },
      checks: [
        { spec: 'gateway', kind: 'gateway' },
        { spec: 'tcp://192.0.2.1:443', kind: 'tcp' },
      ],
      originWallMs: Date.parse('2026-12-02T01:00:00.000Z'),
    },
    { startedMs: 10_000.4, detectedMs: 14_900, endedMs: 17_012.6, errors: [{}, { timeout: 3, unreachable: 1 }] },
    4,
  );
  assert.deepEqual(doc, {
    schemaVersion: 1,
    kind: 'outage',
    agentVersion: '0.1.0',
    pod: { name: 'web-1', namespace: 'shop', uid: 'u-1', node: 'node-a', ips: ['192.0.2.10'] },
    startedAt: '2026-12-02T01:00:10.000Z',
    detectedAt: '2026-12-02T01:00:14.900Z',
    endedAt: '2026-12-02T01:00:17.013Z',
    durationSeconds: 7.013,
    checks: [
      { spec: 'gateway', kind: 'gateway', errors: {} },
      { spec: 'tcp://192.0.2.1:443', kind: 'tcp', errors: { timeout: 3, unreachable: 1 } },
    ],
    dropped: 4,
  });
  assert.ok(outageSchema.safeParse(doc).success);
});
