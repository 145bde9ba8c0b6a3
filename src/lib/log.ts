// JSON-lines logs on stdout through pino: one object per line with level (a
// label), time (ISO), name, msg and the caller's fields; errors under `err` or
// `error` keep their type, stack, code and `cause`. Writes are synchronous, so
// nothing is lost at exit, and a failed write (EPIPE, ENOSPC) is dropped: a
// log line never ends a program or changes its exit code (stdout.ts).
import pino from 'pino';
import { writeStdout } from './stdout.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';

type Fields = Record<string, unknown>;
type LogFn = (fieldsOrMsg: Fields | string, msg?: string) => void;

export interface Logger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

/** Nesting and breadth logged at most: deeper values print as "[Object]", longer arrays and objects are cut (pino's depthLimit/edgeLimit). */
export const LOG_DEPTH_LIMIT = 6;
export const LOG_EDGE_LIMIT = 100;

/**
 * Field paths whose string values are secrets (bearer tokens), replaced by pino's
 * redaction. No leading wildcard: with one, pino serializes every field through
 * its redaction stringifier, which skips the bound below.
 */
export const REDACTED_PATHS = [
  'token',
  'collectorToken',
  'authorization',
  'config.token',
  'config.collectorToken',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
];
const CENSOR = '[redacted]';

/** Creates a logger that drops lines below `level`. `write` takes each line (ending in a newline); it defaults to stdout. */
export function createLogger(name: string, level: Level, write: (line: string) => void = writeStdout): Logger {
  const logger = pino(
    {
      level,
      base: {},
      name,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.errWithCause, error: pino.stdSerializers.errWithCause },
      // Only strings are secrets: `token: true` (a token is configured) stays readable.
      redact: { paths: REDACTED_PATHS, censor: (value) => (typeof value === 'string' ? CENSOR : value) },
      depthLimit: LOG_DEPTH_LIMIT,
      edgeLimit: LOG_EDGE_LIMIT,
    },
    { write },
  );
  // pino tries JSON.stringify first and applies depthLimit/edgeLimit only when that
  // throws; the bounded stringifier for every field keeps a huge value from
  // ending up in a log line whole, not only a circular or too deep one.
  const internals = logger as unknown as Record<symbol, unknown>;
  const stringifyBounded = internals[pino.symbols.stringifySafeSym] as (value: unknown) => string | undefined;
  internals[pino.symbols.stringifySym] = (value: unknown) => stringifyBounded(value);

  const make =
    (lvl: Level): LogFn =>
    (fieldsOrMsg, msg) => {
      try {
        if (typeof fieldsOrMsg === 'string') logger[lvl](fieldsOrMsg);
        else logger[lvl](fieldsOrMsg, msg);
      } catch (err) {
        // A value no serializer could take (a cause chain deeper than the stack): the message still goes out.
        try {
          logger[lvl](
            { logFieldsDropped: String((err as Error)?.message ?? err) },
            typeof fieldsOrMsg === 'string' ? fieldsOrMsg : msg,
          );
        } catch {}
      }
    };
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') };
}
