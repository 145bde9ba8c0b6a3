// The image's ENTRYPOINT, read from image/Containerfile, so that the image test
// and the benchmarks run the bundle with exactly the Node flags the image does.
import { readFileSync } from 'node:fs';
import { injectedProcessEnv } from '../../src/webhook/container.ts';
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
