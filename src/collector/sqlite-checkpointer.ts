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
// - then, once the WAL holds REWIND_AFTER_PAGES, more PASSIVE passes, each
//   copying what was committed during the one before (a shorter pass each
//   time), until one has found at most HAND_OVER_PAGES new pages. Then it
//   hands over to the writer: between two of its transactions, the writer's
//   own PASSIVE copies those last few pages (a few ms), so that the whole WAL
//   is in the database file while no transaction is open, and SQLite rewinds
//   the WAL at the writer's next commit. A writer that never pauses would
//   otherwise never find every frame copied back: the WAL would grow until
//   the writer's own checkpoint at WRITER_CHECKPOINT_PAGES.
// Until session 6 the worker rewound the WAL with a RESTART checkpoint, which
// takes the write lock: under ingest it waited for it in SQLite's busy
// handler (sleeps of 1, 2, 5, 10, 25, 50 ms...) while the writer committed,
// then held it while copying what had piled up meanwhile, and the writer
// waited in turn: 80-250 ms stalls every second (BENCHMARKS.md). The worker
// cannot do the last pass itself: while the writer is inside a transaction
// that began before the WAL was all copied back, that transaction's commit
// appends to the WAL instead of rewinding it, and only the writer knows when
// it is between transactions.
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
/**
 * WAL pages (4 KiB) past which the worker has the WAL rewound: 64 MiB, ~4 s of
 * ingest at 5,000 reports/s. Each rewind costs the writer its own last pass
 * (a few ms, 25-35 ms when the disk's fsync is slow: BENCHMARKS.md, session 8).
 */
export const REWIND_AFTER_PAGES = 16_000;
/** New pages in the worker's last pass at most for the writer to copy the rest: a few ms of its thread. */
export const HAND_OVER_PAGES = 300;
/** PASSIVE passes per turn at most: each copies the pages committed during the one before. */
export const MAX_PASSES = 8;
/** The writer's own threshold while the worker runs: 160 MiB of WAL. */
export const WRITER_CHECKPOINT_PAGES = 40_000;
/** SQLite's default threshold, for the writer when there is no worker. */
export const DEFAULT_CHECKPOINT_PAGES = 1000;

// The worker's code, evaluated rather than loaded from a file: the collector
// ships as one bundle, and this is all a worker needs (node:sqlite, a timer).
// synchronous=FULL: the checkpoint fsyncs the WAL before copying and the
// database file after, as the writer's own would. A pass's `log` is the WAL's
// pages when it began, `checkpointed` those of them copied back.
const WORKER_SOURCE = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA synchronous = FULL');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
  let r = passive.get();
  for (let pass = 1; r.log >= workerData.rewindAfterPages && pass < workerData.maxPasses; pass++) {
    const before = r.log;
    r = passive.get();
    if (r.log - before <= workerData.handOverPages && r.checkpointed === r.log) {
      parentPort.postMessage('hand-over');
      return;
    }
  }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** A running checkpointer; stop() resolves once its connection is closed. */
export interface Checkpointer {
  stop(): Promise<void>;
}

export interface CheckpointerHooks {
  /** The worker has copied back all but a few pages: the writer copies the rest between its transactions (see above). */
  handOver(): void;
  /** Called once if the worker fails (it is then gone): the writer puts its own checkpoints back. */
  failed(err: Error): void;
}

/** When the worker checkpoints and hands over: the constants above (tests pass smaller ones). */
export interface CheckpointerLimits {
  readonly everyMs: number;
  readonly rewindAfterPages: number;
  readonly handOverPages: number;
  readonly maxPasses: number;
}
export const CHECKPOINTER_LIMITS: CheckpointerLimits = {
  everyMs: CHECKPOINT_EVERY_MS,
  rewindAfterPages: REWIND_AFTER_PAGES,
  handOverPages: HAND_OVER_PAGES,
  maxPasses: MAX_PASSES,
};

/** Starts checkpointing the WAL of the database at `path` on a worker thread. */
export function startCheckpointer(
  path: string,
  hooks: CheckpointerHooks,
  limits: CheckpointerLimits = CHECKPOINTER_LIMITS,
): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, ...limits } });
  // The collector's exit is decided by its signals, not by this thread.
  worker.unref();
  let failed = false;
  worker.on('message', () => hooks.handOver());
  worker.once('error', (err) => {
    failed = true;
    hooks.failed(err);
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
