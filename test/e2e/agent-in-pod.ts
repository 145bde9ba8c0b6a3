// Runs the real `netready wait` inside a testbed pod and records what a user would see: exit code,
// JSON log lines, and the report a host-side collector stub received. Shared by scenarios*.test.ts.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { reportSchema, type CheckResult, type Report } from '../../src/lib/report.ts';
import { parseLogLine, type LogLine } from '../helpers/log-lines.ts';
import { SERVICES, type Pod, type ProgrammedAt, type Testbed } from './testbed.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${ROOT}src/cli.ts`;

export const COLLECTOR_PORT = 9470;
/** The collector stub's base URLs; `/fail` answers 500, `/hang` never answers (see startCollector). */
export const COLLECTOR = {
  v4: `http://${SERVICES.collector.v4}:${COLLECTOR_PORT}`,
  v6: `http://[${SERVICES.collector.v6}]:${COLLECTOR_PORT}`,
};
/** The agent's checks unless a scenario says otherwise. */
export const CHECKS = ['--check', 'gateway', '--check', 'dns', '--check', `tcp://${SERVICES.api.v4}:443`];

export type { LogLine };

export interface AgentRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout as JSON lines. */
  readonly logs: LogLine[];
  /** Epoch ms (test clock) just before the spawn and at exit. */
  readonly spawnedAt: number;
  readonly exitedAt: number;
  /** Killed by the test's safety timeout: the agent hung. */
  readonly hung: boolean;
}

export interface AgentOptions {
  /** Extra environment (on top of PATH and the pod's downward-API identity). */
  readonly env?: Record<string, string>;
  /** Command before `wait …`; default: this Node, src/cli.ts. */
  readonly argv0?: readonly string[];
  /** Called with every log line as it arrives, e.g. to signal the agent or program the pod. */
  readonly onLog?: (line: LogLine, child: ChildProcess) => void;
  /** SIGKILL the agent after this long and mark the run as hung (default 20 s). */
  readonly killAfterMs?: number;
}

/** Wall-clock epoch ms with sub-millisecond resolution (the testbed's clock). */
export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `netready wait --termination-log '' ARGS` in the pod with a clean environment. */
export function runAgent(bed: Testbed, pod: Pod, args: readonly string[], opts: AgentOptions = {}): Promise<AgentRun> {
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    NETREADY_POD_NAME: pod.name,
    NETREADY_POD_NAMESPACE: 'e2e',
    NETREADY_POD_UID: `uid-${pod.name}`,
    NETREADY_NODE_NAME: 'testbed-node',
    NETREADY_POD_IPS: [pod.ipv4, pod.ipv6].filter(Boolean).join(','),
    ...opts.env,
  };
  const argv = [...(opts.argv0 ?? [process.execPath, CLI]), 'wait', '--termination-log', '', ...args];
  const spawnedAt = now();
  const child = bed.podExec(pod, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const logs: LogLine[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const text of lines) {
      const line = parseLogLine(text);
      if (line) {
        logs.push(line);
        opts.onLog?.(line, child);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let hung = false;
  const killer = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, opts.killAfterMs ?? 20_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, logs, spawnedAt, exitedAt: now(), hung });
    });
  });
}

/** Runs the agent in a blocked pod and programs the pod's dataplane `afterMs` later; the run and the ground truth. */
export async function runProgrammedAfter(
  bed: Testbed,
  pod: Pod,
  args: readonly string[],
  afterMs: number,
  opts: AgentOptions = {},
): Promise<{ r: AgentRun; truth: ProgrammedAt }> {
  // Counted from the agent's first look, not its spawn: a start-up slower than afterMs on a busy
  // machine would find the network already up, a 0 s wait, and the scenario would test nothing.
  let looking!: () => void;
  const firstLook = new Promise<void>((resolve) => (looking = resolve));
  const running = runAgent(bed, pod, args, {
    ...opts,
    onLog(line, child) {
      if (line.msg === 'waiting for the pod network') looking();
      opts.onLog?.(line, child);
    },
  });
  await Promise.race([firstLook, running]);
  await sleep(afterMs);
  const truth = await bed.program(pod);
  return { r: await running, truth };
}

/** A one-line account of a run for assertion messages. */
export function describeRun(r: AgentRun): string {
  return `exit ${r.code ?? r.signal}${r.hung ? ' (hung, killed)' : ''} after ${Math.round(r.exitedAt - r.spawnedAt)} ms\nstdout:\n${r.stdout}stderr:\n${r.stderr}`;
}

/** The first log line with this message (or matching it). */
export function findLog(r: AgentRun, msg: string | RegExp): LogLine | undefined {
  return r.logs.find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));
}

/** The agent's log line once every check passed. */
export const isReadyLine = (l: LogLine) => l.level === 'info' && /^network ready after/.test(String(l.msg));
/** The agent's log line at the deadline. */
export const isDeadlineLine = (l: LogLine) => l.level === 'error' && Array.isArray(l.failing);

export interface CollectorStub {
  /** Valid reports received, by pod name. */
  readonly reports: Map<string, Report[]>;
  /** Bodies that failed the report schema (should stay empty). */
  readonly invalid: { body: string; error: string }[];
  /** Requests received by path. */
  readonly requests: Map<string, number>;
  /** The report received for `pod` (retries of it included); fails the test when there is none or two differ. */
  reportOf(pod: Pod): Report;
}

/**
 * A collector stand-in on the host's collector addresses: `POST /v1/reports` validates the body
 * with the wire schema and answers 202; under `/fail` it answers 500; under `/hang` it never answers.
 */
export async function startCollector(
  bed: Testbed,
  addresses: readonly string[] = [SERVICES.collector.v4],
): Promise<CollectorStub> {
  const stub: CollectorStub = {
    reports: new Map(),
    invalid: [],
    requests: new Map(),
    reportOf(pod) {
      const got = stub.reports.get(pod.name) ?? [];
      assert.ok(got.length >= 1, `no report for ${pod.name}; invalid bodies: ${JSON.stringify(stub.invalid)}`);
      // Delivery is at least once: a try that ran out of its slice while the collector was taking
      // it is sent again, and the collector stores it once (the same identity). Copies must be equal.
      for (const copy of got.slice(1)) assert.deepEqual(copy, got[0], `reports for ${pod.name} differ`);
      return got[0]!;
    },
  };
  const handler: http.RequestListener = (req, res) => {
    const path = req.url ?? '';
    stub.requests.set(path, (stub.requests.get(path) ?? 0) + 1);
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (path === '/hang/v1/reports') return; // never answers; the testbed destroys the socket at close
      if (path === '/fail/v1/reports') return void res.writeHead(500).end('collector failing on purpose');
      if (req.method !== 'POST' || path !== '/v1/reports') return void res.writeHead(404).end();
      let parsed: ReturnType<typeof reportSchema.safeParse>;
      try {
        parsed = reportSchema.safeParse(JSON.parse(body));
      } catch (err) {
        stub.invalid.push({ body, error: (err as Error).message });
        return void res.writeHead(400).end('not JSON');
      }
      if (!parsed.success) {
        stub.invalid.push({ body, error: parsed.error.message });
        return void res.writeHead(400).end(parsed.error.message);
      }
      const list = stub.reports.get(parsed.data.pod.name) ?? [];
      list.push(parsed.data);
      stub.reports.set(parsed.data.pod.name, list);
      res.writeHead(202).end();
    });
  };
  for (const address of addresses) await bed.listenHttp(address, COLLECTOR_PORT, handler);
  return stub;
}

/** A check's result in a report, by kind (or spec). */
export function checkOf(report: Report, kindOrSpec: string): CheckResult {
  const c = report.checks.find((x) => x.kind === kindOrSpec || x.spec === kindOrSpec);
  assert.ok(c, `no ${kindOrSpec} check in ${JSON.stringify(report.checks)}`);
  return c;
}

/** Tolerance for reported instants against ground truth: behaviour, not precision (benchmarks do that). */
export const EARLY_MS = 60;
export const LATE_MS = 500;

/**
 * Asserts an agent-relative instant (seconds since the report's startedAt) lies within
 * [programmed.before - EARLY_MS, programmed.at + LATE_MS]; returns its error against the
 * midpoint of the ground-truth window, in ms.
 */
export function assertMatchesGroundTruth(report: Report, seconds: number, truth: ProgrammedAt, what: string): number {
  const startedAt = Date.parse(report.startedAt);
  const ms = seconds * 1000;
  const lo = truth.before - startedAt;
  const hi = truth.at - startedAt;
  assert.ok(
    ms >= lo - EARLY_MS && ms <= hi + LATE_MS,
    `${what}: ${ms.toFixed(0)} ms after start, ground truth ${lo.toFixed(1)}–${hi.toFixed(1)} ms (allowed ${(lo - EARLY_MS).toFixed(0)}–${(hi + LATE_MS).toFixed(0)})`,
  );
  return ms - (lo + hi) / 2;
}
