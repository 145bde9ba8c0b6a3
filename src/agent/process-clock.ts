// The agent's clock: monotonic milliseconds since the process started, the origin of every figure
// wait and watch report. From process.uptime(), not performance.now(): the first use of the
// `performance` global loads perf_hooks and ten internal modules behind it, ~0.3 MiB of private
// memory held for the agent's whole life (BENCHMARKS.md, "Memory of the injected containers").
import type { Clock } from './prober.ts';

/** Monotonic ms since the process started: process.uptime() is libuv's monotonic clock against Node's start, in ns. */
export const processClock: Clock = { now: () => process.uptime() * 1000 };

/** The wall-clock time (epoch ms) of processClock's 0, the process start. */
export function processStartWallMs(): number {
  return Date.now() - processClock.now();
}
