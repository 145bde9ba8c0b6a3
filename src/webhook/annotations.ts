// Per-pod overrides, parsed from ONE table: annotation key, parser, and the
// setting it overrides (whose default is the webhook's configuration). A bad
// value never blocks a pod: the setting keeps its default and the caller gets a
// warning naming the annotation. The same parsers validate the webhook's flags.
import { parseCheckSpec } from '../lib/check-spec.ts';
import { parseDuration } from '../lib/duration.ts';
import { MAX_WAIT_SETTLE, MAX_WAIT_TIMEOUT } from '../lib/wait-limits.ts';
import { quantityValue } from './quantity.ts';

/** What the injected container is built from: the webhook's defaults, overridden per pod. */
export interface InjectSettings {
  readonly image: string;
  /** Check specs passed as --check; empty: the agent's own default (gateway, dns, kubernetes). */
  readonly checks: readonly string[];
  readonly timeout: string;
  readonly onTimeout: 'fail' | 'continue';
  readonly settle: string;
  /** Collector base URL; null: the agent reports nowhere. */
  readonly collector: string | null;
  readonly cpuRequest: string;
  readonly cpuLimit: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
  /** Add the netready-watch native sidecar after netready-wait. */
  readonly watch: boolean;
  /** Port of the watch's GET /readyz. */
  readonly watchPort: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (error: string): Parsed<never> => ({ ok: false, error });

// The `kubernetes` shorthand is resolved by the agent inside the pod, where the
// kubelet sets these; here only the spec's syntax is checked.
const SERVICE_ENV = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

/** Value parsers, shared by the annotation table and the webhook's configuration. */
export const parse = {
  checks(text: string): Parsed<string[]> {
    const specs = text.split(/[\s,]+/).filter(Boolean);
    if (specs.length === 0) return bad('expected at least one check');
    if (specs.length > 16) return bad('at most 16 checks');
    for (const spec of specs) {
      const r = parseCheckSpec(spec, SERVICE_ENV);
      if (!r.ok) return bad(`check ${clip(spec)}: ${r.error}`);
    }
    return ok(specs);
  },
  /** A duration the agent takes, held to the agent's own maximum (`max`, e.g. 24h). */
  duration:
    (max: string) =>
    (text: string): Parsed<string> => {
      const ms = parseDuration(text);
      if (ms === null) return bad('expected a duration such as 30s or 5m');
      if (ms > parseDuration(max)!) return bad(`at most ${max}`);
      return ok(text.trim());
    },
  onTimeout(text: string): Parsed<'fail' | 'continue'> {
    return text === 'fail' || text === 'continue' ? ok(text) : bad('expected fail or continue');
  },
  collector(text: string): Parsed<string | null> {
    if (text === '') return ok(null);
    let url: URL | null = null;
    try {
      url = new URL(text);
    } catch {}
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      return bad('expected an http:// or https:// URL');
    if (url.username || url.password || url.search || url.hash) return bad('no credentials, query or fragment');
    return ok(url.href.replace(/\/+$/, ''));
  },
  image(text: string): Parsed<string> {
    // Loose on purpose: the registry decides what exists; this only keeps out what cannot be a reference.
    return /^[A-Za-z0-9][A-Za-z0-9._\-/:@+]{0,510}$/.test(text) ? ok(text) : bad('not an image reference');
  },
  bool(text: string): Parsed<boolean> {
    return text === 'true' ? ok(true) : text === 'false' ? ok(false) : bad('expected "true" or "false"');
  },
  port(text: string): Parsed<number> {
    const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    return n >= 1 && n <= 65535 ? ok(n) : bad('expected a port from 1 to 65535');
  },
  quantity(text: string): Parsed<string> {
    const v = quantityValue(text);
    return v !== null && v > 0 ? ok(text) : bad('expected a positive quantity such as 50m or 64Mi');
  },
};

/** The annotation prefix; every key below and the webhook's own annotations use it. */
export const PREFIX = 'netready.io/';

type Entry = {
  [K in keyof InjectSettings]: {
    readonly key: string;
    readonly setting: K;
    readonly parse: (text: string) => Parsed<InjectSettings[K]>;
  };
}[keyof InjectSettings];

/** Every per-pod override. Defaults come from the webhook's configuration (the setting of the same name). */
export const ANNOTATIONS: readonly Entry[] = [
  { key: `${PREFIX}checks`, setting: 'checks', parse: parse.checks },
  { key: `${PREFIX}timeout`, setting: 'timeout', parse: parse.duration(MAX_WAIT_TIMEOUT) },
  { key: `${PREFIX}on-timeout`, setting: 'onTimeout', parse: parse.onTimeout },
  { key: `${PREFIX}settle`, setting: 'settle', parse: parse.duration(MAX_WAIT_SETTLE) },
  { key: `${PREFIX}collector`, setting: 'collector', parse: parse.collector },
  { key: `${PREFIX}image`, setting: 'image', parse: parse.image },
  { key: `${PREFIX}cpu-request`, setting: 'cpuRequest', parse: parse.quantity },
  { key: `${PREFIX}cpu-limit`, setting: 'cpuLimit', parse: parse.quantity },
  { key: `${PREFIX}memory-request`, setting: 'memoryRequest', parse: parse.quantity },
  { key: `${PREFIX}memory-limit`, setting: 'memoryLimit', parse: parse.quantity },
  { key: `${PREFIX}watch`, setting: 'watch', parse: parse.bool },
  { key: `${PREFIX}watch-port`, setting: 'watchPort', parse: parse.port },
];

/** Admission warnings must stay short (the API server truncates long ones); ours stay under 120 characters. */
export const MAX_WARNING = 119;

/** A warning naming `subject` and what is used instead, cut to MAX_WARNING characters (the detail goes last, so only it is cut). */
export function warning(subject: string, value: string, problem: string, instead?: string): string {
  const text = `${subject} ${clip(value)} ignored${instead ? ` (using ${instead})` : ''}: ${problem}`;
  return text.length <= MAX_WARNING ? text : `${text.slice(0, MAX_WARNING - 1)}…`;
}

function clip(value: string): string {
  const json = JSON.stringify(value);
  return json.length <= 26 ? json : `${json.slice(0, 24)}…"`;
}

/** The settings for one pod: `defaults` overridden by its annotations; bad values keep the default and add a warning. */
export function resolveSettings(
  annotations: Readonly<Record<string, unknown>>,
  defaults: InjectSettings,
): { settings: InjectSettings; warnings: string[] } {
  const settings: Record<string, unknown> = { ...defaults };
  const warnings: string[] = [];
  for (const entry of ANNOTATIONS) {
    if (!Object.hasOwn(annotations, entry.key)) continue;
    const raw = annotations[entry.key];
    const r = typeof raw === 'string' ? entry.parse(raw) : bad('expected a string');
    if (r.ok) settings[entry.setting] = r.value;
    else warnings.push(warning(entry.key, String(raw), r.error, 'the default'));
  }
  const result = settings as unknown as InjectSettings;
  // The API server rejects a request above its limit: fall back to both defaults rather than make the pod invalid.
  for (const [req, lim, name] of [
    ['cpuRequest', 'cpuLimit', 'cpu'],
    ['memoryRequest', 'memoryLimit', 'memory'],
  ] as const) {
    if (quantityValue(result[req])! > quantityValue(result[lim])!) {
      warnings.push(
        warning(
          `${PREFIX}${name}-request/limit`,
          `${result[req]}>${result[lim]}`,
          'request above limit',
          'the defaults',
        ),
      );
      settings[req] = defaults[req];
      settings[lim] = defaults[lim];
    }
  }
  return { settings: Object.freeze(result), warnings };
}
