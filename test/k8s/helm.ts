// helm as the chart's tests use it: the pinned helm from the npm package (./tools.ts), offline
// (no kubeconfig, no cluster, no repositories), every call bounded.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/agent.ts';
import { parseYaml, type K8sObject } from './kubectl.ts';
import { helmBin } from './tools.ts';

export const CHART = join(ROOT, 'charts', 'netready');

const TIMEOUT_MS = 60_000;

/** What a helm call printed, and whether it succeeded; never throws for a non-zero exit. */
export interface HelmResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs helm with the values (as a file, so types survive: `--set` would guess them) after args. */
export function helm(args: string[], values: object = {}): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'netready-helm-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    const env = {
      ...process.env,
      KUBECONFIG: '/nonexistent/netready-test-kubeconfig',
      HELM_CACHE_HOME: join(dir, 'cache'),
      HELM_CONFIG_HOME: join(dir, 'config'),
      HELM_DATA_HOME: join(dir, 'data'),
    };
    try {
      const stdout = execFileSync(helmBin(), [...args, '--values', file], {
        env,
        timeout: TIMEOUT_MS,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return { ok: true, stdout, stderr: '' };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      return { ok: false, stdout: e.stdout ?? '', stderr: e.stderr?.trim() || e.message };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template netready charts/netready -n NAMESPACE` with these values, as objects; throws with helm's message. */
export function renderChart(values: object = {}, namespace = 'netready-system'): K8sObject[] {
  const r = helm(['template', 'netready', CHART, '--namespace', namespace], values);
  if (!r.ok) throw new Error(`helm template: ${r.stderr}`);
  return parseYaml({ yaml: r.stdout });
}
