// AdmissionReview (admission.k8s.io/v1) in and out: decode and check the
// envelope, hand a pod CREATE to the pure core, and build the response. The
// webhook never denies: whatever goes wrong, the pod is allowed (unchanged, or
// injected with defaults) and the API server shows the user a warning.
import * as z from 'zod';
import { nestsDeeperThan } from '../lib/json-depth.ts';
import { MAX_WARNING } from './annotations.ts';
import { injectPod, type InjectConfig } from './inject.ts';

const groupVersionResource = z.object({ group: z.string(), version: z.string(), resource: z.string() });

const reviewSchema = z.object({
  apiVersion: z.literal('admission.k8s.io/v1'),
  kind: z.literal('AdmissionReview'),
  request: z.object({
    uid: z.string().min(1).max(256),
    resource: groupVersionResource,
    subResource: z.string().optional(),
    namespace: z.string().optional(),
    operation: z.string(),
    object: z.unknown(),
    dryRun: z.boolean().optional(),
  }),
});

export type AdmissionRequest = z.infer<typeof reviewSchema>['request'];

export type Decoded = { ok: true; request: AdmissionRequest } | { ok: false; error: string };

/** Checks the envelope of a parsed AdmissionReview; the error names the first bad field. */
export function decodeReview(body: unknown): Decoded {
  const r = reviewSchema.safeParse(body);
  if (r.success) return { ok: true, request: r.data.request };
  const issue = r.error.issues[0]!;
  return { ok: false, error: `${issue.path.join('.') || 'body'}: ${issue.message}` };
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: true;
  readonly patchType?: 'JSONPatch';
  readonly patch?: string;
  readonly warnings?: string[];
}

/** What happened, for the log line. */
export interface Outcome {
  readonly action: 'injected' | 'fixed' | 'skipped' | 'failed';
  readonly reason?: string;
  readonly uid?: number;
  readonly error?: unknown;
}

/** The answer when anything goes wrong: allowed, not injected, and a warning the user sees. */
export const INTERNAL_ERROR = 'netready: internal error; pod admitted without netready-wait (see the webhook logs)';

/**
 * Deepest pod object handled. A real Pod nests about 15 levels (managedFields
 * included) and the API server prunes unknown fields; anything deeper did not
 * come from it, and a few thousand levels would overflow every recursive walk
 * (JSON.stringify of the patch or of a log line) and end the process.
 */
export const MAX_OBJECT_DEPTH = 64;

/** Admits one request. Pure apart from `now`; dry-run requests take the same path (there are no side effects to skip). */
export function admit(
  request: AdmissionRequest,
  config: InjectConfig,
  now: Date,
): { response: AdmissionResponse; outcome: Outcome } {
  const allowed = (outcome: Outcome, warnings: string[] = []) => ({
    response: {
      uid: request.uid,
      allowed: true as const,
      ...(warnings.length > 0 ? { warnings: warnings.map(clipWarning) } : {}),
    },
    outcome,
  });
  const { resource } = request;
  // The webhook configuration sends only pod CREATEs; anything else is answered, not acted on.
  if (resource.group !== '' || resource.resource !== 'pods' || request.subResource || request.operation !== 'CREATE') {
    return allowed({
      action: 'skipped',
      reason: `not a pod CREATE (${resource.resource}${request.subResource ? `/${request.subResource}` : ''} ${request.operation})`,
    });
  }
  if (nestsDeeperThan(request.object, MAX_OBJECT_DEPTH)) {
    return allowed({
      action: 'skipped',
      reason: `object nested deeper than ${MAX_OBJECT_DEPTH} levels: not a pod from the API server`,
    });
  }
  let result: ReturnType<typeof injectPod>;
  let patch: string | undefined;
  try {
    result = injectPod(request.object, { namespace: request.namespace ?? '', now }, config);
    // Inside the try: the patch can carry parts of the incoming pod (a re-invocation moves its container).
    if (!('skip' in result)) patch = Buffer.from(JSON.stringify(result.patch)).toString('base64');
  } catch (error) {
    return allowed({ action: 'failed', error }, [INTERNAL_ERROR]);
  }
  if ('skip' in result) return allowed({ action: 'skipped', reason: result.skip }, result.warnings);
  const { response } = allowed({ action: result.action, uid: result.uid }, result.warnings);
  return {
    response: { ...response, patchType: 'JSONPatch', patch: patch! },
    outcome: { action: result.action, uid: result.uid },
  };
}

/** The AdmissionReview answer: apiVersion and kind echoed, request.uid in the response. */
export function encodeReview(response: AdmissionResponse): string {
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
}

function clipWarning(w: string): string {
  return w.length <= MAX_WARNING ? w : `${w.slice(0, MAX_WARNING - 1)}…`;
}
