// Bundles the CLI into dist/ (or the directory given as the first argument) for the image: dist/netready.mjs plus one chunk
// per command, loaded on demand, and no runtime node_modules.
import { build, type Plugin } from 'esbuild';
import { rmSync } from 'node:fs';

// Node built-ins are taken with process.getBuiltinModule() instead of an
// `import`: an import builds each module's ES facade, which reads every export
// and so runs lazy getters (node:fs loads its streams, node:http Node's own
// undici), ~10 ms of the agent's start-up for nothing.
const builtinsWithoutFacade: Plugin = {
  name: 'builtins-without-facade',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

const outdir = process.argv[2] ?? 'dist';
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { netready: 'src/cli.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  metafile: true,
  plugins: [builtinsWithoutFacade],
  logLevel: 'warning',
});
for (const [file, { bytes }] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith('.mjs')) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`);
}
