// The watch loop: one round of probes (every check once) per interval while
// the network works; when a streak of failed rounds reaches the threshold, the
// network is lost, and the wait's prober runs at its start-up rate until every
// check passes again. While the network works, kubelet's probe of /readyz may
// launch a round a little early, on its own wake-up (see watch-align.ts). It
// knows nothing of HTTP, flags or logs: checks, options, a clock and an
// AbortSignal go in, events come out.
import { classifyError } from './classify.ts';
import { probe, type Check, type Clock } from './prober.ts';
import { ProbeAlignment } from './watch-align.ts';
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

/** The reason a round's deadline aborts with; an attempt that ends by it failed with `timeout`. */
const TIMED_OUT = Symbol('attempt timed out');

/** A running watch. */
export interface Watch {
  /** Resolves once `signal` aborted, promptly, with every timer and attempt released. */
  readonly done: Promise<void>;
  /** kubelet's probe was answered: the next round may launch now, on the probe's wake-up. */
  probed(): void;
}

/** Runs until `signal` aborts. */
export function runWatch(
  checks: readonly Check[],
  options: WatchOptions,
  clock: Clock,
  signal: AbortSignal,
  events: WatchEvents,
): Watch {
  const alignment = new ProbeAlignment(options.intervalMs);
  let launchedMs = -Infinity;
  /** Set while a healthy round waits for the next launch: launches it now. */
  let launchNow: (() => void) | null = null;
  return {
    done: watchLoop(checks, options, clock, signal, events, {
      launched(ms) {
        launchedMs = ms;
      },
      waiting(launch) {
        launchNow = launch;
      },
    }),
    probed() {
      if (alignment.probed(clock.now(), launchedMs)) launchNow?.();
    },
  };
}

/** How the loop tells runWatch where it is, for the probes. */
interface LoopState {
  launched(ms: number): void;
  /** `launch` ends the wait for the next round; null once the wait is over. */
  waiting(launch: (() => void) | null): void;
}

async function watchLoop(
  checks: readonly Check[],
  options: WatchOptions,
  clock: Clock,
  signal: AbortSignal,
  events: WatchEvents,
  state: LoopState,
): Promise<void> {
  const streak = new FailureStreak(options.failures, checks.length);
  let healthy = true;
  while (!signal.aborted) {
    const launchedMs = clock.now();
    state.launched(launchedMs);
    // One timer per round, the round's deadline. Node never disarms its timer
    // for a cleared timeout: a deadline cleared at +5 ms still wakes the process
    // when it would have fired, and every wake-up costs about as much as a
    // round's own work (BENCHMARKS.md, bench/watch). So while the network works,
    // the deadline is the next round's launch and is not cleared: a round costs
    // one timer wake-up. Once a round failed, attempts get their own
    // --attempt-timeout, so the last round of a streak, which decides, is
    // bounded by it as before and the detection window does not change.
    const paced = healthy && options.intervalMs >= options.attemptTimeoutMs;
    const deadline = roundDeadline(paced ? options.intervalMs : options.attemptTimeoutMs, signal);
    const round = await probeRound(checks, deadline.signal);
    if (signal.aborted) return deadline.clear();
    const verdict = streak.record(launchedMs, round);
    healthy = verdict.state === 'ok';
    if (verdict.state !== 'lost') {
      if (paced) {
        // A probe may launch the next round early, on its own wake-up (runWatch);
        // the cleared deadline's wake-up then comes while that round runs. Only
        // while rounds pass: a streak's rounds stay an interval apart.
        if (healthy) state.waiting(deadline.clear);
        await deadline.expired;
        state.waiting(null);
      } else {
        deadline.clear();
        await sleep(launchedMs + options.intervalMs - clock.now(), signal);
      }
      continue;
    }
    deadline.clear();
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
    healthy = true;
    events.restored({ startedMs: verdict.startedMs, detectedMs, endedMs: detectedMs + outcome.detectedAt, errors });
    await sleep(options.intervalMs, signal);
  }
}

/** A round's deadline: `signal` aborts with TIMED_OUT after `ms`, or with the outer signal's reason. */
interface RoundDeadline {
  readonly signal: AbortSignal;
  /** Resolves when the deadline passes, `outer` aborts, or it is cleared. */
  readonly expired: Promise<void>;
  /** Releases the timer (the deadline then never passes) and resolves `expired` now. */
  clear(): void;
}

function roundDeadline(ms: number, outer: AbortSignal): RoundDeadline {
  const ac = new AbortController();
  let fire!: () => void;
  const expired = new Promise<void>((resolve) => {
    fire = resolve;
  });
  const onAbort = () => {
    clearTimeout(timer);
    ac.abort(outer.reason);
    fire();
  };
  const timer = setTimeout(() => {
    outer.removeEventListener('abort', onAbort);
    ac.abort(TIMED_OUT);
    fire();
  }, ms);
  outer.addEventListener('abort', onAbort, { once: true });
  return {
    signal: ac.signal,
    expired,
    clear() {
      clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
      fire();
    },
  };
}

/**
 * One attempt per check, concurrently, all bounded by `deadline` (a signal
 * that aborts with TIMED_OUT when the round's time is up); per check null when
 * it passed, else its error class.
 */
export async function probeRound(checks: readonly Check[], deadline: AbortSignal): Promise<RoundResult> {
  return Promise.all(
    checks.map(async (check) => {
      try {
        await check.attempt(deadline);
        return null;
      } catch (err) {
        return deadline.reason === TIMED_OUT ? 'timeout' : classifyError(err);
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
