// The pods' DNS server: a real dnsmasq on the host's service addresses that answers only from its
// own records and never forwards off the host. It can be stopped, started and switched to SERVFAIL.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { which } from './testbed-host.ts';
import { CodedError } from '../../src/lib/errors.ts';

/** `normal`: configured names answer, all others NXDOMAIN. `servfail`: every UDP query gets SERVFAIL. */
export type DnsMode = 'normal' | 'servfail';

/** A name's addresses, IPv4 and/or IPv6. */
export interface DnsRecord {
  readonly v4?: string;
  readonly v6?: string;
}

export interface DnsmasqConfig {
  readonly listen: readonly string[];
  readonly records: Readonly<Record<string, DnsRecord>>;
  readonly mode: DnsMode;
  /** Loopback port of the SERVFAIL upstream; servfail mode only. */
  readonly upstreamPort?: number;
}

/** dnsmasq's configuration file for a mode (pure). */
export function dnsmasqConfig(c: DnsmasqConfig): string {
  const lines = [
    '# written by test/e2e/testbed-dns.ts',
    'no-resolv', // never read /etc/resolv.conf: no real upstream
    'no-hosts',
    'bind-interfaces', // bind only the addresses below, not the wildcard
    ...c.listen.map((a) => `listen-address=${a}`),
  ];
  if (c.mode === 'servfail') {
    // dnsmasq itself never answers SERVFAIL (no upstream gives REFUSED, a dead one gives silence),
    // but it passes an upstream's SERVFAIL on: the "CoreDNS up, its upstream failing" case.
    lines.push(`server=127.0.0.1#${c.upstreamPort}`);
  } else {
    // Like CoreDNS for cluster.local: authoritative for everything, NXDOMAIN for unknown names.
    lines.push('local=/#/');
    for (const [name, r] of Object.entries(c.records)) {
      lines.push(`host-record=${[name, r.v4, r.v6].filter(Boolean).join(',')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const READY_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 3_000;
const LOG_LIMIT = 64 * 1024;

/** A restartable dnsmasq child process; its config path under `dir` marks it as the testbed's. */
export class Dnsmasq {
  readonly #dir: string;
  readonly #listen: readonly string[];
  readonly #records: Readonly<Record<string, DnsRecord>>;
  #child: ChildProcess | undefined;
  #upstream: dgram.Socket | undefined;
  #log = '';

  constructor(dir: string, listen: readonly string[], records: Readonly<Record<string, DnsRecord>>) {
    this.#dir = dir;
    this.#listen = listen;
    this.#records = records;
  }

  /** dnsmasq's recent log output (it logs every query), for diagnostics. */
  get log(): string {
    return this.#log;
  }

  /** Whether dnsmasq is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** (Re)starts dnsmasq in `mode` and resolves once it is listening. */
  async start(mode: DnsMode = 'normal'): Promise<void> {
    await this.stop();
    const upstreamPort = mode === 'servfail' ? await this.#startServfailUpstream() : undefined;
    const conf = join(this.#dir, 'dnsmasq.conf');
    writeFileSync(conf, dnsmasqConfig({ listen: this.#listen, records: this.#records, mode, upstreamPort }));
    const child = spawn(
      which('dnsmasq') ?? 'dnsmasq',
      [
        '--keep-in-foreground',
        `--conf-file=${conf}`,
        `--pid-file=${join(this.#dir, 'dnsmasq.pid')}`,
        '--log-facility=-',
        '--log-queries',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    let output = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      this.#log = (this.#log + chunk).slice(-LOG_LIMIT);
    });
    // dnsmasq logs "started" after it has bound its sockets.
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new CodedError('DNSMASQ_START', `dnsmasq not ready after ${READY_TIMEOUT_MS} ms:\n${output}`)),
        READY_TIMEOUT_MS,
      );
      child.stderr!.on('data', () => {
        if (output.includes('started, version')) resolve();
      });
      child.once('exit', (code) => reject(new CodedError('DNSMASQ_START', `dnsmasq exited with ${code}:\n${output}`)));
      child.once('error', reject);
    });
    try {
      await ready;
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops dnsmasq (queries then go unanswered) and resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    }
    this.#upstream?.close();
    this.#upstream = undefined;
  }

  /** A loopback UDP "upstream" that answers every query with its own question and rcode SERVFAIL. */
  async #startServfailUpstream(): Promise<number> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (query, peer) => {
      if (query.length < 12) return;
      const reply = Buffer.from(query);
      reply[2] = reply[2]! | 0x80; // QR: this is a response
      reply[3] = (reply[3]! & 0xf0) | 2; // RCODE 2 = SERVFAIL
      socket.send(reply, peer.port, peer.address);
    });
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    socket.unref();
    this.#upstream = socket;
    return socket.address().port;
  }
}
