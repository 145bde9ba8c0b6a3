/** Version of the report wire contract; apart from report.ts so the agent can use it without loading zod. */
export const REPORT_SCHEMA_VERSION = 1;
/**
 * The kinds of document of contract version 1, told apart by their `kind`
 * field: `start` (what `netready wait` sends; a document without `kind` is one,
 * as every agent before the watch sent) and `outage` (what `netready watch`
 * sends, one per outage). A collector answers 400 naming `kind` for a kind it
 * does not know; one older than the outage kind answers 400 too (the document
 * lacks a start report's fields), and the watch goes on.
 */
export const REPORT_KINDS = ['start', 'outage'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];
