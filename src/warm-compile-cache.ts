// Fills Node's compile cache for the image, once, at image build (image/Containerfile:
// an exec-form RUN in the distroless stage, which has no shell). The programs start
// from V8 code caches instead of compiling their bundle's modules at every start
// (bench/startup: BENCHMARKS.md, "The compile cache made at image build").
//
// Node keys the cache directory by its version, V8's cachedDataVersionTag (which
// hashes V8's flags: --max-opt=0 changes it, --max-semi-space-size does not) and
// the process's uid; within it, each module by its absolute path, checked against
// a hash of its source. So the cache is made here by the image's own Node, from
// the bundle where it runs (/app), with the Node flags and as the uids the
// programs run with: the wait and the watch with the flags the webhook injects
// them with, as each uid the webhook may give them (its default, Istio's and
// Linkerd's); the collector, webhook and certs with the ENTRYPOINT's flags as the
// image's user. A program started any other way (another uid, other V8 flags,
// another Node) finds no directory of its own, cannot create one (the cache is
// root-owned and read-only, like the rest of /app) and compiles as before:
// Node says nothing and nothing else changes.
//
// The wait and the watch run for real, on loopback only (a TCP and an HTTP check
// against listeners of this process, the wait's report to it): the image build
// fails if they do not. The other programs' chunks are imported (their top level
// does nothing: STYLE.md, "Nothing happens at import time").
//
//   node /app/warm-compile-cache.mjs --dir /app/compile-cache --uid 65532 --node-flags=--max-semi-space-size=16
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer as createHttpServer, get } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionError, optionsHelp, resolveOptions, type OptionDef } from './lib/cli-options.ts';
import { parseConfigOrExit } from './lib/cli-config.ts';
import { writeStderr, writeStdout } from './lib/stdout.ts';
import { INJECTED_ENV, INJECTED_NODE_FLAGS, WATCH_NODE_FLAGS } from './webhook/container.ts';
import { MESH_UIDS } from './webhook/mesh.ts';
import { WEBHOOK_OPTIONS } from './webhook/options.ts';

/** Every option of the warm-up: the flag is the key. */
const WARM_OPTIONS = {
  dir: { value: 'DIR', help: "the compile cache's directory, as NODE_COMPILE_CACHE names it at run time (required)" },
  uid: { value: 'UID', help: "the image's user (USER): every program is warmed as it" },
  'node-flags': {
    value: 'FLAGS',
    help: "the ENTRYPOINT's Node flags, space-separated (--node-flags=…): the collector's, webhook's and certs' start",
  },
  help: { type: 'boolean', help: 'show this help' },
} as const satisfies Record<string, OptionDef>;

/** The warm-up's exit codes (bad options: EXIT_CONFIG, 2, from parseConfigOrExit). */
const EXIT = { OK: 0, /** A program failed to start or to do its job: the image would not work. */ FAILED: 1 } as const;

/** How long one program may take here before the build is failed. */
const RUN_TIMEOUT_MS = 60_000;

interface WarmConfig {
  readonly dir: string;
  readonly uid: number;
  readonly entrypointFlags: readonly string[];
}

function parseConfig(argv: readonly string[]): WarmConfig {
  const help = () =>
    optionsHelp(
      'Usage: node warm-compile-cache.mjs --dir DIR --uid UID --node-flags=FLAGS',
      "Fills Node's compile cache for the bundle beside this file (at image build; run as root).",
      WARM_OPTIONS,
      ['Runs `wait` and `watch` on loopback; nothing leaves the machine.'],
    );
  const { raw, source } = resolveOptions(WARM_OPTIONS, argv, {}, help);
  const dir = raw.dir as string | undefined;
  if (!dir) throw optionError(source.dir!, dir, 'is required');
  const uidText = raw.uid as string | undefined;
  const uid = /^[1-9]\d{0,9}$/.test(uidText ?? '') ? Number(uidText) : Number.NaN;
  if (!(uid <= 2 ** 31 - 1)) throw optionError(source.uid!, uidText, 'expected a non-zero uid');
  const flags = ((raw['node-flags'] as string | undefined) ?? '').split(' ').filter(Boolean);
  const bad = flags.find((f) => !f.startsWith('--'));
  if (bad !== undefined) throw optionError(source['node-flags']!, raw['node-flags'], `"${bad}" is not a Node flag`);
  return Object.freeze({ dir: resolve(dir), uid, entrypointFlags: Object.freeze(flags) });
}

/** One warm-up run: a program (or the chunks' import), its Node flags and uid. */
interface Run {
  readonly label: string;
  readonly uid: number;
  readonly nodeFlags: readonly string[];
  readonly env: Record<string, string>;
  /** The bundle's argv (`wait …`), or the chunks to import. */
  readonly job: { readonly argv: readonly string[] } | { readonly imports: readonly string[] };
  /** Ends a program that keeps running (the watch) once it has done its job. */
  readonly until?: (out: () => string) => Promise<void>;
}

/** The uids the webhook runs the wait and the watch as: its default, and those of the meshes it knows. */
function injectedUids(): number[] {
  return [...new Set([Number(WEBHOOK_OPTIONS['run-as-user'].default), ...MESH_UIDS])];
}

/** Runs one job as its uid; rejects if it does not exit 0 or writes to stderr. */
async function runJob(node: string, entry: string, cacheDir: string, run: Run): Promise<void> {
  const argv =
    'argv' in run.job
      ? [...run.nodeFlags, entry, ...run.job.argv]
      : [
          ...run.nodeFlags,
          '--input-type=module',
          '-e',
          'for (const f of process.argv.slice(1)) await import(f); process.exit(0);',
          ...run.job.imports,
        ];
  const child = spawn(node, argv, {
    uid: run.uid,
    gid: run.uid,
    cwd: '/',
    env: { ...run.env, NODE_COMPILE_CACHE: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  try {
    if (run.until) {
      await Promise.race([
        run.until(() => stdout),
        exited.then(() => Promise.reject(new Error('exited before doing its job'))),
      ]);
      child.kill('SIGTERM');
    }
    const [code, signal] = await exited;
    if (code !== 0 || stderr !== '') throw new Error(`exited ${code ?? signal}`);
  } catch (err) {
    throw new Error(`${run.label}: ${(err as Error).message}; stderr: ${stderr}; stdout: ${stdout}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the watch logged its port and answered 200 on /readyz (its checks, the HTTP one included, ran). */
async function watchReady(out: () => string): Promise<void> {
  for (;;) {
    const port = /"msg":"watch listening"/.test(out()) ? /"port":(\d+)/.exec(out())?.[1] : undefined;
    if (port !== undefined && (await getStatus(`http://127.0.0.1:${port}/readyz`)) === 200) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolveStatus) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    }).once('error', () => resolveStatus(0));
  });
}

/** Makes `path` root-owned and read-only for everyone else: directories 0555, files 0444. */
function lockDown(path: string): void {
  chownSync(path, 0, 0);
  if (lstatSync(path).isDirectory()) {
    for (const name of readdirSync(path)) lockDown(join(path, name));
    chmodSync(path, 0o555);
  } else {
    chmodSync(path, 0o444);
  }
}

/** Bytes under `path`. */
function sizeOf(path: string): number {
  const s = lstatSync(path);
  return s.isDirectory() ? readdirSync(path).reduce((sum, n) => sum + sizeOf(join(path, n)), 0) : s.size;
}

/** Runs the warm-up; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseConfigOrExit('warm-compile-cache', () => parseConfig(argv));
  if ('exit' in parsed) return parsed.exit;
  const { dir, uid, entrypointFlags } = parsed.config;
  const app = dirname(fileURLToPath(import.meta.url));
  const entry = join(app, 'netready.mjs');
  const chunks = readdirSync(join(app, 'chunks'))
    .filter((f) => f.endsWith('.mjs'))
    .sort()
    .map((f) => join(app, 'chunks', f));

  // Loopback only: a TCP listener for the tcp check, an HTTP one for the http check and the wait's report.
  const tcp = createTcpServer((s) => s.destroy()).listen(0, '127.0.0.1');
  const http = createHttpServer((req, res) => {
    req.resume();
    req.once('end', () => res.writeHead(req.method === 'POST' ? 202 : 200).end());
  }).listen(0, '127.0.0.1');
  await Promise.all([once(tcp, 'listening'), once(http, 'listening')]);
  const local = `127.0.0.1:${(http.address() as AddressInfo).port}`;
  const checks = ['--check', `tcp://127.0.0.1:${(tcp.address() as AddressInfo).port}`, '--check', `http://${local}/`];
  const injectedEnv = Object.fromEntries(INJECTED_ENV.map((e) => [e.name, e.value]));

  const runs = (u: number): Run[] => [
    {
      label: `wait as uid ${u}`,
      uid: u,
      nodeFlags: INJECTED_NODE_FLAGS,
      env: injectedEnv,
      job: { argv: ['wait', ...checks, '--collector', `http://${local}`, '--termination-log', '', '--timeout', '30s'] },
    },
    {
      label: `watch as uid ${u}`,
      uid: u,
      nodeFlags: WATCH_NODE_FLAGS,
      env: injectedEnv,
      job: { argv: ['watch', '--listen', '127.0.0.1:0', ...checks] },
      until: watchReady,
    },
  ];
  const all: Run[] = [
    ...runs(uid),
    // The ENTRYPOINT's start (`netready version`), then every chunk: the collector's, webhook's and certs'.
    { label: `version as uid ${uid}`, uid, nodeFlags: entrypointFlags, env: {}, job: { argv: ['version'] } },
    { label: `chunks as uid ${uid}`, uid, nodeFlags: entrypointFlags, env: {}, job: { imports: chunks } },
    ...injectedUids()
      .filter((u) => u !== uid)
      .flatMap(runs),
  ];

  mkdirSync(dir, { recursive: true, mode: 0o755 });
  try {
    // Each uid writes its own directory (Node names it after the uid) while the cache is its own.
    for (const run of all) {
      chownSync(dir, run.uid, run.uid);
      await runJob(process.execPath, entry, dir, run);
      writeStdout(`compile cache: ${run.label} with [${run.nodeFlags.join(' ')}]: done\n`);
    }
  } catch (err) {
    writeStderr(`warm-compile-cache: ${(err as Error).message}\n`);
    return EXIT.FAILED;
  } finally {
    tcp.close();
    http.close();
    lockDown(dir);
  }
  const tags = readdirSync(dir).sort();
  writeStdout(`compile cache: ${dir}: ${tags.join(', ')}; ${(sizeOf(dir) / 1024).toFixed(0)} KiB\n`);
  return EXIT.OK;
}

process.exit(await main(process.argv.slice(2)));
