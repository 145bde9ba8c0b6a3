// The dashboard in a real browser: Debian's headless Chromium driven by
// playwright-core, against a real collector (from src/, and from the bundle
// copied alone) fed real reports over HTTP. It checks what an operator reads
// off the page, that a hostile pod name stays text, that the page refreshes
// itself, that nothing is logged to the console and that no request leaves
// loopback; it saves a screenshot in the test's temp directory (copied to
// $NETREADY_SCREENSHOT_DIR when set, for a look after the run).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../helpers/agent.ts';
import type { Report } from '../../src/lib/report.ts';
import { fixture, makeReport, postReport, startCollector, type CollectorProcess } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
// A missing browser fails the test, never skips it.
const MISSING = `${CHROMIUM} is not installed (Debian package chromium; sudo npm test installs it)`;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const HOSTILE = '<img src=x onerror=alert(1)>';
/** Bound on every wait in the page; the page itself refreshes every 5 s. */
const WAIT_MS = 15_000;

interface Browsing {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors, uncaught exceptions, CSP violations, dialogs. */
  readonly problems: string[];
  /** Requests for anything but the collector (aborted, so none leaves). */
  readonly strayRequests: string[];
}

/**
 * A temp directory and Chromium with a fresh profile in it. One hook cleans up,
 * in this order, whatever happened: the browser (bounded), then the directory.
 */
async function openBrowser(t: TestContext, allowedOrigin: () => string): Promise<Browsing & { readonly dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'netready-dashboard-'));
  let context: BrowserContext | undefined;
  t.after(async () => {
    if (context) await Promise.race([context.close(), new Promise((r) => setTimeout(r, 5_000).unref())]);
    rmSync(dir, { recursive: true, force: true });
  });
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    timeout: WAIT_MS,
    viewport: { width: 1280, height: 900 },
  });
  const problems: string[] = [];
  const strayRequests: string[] = [];
  // Everything the page asks for goes through here: the collector's origin passes, the rest is recorded and refused.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === allowedOrigin()) return route.continue();
    strayRequests.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith('data:') && new URL(url).origin !== allowedOrigin() && !strayRequests.includes(url))
      strayRequests.push(url);
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT_MS);
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  return { context, page, problems, strayRequests, dir };
}

/** A ready report on `node` with the fixture's three checks, their times scaled to `delay`. */
function readyReport(i: number, node: string, name: string, delay: number): Report {
  const r = makeReport(i, { node, name, namespace: 'shop' }, { delaySeconds: delay });
  return {
    ...r,
    checks: r.checks.map((c) => ({
      ...c,
      readyAfterSeconds: c.readyAfterSeconds === null ? null : Math.min(delay, c.readyAfterSeconds),
    })),
  };
}

async function post(c: CollectorProcess, reports: Report[]): Promise<void> {
  for (const r of reports) assert.equal((await postReport(c.url, r)).status, 202);
}

const nodeNames = (page: Page) => page.locator('#nodes-body td.node').allTextContents();
const cellsOf = (page: Page, node: string) =>
  page
    .locator('#nodes-body tr')
    .filter({ has: page.locator('td.node', { hasText: new RegExp(`^${node}$`) }) })
    .locator('td')
    .allTextContents();

test(
  'the dashboard in headless Chromium shows the ingested reports, slowest nodes first, and refreshes itself',
  { timeout: 60_000 },
  async (t) => {
    assert.ok(existsSync(CHROMIUM), MISSING);
    let origin = '';
    const b = await openBrowser(t, () => origin);
    const c = await startCollector(t, ['--db', join(b.dir, 'reports.db')]);
    origin = c.url;

    // node-fast: three quick pods, one with a hostile name. node-slow: the
    // fixture's pod (checks at 2 ms, 1.83 s, 1.84 s) and one that timed out.
    const timedOut: Report = {
      ...(fixture('valid-timeout.json') as Report),
      pod: { ...(fixture('valid-timeout.json') as Report).pod, node: 'node-slow' },
      delaySeconds: 30.002,
    };
    await post(c, [
      readyReport(1, 'node-fast', 'api-5d8c7-aaaaa', 0.041),
      readyReport(2, 'node-fast', HOSTILE, 0.083),
      readyReport(3, 'node-fast', 'api-5d8c7-ccccc', 0.12),
      makeReport(4, { node: 'node-slow', name: 'web-7d9f8c6b5-x2k4q' }),
      timedOut,
    ]);

    const { page } = b;
    const res = await page.goto(`${c.url}/`);
    assert.equal(res?.status(), 200);
    await page.locator('#nodes-body td.node').first().waitFor();
    assert.deepEqual(await nodeNames(page), ['node-slow', 'node-fast']);
    // node, reports, timeouts, p50, p90, p99, max, (histogram)
    assert.deepEqual((await cellsOf(page, 'node-slow')).slice(0, 7), [
      'node-slow',
      '2',
      '1',
      '1.84 s',
      '30.00 s',
      '30.00 s',
      '30.00 s',
    ]);
    assert.deepEqual((await cellsOf(page, 'node-fast')).slice(0, 7), [
      'node-fast',
      '3',
      '0',
      '83 ms',
      '120 ms',
      '120 ms',
      '120 ms',
    ]);
    assert.deepEqual(await page.locator('#totals .tile').allInnerTexts(), [
      '5\nREPORTS',
      '2\nNODES',
      '1\nTIMEOUTS',
      '120 ms\nP50 DELAY',
      '30.00 s\nP90 DELAY',
      '30.00 s\nP99 DELAY',
    ]);

    // The slowest pods: the timeout first, then the fixture's pod with its checks.
    const slowRows = page.locator('#slowest-body tr');
    assert.deepEqual(await slowRows.locator('.pod-name').allTextContents(), [
      'batch-import-28861945-vx9zq',
      'web-7d9f8c6b5-x2k4q',
      'api-5d8c7-ccccc',
      HOSTILE,
      'api-5d8c7-aaaaa',
    ]);
    assert.match(await slowRows.nth(0).innerText(), /timed out/);
    const checks = slowRows.nth(1).locator('.check');
    assert.deepEqual(await checks.locator('.spec').allTextContents(), ['gateway', 'dns', 'kubernetes']);
    assert.deepEqual(await checks.locator('.time').allTextContents(), ['2.0 ms', '1.83 s', '1.84 s']);
    assert.deepEqual(await checks.locator('.muted').allTextContents(), [
      '1 attempt',
      '71 attempts · timeout 3, dns_servfail 2',
      '74 attempts · unreachable 1',
    ]);
    assert.deepEqual(await slowRows.nth(0).locator('.check .time').allTextContents(), [
      '4.0 ms',
      'not ready',
      'not ready',
    ]);

    // The hostile name is text: shown as typed, no element made of it, no script run.
    assert.equal(await page.getByText(HOSTILE, { exact: true }).count(), 1);
    assert.equal(await page.locator('img').count(), 0);
    // The timeline: one dot per report, the timeout in red, its hover text naming the pod.
    assert.equal(await page.locator('#timeline circle.dot').count(), 5);
    assert.equal(await page.locator('#timeline circle.dot.timeout').count(), 1);
    assert.equal(await page.locator('#timeline circle title').filter({ hasText: HOSTILE }).count(), 1);

    // It refreshes: a new, slower node appears without a reload.
    await post(c, [readyReport(5, 'node-late', 'late-pod-1', 9.5)]);
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#nodes-body td.node')].map((e) => e.textContent).join() ===
        'node-slow,node-late,node-fast',
      undefined,
      { timeout: WAIT_MS },
    );
    assert.deepEqual((await cellsOf(page, 'node-late')).slice(0, 3), ['node-late', '1', '0']);
    assert.equal(await page.locator('#timeline circle.dot').count(), 6);
    assert.match(await page.locator('#status').innerText(), /^updated \d\d:\d\d:\d\d$/);

    const shot = join(b.dir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    saveForReview(t, shot, 'dashboard.png');

    assert.deepEqual(b.problems, []);
    assert.deepEqual(b.strayRequests, []);
  },
);

test(
  'the dashboard from the bundle copied alone renders in Chromium (its script survives minification)',
  { timeout: 60_000 },
  async (t) => {
    assert.ok(existsSync(CHROMIUM), MISSING);
    let origin = '';
    const b = await openBrowser(t, () => origin);
    execFileSync(process.execPath, ['scripts/build.ts', join(b.dir, 'build')], { cwd: ROOT, stdio: 'pipe' });
    const app = join(b.dir, 'alone', 'app');
    cpSync(join(b.dir, 'build'), app, { recursive: true });
    const c = await startCollector(t, ['--db', join(b.dir, 'reports.db')], {
      argv0: [process.execPath, join(app, 'netready.mjs')],
    });
    origin = c.url;
    await post(c, [readyReport(1, 'bundle-node-a', 'pod-a', 0.2), readyReport(2, 'bundle-node-b', HOSTILE, 3.5)]);

    const { page } = b;
    await page.goto(`${c.url}/`);
    await page.locator('#nodes-body td.node').first().waitFor();
    assert.deepEqual(await nodeNames(page), ['bundle-node-b', 'bundle-node-a']);
    assert.deepEqual(await page.locator('#slowest-body .pod-name').allTextContents(), [HOSTILE, 'pod-a']);
    assert.equal(await page.locator('#timeline circle.dot').count(), 2);
    assert.equal(await page.locator('img').count(), 0);
    await page.screenshot({ path: join(b.dir, 'dashboard-bundle.png'), fullPage: true });
    assert.deepEqual(b.problems, []);
    assert.deepEqual(b.strayRequests, []);
  },
);

/** Copies a screenshot out of the temp directory (removed after the test) when $NETREADY_SCREENSHOT_DIR names a place to keep it. */
function saveForReview(t: TestContext, file: string, name: string): void {
  const keep = process.env.NETREADY_SCREENSHOT_DIR;
  if (!keep)
    return void t.diagnostic(
      `screenshot: ${file} (removed after the test; set NETREADY_SCREENSHOT_DIR to keep a copy)`,
    );
  mkdirSync(keep, { recursive: true });
  copyFileSync(file, join(keep, name));
  t.diagnostic(`screenshot: ${join(keep, name)}`);
}
