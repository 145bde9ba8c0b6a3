// The Pod Security Standards' "restricted" profile (which includes "baseline"),
// as the API server's PodSecurity admission enforces it at version "latest"
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
// Written by hand: no maintained JavaScript library implements the checks.
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEphemeralContainer } from 'kubernetes-models/v1/EphemeralContainer';

const ALLOWED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
const ALLOWED_ADD_CAPABILITIES = new Set(['NET_BIND_SERVICE']);
const ALLOWED_SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

type AnyContainer = IContainer | IEphemeralContainer;

/** Every way `spec` breaks Pod Security "restricted", one message each naming the field; empty when it passes. */
export function restrictedViolations(spec: IPodSpec): string[] {
  const out: string[] = [];
  const pod = spec.securityContext ?? {};

  // Host namespaces and host resources (baseline).
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[field]) out.push(`spec.${field} is true`);
  }
  if (pod.windowsOptions?.hostProcess) out.push('spec.securityContext.windowsOptions.hostProcess is true');
  checkSeLinux(pod.seLinuxOptions, 'spec.securityContext', out);
  if (pod.appArmorProfile && !['RuntimeDefault', 'Localhost'].includes(pod.appArmorProfile.type)) {
    out.push(`spec.securityContext.appArmorProfile.type is ${pod.appArmorProfile.type}`);
  }
  for (const sysctl of pod.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(sysctl.name)) out.push(`spec.securityContext.sysctls: ${sysctl.name} is not a safe sysctl`);
  }

  // Volume types (restricted; hostPath is already out under baseline).
  for (const volume of spec.volumes ?? []) {
    for (const type of Object.keys(volume).filter((k) => k !== 'name')) {
      if (!ALLOWED_VOLUME_TYPES.has(type)) out.push(`spec.volumes[${volume.name}]: type ${type} is not allowed`);
    }
  }

  // Pod-level settings that containers inherit (restricted).
  if (pod.runAsUser === 0) out.push('spec.securityContext.runAsUser is 0');
  const podSeccomp = pod.seccompProfile?.type;
  if (podSeccomp !== undefined && !['RuntimeDefault', 'Localhost'].includes(podSeccomp))
    out.push(`spec.securityContext.seccompProfile.type is ${podSeccomp}`);

  const containers: Array<[string, AnyContainer]> = [
    ...(spec.initContainers ?? []).map((c): [string, AnyContainer] => [`initContainers[${c.name}]`, c]),
    ...spec.containers.map((c): [string, AnyContainer] => [`containers[${c.name}]`, c]),
    ...(spec.ephemeralContainers ?? []).map((c): [string, AnyContainer] => [`ephemeralContainers[${c.name}]`, c]),
  ];
  for (const [where, c] of containers) {
    const sc = c.securityContext ?? {};
    const at = `spec.${where}`;
    if (sc.privileged) out.push(`${at}.securityContext.privileged is true`);
    if (sc.windowsOptions?.hostProcess) out.push(`${at}.securityContext.windowsOptions.hostProcess is true`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default')
      out.push(`${at}.securityContext.procMount is ${sc.procMount}`);
    checkSeLinux(sc.seLinuxOptions, `${at}.securityContext`, out);
    if (sc.appArmorProfile && !['RuntimeDefault', 'Localhost'].includes(sc.appArmorProfile.type)) {
      out.push(`${at}.securityContext.appArmorProfile.type is ${sc.appArmorProfile.type}`);
    }
    for (const port of c.ports ?? []) {
      if (port.hostPort) out.push(`${at}.ports: hostPort ${port.hostPort}`);
    }

    if (sc.allowPrivilegeEscalation !== false) out.push(`${at}.securityContext.allowPrivilegeEscalation is not false`);

    // runAsNonRoot: the container's setting wins; unset there, the pod's applies.
    const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (nonRoot !== true) out.push(`${at}: runAsNonRoot is not true (container or pod)`);
    if (sc.runAsUser === 0) out.push(`${at}.securityContext.runAsUser is 0`);

    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp === undefined) out.push(`${at}: no seccompProfile (container or pod)`);
    else if (sc.seccompProfile && !['RuntimeDefault', 'Localhost'].includes(sc.seccompProfile.type))
      out.push(`${at}.securityContext.seccompProfile.type is ${sc.seccompProfile.type}`);

    const caps = sc.capabilities ?? {};
    if (!(caps.drop ?? []).includes('ALL')) out.push(`${at}.securityContext.capabilities.drop does not include ALL`);
    for (const cap of caps.add ?? []) {
      if (!ALLOWED_ADD_CAPABILITIES.has(cap)) out.push(`${at}.securityContext.capabilities.add has ${cap}`);
    }
  }
  return out;
}

/**
 * The violations a mutation added: those of `after` that `before` did not have. A webhook that
 * injects a container must add none, whatever the pod brought (messages name containers, not
 * indices, so a container inserted before others does not change theirs).
 */
export function addedRestrictedViolations(before: IPodSpec, after: IPodSpec): string[] {
  const had = new Set(restrictedViolations(before));
  return restrictedViolations(after).filter((v) => !had.has(v));
}

function checkSeLinux(
  options: { type?: string; user?: string; role?: string } | undefined,
  at: string,
  out: string[],
): void {
  if (!options) return;
  if (!ALLOWED_SELINUX_TYPES.has(options.type ?? '')) out.push(`${at}.seLinuxOptions.type is ${options.type}`);
  if (options.user) out.push(`${at}.seLinuxOptions.user is set`);
  if (options.role) out.push(`${at}.seLinuxOptions.role is set`);
}
