// The PostgreSQL store's own cells in memory (postgres-own-cells.ts): what it
// holds is what was committed under its current replica id, for the minutes a
// summary re-reads; after a commit whose outcome is unknown, a new id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Cell, MINUTE_MS, SCOPE } from '../../src/collector/aggregates.ts';
import { OwnCells } from '../../src/collector/postgres-own-cells.ts';

const T0 = Date.parse('2025-11-25T13:00:00Z');
const SETTLE = 3 * MINUTE_MS;

/** A sequence as the database hands it out. */
function sequence() {
  let next = 0;
  return { query: async () => ({ rows: [{ id: ++next }] }) } as never;
}

const cell = (minuteMs: number, key: string, reports: number): Cell => ({
  minuteMs,
  scope: SCOPE.node,
  key,
  bucket: 3,
  reports,
  timeouts: 0,
  maxDelay: 1,
});

/** What the view adds for [from, until): [key, reports] summed per key. */
function held(own: OwnCells, from: number, until: number): [string, number][] {
  const got = new Map<string, number>();
  own.view()?.add(from, until, (_s, key, _b, reports) => got.set(key, (got.get(key) ?? 0) + reports));
  return [...got].sort();
}

test('own cells: held per id, minutes past the re-read ones dropped, a new id (nothing held) after forget()', async () => {
  const db = sequence();
  const own = new OwnCells(SETTLE);
  assert.equal(own.view(), null, 'no id before the first batch');
  const first = await own.replica(db);
  assert.equal(first, 1);
  assert.equal(await own.replica(db), 1, 'the same id for the next batch');
  own.committed(1, [cell(T0, 'a', 2), cell(T0, 'b', 1)], T0 + 5);
  own.committed(1, [cell(T0, 'a', 3)], T0 + 9);
  assert.deepEqual(held(own, T0, T0 + MINUTE_MS), [
    ['a', 5],
    ['b', 1],
  ]);
  assert.deepEqual(own.view()!.replica, 1);
  // Six minutes later: T0 is no longer re-read (settle 3 min, and 2 more kept): dropped, and the view says so.
  own.committed(1, [cell(T0 + 6 * MINUTE_MS, 'c', 1)], T0 + 6 * MINUTE_MS);
  assert.equal(own.view()!.fromMs, T0 + MINUTE_MS);
  assert.deepEqual(held(own, T0, T0 + 7 * MINUTE_MS), [['c', 1]]);
  // A batch failed: its cells may or may not be in the table under id 1. A batch still
  // committing under id 1 is not added to what a new id holds.
  own.forget();
  assert.equal(own.view(), null);
  const second = await own.replica(db);
  assert.equal(second, 2);
  own.committed(1, [cell(T0 + 6 * MINUTE_MS, 'late', 9)], T0 + 6 * MINUTE_MS);
  own.committed(2, [cell(T0 + 6 * MINUTE_MS, 'c', 4)], T0 + 6 * MINUTE_MS + 1);
  assert.deepEqual(held(own, T0, T0 + 7 * MINUTE_MS), [['c', 4]]);
  assert.equal(own.view()!.replica, 2);
});
