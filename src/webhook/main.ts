// netready webhook: a mutating admission webhook that injects the agent.
import { createServer } from 'node:https';
import { CodedError } from '../lib/errors.ts';
import { EXIT_CONFIG, parseConfigOrExit } from '../lib/cli-config.ts';
import { closeServer, formatHostPort, listen } from '../lib/listen.ts';
import { createLogger } from '../lib/log.ts';
import { VERSION } from '../lib/version.ts';
import { untilSignal } from '../lib/signals.ts';
import { parseWebhookConfig } from './config.ts';
import { createRequestListener } from './server.ts';
import { describeCert, loadKeyPair, watchKeyPair, type KeyPair } from './tls.ts';

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

/** Runs `netready webhook` until SIGTERM/SIGINT; returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const signalled = untilSignal();

  const parsed = parseConfigOrExit('webhook', () => parseWebhookConfig(argv, env));
  if ('exit' in parsed) return parsed.exit;
  const config = parsed.config;
  if (config.dryRun) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return EXIT.STOPPED;
  }

  const log = createLogger('netready-webhook', config.logLevel);
  let pair: KeyPair;
  try {
    pair = loadKeyPair(config.tlsCert, config.tlsKey);
  } catch (err) {
    if (!(err instanceof CodedError && err.code === 'ERR_TLS')) throw err;
    log.error({ err }, 'cannot load the serving certificate; check --tls-cert/--tls-key and the mounted Secret (netready certs makes one)');
    return EXIT.UNUSABLE;
  }

  const server = createServer(
    {
      cert: pair.cert,
      key: pair.key,
      // The API server's default webhook timeout is 10 s; nothing here should take a fraction of that.
      headersTimeout: 5_000,
      requestTimeout: 10_000,
      keepAliveTimeout: 60_000,
    },
    createRequestListener({ config: config.inject, log, now: () => new Date() }),
  );
  try {
    await listen(server, config.listen.host, config.listen.port);
  } catch (err) {
    log.error({ err, listen: formatHostPort(config.listen.host, config.listen.port) }, 'cannot listen; check --listen and that nothing else uses the port');
    return EXIT.UNUSABLE;
  }
  const watcher = watchKeyPair(server, config.tlsCert, config.tlsKey, pair, log);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  log.info({ version: VERSION, listen: formatHostPort(config.listen.host, port), port, image: config.inject.defaults.image, ...describeCert(pair.cert) }, 'webhook listening');

  const signal = await signalled;
  log.info({ signal }, 'stopping: finishing requests in flight');
  watcher.close();
  await closeServer(server, SHUTDOWN_GRACE_MS);
  log.info('webhook stopped');
  return EXIT.STOPPED;
}
