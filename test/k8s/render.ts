// Renders k8s/ the way users apply it: the base, every overlay, and every
// component included over the base by a small kustomization of the user's own.
// Works on a scratch copy of k8s/, so that the self-signed overlay gets its
// ca-bundle.env (made per install by `netready certs`, never committed) without
// touching the tree.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { ROOT, run } from '../helpers/agent.ts';
import { kustomize, parseYaml, type K8sObject } from './kubectl.ts';

export const K8S = join(ROOT, 'k8s');
export const NAMESPACE = 'netready-system';

/** What users render: base, overlays/NAME and components/NAME (over the base), found by listing k8s/. */
export function targetNames(): string[] {
  const dirs = (sub: string) =>
    readdirSync(join(K8S, sub), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `${sub}/${d.name}`);
  return ['base', ...dirs('overlays'), ...dirs('components')];
}

/** A scratch copy of k8s/ plus the users' own kustomizations; remove() when done. */
export class Workspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'netready-k8s-'));
  /** Where `netready certs` wrote the CA, the serving pair and secret.yaml. */
  readonly certsDir = join(this.dir, 'netready-certs');
  readonly #cache = new Map<string, K8sObject[]>();

  private constructor() {
    cpSync(K8S, join(this.dir, 'k8s'), { recursive: true });
  }

  /** A workspace where overlays/self-signed has been set up as its README says, with `netready certs`. */
  static async create(): Promise<Workspace> {
    const ws = new Workspace();
    try {
      const r = await run(['certs', '--out', ws.certsDir]);
      if (r.code !== 0) throw new Error(`netready certs exited ${r.code}: ${r.stderr}`);
      const caBundle = readFileSync(join(ws.certsDir, 'ca-bundle.txt'), 'utf8').trim();
      writeFileSync(join(ws.dir, 'k8s/overlays/self-signed/ca-bundle.env'), `caBundle=${caBundle}\n`);
      return ws;
    } catch (err) {
      ws.remove();
      throw err;
    }
  }

  /** The objects `kubectl apply -k` would apply for a target name (see targetNames), rendered once. */
  render(name: string): K8sObject[] {
    let objects = this.#cache.get(name);
    if (!objects) {
      objects = parseYaml({ yaml: kustomize(this.pathOf(name)) });
      this.#cache.set(name, objects);
    }
    return objects;
  }

  /** The directory kustomize builds for a target name; components get a kustomization over the base. */
  pathOf(name: string): string {
    if (!name.startsWith('components/')) return join(this.dir, 'k8s', name);
    return this.userKustomization(name.replace('/', '-'), [
      'resources:',
      '  - ../../k8s/base',
      'components:',
      `  - ../../k8s/${name}`,
    ]);
  }

  /** A kustomization of the user's own (lines after apiVersion and kind), as a sibling of k8s/; returns its directory. */
  userKustomization(name: string, lines: string[]): string {
    const dir = join(this.dir, 'user', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', ...lines, ''].join('\n'),
    );
    return dir;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The one object of `kind` named `name`; throws naming what is missing. */
export function find<T = K8sObject>(objects: readonly K8sObject[], kind: string, name: string): T & K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as T & K8sObject;
}

/** Each pod template (Deployments) or pod (Pods) with a label for messages. */
export function podSpecs(
  objects: readonly K8sObject[],
): Array<{ where: string; labels: Record<string, string>; spec: IPodSpec }> {
  return objects.flatMap((o) => {
    if (o.kind === 'Deployment') {
      const template = (o.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: IPodSpec } })
        .template;
      return [{ where: `Deployment/${o.metadata.name}`, labels: template.metadata?.labels ?? {}, spec: template.spec }];
    }
    if (o.kind === 'Pod')
      return [{ where: `Pod/${o.metadata.name}`, labels: o.metadata.labels ?? {}, spec: o.spec as IPodSpec }];
    return [];
  });
}
