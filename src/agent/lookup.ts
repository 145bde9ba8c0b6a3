// How the agent's HTTP connections find an address: through netready's own DNS client, like
// every check, never through getaddrinfo.
import { isIP, type LookupFunction } from 'node:net';
import { CodedError } from '../lib/errors.ts';
import type { ResolveHost } from './checks/tcp.ts';

/**
 * A net.connect `lookup` that resolves through netready's own DNS client under `signal`, never
 * through getaddrinfo: that runs on libuv's threads, which an abort cannot stop, and follows the
 * host's resolver settings instead of the checks' (--dns-server).
 */
export function lookupWith(resolve: ResolveHost, signal: AbortSignal): LookupFunction {
  return (hostname, options, callback) => {
    const found = isIP(hostname) ? Promise.resolve([hostname]) : resolve(hostname, signal);
    found.then(
      (addrs) => {
        const wanted =
          options.family === 4 || options.family === 6 ? addrs.filter((a) => isIP(a) === options.family) : addrs;
        if (wanted.length === 0)
          return callback(new CodedError('ENODATA', `${hostname} has no address of that family`), '', 0);
        if (options.all)
          callback(
            null,
            wanted.map((address) => ({ address, family: isIP(address) })),
          );
        else callback(null, wanted[0]!, isIP(wanted[0]!));
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
