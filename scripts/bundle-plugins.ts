// The esbuild plugins every netready bundle is built with (scripts/build.ts; bench/agent-snapshot.ts).
import type { Plugin } from 'esbuild';
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
export const builtinsWithoutFacade: Plugin = {
  name: 'builtins-without-facade',
  setup(b) {
    b.onResolve({ filter: builtinFilter }, (args) => ({
      path: args.path.startsWith('node:') ? args.path : `node:${args.path}`,
      namespace: 'builtin',
    }));
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
export const pinoStubs: Plugin = {
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
export const undiciStubs: Plugin = {
  name: 'undici-stubs',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const lib = /^(.*[\\/]node_modules[\\/]undici[\\/]lib)[\\/]/.exec(args.importer)?.[1];
      if (!lib) return undefined;
      const key = relative(lib, resolve(dirname(args.importer), args.path)).replaceAll('\\', '/');
      return key in UNDICI_STUBS ? { path: key, namespace: 'undici-stub' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'undici-stub' }, (args) => ({
      contents: UNDICI_STUBS[args.path],
      loader: 'js',
    }));
  },
};
