// A long-running netready program (collector, webhook) as a child process:
// started on 127.0.0.1:0, ready once it logs the port it listens on, killed
// when the test ends whatever happened.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { TestContext } from 'node:test';
import { parseLogLines, type LogLine } from './log-lines.ts';

const START_LIMIT_MS = 60_000;

/** A netready program running as a child process, its output read as it comes. */
export interface Program {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout so far, as parsed JSON log lines. */
  logs(): LogLine[];
  /** Resolves with the exit code and signal, once its output is all read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with its first log line whose msg is `msg`; rejects if it exits first or after `timeoutMs`. */
  line(msg: string, timeoutMs?: number): Promise<LogLine>;
}

/** Spawns `argv` with `options` (stdout and stderr are piped and read). */
export function spawnProgram(argv: readonly string[], options: SpawnOptions): Program {
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const logs = () => parseLogLines(stdout);
  const line = (msg: string, timeoutMs = 10_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`"${msg}" not logged within ${timeoutMs} ms; stderr: ${stderr}; stdout: ${stdout}`)),
        timeoutMs,
      );
      const check = () => {
        const found = logs().find((l) => l.msg === msg);
        if (found) {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          resolve(found);
        }
      };
      child.stdout!.on('data', check);
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`exited (${code ?? signal}) before "${msg}"; stderr: ${stderr}; stdout: ${stdout}`));
      });
      check();
    });
  return { child, stdout: () => stdout, stderr: () => stderr, logs, exited, line };
}

export interface ServerProcess extends Program {
  readonly port: number;
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
  const program = spawnProgram(argv, { env: { PATH: process.env.PATH ?? '', ...env } });
  t.after(() => {
    if (program.child.exitCode === null && program.child.signalCode === null) program.child.kill('SIGKILL');
  });
  const { port } = await program.line(readyMsg, START_LIMIT_MS);
  return { ...program, port };
}
