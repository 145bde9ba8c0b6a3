/** Version of the report wire contract; apart from report.ts so the agent can use it without loading zod. */
export const REPORT_SCHEMA_VERSION = 1;
