// POST /v1/reports, the pure part: headers and body bytes in, a validated
// document (a start report or an outage) or a rejection (status, reason, JSON body) out. Knows nothing of
// sockets; server.ts reads the request and writes what this decides.
import { createHash, timingSafeEqual } from 'node:crypto';
import type * as z from 'zod';
import { outageSchema, REPORT_KINDS, reportSchema, type Outage, type Report } from '../lib/report.ts';
import type { RejectReason } from './metrics.ts';

/** Largest body accepted: a report is ~1-2 KiB; 64 checks with long specs stay well under this. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Issues listed in a 400 at most; the count of the rest is given. */
const MAX_ISSUES = 20;
/** Characters of one path segment shown in an issue (a hostile key can be 60 KiB long). */
const MAX_SEGMENT = 64;

export interface Rejection {
  readonly status: number;
  readonly reason: RejectReason;
  readonly body: ErrorBody;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ErrorBody {
  readonly error: string;
  readonly message: string;
  readonly issues?: readonly { readonly path: string; readonly message: string }[];
  readonly moreIssues?: number;
}

const reject = (status: number, reason: RejectReason, message: string, extra: Partial<Rejection> = {}): Rejection => ({
  status,
  reason,
  body: { error: reason, message },
  ...extra,
});

/** The rejection for a request that fails before its body is read, or null when it may go on. */
export function checkRequestHead(
  headers: {
    authorization?: string | undefined;
    'content-type'?: string | undefined;
    'content-length'?: string | undefined;
  },
  token: string | null,
): Rejection | null {
  if (token !== null && !bearerMatches(headers.authorization, token)) {
    return reject(401, 'unauthorized', 'a valid bearer token is required (Authorization: Bearer TOKEN)', {
      headers: { 'www-authenticate': 'Bearer realm="netready"' },
    });
  }
  if (!isJsonContentType(headers['content-type']))
    return reject(415, 'unsupported_media_type', 'the body must be JSON (Content-Type: application/json)');
  const declared = headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) return tooLarge();
  return null;
}

/** The rejection for a body over MAX_BODY_BYTES. */
export function tooLarge(): Rejection {
  return reject(413, 'too_large', `the body must be at most ${MAX_BODY_BYTES} bytes`);
}

/** `application/json`, optionally with `charset=utf-8`: nothing else is JSON as the agent sends it. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => !p.startsWith('charset=') || p === 'charset=utf-8' || p === 'charset="utf-8"');
}

/** Compares in constant time (over digests, so the token's length does not leak either). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A validated document of one of the contract's kinds. */
export type Decoded =
  | { ok: true; kind: 'start'; report: Report }
  | { ok: true; kind: 'outage'; outage: Outage }
  | { ok: false; rejection: Rejection };

/**
 * Decodes and validates a POST /v1/reports body: a start report (kind `start`
 * or none) or an outage; any other kind is a 400 naming `kind`. Unknown fields
 * are dropped; `__proto__` keys are plain keys to JSON.parse and dropped by the schema.
 */
export function decodeDocument(body: Uint8Array): Decoded {
  let doc: unknown;
  try {
    doc = JSON.parse(utf8.decode(body));
  } catch {
    // The parser's message quotes the input: not echoed back.
    return { ok: false, rejection: reject(400, 'invalid_json', 'the body is not valid UTF-8 JSON') };
  }
  const kind =
    typeof doc === 'object' && doc !== null && Object.hasOwn(doc, 'kind') ? (doc as { kind: unknown }).kind : 'start';
  if (kind === 'outage') {
    const result = outageSchema.safeParse(doc);
    return result.success
      ? { ok: true, kind, outage: result.data }
      : { ok: false, rejection: invalid(result.error.issues, 'the outage document does not match the v1 schema') };
  }
  if (kind !== 'start') {
    const issue = { path: 'kind', message: `expected one of ${REPORT_KINDS.join(', ')} (or no kind: start)` };
    return {
      ok: false,
      rejection: withIssues(
        reject(
          400,
          'invalid_report',
          `kind: this collector does not know the document kind ${JSON.stringify(kind).slice(0, MAX_SEGMENT)}`,
        ),
        [issue],
        0,
      ),
    };
  }
  const result = reportSchema.safeParse(doc);
  return result.success
    ? { ok: true, kind, report: result.data }
    : { ok: false, rejection: invalid(result.error.issues, 'the report does not match the v1 schema') };
}

/** The 400 for a document that fails its schema, listing the first MAX_ISSUES issues by path. */
function invalid(all: readonly z.core.$ZodIssue[], what: string): Rejection {
  const issues = all.slice(0, MAX_ISSUES).map((i) => ({ path: formatPath(i.path), message: issueMessage(i) }));
  return withIssues(
    reject(400, 'invalid_report', `${what}: ${issues.map((i) => i.path).join(', ')}`),
    issues,
    all.length - issues.length,
  );
}

function withIssues(r: Rejection, issues: ErrorBody['issues'] & object, more: number): Rejection {
  return { ...r, body: { ...r.body, issues, ...(more > 0 ? { moreIssues: more } : {}) } };
}

/** zod's message, with the reason a record key was refused ("Invalid key in record" alone says little). */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues[0]) return `${issue.message}: ${issue.issues[0].message}`;
  return issue.message;
}

/** `checks.1.errors.timeout`; `(root)` for the document itself. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((p) => (String(p).length > MAX_SEGMENT ? `${String(p).slice(0, MAX_SEGMENT)}…` : String(p)))
    .join('.');
}
