// The SQLite store's WAL checkpoints, off the collector's thread. In WAL mode
// a commit appends pages to the -wal file; a checkpoint copies them back into
// the database file and fsyncs it. SQLite's automatic checkpoint runs inside
// the COMMIT that crosses its threshold, on the thread that commits: with
// reports spread over thousands of nodes each commit dirties pages all over
// the indexes, and copying them back stalled ingest (measured in
// BENCHMARKS.md, bench/collector-scale). So a worker thread with its own
// connection checkpoints every CHECKPOINT_EVERY_MS:
// - PASSIVE: copies what is committed without blocking the writer or readers
//   (WAL allows one checkpointer beside them);
// - then, once the WAL holds RESTART_AFTER_PAGES, RESTART: copies the few
//   pages committed meanwhile, holding the write lock for that long, so that
//   the next commit writes the WAL from its start again. A writer that never
//   pauses would otherwise never find every frame copied back, and SQLite only
//   rewinds the WAL then: it would grow without end.
// The writer's own threshold is raised to WRITER_CHECKPOINT_PAGES, a bound in
// case the worker falls behind.
//
// Durability is not the checkpoint's: a report is durable once its COMMIT has
// fsynced the WAL (synchronous=FULL); a crash during a checkpoint is
// recovered from the WAL by SQLite. If the worker fails, the writer goes back
// to SQLite's default threshold, as before.
import { Worker } from 'node:worker_threads';

/** How often the worker checkpoints: about a second of commits copied back per turn. */
export const CHECKPOINT_EVERY_MS = 1000;
/** WAL pages (4 KiB) past which the worker rewinds the WAL: 16 MiB. */
export const RESTART_AFTER_PAGES = 4000;
/** The writer's own threshold while the worker runs: 80 MiB of WAL. */
export const WRITER_CHECKPOINT_PAGES = 20_000;
/** SQLite's default threshold, for the writer when there is no worker. */
export const DEFAULT_CHECKPOINT_PAGES = 1000;

// The worker's code, evaluated rather than loaded from a file: the collector
// ships as one bundle, and this is all a worker needs (node:sqlite, a timer).
// synchronous=FULL: the checkpoint fsyncs the WAL before copying and the
// database file after, as the writer's own would. busy_timeout: RESTART waits
// that long at most for the writer's transaction to end (a commit is a few ms).
const WORKER_SOURCE = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA synchronous = FULL; PRAGMA busy_timeout = 200');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');
const timer = setInterval(() => {
  if (passive.get().log >= workerData.restartAfterPages) restart.get();
}, workerData.everyMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** A running checkpointer; stop() resolves once its connection is closed. */
export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Starts checkpointing the WAL of the database at `path` every `everyMs` on a
 * worker thread. `onFailure` is called once if the worker fails (it is then
 * gone); the caller puts its own checkpoints back.
 */
export function startCheckpointer(path: string, everyMs: number, onFailure: (err: Error) => void): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path, everyMs, restartAfterPages: RESTART_AFTER_PAGES },
  });
  // The collector's exit is decided by its signals, not by this thread.
  worker.unref();
  let failed = false;
  worker.once('error', (err) => {
    failed = true;
    onFailure(err);
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      // Held open until the worker has closed its connection, even when nothing else keeps the loop alive.
      worker.ref();
      if (!failed) worker.postMessage('stop');
      await exited;
    },
  };
}
