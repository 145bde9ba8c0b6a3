// bench/collector-sqlite-insert: what one report's insert costs the SQLite
// store's thread, and which part of the schema or setting it goes to. On a
// copy of a preloaded store (e.g. bench/collector-scale's kept preload), it
// inserts N reports of the same 5,000-node cluster in batches, with the
// store's own statements (the report's INSERT, and unless --no-cells the
// minute cells' upserts as the store wrote them per batch until session 5),
// and prints CPU (user, system) and wall time per report, and the p99 and
// longest time of one batch's transaction (a checkpoint inside a COMMIT shows
// there), one JSON line.
// Variants: --drop INDEX[,INDEX] (what an index costs), --autocheckpoint N and
// --checkpoint-ms MS [--restart-pages N] (a worker thread's PASSIVE
// checkpoints, and a RESTART once the WAL holds N pages, as
// src/collector/sqlite-checkpointer.ts), --cache-mb, --synchronous, --batch.
// Run under the bench lock:
//
//   flock /work/team/bench.lock node bench/collector-sqlite-insert.ts --db /tmp/keep/preload_1000000.db [variants]
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { cellsOf } from '../src/collector/aggregates.ts';
import { clusterOf, makeBenchReport, prng } from './collector-reports.ts';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    reports: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '32' },
    'no-cells': { type: 'boolean', default: false },
    drop: { type: 'string', default: '' },
    autocheckpoint: { type: 'string' },
    'checkpoint-ms': { type: 'string' },
    'restart-pages': { type: 'string' },
    'cache-mb': { type: 'string' },
    synchronous: { type: 'string', default: 'FULL' },
  },
});
if (values.db === undefined) throw new Error('--db PATH: a preloaded store to copy');
const N = Number(values.reports);
const BATCH = Number(values.batch);
const rand = prng(9);
const shape = clusterOf(5000, 500);
// Run 9: uids distinct from the preload's (run 1) and the load's (2 and up).
const reports = Array.from({ length: N }, (_x, i) => makeBenchReport(9, i, rand, shape));
const dir = mkdtempSync(join(tmpdir(), 'netready-sqlite-insert-'));
const db = join(dir, 'reports.db');
copyFileSync(values.db, db);
const d = new DatabaseSync(db);
let worker: Worker | undefined;
try {
  // busy_timeout as the store: a worker's RESTART holds the write lock for a moment.
  d.exec(
    `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${values.synchronous}; PRAGMA journal_size_limit = 67108864; PRAGMA busy_timeout = 5000`,
  );
  if (values['cache-mb']) d.exec(`PRAGMA cache_size = -${Number(values['cache-mb']) * 1024}`);
  if (values.autocheckpoint) d.exec(`PRAGMA wal_autocheckpoint = ${Number(values.autocheckpoint)}`);
  for (const index of values.drop.split(',').filter(Boolean)) d.exec(`DROP INDEX ${index}`);
  if (values['checkpoint-ms']) {
    worker = new Worker(
      `const { DatabaseSync } = require('node:sqlite');
       const { workerData } = require('node:worker_threads');
       const d = new DatabaseSync(workerData.db);
       d.exec('PRAGMA synchronous = FULL; PRAGMA busy_timeout = 200');
       const passive = d.prepare('PRAGMA wal_checkpoint(PASSIVE)');
       const restart = d.prepare('PRAGMA wal_checkpoint(RESTART)');
       setInterval(() => { if (passive.get().log >= workerData.restartPages) restart.get(); }, workerData.ms);`,
      {
        eval: true,
        workerData: {
          db,
          ms: Number(values['checkpoint-ms']),
          restartPages: Number(values['restart-pages'] ?? Number.POSITIVE_INFINITY),
        },
      },
    );
  }
  const insert = d.prepare(
    `INSERT INTO reports (received_ms, pod_uid, pod_namespace, pod_name, node, started_ms, outcome, delay_seconds, body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
  );
  const upsert = d.prepare(
    `INSERT INTO agg_minute (minute_ms, scope, key, bucket, reports, timeouts, max_delay) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (minute_ms, scope, key, bucket) DO UPDATE SET reports = reports + excluded.reports,
       timeouts = timeouts + excluded.timeouts, max_delay = max(max_delay, excluded.max_delay)`,
  );
  await new Promise((r) => setTimeout(r, 100));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let now = Date.now();
  let walMaxBytes = 0;
  const batchMs: number[] = [];
  for (let i = 0; i < N; i += BATCH) {
    const batch = reports.slice(i, i + BATCH);
    const began = performance.now();
    d.exec('BEGIN IMMEDIATE');
    for (const r of batch)
      insert.get(
        now,
        r.pod.uid,
        r.pod.namespace,
        r.pod.name,
        r.pod.node,
        Date.parse(r.startedAt),
        r.outcome,
        r.delaySeconds,
        JSON.stringify(r),
      );
    if (!values['no-cells'])
      for (const c of cellsOf(batch, now))
        upsert.run(c.minuteMs, c.scope, c.key, c.bucket, c.reports, c.timeouts, c.maxDelay);
    d.exec('COMMIT');
    batchMs.push(performance.now() - began);
    now += 5;
    if ((i / BATCH) % 50 === 0) {
      walMaxBytes = Math.max(walMaxBytes, statSync(`${db}-wal`).size);
      // Lets the worker's timer fire as it would between requests.
      await new Promise((r) => setImmediate(r));
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const { db: _db, reports: _n, ...variant } = values;
  console.log(
    JSON.stringify({
      variant,
      reports: N,
      userUsPerReport: Math.round(cpu.user / N),
      systemUsPerReport: Math.round(cpu.system / N),
      wallUsPerReport: Math.round((wall * 1000) / N),
      walMaxMiB: Math.round((walMaxBytes / 2 ** 20) * 10) / 10,
      batchMsP99: Math.round(batchMs.sort((a, b) => a - b)[Math.ceil(batchMs.length * 0.99) - 1]! * 10) / 10,
      batchMsMax: Math.round(batchMs[batchMs.length - 1]! * 10) / 10,
    }),
  );
} finally {
  await worker?.terminate();
  d.close();
  rmSync(dir, { recursive: true, force: true });
}
