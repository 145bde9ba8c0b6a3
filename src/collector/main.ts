// netready collector: receive the agents' reports, keep them, export metrics.
import { createServer } from 'node:http';
import { EXIT_CONFIG, parseConfigOrExit } from '../lib/cli-config.ts';
import { capConnections, closeServer, formatHostPort, listen, serverOptions } from '../lib/listen.ts';
import { createLogger } from '../lib/log.ts';
import { VERSION } from '../lib/version.ts';
import { untilSignal } from '../lib/signals.ts';
import { createCollector, type Collector } from './collector.ts';
import { parseCollectorConfig } from './config.ts';
import { redactDb } from './store.ts';
import { writeStdout } from '../lib/stdout.ts';

/** Exit codes of `netready collector`. */
export const EXIT = {
  /** Stopped by SIGTERM or SIGINT after finishing its requests. */
  STOPPED: 0,
  /** The store could not be opened or the address could not be listened on. */
  UNUSABLE: 1,
  /** Bad flags or environment. */
  CONFIG: EXIT_CONFIG,
  /** A second SIGTERM during the grace period: requests cut, the store closed (128 + 15). */
  SIGTERM_AGAIN: 143,
  /** A second SIGINT during the grace period (128 + 2). */
  SIGINT_AGAIN: 130,
} as const;

/** Time from SIGTERM until open connections are cut; well inside Kubernetes' default 30 s grace period. */
const SHUTDOWN_GRACE_MS = 5_000;

/** Runs `netready collector` until SIGTERM/SIGINT; returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const signalled = untilSignal();

  const parsed = parseConfigOrExit('collector', () => parseCollectorConfig(argv, env));
  if ('exit' in parsed) return parsed.exit;
  const config = parsed.config;
  if (config.dryRun) {
    const shown = {
      ...config,
      db: redactDb(config.db),
      dbPassword: config.dbPassword === null ? null : '(redacted)',
      token: config.token === null ? null : '(redacted)',
    };
    writeStdout(`${JSON.stringify(shown, null, 2)}\n`);
    return EXIT.STOPPED;
  }

  const log = createLogger('netready-collector', config.logLevel);
  let collector: Collector;
  try {
    collector = await createCollector(config, { log });
  } catch (err) {
    // The store's error says what is wrong and what to do (read-only, corrupt, unreachable).
    log.error({ err, db: redactDb(config.db) }, `cannot use the store: ${(err as Error).message}`);
    return EXIT.UNUSABLE;
  }

  // Slow or stalled clients cannot hold a connection for long, nor many connections the file limit.
  const server = createServer(
    serverOptions({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: config.maxConnections,
    }),
    collector.handler,
  );
  capConnections(server, config.maxConnections, log);

  try {
    await listen(server, config.listen.host, config.listen.port);
  } catch (err) {
    log.error(
      { err, listen: formatHostPort(config.listen.host, config.listen.port) },
      'cannot listen; check --listen and that nothing else uses the port',
    );
    await collector.close();
    return EXIT.UNUSABLE;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  log.info(
    {
      version: VERSION,
      listen: formatHostPort(config.listen.host, port),
      port,
      db: redactDb(config.db),
      store: collector.store.kind,
      reports: collector.store.rows,
      token: config.token !== null,
    },
    'collector listening',
  );

  const signal = await signalled;
  log.info({ signal }, 'stopping: finishing requests in flight');
  // A second signal cuts the grace period short, but the store is still closed
  // first: ending on the signal's default action would leave it unclosed.
  const again = untilSignal();
  collector.stopAccepting();
  const stopped = (async () => {
    const forced = await closeServer(server, SHUTDOWN_GRACE_MS);
    if (forced) log.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'connections still open after the grace period were closed');
    await collector.close();
    return 'stopped' as const;
  })();
  const end = await Promise.race([stopped, again]);
  if (end === 'stopped') {
    log.info({ reports: collector.store.rows }, 'collector stopped; store closed');
    return EXIT.STOPPED;
  }
  server.closeAllConnections();
  await collector.store.close();
  log.warn({ signal: end, reports: collector.store.rows }, 'second signal: requests cut, store closed');
  return end === 'SIGTERM' ? EXIT.SIGTERM_AGAIN : EXIT.SIGINT_AGAIN;
}
