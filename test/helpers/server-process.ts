// A long-running netready program (collector, webhook) as a child process:
// started on 127.0.0.1:0, ready once it logs the port it listens on, killed
// when the test ends whatever happened.
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { parseLogLines, type LogLine } from './log-lines.ts';

const START_LIMIT_MS = 60_000;

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** stdout so far, as parsed JSON log lines. */
  logs(): LogLine[];
  stderr(): string;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `argv` and resolves once it logs `readyMsg` with a `port` field. At most 60 s: only a
 * guard against a program that never gets there (a start-up from source takes ~1 s on a quiet
 * machine and several at load average 10-18; 10 s was not always enough).
 */
export async function startServerProcess(
  t: TestContext,
  argv: string[],
  readyMsg: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const logs = () => parseLogLines(stdout);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`"${readyMsg}" not logged within ${START_LIMIT_MS / 1000} s; stderr: ${stderr}; stdout: ${stdout}`),
        ),
      START_LIMIT_MS,
    );
    const check = () => {
      const line = logs().find((l) => l.msg === readyMsg);
      if (line) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(line.port);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before "${readyMsg}"; stderr: ${stderr}`));
    });
  });
  return { child, port, logs, stderr: () => stderr, exited };
}
