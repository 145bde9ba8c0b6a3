// The SQLite store's WAL checkpoints, off the collector's thread. In WAL mode
// a commit appends pages to the -wal file; a checkpoint copies them back into
// the database file and fsyncs it. SQLite's automatic checkpoint runs inside
// the COMMIT that crosses its threshold, on the thread that commits: with
// reports spread over thousands of nodes each commit dirties pages all over
// the indexes, and copying them back stalled ingest (measured in
// BENCHMARKS.md, bench/collector-scale). So a worker thread with its own
// connection runs a PASSIVE checkpoint every CHECKPOINT_EVERY_MS: it copies
// what is committed without blocking the writer or readers (WAL allows one
// checkpointer beside them), and the writer's own threshold is raised to
// WRITER_CHECKPOINT_PAGES. The writer still checkpoints when the WAL reaches
// it: only that restarts the WAL from its start (SQLite rewinds the WAL when
// a write begins with every frame copied back, which a writer that never
// pauses rarely gives the worker), and by then the worker has copied all
// but the last second's pages.
//
// Durability is not the checkpoint's: a report is durable once its COMMIT has
// fsynced the WAL (synchronous=FULL); a crash during a checkpoint is
// recovered from the WAL by SQLite. If the worker fails, the writer goes back
// to SQLite's default threshold, as before.
import { Worker } from 'node:worker_threads';

/** How often the worker checkpoints: about a second of commits copied back per turn. */
export const CHECKPOINT_EVERY_MS = 1000;
/** The writer's own threshold while the worker runs (pages of 4 KiB: 40 MiB of WAL). */
export const WRITER_CHECKPOINT_PAGES = 10_000;
/** SQLite's default threshold, for the writer when there is no worker. */
export const DEFAULT_CHECKPOINT_PAGES = 1000;

// The worker's code, evaluated rather than loaded from a file: the collector
// ships as one bundle, and this is all a worker needs (node:sqlite, a timer).
// synchronous=FULL: the checkpoint fsyncs the WAL before copying and the
// database file after, as the writer's own would.
const WORKER_SOURCE = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA synchronous = FULL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => checkpoint.get(), workerData.everyMs);
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
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, everyMs } });
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
