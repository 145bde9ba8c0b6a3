// The dashboard's page script, run in the browser: fetches GET /v1/summary
// and the newest outages (GET /v1/outages) every few seconds and renders them. Written in TypeScript so that tsc checks it
// against the DOM types, and sent as its own source text (see page.ts), so it
// references nothing outside its body but browser globals and its argument.
// Text from reports reaches the page only as text nodes (charts.ts h() and
// textContent), never as markup; the page's CSP enforces that with Trusted Types.
import type { Charts } from './charts.ts';
import type { StoredOutage } from '../store.ts';
import type { SlowPod, Summary } from './summary.ts';

/** Runs the page: the first fetch at once, then one every REFRESH_MS after the previous one ended. */
export function dashboardScript(c: Charts): void {
  const REFRESH_MS = 5000;
  const FETCH_TIMEOUT_MS = 4000;
  const OUTAGES_SHOWN = 20;
  const { h } = c;
  const byId = (id: string) => document.getElementById(id)!;
  const windowSelect = byId('since') as HTMLSelectElement;
  let last: Summary | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let busy = false;
  /** A refresh was asked for while one was under way (the window changed): run it right after. */
  let pending = false;

  function setStatus(text: string, failed: boolean): void {
    const el = byId('status');
    el.textContent = text;
    el.classList.toggle('failed', failed);
  }

  function tile(label: string, value: string, warn = false): HTMLElement {
    return h('div', warn ? 'tile warn' : 'tile', h('div', 'tile-value', value), h('div', 'tile-label', label));
  }

  /** A table cell naming a pod: its name, namespace and node. */
  function podCell(pod: { name: string; namespace: string; node: string }): HTMLTableCellElement {
    return h(
      'td',
      'pod',
      h('div', 'pod-name', pod.name),
      h('div', 'muted', pod.namespace),
      h('div', 'muted pod-node', pod.node),
    );
  }

  function empty(colspan: number, text: string): HTMLTableRowElement {
    const td = h('td', 'empty', text);
    td.colSpan = colspan;
    return h('tr', '', td);
  }

  function renderTotals(sum: Summary): void {
    const t = sum.totals;
    byId('totals').replaceChildren(
      tile('reports', c.count(t.reports)),
      tile('nodes', c.count(t.nodes)),
      tile('timeouts', c.count(t.timeouts), t.timeouts > 0),
      tile('p50 delay', c.delay(t.p50)),
      tile('p90 delay', c.delay(t.p90)),
      tile('p99 delay', c.delay(t.p99), t.p99 !== null && t.p99 > 5),
    );
    const notes: string[] = [];
    if (t.nodes > sum.nodes.length) notes.push(`Showing the ${sum.nodes.length} slowest of ${c.count(t.nodes)} nodes.`);
    byId('notes').textContent = notes.join(' ');
  }

  function renderNodes(sum: Summary): void {
    byId('hist-axis').replaceChildren(c.histogramAxis(sum.buckets));
    const rows = sum.nodes.map((n) =>
      h(
        'tr',
        '',
        h('td', 'node', n.node),
        h('td', 'num', c.count(n.reports)),
        h('td', n.timeouts > 0 ? 'num timeout' : 'num', c.count(n.timeouts)),
        h('td', 'num', c.delay(n.p50)),
        h('td', 'num', c.delay(n.p90)),
        h('td', 'num', c.delay(n.p99)),
        h('td', 'num', c.delay(n.max)),
        h('td', 'dist', c.histogram(n, sum.buckets)),
      ),
    );
    byId('nodes-body').replaceChildren(...(rows.length ? rows : [empty(8, 'No reports in this window.')]));
  }

  function renderNamespaces(sum: Summary): void {
    const rows = sum.namespaces.map((n) =>
      h(
        'tr',
        '',
        h('td', 'node', n.namespace),
        h('td', 'num', c.count(n.reports)),
        h('td', n.timeouts > 0 ? 'num timeout' : 'num', c.count(n.timeouts)),
        h('td', 'num', c.delay(n.p50)),
        h('td', 'num', c.delay(n.p90)),
        h('td', 'num', c.delay(n.p99)),
        h('td', 'num', c.delay(n.max)),
      ),
    );
    byId('namespaces-body').replaceChildren(...(rows.length ? rows : [empty(7, 'No reports in this window.')]));
  }

  function renderTimeline(sum: Summary): void {
    const box = byId('timeline');
    box.replaceChildren(c.timeline(sum, box.clientWidth));
    const shown = sum.timeline.length;
    byId('timeline-note').textContent =
      shown < sum.totals.reports ? `the newest ${c.count(shown)} of ${c.count(sum.totals.reports)} reports` : '';
  }

  function checks(p: SlowPod): HTMLElement {
    return h(
      'div',
      'checks',
      ...p.checks.map((k) => {
        const fill = h('div', k.ok ? 'fill' : 'fill failed');
        // CSSOM, not a style attribute: allowed by the page's CSP.
        fill.style.width = `${k.readyAfterSeconds === null || p.delaySeconds <= 0 ? 100 : Math.min(100, (100 * k.readyAfterSeconds) / p.delaySeconds)}%`;
        const errors = Object.entries(k.errors).map(([cls, n]) => `${cls} ${c.count(n)}`);
        const spec = h('span', 'spec', k.spec);
        spec.title = k.spec;
        return h(
          'div',
          'check',
          h('span', 'kind', k.kind),
          spec,
          h('div', 'track', fill),
          h('span', k.ok ? 'time' : 'time failed', k.ok ? c.delay(k.readyAfterSeconds) : 'not ready'),
          h(
            'span',
            'muted',
            `${c.count(k.attempts)} ${k.attempts === 1 ? 'attempt' : 'attempts'}${errors.length ? ` · ${errors.join(', ')}` : ''}`,
          ),
        );
      }),
    );
  }

  function renderSlowest(sum: Summary): void {
    const rows = sum.slowest.map((p) =>
      h(
        'tr',
        '',
        podCell(p.pod),
        h(
          'td',
          'num',
          h('div', 'delay', c.delay(p.delaySeconds)),
          p.outcome === 'timeout' && h('div', 'badge timeout', 'timed out'),
        ),
        h('td', 'num muted', c.clock(Date.parse(p.receivedAt))),
        h('td', '', checks(p)),
      ),
    );
    byId('slowest-body').replaceChildren(...(rows.length ? rows : [empty(4, 'No reports in this window.')]));
  }

  function renderOutages(outages: readonly StoredOutage[]): void {
    const rows = outages.map(({ outage: o }) => {
      const failed = o.checks.filter((k) => Object.keys(k.errors).length > 0);
      return h(
        'tr',
        '',
        podCell(o.pod),
        h(
          'td',
          'num',
          h('div', 'delay', c.delay(o.durationSeconds)),
          o.dropped > 0 && h('div', 'muted', `${c.count(o.dropped)} before it not sent`),
        ),
        h('td', 'num muted', c.clock(Date.parse(o.startedAt))),
        h(
          'td',
          '',
          ...failed.map((k) =>
            h(
              'div',
              'muted',
              `${k.spec}: ${Object.entries(k.errors)
                .map(([cls, n]) => `${cls} ${c.count(n)}`)
                .join(', ')}`,
            ),
          ),
        ),
      );
    });
    byId('outages-body').replaceChildren(...(rows.length ? rows : [empty(4, 'No outages reported (netready watch).')]));
  }

  function render(sum: Summary): void {
    renderTotals(sum);
    renderNodes(sum);
    renderNamespaces(sum);
    renderTimeline(sum);
    renderSlowest(sum);
    byId('window').textContent = `reports received since ${c.stamp(Date.parse(sum.since))}`;
  }

  async function refresh(): Promise<void> {
    if (busy) return void (pending = true);
    busy = true;
    clearTimeout(timer);
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
    try {
      // Relative: the page works behind a path prefix (kubectl proxy, an ingress).
      const init: RequestInit = { signal: abort.signal, cache: 'no-store', headers: { accept: 'application/json' } };
      const answers = await Promise.all([
        fetch(`v1/summary?since=${encodeURIComponent(windowSelect.value)}`, init),
        fetch(`v1/outages?limit=${OUTAGES_SHOWN}`, init),
      ]);
      for (const res of answers) if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const [sum, outages] = await Promise.all(answers.map((res) => res.json() as Promise<unknown>));
      last = sum as Summary;
      render(last);
      renderOutages((outages as { outages: StoredOutage[] }).outages);
      setStatus(`updated ${c.clock(Date.parse(last.generatedAt))}`, false);
    } catch (err) {
      const e = err as Error;
      setStatus(`refresh failed (${e.name === 'AbortError' ? 'timed out' : e.message}); retrying`, true);
    } finally {
      clearTimeout(deadline);
      busy = false;
      // A hidden tab does not poll; it refreshes when shown again.
      timer = document.hidden ? undefined : setTimeout(() => void refresh(), pending ? 0 : REFRESH_MS);
      pending = false;
    }
  }

  windowSelect.addEventListener('change', () => void refresh());
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && timer === undefined) void refresh();
  });
  let resizing: ReturnType<typeof setTimeout> | undefined;
  window.addEventListener('resize', () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => last && renderTimeline(last), 150);
  });
  void refresh();
}
