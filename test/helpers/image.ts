// The image's ENTRYPOINT, build steps and environment, read from image/Containerfile,
// so that the image test and the benchmarks run the bundle with exactly the Node
// flags, the compile cache and the environment the image does.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { IMAGE_NODE, IMAGE_SCRIPT, injectedProcessEnv } from '../../src/webhook/container.ts';
import { ROOT } from './agent.ts';

interface Entrypoint {
  /** The image's Node binary, e.g. `/nodejs/bin/node`. */
  readonly node: string;
  /** The options the ENTRYPOINT gives Node before the bundle, e.g. `--max-semi-space-size=16`. */
  readonly flags: string[];
  /** The bundle, e.g. `/app/netready.mjs`. */
  readonly script: string;
}

/** The image's ENTRYPOINT, `node [flags] script.mjs`. */
export function imageEntrypoint(): Entrypoint {
  const text = readFileSync(`${ROOT}image/Containerfile`, 'utf8');
  const m = /^ENTRYPOINT (\[.*\])$/m.exec(text);
  if (!m) throw new Error('image/Containerfile: no ENTRYPOINT in exec form');
  const argv = JSON.parse(m[1]!) as string[];
  const script = argv.findIndex((a) => a.endsWith('.mjs'));
  if (argv[0] !== '/nodejs/bin/node' || script < 1)
    throw new Error(`image/Containerfile: ENTRYPOINT is not node [flags] script.mjs: ${m[1]}`);
  return { node: argv[0], flags: argv.slice(1, script), script: argv[script]! };
}

/** The options the image's ENTRYPOINT gives Node before the bundle, e.g. `--max-semi-space-size=16`. */
export function imageNodeFlags(): string[] {
  return imageEntrypoint().flags;
}

/**
 * The environment a bench gives the injected containers' runtime: the webhook's own
 * (src/webhook/container.ts), unless the bench's `--node-env 'K=V K=V'` says otherwise.
 */
export function benchNodeEnv(option: string | undefined): Record<string, string> {
  if (option === undefined) return injectedProcessEnv();
  return Object.fromEntries(
    option
      .split(' ')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/** The runtime (distroless) stage of image/Containerfile: its lines after the last FROM. */
function runtimeStage(): string[] {
  const lines = readFileSync(`${ROOT}image/Containerfile`, 'utf8').split('\n');
  return lines.slice(lines.findLastIndex((l) => l.startsWith('FROM ')) + 1);
}

/** The runtime stage's RUN lines, each as argv: exec form only, since that stage has no shell. */
export function imageRuns(): string[][] {
  return runtimeStage()
    .filter((l) => l.startsWith('RUN '))
    .map((l) => {
      const m = /^RUN (\[.*\])$/.exec(l);
      if (!m) throw new Error(`image/Containerfile: a RUN of the distroless stage must be in exec form: ${l}`);
      return JSON.parse(m[1]!) as string[];
    });
}

/** The ENV (`ENV KEY=value`, one a line) of `lines`. */
function stageEnv(lines: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const l of lines.filter((x) => x.startsWith('ENV '))) {
    const m = /^ENV ([A-Z_][A-Z0-9_]*)=(\S+)$/.exec(l);
    if (!m) throw new Error(`image/Containerfile: expected ENV KEY=value: ${l}`);
    env[m[1]!] = m[2]!;
  }
  return env;
}

/** The environment the image gives every program it runs (its ENV), e.g. NODE_COMPILE_CACHE. */
export function imageEnv(): Record<string, string> {
  return stageEnv(runtimeStage());
}

/** Where the image's files are on this machine: its Node binary, and the directory holding the bundle (/app). */
export interface LocalImage {
  readonly node: string;
  readonly app: string;
}

/** `value` with the image's paths (/nodejs/bin/node, /app/…) replaced by `local`'s. */
export function localize(value: string, local: LocalImage): string {
  const app = dirname(IMAGE_SCRIPT);
  if (value === IMAGE_NODE) return local.node;
  if (value === app || value.startsWith(`${app}/`)) return local.app + value.slice(app.length);
  return value;
}

/** imageEnv() with the image's paths replaced by `local`'s. */
export function localImageEnv(local: LocalImage): Record<string, string> {
  return Object.fromEntries(Object.entries(imageEnv()).map(([k, v]) => [k, localize(v, local)]));
}

/**
 * Runs the runtime stage's RUN lines (the compile cache's warm-up) against a copy of the
 * image's files, as the build does: as root, from `/`, with the stage's ENV up to each line.
 * Needs root. Returns the warm-up's output.
 */
export function runImageBuildSteps(local: LocalImage): string {
  const stage = runtimeStage();
  let out = '';
  stage.forEach((line, i) => {
    if (!line.startsWith('RUN ')) return;
    const argv = JSON.parse(/^RUN (\[.*\])$/.exec(line)![1]!) as string[];
    const env = Object.fromEntries(
      Object.entries(stageEnv(stage.slice(0, i))).map(([k, v]) => [k, localize(v, local)]),
    );
    const [file, ...args] = argv.map((a) => localize(a, local));
    out += execFileSync(file!, args, {
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
  });
  return out;
}
