// Bundles the CLI into dist/ (or the directory given as the first argument) for the image: dist/netready.mjs plus one chunk
// per command, loaded on demand, and no runtime node_modules.
import { build, type Plugin } from 'esbuild';
import { rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';

// Node built-ins are taken with process.getBuiltinModule() instead of an
// `import`: an import builds each module's ES facade, which reads every export
// and so runs lazy getters (node:fs loads its streams, node:http Node's own
// undici), ~10 ms of the agent's start-up for nothing. CommonJS dependencies
// (prom-client) name built-ins without the prefix (`require('os')`), which
// esbuild's ESM output cannot require: those are mapped the same way.
const bareBuiltins = builtinModules.filter((name) => !name.startsWith('node:') && !name.startsWith('_'));
const builtinFilter = new RegExp(`^(?:node:.*|(?:${bareBuiltins.map((n) => n.replace(/[/.]/g, '\\$&')).join('|')}))$`);
const builtinsWithoutFacade: Plugin = {
  name: 'builtins-without-facade',
  setup(b) {
    b.onResolve({ filter: builtinFilter }, (args) => ({ path: args.path.startsWith('node:') ? args.path : `node:${args.path}`, namespace: 'builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

// pino without its transports and file streams: transports run in worker
// threads (thread-stream, real-require) that a bundle cannot carry, and
// sonic-boom (pino.destination) loads node:assert, which sets up stderr's
// colours and Node's streams, ~10 ms of the agent's start-up. Every program
// hands pino its own synchronous stdout writer (src/lib/log.ts), so neither
// is used; pino requires both at load time, so both are stubbed. So is the
// worker_threads it requires only for sonic-boom's exit hook (isMainThread):
// loading it sets up worker messaging and Node's streams, another ~8 ms.
const PINO_STUBS: Record<string, string> = {
  worker_threads: `module.exports = { isMainThread: true };`,
  transport: `module.exports = function transport() { throw new Error('pino transports are not bundled: netready logs to stdout'); };`,
  'sonic-boom': `module.exports = class SonicBoom { constructor() { throw new Error('pino.destination is not bundled: netready writes stdout itself'); } };`,
};
const pinoStubs: Plugin = {
  name: 'pino-stubs',
  setup(b) {
    b.onResolve({ filter: /^(?:\.\.?\/(?:lib\/)?transport|sonic-boom|worker_threads)$/ }, (args) =>
      /[\\/]node_modules[\\/]pino[\\/]/.test(args.importer)
        ? { path: args.path.replace(/^.*\//, ''), namespace: 'pino-stub' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'pino-stub' }, (args) => ({ contents: PINO_STUBS[args.path], loader: 'js' }));
  },
};

// undici's Client (src/agent/http-client.ts) without the parts of undici the agent never runs,
// which client.js requires all the same: less code to parse and compile in the agent's HTTP
// chunk. Each stub says so if it is ever reached.
const UNDICI_STUBS: Record<string, string> = {
  // HTTP/2: the agent's Client sets allowH2: false (and node:http2 is not loaded).
  'dispatcher/client-h2.js': `module.exports = function connectH2() { throw new Error('HTTP/2 is not bundled: the agent speaks HTTP/1.1'); };`,
  // Milo, undici's experimental HTTP/1 parser, off unless asked for; llhttp parses.
  'dispatcher/parser-h1.js': `module.exports = { getMiloEnabled: () => false };`,
  // llhttp built without SIMD, undici's fallback where WebAssembly SIMD is missing (Node 24 on amd64 and arm64 has it).
  'llhttp/llhttp-wasm.js': `throw new Error('llhttp without WebAssembly SIMD is not bundled');`,
  // FormData request bodies: the agent sends strings.
  'web/fetch/body.js': `module.exports = { extractBody() { throw new Error('FormData bodies are not bundled'); } };`,
  'web/fetch/formdata': `module.exports = {};`,
  'web/webidl': `module.exports = { webidl: { is: { FormData: () => false } } };`,
};
const undiciStubs: Plugin = {
  name: 'undici-stubs',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const lib = /^(.*[\\/]node_modules[\\/]undici[\\/]lib)[\\/]/.exec(args.importer)?.[1];
      if (!lib) return undefined;
      const key = relative(lib, resolve(dirname(args.importer), args.path)).replaceAll('\\', '/');
      return key in UNDICI_STUBS ? { path: key, namespace: 'undici-stub' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'undici-stub' }, (args) => ({ contents: UNDICI_STUBS[args.path], loader: 'js' }));
  },
};

// Programs bundled on their own, each into one self-contained file that the
// dispatcher imports at run time. Why not a chunk of the main build: modules
// that two programs share (zod's core: the agent uses zod/mini, the collector
// full zod) land in a shared chunk tree-shaken for both, and the agent would
// load the collector's share of them at every start (54 KiB -> 116 KiB).
const SEPARATE: Record<string, { source: string; entry: string }> = {
  collector: { source: './collector/main.ts', entry: 'src/collector/main.ts' },
  webhook: { source: './webhook/main.ts', entry: 'src/webhook/main.ts' },
  // On its own too: @peculiar/x509 (and its DI container) is large and only `netready certs` needs it.
  certs: { source: './webhook/certs-main.ts', entry: 'src/webhook/certs-main.ts' },
};
const separatePrograms: Plugin = {
  name: 'separate-programs',
  setup(b) {
    for (const [name, { source }] of Object.entries(SEPARATE)) {
      const filter = new RegExp(`^${source.replace(/[.]/g, '\\.')}$`);
      b.onResolve({ filter }, () => ({ path: `./chunks/${name}.mjs`, external: true }));
    }
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
} as const;

const outdir = process.argv[2] ?? 'dist';
rmSync(outdir, { recursive: true, force: true });
const results = await Promise.all([
  build({
    ...common,
    entryPoints: { netready: 'src/cli.ts' },
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    plugins: [pinoStubs, undiciStubs, builtinsWithoutFacade, separatePrograms],
  }),
  ...Object.entries(SEPARATE).map(([name, { entry }]) =>
    build({ ...common, entryPoints: { [name]: entry }, outdir: `${outdir}/chunks`, outExtension: { '.js': '.mjs' }, plugins: [pinoStubs, builtinsWithoutFacade] }),
  ),
]);
for (const result of results) {
  for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.mjs')) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`);
  }
}
