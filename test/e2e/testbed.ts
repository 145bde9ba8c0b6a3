// Real-kernel test network: pods are network namespaces wired to the host as Calico does it, with
// a real dnsmasq and real listeners on the host side. See docs/architecture.md, "The test network".
//
// Traffic stays inside the testbed: pods only have routes to the host through their veth; the
// host never forwards their packets (the `forward` chain of testbed-plan.ts's ruleset drops them
// even when the host has ip_forward=1), and every address is a documentation or link-local one.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { Dnsmasq, type DnsRecord } from './testbed-dns.ts';
import { CodedError } from '../../src/lib/errors.ts';
import { acquireHostLock, names, now, preflight, PREFIX_PATTERN, run, teardown, which } from './testbed-host.ts';
import { DNS_RECORDS, planPod, ruleset, SERVICES, serviceCommands, type Pod, type PodOptions } from './testbed-plan.ts';

export { preflight } from './testbed-host.ts';
export { DNS_RECORDS, GATEWAY, SERVICES } from './testbed-plan.ts';
export type { DnsMode, DnsRecord } from './testbed-dns.ts';
export type { Pod, PodOptions } from './testbed-plan.ts';

export interface TestbedOptions {
  /** Extra DNS names, added to DNS_RECORDS. */
  readonly dnsRecords?: Readonly<Record<string, DnsRecord>>;
  /** How long to wait for another testbed on this host to finish (default 120 s). */
  readonly lockTimeoutMs?: number;
}

/** When program() let the pod's traffic through (epoch ms): not yet at `before`, certainly by `at`. */
export interface ProgrammedAt {
  readonly before: number;
  readonly at: number;
}

export interface PodRunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Builds a testbed: checks prerequisites, waits for the host lock, removes leftovers of crashed runs. */
export async function createTestbed(opts: TestbedOptions = {}): Promise<Testbed> {
  const missing = preflight();
  if (missing) throw new CodedError('PREREQ_MISSING', missing);
  const lock = await acquireHostLock(opts.lockTimeoutMs ?? 120_000);
  const prefix = `nr${randomBytes(2).toString('hex')}`;
  try {
    teardown(PREFIX_PATTERN); // leftovers: no other testbed can be alive while we hold the lock
    const n = names(prefix);
    mkdirSync(n.tmpDir, { recursive: true });
    await run('nft', ['-f', '-'], ruleset(n.table, prefix));
    await run('ip', ['-batch', '-'], serviceCommands(n));
    const netem = await run('tc', ['qdisc', 'add', 'dev', n.servicePeer, 'root', 'netem']).then(
      () => true,
      () => false,
    );
    const dns = new Dnsmasq(n.tmpDir, [SERVICES.dns.v4, SERVICES.dns.v6], { ...DNS_RECORDS, ...opts.dnsRecords });
    await dns.start();
    return new Testbed(prefix, lock, dns, netem);
  } catch (err) {
    teardown(prefix);
    lock.close();
    throw err;
  }
}

/** A running test network; close() removes every resource it created. */
export class Testbed {
  readonly prefix: string;
  /** The host's DNS server: `dns.stop()`, `dns.start()`, `dns.start('servfail')`. */
  readonly dns: Dnsmasq;
  /** Whether the kernel has sch_netem; without it netem() emulates loss with nftables and cannot delay. */
  readonly netemAvailable: boolean;
  readonly #lock: net.Server;
  readonly #names: ReturnType<typeof names>;
  // nft rule handles by pod name: the block (`jump nd_only`), and the `accept` inserted above it
  readonly #blocks = new Map<string, number>();
  readonly #programmed = new Map<string, number>();
  readonly #lossRules = new Map<string, { chain: string; handle: number }[]>();
  /** Pods whose packets may not leave the host any other way than their veth (see removeRoute). */
  readonly #routeGuards = new Set<string>();
  readonly #children = new Set<ChildProcess>();
  readonly #servers = new Set<net.Server>();
  readonly #sockets = new Set<net.Socket>();
  #podCount = 0;
  #closing: Promise<void> | undefined;
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.#teardownSync();
    process.kill(process.pid, signal); // our handler is gone: the default action (or others') applies
  };
  readonly #onExit = () => this.#teardownSync();

  constructor(prefix: string, lock: net.Server, dns: Dnsmasq, netemAvailable: boolean) {
    this.prefix = prefix;
    this.#lock = lock;
    this.dns = dns;
    this.netemAvailable = netemAvailable;
    this.#names = names(prefix);
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
    process.once('exit', this.#onExit);
  }

  /** Creates a pod laid out as Calico does: /32 and /128 addresses, gateways on the host veth. */
  async createPod(opts: PodOptions = {}): Promise<Pod> {
    if (opts.ipv4 === false && !opts.ipv6)
      throw new CodedError('BAD_OPTION', 'createPod: ipv4 and ipv6 are both false');
    if (this.#podCount > 200) throw new CodedError('BAD_OPTION', 'createPod: at most 200 pods per testbed');
    const plan = planPod(this.#names, this.#podCount++, opts);
    mkdirSync(`/etc/netns/${plan.pod.name}`, { recursive: true });
    writeFileSync(plan.pod.resolvConf, plan.resolvConf);
    await run('ip', ['-batch', '-'], plan.host);
    if (opts.blocked) await this.block(plan.pod); // before the pod's eth0 is up: no window
    await run('ip', ['-netns', plan.pod.name, '-batch', '-'], plan.inPod);
    return plan.pod;
  }

  /** Dataplane "not programmed": drops everything arriving from the pod except neighbour discovery. */
  async block(pod: Pod): Promise<void> {
    if (!this.#blocks.has(pod.name)) {
      this.#blocks.set(pod.name, await this.#addRule('add', 'input', `iifname "${pod.hostVeth}" jump nd_only`));
    }
    const accept = this.#programmed.get(pod.name);
    if (accept !== undefined) {
      await run('nft', ['delete', 'rule', 'inet', this.#names.table, 'input', 'handle', String(accept)]);
      this.#programmed.delete(pod.name);
    }
  }

  /**
   * Dataplane "programmed": lets the pod's traffic through, and says when. This inserts an
   * `accept` above the block instead of deleting the block: an nft rule deletion waits for a
   * kernel RCU grace period (10-40 ms here), an insertion returns in ~4 ms, so `at - before`, the
   * uncertainty of the ground truth, stays small.
   */
  async program(pod: Pod): Promise<ProgrammedAt> {
    if (!this.#blocks.has(pod.name) || this.#programmed.has(pod.name)) {
      throw new CodedError('NOT_BLOCKED', `program: pod ${pod.name} is not blocked`);
    }
    const before = now();
    const handle = await this.#addRule('insert', 'input', `iifname "${pod.hostVeth}" accept`);
    const at = now();
    this.#programmed.set(pod.name, handle);
    return { before, at };
  }

  /**
   * Programs several blocked pods in one nftables transaction, as Felix does catching up after a
   * resync: one `before..at` for all of them.
   */
  async programAll(pods: readonly Pod[]): Promise<ProgrammedAt> {
    for (const pod of pods) {
      if (!this.#blocks.has(pod.name) || this.#programmed.has(pod.name)) {
        throw new CodedError('NOT_BLOCKED', `programAll: pod ${pod.name} is not blocked`);
      }
    }
    const script = pods
      .map((pod) => `insert rule inet ${this.#names.table} input iifname "${pod.hostVeth}" accept\n`)
      .join('');
    const before = now();
    const echo = await run('nft', ['--echo', '--handle', '-f', '-'], script);
    const at = now();
    for (const [, veth, handle] of echo.matchAll(/iifname "([^"]+)" accept # handle (\d+)/g)) {
      const pod = pods.find((p) => p.hostVeth === veth);
      if (pod) this.#programmed.set(pod.name, Number(handle));
    }
    if (pods.some((pod) => !this.#programmed.has(pod.name)))
      throw new CodedError('COMMAND_FAILED', `nft printed no rule handle for some pods: ${echo}`);
    return { before, at };
  }

  /**
   * What Felix does to a running pod when it loses track of its WorkloadEndpoint: the host's route
   * to the pod is deleted, so nothing on the host (DNS answers, SYN-ACKs, kubelet's probes) reaches
   * it any more. Packets to the pod that would then follow the host's default route out of the
   * testbed are dropped by a rule kept until close() (it spares the pod's own veth, so it never
   * needs removing for restoreRoute). Says when, as program() does.
   */
  async removeRoute(pod: Pod): Promise<ProgrammedAt> {
    if (!this.#routeGuards.has(pod.name)) {
      for (const [family, address] of [
        ['ip', pod.ipv4],
        ['ip6', pod.ipv6],
      ] as const) {
        if (address)
          await this.#addRule('add', 'loss_out', `${family} daddr ${address} oifname != "${pod.hostVeth}" drop`);
      }
      this.#routeGuards.add(pod.name);
    }
    return this.#routes(pod, 'del');
  }

  /** Puts the pod's host route back (Felix programming it again), and says when. */
  async restoreRoute(pod: Pod): Promise<ProgrammedAt> {
    return this.#routes(pod, 'add');
  }

  async #routes(pod: Pod, verb: 'add' | 'del'): Promise<ProgrammedAt> {
    const lines = [
      pod.ipv4 && `route ${verb} ${pod.ipv4}/32 dev ${pod.hostVeth}`,
      pod.ipv6 && `route ${verb} ${pod.ipv6}/128 dev ${pod.hostVeth}`,
    ];
    const before = now();
    await run('ip', ['-batch', '-'], lines.filter(Boolean).join('\n'));
    return { before, at: now() };
  }

  /**
   * Packet loss (percent) and/or delay (ms) on the pod's link, in both directions: a round trip
   * survives with probability (1 - loss/100)^2 and takes 2 x delay longer. Replaces earlier faults.
   */
  async netem(pod: Pod, fault: { readonly loss?: number; readonly delay?: number }): Promise<void> {
    const loss = fault.loss ?? 0;
    const delay = fault.delay ?? 0;
    if (!(loss >= 0 && loss <= 100)) throw new CodedError('BAD_OPTION', `netem: loss must be 0-100, got ${fault.loss}`);
    if (!(delay >= 0)) throw new CodedError('BAD_OPTION', `netem: delay must be >= 0 ms, got ${fault.delay}`);
    await this.clearNetem(pod);
    if (this.netemAvailable) {
      const params = ['netem', ...(delay ? ['delay', `${delay}ms`] : []), ...(loss ? ['loss', `${loss}%`] : [])];
      await run('tc', ['qdisc', 'replace', 'dev', pod.hostVeth, 'root', ...params]); // towards the pod
      await run('tc', ['-netns', pod.name, 'qdisc', 'replace', 'dev', 'eth0', 'root', ...params]); // from the pod
      return;
    }
    if (delay)
      throw new CodedError(
        'NETEM_UNSUPPORTED',
        'netem: this kernel has no sch_netem, so no delay (loss works through nftables)',
      );
    if (!loss) return;
    // Random drop in nftables, in 0.01 % steps: netem's default model (independent per packet).
    const draw = loss >= 100 ? '' : `numgen random mod 10000 < ${Math.round(loss * 100)} `;
    const rules = [];
    for (const [chain, dir] of [
      ['loss_in', 'iifname'],
      ['loss_out', 'oifname'],
    ] as const) {
      rules.push({ chain, handle: await this.#addRule('add', chain, `${dir} "${pod.hostVeth}" ${draw}drop`) });
    }
    this.#lossRules.set(pod.name, rules);
  }

  /** Removes the faults netem() set on the pod's link. */
  async clearNetem(pod: Pod): Promise<void> {
    if (this.netemAvailable) {
      await run('tc', ['qdisc', 'delete', 'dev', pod.hostVeth, 'root']).catch(() => {}); // none set: fine
      await run('tc', ['-netns', pod.name, 'qdisc', 'delete', 'dev', 'eth0', 'root']).catch(() => {});
    }
    for (const { chain, handle } of this.#lossRules.get(pod.name) ?? []) {
      await run('nft', ['delete', 'rule', 'inet', this.#names.table, chain, 'handle', String(handle)]);
    }
    this.#lossRules.delete(pod.name);
  }

  /** Spawns argv inside the pod (`ip netns exec`, which also bind-mounts its resolv.conf). */
  podExec(pod: Pod, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn(which('ip') ?? 'ip', ['netns', 'exec', pod.name, ...argv], opts);
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Runs argv inside the pod to completion, killing it after timeoutMs; collects its output. */
  podRun(
    pod: Pod,
    argv: readonly string[],
    opts: { readonly timeoutMs?: number; readonly env?: NodeJS.ProcessEnv } = {},
  ): Promise<PodRunResult> {
    const child = this.podExec(pod, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 10_000);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, timedOut });
      });
    });
  }

  /** A TCP listener on a host address; by default it accepts and closes each connection. */
  listenTcp(
    address: string,
    port: number,
    onConnection: (socket: net.Socket) => void = (s) => s.end(),
  ): Promise<net.Server> {
    return this.#listen(net.createServer(onConnection), address, port);
  }

  /** An HTTP server on a host address (port 0: any free port, see server.address()). */
  listenHttp(address: string, port: number, handler: http.RequestListener): Promise<http.Server> {
    return this.#listen(http.createServer(handler), address, port);
  }

  /** Removes every resource of this testbed; idempotent, and also run on SIGINT, SIGTERM and exit. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const s of this.#sockets) s.destroy();
      await Promise.all([...this.#servers].map((s) => new Promise((resolve) => s.close(resolve))));
      await this.dns.stop();
      this.#teardownSync();
    })();
    return this.#closing;
  }

  #teardownSync(): void {
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
    process.off('exit', this.#onExit);
    for (const child of this.#children) child.kill('SIGKILL');
    teardown(this.prefix);
    this.#lock.close();
  }

  /** Appends (`add`) or prepends (`insert`) a rule and returns its handle. */
  async #addRule(verb: 'add' | 'insert', chain: string, rule: string): Promise<number> {
    const echo = await run('nft', ['--echo', '--handle', verb, 'rule', 'inet', this.#names.table, chain, rule]);
    const handle = /# handle (\d+)/.exec(echo)?.[1];
    if (!handle) throw new CodedError('COMMAND_FAILED', `nft printed no rule handle: ${echo}`);
    return Number(handle);
  }

  async #listen<S extends net.Server>(server: S, address: string, port: number): Promise<S> {
    server.on('connection', (socket: net.Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    this.#servers.add(server);
    return server;
  }
}
