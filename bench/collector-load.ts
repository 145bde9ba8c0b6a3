// bench/collector's load generator, run in its own process: autocannon POSTing
// a distinct realistic report (collector-reports.ts) on every request, for a
// duration or a fixed amount. Prints autocannon's result, the reports built, the
// process's CPU seconds and response-time percentiles (sub-millisecond) as one
// JSON line.
//
//   node bench/collector-load.ts URL --run N --connections C (--duration S | --amount N) [--nodes N --namespaces N]
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { clusterOf, makeBenchReport, prng, SMALL_CLUSTER } from './collector-reports.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    run: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    duration: { type: 'string' },
    amount: { type: 'string' },
    nodes: { type: 'string' },
    namespaces: { type: 'string' },
  },
});
const url = positionals[0];
if (!url || (values.duration === undefined) === (values.amount === undefined)) {
  console.error('usage: node bench/collector-load.ts URL --run N --connections C (--duration S | --amount N)');
  process.exit(2);
}

const run = Number(values.run);
const rand = prng(run);
const shape =
  values.nodes === undefined ? SMALL_CLUSTER : clusterOf(Number(values.nodes), Number(values.namespaces ?? 25));
let i = 0;

// Every response time, in ms: autocannon's own percentiles are whole milliseconds.
let latencies = new Float64Array(1 << 16);
let answered = 0;
let finished!: (r: autocannon.Result) => void;
let failed!: (err: unknown) => void;
const done = new Promise<autocannon.Result>((resolve, reject) => {
  finished = resolve;
  failed = reject;
});
const instance = autocannon(
  {
    url,
    connections: Number(values.connections),
    ...(values.amount !== undefined ? { amount: Number(values.amount) } : { duration: Number(values.duration) }),
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: '/v1/reports',
        headers: { 'content-type': 'application/json' },
        // A new document per request: built here, in the generator's process.
        setupRequest: (req) => ({ ...req, body: JSON.stringify(makeBenchReport(run, i++, rand, shape)) }),
      },
    ],
  },
  (err, r) => (err ? failed(err) : finished(r)),
);
// autocannon emits (client, statusCode, resBytes, responseTime) here; @types/autocannon leaves out the client.
instance.on('response', (...args: unknown[]) => {
  const ms = args[3] as number;
  if (answered === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[answered++] = ms;
});
const result = await done;
const sorted = latencies.subarray(0, answered).sort();
/** Nearest rank. */
const percentile = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const cpu = process.cpuUsage();
process.stdout.write(
  `${JSON.stringify({
    ...result,
    sent: i,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    latencyMs: {
      p50: percentile(50),
      p99: percentile(99),
      p999: percentile(99.9),
      max: sorted[sorted.length - 1] ?? NaN,
    },
  })}\n`,
);
