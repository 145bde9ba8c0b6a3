// GET /: the dashboard, one self-contained HTML document. Its script and style
// are inline, and the Content-Security-Policy allows exactly those two (by
// hash) plus fetches to this origin: nothing is loaded from anywhere else, and
// no script can be injected. The script is charts.ts and client.ts sent as
// their own source text (Function.prototype.toString: type-stripped when Node
// runs src/, minified in the bundle), so the page ships inside the program in
// both cases and tsc checks the browser code like the rest.
import { createHash } from 'node:crypto';
import { dashboardCharts } from './charts.ts';
import { dashboardScript } from './client.ts';

const STYLE = `
:root { --bg: #f6f7f9; --card: #fff; --text: #1c2330; --muted: #6a7383; --line: #e3e6eb; --accent: #2f6fdf;
  --warn: #d9480f; --warn-bg: #fff1e8; --ok: #2b8a3e; --grid: #eef0f3; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171c; --card: #1c2027; --text: #e4e7ec; --muted: #949cab; --line: #2c323c; --accent: #6b9bf0;
    --warn: #ff8a4c; --warn-bg: #3a2418; --ok: #5fbf6f; --grid: #262b33; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 18px; }
header .sub { color: var(--muted); }
header .controls { margin-left: auto; display: flex; gap: 14px; align-items: baseline; color: var(--muted); }
select { font: inherit; padding: 2px 6px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--text); }
#status.failed { color: var(--warn); font-weight: 600; }
main { max-width: 1280px; margin: 0 auto; padding: 18px 24px 32px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px; margin-bottom: 18px; overflow-x: auto; }
h2 { margin: 0 0 10px; font-size: 15px; }
h2 .hint { font-weight: 400; color: var(--muted); margin-left: 8px; font-size: 13px; }
.tiles { display: grid; grid-template-columns: repeat(6, minmax(110px, 1fr)); gap: 12px; margin-bottom: 8px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; }
.tile-value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile.warn .tile-value { color: var(--warn); }
#notes { color: var(--muted); margin: 0 0 14px; min-height: 1em; }
table { border-collapse: collapse; width: 100%; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: bottom; }
td { padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
tbody tr:last-child td { border-bottom: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num { text-align: right; }
td.node, td.pod { max-width: 320px; overflow-wrap: anywhere; }
td.node { min-width: 9em; }
td.pod { min-width: 16em; }
.pod-node { font-size: 12px; }
td.dist { padding-top: 3px; padding-bottom: 3px; }
td.timeout, .time.failed { color: var(--warn); font-weight: 600; }
td.empty { color: var(--muted); text-align: center; padding: 18px; }
.muted { color: var(--muted); }
.pod-name { font-weight: 600; }
.delay { font-weight: 600; }
.badge { display: inline-block; margin-top: 3px; padding: 0 7px; border-radius: 9px; font-size: 11px; font-weight: 600; }
.badge.timeout { background: var(--warn-bg); color: var(--warn); }
svg { display: block; }
svg text { fill: var(--muted); font-size: 10px; font-family: inherit; }
svg text.slo-label { fill: var(--warn); }
.hist .bar { fill: var(--accent); }
.hist .bar.over { fill: var(--warn); }
.hist-base { fill: var(--line); }
line.slo { stroke: var(--warn); stroke-dasharray: 3 3; stroke-width: 1; opacity: .8; }
line.grid { stroke: var(--grid); }
#timeline { width: 100%; }
.dot { fill: var(--accent); fill-opacity: .75; }
.dot.timeout { fill: var(--warn); fill-opacity: .9; }
.legend { display: flex; gap: 16px; color: var(--muted); font-size: 12px; margin-top: 4px; }
.legend .key::before { content: ""; display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; background: var(--accent); }
.legend .key.timeout::before { background: var(--warn); }
.legend #timeline-note { margin-left: auto; }
.legend .key.slo::before { border-radius: 0; height: 0; border-top: 2px dashed var(--warn); background: none; vertical-align: middle; width: 14px; }
.checks { display: grid; gap: 3px; min-width: 680px; }
/* Fixed columns: the checks of every pod line up. */
.check { display: grid; grid-template-columns: 60px 190px 110px 76px minmax(200px, 1fr); gap: 10px; align-items: center; font-size: 13px; }
.kind { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
.spec { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12px; }
.track { height: 6px; background: var(--grid); border-radius: 3px; overflow: hidden; }
.fill { height: 100%; background: var(--ok); }
.fill.failed { background: var(--warn); }
.time { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
footer { color: var(--muted); text-align: center; font-size: 12px; padding-bottom: 24px; }
`;

/** The page's script: the charts helpers built, then handed to the page script. */
function script(): string {
  return `"use strict";(${dashboardScript.toString()})((${dashboardCharts.toString()})());`;
}

function html(style: string, js: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>netready collector</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='6' fill='%232f6fdf'/%3E%3C/svg%3E">
<style>${style}</style>
</head>
<body>
<header>
  <h1>netready</h1>
  <span class="sub">how long pods waited for a working network</span>
  <div class="controls">
    <label>window
      <select id="since">
        <option value="15m">15 minutes</option>
        <option value="1h" selected>1 hour</option>
        <option value="6h">6 hours</option>
        <option value="24h">24 hours</option>
        <option value="168h">7 days</option>
      </select>
    </label>
    <span id="status" role="status">loading…</span>
  </div>
</header>
<main>
  <div class="tiles" id="totals"></div>
  <p id="notes"></p>
  <section aria-labelledby="h-nodes">
    <h2 id="h-nodes">Nodes, slowest first<span class="hint">delay from agent start to a working network; a timeout counts with the time it gave up after</span></h2>
    <table id="nodes">
      <thead><tr><th>node</th><th class="num">reports</th><th class="num">timeouts</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">max</th><th id="hist-axis"></th></tr></thead>
      <tbody id="nodes-body"></tbody>
    </table>
  </section>
  <section aria-labelledby="h-namespaces">
    <h2 id="h-namespaces">Namespaces, slowest first<span class="hint">the same figures per pod namespace</span></h2>
    <table id="namespaces">
      <thead><tr><th>namespace</th><th class="num">reports</th><th class="num">timeouts</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">max</th></tr></thead>
      <tbody id="namespaces-body"></tbody>
    </table>
  </section>
  <section aria-labelledby="h-timeline">
    <h2 id="h-timeline">Timeline<span class="hint">delay of each recent report, by the time it arrived</span></h2>
    <div id="timeline"></div>
    <div class="legend"><span class="key">ready</span><span class="key timeout">timed out</span><span class="key slo">5 s start-up SLO</span><span id="timeline-note"></span></div>
  </section>
  <section aria-labelledby="h-slowest">
    <h2 id="h-slowest">Slowest pods<span class="hint">with the time each check passed, from agent start</span></h2>
    <table id="slowest">
      <thead><tr><th>pod · namespace · node</th><th class="num">delay</th><th class="num">received</th><th>checks</th></tr></thead>
      <tbody id="slowest-body"></tbody>
    </table>
  </section>
  <section aria-labelledby="h-outages">
    <h2 id="h-outages">Network outages<span class="hint">the newest 20 that netready watch reported, any time: a running pod's checks failing until they passed again</span></h2>
    <table id="outages">
      <thead><tr><th>pod · namespace · node</th><th class="num">duration</th><th class="num">started</th><th>failed checks</th></tr></thead>
      <tbody id="outages-body"></tbody>
    </table>
  </section>
</main>
<footer><span id="window"></span> · refreshes every 5 s · from this collector's store</footer>
<script>${js}</script>
</body>
</html>
`;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export interface DashboardPage {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

let built: DashboardPage | undefined;

/** The page and its response headers, built on first use. */
export function dashboardPage(): DashboardPage {
  if (built) return built;
  const js = script();
  const body = Buffer.from(html(STYLE, js));
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(js)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
  built = {
    body,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(body.length),
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    },
  };
  return built;
}
