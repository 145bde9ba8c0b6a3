// Writes to stdout that can neither fail a program nor block it for long. Not
// process.stdout: a write error there (EPIPE when the reader has gone, ENOSPC on
// a full disk) is emitted as an 'error' event, which nothing handles, and the
// process dies with exit 1. Here the write is synchronous on fd 1, so nothing
// is lost at exit, and an error drops the text instead.
import { writeSync } from 'node:fs';

/** Retries of a write that would block (stdout left non-blocking by whoever opened it), 1 ms apart: at most ~50 ms per call. */
const EAGAIN_RETRIES = 50;

let broken = false;

/** Writes `text` to fd 1 synchronously; returns false when it was dropped (the reader is gone, the disk is full, ...). */
export function writeStdout(text: string): boolean {
  return writeFd(1, text);
}

/** Writes all of `text` to `fd`, or gives up without throwing. After EPIPE on stdout nothing more is tried. */
export function writeFd(fd: number, text: string): boolean {
  if (fd === 1 && broken) return false;
  let buf = Buffer.from(text);
  let retries = 0;
  while (buf.length > 0) {
    try {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' && retries++ < EAGAIN_RETRIES) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      if (fd === 1 && code === 'EPIPE') broken = true;
      return false;
    }
  }
  return true;
}

/** Writes `text` to fd 2 as writeStdout does to fd 1. */
export function writeStderr(text: string): boolean {
  return writeFd(2, text);
}
