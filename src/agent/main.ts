// netready wait: block until the pod network works, report the delay, exit.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseWaitConfig } from './config.ts';
import { buildChecks, hostResolver } from './checks/build.ts';
import { apiServiceName, parseResolvConf } from './resolv.ts';
import { dnsPacer, portPacer } from './pacer.ts';
import { probe, type CheckProgress, type ProbeOutcome } from './prober.ts';
import { processClock, processStartWallMs } from './process-clock.ts';
import { buildReport, dominantError, summaryLine } from './summary.ts';
import { deliverReport, rehearseDelivery } from './reporter.ts';
import { COMPILERS_OFF_AFTER_MS, optimizingCompilers } from './compilers.ts';
import { writeTerminationLog } from './termination-log.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import type { Report } from '../lib/report.ts';
import { VERSION } from '../lib/version.ts';
import { EXIT_CONFIG, parseConfigOrExit } from '../lib/cli-config.ts';
import { untilSignal } from '../lib/signals.ts';
import { writeStdout } from '../lib/stdout.ts';

/** Exit codes of `netready wait`. */
export const EXIT = {
  /** The network works (or the deadline passed with --on-timeout continue). */
  READY: 0,
  /** The deadline passed before every check passed. */
  DEADLINE: 1,
  /** Bad flags or environment; nothing was probed. */
  CONFIG: EXIT_CONFIG,
  /** Interrupted: 128 + SIGINT / SIGTERM, as a shell reports them. */
  SIGINT: 130,
  SIGTERM: 143,
} as const;

const PROGRESS_EVERY_MS = 5_000;
const USER_AGENT = `netready/${VERSION}`;

/** What to look at next, by the dominant error class of a check that never passed. */
const HINTS: Record<string, string> = {
  timeout:
    'packets are dropped: the dataplane may not be programmed yet (network policy agent, e.g. Calico Felix) or policy denies it',
  unreachable: 'no route or no neighbour: check the pod interface and the CNI plugin',
  no_default_route: 'the pod has no default route: check the CNI plugin configuration',
  refused: 'the host answered but nothing listens on that port: check the target',
  reset: 'connections are reset: check the target and any proxy or mesh in the path',
  dns_nxdomain: 'the name does not exist: check the name and the resolv.conf search domains',
  dns_nodata: 'the name has no A or AAAA record',
  dns_servfail: 'the DNS server failed to answer: check CoreDNS and its upstreams',
  dns_refused: 'the DNS server refused the query',
  no_nameserver: 'no nameserver in /etc/resolv.conf: check the pod dnsPolicy',
  tls: 'the TLS handshake failed: check the server certificate',
};

/** Runs `netready wait`; returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  // Every figure is monotonic milliseconds since the process started.
  const clock = processClock;
  const startWallMs = processStartWallMs();
  // Before anything else, so that a signal at any point ends the run promptly.
  const interrupted = untilSignal();

  const parsed = parseConfigOrExit('wait', () => parseWaitConfig(argv, env));
  if ('exit' in parsed) return parsed.exit;
  const config = parsed.config;
  if (config.dryRun) {
    const shown = { ...config, collectorToken: config.collectorToken === null ? null : '(redacted)' };
    writeStdout(`${JSON.stringify(shown, null, 2)}\n`);
    return EXIT.READY;
  }

  const log = createLogger('netready-wait', config.logLevel);
  const skippedNameservers: string[] = [];
  const resolvConf = parseResolvConf(readText('/etc/resolv.conf'), (line) => skippedNameservers.push(line));
  if (skippedNameservers.length > 0) {
    log.warn(
      { lines: skippedNameservers, using: resolvConf.servers },
      'skipped nameserver lines in /etc/resolv.conf that are not IP addresses; check the pod dnsConfig',
    );
  }
  const checks = buildChecks(config.checks, {
    resolvConf,
    dnsServers: config.dnsServers,
    attemptTimeoutMs: config.attemptTimeoutMs,
    httpStatus: config.httpStatus,
    userAgent: USER_AGENT,
  });
  log.info(
    {
      version: VERSION,
      checks: config.checks.map((c) => c.spec),
      timeoutMs: config.timeoutMs,
      pod: config.pod.name || undefined,
    },
    'waiting for the pod network',
  );

  // The one race: every check passing, the deadline, or a signal.
  const run = new AbortController();
  // While the dataplane drops everything, one datagram per interval paces the checks: a DNS query to
  // the pod's nameserver when a dns check already asks it, else an empty datagram to a tcp check's
  // own address and port. The agent sends nothing to where the checks do not.
  const asksDns = config.checks.some((c) => c.kind === 'dns');
  const tcpTarget = config.checks.find((c) => c.kind === 'tcp' && isIP(c.host) !== 0);
  const pacer = asksDns
    ? await dnsPacer(config.dnsServers[0] ?? resolvConf.servers[0], apiServiceName(resolvConf))
    : tcpTarget?.kind === 'tcp'
      ? await portPacer(tcpTarget.host, tcpTarget.port)
      : null;
  const { progress, done } = probe(checks, config, clock, run.signal, pacer);
  const timers: NodeJS.Timeout[] = [];
  // The collector's name resolves as the checks' names do, abortably.
  const resolveCollector = hostResolver({
    resolvConf,
    dnsServers: config.dnsServers,
    attemptTimeoutMs: config.attemptTimeoutMs,
  });
  let rehearsed: Promise<unknown> = Promise.resolve();
  // What follows detection is compiled at its first use: run it once while the network is still
  // down, not after it came up, when the agents of a node programmed at once queue for its cores.
  // The report and the ready line (on a logger that writes nowhere), and with a collector its
  // delivery, to a stand-in on loopback. Not at once: a pod whose network is already up passes its
  // checks within a few ms, and preparing first would delay that answer.
  timers.push(
    setTimeout(() => {
      const now = clock.now();
      const rehearsal: ProbeOutcome = { ready: true, readyAt: now, detectedAt: now };
      const report = buildReport(config, progress, rehearsal, now, startWallMs, VERSION);
      const silent = createLogger('netready-wait', config.logLevel, () => {});
      logReady(silent, report, summaryLine(report), rehearsal, progress);
      // A failed rehearsal only leaves its cost to the report's delivery.
      if (config.collectorUrl)
        rehearsed = rehearseDelivery(config.collectorToken, report, USER_AGENT, { resolve: resolveCollector }).catch(
          () => {},
        );
    }, 50),
  );
  // A wait that lasts runs the probe loop in baseline code (compilers.ts says why). After the
  // rehearsal, which loads the last built-ins the wait needs while their code cache is accepted.
  const compilers = optimizingCompilers(`${process.execArgv.join(' ')} ${env.NODE_OPTIONS ?? ''}`, (flags) =>
    process.getBuiltinModule('node:v8').setFlagsFromString(flags),
  );
  timers.push(
    setTimeout(() => {
      void rehearsed.then(() => {
        if (!run.signal.aborted && compilers.off())
          log.debug({ afterSeconds: secs(clock.now()) }, 'optimizing compilers off while waiting');
      });
    }, COMPILERS_OFF_AFTER_MS),
  );
  // --timeout counts from the process start, as every reported figure does, so a slow start-up
  // on a busy node does not stretch it.
  const deadline = new Promise<'deadline'>((resolve) => {
    if (config.timeoutMs <= 0) return;
    // Node's timers may fire up to a millisecond before the clock says: re-arm for what is left,
    // so the reported delay of a timeout is never below --timeout.
    const arm = () => {
      const left = config.timeoutMs - clock.now();
      if (left <= 0) resolve('deadline');
      else timers.push(setTimeout(arm, Math.ceil(left)));
    };
    arm();
  });
  timers.push(
    setInterval(
      () => log.info({ elapsedSeconds: secs(clock.now()), checks: progress.map(progressEntry) }, 'still waiting'),
      PROGRESS_EVERY_MS,
    ),
  );

  let result: ProbeOutcome | 'deadline' | 'SIGTERM' | 'SIGINT';
  try {
    result = await Promise.race([done, deadline, interrupted]);
  } finally {
    run.abort();
    for (const t of timers) clearTimeout(t);
    compilers.restore();
  }
  if (result === 'SIGTERM' || result === 'SIGINT') {
    log.warn(
      { elapsedSeconds: secs(clock.now()), checks: progress.map(progressEntry) },
      `${result} while waiting; exiting`,
    );
    return EXIT[result];
  }

  const outcome: ProbeOutcome = result === 'deadline' ? { ready: false } : result;
  const report = buildReport(config, progress, outcome, clock.now(), startWallMs, VERSION);
  const summary = summaryLine(report);
  if (outcome.ready) {
    logReady(log, report, summary, outcome, progress);
  } else {
    const failing = progress
      .filter((p) => p.readySince === null)
      .map((p) => {
        const error = dominantError(p.errors);
        return { spec: p.spec, attempts: p.attempts, error, hint: error ? HINTS[error] : undefined };
      });
    const names = failing.map((f) => `${f.spec} (${f.error ?? 'no answer'})`).join(', ');
    log.error({ failing, checks: report.checks }, `deadline passed; never passed: ${names}`);
  }
  if (config.terminationLog) {
    const written = writeTerminationLog(config.terminationLog, summary);
    // Outside a pod the file may not exist, which is fine; anything else (a FIFO, a directory) is worth a look.
    if (!written.written)
      log[written.reason === 'ENOENT' ? 'debug' : 'warn'](
        { path: config.terminationLog, error: written.reason },
        'termination log not written; check --termination-log',
      );
  }

  if (config.collectorUrl) {
    // A signal ends the delivery at once.
    const stop = new AbortController();
    const delivering = deliverReport(
      config.collectorUrl,
      config.collectorToken,
      report,
      config.reportBudgetMs,
      USER_AGENT,
      { signal: stop.signal, resolve: resolveCollector },
    );
    const delivery = await Promise.race([delivering, interrupted]);
    if (typeof delivery === 'string') {
      stop.abort();
      log.warn({ collector: config.collectorUrl }, `${delivery} while delivering the report; exiting`);
      return EXIT[delivery];
    }
    if (delivery.ok) log.info({ collector: config.collectorUrl, attempts: delivery.attempts }, 'report delivered');
    else
      log.warn(
        { collector: config.collectorUrl, attempts: delivery.attempts, error: delivery.error },
        'report not delivered; check the collector URL and that the collector runs',
      );
  }

  if (outcome.ready) return EXIT.READY;
  return config.onTimeout === 'continue' ? EXIT.READY : EXIT.DEADLINE;
}

const secs = (ms: number) => Math.round(ms) / 1000;

/** Logs the ready line: the report's delay and per-check figures, when the agent knew and first looked. */
function logReady(
  log: Logger,
  report: Report,
  summary: string,
  outcome: ProbeOutcome & { ready: true },
  progress: readonly CheckProgress[],
): void {
  // A check that passed at its first attempt reports 0 s; this says how late the agent got to look (start-up on a busy node).
  const firstLookAfterSeconds = secs(Math.min(...progress.map((p) => p.firstAttemptAt ?? Infinity)));
  log.info(
    {
      delaySeconds: report.delaySeconds,
      detectedAfterSeconds: secs(outcome.detectedAt),
      firstLookAfterSeconds,
      checks: report.checks,
    },
    summary,
  );
}

function progressEntry(p: CheckProgress) {
  return { spec: p.spec, ok: p.readySince !== null, attempts: p.attempts, error: dominantError(p.errors) };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
