// Realistic, varied v1 reports for bench/collector: every one a distinct pod
// run (its own uid, so the collector's dedupe never short-cuts it), spread over
// 40 nodes and 25 namespaces (or a shape of any size), delays log-uniform from 5 ms to 30 s, 2 % of runs
// timing out, 3-4 checks each with attempt and error counts that fit their
// delay, admission time on most. Deterministic for a seed.
import type { Report } from '../src/lib/report.ts';

const NODES = Array.from(
  { length: 40 },
  (_x, i) => `ip-10-0-${12 + (i >> 3)}-${((i * 37) % 250) + 3}.eu-west-1.compute.internal`,
);
const NAMESPACES = [
  'shop',
  'payments',
  'search',
  'checkout',
  'catalog',
  'auth',
  'billing',
  'ads',
  'ml-serving',
  'ingest',
  'kube-system',
  'monitoring',
  'logging',
  'ci',
  'batch',
  'orders',
  'inventory',
  'email',
  'notifications',
  'cdn',
  'reports',
  'analytics',
  'gateway',
  'frontend',
  'backend',
];
const APPS = ['web', 'api', 'worker', 'cron', 'cache-warmer', 'consumer', 'scheduler'];
const BASE_MS = Date.parse('2026-11-25T08:00:00Z');

/** Where the reports come from: node and namespace names. */
export interface BenchShape {
  readonly nodes: readonly string[];
  readonly namespaces: readonly string[];
}

/** bench/collector's 40 nodes and 25 namespaces. */
export const SMALL_CLUSTER: BenchShape = { nodes: NODES, namespaces: NAMESPACES };

/** A cluster of `nodes` nodes and `namespaces` namespaces (bench/collector-scale: 5,000 and 500). */
export function clusterOf(nodes: number, namespaces: number): BenchShape {
  return {
    nodes: Array.from(
      { length: nodes },
      (_x, i) => `ip-10-${(i >> 16) & 255}-${(i >> 8) & 255}-${i & 255}.eu-west-1.compute.internal`,
    ),
    namespaces: Array.from(
      { length: namespaces },
      (_x, i) => `${NAMESPACES[i % NAMESPACES.length]}-${Math.floor(i / NAMESPACES.length)}`,
    ),
  };
}

/** mulberry32: a small seeded PRNG, so a run's reports are the same every time. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, '0').slice(-width);
const pick = <T>(xs: readonly T[], r: number): T => xs[Math.floor(r * xs.length)]!;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * A v4-shaped uid, random-looking as the API server's are (so the store's uid
 * index takes inserts all over, not at its end), and distinct for every
 * (run, i): its first group is a bijection of i (xor, then an odd multiplier,
 * mod 2^32), its last embeds the run.
 */
function uuid(run: number, i: number, rand: () => number): string {
  const scrambled = Math.imul((i ^ 0x5bd1e995) >>> 0, 0x9e3779b1) >>> 0;
  return `${hex(scrambled, 8)}-${hex(rand() * 65536, 4)}-4${hex(rand() * 4096, 3)}-${hex(0x8000 | (rand() * 0x3fff), 4)}-${hex(run, 4)}${hex(rand() * 2 ** 32, 8)}`;
}

/** Report number `i` of run `run` (runs sharing a collector must differ in `run`). */
export function makeBenchReport(run: number, i: number, rand: () => number, shape: BenchShape = SMALL_CLUSTER): Report {
  const node = pick(shape.nodes, rand());
  const namespace = pick(shape.namespaces, rand());
  const app = pick(APPS, rand());
  const timedOut = rand() < 0.02;
  // Log-uniform 5 ms .. 30 s: most pods wait little, a long tail waits seconds.
  const delay = round3(timedOut ? pick([60, 120], rand()) : 0.005 * Math.exp(rand() * Math.log(6000)));
  const startedMs = BASE_MS + i * 3 + run;
  const admittedBefore = rand() < 0.8 ? round3(0.3 + rand() * 8) : null;
  const withHttp = rand() < 0.3;
  const check = (spec: string, kind: Report['checks'][number]['kind'], share: number, failing = false) => {
    const after = failing ? null : round3(delay * share);
    const waited = after ?? delay;
    const attempts = 1 + Math.floor(waited * 40);
    const errors: Record<string, number> = {};
    if (attempts > 1) {
      errors[
        kind === 'dns' ? pick(['timeout', 'dns_servfail'], rand()) : pick(['timeout', 'unreachable', 'refused'], rand())
      ] = attempts - 1;
    }
    return { spec, kind, ok: !failing, readyAfterSeconds: after, attempts, errors };
  };
  const checks = [
    check('gateway', 'gateway', rand() * 0.2),
    check('dns', 'dns', 0.5 + rand() * 0.5),
    check('kubernetes', 'tcp', 1, timedOut),
    ...(withHttp ? [check(`http://${app}.${namespace}.svc:8080/healthz`, 'http', 0.8 + rand() * 0.2)] : []),
  ];
  const ipv4 = `10.244.${Math.floor(rand() * 250)}.${Math.floor(rand() * 250) + 2}`;
  return {
    schemaVersion: 1,
    agentVersion: '0.1.0',
    pod: {
      name: `${app}-${hex(rand() * 2 ** 32, 9)}-${hex(rand() * 2 ** 32, 5)}`,
      namespace,
      uid: uuid(run, i, rand),
      node,
      ips: rand() < 0.3 ? [ipv4, `fd00:10:244:${hex(rand() * 65536, 4)}::${hex(i, 4)}`] : [ipv4],
    },
    outcome: timedOut ? 'timeout' : 'ready',
    startedAt: new Date(startedMs).toISOString(),
    readyAt: timedOut ? null : new Date(startedMs + delay * 1000).toISOString(),
    delaySeconds: delay,
    admittedAt: admittedBefore === null ? null : new Date(startedMs - admittedBefore * 1000).toISOString(),
    admissionToReadySeconds: admittedBefore === null || timedOut ? null : round3(admittedBefore + delay),
    checks,
  };
}
