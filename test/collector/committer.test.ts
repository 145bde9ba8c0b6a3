// The group committer (src/collector/committer.ts): which items each commit
// takes, and how many commits run at once, driven by a hand-cranked schedule
// and commits that finish when the test says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommitter } from '../../src/collector/committer.ts';

/** A committer whose scheduled turns and commits the test runs by hand. */
function cranked(options: { maxBatch: number; concurrency?: number }) {
  const turns: (() => void)[] = [];
  const commits: { items: readonly number[]; finish: (fail?: Error) => void }[] = [];
  const committer = new GroupCommitter<number, string>(
    (items) =>
      new Promise((resolve, reject) =>
        commits.push({ items, finish: (fail) => (fail ? reject(fail) : resolve(items.map((i) => `id${i}`))) }),
      ),
    { ...options, schedule: (fn) => turns.push(fn) },
  );
  const settle = () => new Promise((r) => setImmediate(r));
  /** Lets finished commits answer, then runs one scheduled turn. */
  const turn = async () => {
    await settle();
    for (const fn of turns.splice(0)) fn();
    await settle();
  };
  return { committer, commits, turn };
}

test('one commit at a time by default: what arrives during a commit is the next batch, in order, at most maxBatch', async () => {
  const { committer, commits, turn } = cranked({ maxBatch: 3 });
  const answers = [1, 2].map((i) => committer.submit(i));
  await turn();
  assert.deepEqual(
    commits.map((c) => c.items),
    [[1, 2]],
  );
  answers.push(...[3, 4, 5, 6].map((i) => committer.submit(i)));
  await turn();
  assert.equal(commits.length, 1, 'no second commit while one runs');
  commits[0]!.finish();
  await turn();
  assert.deepEqual(
    commits.map((c) => c.items),
    [
      [1, 2],
      [3, 4, 5],
    ],
  );
  commits[1]!.finish();
  await turn();
  commits[2]!.finish();
  assert.deepEqual(await Promise.all(answers), ['id1', 'id2', 'id3', 'id4', 'id5', 'id6']);
  await committer.drained();
});

test('concurrency 2: a second batch commits beside the first, a third waits for a free slot; a failed commit rejects its own items only', async () => {
  const { committer, commits, turn } = cranked({ maxBatch: 2, concurrency: 2 });
  const answers = [1, 2, 3, 4, 5].map((i) => committer.submit(i).catch((err: Error) => err.message));
  await turn();
  await turn();
  assert.deepEqual(
    commits.map((c) => c.items),
    [
      [1, 2],
      [3, 4],
    ],
  );
  let drained = false;
  void committer.drained().then(() => (drained = true));
  commits[1]!.finish(new Error('disk full'));
  await turn();
  assert.deepEqual(commits[2]!.items, [5]);
  commits[0]!.finish();
  commits[2]!.finish();
  assert.deepEqual(await Promise.all(answers), ['id1', 'id2', 'disk full', 'disk full', 'id5']);
  await turn();
  assert.equal(drained, true, 'drained once nothing waits and nothing commits');
  assert.equal(committer.pending, 0);
});
