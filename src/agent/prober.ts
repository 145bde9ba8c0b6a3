// The prober: staggered attempts per check until every check passes (and, with
// settle, keeps passing), or until the caller's signal aborts. It knows nothing
// of flags, logs or stdout: checks, options, a clock and an AbortSignal go in,
// an outcome and live per-check progress come out.
import type { CheckKind } from '../lib/report.ts';
import { attemptInterval } from './schedule.ts';
import { Streak, type Attempt } from './streak.ts';
import { classifyError } from './classify.ts';

/** One kind of probe against one target. */
export interface Check {
  readonly spec: string;
  readonly kind: CheckKind;
  /** Resolves when this attempt got the answer the check asks for, rejects otherwise; settles promptly once `signal` aborts. */
  attempt(signal: AbortSignal): Promise<void>;
}

/** Monotonic milliseconds since the agent started. */
export interface Clock {
  now(): number;
}

export interface ProbeOptions {
  readonly intervalMs: number;
  readonly attemptTimeoutMs: number;
  readonly maxInFlight: number;
  readonly settleMs: number;
}

/** Live state of one check, read by progress logs and the report. */
export interface CheckProgress {
  readonly spec: string;
  readonly kind: CheckKind;
  attempts: number;
  errors: Record<string, number>;
  lastError: string | null;
  /** Estimated instant (ms) the current passing streak began; null while the check fails. */
  readySince: number | null;
}

export type ProbeOutcome =
  | { ready: true; /** estimated instant every check was passing */ readyAt: number; detectedAt: number }
  | { ready: false };

const TIMED_OUT = Symbol('attempt timed out');

interface Runner {
  readonly progress: CheckProgress;
  settled(now: number): boolean;
}

/** Probes all checks concurrently; `done` resolves when all pass, or with ready false once `signal` aborts. */
export function probe(
  checks: readonly Check[],
  options: ProbeOptions,
  clock: Clock,
  signal: AbortSignal,
): { progress: readonly CheckProgress[]; done: Promise<ProbeOutcome> } {
  const stop = new AbortController();
  const { promise, resolve } = Promise.withResolvers<ProbeOutcome>();
  const finish = (outcome: ProbeOutcome) => {
    if (stop.signal.aborted) return;
    stop.abort();
    signal.removeEventListener('abort', onAbort);
    resolve(outcome);
  };
  const onAbort = () => finish({ ready: false });
  signal.addEventListener('abort', onAbort, { once: true });

  const evaluate = () => {
    const now = clock.now();
    if (!runners.every((r) => r.settled(now))) return;
    const readyAt = Math.max(...runners.map((r) => r.progress.readySince!));
    finish({ ready: true, readyAt, detectedAt: now });
  };
  if (signal.aborted) {
    resolve({ ready: false });
    return { progress: checks.map(newProgress), done: promise };
  }
  const runners = checks.map((check) => startCheck(check, options, clock, stop.signal, evaluate));
  return { progress: runners.map((r) => r.progress), done: promise };
}

function newProgress(check: Check): CheckProgress {
  return { spec: check.spec, kind: check.kind, attempts: 0, errors: {}, lastError: null, readySince: null };
}

function startCheck(check: Check, options: ProbeOptions, clock: Clock, stop: AbortSignal, onUpdate: () => void): Runner {
  const progress = newProgress(check);
  const streak = new Streak(options.settleMs);
  const inFlight = new Map<AbortController, Attempt>();
  let wake = () => {};

  const launch = () => {
    const attempt = streak.launch(clock.now());
    progress.attempts++;
    const ac = new AbortController();
    inFlight.set(ac, attempt);
    const cancel = () => ac.abort();
    stop.addEventListener('abort', cancel, { once: true });
    const timer = setTimeout(() => ac.abort(TIMED_OUT), options.attemptTimeoutMs);
    Promise.resolve()
      .then(() => check.attempt(ac.signal))
      .then(
        () => {
          if (stop.aborted) return streak.cancel(attempt);
          const result = streak.pass(attempt, clock.now());
          progress.readySince = streak.readySince;
          if (result !== 'first') return;
          // Older attempts went into a path that did not work; their late answers would only
          // blur the estimate. Without settle, the check is done and needs none of the others.
          for (const [other, a] of inFlight) if (a.launch < attempt.launch || options.settleMs === 0) other.abort();
          wake();
        },
        (err: unknown) => {
          // Cancelled by us, not a result.
          if (ac.signal.aborted && ac.signal.reason !== TIMED_OUT) return streak.cancel(attempt);
          const cls = ac.signal.reason === TIMED_OUT ? 'timeout' : classifyError(err);
          progress.errors[cls] = (progress.errors[cls] ?? 0) + 1;
          progress.lastError = cls;
          streak.fail(attempt);
          progress.readySince = streak.readySince;
        },
      )
      .finally(() => {
        clearTimeout(timer);
        stop.removeEventListener('abort', cancel);
        inFlight.delete(ac);
        onUpdate();
      });
  };

  const loop = async () => {
    while (!stop.aborted && !(options.settleMs === 0 && streak.readySince !== null)) {
      if (inFlight.size < options.maxInFlight) launch();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, attemptInterval(options.intervalMs, clock.now()));
        function done() {
          clearTimeout(timer);
          stop.removeEventListener('abort', done);
          resolve();
        }
        wake = done;
        stop.addEventListener('abort', done, { once: true });
      });
      onUpdate();
    }
  };
  void loop();

  return { progress, settled: (now) => streak.settled(now) };
}
