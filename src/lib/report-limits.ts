/** Limits of the report wire contract; apart from report.ts so the agent can use them without loading zod. */

/**
 * Largest duration a report may carry, in seconds (7 days): far beyond the
 * agent's longest --timeout (24h), and small enough that no sum of them in a
 * histogram overflows to +Inf (1e308 did, until the collector restarted).
 */
export const MAX_REPORT_SECONDS = 7 * 24 * 3600;
