// Where the agent writes besides the network: stdout (its log) and the
// termination-log file. Neither may end it, hang it or change its exit code
// (issue 13: EPIPE/ENOSPC on stdout crashed it with exit 1; a FIFO as
// --termination-log blocked it forever, even against SIGTERM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTerminationLog } from '../src/agent/termination-log.ts';
import { CLI, runWait } from './helpers/agent.ts';
import { freePort, startTcpListener } from './helpers/servers.ts';

/** A bound for a process that should exit at once: well above any start-up, far below "forever". */
const HANG_MS = 20_000;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'netready-output-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `netready wait args` with stdout on `stdout` ('close' = a pipe whose reader is gone at once); resolves with its exit code. */
function waitWithStdout(
  args: string[],
  stdout: number | 'close',
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'wait', ...args], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', stdout === 'close' ? 'pipe' : stdout, 'pipe'],
  });
  if (stdout === 'close') child.stdout!.destroy();
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stderr });
    }),
  );
}

for (const target of ['a pipe whose reader is gone (EPIPE)', 'a full device (ENOSPC, /dev/full)']) {
  test(`stdout to ${target}: the exit code is the same as with a working stdout (0 ready, 1 deadline)`, async (t) => {
    const listener = await startTcpListener();
    t.after(() => listener.close());
    const dead = await freePort();
    const stdout = () => (target.includes('EPIPE') ? 'close' : openSync('/dev/full', 'w'));
    const ready = await waitWithStdout(
      ['--termination-log', '', '--check', `tcp://127.0.0.1:${listener.port}`],
      stdout(),
    );
    assert.deepEqual([ready.code, ready.signal], [0, null], ready.stderr);
    const timeout = await waitWithStdout(
      ['--termination-log', '', '--check', `tcp://127.0.0.1:${dead}`, '--timeout', '300ms'],
      stdout(),
    );
    assert.deepEqual([timeout.code, timeout.signal], [1, null], timeout.stderr);
    assert.equal(ready.stderr, '', 'nothing about the failed writes on stderr either');
  });
}

test('--dry-run and --help to a closed pipe exit 0 too', async () => {
  for (const args of [['--dry-run'], ['--help']]) {
    const r = await waitWithStdout(args, 'close');
    assert.deepEqual([r.code, r.signal], [0, null], `${args}: ${r.stderr}`);
  }
});

test('a FIFO as --termination-log: the agent neither blocks nor writes to it, exits 0 and says why', async (t) => {
  const dir = tempDir(t);
  const fifo = join(dir, 'termination-log');
  execFileSync('mkfifo', [fifo]);
  const listener = await startTcpListener();
  t.after(() => listener.close());
  const start = Date.now();
  const r = await runWait(['--termination-log', fifo, '--check', `tcp://127.0.0.1:${listener.port}`], {
    onSpawn: (c) => setTimeout(() => c.kill('SIGKILL'), HANG_MS).unref(),
  });
  assert.deepEqual([r.code, r.signal], [0, null], `${Date.now() - start} ms; ${r.stderr}`);
  const warning = r.logs.find((l) => l.msg?.startsWith('termination log not written'));
  assert.equal(warning?.level, 'warn', JSON.stringify(r.logs));
  assert.equal(warning.path, fifo);
});

test('writeTerminationLog: regular files and character devices only, never blocking', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'summary');
  writeFileSync(file, 'an older and much longer summary line\n');
  assert.deepEqual(writeTerminationLog(file, 'network ready after 0.120 s'), { written: true });
  assert.equal(readFileSync(file, 'utf8'), 'network ready after 0.120 s\n', 'replaced, not appended to');
  assert.deepEqual(writeTerminationLog(join(dir, 'new'), 'x'), { written: true });
  assert.equal(readFileSync(join(dir, 'new'), 'utf8'), 'x\n');
  assert.deepEqual(writeTerminationLog('/dev/null', 'x'), { written: true });

  mkdirSync(join(dir, 'a-dir'));
  assert.deepEqual(writeTerminationLog(join(dir, 'a-dir'), 'x'), { written: false, reason: 'EISDIR' });
  assert.deepEqual(writeTerminationLog(join(dir, 'missing', 'file'), 'x'), { written: false, reason: 'ENOENT' });

  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  // No reader: a blocking open would wait forever.
  assert.deepEqual(writeTerminationLog(fifo, 'x'), { written: false, reason: 'ENXIO' });
  // A reader: the open succeeds, and the kind of file still says no.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    assert.deepEqual(writeTerminationLog(fifo, 'x'), {
      written: false,
      reason: 'not a regular file or character device',
    });
    // Nothing to read: 0 bytes (the agent's end was opened and closed) or EAGAIN.
    let read = 0;
    try {
      read = readSync(reader, Buffer.alloc(16));
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'EAGAIN');
    }
    assert.equal(read, 0, 'nothing was written into the FIFO');
  } finally {
    closeSync(reader);
  }
});
