// bench/agent-snapshot: `netready wait` as a V8 startup snapshot (node --build-snapshot), to
// measure with bench/startup-ab against the bundle. A measurement, not what the image runs:
// the snapshot holds the agent's code with its modules evaluated (pino, zod/mini, config, checks);
// undici's code is in it too but not evaluated, as its client requires node:http, which the
// snapshot builder refuses (it aborts), so undici still loads when the report is sent.
// The blob only runs on the Node binary that built it.
//
//   node bench/agent-snapshot.ts /tmp/agent.blob
//   node bench/startup-ab.ts dist /tmp/agent.blob
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { builtinsWithoutFacade, pinoStubs, undiciStubs } from '../scripts/bundle-plugins.ts';

const blob = process.argv[2];
if (!blob?.endsWith('.blob')) throw new Error('usage: node bench/agent-snapshot.ts OUT.blob');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const script = blob.replace(/\.blob$/, '.cjs');

// One CommonJS file: a snapshot's entry is a script, and code run from a snapshot cannot import().
await build({
  stdin: {
    contents: `import { main } from './src/agent/main.ts';
process.getBuiltinModule('node:v8').startupSnapshot.setDeserializeMainFunction(() => {
  main(process.argv.slice(2), process.env).then((code) => process.exit(code));
});`,
    resolveDir: ROOT,
    loader: 'ts',
  },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node24',
  minify: true,
  outfile: script,
  plugins: [pinoStubs, undiciStubs, builtinsWithoutFacade],
  logLevel: 'warning',
});
execFileSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', script], { stdio: 'inherit' });
console.log(`${blob} (run: node --snapshot-blob ${blob} wait …)`);
