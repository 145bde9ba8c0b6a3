// A corpus of bad requests against the real collector process: each one is
// answered with a 4xx naming what is wrong, the process keeps serving after
// every one, and the rejections are counted by reason in /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { OutgoingHttpHeaders } from 'node:http';
import { fixture, makeReport, postReport, samples, send, startCollector, tempDir } from './helpers.ts';

const json = { 'content-type': 'application/json' };
const valid = () => JSON.stringify(makeReport(1));
const MiB = 1024 * 1024;

interface Case {
  name: string;
  method?: string;
  path?: string;
  headers?: OutgoingHttpHeaders;
  /** A string or Buffer goes with Content-Length; an array of Buffers goes chunked. */
  body?: () => string | Buffer | Buffer[];
  status: number;
  /** The `error` of the JSON answer. */
  error: string;
  /** Checks on the JSON answer. */
  check?: (body: any) => void;
}

/** The body's length, unless the case declares its own. */
const withLength = (body: string | Buffer, headers: OutgoingHttpHeaders = json) => ({
  'content-length': Buffer.byteLength(body),
  ...headers,
});

const CORPUS: Case[] = [
  { name: 'truncated JSON', body: () => valid().slice(0, 200), status: 400, error: 'invalid_json' },
  { name: 'empty body', body: () => '', status: 400, error: 'invalid_json' },
  { name: 'not JSON at all', body: () => 'schemaVersion=1&pod=web', status: 400, error: 'invalid_json' },
  {
    name: 'invalid UTF-8',
    body: () => Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]),
    status: 400,
    error: 'invalid_json',
  },
  {
    name: 'JSON null',
    body: () => 'null',
    status: 400,
    error: 'invalid_report',
    check: (b) => assert.equal(b.issues[0].path, '(root)'),
  },
  { name: 'JSON array of reports', body: () => JSON.stringify([makeReport(1)]), status: 400, error: 'invalid_report' },
  {
    name: 'wrong types: delay as a string, attempts as a float, pod.uid as a number',
    body: () => {
      const r: any = makeReport(1);
      r.delaySeconds = '1.84';
      r.checks[1].attempts = 70.5;
      r.pod.uid = 7;
      return JSON.stringify(r);
    },
    status: 400,
    error: 'invalid_report',
    check: (b) =>
      assert.deepEqual(b.issues.map((i: any) => i.path).sort(), ['checks.1.attempts', 'delaySeconds', 'pod.uid']),
  },
  {
    name: 'a fixture with an unknown schema version',
    body: () => JSON.stringify(fixture('invalid-schema-version-2.json')),
    status: 400,
    error: 'invalid_report',
    check: (b) => assert.equal(b.issues[0].path, 'schemaVersion'),
  },
  {
    name: 'a bad error class: the reason, not only "invalid key"',
    body: () => JSON.stringify(fixture('invalid-error-class.json')),
    status: 400,
    error: 'invalid_report',
    check: (b) => assert.match(b.issues[0].message, /lower_snake_case/),
  },
  { name: '10 MB body with Content-Length', body: () => Buffer.alloc(10 * MiB, 0x20), status: 413, error: 'too_large' },
  {
    name: '10 MB body, chunked',
    body: () => Array.from({ length: 160 }, () => Buffer.alloc(64 * 1024, 0x20)),
    status: 413,
    error: 'too_large',
  },
  { name: '64 KiB + 1 byte', body: () => Buffer.alloc(64 * 1024 + 1, 0x20), status: 413, error: 'too_large' },
  {
    name: '100 MB declared: answered without reading',
    headers: { ...json, 'content-length': 100 * MiB },
    body: () => Buffer.alloc(0),
    status: 413,
    error: 'too_large',
  },
  {
    name: 'deep nesting in a known field',
    body: () => `{"schemaVersion":1,"pod":${'['.repeat(30_000)}${']'.repeat(30_000)}}`,
    status: 400,
    error: 'invalid_report',
  },
  {
    name: 'deep object nesting',
    body: () => `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`,
    status: 400,
    error: 'invalid_report',
  },
  {
    name: 'a huge string: pod.name of 60,000 characters',
    body: () => JSON.stringify(makeReport(1, { name: 'x'.repeat(60_000) })),
    status: 400,
    error: 'invalid_report',
    check: (b) => {
      assert.deepEqual(
        b.issues.map((i: any) => i.path),
        ['pod.name'],
      );
      assert.ok(JSON.stringify(b).length < 2000, 'the answer does not echo the input');
    },
  },
  {
    name: 'a huge error-class key: the path in the answer is shortened',
    body: () => {
      const r: any = makeReport(1);
      r.checks[0].errors = { ['k'.repeat(50_000)]: 1 };
      return JSON.stringify(r);
    },
    status: 400,
    error: 'invalid_report',
    check: (b) => assert.ok(b.issues[0].path.length < 100 && b.issues[0].path.endsWith('…')),
  },
  {
    name: '64 bad checks: at most 20 issues listed, the rest counted',
    body: () =>
      JSON.stringify({
        ...makeReport(1),
        checks: Array.from({ length: 64 }, () => ({
          spec: '',
          kind: 'nope',
          ok: 'yes',
          readyAfterSeconds: 'x',
          attempts: -1,
          errors: [],
        })),
      }),
    status: 400,
    error: 'invalid_report',
    check: (b) => {
      assert.equal(b.issues.length, 20);
      assert.ok(b.moreIssues > 300);
    },
  },
  {
    name: 'delays of 1e308 (a histogram _sum of +Inf): bounded by the contract',
    body: () => JSON.stringify({ ...makeReport(1), delaySeconds: 1e308, admissionToReadySeconds: 1e308 }),
    status: 400,
    error: 'invalid_report',
    check: (b) =>
      assert.deepEqual(
        b.issues.map((i: any) => i.path),
        ['delaySeconds', 'admissionToReadySeconds'],
      ),
  },
  {
    name: 'a valid report hidden under __proto__',
    body: () => `{"__proto__":${valid()}}`,
    status: 400,
    error: 'invalid_report',
  },
  {
    name: 'constructor.prototype instead of fields',
    body: () => '{"constructor":{"prototype":{"schemaVersion":1}}}',
    status: 400,
    error: 'invalid_report',
  },
  {
    name: 'Content-Type text/plain',
    headers: { 'content-type': 'text/plain' },
    body: valid,
    status: 415,
    error: 'unsupported_media_type',
  },
  { name: 'no Content-Type', headers: {}, body: valid, status: 415, error: 'unsupported_media_type' },
  {
    name: 'form-encoded',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: valid,
    status: 415,
    error: 'unsupported_media_type',
  },
  {
    name: 'multipart',
    headers: { 'content-type': 'multipart/form-data; boundary=x' },
    body: valid,
    status: 415,
    error: 'unsupported_media_type',
  },
  {
    name: 'JSON in Latin-1',
    headers: { 'content-type': 'application/json; charset=iso-8859-1' },
    body: valid,
    status: 415,
    error: 'unsupported_media_type',
  },
  {
    name: 'a JSON lookalike type',
    headers: { 'content-type': 'application/json-patch+json' },
    body: valid,
    status: 415,
    error: 'unsupported_media_type',
  },
  {
    name: '415 with a 10 MB chunked body',
    headers: { 'content-type': 'text/plain' },
    body: () => Array.from({ length: 160 }, () => Buffer.alloc(64 * 1024, 0x20)),
    status: 415,
    error: 'unsupported_media_type',
  },
  { name: 'PUT', method: 'PUT', body: valid, status: 405, error: 'method_not_allowed' },
  { name: 'DELETE', method: 'DELETE', status: 405, error: 'method_not_allowed' },
  { name: 'an unknown path', path: '/v1/report', body: valid, status: 404, error: 'not_found' },
  {
    name: 'a path with dot segments',
    path: '/v1/../metrics/../../etc/passwd',
    method: 'GET',
    status: 404,
    error: 'not_found',
  },
  { name: 'a bad list query', method: 'GET', path: '/v1/reports?limit=-1', status: 400, error: 'invalid_query' },
  // Issue 13 defect 8: a `since` beyond any Date answered 500 on the summary (Invalid time value).
  ...['/v1/summary', '/v1/reports'].flatMap((route): Case[] => [
    {
      name: `${route} since=99999999999h`,
      method: 'GET',
      path: `${route}?since=99999999999h`,
      status: 400,
      error: 'invalid_query',
      check: (b) => assert.match(b.message, /^since: .*at most 87600h/),
    },
    {
      name: `${route} since of 400 digits (Infinity)`,
      method: 'GET',
      path: `${route}?since=${'9'.repeat(400)}h`,
      status: 400,
      error: 'invalid_query',
      check: (b) => assert.match(b.message, /^since: /),
    },
  ]),
  {
    name: 'slower-than of 400 digits (Infinity)',
    method: 'GET',
    path: `/v1/reports?slower-than=${'9'.repeat(400)}`,
    status: 400,
    error: 'invalid_query',
    check: (b) => assert.match(b.message, /^slower-than: /),
  },
];

/** What /metrics must count: the corpus's POSTs to /v1/reports, by the error they got. */
function expectedRejections(): Record<string, number> {
  const counts: Record<string, number> = {
    unauthorized: 0,
    unsupported_media_type: 0,
    too_large: 0,
    invalid_json: 0,
    invalid_report: 0,
    store_error: 0,
  };
  for (const k of CORPUS)
    if ((k.method ?? 'POST') === 'POST' && (k.path ?? '/v1/reports') === '/v1/reports') counts[k.error]!++;
  return counts;
}

test('every bad request is answered with a 4xx naming the problem, and the collector keeps serving', async (t) => {
  // At debug level, every rejection is logged too: logging a hostile request must not end the process.
  const c = await startCollector(t, ['--db', join(tempDir(t), 'reports.db'), '--log-level', 'debug']);
  for (const k of CORPUS) {
    const body = k.body?.();
    const headers = k.headers ?? json;
    const res = await send(c.url, {
      method: k.method ?? 'POST',
      path: k.path ?? '/v1/reports',
      headers: body === undefined || Array.isArray(body) ? headers : withLength(body, headers),
      ...(body === undefined ? {} : { body }),
    });
    assert.equal(res.status, k.status, `${k.name}: ${res.text.slice(0, 300)}`);
    const answer = res.json();
    assert.equal(answer.error, k.error, k.name);
    assert.equal(typeof answer.message, 'string', k.name);
    k.check?.(answer);
    assert.equal((await send(c.url, { path: '/healthz' })).status, 200, `serving after: ${k.name}`);
  }

  // Garbage that is not HTTP, and headers beyond Node's limit: node:http answers them itself.
  const raw = await rawExchange(c.port, 'NOT-HTTP \x00\x01\r\n\r\n');
  assert.match(raw, /^HTTP\/1\.1 400 /);
  const big = await send(c.url, { path: '/healthz', headers: { 'x-filler': 'a'.repeat(20_000) } });
  assert.equal(big.status, 431);

  // The reports that are valid still go in, and every rejection was counted by its reason.
  assert.equal((await postReport(c.url, makeReport(1))).status, 202);
  const text = (await send(c.url, { path: '/metrics' })).text;
  const rejected = Object.fromEntries(
    samples(text, 'netready_reports_rejected_total').map((s) => [s.labels.reason, s.value]),
  );
  assert.deepEqual(rejected, expectedRejections());
  assert.ok(rejected.invalid_report! >= 10 && rejected.too_large! >= 4);
  assert.equal(c.child.exitCode, null);
});

test('__proto__ keys are stored as nothing: the hostile fixture is accepted with them dropped', async (t) => {
  const c = await startCollector(t, ['--db', ':memory:']);
  const hostile = fixture('hostile-proto-keys.json');
  // JSON.stringify would drop the prototype; send the fixture's own bytes.
  const body = JSON.stringify(hostile).replace('{', '{"__proto__":{"polluted":"top"},');
  assert.match(body, /"__proto__":\{"polluted":"top"\}/);
  const res = await send(c.url, { method: 'POST', path: '/v1/reports', headers: withLength(body), body });
  assert.equal(res.status, 202, res.text);
  const listed = (await send(c.url, { path: '/v1/reports' })).text;
  assert.equal(listed.includes('polluted'), false);
  assert.equal(listed.includes('__proto__'), false);
  // Unknown fields, however large or deep, are dropped, not stored.
  const extra = JSON.stringify({ ...makeReport(2), traceId: 'x'.repeat(40_000) }).replace(
    /}$/,
    `,"nested":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  );
  assert.equal((await postReport(c.url, extra)).status, 202);
  const stored = (await send(c.url, { path: '/v1/reports?limit=1' })).json().reports[0];
  assert.equal(stored.report.pod.name, 'web-2');
  assert.equal('traceId' in stored.report || 'nested' in stored.report, false);
});

/** Writes `data` on a raw TCP connection and returns everything read until the server closes. */
function rawExchange(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s = connect(port, '127.0.0.1', () => s.write(data));
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.once('close', () => resolve(got));
    s.once('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('no answer in 5 s')));
  });
}
