// A real OTLP/HTTP receiver on loopback for the collector's push tests: a
// node:http server that decodes each OTLP JSON request (the exporter of
// @opentelemetry/exporter-metrics-otlp-http sends JSON) into plain records.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { METRICS } from '../../src/collector/metrics.ts';

export type Attrs = Record<string, string>;
export interface Point {
  readonly attributes: Attrs;
  readonly value?: number;
  readonly count?: number;
  readonly sum?: number;
  readonly bucketCounts?: number[];
  readonly explicitBounds?: number[];
}
export interface Push {
  readonly resource: Attrs;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Metric name -> its kind, temporality and data points. */
  readonly metrics: Map<
    string,
    { kind: 'histogram' | 'sum' | 'gauge'; temporality?: number; unit: string; points: Point[] }
  >;
}

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly pushes: Push[];
  /** Requests that were not OTLP JSON on POST /v1/metrics. */
  readonly problems: string[];
  close(): Promise<void>;
}

/** OTLP JSON attributes (`[{key, value: {stringValue}}]`) as a plain record. */
const attrs = (list: { key: string; value: Record<string, unknown> }[] = []): Attrs =>
  Object.fromEntries(list.map((a) => [a.key, String(Object.values(a.value)[0])]));
/** OTLP JSON encodes 64-bit integers as numbers or decimal strings. */
const num = (v: unknown): number => Number(v);

function decode(body: any, headers: Push['headers']): Push {
  assert.equal(body.resourceMetrics.length, 1, 'one resource per push');
  const rm = body.resourceMetrics[0];
  const metrics: Push['metrics'] = new Map();
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      if (m.histogram) {
        metrics.set(m.name, {
          kind: 'histogram',
          temporality: m.histogram.aggregationTemporality,
          unit: m.unit,
          points: m.histogram.dataPoints.map((p: any) => ({
            attributes: attrs(p.attributes),
            count: num(p.count),
            sum: num(p.sum),
            bucketCounts: p.bucketCounts.map(num),
            explicitBounds: p.explicitBounds.map(num),
          })),
        });
      } else {
        const data = m.sum ?? m.gauge;
        metrics.set(m.name, {
          kind: m.sum ? 'sum' : 'gauge',
          temporality: data.aggregationTemporality,
          unit: m.unit,
          points: data.dataPoints.map((p: any) => ({
            attributes: attrs(p.attributes),
            value: num(p.asInt ?? p.asDouble),
          })),
        });
      }
    }
  }
  return { resource: attrs(rm.resource.attributes), headers, metrics };
}

/** An OTLP/HTTP receiver on 127.0.0.1 (`port` 0: any); closed when the test ends. */
export async function startReceiver(t: TestContext, port = 0): Promise<Receiver> {
  const pushes: Push[] = [];
  const problems: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const type = req.headers['content-type'] ?? '';
      if (req.method !== 'POST' || req.url !== '/v1/metrics' || !type.startsWith('application/json')) {
        problems.push(`${req.method} ${req.url} ${type}`);
        return void res.writeHead(415).end();
      }
      try {
        pushes.push(decode(JSON.parse(Buffer.concat(chunks).toString('utf8')), req.headers));
      } catch (err) {
        problems.push(`undecodable push: ${(err as Error).message}`);
      }
      // An ExportMetricsServiceResponse without partial success.
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let closed: Promise<void> | null = null;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  t.after(close);
  const bound = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${bound}`, port: bound, pushes, problems, close };
}

/** A loopback port that nothing listens on (taken and released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `probe` every 50 ms until it returns a value other than undefined; fails after `ms`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The value of netready_reports_total in a push. */
export const reportsTotal = (p: Push): number | undefined => p.metrics.get(METRICS.reports.name)?.points[0]?.value;
/** The first push whose reports total is `n`. */
export const pushWith = (r: Receiver, n: number) =>
  waitFor(`a push with ${n} reports`, () => r.pushes.find((p) => reportsTotal(p) === n));
