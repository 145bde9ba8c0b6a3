import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nestsDeeperThan } from '../../src/lib/json-depth.ts';

const nested = (levels: number) => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`);

test('nestsDeeperThan: exact depths, wide and deep values, no recursion', () => {
  const TABLE: [unknown, number, boolean][] = [
    [1, 0, false],
    [null, 0, false],
    ['text', 0, false],
    [{}, 0, true],
    [{}, 1, false],
    [[], 1, false],
    [{ a: [1] }, 2, false],
    [{ a: [1] }, 1, true],
    [{ a: 1, b: { c: { d: {} } } }, 4, false],
    [{ a: 1, b: { c: { d: {} } } }, 3, true],
    [nested(100), 100, false],
    [nested(101), 100, true],
    [Array.from({ length: 10_000 }, () => ({ x: [1] })), 3, false],
  ];
  for (const [value, max, expected] of TABLE)
    assert.equal(nestsDeeperThan(value, max), expected, `${JSON.stringify(value).slice(0, 40)} > ${max}`);
  // Far deeper than any recursive walk survives.
  assert.equal(nestsDeeperThan(nested(500_000), 64), true);
  assert.equal(nestsDeeperThan({ spec: nested(500_000) }, 1_000_000), false);
});
