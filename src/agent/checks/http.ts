// http(s)://… — passes on an HTTP response whose status the policy accepts. The status line and
// headers decide; the body is never waited for (a slow or endless body must not hold the check).
import { CodedError } from '../../lib/errors.ts';
import { lookupWith } from '../lookup.ts';
import type { Check } from '../prober.ts';
import type { ResolveHost } from './tcp.ts';

/** Inclusive status ranges that pass; null accepts any response. */
export type StatusPolicy = readonly (readonly [number, number])[] | null;

/** True when `status` passes the policy. */
export function statusAccepted(status: number, policy: StatusPolicy): boolean {
  return policy === null || policy.some(([lo, hi]) => status >= lo && status <= hi);
}

/** The http check. */
export function httpCheck(
  spec: string,
  url: string,
  policy: StatusPolicy,
  resolve: ResolveHost,
  userAgent: string,
): Check {
  const target = new URL(url);
  return {
    spec,
    kind: 'http',
    async attempt(signal) {
      // undici is loaded by the first attempt, not at start (see http-client.ts).
      const { httpRequest } = await import('../http-client.ts');
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
