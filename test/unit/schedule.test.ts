// attemptInterval / readyEstimate: the prober's timing math.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attemptInterval, INTERVAL_GROWTH_MS, INTERVAL_MAX_FACTOR, readyEstimate } from '../../src/agent/schedule.ts';

const INTERVALS: { base: number; elapsed: number; want: number }[] = [
  { base: 20, elapsed: 0, want: 20 },
  { base: 20, elapsed: -500, want: 20 },
  { base: 20, elapsed: 5000, want: 20 * Math.sqrt(1.25) },
  { base: 20, elapsed: 10_000, want: 25 },
  { base: 20, elapsed: 10_001, want: 25 },
  { base: 20, elapsed: 120_000, want: 25 },
  { base: 20, elapsed: Number.MAX_SAFE_INTEGER, want: 25 },
  { base: 1, elapsed: 0, want: 1 },
  { base: 1, elapsed: 60_000, want: 1.25 },
  { base: 10_000, elapsed: 10_000, want: 12_500 },
];

for (const { base, elapsed, want } of INTERVALS) {
  test(`attemptInterval(${base}, ${elapsed}) ≈ ${want.toFixed(3)}`, () => {
    const got = attemptInterval(base, elapsed);
    assert.ok(Math.abs(got - want) < 1e-9, `got ${got}`);
  });
}

test('the growth takes 10 s, up to 1.25 times the base', () => {
  assert.equal(INTERVAL_GROWTH_MS, 10_000);
  assert.equal(INTERVAL_MAX_FACTOR, 1.25);
});

test('attemptInterval never decreases and stays within [base, 1.25 base] over the first minute', () => {
  for (const base of [1, 5, 20, 250]) {
    let previous = -Infinity;
    for (let elapsed = -1000; elapsed <= 60_000; elapsed += 37) {
      const got = attemptInterval(base, elapsed);
      assert.ok(got >= previous, `base ${base}: ${got} at ${elapsed} ms < ${previous} just before`);
      assert.ok(
        got >= base && got <= 1.25 * base,
        `base ${base}: ${got} at ${elapsed} ms outside [${base}, ${1.25 * base}]`,
      );
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
