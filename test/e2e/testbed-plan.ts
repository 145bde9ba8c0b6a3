// The testbed's addressing and wiring plan, as data: which addresses, which `ip` commands, which
// nftables ruleset. Pure; testbed.ts carries it out.
import type { DnsRecord } from './testbed-dns.ts';
import type { names } from './testbed-host.ts';

/** Host-side service addresses (on the `<prefix>sv` link); pods reach them via their default route. */
export const SERVICES = Object.freeze({
  dns: { v4: '203.0.113.53', v6: '2001:db8:ffff::53' },
  /** Stand-in for the `kubernetes.default` Service IP. */
  api: { v4: '203.0.113.1', v6: '2001:db8:ffff::1' },
  collector: { v4: '203.0.113.2', v6: '2001:db8:ffff::2' },
  /** A generic target for TCP/HTTP checks. */
  target: { v4: '203.0.113.3', v6: '2001:db8:ffff::3' },
});

/** Calico's pod gateways: a link-local IPv4 address, and the link-local of MAC ee:ee:ee:ee:ee:ee. */
export const GATEWAY = Object.freeze({ v4: '169.254.1.1', v6: 'fe80::ecee:eeff:feee:eeee' });

/** Names dnsmasq answers by default (extend with TestbedOptions.dnsRecords). */
export const DNS_RECORDS: Readonly<Record<string, DnsRecord>> = Object.freeze({
  'kubernetes.default.svc.cluster.local': SERVICES.api,
  'collector.netready.svc.cluster.local': SERVICES.collector,
  'target.default.svc.cluster.local': SERVICES.target,
});

export interface PodOptions {
  /** Default true. */
  readonly ipv4?: boolean;
  /** Default false; `{ ipv4: false, ipv6: true }` is an IPv6-only pod. */
  readonly ipv6?: boolean;
  /** Start with the dataplane "not programmed" (see block()). Default false. */
  readonly blocked?: boolean;
}

export interface Pod {
  /** Network namespace name, e.g. `nr1a2b-p0`. */
  readonly name: string;
  /** Host side of the veth pair, e.g. `nr1a2b0h`; the pod side is `eth0`. */
  readonly hostVeth: string;
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
  /** Bind-mounted over /etc/resolv.conf by `ip netns exec`. */
  readonly resolvConf: string;
}

/**
 * The testbed's nftables table. `nd_only` is where a blocked pod's traffic goes: it keeps the
 * ICMPv6 Calico accepts from a workload before any policy, MLD (130-132), router solicitation
 * (133), neighbour solicitation/advertisement (135, 136), and drops the rest; ARP is not in `inet`.
 * Priority -500 runs before every standard priority (raw is -300); the loss chains, netem's
 * stand-in on kernels without it, run before that so that a pod's `accept` cannot bypass them.
 * `forward` drops anything a pod sends through the host (`prefix*` matches all testbed links).
 */
export const ruleset = (table: string, prefix: string): string => `
table inet ${table} {
  chain nd_only {
    icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept
    drop
  }
  chain loss_in { type filter hook input priority -510; policy accept; }
  chain loss_out { type filter hook output priority -510; policy accept; }
  chain input { type filter hook input priority -500; policy accept; }
  chain forward {
    type filter hook forward priority -500; policy accept;
    iifname "${prefix}*" drop
    oifname "${prefix}*" drop
  }
}
`;

/** `ip -batch` lines that put the service addresses on the host. */
export function serviceCommands(n: ReturnType<typeof names>): string {
  // The addresses need an up interface; `dummy` is not in every kernel (not in this CI's), veth is.
  const lines = [`link add ${n.serviceLink} type veth peer name ${n.servicePeer}`];
  for (const s of Object.values(SERVICES)) {
    lines.push(`addr add ${s.v4}/32 dev ${n.serviceLink}`, `addr add ${s.v6}/128 dev ${n.serviceLink} nodad`);
  }
  lines.push(`link set ${n.servicePeer} up`, `link set ${n.serviceLink} up`);
  return lines.join('\n');
}

export interface PodPlan {
  readonly pod: Pod;
  readonly resolvConf: string;
  /** `ip -batch` lines run on the host: namespace, veth pair, gateway addresses, routes to the pod. */
  readonly host: string;
  /** `ip -netns <pod> -batch` lines: the pod's addresses and routes. */
  readonly inPod: string;
}

/** The i-th pod of a testbed: 198.51.100.(10+i)/32 and 2001:db8::(10+i)/128. */
export function planPod(n: ReturnType<typeof names>, i: number, opts: PodOptions): PodPlan {
  const ipv4 = opts.ipv4 ?? true;
  const ipv6 = opts.ipv6 ?? false;
  const name = n.netns(i);
  const veth = n.hostVeth(i);
  const pod: Pod = Object.freeze({
    name,
    hostVeth: veth,
    ipv4: ipv4 ? `198.51.100.${10 + i}` : undefined,
    ipv6: ipv6 ? `2001:db8::${10 + i}` : undefined,
    resolvConf: `/etc/netns/${name}/resolv.conf`,
  });
  // As kubelet writes it for ClusterFirst pods: one nameserver, of the pod's primary family.
  const resolvConf = `search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver ${ipv4 ? SERVICES.dns.v4 : SERVICES.dns.v6}\noptions ndots:5\n`;

  // Each host veth carries the gateway addresses itself, so the kernel answers ARP and ND for them
  // on every pod's link at once: the effect of Calico's proxy ARP, without depending on the host's
  // own default route or on proxy_delay. The MAC is Calico's too.
  const host = [
    `netns add ${name}`,
    `link add ${veth} address ee:ee:ee:ee:ee:ee type veth peer name eth0 netns ${name}`,
  ];
  if (pod.ipv4) host.push(`addr add ${GATEWAY.v4}/32 dev ${veth}`);
  if (pod.ipv6) host.push(`addr add ${GATEWAY.v6}/64 dev ${veth} nodad`);
  host.push(`link set ${veth} up`); // routes need an up device
  if (pod.ipv4) host.push(`route add ${pod.ipv4}/32 dev ${veth}`);
  if (pod.ipv6) host.push(`route add ${pod.ipv6}/128 dev ${veth}`);

  const inPod = ['link set lo up'];
  if (pod.ipv4) inPod.push(`addr add ${pod.ipv4}/32 dev eth0`);
  if (pod.ipv6) inPod.push(`addr add ${pod.ipv6}/128 dev eth0 nodad`); // nodad: usable at once
  inPod.push('link set eth0 up');
  if (pod.ipv4)
    inPod.push(`route add ${GATEWAY.v4} dev eth0 scope link`, `route add default via ${GATEWAY.v4} dev eth0`);
  if (pod.ipv6) inPod.push(`route add ::/0 via ${GATEWAY.v6} dev eth0`);
  return { pod, resolvConf, host: host.join('\n'), inPod: inPod.join('\n') };
}
