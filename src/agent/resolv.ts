// /etc/resolv.conf, read the way a pod's resolver reads it: nameservers, the
// search list and ndots. netready queries DNS itself (through c-ares) rather
// than through getaddrinfo, whose blocking calls would tie up libuv's four
// threads as soon as a few attempts hang on a dead network.
import { isIP } from 'node:net';

export interface ResolvConf {
  readonly servers: readonly string[];
  readonly search: readonly string[];
  readonly ndots: number;
}

/** An address glibc takes on a `nameserver` line: IPv4, or IPv6 with an optional `%zone`; no port. */
function isNameserverAddress(addr: string): boolean {
  return isIP(addr) === 4 || isIP(addr.replace(/%[\w.-]+$/, '')) === 6;
}

/**
 * Parses resolv.conf text; unknown lines are ignored as the libc resolver does.
 * A `nameserver` line whose address glibc would not take is skipped (the others
 * are still used, as glibc does) and handed to `onSkipped`, for one log line.
 */
export function parseResolvConf(text: string, onSkipped: (line: string) => void = () => {}): ResolvConf {
  const servers: string[] = [];
  let search: string[] = [];
  let ndots = 1;
  for (const line of text.split('\n')) {
    const [key, ...args] = line
      .replace(/[#;].*/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && args[0]) {
      if (isNameserverAddress(args[0])) servers.push(args[0]);
      else onSkipped(line.trim());
    } else if (key === 'search' || key === 'domain') search = args;
    else if (key === 'options') {
      for (const opt of args) {
        const m = /^ndots:(\d+)$/.exec(opt);
        if (m) ndots = Math.min(15, Number(m[1]));
      }
    }
  }
  return { servers, search, ndots };
}

/** Names to query for `name`, in order, after the search list and ndots rules. */
export function searchCandidates(name: string, conf: ResolvConf): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const expanded = conf.search.map((domain) => `${name}.${domain.replace(/\.$/, '')}`);
  const dots = name.split('.').length - 1;
  return dots >= conf.ndots ? [name, ...expanded] : [...expanded, name];
}

/**
 * The API Service's DNS name, kubernetes.default.svc.<cluster domain>. kubelet
 * writes the search list as `<ns>.svc.<domain> svc.<domain> <domain>`: the
 * domain is the entry that follows `svc.` + itself.
 */
export function apiServiceName(conf: ResolvConf): string {
  const search = conf.search.map((d) => d.replace(/\.$/, ''));
  // The last such pair: in namespace `svc` the first entry is svc.svc.<domain>.
  const domain = search.findLast((d, i) => i > 0 && search[i - 1] === `svc.${d}`) ?? 'cluster.local';
  return `kubernetes.default.svc.${domain}.`;
}
