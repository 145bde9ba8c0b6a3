// attemptInterval / readyEstimate: the prober's timing math.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attemptInterval, INTERVAL_DOUBLING_MS, readyEstimate } from '../../src/agent/schedule.ts';

const INTERVALS: { base: number; elapsed: number; want: number }[] = [
  { base: 20, elapsed: 0, want: 20 },
  { base: 20, elapsed: -500, want: 20 },
  { base: 20, elapsed: 5000, want: 20 * Math.SQRT2 },
  { base: 20, elapsed: 10_000, want: 40 },
  { base: 20, elapsed: 10_001, want: 40 },
  { base: 20, elapsed: 120_000, want: 40 },
  { base: 20, elapsed: Number.MAX_SAFE_INTEGER, want: 40 },
  { base: 1, elapsed: 0, want: 1 },
  { base: 1, elapsed: 60_000, want: 2 },
  { base: 10_000, elapsed: 10_000, want: 20_000 },
];

for (const { base, elapsed, want } of INTERVALS) {
  test(`attemptInterval(${base}, ${elapsed}) ≈ ${want.toFixed(3)}`, () => {
    const got = attemptInterval(base, elapsed);
    assert.ok(Math.abs(got - want) < 1e-9, `got ${got}`);
  });
}

test('the doubling takes 10 s', () => {
  assert.equal(INTERVAL_DOUBLING_MS, 10_000);
});

test('attemptInterval never decreases and stays within [base, 2 base] over the first minute', () => {
  for (const base of [1, 5, 20, 250]) {
    let previous = -Infinity;
    for (let elapsed = -1000; elapsed <= 60_000; elapsed += 37) {
      const got = attemptInterval(base, elapsed);
      assert.ok(got >= previous, `base ${base}: ${got} at ${elapsed} ms < ${previous} just before`);
      assert.ok(got >= base && got <= 2 * base, `base ${base}: ${got} at ${elapsed} ms outside [${base}, ${2 * base}]`);
      previous = got;
    }
  }
});

const ESTIMATES: { passed: number; previous: number | null; want: number }[] = [
  { passed: 120, previous: null, want: 120 },
  { passed: 0, previous: null, want: 0 },
  { passed: 120, previous: 100, want: 110 },
  { passed: 1840.5, previous: 1800.5, want: 1820.5 },
  { passed: 100, previous: 100, want: 100 },
];

for (const { passed, previous, want } of ESTIMATES) {
  test(`readyEstimate(${passed}, ${previous}) = ${want}`, () => {
    assert.equal(readyEstimate(passed, previous), want);
  });
}
