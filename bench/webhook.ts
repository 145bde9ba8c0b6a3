// bench/webhook: admission latency of `netready webhook` over keep-alive TLS at a
// steady 500 reviews/s, and its throughput ceiling, side by side with a bare
// HTTPS server that decodes the same review and allows it without a patch
// (webhook-bare.ts). The review is the Deployment pod fixture, which the
// webhook injects (the full path: decode, core, patch, base64, log line).
// Load: autocannon in this process, the servers in their own; loopback only;
// the temp dir (openssl-made certificates) is removed at the end.
//
//   node bench/webhook.ts [--quick]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { request, Agent } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { issue, publishSecret } from '../test/webhook/tls-helpers.ts';

const QUICK = process.argv.includes('--quick');
const DURATION_S = QUICK ? 3 : 10;
const RATE = 500;
/** Connections for the ceiling: about what a busy API server keeps open to one webhook replica. */
const CONNECTIONS = 16;
const TARGET = { p99Ms: 5, ratio: 0.5 };
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BODY = readFileSync(join(ROOT, 'test/fixtures/admission/deployment-pod.json'), 'utf8');

const dir = mkdtempSync(join(tmpdir(), 'netready-bench-webhook-'));
const children = new Set<ChildProcess>();
try {
  const files = publishSecret(join(dir, 'tls'), issue(dir, 'bench'));
  const servers = {
    bare: await start([join(ROOT, 'bench/webhook-bare.ts'), files.cert, files.key], (l) => l.port),
    webhook: await start(
      [
        join(ROOT, 'src/cli.ts'),
        'webhook',
        '--listen',
        '127.0.0.1:0',
        '--image',
        'registry.example/netready:0.1.0',
        '--tls-cert',
        files.cert,
        '--tls-key',
        files.key,
      ],
      // Log level info, as in a cluster: one log line per review is part of the cost.
      (l) => (l.msg === 'webhook listening' ? l.port : undefined),
    ),
  };
  const rows: string[] = [];
  const results: Record<string, { p50: number; p99: number; ceiling: number }> = {};
  for (const [name, port] of Object.entries(servers)) {
    await load(port, { duration: 2, connections: CONNECTIONS }); // warm-up
    const steady = await paced(port, RATE, DURATION_S);
    const ceiling = await load(port, { duration: DURATION_S, connections: CONNECTIONS });
    results[name] = { ...steady, ceiling: ceiling.requests.average };
    if (ceiling.non2xx || ceiling.errors) throw new Error(`${name}: non-2xx or errors under load`);
  }
  const { bare, webhook } = results as Record<'bare' | 'webhook', { p50: number; p99: number; ceiling: number }>;
  rows.push('| server | p50 at 500/s | p99 at 500/s | ceiling (reviews/s) |', '| --- | --- | --- | --- |');
  for (const [name, r] of Object.entries(results))
    rows.push(`| ${name} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.ceiling.toFixed(0)} |`);
  const ratio = webhook.ceiling / bare.ceiling;
  console.log(`${cpus().length} × ${cpus()[0]?.model}; ${DURATION_S} s per phase; keep-alive TLS (ECDSA P-256)\n`);
  console.log(rows.join('\n'));
  console.log(
    `\nwebhook p99 at 500/s: ${webhook.p99.toFixed(2)} ms (target ≤ ${TARGET.p99Ms} ms) ${webhook.p99 <= TARGET.p99Ms ? 'ok' : 'MISSED'}`,
  );
  console.log(
    `webhook ceiling / bare: ${ratio.toFixed(2)} (target ≥ ${TARGET.ratio}) ${ratio >= TARGET.ratio ? 'ok' : 'MISSED'}`,
  );
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Open-loop load: a review every 1000/rate ms on a schedule that does not wait for
 * answers (so a slow answer cannot hide the queue behind it, unlike a closed loop
 * or autocannon's per-second bursts), over keep-alive TLS. Latency from the
 * scheduled send time (or the actual one, if later), in ms.
 */
async function paced(port: number, rate: number, seconds: number): Promise<{ p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8, rejectUnauthorized: false });
  const latencies: number[] = [];
  const total = rate * seconds;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Sent up to 1 ms early (timer granularity) or late (a busy loop): count from whichever is later.
    const from = Math.max(due, performance.now());
    inFlight.push(
      new Promise<void>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/mutate',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) },
          },
          (res) => {
            res.resume();
            res.once('end', () => {
              if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
              latencies.push(performance.now() - from);
              resolve();
            });
          },
        );
        req.once('error', reject);
        req.end(BODY);
      }),
    );
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { p50: latencies[Math.floor(latencies.length * 0.5)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! };
}

function load(port: number, opts: { duration: number; connections: number }): Promise<autocannon.Result> {
  return autocannon({
    url: `https://127.0.0.1:${port}`,
    ...opts,
    timeout: 10,
    requests: [{ method: 'POST', path: '/mutate', headers: { 'content-type': 'application/json' }, body: BODY }],
  });
}

/** Spawns `node ARGS` and resolves with the port read from its first JSON line that `port` accepts. */
function start(args: string[], port: (line: Record<string, any>) => number | undefined): Promise<number> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  return new Promise((resolve, reject) => {
    let buffered = '';
    let started = false;
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start in 10 s`)), 10_000);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (started) return; // the rest (the webhook's per-request log lines) is read and dropped
      buffered += d;
      for (const line of buffered.split('\n').slice(0, -1)) {
        if (!line.startsWith('{')) continue;
        const p = port(JSON.parse(line));
        if (p !== undefined) {
          clearTimeout(timer);
          started = true;
          resolve(p);
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
  });
}
