// Real parts for the collector's tests: the collector as a child process
// (`node src/cli.ts collector`), a raw HTTP client that sends exactly what it is
// given, report documents built from the fixtures, and promtool.
import { spawnSync } from 'node:child_process';
import { createServer, request as httpRequest, type Agent, type OutgoingHttpHeaders } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CLI } from '../helpers/agent.ts';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import type { Collector } from '../../src/collector/collector.ts';
import type { Report } from '../../src/lib/report.ts';

/** A temp directory removed when the test ends, passed or failed. */
export function tempDir(t: TestContext, prefix = 'netready-collector-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CollectorProcess extends ServerProcess {
  readonly url: string;
}

/** Starts `netready collector --listen 127.0.0.1:0 ARGS`; resolves once it listens. Killed when the test ends. */
export async function startCollector(
  t: TestContext,
  args: string[],
  options: { env?: Record<string, string>; argv0?: string[] } = {},
): Promise<CollectorProcess> {
  const argv0 = options.argv0 ?? [process.execPath, CLI];
  const p = await startServerProcess(
    t,
    [...argv0, 'collector', '--listen', '127.0.0.1:0', ...args],
    'collector listening',
    options.env,
  );
  return { ...p, url: `http://127.0.0.1:${p.port}` };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json(): any;
}

/** One HTTP request with exactly these headers and body (a Buffer, a string, or chunks sent chunked). */
export function send(
  url: string,
  options: {
    method?: string;
    path?: string;
    headers?: OutgoingHttpHeaders;
    body?: string | Buffer | Buffer[];
    agent?: Agent | false;
  } = {},
): Promise<RawResponse> {
  const target = new URL(options.path ?? '/', url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      target,
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.once('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) }),
        );
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    const body = options.body;
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else {
      req.end(body);
    }
  });
}

/** POSTs a report document (or any value) as JSON. */
export function postReport(
  url: string,
  doc: unknown,
  headers: OutgoingHttpHeaders = {},
  agent?: Agent,
): Promise<RawResponse> {
  const body = Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
  return send(url, {
    method: 'POST',
    path: '/v1/reports',
    headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers },
    body,
    ...(agent ? { agent } : {}),
  });
}

/** A fixture from test/fixtures/reports, parsed. */
export function fixture(name: string): any {
  return JSON.parse(readFileSync(new URL(`../fixtures/reports/${name}`, import.meta.url), 'utf8'));
}

/** valid-ready.json made unique by `i` (uid, name, start time), with `pod` fields overridden. */
export function makeReport(i: number, pod: Partial<Report['pod']> = {}, fields: Partial<Report> = {}): Report {
  const base = fixture('valid-ready.json') as Report;
  const started = Date.parse(base.startedAt) + i;
  return {
    ...base,
    pod: { ...base.pod, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `web-${i}`, ...pod },
    startedAt: new Date(started).toISOString(),
    readyAt: new Date(started + base.delaySeconds * 1000).toISOString(),
    ...fields,
  };
}

/** Runs `promtool check metrics` on `text`; returns its exit code and everything it printed. */
export function promtoolCheck(text: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not runnable (Debian package "prometheus"): ${r.error.message}`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The sample lines of a /metrics text whose name is `name` (histograms: `name_bucket` etc. are named explicitly). */
export function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return text.split('\n').flatMap((line) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) return [];
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    return [{ labels, value: Number(m[3]) }];
  });
}

/** Serves an in-process collector's handler on loopback until the test ends (then closes it); its URL. */
export async function serveCollector(t: TestContext, collector: Collector): Promise<string> {
  const server = createServer(collector.handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await collector.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
