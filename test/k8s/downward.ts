// A container's environment as the kubelet would give it, with sample values
// for the pod's own fields (downward API), so that a manifest's command line can
// be run locally with `--dry-run`.
import type { IContainer } from 'kubernetes-models/v1/Container';

/** The pod the samples describe. Addresses from the documentation ranges. */
export const SAMPLE_POD = {
  name: 'netready-example-5d8f7c9b6-x7k2p',
  namespace: 'shop',
  uid: '3f1c2b7e-9a4d-4e8b-b1c6-0d2e5f7a9b13',
  nodeName: 'node-a',
  serviceAccountName: 'default',
  podIPs: ['192.0.2.10', '2001:db8::10'],
  hostIP: '198.51.100.20',
} as const;

/** What the kubelet sets in every container (the API Service's address). */
export const SAMPLE_SERVICE_ENV = { KUBERNETES_SERVICE_HOST: '198.51.100.1', KUBERNETES_SERVICE_PORT: '443' } as const;

interface PodMeta {
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The value of a downward-API fieldRef; throws for a field the kubelet does not offer. */
export function fieldValue(fieldPath: string, meta: PodMeta): string {
  const keyed = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  // The kubelet gives an empty string for a missing label or annotation.
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return SAMPLE_POD.name;
    case 'metadata.namespace':
      return meta.namespace ?? SAMPLE_POD.namespace;
    case 'metadata.uid':
      return SAMPLE_POD.uid;
    case 'spec.nodeName':
      return SAMPLE_POD.nodeName;
    case 'spec.serviceAccountName':
      return SAMPLE_POD.serviceAccountName;
    case 'status.podIP':
      return SAMPLE_POD.podIPs[0];
    case 'status.podIPs':
      return SAMPLE_POD.podIPs.join(',');
    case 'status.hostIP':
      return SAMPLE_POD.hostIP;
    default:
      throw new Error(`fieldRef ${fieldPath} is not offered by the downward API as an environment variable`);
  }
}

/** The container's environment: the kubelet's service variables, then `env` in order (value or fieldRef). */
export function containerEnv(container: IContainer, meta: PodMeta): Record<string, string> {
  const env: Record<string, string> = { ...SAMPLE_SERVICE_ENV };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldValue(e.valueFrom.fieldRef.fieldPath, meta);
    else if (e.valueFrom) throw new Error(`env ${e.name}: only value and fieldRef are resolved here`);
    else env[e.name] = '';
  }
  return env;
}

/** The arguments after Kubernetes' $(VAR) expansion from the container's environment ($$ escapes). */
export function expandArgs(args: readonly string[], env: Readonly<Record<string, string>>): string[] {
  return args.map((arg) =>
    arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) =>
      name === undefined ? '$' : (env[name] ?? m),
    ),
  );
}
