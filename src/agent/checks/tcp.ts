// tcp://HOST:PORT and kubernetes — passes on an established connection.
import { connect, isIP } from 'node:net';
import type { Check } from '../prober.ts';

/** Opens a TCP connection and closes it at once; rejects with the socket's error or on abort. */
export function tcpConnect(host: string, port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const socket = connect({ host, port });
    const onAbort = () => socket.destroy();
    const onConnect = () => settle();
    const onClose = () => settle(signal.reason ?? new Error('closed'));
    const settle = (err?: unknown) => {
      signal.removeEventListener('abort', onAbort);
      // The 'close' that destroy() emits next finds nothing to settle: without this, every attempt
      // built an Error and its stack trace for nobody (the watch: one per round, BENCHMARKS.md).
      socket.removeListener('connect', onConnect);
      socket.removeListener('close', onClose);
      socket.destroy();
      if (err === undefined) resolve();
      else reject(err);
    };
    socket.once('connect', onConnect);
    socket.once('error', settle);
    socket.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves a host name to addresses; a DNS error rejects the attempt. */
export type ResolveHost = (host: string, signal: AbortSignal) => Promise<string[]>;

/**
 * Picks the addresses an attempt connects to: IP literals as they are; for a
 * name, its first IPv4 and first IPv6 address, tried in parallel so that a
 * dual-stack name passes on whichever family the pod can use.
 */
export async function targetAddresses(host: string, resolve: ResolveHost, signal: AbortSignal): Promise<string[]> {
  if (isIP(host)) return [host];
  const addrs = await resolve(host, signal);
  const v4 = addrs.find((a) => isIP(a) === 4);
  const v6 = addrs.find((a) => isIP(a) === 6);
  return [v4, v6].filter((a): a is string => a !== undefined);
}

/** The tcp check. */
export function tcpCheck(spec: string, host: string, port: number, resolve: ResolveHost): Check {
  return {
    spec,
    kind: 'tcp',
    async attempt(signal) {
      const addrs = await targetAddresses(host, resolve, signal);
      await anyOf(addrs.map((addr) => tcpConnect(addr, port, signal)));
    },
  };
}

/** Resolves with the first promise that resolves; if all reject, rejects with the first rejection. */
export async function anyOf(promises: Promise<void>[]): Promise<void> {
  try {
    await Promise.any(promises);
  } catch (err) {
    throw (err as AggregateError).errors[0];
  }
}
