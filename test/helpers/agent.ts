// Runs the real CLI (`node src/cli.ts …`) and collects what a user would see.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseLogLines, type LogLine } from './log-lines.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${ROOT}src/cli.ts`;

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON lines. */
  readonly logs: LogLine[];
  /** Epoch ms when the process was spawned and when it exited. */
  readonly spawnedAt: number;
  readonly exitedAt: number;
}

/** Spawns `argv` (default: node src/cli.ts) and resolves when it exits. `onSpawn` gets the child, e.g. to signal it. */
export function run(
  args: string[],
  options: { env?: Record<string, string>; argv0?: string[]; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<RunResult> {
  const [cmd, ...pre] = options.argv0 ?? [process.execPath, CLI];
  const spawnedAt = Date.now();
  // A clean environment: nothing from the developer's shell leaks into the agent's config.
  const child = spawn(cmd!, [...pre, ...args], {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  options.onSpawn?.(child);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr, logs: parseLogLines(stdout), spawnedAt, exitedAt: Date.now() });
    });
  });
}

/** Runs `netready wait` with args. */
export function runWait(args: string[], options: Parameters<typeof run>[1] = {}): Promise<RunResult> {
  return run(['wait', '--termination-log', '', ...args], options);
}

/** Resolves once `child` prints a JSON log line whose msg is `msg`; rejects if it exits first. */
export function logLineSeen(child: ChildProcess, msg: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d;
      if (parseLogLines(seen).some((l) => l.msg === msg)) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('close', () => reject(new Error(`exited before logging "${msg}"`)));
  });
}
