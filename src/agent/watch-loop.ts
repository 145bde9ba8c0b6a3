// The watch loop: one round of probes (every check once) per interval while
// the network works; when a streak of failed rounds reaches the threshold, the
// network is lost, and the wait's prober runs at its start-up rate until every
// check passes again. It knows nothing of HTTP, flags or logs: checks, options,
// a clock and an AbortSignal go in, events come out.
import { classifyError } from './classify.ts';
import { probe, type Check, type Clock } from './prober.ts';
import { FailureStreak, type RoundResult } from './watch-streak.ts';
import type { OutageEvent } from './watch-outage.ts';

export interface WatchOptions {
  readonly intervalMs: number;
  readonly failures: number;
  readonly recoverIntervalMs: number;
  readonly attemptTimeoutMs: number;
  readonly maxInFlight: number;
}

export interface WatchEvents {
  /** The streak reached the threshold at `detectedMs`: readiness must fail from now on. */
  lost(e: {
    readonly startedMs: number;
    readonly detectedMs: number;
    readonly errors: readonly Record<string, number>[];
  }): void;
  /** Every check passed again: readiness must pass from now on. */
  restored(e: OutageEvent): void;
}

const TIMED_OUT = Symbol('attempt timed out');

/** Runs until `signal` aborts; resolves then, promptly, with every timer and attempt released. */
export async function runWatch(
  checks: readonly Check[],
  options: WatchOptions,
  clock: Clock,
  signal: AbortSignal,
  events: WatchEvents,
): Promise<void> {
  const streak = new FailureStreak(options.failures, checks.length);
  while (!signal.aborted) {
    const launchedMs = clock.now();
    const round = await probeRound(checks, options.attemptTimeoutMs, signal);
    if (signal.aborted) return;
    const verdict = streak.record(launchedMs, round);
    if (verdict.state !== 'lost') {
      await sleep(launchedMs + options.intervalMs - clock.now(), signal);
      continue;
    }
    const detectedMs = clock.now();
    events.lost({ startedMs: verdict.startedMs, detectedMs, errors: streak.errors() });
    // The recovery is a wait of its own: its clock starts at 0 now, so the
    // prober's interval (which grows over a wait's first 10 s) starts at
    // --recover-interval, as a fresh wait's does.
    const since = { now: () => clock.now() - detectedMs };
    const recovery = probe(
      checks,
      {
        intervalMs: options.recoverIntervalMs,
        attemptTimeoutMs: options.attemptTimeoutMs,
        maxInFlight: options.maxInFlight,
        settleMs: 0,
      },
      since,
      signal,
    );
    const outcome = await recovery.done;
    if (!outcome.ready) return;
    const errors = streak.errors().map((e, i) => addCounts(e, recovery.progress[i]!.errors));
    streak.reset();
    events.restored({ startedMs: verdict.startedMs, detectedMs, endedMs: detectedMs + outcome.detectedAt, errors });
    await sleep(options.intervalMs, signal);
  }
}

/** One attempt per check, concurrently; per check null when it passed, else its error class. */
export async function probeRound(
  checks: readonly Check[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<RoundResult> {
  return Promise.all(
    checks.map(async (check) => {
      const ac = new AbortController();
      const cancel = () => ac.abort();
      signal.addEventListener('abort', cancel, { once: true });
      const timer = setTimeout(() => ac.abort(TIMED_OUT), timeoutMs);
      try {
        await check.attempt(ac.signal);
        return null;
      } catch (err) {
        return ac.signal.reason === TIMED_OUT ? 'timeout' : classifyError(err);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', cancel);
      }
    }),
  );
}

/** Resolves after `ms` (at once when ≤ 0) or when `signal` aborts, whichever is first; the timer is released either way. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function addCounts(a: Record<string, number>, b: Readonly<Record<string, number>>): Record<string, number> {
  const out = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return out;
}
