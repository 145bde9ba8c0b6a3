// parseDuration / formatSeconds: the duration strings of --timeout, --interval and friends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSeconds, parseDuration } from '../../src/lib/duration.ts';

const CASES: [string, number | null][] = [
  ['250ms', 250],
  ['1ms', 1],
  ['30s', 30_000],
  ['1.5s', 1500],
  ['0.25s', 250],
  ['5m', 300_000],
  ['2.5m', 150_000],
  ['1h', 3_600_000],
  ['1m30s', 90_000],
  ['1h2m3s4ms', 3_723_004],
  ['1s500ms', 1500],
  ['  5m\n', 300_000],
  ['0', 0],
  ['0s', 0],
  ['0ms', 0],
  ['', null],
  ['   ', null],
  ['-1s', null],
  ['-0', null],
  ['+5s', null],
  ['5', null],
  ['300', null],
  ['ms', null],
  ['s5', null],
  ['5 s', null],
  ['1m 30s', null],
  ['1.s', null],
  ['.5s', null],
  ['5sec', null],
  ['5min', null],
  ['1d', null],
  ['5S', null],
  ['1e3ms', null],
  ['forever', null],
  ['5m junk', null],
];

for (const [text, want] of CASES) {
  test(`parseDuration(${JSON.stringify(text)}) = ${want}`, () => {
    assert.equal(parseDuration(text), want);
  });
}

const FORMAT: [number, string][] = [
  [0, '0.000 s'],
  [1840, '1.840 s'],
  [2.4, '0.002 s'],
  [300_000, '300.000 s'],
];

for (const [ms, want] of FORMAT) {
  test(`formatSeconds(${ms}) = ${want}`, () => {
    assert.equal(formatSeconds(ms), want);
  });
}
