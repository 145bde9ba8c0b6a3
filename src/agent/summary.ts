// Turns the prober's result into the v1 report and the one-line summary.
import { REPORT_SCHEMA_VERSION } from '../lib/report-version.ts';
import { MAX_REPORT_SECONDS } from '../lib/report-limits.ts';
import type { CheckResult, Report } from '../lib/report.ts';
import type { WaitConfig } from './config.ts';
import type { CheckProgress, ProbeOutcome } from './prober.ts';

const sec = (ms: number) => Math.round(ms) / 1000;

/** The most frequent error class in per-class counts, or null if there are none. */
export function dominantError(errors: Record<string, number>): string | null {
  let best: string | null = null;
  for (const [cls, n] of Object.entries(errors)) if (best === null || n > errors[best]!) best = cls;
  return best;
}

/**
 * Builds the report document for one run. Offsets are monotonic ms since the
 * agent started at wall-clock `startWallMs`; `elapsedMs` is the time waited
 * when the outcome is a timeout.
 */
export function buildReport(
  config: WaitConfig,
  progress: readonly CheckProgress[],
  outcome: ProbeOutcome,
  elapsedMs: number,
  startWallMs: number,
  agentVersion: string,
): Report {
  const checks: CheckResult[] = progress.map((p) => ({
    spec: p.spec,
    kind: p.kind,
    ok: p.readySince !== null,
    readyAfterSeconds: p.readySince === null ? null : sec(p.readySince),
    attempts: p.attempts,
    errors: { ...p.errors },
  }));
  // Whole milliseconds, so that startedAt + delaySeconds is exactly readyAt.
  const startMs = Math.floor(startWallMs);
  const readyWall = outcome.ready ? startMs + Math.round(outcome.readyAt) : null;
  const admitted = config.admittedAt === null ? null : Date.parse(config.admittedAt);
  const sinceAdmission = admitted !== null && readyWall !== null ? sec(readyWall - admitted) : null;
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    agentVersion,
    pod: { ...config.pod, ips: [...config.pod.ips] },
    outcome: outcome.ready ? 'ready' : 'timeout',
    startedAt: new Date(startMs).toISOString(),
    readyAt: readyWall === null ? null : new Date(readyWall).toISOString(),
    delaySeconds: sec(outcome.ready ? outcome.readyAt : elapsedMs),
    admittedAt: config.admittedAt,
    // Two clocks (the API server's and this node's): skew shows up here, not in delaySeconds.
    // Beyond the contract's bound it is not this start's figure (a pod restarted days after
    // admission runs its init containers again): unknown, so that the report is still taken.
    admissionToReadySeconds:
      sinceAdmission !== null && Math.abs(sinceAdmission) <= MAX_REPORT_SECONDS ? sinceAdmission : null,
    checks,
  };
}

/** The one-line human summary, e.g. `network ready after 1.840 s (gateway 0.002 s, dns 1.830 s)`. */
export function summaryLine(report: Report): string {
  const parts = report.checks.map((c) =>
    c.ok
      ? `${c.spec} ${c.readyAfterSeconds!.toFixed(3)} s`
      : `${c.spec} failed: ${dominantError(c.errors) ?? 'no answer'}`,
  );
  const head =
    report.outcome === 'ready'
      ? `network ready after ${report.delaySeconds.toFixed(3)} s`
      : `network not ready after ${report.delaySeconds.toFixed(3)} s`;
  return `${head} (${parts.join(', ')})`;
}
