// `netready webhook` configuration: flags and NETREADY_WEBHOOK_* variables
// (flags win), validated by one zod schema into a frozen, typed object. The
// injection defaults go through the same parsers as the per-pod annotations.
import * as z from 'zod';
import { durationWithin, optionError, resolveOptions } from '../lib/cli-options.ts';
import { CodedError } from '../lib/errors.ts';
import { parseListenAddress, type ListenAddress } from '../lib/listen.ts';
import type { Level } from '../lib/log.ts';
import { parse, type InjectSettings, type Parsed } from './annotations.ts';
import type { InjectConfig } from './inject.ts';
import { quantityValue } from './quantity.ts';
import { WEBHOOK_OPTIONS, webhookHelp } from './options.ts';

export interface WebhookConfig {
  readonly listen: ListenAddress;
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly inject: InjectConfig;
  /** Open connections at most. */
  readonly maxConnections: number;
  readonly tlsHandshakeTimeoutMs: number;
  readonly logLevel: Level;
  readonly dryRun: boolean;
}

/** A zod string turned into a value by a Parsed-returning parser. */
const via = <T>(p: (s: string) => Parsed<T>) =>
  z.string().transform((s, ctx) => {
    const r = p(s);
    if (r.ok) return r.value;
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  });

const schema = z.object({
  listen: via(parseListenAddress),
  'tls-cert': z.string().min(1, 'must not be empty'),
  'tls-key': z.string().min(1, 'must not be empty'),
  image: z.string({ error: 'is required: the image of the injected container' }).pipe(via(parse.image)),
  checks: via((s) => (s.trim() === '' ? { ok: true, value: [] } : parse.checks(s))),
  timeout: via(parse.duration(WEBHOOK_OPTIONS.timeout.max)),
  'on-timeout': via(parse.onTimeout),
  settle: via(parse.duration(WEBHOOK_OPTIONS.settle.max)),
  collector: via(parse.collector),
  'cpu-request': via(parse.quantity),
  'cpu-limit': via(parse.quantity),
  'memory-request': via(parse.quantity),
  'memory-limit': via(parse.quantity),
  watch: via(parse.bool),
  'watch-port': via(parse.port),
  'run-as-user': z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'expected a non-zero uid')
    .transform(Number)
    .refine((n) => n < 2 ** 31, 'expected a non-zero uid'),
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a namespace name'),
  'max-connections': z
    .string()
    .regex(/^\d{1,6}$/, 'expected a whole number from 1 to 100000')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 100_000, 'expected a whole number from 1 to 100000'),
  'tls-handshake-timeout': z.string().transform((s, ctx) => {
    const r = durationWithin(s, WEBHOOK_OPTIONS['tls-handshake-timeout'], { min: 100 });
    if ('ms' in r) return r.ms;
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  }),
  'log-level': z.enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' }),
  'dry-run': z.boolean(),
});

/** Parses `netready webhook` arguments and environment. Throws CodedError `ERR_CONFIG` naming the option, or `HELP`. */
export function parseWebhookConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): WebhookConfig {
  const { raw, source } = resolveOptions(WEBHOOK_OPTIONS, argv, env, webhookHelp);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const key = String(result.error.issues[0]!.path[0]);
    throw optionError(source[key]!, raw[key], result.error.issues[0]!.message);
  }
  const c = result.data;
  for (const [req, lim] of [
    ['cpu-request', 'cpu-limit'],
    ['memory-request', 'memory-limit'],
  ] as const) {
    if (quantityValue(c[req])! > quantityValue(c[lim])!)
      throw new CodedError(
        'ERR_CONFIG',
        `${source[req]} ${JSON.stringify(c[req])}: above ${source[lim]} ${JSON.stringify(c[lim])}`,
      );
  }
  const defaults: InjectSettings = Object.freeze({
    image: c.image,
    checks: Object.freeze(c.checks),
    timeout: c.timeout,
    onTimeout: c['on-timeout'],
    settle: c.settle,
    collector: c.collector,
    cpuRequest: c['cpu-request'],
    cpuLimit: c['cpu-limit'],
    memoryRequest: c['memory-request'],
    memoryLimit: c['memory-limit'],
    watch: c.watch,
    watchPort: c['watch-port'],
  });
  return Object.freeze({
    listen: Object.freeze(c.listen),
    tlsCert: c['tls-cert'],
    tlsKey: c['tls-key'],
    inject: Object.freeze({ defaults, runAsUser: c['run-as-user'], ownNamespace: c.namespace }),
    maxConnections: c['max-connections'],
    tlsHandshakeTimeoutMs: c['tls-handshake-timeout'],
    logLevel: c['log-level'],
    dryRun: c['dry-run'],
  });
}
