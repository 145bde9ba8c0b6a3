// gateway — the first hop answers.
//
// How it is decided, without raw sockets or capabilities (the agent runs as
// non-root with every capability dropped, so it cannot ping or read netlink
// neighbour state it does not own):
//  * The default gateways come from /proc/net/route and /proc/net/ipv6_route.
//  * Each attempt opens a TCP connection to the gateway on a port nothing
//    serves. Sending the SYN makes the kernel resolve the gateway's link-layer
//    address. A refusal (RST) or an accepted connection is an answer from the
//    first hop: pass. EHOSTUNREACH means neighbour resolution failed: fail.
//  * Calico drops pod-to-host traffic by default, so a healthy pod may never
//    get a TCP answer from its gateway. Neighbour resolution is then the
//    signal, read from files any user can read:
//      IPv4: /proc/net/arp lists the gateway as complete (flag 0x2);
//      IPv6: the kernel keeps no such file, but /proc/net/dev_snmp6/<dev>
//      counts the neighbour advertisements received on the pod's interface,
//      whose only neighbour is the gateway. The agent is the pod's first
//      process, so any advertisement counted there answered its probes.
//    Silence is never taken as an answer: an unanswered IPv6 neighbour
//    solicitation does not reliably surface as EHOSTUNREACH on the socket.
// Every default-route family must pass (a dual-stack pod needs both); within a
// family, one answering gateway is enough.
import { readFileSync } from 'node:fs';
import { CodedError } from '../../lib/errors.ts';
import type { Check } from '../prober.ts';
import { anyOf, tcpConnect } from './tcp.ts';

export interface Gateway {
  readonly family: 4 | 6;
  readonly ip: string;
  readonly dev: string;
}

/** Discard port: almost never served, so a host that accepts packets from the pod answers RST. */
const GATEWAY_PORT = 9;
/** The first gap before an attempt looks at the neighbour table again after sending its SYN. */
const RECHECK_FIRST_MS = 5;
/** The longest gap: the kernel retries neighbour resolution once a second, so finer looks find nothing sooner. */
const RECHECK_MAX_MS = 40;

/**
 * Milliseconds before the n-th look (0-based) at the neighbour table after the SYN: 5, 10,
 * 20, 40, 40… Resolution on a veth takes well under 5 ms when the host answers, so the first
 * look is soon; a pod whose first hop is slow to answer should not cost a wake-up every 5 ms.
 */
export function recheckGap(n: number): number {
  return Math.min(RECHECK_MAX_MS, RECHECK_FIRST_MS * 2 ** Math.max(0, n));
}

/** Where the kernel files live; tests point this at fixtures. */
export interface ProcFiles {
  read(path: string): string | null;
}

export const realProc: ProcFiles = {
  read(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
};

/** Default-route gateways from /proc/net/route text (little-endian hex, as on x86 and arm). */
export function parseRoute4(text: string): Gateway[] {
  const out: Gateway[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [dev, dest, gw, flags, , , , mask] = line.trim().split(/\s+/);
    if (!dev || !gw || dest !== '00000000' || mask !== '00000000') continue;
    if ((parseInt(flags ?? '0', 16) & 0x3) !== 0x3) continue; // RTF_UP | RTF_GATEWAY
    const bytes = Buffer.from(gw, 'hex').reverse();
    out.push({ family: 4, ip: [...bytes].join('.'), dev });
  }
  return out;
}

/** Default-route gateways from /proc/net/ipv6_route text. */
export function parseRoute6(text: string): Gateway[] {
  const out: Gateway[] = [];
  for (const line of text.split('\n')) {
    const [dest, plen, , , nextHop, , , , flags, dev] = line.trim().split(/\s+/);
    if (!dev || !nextHop || dest !== '0'.repeat(32) || plen !== '00' || /^0+$/.test(nextHop)) continue;
    const f = parseInt(flags ?? '0', 16);
    if ((f & 0x3) !== 0x3 || f & 0x200) continue; // up, gateway, not reject
    const full = nextHop.match(/.{4}/g)!.join(':');
    out.push({ family: 6, ip: new URL(`http://[${full}]`).hostname.slice(1, -1), dev });
  }
  return out;
}

/** True when /proc/net/arp lists `ip` on `dev` as resolved. */
export function arpResolved(text: string, ip: string, dev: string): boolean {
  return text.split('\n').some((line) => {
    const [addr, , flags, , , device] = line.trim().split(/\s+/);
    return addr === ip && device === dev && (parseInt(flags ?? '0', 16) & 0x2) !== 0;
  });
}

/** Neighbour advertisements received, from /proc/net/dev_snmp6/<dev> text. */
export function neighbourAdvertisements(text: string): number {
  const m = /^Icmp6InNeighborAdvertisements\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Reads the default gateways; empty when there is no default route. */
export function defaultGateways(proc: ProcFiles): Gateway[] {
  return [...parseRoute4(proc.read('/proc/net/route') ?? ''), ...parseRoute6(proc.read('/proc/net/ipv6_route') ?? '')];
}

function neighbourAnswered(gw: Gateway, proc: ProcFiles): boolean {
  if (gw.family === 4) return arpResolved(proc.read('/proc/net/arp') ?? '', gw.ip, gw.dev);
  return neighbourAdvertisements(proc.read(`/proc/net/dev_snmp6/${gw.dev}`) ?? '') > 0;
}

/** One attempt at one gateway: resolves when the first hop answers. */
function firstHopAnswers(gw: Gateway, proc: ProcFiles, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (neighbourAnswered(gw, proc)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = new AbortController();
    // The SYN below starts neighbour resolution; a few ms later the table may say it worked.
    let looks = 0;
    let recheck: NodeJS.Timeout;
    const look = () => {
      if (neighbourAnswered(gw, proc)) return finish();
      recheck = setTimeout(look, recheckGap(++looks));
    };
    recheck = setTimeout(look, recheckGap(0));
    const finish = (err?: unknown) => {
      clearTimeout(recheck);
      signal.removeEventListener('abort', onAbort);
      done.abort();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => finish(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const host = gw.family === 6 && gw.ip.startsWith('fe80') ? `${gw.ip}%${gw.dev}` : gw.ip;
    tcpConnect(host, GATEWAY_PORT, done.signal).then(
      () => finish(),
      (err: NodeJS.ErrnoException) =>
        done.signal.aborted ? undefined : finish(err.code === 'ECONNREFUSED' ? undefined : err),
    );
  });
}

/** The gateway check. */
export function gatewayCheck(spec: string, proc: ProcFiles = realProc): Check {
  return {
    spec,
    kind: 'gateway',
    async attempt(signal) {
      const gateways = defaultGateways(proc);
      if (gateways.length === 0) {
        throw new CodedError(
          'NO_DEFAULT_ROUTE',
          'no default route with a gateway in /proc/net/route or /proc/net/ipv6_route',
        );
      }
      const families = [4, 6].map((f) => gateways.filter((g) => g.family === f)).filter((g) => g.length > 0);
      await Promise.all(families.map((gws) => anyOf(gws.map((gw) => firstHopAnswers(gw, proc, signal)))));
    },
  };
}
