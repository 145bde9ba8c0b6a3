// The wire contract between the agent (`netready wait`, `netready watch`) and
// `netready collector`, version 1, with two kinds of document (report-version.ts).
// One zod schema per kind, shared by both sides: the agent builds documents of
// these types, the collector validates every POST /v1/reports body with them. Unknown fields are
// ignored (zod objects strip them), so newer agents can add fields without
// breaking older collectors.
import * as z from 'zod';

export { REPORT_KINDS, REPORT_SCHEMA_VERSION, type ReportKind } from './report-version.ts';
import { REPORT_SCHEMA_VERSION } from './report-version.ts';
import { MAX_REPORT_SECONDS } from './report-limits.ts';

/** Error classes an attempt can end with; also the keys of `errors` in a check result. */
export const errorClassSchema = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'error class must be lower_snake_case');

const rfc3339 = z.iso.datetime({ offset: true });
const seconds = z.number().finite().nonnegative().max(MAX_REPORT_SECONDS);
const name = z.string().max(253);

export const checkResultSchema = z.object({
  spec: z.string().min(1).max(2048),
  kind: z.enum(['gateway', 'dns', 'tcp', 'http']),
  ok: z.boolean(),
  /** Seconds from agent start until the check passed (start of its final passing streak); null if it never did. */
  readyAfterSeconds: seconds.nullable(),
  attempts: z.number().int().nonnegative(),
  errors: z.record(errorClassSchema, z.number().int().nonnegative()),
});

const podSchema = z.object({
  name,
  namespace: name,
  uid: z.string().max(64),
  node: name,
  ips: z.array(z.union([z.ipv4(), z.ipv6()])).max(8),
});

/** The start report (kind `start`, or no kind: agents before the watch sent none). */
export const reportSchema = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  kind: z.literal('start').optional(),
  agentVersion: z.string().min(1).max(64),
  pod: podSchema,
  outcome: z.enum(['ready', 'timeout']),
  startedAt: rfc3339,
  /** Wall-clock instant the network was found ready; null on timeout. */
  readyAt: rfc3339.nullable(),
  /** Ready: seconds from agent start to ready. Timeout: seconds waited before giving up. */
  delaySeconds: seconds,
  admittedAt: rfc3339.nullable(),
  /** Seconds from admission (webhook annotation) to ready; null when unknown or on timeout. */
  admissionToReadySeconds: z.number().min(-MAX_REPORT_SECONDS).max(MAX_REPORT_SECONDS).nullable(),
  checks: z.array(checkResultSchema).min(1).max(64),
});

/** A check as an outage document names it: which failed, and with what error classes. */
export const outageCheckSchema = z.object({
  spec: z.string().min(1).max(2048),
  kind: checkResultSchema.shape.kind,
  /** Failed attempts during the outage, per error class; empty for a check that kept passing. */
  errors: z.record(errorClassSchema, z.number().int().nonnegative()),
});

/**
 * One outage seen by `netready watch`: from the first failing probe of the
 * streak that declared the network lost until the first probe that passed
 * again. The watch cannot tell when the path broke more precisely than its
 * probe interval, so `startedAt` is late by at most one interval.
 */
export const outageSchema = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  kind: z.literal('outage'),
  agentVersion: z.string().min(1).max(64),
  pod: podSchema,
  /** Launch of the first failing probe of the streak. */
  startedAt: rfc3339,
  /** When the streak reached the failure threshold: readiness failed from here. */
  detectedAt: rfc3339,
  /** When the first passing probe came back: readiness passed again from here. */
  endedAt: rfc3339,
  /** endedAt - startedAt, in seconds: both from the monotonic clock, so a wall-clock step does not bend it. */
  durationSeconds: seconds,
  checks: z.array(outageCheckSchema).min(1).max(64),
  /** Outages before this one that were not sent because of the watch's per-minute cap. */
  dropped: z.number().int().nonnegative(),
});

export type CheckResult = z.infer<typeof checkResultSchema>;
export type Report = z.infer<typeof reportSchema>;
export type CheckKind = CheckResult['kind'];
export type Outage = z.infer<typeof outageSchema>;
export type OutageCheck = z.infer<typeof outageCheckSchema>;
/** Any document the collector takes on POST /v1/reports. */
export type WireDocument = Report | Outage;
