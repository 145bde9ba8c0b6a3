// The one-line summary for `kubectl describe pod`, written to the container's
// termination-message file. Only a regular file or a character device (such as
// /dev/null or a tty) is written: a FIFO would block the agent in open() or
// write() with no reader, where not even SIGTERM gets through, and a block device
// or socket is never what an operator meant. The open itself never blocks.
import { closeSync, constants, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';

export type TerminationLogResult = { written: true } | { written: false; reason: string };

/** Writes `line` and a newline to `path`, never blocking and never throwing; says why when it did not. */
export function writeTerminationLog(path: string, line: string): TerminationLogResult {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO without a reader fails at once (ENXIO) instead of waiting for one.
    // No O_TRUNC: the file's kind is checked before anything in it is touched.
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NONBLOCK, 0o644);
  } catch (err) {
    return { written: false, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isFile()) ftruncateSync(fd, 0);
    else if (!stat.isCharacterDevice()) return { written: false, reason: 'not a regular file or character device' };
    const buf = Buffer.from(`${line}\n`);
    // Non-blocking: a device that cannot take it now gets what it took (EAGAIN ends the write).
    for (let off = 0, n = -1; off < buf.length && n !== 0; off += n) n = writeSync(fd, buf, off);
    return { written: true };
  } catch (err) {
    return { written: false, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  } finally {
    closeSync(fd);
  }
}
