// An outage as the watch reports it: the document (the contract's kind
// "outage", lib/report.ts) built from monotonic times, and the per-minute cap
// on how many go to the collector. Both pure; the loop and main do the I/O.
import { REPORT_SCHEMA_VERSION } from '../lib/report-version.ts';
import type { CheckKind, Outage } from '../lib/report.ts';
import type { PodIdentity } from './config.ts';

/** One outage in monotonic milliseconds (the process's clock), as the watch loop saw it. */
export interface OutageEvent {
  /** Launch of the first failed round of the streak. */
  readonly startedMs: number;
  /** When the streak reached the threshold: readiness failed from here. */
  readonly detectedMs: number;
  /** When every check passed again: readiness passed from here. */
  readonly endedMs: number;
  /** Per check (in check order), failed attempts by error class over the whole outage. */
  readonly errors: readonly Record<string, number>[];
}

export interface OutageContext {
  readonly agentVersion: string;
  readonly pod: PodIdentity;
  readonly checks: readonly { readonly spec: string; readonly kind: CheckKind }[];
  /** Wall-clock epoch ms at monotonic 0. */
  readonly originWallMs: number;
}

/** Whole wall-clock milliseconds, so that endedAt - startedAt is exactly durationSeconds. */
const wall = (ctx: OutageContext, ms: number) => Math.round(ctx.originWallMs + ms);
const iso = (ms: number) => new Date(ms).toISOString();

/** The outage document for `event`, with `dropped` outages before it that were not sent. */
export function buildOutage(ctx: OutageContext, event: OutageEvent, dropped: number): Outage {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    kind: 'outage',
    agentVersion: ctx.agentVersion,
    pod: { ...ctx.pod, ips: [...ctx.pod.ips] },
    startedAt: iso(wall(ctx, event.startedMs)),
    detectedAt: iso(wall(ctx, event.detectedMs)),
    endedAt: iso(wall(ctx, event.endedMs)),
    durationSeconds: (wall(ctx, event.endedMs) - wall(ctx, event.startedMs)) / 1000,
    checks: ctx.checks.map((c, i) => ({ spec: c.spec, kind: c.kind, errors: { ...event.errors[i] } })),
    dropped,
  };
}

/** The window of the per-minute cap. */
export const CAP_WINDOW_MS = 60_000;

/**
 * At most `perMinute` outages sent in any 60 s: a flapping path must not flood
 * the collector. What is held back is counted; the next outage sent carries
 * the count (its `dropped`), which then starts again from 0.
 */
export class OutageCap {
  readonly #perMinute: number;
  readonly #sent: number[] = [];
  #dropped = 0;

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Whether the outage that ended at `nowMs` goes out; when it does, how many were held back before it. */
  take(nowMs: number): { send: true; dropped: number } | { send: false } {
    while (this.#sent.length > 0 && nowMs - this.#sent[0]! >= CAP_WINDOW_MS) this.#sent.shift();
    if (this.#sent.length >= this.#perMinute) {
      this.#dropped++;
      return { send: false };
    }
    this.#sent.push(nowMs);
    const dropped = this.#dropped;
    this.#dropped = 0;
    return { send: true, dropped };
  }

  /** Outages held back since the last one sent. */
  get dropped(): number {
    return this.#dropped;
  }
}
