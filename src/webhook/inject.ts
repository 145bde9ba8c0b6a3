// The pure core of the webhook: a pod in, JSON Patch operations (or the reason
// to leave it alone) out. No HTTP, no clock, no I/O: the server decodes the
// review, calls injectPod, encodes the answer.
import { PREFIX, resolveSettings, warning, type InjectSettings } from './annotations.ts';
import {
  ADMITTED_AT,
  buildContainer,
  buildWatchContainer,
  CONTAINER_NAME,
  securityContext,
  WATCH_CONTAINER_NAME,
} from './container.ts';
import { leadingSidecars, meshUid, type Json } from './mesh.ts';
import { insertAt, removeAt, setEntries, type Operation } from './patch.ts';

/** Written by the webhook when it injects; with the container present it marks the pod as done. */
export const STATUS = `${PREFIX}status`;
const STATUS_INJECTED = 'injected';
/** The opt-in/opt-out label (labels, so the webhook configuration's selectors filter before the call). */
export const INJECT_LABEL = `${PREFIX}inject`;
const MIRROR = 'kubernetes.io/config.mirror';

export interface InjectConfig {
  /** Settings for pods without overrides. */
  readonly defaults: InjectSettings;
  /** The agent's uid when no mesh asks for another. */
  readonly runAsUser: number;
  /** The webhook's own namespace: never injected, so the webhook can always start. */
  readonly ownNamespace: string;
}

export interface Admission {
  /** request.namespace: pods made by controllers have no metadata.namespace yet. */
  readonly namespace: string;
  readonly now: Date;
}

export type InjectResult =
  | {
      readonly patch: Operation[];
      readonly action: 'injected' | 'fixed';
      readonly uid: number;
      readonly warnings: string[];
    }
  | { readonly skip: string; readonly warnings: string[] };

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const list = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);
const INITS = '/spec/initContainers';

/** Decides what to do with one pod at admission. Never throws on odd input; the caller still guards. */
export function injectPod(pod: unknown, admission: Admission, config: InjectConfig): InjectResult {
  const warnings: string[] = [];
  const metadata = obj(obj(pod).metadata);
  const spec = obj(obj(pod).spec);
  const labels = obj(metadata.labels);
  const annotations = obj(metadata.annotations);
  const containers = list(spec.containers);
  const inits = list(spec.initContainers);
  const skip = (reason: string): InjectResult => ({ skip: reason, warnings });

  if (!containers || obj(pod).metadata !== metadata) return skip('no metadata or spec.containers: not a pod');
  const optIn = labels[INJECT_LABEL];
  if (optIn === 'disabled') return skip(`opted out: label ${INJECT_LABEL}=disabled`);
  if (optIn !== undefined && optIn !== 'enabled')
    warnings.push(warning(`label ${INJECT_LABEL}`, String(optIn), 'expected enabled or disabled'));
  const namespace = admission.namespace || (typeof metadata.namespace === 'string' ? metadata.namespace : '');
  if (namespace === 'kube-system') return skip('namespace kube-system is never injected');
  if (namespace === config.ownNamespace) return skip(`namespace ${namespace} is the webhook's own`);
  if (spec.hostNetwork === true) return skip('hostNetwork pod: it uses the node network, which is up');
  if (MIRROR in annotations) return skip('mirror pod (static pod on a kubelet): the API server cannot change it');
  if (obj(spec.os).name === 'windows') return skip('Windows pod: the agent runs on Linux only');
  if (containers.some((c) => obj(c).name === CONTAINER_NAME))
    return skip(`a regular container is named ${CONTAINER_NAME}`);

  const index = (inits ?? []).findIndex((c) => obj(c).name === CONTAINER_NAME);
  const injected = annotations[STATUS] === STATUS_INJECTED;
  if (index >= 0 && !injected) return skip(`the pod already has a ${CONTAINER_NAME} init container of its own`);
  if (index < 0 && STATUS in annotations)
    return skip(`${STATUS} is set but there is no ${CONTAINER_NAME} container; leaving the pod as it is`);
  if (index >= 0) return reconcile(inits!, index, annotations, containers, config, warnings);

  const others = inits ?? [];
  const uid = meshUid(annotations, others, containers, warnings)?.uid ?? config.runAsUser;
  const { settings, warnings: settingWarnings } = resolveSettings(annotations, config.defaults);
  warnings.push(...settingWarnings);
  const at = leadingSidecars(others);
  const wait = buildContainer(settings, uid);
  const watch =
    settings.watch && watchFits(settings.watchPort, [...others, ...containers], warnings)
      ? buildWatchContainer(settings, uid)
      : null;
  const patch = [
    insertAt(INITS, inits, at, wait),
    // Right after netready-wait: it starts once the network first worked, before the app's own init containers.
    ...(watch ? [insertAt(INITS, [...others.slice(0, at), wait, ...others.slice(at)], at + 1, watch)] : []),
    // A null or absent map is replaced whole; entries go into an existing one.
    ...setEntries('/metadata/annotations', metadata.annotations === annotations ? annotations : undefined, {
      [STATUS]: STATUS_INJECTED,
      [ADMITTED_AT]: admission.now.toISOString(),
    }),
  ];
  return { patch, action: 'injected', uid, warnings };
}

/** Whether the watch can be added beside `existing` containers: its name and port are free. Else a warning says why not. */
function watchFits(port: number, existing: readonly unknown[], warnings: string[]): boolean {
  if (existing.some((c) => obj(c).name === WATCH_CONTAINER_NAME)) {
    warnings.push(
      warning(`${PREFIX}watch`, 'true', `a container is already named ${WATCH_CONTAINER_NAME}; no watch added`),
    );
    return false;
  }
  const user = existing.find((c) =>
    (list(obj(c).ports) ?? []).some((p) => obj(p).containerPort === port || obj(p).name === WATCH_CONTAINER_NAME),
  );
  if (user !== undefined) {
    warnings.push(
      warning(`${PREFIX}watch-port`, String(port), `container ${String(obj(user).name)} uses it; no watch added`),
    );
    return false;
  }
  return true;
}

/**
 * A re-invocation (another injector ran after us) or a second admission: keep the
 * one container, move it back behind the leading native sidecars and give it the
 * uid the mesh now needs (and its restricted context back). Nothing to fix means no patch.
 */
function reconcile(
  inits: readonly unknown[],
  index: number,
  annotations: Json,
  containers: readonly unknown[],
  config: InjectConfig,
  warnings: string[],
): InjectResult {
  // Ours: netready-wait, and the watch when it was added with it (it moves with the wait, right behind it).
  const watchIndex = inits.findIndex((c) => obj(c).name === WATCH_CONTAINER_NAME && obj(c).restartPolicy === 'Always');
  const ours = watchIndex >= 0 ? [index, watchIndex] : [index];
  const others = inits.filter((_c, i) => !ours.includes(i));
  const uid = meshUid(annotations, others, containers, warnings)?.uid ?? config.runAsUser;
  const target = leadingSidecars(others);
  const fixed = ours.map((i) => withContext(obj(inits[i]), uid));
  const placed = index === target && (watchIndex < 0 || watchIndex === target + 1);
  if (placed) {
    const patch: Operation[] = ours.flatMap((i, k) =>
      fixed[k]!.ok ? [] : [{ op: 'add' as const, path: `${INITS}/${i}/securityContext`, value: fixed[k]!.context }],
    );
    return patch.length === 0 ? { skip: 'already injected', warnings } : { patch, action: 'fixed', uid, warnings };
  }
  // Removed from the highest index down, so that each index still means what it meant; then inserted in order.
  const patch: Operation[] = [...ours].sort((a, b) => b - a).map((i) => removeAt(INITS, i));
  const rest = [...others];
  fixed.forEach((f, k) => {
    patch.push(insertAt(INITS, rest, target + k, f.container));
    rest.splice(target + k, 0, f.container);
  });
  return { patch, action: 'fixed', uid, warnings };
}

/**
 * Ours by its status annotation, so it must pass "restricted" whoever touched it since:
 * our fields win, fields that could weaken it go, anything else someone added stays.
 */
function withContext(current: Json, uid: number): { ok: boolean; context: Json; container: Json } {
  const { privileged: _privileged, procMount: _procMount, ...kept } = obj(current.securityContext);
  const context = { ...kept, ...securityContext(uid) };
  const ok = JSON.stringify(context) === JSON.stringify(current.securityContext);
  return { ok, context, container: ok ? current : { ...current, securityContext: context } };
}
