// SQLite-only behaviour of the store (the shared contract is store.test.ts):
// the WAL is checkpointed by a worker thread, not by the committing one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHECKPOINT_EVERY_MS } from '../../src/collector/sqlite-checkpointer.ts';
import { openStore } from '../../src/collector/store.ts';
import { makeReport, tempDir } from './helpers.ts';

const T0 = Date.parse('2025-11-25T13:00:00Z');

/** Reports in the database file alone, as a copy without its WAL reads it (null: the copy caught a write half done). */
function reportsInFileAlone(db: string, copy: string): number | null {
  copyFileSync(db, copy);
  const d = new DatabaseSync(copy, { readOnly: true });
  try {
    return Number((d.prepare('SELECT count(*) AS n FROM reports').get() as { n: number }).n);
  } catch {
    return null;
  } finally {
    d.close();
  }
}

test('committed reports reach the database file itself within seconds, copied back from the WAL by the worker; close() leaves no WAL', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'reports.db');
  const store = await openStore(db, { maxRows: 100_000, maxAgeMs: 0 });
  // 1,000 reports: a few hundred WAL pages, far below the writer's own threshold, so only the worker copies them back.
  for (let b = 0; b < 20; b++)
    await store.insertBatch(
      Array.from({ length: 50 }, (_x, i) => makeReport(b * 50 + i, { node: `node-${i % 7}` })),
      T0 + b,
    );
  assert.ok(existsSync(`${db}-wal`));
  let inFile: number | null = 0;
  for (let waited = 0; waited < 20 * CHECKPOINT_EVERY_MS && inFile !== 1000; waited += 100) {
    await sleep(100);
    inFile = reportsInFileAlone(db, join(dir, 'copy.db'));
  }
  assert.equal(inFile, 1000);
  await store.close();
  // The worker's connection was closed first, so the writer's close was the last one: it checkpointed and removed the WAL.
  assert.equal(existsSync(`${db}-wal`), false);
  const again = await openStore(db, { maxRows: 100_000, maxAgeMs: 0 });
  t.after(() => again.close());
  assert.equal(again.rows, 1000);
});

test('close() waits for the worker even when nothing else keeps the process alive', () => {
  // A child whose only pending work is close(): it must print after the await, not exit before it.
  const code = `
    const { openStore } = await import(${JSON.stringify(new URL('../../src/collector/store.ts', import.meta.url).href)});
    const store = await openStore(process.argv[1], { maxRows: 10, maxAgeMs: 0 });
    await store.close();
    console.log('closed');
  `;
  const dir = mkdtempSync(join(tmpdir(), 'netready-close-'));
  try {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, join(dir, 'reports.db')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.stdout.trim(), 'closed', r.stderr);
    assert.equal(r.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
