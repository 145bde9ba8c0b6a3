// What an unlucky store does to the collector (issue 13): a read-only store
// file exits 1 at start, a corrupt file exits 1 saying it is corrupt and what
// to do, one damaged row is skipped and counted instead of failing the list
// and the dashboard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createCollector } from '../../src/collector/collector.ts';
import { parseCollectorConfig } from '../../src/collector/config.ts';
import { openStore } from '../../src/collector/store.ts';
import { createLogger } from '../../src/lib/log.ts';
import { CLI, run } from '../helpers/agent.ts';
import { parseLogLines } from '../helpers/log-lines.ts';
import { makeReport, samples, send, serveCollector, tempDir } from './helpers.ts';

const NOBODY = 65534;

test('a read-only store file: exit 1 at start, saying the store cannot be written', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'reports.db');
  const store = await openStore(db, { maxRows: 1000, maxAgeMs: 0 });
  await store.insertBatch([makeReport(1)], Date.now());
  await store.close();
  // Root writes any file: as root, run the collector as nobody, the file (root's, 0644) read-only to it;
  // the directory stays writable, so only the file's mode is in the way.
  chmodSync(dir, 0o777);
  chmodSync(db, 0o644);
  const asRoot = process.getuid?.() === 0;
  if (!asRoot) chmodSync(db, 0o444);
  const r = spawnSync(process.execPath, [CLI, 'collector', '--listen', '127.0.0.1:0', '--db', db], {
    encoding: 'utf8',
    timeout: 20_000,
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
  const line = parseLogLines(r.stdout).find((l) => l.level === 'error');
  assert.ok(line, r.stdout);
  assert.match(line.msg, /cannot be written/);
  assert.match(line.msg, /writable volume/);
});

test('a corrupt store file: exit 1, saying it is corrupt and what to do', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'reports.db');
  writeFileSync(db, Buffer.alloc(8192, 'not a database '));
  const r = await run(['collector', '--listen', '127.0.0.1:0', '--db', db]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /is corrupt/);
  assert.match(r.stdout, /move the file aside/);
  assert.doesNotMatch(r.stdout, /writable volume/);
});

test('one damaged row: the list and the dashboard skip it, count it, and answer 200', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'reports.db');
  const store = await openStore(db, { maxRows: 1000, maxAgeMs: 0 });
  await store.insertBatch(
    [
      makeReport(1, {}, { delaySeconds: 1 }),
      makeReport(2, {}, { delaySeconds: 2 }),
      makeReport(3, {}, { delaySeconds: 3 }),
    ],
    Date.now(),
  );
  await store.close();
  const raw = new DatabaseSync(db);
  raw.exec('UPDATE reports SET body = \'{"pod": \' WHERE id = 2');
  raw.close();

  const config = parseCollectorConfig(['--db', db], {});
  const logs: Record<string, any>[] = [];
  const collector = await createCollector(config, {
    log: createLogger('test', 'debug', (l) => logs.push(JSON.parse(l))),
    processMetrics: false,
    retention: false,
  });
  const url = await serveCollector(t, collector);
  const list = await send(url, { path: '/v1/reports' });
  assert.equal(list.status, 200);
  assert.deepEqual(
    list.json().reports.map((r: any) => r.report.pod.name),
    ['web-3', 'web-1'],
  );
  const summary = await send(url, { path: '/v1/summary' });
  assert.equal(summary.status, 200);
  assert.deepEqual(
    summary.json().slowest.map((p: any) => p.pod.name),
    ['web-3', 'web-1'],
  );
  // The figures come from the aggregates: the damaged row still counts there.
  assert.equal(summary.json().totals.reports, 3);
  const counted = samples(await collector.registry.metrics(), 'netready_store_corrupt_rows_total')[0]!.value;
  assert.equal(counted, 2, 'once per read that met it');
  assert.ok(logs.some((l) => l.id === 2 && /could not be read back/.test(l.msg)));
});
