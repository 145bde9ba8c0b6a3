import { CodedError } from './errors.ts';
import { writeStderr, writeStdout } from './stdout.ts';

/** Exit code of every program for bad flags or environment (nothing was started). */
export const EXIT_CONFIG = 2;

/**
 * Runs a program's config parser. `--help` (CodedError HELP) prints the help
 * and exits 0; bad input (CodedError ERR_CONFIG) prints
 * `netready <program>: <message>` to stderr and exits 2; anything else throws.
 */
export function parseConfigOrExit<T>(program: string, parse: () => T): { config: T } | { exit: number } {
  try {
    return { config: parse() };
  } catch (err) {
    if (err instanceof CodedError && err.code === 'HELP') {
      writeStdout(`${err.message}\n`);
      return { exit: 0 };
    }
    if (err instanceof CodedError && err.code === 'ERR_CONFIG') {
      writeStderr(`netready ${program}: ${err.message}\n`);
      return { exit: EXIT_CONFIG };
    }
    throw err;
  }
}
