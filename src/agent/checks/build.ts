import type { CheckSpec } from '../../lib/check-spec.ts';
import type { Check } from '../prober.ts';
import { apiServiceName, type ResolvConf } from '../resolv.ts';
import { dnsCheck, resolveName, type DnsContext } from './dns.ts';
import { gatewayCheck } from './gateway.ts';
import { httpCheck, type StatusPolicy } from './http.ts';
import { tcpCheck, type ResolveHost } from './tcp.ts';

export interface CheckOptions {
  readonly resolvConf: ResolvConf;
  /** Overrides the resolv.conf nameservers when not empty. */
  readonly dnsServers: readonly string[];
  readonly attemptTimeoutMs: number;
  readonly httpStatus: StatusPolicy;
  readonly userAgent: string;
}

/** The checks' DNS configuration: --dns-server when given, else resolv.conf. */
function dnsContext(options: Pick<CheckOptions, 'resolvConf' | 'dnsServers' | 'attemptTimeoutMs'>): DnsContext {
  return {
    conf: options.resolvConf,
    servers: options.dnsServers.length > 0 ? options.dnsServers : options.resolvConf.servers,
    timeoutMs: options.attemptTimeoutMs,
  };
}

/** Resolves host names as the checks do (the report's collector name uses it too). */
export function hostResolver(
  options: Pick<CheckOptions, 'resolvConf' | 'dnsServers' | 'attemptTimeoutMs'>,
): ResolveHost {
  const dns = dnsContext(options);
  return (host, signal) => resolveName(host, dns, signal);
}

/** Turns parsed specs into runnable checks that share one DNS configuration. */
export function buildChecks(specs: readonly CheckSpec[], options: CheckOptions): Check[] {
  const dns = dnsContext(options);
  const resolve = hostResolver(options);
  return specs.map((spec) => {
    switch (spec.kind) {
      case 'gateway':
        return gatewayCheck(spec.spec);
      case 'dns':
        return dnsCheck(spec.spec, spec.name ?? apiServiceName(options.resolvConf), dns);
      case 'tcp':
        return tcpCheck(spec.spec, spec.host, spec.port, resolve);
      case 'http':
        return httpCheck(spec.spec, spec.url, options.httpStatus, resolve, options.userAgent);
    }
  });
}
