// Bundles the CLI into dist/ (or the directory given as the first argument) for the image: dist/netready.mjs plus one chunk
// per command, loaded on demand, and no runtime node_modules.
import { build, type Plugin } from 'esbuild';
import { rmSync } from 'node:fs';
import { builtinsWithoutFacade, pinoStubs, undiciStubs } from './bundle-plugins.ts';

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
  // The compile cache's warm-up, run once at image build (image/Containerfile), beside netready.mjs.
  build({
    ...common,
    entryPoints: { 'warm-compile-cache': 'src/warm-compile-cache.ts' },
    outdir,
    outExtension: { '.js': '.mjs' },
    plugins: [builtinsWithoutFacade],
  }),
  ...Object.entries(SEPARATE).map(([name, { entry }]) =>
    build({
      ...common,
      entryPoints: { [name]: entry },
      outdir: `${outdir}/chunks`,
      outExtension: { '.js': '.mjs' },
      plugins: [pinoStubs, builtinsWithoutFacade],
    }),
  ),
]);
for (const result of results) {
  for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.mjs')) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`);
  }
}
