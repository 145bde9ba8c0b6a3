// Every metric of the webhook, declared in this one module on a registry the
// caller passes in (GET /metrics on the HTTPS port). Names are part of the
// contract with the shipped alerts and ServiceMonitor: do not rename them.
import { Counter, Gauge, type Registry } from 'prom-client';

/** What an admission request came to: a patch, an answer without one, or no proper answer. */
export const ADMISSION_RESULTS = ['injected', 'skipped', 'error'] as const;
export type AdmissionResult = (typeof ADMISSION_RESULTS)[number];

export const WEBHOOK_METRICS = {
  admissions: {
    name: 'netready_webhook_admissions_total',
    help: 'POST /mutate requests, by result: injected (a patch; a re-invocation fix counts here), skipped (allowed unchanged), error (injection failed, or the request was refused as malformed).',
    labelNames: ['result'],
  },
  certificateExpiry: {
    name: 'netready_webhook_certificate_expiry_timestamp_seconds',
    help: 'notAfter of the serving certificate in use, as Unix seconds; alert well before time() reaches it.',
  },
} as const;

/** What the webhook records. */
export interface WebhookMetrics {
  admission(result: AdmissionResult): void;
  /** The serving certificate now in use expires at `notAfter`. */
  certificate(notAfter: Date): void;
}

/** Registers the webhook's metrics on `registry`, every admission result at zero from the start. */
export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const on = { registers: [registry] };
  const admissions = new Counter({
    ...on,
    ...WEBHOOK_METRICS.admissions,
    labelNames: [...WEBHOOK_METRICS.admissions.labelNames],
  });
  for (const result of ADMISSION_RESULTS) admissions.inc({ result }, 0);
  const expiry = new Gauge({ ...on, ...WEBHOOK_METRICS.certificateExpiry });
  return {
    admission: (result) => admissions.inc({ result }),
    certificate: (notAfter) => expiry.set(Math.floor(notAfter.getTime() / 1000)),
  };
}
