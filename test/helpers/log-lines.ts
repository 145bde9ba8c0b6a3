// The programs' JSON-lines logs (pino, src/lib/log.ts), read back by every test that runs one
// as a process: one parser, so that all of them count the same lines as log entries.

/** One log entry as the programs write it: a JSON object with at least `level` and `msg`. */
export type LogLine = Record<string, any>;

/**
 * The entry on one line of output, or null when the line is not one: other output (a
 * `--dry-run`'s pretty-printed JSON, a summary for humans) and lines cut short by a kill.
 */
export function parseLogLine(line: string): LogLine | null {
  if (!line.startsWith('{')) return null;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return null;
  }
  return entry !== null && typeof entry === 'object' && !Array.isArray(entry) && 'level' in entry
    ? (entry as LogLine)
    : null;
}

/** Every entry in a stream's text, in order. */
export function parseLogLines(text: string): LogLine[] {
  return text.split('\n').flatMap((line) => parseLogLine(line) ?? []);
}
