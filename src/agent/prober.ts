// The prober: attempts per check until every check passes (and, with settle, keeps
// passing), or until the caller's signal aborts. One timer drives every check: each
// tick launches the attempts that are due and sleeps until the next one is, so a
// waiting agent wakes once per interval, not once per check.
//
// Pacing: while the dataplane drops everything every check fails for the same reason, so
// one cheap signal (a Pacer, e.g. a UDP DNS query) is probed at the full rate and the
// checks whose attempts time out at 1/paceFactor of it. When the signal
// answers, or a paced check passes, every check runs at the full rate at once, for good.
// The reported times stay true: a paced check's ready estimate is put between the last pacer
// probe that went unanswered and the one that was answered (see Streak.pacerWindow). It knows nothing
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
  /** When its first attempt went out (ms); null before. A passing first attempt counts from 0, not from here. */
  firstAttemptAt: number | null;
}

/** A cheap signal across the dataplane that paces the other checks while it is silent (see pacer.ts). */
export interface Pacer {
  /** While it is silent, the paced checks are attempted this many times less often. */
  readonly paceFactor: number;
  /** Sends one probe now, stamped `at` on the prober's clock; never throws. */
  send(at: number): void;
  /**
   * Sets the one callback for the first answer: with the stamp of the probe sent just before
   * the answered one (the dataplane still dropped that one) and of the answered one; null when unknown.
   */
  onAnswer(callback: (silentUntil: number | null, answeredSentAt: number | null) => void): void;
  /** Releases the socket; no callback after it. */
  close(): void;
}

export type ProbeOutcome =
  | { ready: true /** estimated instant every check was passing */; readyAt: number; detectedAt: number }
  | { ready: false };

const TIMED_OUT = Symbol('attempt timed out');

/**
 * Attempts in flight at once for the whole agent, whatever the flags: each holds a socket
 * and some memory, and a dead network would otherwise pile them up to checks × --max-in-flight.
 */
export const MAX_IN_FLIGHT_TOTAL = 128;
/** Pacer sends remembered: at the full rate, more than the 900 ms an attempt may take. */
const PACER_SENDS_KEPT = 64;
/**
 * Node's timers may fire up to a millisecond before the clock says they are due (libuv counts
 * whole milliseconds from the start of the loop's turn). What is due within this is done now:
 * otherwise an early timer would cost a second wake-up a millisecond later, every interval.
 */
const EARLY_MS = 1;
/**
 * An attempt past --attempt-timeout is ended by the first tick that comes within this after its
 * deadline, and only wakes the agent by itself when none does. While anything is due every
 * interval (20–25 ms by default) no timeout costs a wake-up of its own; at the default 900 ms
 * an attempt still ends before the kernel's first SYN retransmit (1 s).
 */
const TIMEOUT_SLACK_MS = 50;

/** One check's state inside the prober. */
interface Runner {
  readonly check: Check;
  readonly progress: CheckProgress;
  readonly streak: Streak;
  readonly inFlight: Map<AbortController, Attempt>;
  /** When its last attempt slot came (launched, or skipped at a cap); its next is due an interval later. */
  lastSlot: number;
  /** lastSlot plus the interval, and plus paceFactor intervals: computed once per slot (see setSlot). */
  nextSlot: number;
  nextPacedSlot: number;
  /** Whether its traffic crosses the dataplane, so a silent pacer paces it. */
  readonly paced: boolean;
}

/**
 * Probes all checks concurrently; `done` resolves when all pass, or with ready false once
 * `signal` aborts. With a `pacer`, the checks are paced while it is silent; the prober closes it.
 */
export function probe(
  checks: readonly Check[],
  options: ProbeOptions,
  clock: Clock,
  signal: AbortSignal,
  pacer: Pacer | null = null,
): { progress: readonly CheckProgress[]; done: Promise<ProbeOutcome> } {
  const { promise, resolve } = Promise.withResolvers<ProbeOutcome>();
  if (signal.aborted) {
    pacer?.close();
    resolve({ ready: false });
    return { progress: checks.map(newProgress), done: promise };
  }
  const stop = new AbortController();
  const runners: Runner[] = checks.map((check) => ({
    check,
    progress: newProgress(check),
    streak: new Streak(options.settleMs),
    inFlight: new Map(),
    lastSlot: -Infinity,
    nextSlot: -Infinity,
    nextPacedSlot: -Infinity,
    // Neighbour resolution, the gateway check's signal, is not what an unprogrammed dataplane drops.
    paced: check.kind !== 'gateway',
  }));
  // One timer object for the whole probe, re-armed with refresh() while its delay stays the same
  // (every interval while paced): no new Timeout, and no new list in Node's timer queue, per tick.
  let timer: NodeJS.Timeout | undefined;
  /** The whole milliseconds the timer was made with. */
  let timerDelay = -1;
  /** When the timer fires; Infinity when it is not armed. */
  let timerAt = Infinity;
  let totalInFlight = 0;
  // Nothing to pace (only gateway checks): the pacer would send for nobody.
  let pacing = pacer !== null && runners.some((r) => r.paced);
  if (pacer && !pacing) pacer.close();
  let pacerNextAt = -Infinity;
  /** The pacer's recent send times, a ring: a paced check that passes first is bounded by them. */
  const pacerSends = new Float64Array(PACER_SENDS_KEPT).fill(Infinity);
  let pacerSendCount = 0;
  /** The pacer's last send at or before `at`; null when none is remembered. */
  const pacerSentBefore = (at: number): number | null => {
    let best: number | null = null;
    for (const sent of pacerSends) if (sent <= at && (best === null || sent > best)) best = sent;
    return best;
  };

  /**
   * Whether the check fails as an unprogrammed dataplane makes it fail: no answer yet, or its last
   * attempt timed out. One that gets answers (refused, NXDOMAIN) is not paced: its target is not
   * behind the dropped path the pacer stands for, and a slow pace would blur its ready estimate.
   */
  const dropped = (r: Runner) =>
    r.paced && r.streak.readySince === null && (r.progress.lastError === null || r.progress.lastError === 'timeout');

  // The hot path below runs every interval (20-25 ms) for as long as the pod waits, with V8's
  // optimizing compilers off after the first second (compilers.ts): in the interpreter and
  // baseline code every for-of allocates an iterator and a result per step, every closure
  // passed to every() or forEach() a context, every Math.min() and clock reading of a
  // fractional millisecond a heap number. So: indexed loops, plain comparisons, one clock
  // reading per tick unless an attempt was launched, and the next due times computed once per
  // slot. Less garbage per tick means fewer scavenges while waiting, each of which promotes
  // what is alive into old space for good (BENCHMARKS.md, session 8).

  /** Records an attempt slot of `r` at `at`, and when its next one is due at either rate. */
  const setSlot = (r: Runner, at: number) => {
    r.lastSlot = at;
    const interval = attemptInterval(options.intervalMs, at);
    r.nextSlot = at + interval;
    r.nextPacedSlot = pacer === null ? r.nextSlot : at + interval * pacer.paceFactor;
  };

  /** When the check's next attempt is due; Infinity when it needs none. */
  const dueAt = (r: Runner) => {
    // Without settle, a passing check needs no more attempts.
    if (options.settleMs === 0 && r.streak.readySince !== null) return Infinity;
    return pacing && dropped(r) ? r.nextPacedSlot : r.nextSlot;
  };

  /**
   * The earliest --attempt-timeout of the attempts in flight that are not ended yet; Infinity when
   * none. Kept as one number and rescanned only when it passed or its attempt ended: a scan of
   * the attempts allocates, and per tick that garbage grew V8's new space (+0.5 MiB private).
   */
  let nextTimeout = Infinity;
  const rescanTimeouts = () => {
    nextTimeout = Infinity;
    for (let i = 0; i < runners.length; i++)
      for (const [ac, a] of runners[i]!.inFlight)
        if (!ac.signal.aborted && a.launch + options.attemptTimeoutMs < nextTimeout)
          nextTimeout = a.launch + options.attemptTimeoutMs;
  };

  /** Sets the one timer for the earliest thing due, unless it is already set for then or sooner. */
  const schedule = () => {
    if (stop.signal.aborted) return;
    let next = pacing ? pacerNextAt : Infinity;
    // A paced check rides the pacer's ticks: launched at the first send after it is due (its rate
    // is a rough 1/paceFactor anyway), so that it costs no wake-up of its own a few ms off the
    // pacer's phase (see tick).
    for (let i = 0; i < runners.length; i++) {
      const r = runners[i]!;
      if (pacing && dropped(r)) continue;
      const due = dueAt(r);
      if (due < next) next = due;
    }
    // A timed-out attempt is ended by whichever tick comes first within TIMEOUT_SLACK_MS.
    if (nextTimeout + TIMEOUT_SLACK_MS < next) next = nextTimeout + TIMEOUT_SLACK_MS;
    if (next >= timerAt) return;
    timerAt = next;
    const delay = Math.max(1, Math.ceil(next - clock.now()));
    if (timer !== undefined && delay === timerDelay) {
      timer.refresh();
    } else {
      clearTimeout(timer);
      timer = setTimeout(tick, delay);
      timerDelay = delay;
    }
  };

  /** Ends the pacing: every check is due at once. The pacer's window bounds the paced checks' estimates. */
  const stopPacing = (silentUntil: number | null, answeredSentAt: number | null) => {
    if (!pacing) return;
    pacing = false;
    pacer!.close();
    for (const r of runners) {
      if (!r.paced) continue;
      if (dropped(r)) r.streak.pacerWindow(silentUntil, answeredSentAt);
      r.lastSlot = r.nextSlot = r.nextPacedSlot = -Infinity;
    }
    schedule();
  };
  pacer?.onAnswer(stopPacing);

  const finish = (outcome: ProbeOutcome) => {
    if (stop.signal.aborted) return;
    stop.abort();
    clearTimeout(timer);
    if (pacing) pacer!.close();
    signal.removeEventListener('abort', onAbort);
    resolve(outcome);
  };
  const onAbort = () => finish({ ready: false });
  signal.addEventListener('abort', onAbort, { once: true });

  /** Finishes when every check has settled; true if it did. */
  const evaluate = (now: number): boolean => {
    for (let i = 0; i < runners.length; i++) if (!runners[i]!.streak.settled(now)) return false;
    finish({ ready: true, readyAt: Math.max(...runners.map((r) => r.streak.readySince!)), detectedAt: now });
    return true;
  };

  const launch = (r: Runner) => {
    const attempt = r.streak.launch(clock.now());
    r.progress.attempts++;
    r.progress.firstAttemptAt ??= attempt.launch;
    totalInFlight++;
    nextTimeout = Math.min(nextTimeout, attempt.launch + options.attemptTimeoutMs);
    const ac = new AbortController();
    r.inFlight.set(ac, attempt);
    const cancel = () => ac.abort();
    stop.signal.addEventListener('abort', cancel, { once: true });
    // Called now, not in a later microtask, so the attempt starts at the instant just stamped.
    let running: Promise<void>;
    try {
      running = r.check.attempt(ac.signal);
    } catch (err) {
      running = Promise.reject(err);
    }
    running
      .then(
        () => {
          if (stop.signal.aborted) return r.streak.cancel(attempt);
          // The pacer's signal is silent but this path works: pacing would only delay the others.
          // Its last query sent before this attempt is still unanswered, so the path did not work
          // then: that bounds this check's estimate, whose previous paced attempt may be a second
          // older (without it, the midpoint could lie ~0.6 s before the truth). Not for a first
          // attempt: the query went out in the same tick and was merely not answered yet (or the
          // nameserver alone is down), and a check that passes at once never held the pod up. With
          // that floor it counted from its launch instead of from 0: from when a busy node got the
          // agent started (1.8 s seen).
          if (r.paced && pacing) stopPacing(attempt.previous === null ? null : pacerSentBefore(attempt.launch), null);
          const result = r.streak.pass(attempt, clock.now());
          r.progress.readySince = r.streak.readySince;
          if (result !== 'first') return;
          // Older attempts went into a path that did not work; their late answers would only
          // blur the estimate. Without settle, the check is done and needs none of the others.
          for (const [other, a] of r.inFlight) if (a.launch < attempt.launch || options.settleMs === 0) other.abort();
        },
        (err: unknown) => {
          // Cancelled by us, not a result.
          if (ac.signal.aborted && ac.signal.reason !== TIMED_OUT) return r.streak.cancel(attempt);
          const cls = ac.signal.reason === TIMED_OUT ? 'timeout' : classifyError(err);
          r.progress.errors[cls] = (r.progress.errors[cls] ?? 0) + 1;
          r.progress.lastError = cls;
          r.streak.fail(attempt);
          r.progress.readySince = r.streak.readySince;
        },
      )
      .finally(() => {
        stop.signal.removeEventListener('abort', cancel);
        r.inFlight.delete(ac);
        if (attempt.launch + options.attemptTimeoutMs <= nextTimeout) rescanTimeouts();
        totalInFlight--;
        // A check that stopped looking dropped (an answer came back) may be due sooner now.
        if (!stop.signal.aborted && !evaluate(clock.now())) schedule();
      });
  };

  /** Ends the attempts past --attempt-timeout, launches every attempt that is due, then sleeps until the next one is. */
  const tick = () => {
    timerAt = Infinity;
    let now = clock.now();
    if (stop.signal.aborted || evaluate(now)) return;
    // The timeouts are the tick's too, not a timer per attempt: Node's clearTimeout leaves its
    // wake-up armed, so every attempt, however it ended, used to wake the agent once more
    // --attempt-timeout after its launch (a paced check's once a second, a lone tcp check's ten
    // times). Ended here, a timed-out attempt costs no wake-up of its own (TIMEOUT_SLACK_MS).
    if (now + EARLY_MS >= nextTimeout) {
      const launchedBy = now + EARLY_MS - options.attemptTimeoutMs;
      for (const r of runners) for (const [ac, a] of r.inFlight) if (a.launch <= launchedBy) ac.abort(TIMED_OUT);
      rescanTimeouts();
      // Aborted attempts settle in later microtasks; the aborts themselves may have taken a while.
      now = clock.now();
    }
    let pacerSent = false;
    if (pacing && now + EARLY_MS >= pacerNextAt) {
      pacer!.send(now);
      pacerSends[pacerSendCount++ % PACER_SENDS_KEPT] = now;
      pacerNextAt = now + attemptInterval(options.intervalMs, now);
      pacerSent = true;
    }
    for (let i = 0; i < runners.length; i++) {
      const r = runners[i]!;
      if (now + EARLY_MS < dueAt(r) || (pacing && dropped(r) && !pacerSent)) continue;
      // At a cap, the attempt is skipped, not queued: the next one is due an interval later anyway.
      if (r.inFlight.size < options.maxInFlight && totalInFlight < MAX_IN_FLIGHT_TOTAL) {
        launch(r);
        // The launch stamped its own reading; what comes after it is later by what it took.
        setSlot(r, now);
        now = clock.now();
      } else setSlot(r, now);
    }
    schedule();
  };
  tick();

  return { progress: runners.map((r) => r.progress), done: promise };
}

function newProgress(check: Check): CheckProgress {
  return {
    spec: check.spec,
    kind: check.kind,
    attempts: 0,
    errors: {},
    lastError: null,
    readySince: null,
    firstAttemptAt: null,
  };
}
