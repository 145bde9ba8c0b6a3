// dns / dns:NAME — a real query to the pod's resolvers; passes on an answer.
import { Resolver } from 'node:dns/promises';
import { CodedError } from '../../lib/errors.ts';
import type { Check } from '../prober.ts';
import { searchCandidates, type ResolvConf } from '../resolv.ts';

/** Where and how to query DNS. */
export interface DnsContext {
  readonly conf: ResolvConf;
  /** Servers to query (`ADDR` or `ADDR:PORT`); the resolv.conf nameservers unless overridden. */
  readonly servers: readonly string[];
  readonly timeoutMs: number;
}

const EMPTY = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * Resolves `name` to addresses (A and AAAA, asked in parallel for every search
 * candidate). The first candidate, in search order, that has any address wins,
 * as in the libc resolver; NXDOMAIN/NODATA moves on, any other error ends it.
 */
export async function resolveName(name: string, ctx: DnsContext, signal: AbortSignal): Promise<string[]> {
  if (ctx.servers.length === 0) throw new CodedError('NO_NAMESERVER', 'no nameserver in resolv.conf');
  signal.throwIfAborted();
  // One resolver per attempt: a fresh socket and query id, and a one-shot
  // timeout, so a new attempt never waits behind an old one's retransmits.
  const resolver = new Resolver({ timeout: ctx.timeoutMs, tries: 1 });
  resolver.setServers([...ctx.servers]);
  const cancel = () => resolver.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    const lookups = searchCandidates(name, ctx.conf).map((candidate) =>
      Promise.allSettled([resolver.resolve4(candidate), resolver.resolve6(candidate)]),
    );
    let empty: unknown = null;
    for (const lookup of lookups) {
      const [v4, v6] = await lookup;
      const addrs = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
      if (addrs.length > 0) return addrs;
      const errors = [v4, v6].map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }) : null));
      const hard = errors.find((e) => e && !EMPTY.has(e.code ?? ''));
      if (hard) throw hard;
      // NXDOMAIN on either family means the name does not exist; NODATA only that it lacks one type.
      empty = errors.find((e) => e?.code === 'ENOTFOUND') ?? empty ?? errors[0];
    }
    signal.throwIfAborted();
    throw empty;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/** The dns check: passes when `name` resolves. */
export function dnsCheck(spec: string, name: string, ctx: DnsContext): Check {
  return {
    spec,
    kind: 'dns',
    async attempt(signal) {
      await resolveName(name, ctx, signal);
    },
  };
}
