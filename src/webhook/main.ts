// netready webhook: a mutating admission webhook that injects the agent.
import { createServer } from 'node:https';
import { Registry } from 'prom-client';
import { CodedError } from '../lib/errors.ts';
import { EXIT_CONFIG, parseConfigOrExit } from '../lib/cli-config.ts';
import { capConnections, closeServer, formatHostPort, listen, serverOptions } from '../lib/listen.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { VERSION } from '../lib/version.ts';
import { untilSignal } from '../lib/signals.ts';
import { parseWebhookConfig } from './config.ts';
import { createWebhookMetrics, type WebhookMetrics } from './metrics.ts';
import { createRequestListener } from './server.ts';
import { certificateExpiry, describeCert, loadKeyPair, watchKeyPair, type KeyPair } from './tls.ts';
import { writeStdout } from '../lib/stdout.ts';

/** Exit codes of `netready webhook`. */
export const EXIT = {
  /** Stopped by SIGTERM or SIGINT after finishing its requests. */
  STOPPED: 0,
  /** The certificate could not be loaded or the address could not be listened on. */
  UNUSABLE: 1,
  /** Bad flags or environment. */
  CONFIG: EXIT_CONFIG,
} as const;

/** Time from SIGTERM until open connections are cut; the API server retries nothing, so keep it short but let answers finish. */
const SHUTDOWN_GRACE_MS = 5_000;
/** While the certificate is expired or near expiry, the warning is repeated this often. */
const EXPIRY_CHECK_MS = 3_600_000;

/** Runs `netready webhook` until SIGTERM/SIGINT; returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const signalled = untilSignal();

  const parsed = parseConfigOrExit('webhook', () => parseWebhookConfig(argv, env));
  if ('exit' in parsed) return parsed.exit;
  const config = parsed.config;
  if (config.dryRun) {
    writeStdout(`${JSON.stringify(config, null, 2)}\n`);
    return EXIT.STOPPED;
  }

  const log = createLogger('netready-webhook', config.logLevel);
  let pair: KeyPair;
  try {
    pair = loadKeyPair(config.tlsCert, config.tlsKey);
  } catch (err) {
    if (!(err instanceof CodedError && err.code === 'ERR_TLS')) throw err;
    log.error(
      { err },
      'cannot load the serving certificate; check --tls-cert/--tls-key and the mounted Secret (netready certs makes one)',
    );
    return EXIT.UNUSABLE;
  }

  const registry = new Registry();
  const metrics = createWebhookMetrics(registry);
  let inUse = pair;
  checkExpiry(inUse, metrics, log);
  const expiryTimer = setInterval(() => checkExpiry(inUse, metrics, log), EXPIRY_CHECK_MS).unref();

  const server = createServer(
    {
      cert: pair.cert,
      key: pair.key,
      // A connection that never starts TLS is not held for Node's default 120 s.
      handshakeTimeout: config.tlsHandshakeTimeoutMs,
      // The API server's default webhook timeout is 10 s; nothing here should take a fraction of that.
      ...serverOptions({
        headersTimeoutMs: 5_000,
        requestTimeoutMs: 10_000,
        keepAliveTimeoutMs: 60_000,
        maxConnections: config.maxConnections,
      }),
    },
    createRequestListener({ config: config.inject, log, now: () => new Date(), metrics, registry }),
  );
  capConnections(server, config.maxConnections, log);
  try {
    await listen(server, config.listen.host, config.listen.port);
  } catch (err) {
    log.error(
      { err, listen: formatHostPort(config.listen.host, config.listen.port) },
      'cannot listen; check --listen and that nothing else uses the port',
    );
    return EXIT.UNUSABLE;
  }
  const watcher = watchKeyPair(server, config.tlsCert, config.tlsKey, pair, log, (next) => {
    inUse = next;
    checkExpiry(next, metrics, log);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  log.info(
    {
      version: VERSION,
      listen: formatHostPort(config.listen.host, port),
      port,
      image: config.inject.defaults.image,
      ...describeCert(pair.cert),
    },
    'webhook listening',
  );

  const signal = await signalled;
  log.info({ signal }, 'stopping: finishing requests in flight');
  watcher.close();
  clearInterval(expiryTimer);
  await closeServer(server, SHUTDOWN_GRACE_MS);
  log.info('webhook stopped');
  return EXIT.STOPPED;
}

/** Publishes the certificate's expiry as a metric; warns when it is past or near. */
function checkExpiry(pair: KeyPair, metrics: WebhookMetrics, log: Logger): void {
  const { notAfter, state } = certificateExpiry(pair.cert, Date.now());
  metrics.certificate(notAfter);
  if (state === 'expired')
    log.warn(
      { notAfter: notAfter.toISOString() },
      'serving an EXPIRED certificate: the API server refuses it and pods are admitted without netready-wait; renew the Secret (netready certs, or cert-manager)',
    );
  else if (state === 'expiring')
    log.warn(
      { notAfter: notAfter.toISOString() },
      'the serving certificate expires within 7 days; renew the Secret (netready certs, or cert-manager)',
    );
}
