// netready collector: receive the agents' reports, keep them, export metrics.
import { createServer } from 'node:http';
import { Registry } from 'prom-client';
import { EXIT_CONFIG, parseConfigOrExit } from '../lib/cli-config.ts';
import { closeServer, formatHostPort, listen } from '../lib/listen.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { VERSION } from '../lib/version.ts';
import { untilSignal } from '../lib/signals.ts';
import { parseCollectorConfig } from './config.ts';
import { createMetrics, teeMetrics } from './metrics.ts';
import { createIngest, type Clock } from './pipeline.ts';
import { startRetention } from './retention.ts';
import { createRequestListener } from './server.ts';
import { readSummary } from './dashboard/summary.ts';
import { openStore, type ReportStore } from './store.ts';

/** Exit codes of `netready collector`. */
export const EXIT = {
  /** Stopped by SIGTERM or SIGINT after finishing its requests. */
  STOPPED: 0,
  /** The store could not be opened or the address could not be listened on. */
  UNUSABLE: 1,
  /** Bad flags or environment. */
  CONFIG: EXIT_CONFIG,
} as const;

/** Time from SIGTERM until open connections are cut; well inside Kubernetes' default 30 s grace period. */
const SHUTDOWN_GRACE_MS = 5_000;
/** A readiness answer is reused this long: /readyz writes to the store, and probes must not turn into load. */
const READINESS_TTL_MS = 1_000;

/** Runs `netready collector` until SIGTERM/SIGINT; returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const signalled = untilSignal();

  const parsed = parseConfigOrExit('collector', () => parseCollectorConfig(argv, env));
  if ('exit' in parsed) return parsed.exit;
  const config = parsed.config;
  if (config.dryRun) {
    process.stdout.write(`${JSON.stringify({ ...config, token: config.token === null ? null : '(redacted)' }, null, 2)}\n`);
    return EXIT.STOPPED;
  }

  const log = createLogger('netready-collector', config.logLevel);
  const clock: Clock = { now: () => Date.now() };

  let store: ReportStore;
  try {
    store = openStore(config.dbPath, { maxRows: config.retentionRows });
  } catch (err) {
    log.error({ err, db: config.dbPath }, 'cannot open the store; check that --db (or --data-dir) is on a writable volume');
    return EXIT.UNUSABLE;
  }
  const registry = new Registry();
  const prometheus = createMetrics(registry, { maxLabelValues: config.maxLabelValues, storeRows: () => store.rows, processMetrics: true });
  // The OTLP push records the same observations; its SDK is loaded only when a push is configured.
  const otlp = config.otlp === null ? null : (await import('./otlp.ts')).startOtlp({ ...config.otlp, maxLabelValues: config.maxLabelValues, storeRows: () => store.rows, log });
  const metrics = otlp === null ? prometheus : teeMetrics(prometheus, otlp);
  const ingest = createIngest(store, metrics, clock, log);
  const retention = startRetention(store, config.retentionAgeMs, clock, log);
  let stopping = false;

  const server = createServer(
    {
      // Slow or stalled clients cannot hold a connection for long.
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
    },
    createRequestListener({
      submit: (report) => ingest.submit(report),
      list: (filter) => store.list(filter),
      summary: (sinceMs, nowMs) => readSummary(store, sinceMs, nowMs),
      readiness: cachedReadiness(store, clock, log),
      registry,
      metrics,
      log,
      clock,
      token: config.token,
      stopping: () => stopping,
    }),
  );

  try {
    await listen(server, config.listen.host, config.listen.port);
  } catch (err) {
    log.error({ err, listen: formatHostPort(config.listen.host, config.listen.port) }, 'cannot listen; check --listen and that nothing else uses the port');
    await retention.stop();
    await otlp?.shutdown();
    store.close();
    return EXIT.UNUSABLE;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  log.info(
    { version: VERSION, listen: formatHostPort(config.listen.host, port), port, db: config.dbPath, reports: store.rows, token: config.token !== null },
    'collector listening',
  );

  const signal = await signalled;
  log.info({ signal }, 'stopping: finishing requests in flight');
  stopping = true;
  const forced = await closeServer(server, SHUTDOWN_GRACE_MS);
  if (forced) log.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'connections still open after the grace period were closed');
  await ingest.drained();
  // After the last report is counted, before the store (read by the push) closes.
  await otlp?.shutdown();
  await retention.stop();
  store.close();
  log.info({ reports: store.rows }, 'collector stopped; store closed');
  return EXIT.STOPPED;
}

/** /readyz: a real write to the store, at most once per READINESS_TTL_MS. */
function cachedReadiness(store: ReportStore, clock: Clock, log: Logger): () => string | null {
  let checkedAt = -Infinity;
  let problem: string | null = null;
  return () => {
    const now = clock.now();
    if (now - checkedAt < READINESS_TTL_MS) return problem;
    checkedAt = now;
    try {
      store.probeWritable(now);
      problem = null;
    } catch (err) {
      if (problem === null) log.error({ err }, 'the store does not take writes; check the disk under --db / --data-dir');
      problem = `the store does not take writes: ${(err as Error).message}`;
    }
    return problem;
  };
}
