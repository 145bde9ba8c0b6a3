// Proves the real-kernel testbed behaves like a Calico pod network: run as root with
// `node --test test/e2e/testbed.test.ts`. Skipped (outside CI) when prerequisites are missing.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { acquireHostLock } from './testbed-host.ts';
import { createTestbed, GATEWAY, SERVICES, type Pod, type Testbed } from './testbed.ts';

const PORT = 8080;
const NODE = process.execPath;

// Scripts run inside a pod with `node -e`; each prints one JSON line.
const CONNECT = `
const [host, port, timeout] = process.argv.slice(1);
const t0 = performance.now();
const c = require('node:net').connect({ host, port: Number(port), timeout: Number(timeout) });
const done = (r) => { console.log(JSON.stringify({ ...r, ms: performance.now() - t0 })); c.destroy(); };
c.on('connect', () => done({ ok: true }));
c.on('timeout', () => done({ ok: false, error: 'timeout' }));
c.on('error', (e) => done({ ok: false, error: e.code }));`;

// A raw DNS query, so the test sees the exact rcode (c-ares would map it to an error name).
const DNS_QUERY = `
const [server, name, type] = process.argv.slice(1);
const q = Buffer.concat([Buffer.from([0x4e, 0x52, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
  ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
  Buffer.from([0, 0, type === 'AAAA' ? 28 : 1, 0, 1])]);
const s = require('node:dgram').createSocket(server.includes(':') ? 'udp6' : 'udp4');
const timer = setTimeout(() => { console.log(JSON.stringify({ timeout: true })); process.exit(0); }, 2000);
s.on('message', (m) => {
  let o = 12;
  const skipName = () => { while (m[o]) { if (m[o] >= 0xc0) { o += 1; break; } o += m[o] + 1; } o += 1; };
  skipName(); o += 4;
  const addresses = [];
  for (let i = 0; i < m.readUInt16BE(6); i++) {
    skipName();
    const rtype = m.readUInt16BE(o), len = m.readUInt16BE(o + 8), rdata = m.subarray(o + 10, o + 10 + len);
    if (rtype === 1) addresses.push([...rdata].join('.'));
    if (rtype === 28) addresses.push(require('node:net').SocketAddress.parse('[' + rdata.toString('hex').match(/.{4}/g).join(':') + ']:1').address);
    o += 10 + len;
  }
  console.log(JSON.stringify({ rcode: m[3] & 15, addresses }));
  clearTimeout(timer); s.close();
});
s.send(q, 53, server);`;

const LOOKUP = `
require('node:dns').lookup(process.argv[1], { family: Number(process.argv[2]) }, (err, address) =>
  console.log(JSON.stringify({ error: err?.code, address })));`;

async function inPod(tb: Testbed, pod: Pod, script: string, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await tb.podRun(pod, [NODE, '-e', script, ...args], { timeoutMs: 10_000 });
  assert.equal(r.code, 0, `pod script failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const connect = (tb: Testbed, pod: Pod, host: string, timeoutMs = 1500) =>
  inPod(tb, pod, CONNECT, host, String(PORT), String(timeoutMs));
const query = (tb: Testbed, pod: Pod, server: string, name: string, type: 'A' | 'AAAA' = 'A') =>
  inPod(tb, pod, DNS_QUERY, server, name, type);

/** Everything on the host that carries the testbed's prefix. */
function leftovers(prefix: string): string[] {
  const found = [
    ...spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n'),
    ...spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n'),
    ...spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout.split('\n'),
    ...(existsSync('/etc/netns') ? readdirSync('/etc/netns') : []),
    ...readdirSync(tmpdir()),
  ].filter((line) => line.includes(prefix));
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.split('\0')[0]!.endsWith('dnsmasq') && cmdline.includes(prefix)) found.push(`dnsmasq ${pid}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

describe('testbed: a Calico-style pod network on the real kernel', { timeout: 120_000 }, () => {
  let tb: Testbed;
  before(async () => {
    tb = await createTestbed();
    for (const s of [SERVICES.target.v4, SERVICES.target.v6]) await tb.listenTcp(s, PORT);
  });
  after(() => tb?.close());

  test('programmed pods reach host listeners on IPv4 and IPv6, several pods at once', async () => {
    const dual = await tb.createPod({ ipv6: true });
    const v4only = await tb.createPod();
    for (const [pod, host] of [
      [dual, SERVICES.target.v4],
      [dual, SERVICES.target.v6],
      [v4only, SERVICES.target.v4],
    ] as const) {
      const r = await connect(tb, pod, host);
      assert.equal(r.ok, true, `${pod.name} -> ${host}: ${JSON.stringify(r)}`);
    }
    // An IPv4-only pod has no IPv6 route to the services.
    assert.equal((await connect(tb, v4only, SERVICES.target.v6)).ok, false);
  });

  test('a blocked pod cannot connect, yet ARP and ND to the gateway resolve; program() opens it', async (t) => {
    const pod = await tb.createPod({ ipv6: true, blocked: true });
    assert.deepEqual(
      [await connect(tb, pod, SERVICES.target.v4), await connect(tb, pod, SERVICES.target.v6)].map((r) => r.error),
      ['timeout', 'timeout'],
    );
    const neigh = (await tb.podRun(pod, ['ip', 'neigh', 'show', 'dev', 'eth0'])).stdout;
    assert.match(neigh, new RegExp(`^${GATEWAY.v4} lladdr ee:ee:ee:ee:ee:ee REACHABLE`, 'm'));
    assert.match(neigh, new RegExp(`^${GATEWAY.v6} lladdr ee:ee:ee:ee:ee:ee REACHABLE`, 'm'));

    const { before: t0, at } = await tb.program(pod);
    assert.ok(t0 <= at && at - t0 < 1000, `program() took ${at - t0} ms`);
    assert.ok(Math.abs(at - Date.now()) < 1000, 'program() returns epoch milliseconds');
    assert.equal((await connect(tb, pod, SERVICES.target.v4)).ok, true);
    assert.equal((await connect(tb, pod, SERVICES.target.v6)).ok, true);
    await assert.rejects(tb.program(pod), { code: 'NOT_BLOCKED' });

    await tb.block(pod); // flap back
    assert.equal((await connect(tb, pod, SERVICES.target.v4)).error, 'timeout');
    const again = await tb.program(pod);
    assert.equal((await connect(tb, pod, SERVICES.target.v4)).ok, true);
    t.diagnostic(`program() took ${(again.at - again.before).toFixed(2)} ms`);
  });

  test('an IPv6-only pod has no IPv4 and uses the IPv6 DNS address', async () => {
    const pod = await tb.createPod({ ipv4: false, ipv6: true });
    assert.equal((await tb.podRun(pod, ['ip', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout, '');
    assert.match(
      (await tb.podRun(pod, ['cat', '/etc/resolv.conf'])).stdout,
      new RegExp(`^nameserver ${SERVICES.dns.v6}$`, 'm'),
    );
    assert.equal((await connect(tb, pod, SERVICES.target.v6)).ok, true);
    assert.deepEqual(await inPod(tb, pod, LOOKUP, 'kubernetes.default', '6'), { address: SERVICES.api.v6 });
  });

  test('DNS answers configured names, NXDOMAIN otherwise; SERVFAIL mode; stopped', async () => {
    const pod = await tb.createPod({ ipv6: true });
    const dns = SERVICES.dns.v4;
    const k8s = 'kubernetes.default.svc.cluster.local';
    assert.deepEqual(await query(tb, pod, dns, k8s), { rcode: 0, addresses: [SERVICES.api.v4] });
    assert.deepEqual(await query(tb, pod, SERVICES.dns.v6, k8s, 'AAAA'), { rcode: 0, addresses: [SERVICES.api.v6] });
    assert.deepEqual(await query(tb, pod, dns, 'nothing-here.default.svc.cluster.local'), { rcode: 3, addresses: [] });
    assert.deepEqual(await query(tb, pod, dns, 'example.com'), { rcode: 3, addresses: [] });
    // Through the pod's resolv.conf: search list and ndots:5, as a pod's getaddrinfo sees it.
    assert.deepEqual(await inPod(tb, pod, LOOKUP, 'kubernetes.default', '4'), { address: SERVICES.api.v4 });
    assert.deepEqual(await inPod(tb, pod, LOOKUP, 'no-such-service', '4'), { error: 'ENOTFOUND' });

    await tb.dns.start('servfail');
    assert.deepEqual(await query(tb, pod, dns, k8s), { rcode: 2, addresses: [] });
    assert.deepEqual(await query(tb, pod, SERVICES.dns.v6, 'example.com', 'AAAA'), { rcode: 2, addresses: [] });

    await tb.dns.stop();
    assert.equal(tb.dns.running, false);
    assert.deepEqual(await query(tb, pod, dns, k8s), { timeout: true });

    await tb.dns.start();
    assert.deepEqual(await query(tb, pod, dns, k8s), { rcode: 0, addresses: [SERVICES.api.v4] });
  });

  test('netem loss drops the pod’s traffic both ways; clearNetem restores it', async () => {
    const pod = await tb.createPod({ ipv6: true });
    await tb.netem(pod, { loss: 100 });
    assert.equal((await connect(tb, pod, SERVICES.target.v4)).error, 'timeout');
    assert.equal((await connect(tb, pod, SERVICES.target.v6)).error, 'timeout');
    await tb.clearNetem(pod);
    assert.equal((await connect(tb, pod, SERVICES.target.v4)).ok, true);
    assert.equal((await connect(tb, pod, SERVICES.target.v6)).ok, true);
  });

  test('netem delay slows the pod’s round trips', async (t) => {
    const pod = await tb.createPod();
    if (!tb.netemAvailable) {
      await assert.rejects(tb.netem(pod, { delay: 100 }), { code: 'NETEM_UNSUPPORTED' });
      // Not a skip: without sch_netem, refusing a delay clearly is the behaviour under test.
      t.diagnostic('this kernel has no sch_netem: delay cannot be emulated, and netem() says so');
      return;
    }
    await tb.netem(pod, { delay: 150 });
    const slow = await connect(tb, pod, SERVICES.target.v4, 5000);
    assert.equal(slow.ok, true);
    assert.ok((slow.ms as number) >= 250, `connect with 2 x 150 ms delay took ${slow.ms} ms`);
    await tb.clearNetem(pod);
    assert.ok(((await connect(tb, pod, SERVICES.target.v4)).ms as number) < 250);
  });

  test('close() removes every resource and can be called again', async () => {
    const pod = await tb.createPod({ blocked: true });
    const sleeper = tb.podExec(pod, ['sleep', '600']); // a pod process left running
    assert.notDeepEqual(leftovers(tb.prefix), []);
    await tb.close();
    await tb.close();
    assert.deepEqual(leftovers(tb.prefix), []);
    assert.ok(sleeper.exitCode !== null || sleeper.signalCode !== null || sleeper.killed);
  });
});

describe('testbed: leftovers of a crashed run', { timeout: 60_000 }, () => {
  test('createTestbed() removes them, and only them', async () => {
    const dead = 'nrdead';
    const dir = `${tmpdir()}/netready-testbed-${dead}`;
    const sh = (...args: string[]) => assert.equal(spawnSync(args[0]!, args.slice(1)).status, 0, args.join(' '));
    const bg = (...args: string[]) => {
      const p = spawn(args[0]!, args.slice(1), { stdio: 'ignore' });
      p.unref(); // never keep this test process alive
      return p;
    };
    // Build the "crashed run" while holding the host lock, so no other testbed sweeps it meanwhile.
    const lock = await acquireHostLock(60_000);
    const procs = [];
    try {
      sh('ip', 'netns', 'add', `${dead}-p0`);
      sh('ip', 'link', 'add', `${dead}0h`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', `${dead}-p0`);
      sh('nft', 'add', 'table', 'inet', `netready_${dead}`);
      mkdirSync(`/etc/netns/${dead}-p0`, { recursive: true });
      writeFileSync(`/etc/netns/${dead}-p0/resolv.conf`, 'nameserver 203.0.113.53\n');
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/dnsmasq.conf`, 'no-resolv\nbind-interfaces\nlisten-address=127.0.0.1\nport=5399\n');
      procs.push(
        bg('ip', 'netns', 'exec', `${dead}-p0`, 'sleep', '60'),
        bg('dnsmasq', '--keep-in-foreground', `--conf-file=${dir}/dnsmasq.conf`),
      );
      const bystander = bg('sleep', '60'); // not the testbed's: must survive
      procs.push(bystander);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(leftovers(dead).length >= 6, leftovers(dead).join('\n'));
      lock.close();

      const tb = await createTestbed();
      try {
        assert.deepEqual(leftovers(dead), []);
        for (const p of procs.slice(0, 2))
          assert.ok(p.exitCode !== null || p.signalCode !== null || (await waitExit(p)));
        assert.equal(bystander.exitCode, null);
      } finally {
        await tb.close();
      }
    } finally {
      lock.close();
      for (const p of procs) p.kill('SIGKILL');
    }
  });
});
function waitExit(p: ReturnType<typeof spawn>): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 2000);
    p.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
