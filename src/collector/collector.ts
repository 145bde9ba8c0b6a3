// createCollector(config): the collector's parts built in one place, from the
// parsed configuration: the store, metrics (and the OTLP push), the ingest
// queue, retention, readiness and the HTTP request listener. main.ts and the
// tests both call it, so the tests drive the wiring that runs.
import type { RequestListener } from 'node:http';
import { Registry } from 'prom-client';
import type { Logger } from '../lib/log.ts';
import { systemClock, type Clock } from './clock.ts';
import type { CollectorConfig } from './config.ts';
import { readSummary } from './dashboard/summary.ts';
import { createIngest, createOutageIngest, type Ingest } from './ingest.ts';
import { createMetrics, teeMetrics, type CollectorMetrics } from './metrics.ts';
import { startRetention } from './retention.ts';
import { createReadGates } from './read-gate.ts';
import { createRequestListener } from './server.ts';
import { cachedSummaries, encodeJson } from './summary-cache.ts';
import type { ReportStore } from './store.ts';
import { openStoreWaiting } from './store-connect.ts';

/** A readiness answer is reused this long: /readyz writes to the store, and probes must not turn into load. */
const READINESS_TTL_MS = 1_000;

export interface CollectorOptions {
  readonly log: Logger;
  readonly clock?: Clock;
  /** Node's process metrics on /metrics (off in tests that count series). */
  readonly processMetrics?: boolean;
  /** Run retention passes (off in tests that drive them by hand). */
  readonly retention?: boolean;
}

/** The collector's parts; `handler` serves HTTP, `close()` releases everything in order. */
export interface Collector {
  readonly handler: RequestListener;
  readonly store: ReportStore;
  readonly ingest: Ingest;
  readonly registry: Registry;
  readonly metrics: CollectorMetrics;
  /** From now on answers close their connection and /readyz fails (SIGTERM). */
  stopAccepting(): void;
  /** Waits for reports in flight, stops retention and the OTLP push, closes the store. */
  close(): Promise<void>;
}

/**
 * Builds the collector of `config`. Rejects with a CodedError ERR_STORE_*
 * when the store cannot be opened or written (main exits 1 with its message);
 * a PostgreSQL that cannot be reached is waited for instead (store-connect.ts).
 */
export async function createCollector(config: CollectorConfig, options: CollectorOptions): Promise<Collector> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  // Counted before the store exists: a damaged row can be met while opening.
  let onCorrupt = (_id: number) => {};
  // An unreachable PostgreSQL is waited for in the background (store-connect.ts): the collector starts unready.
  const store = await openStoreWaiting(
    config.db,
    {
      maxRows: config.retentionRows,
      maxAgeMs: config.retentionAgeMs,
      password: config.dbPassword,
      onCorruptRow: (id) => onCorrupt(id),
    },
    log,
  );
  const registry = new Registry();
  const prometheus = createMetrics(registry, {
    maxLabelValues: config.maxLabelValues,
    storeRows: () => store.rows,
    processMetrics: options.processMetrics ?? true,
  });
  // The OTLP push records the same observations; its SDK is loaded only when a push is configured.
  const otlp =
    config.otlp === null
      ? null
      : (await import('./otlp.ts')).startOtlp({
          ...config.otlp,
          maxLabelValues: config.maxLabelValues,
          storeRows: () => store.rows,
          log,
        });
  const metrics = otlp === null ? prometheus : teeMetrics(prometheus, otlp);
  onCorrupt = (id) => {
    metrics.corruptRow();
    log.warn({ id }, 'a stored report could not be read back and was skipped; the store file may be damaged');
  };
  const ingest = createIngest(store, metrics, clock, log);
  const submitOutage = createOutageIngest(store, metrics, clock, log);
  const retention = options.retention === false ? null : startRetention(store, config.retentionAgeMs, clock, log);
  let stopping = false;
  const reads = createReadGates();

  const handler = createRequestListener({
    submit: (report) => ingest.submit(report),
    // Reads go through the gates so that they cannot starve ingest; summaries are shared by their viewers.
    list: (filter) => reads.pages.run(() => store.list(filter)),
    submitOutage,
    listOutages: (filter) => reads.pages.run(() => store.listOutages(filter)),
    summary: cachedSummaries((sinceMs, nowMs) =>
      reads.summaries.run(async () => encodeJson(await readSummary(store, sinceMs, nowMs))),
    ),
    readiness: cachedReadiness(store, clock, log),
    registry,
    metrics,
    log,
    clock,
    token: config.token,
    readToken: config.reads === 'token' ? config.token : null,
    stopping: () => stopping,
  });

  return {
    handler,
    store,
    ingest,
    registry,
    metrics,
    stopAccepting() {
      stopping = true;
    },
    async close() {
      await ingest.drained();
      // After the last report is counted, before the store (read by the push) closes.
      await otlp?.shutdown();
      await retention?.stop();
      await store.close();
    },
  };
}

/** /readyz: a real write to the store, at most once per READINESS_TTL_MS; null when ready, else why not. */
function cachedReadiness(store: ReportStore, clock: Clock, log: Logger): () => Promise<string | null> {
  let checkedAt = -Infinity;
  let answer: Promise<string | null> = Promise.resolve(null);
  let failing = false;
  return () => {
    const now = clock.now();
    if (now - checkedAt < READINESS_TTL_MS) return answer;
    checkedAt = now;
    answer = store.probeWritable(now).then(
      () => {
        if (failing) log.info('the store takes writes again');
        failing = false;
        return null;
      },
      (err: unknown) => {
        if (!failing)
          log.error(
            { err },
            store.kind === 'sqlite'
              ? 'the store does not take writes; check the disk under --db / --data-dir'
              : 'PostgreSQL cannot be reached or written; check the database',
          );
        failing = true;
        return `the store does not take writes: ${(err as Error).message}`;
      },
    );
    return answer;
  };
}
