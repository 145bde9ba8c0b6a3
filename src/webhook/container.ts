// The injected init container, built from the resolved settings. Everything a
// cluster could refuse is chosen so that it does not: small requests and limits
// (ResourceQuota and LimitRange accept them), and a security context that passes
// Pod Security "restricted" on its own, whatever the pod sets.
import type { InjectSettings } from './annotations.ts';

/** The injected container's name, part of the contract with operators and meshes (docs/architecture.md, "Names and ports"). */
export const CONTAINER_NAME = 'netready-wait';
/** Set by the webhook at admission, RFC 3339 with milliseconds; the agent reads it through the downward API. */
export const ADMITTED_AT = 'netready.io/admitted-at';

const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

/** The `netready-wait` container running `netready wait` as `uid`. */
export function buildContainer(s: InjectSettings, uid: number): Record<string, unknown> {
  const args = ['wait', `--timeout=${s.timeout}`, `--on-timeout=${s.onTimeout}`];
  if (s.settle !== '0') args.push(`--settle=${s.settle}`);
  for (const check of s.checks) args.push(`--check=${check}`);
  return {
    name: CONTAINER_NAME,
    image: s.image,
    args,
    env: [
      ...(s.collector === null ? [] : [{ name: 'NETREADY_COLLECTOR_URL', value: s.collector }]),
      fieldEnv('NETREADY_POD_NAME', 'metadata.name'),
      fieldEnv('NETREADY_POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('NETREADY_POD_UID', 'metadata.uid'),
      fieldEnv('NETREADY_NODE_NAME', 'spec.nodeName'),
      fieldEnv('NETREADY_POD_IPS', 'status.podIPs'),
      fieldEnv('NETREADY_ADMITTED_AT', `metadata.annotations['${ADMITTED_AT}']`),
    ],
    resources: {
      requests: { cpu: s.cpuRequest, memory: s.memoryRequest },
      limits: { cpu: s.cpuLimit, memory: s.memoryLimit },
    },
    securityContext: securityContext(uid),
    // The agent's one-line summary, or its last log lines if it crashed, in `kubectl describe pod`.
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

/** Restricted on its own: every field set here, so a pod-level context cannot weaken it. */
export function securityContext(uid: number): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
