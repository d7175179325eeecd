// Small SVG bar charts for the Statistics section, drawn with DOM calls only: the CSP allows
// no inline styles, so every colour and font comes from dashboard.css through class names, and
// geometry goes into plain SVG attributes. Charts are pictures (role="img" with a summary in
// words); the data tables next to them are the accessible alternative.

import { h } from './dom.js';
import { formatNumber } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element; attributes with null/undefined/false values are skipped. */
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Two decimals are plenty for pixels and keep the markup short. */
const px = (v) => Math.round(v * 100) / 100;

/**
 * A "nice" top for the value axis and the step between its ticks (1, 2 or 5 × 10^n), at most
 * `maxTicks` steps. Counts are whole numbers, so steps never go below 1.
 */
export function niceScale(max, maxTicks = 5) {
  if (!(max > 0)) return { top: 1, step: 1 };
  const rough = max / maxTicks;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= rough));
  return { top: Math.ceil(max / step) * step, step };
}

/**
 * A bar chart as an <svg>.
 *
 * - key: the contract's name of the data (`data-chart`).
 * - categories: [{tick, title}]: `tick` under the axis, `title` in each bar's tooltip.
 * - series: [{name, cls, values}]: `cls` picks the colour (`.series-<cls>` in the CSS).
 * - stacked: series on top of each other (else side by side).
 * - xTitle, yTitle: the axis titles; label: the chart's summary in words (aria-label).
 * - width: drawing width in CSS pixels, so that text is drawn at its real size.
 */
export function barChart({
  key,
  categories,
  series,
  stacked = false,
  xTitle,
  yTitle,
  label,
  width = 640,
  height = 240,
  formatValue = formatNumber,
}) {
  const W = Math.max(280, Math.round(width));
  const H = height;
  const n = Math.max(1, categories.length);
  const val = (se, i) => (Number.isFinite(se.values[i]) && se.values[i] > 0 ? se.values[i] : 0);
  const heights = categories.map((_, i) =>
    stacked ? series.reduce((sum, se) => sum + val(se, i), 0) : Math.max(0, ...series.map((se) => val(se, i))),
  );
  const { top, step } = niceScale(Math.max(0, ...heights));

  // The left margin fits the widest tick label plus the rotated axis title.
  const tickChars = Math.max(...[0, top].map((v) => formatValue(v).length));
  const m = { top: 12, right: 10, bottom: 50, left: 30 + tickChars * 7.5 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const y = (v) => m.top + ph - (v / top) * ph;

  const svg = s('svg', {
    class: `stat-chart${stacked ? ' chart-stacked' : ''}`,
    'data-chart': key,
    role: 'img',
    'aria-label': label,
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    height: H,
    focusable: 'false',
  });

  // Grid lines and value ticks; the zero line doubles as the category axis.
  const grid = s('g', { class: 'chart-grid' });
  const yTicks = s('g', { class: 'chart-ticks chart-ticks-y' });
  for (let i = 0; i * step <= top; i++) {
    const v = i * step;
    const yy = px(y(v));
    grid.append(s('line', { class: v === 0 ? 'axis-line' : 'grid-line', x1: px(m.left), x2: W - m.right, y1: yy, y2: yy }));
    yTicks.append(s('text', { x: px(m.left - 6), y: yy, dy: '0.35em', 'text-anchor': 'end' }, formatValue(v)));
  }

  // Bars. Narrow bands get no gap, so that long periods still show something.
  const band = pw / n;
  const gap = band > 6 ? Math.min(band * 0.2, 12) : 0;
  const inner = band - gap;
  const bars = s('g', { class: 'chart-bars' });
  const bar = (x, v0, v1, w, se, cat) => {
    const yTop = y(v1);
    return s(
      'rect',
      {
        class: `bar series-${se.cls}`,
        x: px(x),
        y: px(yTop),
        width: px(Math.max(w, 0.5)),
        // A value above zero stays visible even next to a much larger one.
        height: px(Math.max(y(v0) - yTop, 1)),
        'data-value': v1 - v0,
      },
      s('title', {}, `${cat.title}: ${se.name} ${formatValue(v1 - v0)}`),
    );
  };
  categories.forEach((cat, i) => {
    const x0 = m.left + i * band + gap / 2;
    if (stacked) {
      let acc = 0;
      for (const se of series) {
        const v = val(se, i);
        if (!v) continue;
        bars.append(bar(x0, acc, acc + v, inner, se, cat));
        acc += v;
      }
    } else {
      const w = inner / series.length;
      series.forEach((se, j) => {
        const v = val(se, i);
        if (v) bars.append(bar(x0 + j * w, 0, v, w, se, cat));
      });
    }
  });

  // Category ticks: as many labels as fit without overlapping (every k-th).
  const xTicks = s('g', { class: 'chart-ticks chart-ticks-x' });
  const labelWidth = Math.max(1, ...categories.map((c) => [...c.tick].length)) * 7 + 8;
  const every = Math.max(1, Math.ceil(labelWidth / band));
  const base = m.top + ph;
  categories.forEach((cat, i) => {
    if (i % every) return;
    const cx = px(m.left + (i + 0.5) * band);
    xTicks.append(s('line', { class: 'tick-mark', x1: cx, x2: cx, y1: px(base), y2: px(base + 4) }));
    xTicks.append(s('text', { x: cx, y: px(base + 17), 'text-anchor': 'middle' }, cat.tick));
  });

  // Axis titles. The rotated one: (x, y) in the turned frame is (y, -x) on screen.
  const titles = s(
    'g',
    {},
    s('text', { class: 'axis-title axis-title-x', x: px(m.left + pw / 2), y: H - 8, 'text-anchor': 'middle' }, xTitle),
    s(
      'text',
      { class: 'axis-title axis-title-y', transform: 'rotate(-90)', x: px(-(m.top + ph / 2)), y: 14, 'text-anchor': 'middle' },
      yTitle,
    ),
  );

  svg.append(grid, bars, yTicks, xTicks, titles);
  return svg;
}

/** The colour key of a chart with more than one series (the colours come from the CSS). */
export function legend(series) {
  return h(
    'ul',
    { class: 'chart-legend' },
    series.map((se) =>
      h('li', {}, h('span', { class: `swatch series-${se.cls}`, 'aria-hidden': 'true' }), se.name),
    ),
  );
}
