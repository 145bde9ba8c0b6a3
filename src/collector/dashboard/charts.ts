// The dashboard's drawing code, run in the browser: formatting, the per-node
// histogram and the timeline, in inline SVG. Sent as its own source text (see
// page.ts), so it references nothing outside its body but browser globals.
// Text from reports goes into the page only through textContent.
import type { NodeSummary, Summary } from './summary.ts';

/** Builds the drawing helpers; page.ts passes the result to the page script. */
export function dashboardCharts() {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  /** The Kubernetes pod start-up SLO, marked on every chart. */
  const SLO_SECONDS = 5;
  const BAR_W = 12;
  const BAR_STEP = 14;
  const HIST_H = 28;

  type Child = Node | string | null | undefined | false;

  /** An HTML element; strings become text nodes (append never parses markup). */
  function h<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    className?: string,
    ...children: Child[]
  ): HTMLElementTagNameMap[K] {
    const e = document.createElement(tag);
    if (className) e.className = className;
    for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
    return e;
  }

  /** An SVG element; attribute values are numbers or this file's constants, never report data. */
  function s<K extends keyof SVGElementTagNameMap>(
    tag: K,
    attrs: Record<string, string | number>,
    ...children: Child[]
  ): SVGElementTagNameMap[K] {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
    return e;
  }

  /** A hover text: an SVG <title> holding text only. */
  function tip(text: string): SVGTitleElement {
    const t = document.createElementNS(SVG_NS, 'title');
    t.textContent = text;
    return t;
  }

  /** 0.002 -> "2.0 ms", 1.84 -> "1.84 s", 300 -> "5 min 00 s". */
  function delay(sec: number | null): string {
    if (sec === null) return '–';
    if (sec < 0.01) return `${(sec * 1000).toFixed(1)} ms`;
    if (sec < 1) return `${Math.round(sec * 1000)} ms`;
    if (sec < 100) return `${sec.toFixed(2)} s`;
    const m = Math.floor(sec / 60);
    return `${m} min ${String(Math.floor(sec - m * 60)).padStart(2, '0')} s`;
  }

  /** Axis labels: 0.01 -> "10ms", 2.5 -> "2.5s", 120 -> "2m". */
  function short(sec: number): string {
    if (sec < 1) return `${+(sec * 1000).toPrecision(3)}ms`;
    if (sec < 60) return `${+sec.toPrecision(3)}s`;
    if (sec < 3600) return `${+(sec / 60).toPrecision(3)}m`;
    return `${+(sec / 3600).toPrecision(3)}h`;
  }

  /** Local wall-clock time, HH:MM:SS (or HH:MM). */
  function clock(ms: number, seconds = true): string {
    const d = new Date(ms);
    const p = (n: number) => String(n).padStart(2, '0');
    return seconds
      ? `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
      : `${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  /** Local date and time, YYYY-MM-DD HH:MM:SS. */
  function stamp(ms: number): string {
    const d = new Date(ms);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${clock(ms)}`;
  }

  function count(n: number): string {
    return n.toLocaleString('en-US');
  }

  function binLabel(i: number, bounds: readonly number[]): string {
    if (i === 0) return `≤ ${short(bounds[0]!)}`;
    if (i === bounds.length) return `> ${short(bounds.at(-1)!)}`;
    return `${short(bounds[i - 1]!)} – ${short(bounds[i]!)}`;
  }

  /** x of the edge after bin i. */
  const edge = (i: number) => (i + 1) * BAR_STEP - (BAR_STEP - BAR_W) / 2;

  /** The axis above the histogram column: the labelled bin edges and the SLO edge. */
  function histogramAxis(bounds: readonly number[]): SVGSVGElement {
    const w = (bounds.length + 1) * BAR_STEP;
    const svg = s('svg', { width: w, height: 14, viewBox: `0 0 ${w} 14`, class: 'hist-axis', 'aria-hidden': 'true' });
    bounds.forEach((b, i) => {
      if (![0.01, 0.1, 1, SLO_SECONDS, 30, 120].includes(b)) return;
      svg.append(
        s(
          'text',
          { x: edge(i), y: 10, 'text-anchor': 'middle', class: b === SLO_SECONDS ? 'slo-label' : '' },
          short(b),
        ),
      );
    });
    return svg;
  }

  /** One node's delays per bin, each bar scaled to the node's fullest bin; bins beyond the SLO in the warning colour. */
  function histogram(n: NodeSummary, bounds: readonly number[]): SVGSVGElement {
    const w = n.histogram.length * BAR_STEP;
    const peak = Math.max(1, ...n.histogram);
    const slo = bounds.indexOf(SLO_SECONDS);
    const svg = s(
      'svg',
      { width: w, height: HIST_H, viewBox: `0 0 ${w} ${HIST_H}`, class: 'hist', role: 'img' },
      tip(`delay histogram of ${n.node}`),
    );
    n.histogram.forEach((c, i) => {
      const x = i * BAR_STEP;
      svg.append(s('rect', { x, y: HIST_H - 1, width: BAR_W, height: 1, class: 'hist-base' }));
      if (c === 0) return;
      const bh = Math.max(2, Math.round(((HIST_H - 2) * c) / peak));
      svg.append(
        s(
          'rect',
          { x, y: HIST_H - 1 - bh, width: BAR_W, height: bh, class: i > slo ? 'bar over' : 'bar' },
          tip(`${binLabel(i, bounds)}: ${count(c)}`),
        ),
      );
    });
    if (slo >= 0) svg.append(s('line', { x1: edge(slo), x2: edge(slo), y1: 0, y2: HIST_H, class: 'slo' }));
    return svg;
  }

  /** Tops of the delay axis, seconds. */
  const TOPS = [10, 60, 120, 300, 600, 1800, 3600];
  const Y_TICKS = [0.001, 0.01, 0.1, 1, 10, 60, 600];
  /** Steps for the time axis, the first that gives at most 8 ticks is used. */
  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map(
    (x) => x * 1000,
  );

  /** Delay (log scale) over time received: one dot per report, timeouts in red, the SLO as a dashed line. */
  function timeline(sum: Summary, width: number): SVGSVGElement {
    const W = Math.max(320, Math.floor(width));
    const H = 240;
    const m = { l: 52, r: 14, t: 10, b: 26 };
    const now = Date.parse(sum.generatedAt);
    const times = sum.timeline.map((p) => Date.parse(p.receivedAt));
    // From the oldest point shown (at least a minute back) to now.
    const t1 = now;
    let t0 = Math.min(now - 60_000, ...times);
    t0 -= (t1 - t0) * 0.02;
    // Log scale from 1 ms to the first of TOPS above every delay shown.
    const longest = Math.max(0, ...sum.timeline.map((p) => p.delaySeconds));
    const top = TOPS.find((v) => v >= longest) ?? TOPS.at(-1)!;
    const lo = -3;
    const hi = Math.log10(top);
    const x = (t: number) => m.l + ((t - t0) / (t1 - t0)) * (W - m.l - m.r);
    const y = (d: number) => {
      const v = Math.min(hi, Math.max(lo, Math.log10(Math.max(d, 1e-3))));
      return m.t + (1 - (v - lo) / (hi - lo)) * (H - m.t - m.b);
    };
    const svg = s(
      'svg',
      { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'timeline', role: 'img' },
      tip('delay of recent reports over time'),
    );
    // Ticks too close below the top (1m under 2m) would print over its label.
    for (const v of [...Y_TICKS.filter((v) => Math.log10(top / v) >= 0.5), top]) {
      const yy = y(v);
      svg.append(s('line', { x1: m.l, x2: W - m.r, y1: yy, y2: yy, class: 'grid' }));
      svg.append(s('text', { x: m.l - 6, y: yy + 3.5, 'text-anchor': 'end', class: 'axis' }, short(v)));
    }
    const step = TIME_STEPS.find((st) => (t1 - t0) / st <= 8) ?? TIME_STEPS.at(-1)!;
    // Ticks on local-time multiples of the step.
    const offset = new Date(t0).getTimezoneOffset() * 60_000;
    for (let t = Math.ceil((t0 - offset) / step) * step + offset; t <= t1; t += step) {
      svg.append(s('line', { x1: x(t), x2: x(t), y1: m.t, y2: H - m.b, class: 'grid' }));
      svg.append(
        s('text', { x: x(t), y: H - m.b + 16, 'text-anchor': 'middle', class: 'axis' }, clock(t, step < 60_000)),
      );
    }
    const ys = y(SLO_SECONDS);
    svg.append(s('line', { x1: m.l, x2: W - m.r, y1: ys, y2: ys, class: 'slo' }));
    svg.append(
      s('text', { x: W - m.r - 4, y: ys - 4, 'text-anchor': 'end', class: 'slo-label' }, `${SLO_SECONDS} s SLO`),
    );
    // Oldest first, so that the newest dots are drawn on top.
    for (let i = sum.timeline.length - 1; i >= 0; i--) {
      const p = sum.timeline[i]!;
      const label = `${p.namespace}/${p.pod} on ${p.node}: ${delay(p.delaySeconds)}${p.outcome === 'timeout' ? ', timed out' : ''} (${clock(times[i]!)})`;
      svg.append(
        s(
          'circle',
          { cx: x(times[i]!), cy: y(p.delaySeconds), r: 3.5, class: p.outcome === 'timeout' ? 'dot timeout' : 'dot' },
          tip(label),
        ),
      );
    }
    return svg;
  }

  return { h, delay, short, clock, stamp, count, histogram, histogramAxis, timeline };
}

/** What dashboardCharts() returns, as the page script receives it. */
export type Charts = ReturnType<typeof dashboardCharts>;
