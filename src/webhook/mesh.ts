// Service meshes and placement. The agent must see the network the app will
// see. A mesh proxy that runs as a native sidecar (an init container with
// restartPolicy Always) ahead of the agent is already up when the agent starts,
// so the agent's traffic goes through it like the app's. Without that (classic
// sidecars in spec.containers), the mesh's CNI redirect is in place before any
// init container runs and no proxy listens yet: the agent's packets would vanish
// unless it runs as the uid the mesh exempts from redirection.
import { warning } from './annotations.ts';

export type Json = Record<string, unknown>;

const ISTIO_PROXY = 'istio-proxy';
/** Istio exempts its proxy's uid from redirection; init containers that need the network use it too (Istio docs, "Compatibility with application init containers"). */
const ISTIO_UID = 1337;
const LINKERD_PROXY = 'linkerd-proxy';
/** Linkerd's default proxy uid; a pod may change it with config.linkerd.io/proxy-uid. */
const LINKERD_UID = 2102;
const LINKERD_UID_ANNOTATION = 'config.linkerd.io/proxy-uid';
/** The uids a mesh makes the agent run as by default (the image's compile cache is made for each: src/warm-compile-cache.ts). */
export const MESH_UIDS: readonly number[] = [ISTIO_UID, LINKERD_UID];

/** True for a native sidecar: an init container that keeps running. */
export const isNativeSidecar = (c: unknown): boolean => (c as Json | null)?.restartPolicy === 'Always';

const nameOf = (c: unknown): unknown => (c as Json | null)?.name;

/** How many native sidecars lead the list: the agent goes right after them, before every regular init container. */
export function leadingSidecars(initContainers: readonly unknown[]): number {
  const i = initContainers.findIndex((c) => !isNativeSidecar(c));
  return i === -1 ? initContainers.length : i;
}

export interface MeshUid {
  readonly mesh: 'istio' | 'linkerd';
  readonly uid: number;
}

/**
 * The uid the agent must run as because of a mesh whose proxy will not be running
 * before it, or null. `inits` excludes the agent, which goes at `leadingSidecars(inits)`.
 */
export function meshUid(
  annotations: Json,
  inits: readonly unknown[],
  containers: readonly unknown[],
  warnings: string[],
): MeshUid | null {
  const before = inits.slice(0, leadingSidecars(inits)).map(nameOf);
  const present = (proxy: string) =>
    containers.some((c) => nameOf(c) === proxy) || inits.some((c) => nameOf(c) === proxy);
  // The annotations each injector writes tell that it ran even if the proxy container was renamed.
  const istio = present(ISTIO_PROXY) || typeof annotations['sidecar.istio.io/status'] === 'string';
  if (istio && !before.includes(ISTIO_PROXY)) return { mesh: 'istio', uid: ISTIO_UID };
  const linkerd = present(LINKERD_PROXY) || typeof annotations['linkerd.io/proxy-version'] === 'string';
  if (linkerd && !before.includes(LINKERD_PROXY)) return { mesh: 'linkerd', uid: linkerdUid(annotations, warnings) };
  return null;
}

function linkerdUid(annotations: Json, warnings: string[]): number {
  const raw = annotations[LINKERD_UID_ANNOTATION];
  if (raw === undefined) return LINKERD_UID;
  const uid = typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (uid >= 1 && uid <= 2 ** 31 - 1) return uid;
  warnings.push(warning(LINKERD_UID_ANNOTATION, String(raw), 'expected a non-zero uid', String(LINKERD_UID)));
  return LINKERD_UID;
}
