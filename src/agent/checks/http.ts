// http(s)://… — passes on an HTTP response whose status the policy accepts.
import { isIP, type LookupFunction } from 'node:net';
import { CodedError } from '../../lib/errors.ts';
import { httpRequest } from '../http-client.ts';
import type { Check } from '../prober.ts';
import type { ResolveHost } from './tcp.ts';

/** Inclusive status ranges that pass; null accepts any response. */
export type StatusPolicy = readonly (readonly [number, number])[] | null;

/** True when `status` passes the policy. */
export function statusAccepted(status: number, policy: StatusPolicy): boolean {
  return policy === null || policy.some(([lo, hi]) => status >= lo && status <= hi);
}

/** The http check. */
export function httpCheck(spec: string, url: string, policy: StatusPolicy, resolve: ResolveHost, userAgent: string): Check {
  const target = new URL(url);
  return {
    spec,
    kind: 'http',
    async attempt(signal) {
      const res = await httpRequest(target, {
        method: 'GET',
        headers: { 'user-agent': userAgent },
        signal,
        lookup: lookupWith(resolve, signal),
      });
      if (!statusAccepted(res.status, policy)) {
        throw new CodedError(`HTTP_${res.status}`, `HTTP status ${res.status} is not accepted`);
      }
    },
  };
}

/** A net.connect `lookup` that resolves through netready's own DNS client. */
function lookupWith(resolve: ResolveHost, signal: AbortSignal): LookupFunction {
  return (hostname, options, callback) => {
    const found = isIP(hostname) ? Promise.resolve([hostname]) : resolve(hostname, signal);
    found.then(
      (addrs) => {
        const wanted = options.family === 4 || options.family === 6 ? addrs.filter((a) => isIP(a) === options.family) : addrs;
        if (wanted.length === 0) return callback(new CodedError('ENODATA', `${hostname} has no address of that family`), '', 0);
        if (options.all) callback(null, wanted.map((address) => ({ address, family: isIP(address) })));
        else callback(null, wanted[0]!, isIP(wanted[0]!));
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
