// probe() with in-memory checks: no network. Intervals are a few ms of real
// time; assertions are about behaviour (what passed, what was counted, what
// stopped). Where a test asserts launch times or estimates, the checks run on
// a StepClock that moves only when an attempt starts, so the values are exact
// however loaded the machine is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PACE_FACTOR } from '../../src/agent/schedule.ts';
import { MAX_IN_FLIGHT_TOTAL, probe, type Check, type Clock, type ProbeOptions } from '../../src/agent/prober.ts';
import type { CheckKind } from '../../src/lib/report.ts';

const clock: Clock = { now: () => performance.now() };

/** Milliseconds a StepClock moves at each attempt start. */
const STEP = 10;
/** A clock that reads 1000 at first and moves STEP ms each time a fake attempt starts. */
interface StepClock extends Clock {
  t: number;
}
const stepClock = (): StepClock => ({
  t: 1000,
  now() {
    return this.t;
  },
});
const OPTIONS: ProbeOptions = { intervalMs: 5, attemptTimeoutMs: 1000, maxInFlight: 8, settleMs: 0 };

const coded = (code: string) => Object.assign(new Error(`fake ${code}`), { code });

/** What one attempt does: pass, fail with an error, or hang until aborted. */
type Behaviour = 'pass' | Error | 'hang';

interface FakeCheck extends Check {
  /** Attempts started, with their start time, behaviour, and whether they ran to the end (not aborted). */
  readonly calls: { at: number; behaviour: Behaviour; completed: boolean }[];
  /** Attempts not yet settled, and the most at once. */
  pending: number;
  maxPending: number;
  /** When the last failing attempt settled with its error. */
  lastFailSettledAt: number;
}

interface FakeOptions {
  /** Real ms before the attempt settles; 1 by default. */
  delayMs?: number | ((n: number) => number);
  /** Clock to stamp and step at each attempt start; the real clock if unset. */
  clock?: StepClock;
  /** How far the clock steps at each attempt start; STEP by default. */
  step?: number;
}

/**
 * A check whose n-th attempt (1-based), started at time `at`, does `behave(n, at)`
 * after `delayMs`. Every attempt settles promptly on abort, as real checks do.
 */
function fakeCheck(
  spec: string,
  kind: CheckKind,
  behave: (n: number, at: number) => Behaviour,
  opts: FakeOptions = {},
): FakeCheck {
  const { delayMs = 1, clock: step, step: stepMs = STEP } = opts;
  const c = step ?? clock;
  const fake: FakeCheck = {
    spec,
    kind,
    calls: [],
    pending: 0,
    maxPending: 0,
    lastFailSettledAt: -Infinity,
    attempt(signal) {
      // The prober stamped this launch with the same reading (nothing steps the clock in between).
      const at = c.now();
      if (step) step.t += stepMs;
      const n = fake.calls.length + 1;
      const behaviour = behave(n, at);
      const call = { at, behaviour, completed: false };
      fake.calls.push(call);
      fake.pending++;
      fake.maxPending = Math.max(fake.maxPending, fake.pending);
      return new Promise<void>((resolve, reject) => {
        const settle = (err?: unknown) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          fake.pending--;
          if (err === undefined) resolve();
          else reject(err);
        };
        const onAbort = () => settle(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        const timer =
          behaviour === 'hang'
            ? undefined
            : setTimeout(
                () => {
                  if (behaviour !== 'pass') fake.lastFailSettledAt = c.now();
                  call.completed = true;
                  settle(behaviour === 'pass' ? undefined : behaviour);
                },
                typeof delayMs === 'number' ? delayMs : delayMs(n),
              );
      });
    },
  };
  return fake;
}

/** Aborts after `ms`; the timer is released when the test ends. */
function abortAfter(ms: number, t: { after(fn: () => void): void }): AbortSignal {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('deadline')), ms);
  t.after(() => clearTimeout(timer));
  return ac.signal;
}

test('a check that passes on its 3rd attempt: ready, 2 errors counted, readyAt midway between attempts 2 and 3', async (t) => {
  const steps = stepClock();
  const check = fakeCheck('tcp://10.96.0.10:53', 'tcp', (n) => (n < 3 ? coded('ECONNREFUSED') : 'pass'), {
    clock: steps,
  });
  const { progress, done } = probe([check], OPTIONS, steps, abortAfter(2000, t));
  const outcome = await done;
  assert.deepEqual(
    check.calls.map((c) => c.at),
    [1000, 1010, 1020],
  );
  assert.deepEqual(progress[0], {
    spec: 'tcp://10.96.0.10:53',
    kind: 'tcp',
    attempts: 3,
    errors: { refused: 2 },
    lastError: 'refused',
    readySince: 1015,
    firstAttemptAt: 1000,
  });
  assert.equal(outcome.ready, true);
  assert.ok(outcome.ready);
  // The network came up between the 2nd (failed) and 3rd (passed) launch.
  assert.equal(outcome.readyAt, 1015);
  assert.ok(outcome.detectedAt >= 1020);
});

test('a check that passes at once: ready since the start (0), its first look at 1000', async (t) => {
  const steps = stepClock();
  const check = fakeCheck('gateway', 'gateway', () => 'pass', { clock: steps });
  const { progress, done } = probe([check], OPTIONS, steps, abortAfter(2000, t));
  const outcome = await done;
  assert.ok(outcome.ready);
  assert.equal(outcome.readyAt, 0);
  assert.deepEqual(progress[0], {
    spec: 'gateway',
    kind: 'gateway',
    attempts: 1,
    errors: {},
    lastError: null,
    readySince: 0,
    firstAttemptAt: 1000,
  });
});

test('checks that never pass: ready false at abort, every failed attempt counted by class', async (t) => {
  const dns = fakeCheck('dns', 'dns', () => coded('ENOTFOUND'));
  const tcp = fakeCheck('tcp://10.96.0.10:53', 'tcp', (n) =>
    n % 2 === 1 ? coded('ECONNREFUSED') : coded('EHOSTUNREACH'),
  );
  const http = fakeCheck('https://kubernetes.default.svc/readyz', 'http', () => coded('HTTP_503'));
  const { progress, done } = probe([dns, tcp, http], OPTIONS, clock, abortAfter(150, t));
  assert.deepEqual(await done, { ready: false });
  const [d, c, h] = progress;
  for (const [i, p] of progress.entries()) {
    assert.equal(p.readySince, null);
    assert.ok(p.attempts >= 3, `${p.spec}: only ${p.attempts} attempts in 150 ms`);
    assert.equal(p.attempts, [dns, tcp, http][i]!.calls.length);
  }
  // Every attempt that ran to its end is counted; one still in flight at the abort is cancelled, not counted.
  const completed = (f: FakeCheck, pick: (n: number) => boolean = () => true) =>
    f.calls.filter((call, i) => call.completed && pick(i + 1)).length;
  assert.deepEqual(d!.errors, { dns_nxdomain: completed(dns) });
  assert.deepEqual(c!.errors, {
    refused: completed(tcp, (n) => n % 2 === 1),
    unreachable: completed(tcp, (n) => n % 2 === 0),
  });
  assert.deepEqual(h!.errors, { http_503: completed(http) });
  for (const [i, f] of [dns, tcp, http].entries())
    assert.ok(
      completed(f) >= f.calls.length - 1,
      `${progress[i]!.spec}: ${completed(f)} of ${f.calls.length} completed`,
    );
  assert.equal(d!.lastError, 'dns_nxdomain');
  assert.equal(h!.lastError, 'http_503');
});

test('an attempt that hangs is aborted by the per-attempt timeout and counted as timeout', async (t) => {
  const check = fakeCheck('dns', 'dns', () => 'hang');
  const { progress, done } = probe([check], { ...OPTIONS, attemptTimeoutMs: 20 }, clock, abortAfter(200, t));
  assert.deepEqual(await done, { ready: false });
  const p = progress[0]!;
  assert.deepEqual(Object.keys(p.errors), ['timeout']);
  assert.ok(p.errors.timeout! >= 1);
  assert.ok(p.errors.timeout! <= p.attempts, `${p.errors.timeout} timeouts of ${p.attempts} attempts`);
  assert.equal(p.lastError, 'timeout');
  await sleep(10);
  assert.equal(check.pending, 0);
});

test('all checks must pass: readyAt is the latest readySince, and done waits for the slow check', async (t) => {
  const steps = stepClock();
  const fast = fakeCheck('gateway', 'gateway', () => 'pass', { clock: steps });
  const slow = fakeCheck('dns', 'dns', (n) => (n <= 3 ? coded('ESERVFAIL') : 'pass'), { clock: steps });
  const { progress, done } = probe([fast, slow], OPTIONS, steps, abortAfter(2000, t));
  const outcome = await done;
  assert.ok(outcome.ready);
  const [f, s] = progress;
  assert.equal(f!.attempts, 1); // done once passed (no settle)
  assert.equal(s!.attempts, 4);
  assert.deepEqual(s!.errors, { dns_servfail: 3 });
  // Midway between the slow check's 3rd (failed) and 4th (passed) launch.
  assert.equal(s!.readySince, (slow.calls[2]!.at + slow.calls[3]!.at) / 2);
  assert.ok(f!.readySince! < s!.readySince!);
  assert.equal(outcome.readyAt, s!.readySince);
  assert.ok(outcome.detectedAt >= slow.calls[3]!.at);
});

test('a late pass from an attempt launched before a failing one is not taken as ready', async (t) => {
  const steps = stepClock();
  // Attempt 1 passes after 150 ms; attempt 2, launched after it, fails after 1 ms; later ones pass after 200 ms.
  const check = fakeCheck('tcp://10.96.0.10:53', 'tcp', (n) => (n === 2 ? coded('EHOSTUNREACH') : 'pass'), {
    clock: steps,
    delayMs: (n) => (n === 1 ? 150 : n === 2 ? 1 : 200),
  });
  const { progress, done } = probe([check], OPTIONS, steps, abortAfter(2000, t));
  const outcome = await done;
  assert.ok(outcome.ready);
  assert.deepEqual(progress[0]!.errors, { unreachable: 1 });
  // The path was still failing when attempt 2 (at 1010) went out: ready midway to attempt 3, not at attempt 1.
  assert.equal(outcome.readyAt, 1015);
});

test('settle: a flap after the first pass restarts the streak; ready only after settleMs of continuous passing', async (t) => {
  const settleMs = 300; // 30 launches on the step clock
  const steps = stepClock();
  // Attempts 1-2 pass, 3-7 fail (the flap, inside the first settle window), then all pass.
  const check = fakeCheck('dns', 'dns', (n) => (n >= 3 && n < 8 ? coded('ECONNREFUSED') : 'pass'), { clock: steps });
  const { progress, done } = probe([check], { ...OPTIONS, settleMs }, steps, abortAfter(2000, t));
  const outcome = await done;
  assert.ok(outcome.ready);
  const p = progress[0]!;
  assert.deepEqual(p.errors, { refused: 5 });
  // Ready midway between the last failing launch (7th, at 1060) and the next, not at the first pass.
  assert.equal(outcome.readyAt, 1065);
  assert.equal(p.readySince, 1065);
  // Not finished before settleMs of passing after the last failure.
  assert.ok(
    outcome.detectedAt >= check.lastFailSettledAt + settleMs,
    `detected ${outcome.detectedAt - check.lastFailSettledAt} ms after the last failure`,
  );
  assert.ok(outcome.detectedAt - outcome.readyAt >= settleMs);
  // Attempts kept going through the settle window.
  assert.ok(p.attempts >= 8 + settleMs / STEP, `${p.attempts} attempts`);
});

test('settle: an attempt launched inside the window must come back before ready; its late failure restarts the streak', async (t) => {
  const steps = stepClock();
  // Attempt 3 (launched at 1020, inside the first window) fails after 100 ms; every other attempt passes at once.
  const check = fakeCheck('dns', 'dns', (n) => (n === 3 ? coded('ECONNREFUSED') : 'pass'), {
    clock: steps,
    delayMs: (n) => (n === 3 ? 100 : 1),
  });
  const { progress, done } = probe([check], { ...OPTIONS, settleMs: 30 }, steps, abortAfter(2000, t));
  const outcome = await done;
  assert.ok(outcome.ready);
  assert.deepEqual(progress[0]!.errors, { refused: 1 });
  assert.ok(outcome.readyAt > 1020, `readyAt ${outcome.readyAt}: before the failing attempt went out`);
});

test('without settle, a check that passed stops: its other attempts are cancelled while other checks go on', async (t) => {
  const gateway = fakeCheck('gateway', 'gateway', (n) => (n === 1 ? 'pass' : 'hang'), { delayMs: 20 });
  const seen: number[] = [];
  const dns = fakeCheck('dns', 'dns', (n) => {
    if (gateway.calls[0]!.completed) seen.push(gateway.pending);
    return n <= 20 ? coded('ESERVFAIL') : 'pass';
  });
  const { progress, done } = probe([gateway, dns], OPTIONS, clock, abortAfter(2000, t));
  assert.equal((await done).ready, true);
  assert.ok(seen.length >= 1, 'dns kept probing after the gateway passed');
  assert.deepEqual(new Set(seen), new Set([0]));
  assert.deepEqual(progress[0]!.errors, {});
});

test('settle: a steady check is probed through the window and ready since the start', async (t) => {
  const steps = stepClock();
  const check = fakeCheck('gateway', 'gateway', () => 'pass', { clock: steps });
  const { progress, done } = probe([check], { ...OPTIONS, settleMs: 60 }, steps, abortAfter(2000, t));
  const outcome = await done;
  assert.ok(outcome.ready);
  assert.equal(outcome.readyAt, 0);
  assert.ok(outcome.detectedAt - outcome.readyAt >= 60);
  assert.ok(progress[0]!.attempts >= 1 + 60 / STEP, `${progress[0]!.attempts} attempts`);
  assert.deepEqual(progress[0]!.errors, {});
});

test('settle: a check still failing at the deadline is not ready', async (t) => {
  // Attempts 1-2 pass, then every attempt fails.
  const check = fakeCheck('dns', 'dns', (n) => (n <= 2 ? 'pass' : coded('ETIMEOUT')));
  const { progress, done } = probe([check], { ...OPTIONS, settleMs: 100 }, clock, abortAfter(250, t));
  assert.deepEqual(await done, { ready: false });
  assert.equal(progress[0]!.readySince, null);
  assert.ok(progress[0]!.errors.timeout! >= 1);
});

const STOPS: { name: string; checks: () => FakeCheck[]; options: ProbeOptions; abortMs: number; ready: boolean }[] = [
  {
    name: 'ready, no settle',
    checks: () => [
      fakeCheck('gateway', 'gateway', () => 'pass'),
      fakeCheck('dns', 'dns', (n) => (n < 4 ? coded('ETIMEOUT') : 'pass')),
    ],
    options: OPTIONS,
    abortMs: 2000,
    ready: true,
  },
  {
    name: 'ready after settle',
    checks: () => [fakeCheck('gateway', 'gateway', () => 'pass', { delayMs: 3 })],
    options: { ...OPTIONS, settleMs: 40 },
    abortMs: 2000,
    ready: true,
  },
  {
    name: 'aborted while failing',
    checks: () => [fakeCheck('dns', 'dns', () => coded('ENOTFOUND'), { delayMs: 3 })],
    options: OPTIONS,
    abortMs: 60,
    ready: false,
  },
  {
    name: 'aborted while attempts hang',
    checks: () => [fakeCheck('dns', 'dns', () => 'hang')],
    options: OPTIONS,
    abortMs: 60,
    ready: false,
  },
];

for (const { name, checks, options, abortMs, ready } of STOPS) {
  test(`after done resolves (${name}) no attempt is launched and none is left running`, async (t) => {
    const fakes = checks();
    const { progress, done } = probe(fakes, options, clock, abortAfter(abortMs, t));
    assert.equal((await done).ready, ready);
    const launched = fakes.map((f) => f.calls.length);
    const counted = progress.map((p) => p.attempts);
    await sleep(50);
    assert.deepEqual(
      fakes.map((f) => f.calls.length),
      launched,
    );
    assert.deepEqual(
      progress.map((p) => p.attempts),
      counted,
    );
    assert.deepEqual(
      fakes.map((f) => f.pending),
      fakes.map(() => 0),
    );
  });
}

test('an already-aborted signal: ready false at once and no check attempted', async () => {
  const check = fakeCheck('gateway', 'gateway', () => 'pass');
  const { progress, done } = probe([check], OPTIONS, clock, AbortSignal.abort());
  assert.deepEqual(await done, { ready: false });
  await sleep(20);
  assert.equal(check.calls.length, 0);
  assert.equal(progress[0]!.attempts, 0);
});

test('at most MAX_IN_FLIGHT_TOTAL attempts are in flight for the whole agent, whatever --max-in-flight', async (t) => {
  let total = 0;
  let maxTotal = 0;
  const checks = [1, 2, 3].map((i) =>
    fakeCheck(`tcp://192.0.2.${i}:443`, 'tcp', () => {
      maxTotal = Math.max(maxTotal, ++total);
      return 'hang';
    }),
  );
  const { progress, done } = probe(
    checks,
    { ...OPTIONS, intervalMs: 1, maxInFlight: 100, attemptTimeoutMs: 60_000 },
    clock,
    abortAfter(600, t),
  );
  assert.deepEqual(await done, { ready: false });
  assert.equal(maxTotal, MAX_IN_FLIGHT_TOTAL);
  assert.equal(
    progress.reduce((n, p) => n + p.attempts, 0),
    MAX_IN_FLIGHT_TOTAL,
  );
  await sleep(10);
  assert.deepEqual(
    checks.map((c) => c.pending),
    [0, 0, 0],
  );
});

/** A Pacer the test answers by hand; it records every send. */
function fakePacer() {
  const pacer = {
    paceFactor: PACE_FACTOR,
    sends: [] as number[],
    closed: false,
    answer: null as ((silentUntil: number | null, answeredSentAt: number | null) => void) | null,
    send(at: number) {
      pacer.sends.push(at);
    },
    onAnswer(cb: (silentUntil: number | null, answeredSentAt: number | null) => void) {
      pacer.answer = cb;
    },
    close() {
      pacer.closed = true;
    },
  };
  return pacer;
}

const gaps = (f: FakeCheck) => f.calls.slice(1).map((c, i) => c.at - f.calls[i]!.at);

test('pacing: while the pacer is silent, the paced checks are attempted PACE_FACTOR times less often; gateway is not paced', async (t) => {
  const pacer = fakePacer();
  const gateway = fakeCheck('gateway', 'gateway', () => coded('EHOSTUNREACH'));
  const dns = fakeCheck('dns', 'dns', () => coded('ETIMEOUT'));
  const { progress, done } = probe([gateway, dns], OPTIONS, clock, abortAfter(400, t), pacer);
  assert.deepEqual(await done, { ready: false });
  assert.ok(dns.calls.length >= 2, `${dns.calls.length} dns attempts`);
  // From the start: no answer yet is as good as dropped while the pacer is silent.
  for (const gap of gaps(dns)) assert.ok(gap >= PACE_FACTOR * OPTIONS.intervalMs, `dns attempts ${gap} ms apart`);
  assert.ok(gateway.calls.length > dns.calls.length, `gateway ${gateway.calls.length}, dns ${dns.calls.length}`);
  assert.ok(pacer.sends.length > dns.calls.length, `pacer ${pacer.sends.length}, dns ${dns.calls.length}`);
  assert.equal(progress[1]!.attempts, dns.calls.length);
  assert.equal(pacer.closed, true);
});

test("pacing: the paced checks ride the pacer's ticks, and their timeouts end there too", async (t) => {
  const pacer = { ...fakePacer(), paceFactor: 5 };
  // Whole milliseconds that move only between tasks: what happens in one tick reads one stamp.
  const ms: StepClock = stepClock();
  const ticker = setInterval(() => ms.t++, 1);
  t.after(() => clearInterval(ticker));
  const dns = fakeCheck('dns', 'dns', () => 'hang', { clock: ms, step: 0 });
  const { progress, done } = probe([dns], { ...OPTIONS, attemptTimeoutMs: 30 }, ms, abortAfter(400, t), pacer);
  assert.deepEqual(await done, { ready: false });
  assert.ok(dns.calls.length >= 3, `${dns.calls.length} attempts`);
  const ticks = new Set(pacer.sends);
  for (const call of dns.calls) assert.ok(ticks.has(call.at), `attempt at ${call.at} launched off the pacer's ticks`);
  // Every attempt but those the end of the probe cancelled timed out, without a timer of its own.
  assert.ok(progress[0]!.errors.timeout! >= dns.calls.length - 2, `${progress[0]!.errors.timeout} timeouts`);
});

test("pacing: the pacer answers, the paced checks go at once, and are estimated ready inside the pacer's window", async (t) => {
  const pacer = fakePacer();
  // Whole milliseconds that move only between tasks, so the prober and the fake checks read the same stamp.
  const ms: StepClock = stepClock();
  const ticker = setInterval(() => ms.t++, 1);
  t.after(() => clearInterval(ticker));
  let answeredAt = Infinity;
  const dns = fakeCheck('dns', 'dns', (_n, at) => (at >= answeredAt ? 'pass' : coded('ETIMEOUT')), {
    clock: ms,
    step: 0,
  });
  const tcp = fakeCheck('tcp://192.0.2.1:443', 'tcp', (_n, at) => (at >= answeredAt ? 'pass' : coded('ETIMEOUT')), {
    clock: ms,
    step: 0,
  });
  const { progress, done } = probe([dns, tcp], OPTIONS, ms, abortAfter(5000, t), pacer);
  // Answer between two paced launches: after the dns check's 3rd launch and three pacer sends later.
  while (dns.calls.length < 3) await sleep(2);
  const paced = dns.calls[2]!.at;
  while (pacer.sends.filter((at) => at > paced).length < 3) await sleep(2);
  const [silentUntil, workingBy] = pacer.sends.slice(-2) as [number, number];
  answeredAt = ms.now();
  pacer.answer!(silentUntil, workingBy);
  const outcome = await done;
  assert.ok(outcome.ready);
  assert.equal(pacer.closed, true);
  for (const [i, f] of [dns, tcp].entries()) {
    const [before, passed] = f.calls.slice(-2);
    assert.ok(passed!.at >= answeredAt && before!.at < answeredAt);
    // The paced launch before the answer is long before it; the pacer's silent probe bounds the estimate.
    assert.ok(before!.at < silentUntil, `${f.spec}: launched at ${before!.at}, pacer silent until ${silentUntil}`);
    assert.equal(before!.at, f.calls[2]!.at, `${f.spec}: no launch between the 3rd and the answer`);
    // Inside the pacer's window, whatever the launch's lateness.
    assert.equal(progress[i]!.readySince, (silentUntil + workingBy) / 2);
  }
});

test('pacing: a paced check that passes while the pacer is silent ends the pacing', async () => {
  const pacer = fakePacer();
  const tcp = fakeCheck('tcp://192.0.2.1:443', 'tcp', (n) => (n >= 2 ? 'pass' : coded('ETIMEOUT')));
  const dns = fakeCheck('dns', 'dns', () => coded('ETIMEOUT'));
  const end = new AbortController();
  const { done } = probe([tcp, dns], OPTIONS, clock, end.signal, pacer);
  while (tcp.calls.length < 2) await sleep(5);
  await sleep(20);
  assert.equal(pacer.closed, true);
  const sends = pacer.sends.length;
  await sleep(100);
  assert.equal(pacer.sends.length, sends, 'no probe sent after the pacing ended');
  assert.equal(dns.calls.at(-1)!.at > tcp.calls[1]!.at, true, 'dns attempted again once pacing ended');
  end.abort();
  assert.deepEqual(await done, { ready: false });
});

test('pacing: a check that gets answers (refused) is not paced, whatever the pacer says', async (t) => {
  const pacer = fakePacer();
  const tcp = fakeCheck('tcp://192.0.2.1:443', 'tcp', () => coded('ECONNREFUSED'));
  const { done } = probe([tcp], OPTIONS, clock, abortAfter(300, t), pacer);
  assert.deepEqual(await done, { ready: false });
  assert.ok(
    gaps(tcp).some((gap) => gap < PACE_FACTOR * OPTIONS.intervalMs),
    `gaps ${gaps(tcp).join(' ')}`,
  );
  assert.ok(tcp.calls.length > 300 / (PACE_FACTOR * OPTIONS.intervalMs) + 1, `${tcp.calls.length} attempts`);
});

test('pacing: with only a gateway check there is nothing to pace; the pacer is closed at once', async (t) => {
  const pacer = fakePacer();
  const gateway = fakeCheck('gateway', 'gateway', () => 'pass');
  const { done } = probe([gateway], OPTIONS, clock, abortAfter(2000, t), pacer);
  assert.equal((await done).ready, true);
  assert.equal(pacer.closed, true);
  assert.deepEqual(pacer.sends, []);
});

test("pacing: a paced check that passes while the pacer is silent is estimated after the pacer's last unanswered send", async (t) => {
  const pacer = fakePacer();
  const ms: StepClock = stepClock();
  const ticker = setInterval(() => ms.t++, 1);
  t.after(() => clearInterval(ticker));
  let upAt = Infinity;
  const tcp = fakeCheck('tcp://192.0.2.1:443', 'tcp', (_n, at) => (at >= upAt ? 'pass' : coded('ETIMEOUT')), {
    clock: ms,
    step: 0,
  });
  const { progress, done } = probe([tcp], OPTIONS, ms, abortAfter(5000, t), pacer);
  while (tcp.calls.length < 2) await sleep(2);
  const paced = tcp.calls[1]!.at;
  // The path starts working well after that paced launch; the pacer never hears back.
  while (pacer.sends.filter((at) => at > paced).length < 10) await sleep(2);
  upAt = ms.now();
  assert.ok((await done).ready);
  const passed = tcp.calls.at(-1)!;
  const lastSend = pacer.sends.filter((at) => at <= passed.at).at(-1)!;
  const readySince = progress[0]!.readySince!;
  // Between its own paced launches (a second apart) the midpoint would lie long before upAt.
  assert.ok(
    readySince >= lastSend && readySince <= passed.at,
    `ready ${readySince}, last send ${lastSend}, pass launched ${passed.at}`,
  );
  assert.ok(readySince >= upAt - 2 * OPTIONS.intervalMs, `ready ${readySince}, path up at ${upAt}`);
});

test('pacing: a paced check that passes at its first attempt while the pacer is silent counts from the start, not from its launch', async () => {
  const pacer = fakePacer();
  // The agent first looks at 1000 ms (a slow start-up); the pacer's query of that tick is never answered (DNS down).
  const ms: StepClock = stepClock();
  const tcp = fakeCheck('tcp://192.0.2.1:443', 'tcp', () => 'pass', { clock: ms });
  const dns = fakeCheck('dns', 'dns', () => coded('ETIMEOUT'), { clock: ms });
  const end = new AbortController();
  const { progress, done } = probe([tcp, dns], OPTIONS, ms, end.signal, pacer);
  while (progress[0]!.readySince === null) await sleep(2);
  end.abort();
  assert.deepEqual(pacer.sends, [1000], "one query, in the first look's tick, before the tcp check's launch");
  assert.equal(tcp.calls.length, 1);
  assert.equal(progress[0]!.readySince, 0, 'never seen failing: it did not hold the pod up');
  assert.equal(pacer.closed, true, 'the tcp pass ended the pacing');
  assert.deepEqual(await done, { ready: false });
});
