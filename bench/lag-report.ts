// The pure half of bench/lag: the start schedule, and what the raw records of a run come to (per-run
// outcomes, the markdown tables, the targets). No I/O: lag.ts runs the waiters and prints this.
import type { Report } from '../src/lib/report.ts';

export type ToolName = 'netready' | 'wait-for-it' | 'busybox';

/** How each waiter is named in the tables. */
export const TOOL_LABELS: Readonly<Record<ToolName, string>> = {
  netready: '`netready wait`',
  'wait-for-it': '`wait-for-it -t 0`',
  busybox: 'busybox `until nc` loop',
};

export const TARGET = { lagMs: 50, errorMs: 25, attemptsPerS: 50 } as const;

/** What lag.ts recorded about one waiter; every instant is epoch ms on the bench's clock. */
export interface RunRecord {
  readonly tool: ToolName;
  readonly delayMs: number;
  readonly rep: number;
  /** NETREADY_POD_NAME, to match the report. */
  readonly tag: string;
  spawnedAt?: number;
  /** The rule letting the pod's traffic through took effect somewhere in before..at. */
  programmed?: { readonly before: number; readonly at: number };
  exitedAt?: number;
  code?: number | null;
  signal?: NodeJS.Signals | null;
  killedByGuard: boolean;
  /** The tail of stdout and stderr. */
  output: string;
  /** netready: the report the collector stub took, and when its request arrived and was answered. */
  delivery?: { readonly report: Report; readonly arrivedAt: number; readonly answeredAt: number };
}

/** The run as a whole, for the header and the targets. */
export interface RunInfo {
  readonly quick: boolean;
  readonly delaysS: readonly number[];
  readonly reps: number;
  readonly guardMs: number;
  readonly target: string;
  /** One line on the machine: cores, load, kernel, CPU use during the run. */
  readonly machine: string;
  readonly badReports: readonly string[];
}

/**
 * Start offsets (ms, same order as `delaysMs`) for groups that start together and are programmed
 * `delay` later. No two instants (starts, programmings) of different groups fall within `gapMs`
 * of each other, and no group is programmed within `startupMs` after another group's start: on 2
 * cores, a burst of process start-ups (~9 processes, 3 of them Node) or of agents reporting and
 * exiting would otherwise add its CPU time to another group's measured lag, and widen the `nft`
 * run that is the ground truth (on a slow machine a group's start-up takes a second or more). A
 * group's own start-up is not avoided: programming a pod while its agent starts is what the
 * short delays measure. The longest delays are placed first, so that they start earliest and the
 * run ends soonest.
 */
export function staggerStarts(delaysMs: readonly number[], gapMs: number, startupMs = gapMs, stepMs = 50): number[] {
  const placed: { start: number; programmed: number }[] = [];
  const clear = (start: number, programmed: number) =>
    placed.every(
      (g) =>
        [g.start, g.programmed].every((e) => Math.abs(e - start) >= gapMs && Math.abs(e - programmed) >= gapMs) &&
        !(programmed >= g.start && programmed < g.start + startupMs) &&
        !(g.programmed >= start && g.programmed < start + startupMs),
    );
  const starts = new Array<number>(delaysMs.length);
  const longestFirst = delaysMs.map((delay, i) => ({ delay, i })).sort((a, b) => b.delay - a.delay);
  for (const { delay, i } of longestFirst) {
    let start = 0;
    while (!clear(start, start + delay)) start += stepMs;
    placed.push({ start, programmed: start + delay });
    starts[i] = start;
  }
  return starts;
}

export interface Outcome {
  readonly ok: boolean;
  readonly why?: string;
  /** Exit minus programmed.at. */
  readonly lagMs?: number;
  // netready only, from its report, its "network ready" log line and the collector stub:
  readonly errorMs?: number;
  readonly attempts?: number;
  readonly attemptsPerS?: number;
  /** Ready at its first attempt: the agent began probing after the pod was programmed. */
  readonly firstAttempt?: boolean;
  /** The agent's first look (its ready line's firstLookAfterSeconds) came after programming began: its lag includes its own start-up. */
  readonly lookedLate?: boolean;
  /** programmed.at → the prober's detection → report at the stub → stub answered → exit. */
  readonly detectMs?: number;
  readonly toStubMs?: number;
  readonly afterStubMs?: number;
  /** From the spawn call to the agent's process start (performance.timeOrigin). */
  readonly startupMs?: number;
}

/** What one waiter's run came to. */
export function outcome(run: RunRecord, guardMs: number): Outcome {
  const { programmed, exitedAt } = run;
  if (run.killedByGuard) return { ok: false, why: `no exit ${fmtMs(guardMs)} after programming; killed` };
  if (exitedAt === undefined || programmed === undefined) return { ok: false, why: 'did not run' };
  if (run.code !== 0) return { ok: false, why: `exit code ${run.code} signal ${run.signal}` };
  const lagMs = exitedAt - programmed.at;
  if (exitedAt < programmed.before) return { ok: false, why: `exited ${fmtMs(-lagMs)} before its pod was programmed` };
  if (run.tool !== 'netready') return { ok: true, lagMs };

  if (!run.delivery) return { ok: false, lagMs, why: 'no report reached the collector stub' };
  const { report, arrivedAt, answeredAt } = run.delivery;
  if (report.outcome !== 'ready') return { ok: false, lagMs, why: `report outcome ${report.outcome}` };
  const startMs = Date.parse(report.startedAt); // the agent's process start, whole ms
  // The rule took effect somewhere in programmed.before..at, so against that true instant the
  // error lies in [errorMs, errorMs + (at - before)]: `at` is the conservative end.
  const errorMs = report.delaySeconds * 1000 - (programmed.at - startMs);
  const check = report.checks[0]!;
  const ready = readyLine(run.output);
  const detected = ready?.detectedAfterSeconds;
  const firstLook = ready?.firstLookAfterSeconds;
  const detectedAt = typeof detected === 'number' ? startMs + detected * 1000 : NaN;
  return {
    ok: true,
    lagMs,
    errorMs,
    attempts: check.attempts,
    attemptsPerS: report.delaySeconds > 0 ? check.attempts / report.delaySeconds : NaN,
    firstAttempt: check.attempts === 1 && Object.keys(check.errors).length === 0,
    lookedLate: typeof firstLook === 'number' && startMs + firstLook * 1000 > programmed.before,
    detectMs: detectedAt - programmed.at,
    toStubMs: arrivedAt - detectedAt,
    afterStubMs: exitedAt - answeredAt,
    startupMs: run.spawnedAt === undefined ? NaN : startMs - run.spawnedAt,
  };
}

/** The agent's "network ready" JSON log line (it carries detectedAfterSeconds). */
function readyLine(output: string): Record<string, unknown> | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('detectedAfterSeconds')) continue;
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      // a line cut by the tail buffer
    }
  }
  return undefined;
}

/** The whole printout: the side-by-side table, netready's details, the targets and any failures. */
export function renderResults(runs: readonly RunRecord[], info: RunInfo): string {
  const results = runs.map((run) => ({ run, o: outcome(run, info.guardMs) }));
  type Results = typeof results;
  const of = (tool: ToolName, delayS?: number) =>
    results.filter((r) => r.run.tool === tool && (delayS === undefined || r.run.delayMs === delayS * 1000));
  const values = (rs: Results, key: keyof Outcome) =>
    rs
      .filter((r) => r.o.ok)
      .map((r) => r.o[key])
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const medMax = (xs: readonly number[]) => (xs.length ? `${fmtMs(median(xs))} (${fmtMs(Math.max(...xs))})` : '—');
  const lagCell = (rs: Results) => {
    const failed = rs.filter((r) => !r.o.ok).length;
    return `${medMax(values(rs, 'lagMs'))}${failed ? `, ${failed} failed` : ''}`;
  };
  const out: string[] = [];
  const p = (line = '') => out.push(line);

  p(`## bench/lag${info.quick ? ' --quick' : ''}: detection lag, side by side`);
  p();
  p(
    `${runs.length} pods, ${info.reps} per waiter and delay, all waiting on ${info.target}; lag = the waiter's exit − the instant its pod was programmed; cells: median (max) over the ${info.reps} runs. ${info.machine}`,
  );
  p();
  const rows = info.delaysS.map((s) => {
    const nr = of('netready', s);
    const errors = values(nr, 'errorMs');
    const firsts = nr.filter((r) => r.o.firstAttempt).length;
    return [
      `${s} s`,
      lagCell(nr),
      lagCell(of('wait-for-it', s)),
      lagCell(of('busybox', s)),
      errors.length ? `${fmtSigned(median(errors))} (${fmtMs(maxAbs(errors))})` : '—',
      `${median(values(nr, 'attempts'))}${firsts ? ` (${firsts}× up at 1st)` : ''}`,
      median(values(nr, 'attemptsPerS')).toFixed(1),
    ];
  });
  const header = ['delay', ...(['netready', 'wait-for-it', 'busybox'] as const).map((t) => `${TOOL_LABELS[t]} lag`)];
  p(
    markdownTable(
      [...header, 'netready reported-delay error, median (max abs)', 'netready attempts per check', 'attempts/s'],
      rows,
    ),
  );

  const nr = of('netready');
  const uncertainty = runs.flatMap((r) => (r.programmed ? [r.programmed.at - r.programmed.before] : []));
  const spread = info.delaysS.map((s) => {
    const at = runs.filter((r) => r.delayMs === s * 1000 && r.spawnedAt !== undefined).map((r) => r.spawnedAt!);
    return Math.max(...at) - Math.min(...at);
  });
  p();
  p('### netready, in detail');
  p();
  p(
    'Its lag, split at the prober\'s detection (the "network ready" log line\'s `detectedAfterSeconds`) and at the collector stub:',
  );
  p();
  const splitRows = info.delaysS.map((s) => {
    const g = of('netready', s);
    return [`${s} s`, ...(['detectMs', 'toStubMs', 'afterStubMs', 'lagMs'] as const).map((k) => medMax(values(g, k)))];
  });
  const splitAll = [
    'all',
    ...(['detectMs', 'toStubMs', 'afterStubMs', 'lagMs'] as const).map((k) => {
      const xs = values(nr, k);
      return `${fmtMs(median(xs))} (p99 ${fmtMs(quantile(xs, 0.99))})`;
    }),
  ];
  p(
    markdownTable(
      ['delay', 'programmed → detected', 'detected → report at the stub', 'stub answered → exit', 'lag'],
      [...splitRows, splitAll],
    ),
  );
  p();
  p(
    `- the waiters of one delay were spawned within ${fmtMs(Math.max(...spread))} of each other (worst delay); spawn to agent process start ${fmtMs(median(values(nr, 'startupMs')))} median, ${fmtMs(Math.max(...values(nr, 'startupMs')))} max`,
  );
  p(
    `- ground truth: the rule took effect within programmed.before..at, a span of ${fmtMs(median(uncertainty))} median, ${fmtMs(Math.max(...uncertainty))} max; errors are taken against \`at\`, so each true error is up to that span larger`,
  );
  p(
    `- reported-delay errors, every run, by delay (ms): ${info.delaysS
      .map((s) =>
        values(of('netready', s), 'errorMs')
          .map((e) => e.toFixed(1))
          .join(' '),
      )
      .join(' | ')}`,
  );
  const late = nr.filter((r) => r.o.ok && r.o.lookedLate);
  if (late.length)
    p(
      `- ${late.length} run(s) whose agent first looked after its pod's programming began (delays ${[...new Set(late.map((r) => r.run.delayMs / 1000))].join(', ')} s): their lag includes the agent's own start-up`,
    );
  const outliers = nr.filter((r) => r.o.ok && (r.o.lagMs! > TARGET.lagMs || Math.abs(r.o.errorMs!) > TARGET.errorMs));
  if (outliers.length) {
    p("- runs past a target (times in ms from the agent's start):");
    for (const { run, o } of outliers) p(`  - ${describe(run, o)}`);
  }

  const lags = values(nr, 'lagMs');
  const errs = values(nr, 'errorMs').map(Math.abs);
  const longest = Math.max(...info.delaysS);
  const rate = mean(values(of('netready', longest), 'attemptsPerS'));
  const n = (xs: readonly number[]) => `n = ${xs.length}`;
  p();
  p('### Targets');
  p();
  p('p99 is nearest-rank: with fewer than 100 runs it is the largest value.');
  p();
  p(
    `- netready detection lag p99 ≤ ${TARGET.lagMs} ms, all delays and repetitions: ${fmtMs(quantile(lags, 0.99))} (${n(lags)}) — ${verdict(quantile(lags, 0.99), TARGET.lagMs)}`,
  );
  if (late.length) {
    const looking = values(
      nr.filter((r) => !r.o.lookedLate),
      'lagMs',
    );
    p(
      `  - of which the runs whose agent was already looking when its pod was programmed: p99 ${fmtMs(quantile(looking, 0.99))} (${n(looking)}); the others measure start-up`,
    );
  }
  // A run whose error is past the target against `at` may still be within it against the true
  // instant, when its pod's before..at was wide: those are the bench's uncertainty, not the agent's.
  const errorMisses = nr.filter((r) => r.o.ok && Math.abs(r.o.errorMs!) > TARGET.errorMs);
  const certain = errorMisses.filter(
    ({ run, o }) =>
      o.errorMs! > TARGET.errorMs || o.errorMs! + run.programmed!.at - run.programmed!.before < -TARGET.errorMs,
  );
  const explained = errorMisses.length
    ? `; of the ${errorMisses.length} run(s) past it, ${errorMisses.length - certain.length} would be within it for some instant in their pod's before..at`
    : '';
  p(
    `- |reported-delay error| ≤ ${TARGET.errorMs} ms: max ${fmtMs(Math.max(...errs))} — ${verdict(Math.max(...errs), TARGET.errorMs)}; p99 ${fmtMs(quantile(errs, 0.99))} — ${verdict(quantile(errs, 0.99), TARGET.errorMs)} (${n(errs)})${explained}`,
  );
  p(
    `- probe attempts per check per second over the ${longest} s wait ≤ ${TARGET.attemptsPerS}: ${rate.toFixed(1)} (mean of ${info.reps}) — ${verdict(rate, TARGET.attemptsPerS)}${longest < 50 ? ' (the target is for a 60 s wait)' : ''}`,
  );
  for (const tool of ['wait-for-it', 'busybox'] as const) {
    const xs = values(of(tool), 'lagMs');
    p(
      `- ${TOOL_LABELS[tool]} detection lag p99, against the same ${TARGET.lagMs} ms: ${fmtMs(quantile(xs, 0.99))} (${n(xs)}) — ${verdict(quantile(xs, 0.99), TARGET.lagMs)}`,
    );
  }

  const failures = results.filter((r) => !r.o.ok);
  if (failures.length || info.badReports.length) {
    p();
    p('### Failed runs');
    p();
    for (const { run, o } of failures)
      p(
        `- ${run.tool}, delay ${run.delayMs / 1000} s, #${run.rep}: ${o.why}; output: ${JSON.stringify(run.output.slice(-400))}`,
      );
    for (const msg of info.badReports) p(`- the collector stub rejected a report: ${msg}`);
  }
  return out.join('\n');
}

/** One netready run in raw numbers, for a run past a target. */
function describe(run: RunRecord, o: Outcome): string {
  const { report } = run.delivery!;
  const start = Date.parse(report.startedAt);
  const rel = (t: number) => (t - start).toFixed(1);
  const check = report.checks[0]!;
  return (
    `delay ${run.delayMs / 1000} s #${run.rep}: lag ${fmtMs(o.lagMs!)}, error ${fmtSigned(o.errorMs!)}; ` +
    `spawned ${rel(run.spawnedAt!)}, programmed ${rel(run.programmed!.before)}..${rel(run.programmed!.at)}, ` +
    `reported ready ${report.delaySeconds * 1000} (check ${check.readyAfterSeconds! * 1000}), detected ${(o.detectMs! + run.programmed!.at - start).toFixed(1)}, ` +
    `report at the stub ${rel(run.delivery!.arrivedAt)}, answered ${rel(run.delivery!.answeredAt)}, exit ${rel(run.exitedAt!)}; ` +
    `${check.attempts} attempts, errors ${JSON.stringify(check.errors)}`
  );
}

/** Nearest-rank quantile (q in 0..1): with fewer than 100 values, p99 is the largest. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const maxAbs = (xs: readonly number[]): number => (xs.length ? Math.max(...xs.map(Math.abs)) : NaN);

/** 23.4 ms, 1.02 s, 33.0 s; `—` for no value. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (Math.abs(ms) < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(Math.abs(ms) < 10_000 ? 2 : 1)} s`;
}

/** Signed, for errors: +3.1 ms, -12.0 ms. */
const fmtSigned = (ms: number): string => (Number.isFinite(ms) && ms >= 0 ? `+${fmtMs(ms)}` : fmtMs(ms));

/** `met` or `MISSED` against an upper bound (a missing value is missed too). */
const verdict = (value: number, limit: number): string => (value <= limit ? 'met' : '**MISSED**');

/** A markdown table; every column but the first is right-aligned (numbers). */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
