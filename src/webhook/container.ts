// The injected init container, built from the resolved settings. Everything a
// cluster could refuse is chosen so that it does not: small requests and limits
// (ResourceQuota and LimitRange accept them), and a security context that passes
// Pod Security "restricted" on its own, whatever the pod sets.
import type { InjectSettings } from './annotations.ts';

/** The injected container's name, part of the contract with operators and meshes (docs/architecture.md, "Names and ports"). */
export const CONTAINER_NAME = 'netready-wait';
/** The watch sidecar's name (docs/architecture.md, "Names and ports"); also its port's name (at most 15 characters). */
export const WATCH_CONTAINER_NAME = 'netready-watch';
/** Set by the webhook at admission, RFC 3339 with milliseconds; the agent reads it through the downward API. */
export const ADMITTED_AT = 'netready.io/admitted-at';

/** The image's Node binary and bundle, as its ENTRYPOINT names them (image/Containerfile; test/image.test.ts holds them equal). */
export const IMAGE_NODE = '/nodejs/bin/node';
export const IMAGE_SCRIPT = '/app/netready.mjs';
/**
 * Node's flags for the two injected programs, instead of the ENTRYPOINT's, which are sized for
 * the collector. Both wait or watch on a few timers and sockets and allocate little (a scavenge
 * every few seconds). `--max-semi-space-size=1` (MiB) keeps the young generation small instead of
 * growing toward the ENTRYPOINT's 16 MiB per semi-space: bench/burst, 30 waiting agents, ~1.6 MiB
 * less private memory each, detection no later (BENCHMARKS.md, "Memory of the injected containers").
 * Not `--single-threaded`: it moves V8's background compiles onto the main thread, ~20 ms more
 * wall time to start (2.25x `node -e 0` against the 2.0x target) for ~0.4 MiB and CPU within noise.
 * Not `--jitless` nor `--lite-mode`: both remove WebAssembly, which undici's HTTP parser
 * (report delivery, http checks) needs. Not `--optimize-for-size`: it costs CPU (BENCHMARKS.md).
 * A command, not NODE_OPTIONS: the ENTRYPOINT's own flag would win over it.
 */
export const INJECTED_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
/** The injected containers' `command`: the image's Node with INJECTED_NODE_FLAGS, then the bundle (args name the program). */
export const INJECTED_COMMAND: readonly string[] = [IMAGE_NODE, ...INJECTED_NODE_FLAGS, IMAGE_SCRIPT];
/**
 * The watch's flags: INJECTED_NODE_FLAGS and `--max-opt=0` (Ignition only). Its code runs about a
 * millisecond every 2 s for the pod's life, and V8's compilers kept compiling it on their worker
 * threads for minutes: without them, 17-25 % less CPU with kubelet's probe and 0.5 MiB less private
 * memory (bench/watch, BENCHMARKS.md, session 6). It changes V8's flag hash, so Node's built-in code
 * cache is rejected at start; the watch's start-up is not on the pod's path (kubelet starts the app
 * once the sidecar runs). Not for the wait, whose attempts every 20 ms need the JIT. And
 * `--no-memory-reducer`: V8's memory reducer woke the watch every ~8 s to find its allocation rate
 * too high to act on, and never ran a GC in its life (session 6's --trace-memory-reducer); without
 * it, 0.3-1.0 ms/s less CPU probed in two A/Bs, memory the same (bench/watch, session 7). It is
 * not in V8's flag hash.
 */
export const WATCH_NODE_FLAGS: readonly string[] = [...INJECTED_NODE_FLAGS, '--max-opt=0', '--no-memory-reducer'];
/** The watch container's `command`, as INJECTED_COMMAND with WATCH_NODE_FLAGS. */
export const WATCH_COMMAND: readonly string[] = [IMAGE_NODE, ...WATCH_NODE_FLAGS, IMAGE_SCRIPT];
/**
 * Environment for the two injected programs' runtime, beside their own options. glibc's malloc
 * gives each thread that allocates an arena of its own (V8's background compiler and GC threads:
 * four more), and an arena keeps what its thread freed; with one arena for all threads that memory
 * is reused instead: 0.4-1 MiB less private memory per agent, more the longer it runs, for no CPU
 * that bench/burst can see (BENCHMARKS.md, "Memory of the injected containers").
 */
export const INJECTED_ENV: readonly { readonly name: string; readonly value: string }[] = [
  { name: 'MALLOC_ARENA_MAX', value: '1' },
];
/** INJECTED_ENV as a process environment, for running the programs as injected (benches, image test). */
export function injectedProcessEnv(): Record<string, string> {
  return Object.fromEntries(INJECTED_ENV.map((e) => [e.name, e.value]));
}

const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

/** The runtime's environment, then the collector and the pod's identity from the downward API, as both programs read them. */
function agentEnv(s: InjectSettings): Record<string, unknown>[] {
  return [
    ...INJECTED_ENV.map((e) => ({ ...e })),
    ...(s.collector === null ? [] : [{ name: 'NETREADY_COLLECTOR_URL', value: s.collector }]),
    fieldEnv('NETREADY_POD_NAME', 'metadata.name'),
    fieldEnv('NETREADY_POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('NETREADY_POD_UID', 'metadata.uid'),
    fieldEnv('NETREADY_NODE_NAME', 'spec.nodeName'),
    fieldEnv('NETREADY_POD_IPS', 'status.podIPs'),
  ];
}

const resources = (s: InjectSettings) => ({
  requests: { cpu: s.cpuRequest, memory: s.memoryRequest },
  limits: { cpu: s.cpuLimit, memory: s.memoryLimit },
});

/** The `netready-wait` container running `netready wait` as `uid`. */
export function buildContainer(s: InjectSettings, uid: number): Record<string, unknown> {
  const args = ['wait', `--timeout=${s.timeout}`, `--on-timeout=${s.onTimeout}`];
  if (s.settle !== '0') args.push(`--settle=${s.settle}`);
  for (const check of s.checks) args.push(`--check=${check}`);
  return {
    name: CONTAINER_NAME,
    image: s.image,
    command: [...INJECTED_COMMAND],
    args,
    env: [...agentEnv(s), fieldEnv('NETREADY_ADMITTED_AT', `metadata.annotations['${ADMITTED_AT}']`)],
    resources: resources(s),
    securityContext: securityContext(uid),
    // The agent's one-line summary, or its last log lines if it crashed, in `kubectl describe pod`.
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

/** kubelet's readiness probe of the watch: a GET of /readyz this often (bench/watch probes at the same rate). */
export const WATCH_PROBE_PERIOD_SECONDS = 2;

/**
 * The `netready-watch` native sidecar (an init container with restartPolicy
 * Always: it starts after netready-wait has passed, before the app's own init
 * containers, and runs for the pod's life). Its readiness probe is an httpGet
 * on the pod IP: kubelet connects from the node through the pod's host route,
 * so a removed route fails the probe as surely as the watch's 503 does.
 */
export function buildWatchContainer(s: InjectSettings, uid: number): Record<string, unknown> {
  const args = ['watch', `--listen=[::]:${s.watchPort}`];
  for (const check of s.checks) args.push(`--check=${check}`);
  return {
    name: WATCH_CONTAINER_NAME,
    image: s.image,
    command: [...WATCH_COMMAND],
    args,
    restartPolicy: 'Always',
    ports: [{ name: WATCH_CONTAINER_NAME, containerPort: s.watchPort, protocol: 'TCP' }],
    env: agentEnv(s),
    resources: resources(s),
    // Every 2 s, and one failure is enough: the watch already waited for a
    // streak of failed rounds before it answered 503.
    readinessProbe: {
      httpGet: { path: '/readyz', port: s.watchPort },
      periodSeconds: WATCH_PROBE_PERIOD_SECONDS,
      timeoutSeconds: 1,
      failureThreshold: 1,
      successThreshold: 1,
    },
    securityContext: securityContext(uid),
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
