// The dashboard over HTTP from a real collector process: GET / is one
// self-contained page whose Content-Security-Policy allows its own inline
// script and style (by hash) and fetches to its origin, nothing else; GET
// /v1/summary answers from the store, so it survives a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { makeReport, postReport, send, startCollector, tempDir } from './helpers.ts';

/** The only URL-looking string the page may carry: an XML namespace name, never fetched. */
const SVG_NAMESPACE = 'http://www.w3.org/2000/svg';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

test('GET /: a self-contained page, its CSP allowing only its own inline script and style and fetches to its origin', async (t) => {
  const c = await startCollector(t, ['--db', ':memory:']);
  const res = await send(c.url, { path: '/' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.text));

  const html = res.text;
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  const styles = [...html.matchAll(/<style([^>]*)>([\s\S]*?)<\/style>/g)];
  assert.deepEqual([scripts.length, styles.length], [1, 1]);
  assert.equal(scripts[0]![1], '', 'the script is inline, no src');

  const csp = Object.fromEntries(
    String(res.headers['content-security-policy'])
      .split(';')
      .map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values];
      }),
  );
  assert.deepEqual(csp, {
    'default-src': ["'none'"],
    'script-src': [sha256(scripts[0]![2]!)],
    'style-src': [sha256(styles[0]![2]!)],
    'connect-src': ["'self'"],
    'img-src': ['data:'],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'none'"],
    'require-trusted-types-for': ["'script'"],
    'trusted-types': ["'none'"],
  });

  // No URL anywhere but the SVG namespace name; every src/href is inline data.
  const urls = [...html.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"`<>)\\]*/gi)].map((m) => m[0]);
  assert.deepEqual(new Set(urls), new Set([SVG_NAMESPACE]));
  for (const m of html.matchAll(/\b(?:src|href|action|srcset)\s*=\s*["']?([^"'\s>]*)/gi))
    assert.match(m[1]!, /^data:/, m[0]);
  assert.doesNotMatch(html, /@import|url\(|\/\/cdn|innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  // The page fetches its data relative to where it is served.
  assert.match(html, /fetch\(`v1\/summary\?since=/);

  const head = await send(c.url, { method: 'HEAD', path: '/' });
  assert.equal(head.status, 200);
  assert.equal(head.text, '');
  assert.equal((await send(c.url, { method: 'POST', path: '/' })).status, 405);
});

test(
  'GET /v1/summary: per-node figures from the store, bad queries named, the same after a restart',
  { timeout: 30_000 },
  async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'reports.db');
    const c = await startCollector(t, ['--db', db]);
    const sent = [
      makeReport(1, { node: 'node-a', name: 'a-1' }, { delaySeconds: 0.2 }),
      makeReport(2, { node: 'node-a', name: 'a-2' }, { delaySeconds: 0.4 }),
      makeReport(3, { node: 'node-b', name: 'b-1' }, { delaySeconds: 12, outcome: 'timeout', readyAt: null }),
    ];
    for (const r of sent) assert.equal((await postReport(c.url, r)).status, 202);

    const res = await send(c.url, { path: '/v1/summary?since=10m' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['cache-control'], 'no-store');
    const s = res.json();
    assert.deepEqual(Object.keys(s), [
      'generatedAt',
      'since',
      'limits',
      'precision',
      'buckets',
      'totals',
      'nodes',
      'namespaces',
      'timeline',
      'slowest',
    ]);
    // The window starts at the minute `since` falls in.
    const span = Date.parse(s.generatedAt) - Date.parse(s.since);
    assert.ok(span >= 10 * 60_000 && span < 11 * 60_000, String(span));
    assert.equal(Date.parse(s.since) % 60_000, 0);
    assert.deepEqual(s.totals, {
      reports: 3,
      timeouts: 1,
      nodes: 2,
      namespaces: 1,
      p50: 0.4,
      p90: 12,
      p99: 12,
      max: 12,
    });
    assert.deepEqual(
      s.nodes.map((n: any) => [n.node, n.reports, n.timeouts, n.p50, n.p90, n.p99, n.max]),
      [
        ['node-b', 1, 1, 12, 12, 12, 12],
        ['node-a', 2, 0, 0.2, 0.4, 0.4, 0.4],
      ],
    );
    assert.deepEqual(
      s.timeline.map((p: any) => p.pod),
      ['b-1', 'a-2', 'a-1'],
    );
    assert.deepEqual(
      s.slowest.map((p: any) => [p.pod.name, p.outcome, p.checks.length]),
      [
        ['b-1', 'timeout', 3],
        ['a-2', 'ready', 3],
        ['a-1', 'ready', 3],
      ],
    );
    assert.equal(s.slowest[0].pod.uid, undefined, 'no uid or IPs on the dashboard');

    for (const [query, message] of [
      ['since=yesterday', /^since: expected an RFC 3339 time/],
      ['node=node-a', /^node: unknown parameter/],
    ] as const) {
      const bad = await send(c.url, { path: `/v1/summary?${query}` });
      assert.equal(bad.status, 400);
      assert.equal(bad.json().error, 'invalid_query');
      assert.match(bad.json().message, message);
    }
    assert.equal((await send(c.url, { method: 'POST', path: '/v1/summary' })).status, 405);
    assert.equal((await send(c.url, { path: '/v1/summary?since=2000-01-01T00:00:00Z' })).json().totals.reports, 3);

    // After a restart the counters start from zero; the dashboard's history does not.
    c.child.kill('SIGTERM');
    assert.equal((await c.exited).code, 0);
    const again = await startCollector(t, ['--db', db]);
    const after = (await send(again.url, { path: '/v1/summary' })).json();
    assert.deepEqual(after.nodes, s.nodes);
    assert.deepEqual(after.slowest, s.slowest);
  },
);
