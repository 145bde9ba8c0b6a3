// Check spec strings (`gateway`, `dns:NAME`, `tcp://HOST:PORT`, `kubernetes`,
// `http(s)://…`), parsed into typed specs. Shared by the agent (flags, env) and
// the webhook (the `netready.io/checks` annotation), so both reject the same input.
import { isIP } from 'node:net';

export type CheckSpec =
  | { kind: 'gateway'; spec: string }
  /** `name` null: the API Service's cluster DNS name, found from the resolv.conf search list. */
  | { kind: 'dns'; spec: string; name: string | null }
  | { kind: 'tcp'; spec: string; host: string; port: number }
  | { kind: 'http'; spec: string; url: string };

export type ParsedSpec = { ok: true; value: CheckSpec } | { ok: false; error: string };

/** Environment variables the `kubernetes` shorthand reads. */
export interface ServiceEnv {
  KUBERNETES_SERVICE_HOST?: string | undefined;
  KUBERNETES_SERVICE_PORT?: string | undefined;
}

const fail = (error: string): ParsedSpec => ({ ok: false, error });

/** Parses one check spec string. */
export function parseCheckSpec(raw: string, env: ServiceEnv): ParsedSpec {
  const spec = raw.trim();
  if (spec === 'gateway') return { ok: true, value: { kind: 'gateway', spec } };
  if (spec === 'dns') return { ok: true, value: { kind: 'dns', spec, name: null } };
  if (spec.startsWith('dns:')) {
    const name = spec.slice(4);
    if (!isDnsName(name)) return fail(`"${name}" is not a valid DNS name`);
    return { ok: true, value: { kind: 'dns', spec, name } };
  }
  if (spec === 'kubernetes') {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (!host || !port)
      return fail('"kubernetes" needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, which are not set');
    return parseTcp(`tcp://${isIP(host) === 6 ? `[${host}]` : host}:${port}`, spec);
  }
  if (spec.startsWith('tcp://')) return parseTcp(spec, spec);
  if (spec.startsWith('http://') || spec.startsWith('https://')) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      return fail('is not a valid URL');
    }
    if (!url.hostname) return fail('has no host');
    if (url.username || url.password) return fail('must not carry credentials');
    return { ok: true, value: { kind: 'http', spec, url: url.href } };
  }
  return fail('expected gateway, dns, dns:NAME, tcp://HOST:PORT, kubernetes, http://… or https://…');
}

function parseTcp(text: string, spec: string): ParsedSpec {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('expected tcp://HOST:PORT');
  }
  // For non-special schemes URL keeps the brackets around an IPv6 host, rejects
  // an out-of-range port and leaves a missing one empty.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!host || !url.port || (url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) {
    return fail('expected tcp://HOST:PORT');
  }
  if (url.username || url.password) return fail('must not carry credentials');
  const port = Number(url.port);
  if (port < 1) return fail('port must be 1-65535');
  if (!isIP(host) && !isDnsName(host)) return fail(`"${host}" is not a valid host`);
  return { ok: true, value: { kind: 'tcp', spec, host, port } };
}

/** True for a syntactically valid DNS name (optionally fully qualified with a trailing dot). */
export function isDnsName(name: string): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length === 0 || bare.length > 253) return false;
  const labels = bare.split('.');
  // An all-numeric last label is a mistyped IP address (256.1.1.1), never a top-level domain.
  if (/^\d+$/.test(labels.at(-1)!)) return false;
  return labels.every((label) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label));
}
