// JSON-lines logs on stdout: one object per line with level, time, name, msg
// and the caller's fields. Hand-written rather than pino: pino's load alone
// (worker threads for transports, serializers) costs the agent ~10 ms of a
// ~50 ms start-up budget (BENCHMARKS.md), and these programs need none of it.
// Writes are synchronous (process.stdout on Linux), so nothing is lost at exit.

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
export type Level = keyof typeof LEVELS;

type Fields = Record<string, unknown>;
type LogFn = (fieldsOrMsg: Fields | string, msg?: string) => void;

export interface Logger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

/** Creates a logger that drops lines below `level`. `write` defaults to stdout. */
export function createLogger(name: string, level: Level, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  const make = (lvl: Level): LogFn => {
    if (LEVELS[lvl] < LEVELS[level]) return () => {};
    return (fieldsOrMsg, msg) => {
      const fields = typeof fieldsOrMsg === 'string' ? {} : fieldsOrMsg;
      const text = typeof fieldsOrMsg === 'string' ? fieldsOrMsg : msg;
      write(`${JSON.stringify({ level: lvl, time: new Date().toISOString(), name, msg: text, ...fields }, errorsAsObjects)}\n`);
    };
  };
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') };
}

function errorsAsObjects(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
