// The pacer's signal: one UDP socket to the pod's first nameserver, one small DNS query per
// send, and a callback when anything comes back (without a dns check, an empty datagram to a tcp
// check's own address and port instead, see portPacer). While the dataplane drops everything, every
// check fails for the same reason; this one datagram costs far less than a TCP connect or a
// c-ares resolver per attempt, so it is the one thing probed at the full rate while the
// other checks are paced (see prober.ts). Any reply counts, even NXDOMAIN or REFUSED, and so
// does an ICMP port unreachable (ECONNREFUSED on the connected socket): each means packets
// crossed the dataplane. Written by hand because it is one query type, no parsing beyond
// the 16-bit id; a DNS library would cost more start-up than it saves.
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Pacer } from './prober.ts';
import { PACE_FACTOR, PORT_PACE_FACTOR } from './schedule.ts';

/** Sends remembered to match a reply's id to its send time; older ones no longer matter. */
const REMEMBERED_SENDS = 256;

/** Splits `ADDR`, `ADDR:PORT` or `[ADDR]:PORT` (the --dns-server and resolv.conf forms) into address and port. */
export function parseServer(server: string): { address: string; port: number } {
  const v6 = /^\[(.+)\](?::(\d+))?$/.exec(server);
  if (v6) return { address: v6[1]!, port: Number(v6[2] ?? 53) };
  const v4 = /^([\d.]+):(\d+)$/.exec(server);
  if (v4) return { address: v4[1]!, port: Number(v4[2]) };
  return { address: server, port: 53 };
}

/** A DNS query for `name`, type A, class IN, recursion desired, with id 0 (set per send). */
export function dnsQuery(name: string): Buffer {
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .filter((l) => l.length > 0);
  const qname = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])),
    Buffer.from([0]),
  ]);
  const header = Buffer.from([0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, qname, Buffer.from([0, 1, 0, 1])]);
}

/**
 * Opens the pacer's socket to `server`, asking for `name`; null when there is no usable
 * server or the socket cannot connect (the checks then run at the full rate from the start).
 */
export async function dnsPacer(server: string | undefined, name: string): Promise<Pacer | null> {
  if (server === undefined) return null;
  const { address, port } = parseServer(server);
  return openPacer(address, port, dnsQuery(name), true, PACE_FACTOR);
}

/**
 * A pacer for a tcp check on an IP address, when no dns check names a nameserver: an empty UDP
 * datagram to the check's own address and port, which the dataplane drops as it drops the SYNs.
 * Once packets cross, the target's host answers it with ICMP port unreachable, unless a UDP
 * service listens there or nothing answers at all (a Service IP that kube-proxy's iptables rules
 * rewrite for TCP only): then the check itself, paced at PORT_PACE_FACTOR, notices. Null for a
 * host name (resolving it would need the nameserver the check set does not name).
 */
export async function portPacer(host: string, port: number): Promise<Pacer | null> {
  return openPacer(host, port, Buffer.alloc(0), false, PORT_PACE_FACTOR);
}

/**
 * The pacer over one connected UDP socket. With `idInPayload` the payload's first 16 bits carry
 * a sequence number that a reply echoes (DNS); without, an answer cannot be matched to its send
 * and is taken as the answer to the last one (on a path that works, an answer takes well under
 * an interval).
 */
async function openPacer(
  address: string,
  port: number,
  payload: Buffer,
  idInPayload: boolean,
  paceFactor: number,
): Promise<Pacer | null> {
  const family = isIP(address.replace(/%.*$/, ''));
  if (family === 0) return null;
  // One payload buffer for every send, its id rewritten in place, so that a send allocates nothing:
  // socket.send hands a datagram to the kernel before it returns (libuv's try-send) unless the
  // socket's send buffer is full; a datagram queued then would leave with a later id, which only
  // dates its answer one send later.
  //
  // Send times by id, in a ring: slot id % REMEMBERED_SENDS holds that id's time while it is recent.
  const sentAt = new Float64Array(REMEMBERED_SENDS);
  const sentId = new Int32Array(REMEMBERED_SENDS).fill(-1);
  const sentTime = (id: number): number | undefined =>
    sentId[id % REMEMBERED_SENDS] === id ? sentAt[id % REMEMBERED_SENDS] : undefined;
  let seq = 0;
  let onAnswer: ((silentUntil: number | null, answeredSentAt: number | null) => void) | null = null;
  let closed = false;
  const socket: Socket = createSocket(family === 6 ? 'udp6' : 'udp4');

  /** `id`: the send answered, null when unknown. */
  const answered = (id: number | null) => {
    if (closed || !onAnswer) return;
    const cb = onAnswer;
    onAnswer = null;
    // The send just before the answered one got no answer: the dataplane still dropped it then.
    const at = id === null ? undefined : sentTime(id);
    const before = id === null ? undefined : sentTime((id + 0xffff) & 0xffff);
    cb(at === undefined ? null : (before ?? null), at ?? null);
  };
  /** The send `back` sends before the last one; null when there was none. */
  const sentBack = (back: number) => (seq <= back ? null : (seq - 1 - back) & 0xffff);
  socket.on('message', (msg) => answered(!idInPayload ? sentBack(0) : msg.length >= 2 ? msg.readUInt16BE(0) : null));
  socket.on('error', (err: NodeJS.ErrnoException) => {
    // The host answered with ICMP port unreachable: packets cross the dataplane.
    if (err.code === 'ECONNREFUSED') answered(idInPayload ? null : sentBack(0));
  });
  // An ICMP error that came in after the loop last looked is reported to the next send instead
  // (Linux hands a connected UDP socket's pending error to whichever call comes first): then
  // that send fails at once and its callback runs before any other send, so the answer belongs
  // to the send before it. Without the callback such an answer would be lost, and the next
  // send's taken for it, an interval late. Only the port pacer needs it: the DNS pacer's answer
  // is a datagram, which a send does not consume, and it skips the callback's cost per send.
  const afterSend = idInPayload
    ? undefined
    : (err: NodeJS.ErrnoException | null) => {
        if (err?.code === 'ECONNREFUSED') answered(sentBack(1));
      };
  // Connecting an address (no name to look up) takes well under a millisecond.
  const connected = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.connect(port, address, () => resolve(true));
  });
  if (!connected) {
    socket.close();
    return null;
  }
  // The socket must never keep the agent alive by itself.
  socket.unref();

  return {
    paceFactor,
    send(at) {
      if (closed) return;
      const id = seq++ & 0xffff;
      sentAt[id % REMEMBERED_SENDS] = at;
      sentId[id % REMEMBERED_SENDS] = id;
      // Two byte stores: writeUInt16BE's range checks allocate in the interpreter, every send.
      if (idInPayload) {
        payload[0] = id >>> 8;
        payload[1] = id & 0xff;
      }
      // A failed send (no route yet, say) is one more silent probe.
      socket.send(payload, afterSend);
    },
    onAnswer(cb) {
      onAnswer = cb;
    },
    close() {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
}
