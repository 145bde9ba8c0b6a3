// PendingCells: the SQLite store's minute cells held in memory until written.
// Table of operations with the exact cells expected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cell } from '../../src/collector/aggregates.ts';
import { PendingCells } from '../../src/collector/pending-cells.ts';

const M = 60_000;
const cell = (
  minuteMs: number,
  scope: 0 | 1,
  key: string,
  bucket: number,
  reports = 1,
  timeouts = 0,
  maxDelay = 1,
): Cell => ({
  minuteMs,
  scope,
  key,
  bucket,
  reports,
  timeouts,
  maxDelay,
});
const all = (p: PendingCells) => {
  const out: Cell[] = [];
  p.forEach(0, Number.POSITIVE_INFINITY, (c) => out.push({ ...c }));
  return out;
};

test('add merges cells of the same minute, scope, key and bucket: counts add up, the longest delay is kept', () => {
  const p = new PendingCells();
  p.add([cell(M, 0, 'n1', 3, 1, 0, 2.5), cell(M, 1, 'ns', 3, 1, 0, 2.5)]);
  p.add([cell(M, 0, 'n1', 3, 2, 1, 1.0), cell(M, 0, 'n1', 4, 1, 1, 9)]);
  assert.equal(p.size, 3);
  assert.deepEqual(all(p), [
    cell(M, 0, 'n1', 3, 3, 1, 2.5),
    cell(M, 1, 'ns', 3, 1, 0, 2.5),
    cell(M, 0, 'n1', 4, 1, 1, 9),
  ]);
});

test('take: minutes before the bound only, oldest first, in (scope, key, bucket) order, at most `limit`', () => {
  const p = new PendingCells();
  p.add([cell(M, 1, 'a', 0), cell(M, 0, 'b', 2), cell(M, 0, 'b', 1), cell(M, 0, 'a', 5)]);
  p.add([cell(2 * M, 0, 'a', 0)]);
  assert.deepEqual(p.take(2 * M, 3), [cell(M, 0, 'a', 5), cell(M, 0, 'b', 1), cell(M, 0, 'b', 2)]);
  assert.equal(p.oldestMinute(), M);
  assert.deepEqual(p.take(2 * M, 3), [cell(M, 1, 'a', 0)]);
  // The bound's own minute stays.
  assert.deepEqual(p.take(2 * M, 3), []);
  assert.equal(p.oldestMinute(), 2 * M);
  assert.equal(p.size, 1);
});

test('cells taken and put back (a failed write) merge again, and the minutes stay in order', () => {
  const p = new PendingCells();
  p.add([cell(M, 0, 'a', 0, 2)]);
  const taken = p.take(2 * M, 10);
  p.add([cell(2 * M, 0, 'a', 0, 1), cell(M, 0, 'a', 0, 1)]);
  p.add(taken);
  assert.equal(p.oldestMinute(), M);
  assert.deepEqual(p.take(3 * M, 10), [cell(M, 0, 'a', 0, 3), cell(2 * M, 0, 'a', 0, 1)]);
  assert.equal(p.size, 0);
  assert.equal(p.oldestMinute(), null);
});

test('forEach gives the cells of minutes in [from, until); dropBefore forgets older minutes', () => {
  const p = new PendingCells();
  p.add([cell(M, 0, 'a', 0), cell(2 * M, 0, 'a', 0, 5), cell(3 * M, 1, 'x', 1)]);
  const seen: number[] = [];
  p.forEach(2 * M, 3 * M, (c) => seen.push(c.minuteMs, c.reports));
  assert.deepEqual(seen, [2 * M, 5]);
  p.dropBefore(3 * M);
  assert.equal(p.size, 1);
  assert.deepEqual(all(p), [cell(3 * M, 1, 'x', 1)]);
});
