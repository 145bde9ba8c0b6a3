// Host-level plumbing for the e2e testbed: running commands, prerequisites, the one-testbed-per-host
// lock, and removing every resource a testbed (or a crashed earlier run) left behind.
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CodedError } from '../../src/lib/errors.ts';

/** Wall-clock instant in epoch milliseconds with sub-millisecond resolution. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Every command is bounded in time; none of them should take more than a fraction of this. */
const COMMAND_TIMEOUT_MS = 10_000;

const TOOLS = { ip: 'iproute2', tc: 'iproute2', nft: 'nftables', dnsmasq: 'dnsmasq-base' } as const;
export type Tool = keyof typeof TOOLS;

/** Absolute path of a tool: sbin is searched too, as it is often missing from PATH. */
export function which(tool: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return join(dir, tool);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function bin(tool: Tool): string {
  return which(tool) ?? tool;
}

/** Missing prerequisites of the real-network tests as one message, or undefined when all are there. */
export function preflight(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (network namespaces and nftables need uid 0)');
  for (const [tool, pkg] of Object.entries(TOOLS)) {
    if (!which(tool)) missing.push(`\`${tool}\` (Debian package ${pkg})`);
  }
  if (!missing.length) return undefined;
  // `sudo npm test` and `sudo npm run demo` install the tools first (scripts/system-prerequisites.sh).
  return `testbed prerequisites missing: ${missing.join(', ')}; sudo npm test installs them on Debian or Ubuntu`;
}

/** Runs a tool and resolves with its stdout; rejects with code COMMAND_FAILED carrying its stderr. */
export function run(tool: Tool, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin(tool),
      args,
      { timeout: COMMAND_TIMEOUT_MS, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const detail = stderr.trim() || err.message;
          reject(new CodedError('COMMAND_FAILED', `${tool} ${args.join(' ')}: ${detail}`, { cause: err }));
        } else {
          resolve(stdout);
        }
      },
    );
    child.stdin?.end(input);
  });
}

/** Synchronous, error-swallowing run for teardown, which also runs from signal and exit handlers. */
function runQuiet(tool: Tool, args: readonly string[]): string {
  try {
    return execFileSync(bin(tool), args, { timeout: COMMAND_TIMEOUT_MS, encoding: 'utf8', stdio: 'pipe' });
  } catch {
    return '';
  }
}

/**
 * Waits until this process is the only testbed on the host (all testbeds share the service
 * addresses). The lock is an abstract unix socket: the kernel frees it when its owner dies, so a
 * crashed run never leaves a stale lock behind.
 */
export async function acquireHostLock(timeoutMs: number): Promise<net.Server> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const server = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ path: '\0netready-testbed' }, resolve);
      });
      server.unref();
      return server;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      if (Date.now() > deadline) {
        throw new CodedError(
          'LOCK_TIMEOUT',
          `another testbed is still running after ${timeoutMs} ms; run e2e tests with --test-concurrency=1`,
        );
      }
    }
    await sleep(200);
  }
}

/** Resource names; the same patterns find a run's own resources and a crashed run's leftovers. */
export const PREFIX_PATTERN = 'nr[0-9a-f]{4}';
export function names(prefix: string) {
  return {
    netns: (i: number) => `${prefix}-p${i}`,
    hostVeth: (i: number) => `${prefix}${i}h`,
    serviceLink: `${prefix}sv`,
    servicePeer: `${prefix}sw`,
    table: `netready_${prefix}`,
    tmpDir: join(tmpdir(), `netready-testbed-${prefix}`),
  };
}

/**
 * Removes everything named after `prefix`, a literal prefix or the regex source PREFIX_PATTERN
 * (then: the leftovers of every earlier run; safe because the host lock guarantees no other
 * testbed is alive). Synchronous and best effort: every step runs even if an earlier one failed.
 * Only processes inside our own namespaces or dnsmasq started with our config are killed.
 * Returns what it removed.
 */
export function teardown(prefix: string): string[] {
  const removed: string[] = [];
  const netnsRe = new RegExp(`^${prefix}-p\\d+$`);
  const linkRe = new RegExp(`^${prefix}(\\d+h|sv|sw)$`);
  const tableRe = new RegExp(`^table inet (netready_${prefix})$`, 'gm');
  const markerRe = new RegExp(`/netready-testbed-${prefix}/`);

  for (const pid of listPids()) {
    const argv = readCmdline(pid);
    if (argv[0] && basename(argv[0]) === 'dnsmasq' && argv.some((a) => markerRe.test(a))) {
      kill(pid);
      removed.push(`dnsmasq pid ${pid}`);
    }
  }
  const netnsList = JSON.parse(runQuiet('ip', ['-j', 'netns', 'list']) || '[]') as { name: string }[];
  for (const { name } of netnsList.filter((n) => netnsRe.test(n.name))) {
    // A namespace lives on while a process is in it; those processes are ours (test pods).
    for (const pid of runQuiet('ip', ['netns', 'pids', name]).split(/\s+/).filter(Boolean)) kill(Number(pid));
    runQuiet('ip', ['netns', 'delete', name]);
    removed.push(`netns ${name}`);
  }
  const links = JSON.parse(runQuiet('ip', ['-j', 'link', 'show']) || '[]') as { ifname: string }[];
  for (const { ifname } of links.filter((l) => linkRe.test(l.ifname))) {
    // Deleting one end of a veth pair deletes the other: ignore the second failing.
    runQuiet('ip', ['link', 'delete', ifname]);
    removed.push(`link ${ifname}`);
  }
  for (const [, table] of runQuiet('nft', ['list', 'tables']).matchAll(tableRe)) {
    runQuiet('nft', ['delete', 'table', 'inet', table!]);
    removed.push(`nft table inet ${table}`);
  }
  for (const dir of safeReaddir('/etc/netns').filter((d) => netnsRe.test(d))) {
    rmSync(join('/etc/netns', dir), { recursive: true, force: true });
    removed.push(`/etc/netns/${dir}`);
  }
  const tmpRe = new RegExp(`^netready-testbed-${prefix}$`);
  for (const dir of safeReaddir(tmpdir()).filter((d) => tmpRe.test(d))) {
    rmSync(join(tmpdir(), dir), { recursive: true, force: true });
    removed.push(join(tmpdir(), dir));
  }
  return removed;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function listPids(): number[] {
  return safeReaddir('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return []; // exited meanwhile
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
