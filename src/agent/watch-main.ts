// netready watch: after the wait, for the pod's whole life, keep probing the
// same checks at a low rate; while they keep failing, fail GET /readyz (so the
// pod leaves its Service) and report each outage to the collector.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { buildChecks, hostResolver } from './checks/build.ts';
import { parseResolvConf } from './resolv.ts';
import { deliverReport } from './reporter.ts';
import { dominantError } from './summary.ts';
import { parseWatchConfig, type WatchConfig } from './watch-config.ts';
import type { ResolveHost } from './checks/tcp.ts';
import { runWatch } from './watch-loop.ts';
import { buildOutage, OutageCap, type OutageContext, type OutageEvent } from './watch-outage.ts';
import type { Outage } from '../lib/report.ts';
import { createReadinessServer, type Readiness } from './watch-server.ts';
import { processClock, processStartWallMs } from './process-clock.ts';
import { EXIT_CONFIG, parseConfigOrExit } from '../lib/cli-config.ts';
import { formatHostPort, listen } from '../lib/listen.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { untilSignal } from '../lib/signals.ts';
import { writeStdout } from '../lib/stdout.ts';
import { VERSION } from '../lib/version.ts';

/** Exit codes of `netready watch`. */
export const EXIT = {
  /** Stopped by SIGTERM or SIGINT: how a watch normally ends (the pod is going away). */
  STOPPED: 0,
  /** --listen cannot be listened on (port taken, address not on this host). */
  LISTEN: 1,
  CONFIG: EXIT_CONFIG,
} as const;

const USER_AGENT = `netready/${VERSION}`;
/** An outage is delivered this long after the network came back (see outageSender). */
const DELIVERY_DELAY_MS = 200;

/** Runs `netready watch`; returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const clock = processClock;
  const originWallMs = processStartWallMs();
  const interrupted = untilSignal();
  const parsed = parseConfigOrExit('watch', () => parseWatchConfig(argv, env));
  if ('exit' in parsed) return parsed.exit;
  const config = parsed.config;
  if (config.dryRun) {
    writeStdout(
      `${JSON.stringify({ ...config, collectorToken: config.collectorToken === null ? null : '(redacted)' }, null, 2)}\n`,
    );
    return EXIT.STOPPED;
  }

  const log = createLogger('netready-watch', config.logLevel);
  const resolvConf = parseResolvConf(readText('/etc/resolv.conf'), () => {});
  const checks = buildChecks(config.checks, {
    resolvConf,
    dnsServers: config.dnsServers,
    attemptTimeoutMs: config.attemptTimeoutMs,
    httpStatus: config.httpStatus,
    userAgent: USER_AGENT,
  });

  let readiness: Readiness = { lost: false };
  // Each probe answered may launch the watch's next round on its wake-up (watch-align.ts).
  let probed = () => {};
  const readyz = createReadinessServer(
    () => readiness,
    () => probed(),
  );
  const server = readyz.server;
  server.maxConnections = 64;
  const address = formatHostPort(config.listen.host, config.listen.port);
  try {
    await listenBothFamilies(server, config.listen.host, config.listen.port);
  } catch (err) {
    log.error(
      { err, listen: address },
      'cannot listen; check --listen (and netready.io/watch-port) and that nothing else in the pod uses the port',
    );
    return EXIT.LISTEN;
  }
  const port = (server.address() as { port: number }).port;
  log.info(
    {
      version: VERSION,
      listen: formatHostPort(config.listen.host, port),
      port,
      checks: config.checks.map((c) => c.spec),
      intervalMs: config.intervalMs,
      failures: config.failures,
    },
    'watch listening',
  );

  const stop = new AbortController();
  const resolve = hostResolver({
    resolvConf,
    dnsServers: config.dnsServers,
    attemptTimeoutMs: config.attemptTimeoutMs,
  });
  const outages = outageSender(
    config,
    { agentVersion: VERSION, pod: config.pod, checks, originWallMs },
    resolve,
    log,
    stop.signal,
  );
  const watching = runWatch(checks, config, clock, stop.signal, {
    lost(e) {
      readiness = { lost: true, since: new Date(Math.round(originWallMs + e.startedMs)).toISOString() };
      const failing = config.checks
        .map((c, i) => ({ spec: c.spec, error: dominantError(e.errors[i]!) }))
        .filter((c) => c.error !== null);
      log.warn(
        { failing, lostForSeconds: secs(e.detectedMs - e.startedMs) },
        `network lost: ${config.failures} rounds failed in a row; /readyz answers 503 until every check passes`,
      );
    },
    restored(e) {
      readiness = { lost: false };
      log.info({ durationSeconds: secs(e.endedMs - e.startedMs) }, 'network back; /readyz answers 200');
      outages.send(e);
    },
  });
  probed = watching.probed;

  const why = await Promise.race([interrupted, watching.done.then(() => 'ended' as const)]);
  // SIGTERM ends everything at once: the loop, attempts in flight, deliveries, the server.
  stop.abort();
  readyz.closeAll();
  server.close();
  log.info({ signal: why }, 'watch stopped');
  return EXIT.STOPPED;
}

/** Sends each outage to the collector (when one is set) under the per-minute cap, without waiting on it. */
function outageSender(config: WatchConfig, ctx: OutageContext, resolve: ResolveHost, log: Logger, signal: AbortSignal) {
  const cap = new OutageCap(config.maxOutagesPerMinute);
  return {
    send(event: OutageEvent): void {
      const url = config.collectorUrl;
      if (url === null) return;
      const decision = cap.take(event.endedMs);
      if (!decision.send) {
        log.warn(
          { dropped: cap.dropped, maxPerMinute: config.maxOutagesPerMinute },
          'outage not sent: the per-minute cap is reached; the next one sent counts it',
        );
        return;
      }
      const outage = buildOutage(ctx, event, decision.dropped);
      // Not in the same turn as the 200: the first delivery loads the HTTP client (undici), tens of
      // ms of the event loop, and /readyz must flip back at once. Loaded then, not at start, so a
      // pod that never loses its network never pays its memory.
      const timer = setTimeout(() => deliver(url, outage), DELIVERY_DELAY_MS);
      signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    },
  };

  function deliver(url: string, outage: Outage): void {
    void deliverReport(url, config.collectorToken, outage, config.reportBudgetMs, USER_AGENT, { signal, resolve }).then(
      (d) => {
        if (d.ok)
          log.info(
            { collector: config.collectorUrl, attempts: d.attempts, startedAt: outage.startedAt },
            'outage delivered',
          );
        else if (!signal.aborted)
          log.warn(
            { collector: url, attempts: d.attempts, error: d.error },
            'outage not delivered; the watch goes on (check the collector URL, and that the collector knows outages)',
          );
      },
    );
  }
}

/**
 * Listens on `host:port`; `::` takes IPv4 too, so one default serves IPv4-only, dual-stack and
 * IPv6-only pods (kubelet probes the pod's first IP, of either family). A kernel booted without
 * IPv6 has no IPv6 sockets at all: there `::` means 0.0.0.0, as for node:net without a host.
 */
async function listenBothFamilies(server: Server, host: string, port: number): Promise<void> {
  try {
    await listen(server, host, port);
  } catch (err) {
    if (host !== '::' || (err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw err;
    await listen(server, '0.0.0.0', port);
  }
}

const secs = (ms: number) => Math.round(ms) / 1000;

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
