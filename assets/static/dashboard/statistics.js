// The Statistics section: `GET /api/stats` for a period of whole UTC days (with the statistics
// permission), shown as headline figures compared with the period before, bar charts with their
// data as tables, and ranked tables and the campaigns' results, each with a CSV download
// (`GET /api/stats.csv`); then the agents' work time (worktime.js), which every agent sees, if
// only their own.
// The period lives in the address (?from=&to=), so a reload or a bookmark shows the same days.
// Page titles, addresses and browser names come from visitors: they are only set as text.

import { h, srOnly } from './dom.js';
import { t, tn, lang, formatNumber, numberFormat } from './i18n.js';
import { DAY_MS, parseDay, dayText, todayUtc, dateFormat, dayWords, periodText } from './days.js';
import { request, httpError } from './api.js';
import { showFieldError, field } from './form.js';
import { scrollBox } from './tables.js';
import { barChart, legend } from './charts.js';
import { clockText, durationWords, dataTable } from './stat-parts.js';
import { WorkTime, parseWork } from './worktime.js';
import { safeHref, shortUrl, referrerKindText, deviceText, countryName } from './visitor-text.js';
import { formatMoney } from './campaigns.js';

export function mountStatistics(root) {
  return new StatisticsView(root);
}

// ----- days (all in UTC, like the server) -----

const PRESETS = [
  { key: 'last7', range: (today) => [today - 6 * DAY_MS, today] },
  { key: 'last30', range: (today) => [today - 29 * DAY_MS, today] },
  {
    key: 'this_month',
    range: (today) => {
      const d = new Date(today);
      return [Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), today];
    },
  },
  {
    key: 'last_month',
    range: (today) => {
      const d = new Date(today);
      const first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
      return [first, Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - DAY_MS];
    },
  },
];

// ----- formatting in the page's language -----

const dayTick = dateFormat({ day: 'numeric', month: 'short' });
const dayFull = dateFormat({ weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
const monthTick = dateFormat({ month: 'short', year: '2-digit' });
const monthFull = dateFormat({ month: 'long', year: 'numeric' });
const weekdayShort = dateFormat({ weekday: 'short' });
const weekdayLong = dateFormat({ weekday: 'long' });
const decimal = numberFormat({ maximumFractionDigits: 2 });
const percent = numberFormat({ style: 'percent', maximumFractionDigits: 1 });

/** Monday first, as the API counts; 1 January 2024 was a Monday. */
const WEEKDAYS = Array.from({ length: 7 }, (_, i) => {
  const d = new Date(Date.UTC(2024, 0, 1 + i));
  return { tick: weekdayShort.format(d), title: weekdayLong.format(d) };
});

const pad = (n) => String(n).padStart(2, '0');
const HOURS = Array.from({ length: 24 }, (_, i) => ({ tick: String(i), title: `${pad(i)}:00` }));

// ----- reading the answer (anything odd counts as zero or is left out) -----

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v) => (typeof v === 'string' ? v : '');
const list = (v) => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);
const counts = (v, len) => Array.from({ length: len }, (_, i) => (Array.isArray(v) ? num(v[i]) : 0));
const sum = (values) => values.reduce((a, b) => a + b, 0);

function parseHeadline(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const hl = { from: str(raw.from), to: str(raw.to) };
  for (const f of FIGURES) {
    const v = raw[f.key];
    hl[f.key] = typeof v === 'number' && Number.isFinite(v) ? v : f.nullable ? null : 0;
  }
  hl.campaigns = list(raw.campaigns).map(parseCampaignRow);
  return hl;
}

const numOrNull = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** One campaign's results; the ratios are null where they would divide by zero. */
function parseCampaignRow(r) {
  return {
    campaign_id: Number.isSafeInteger(r.campaign_id) ? r.campaign_id : null,
    name: str(r.name),
    channel: str(r.channel),
    visits: num(r.visits),
    visitors: num(r.visitors),
    chats: num(r.chats),
    conversions: num(r.conversions),
    conversion_rate: num(r.conversion_rate),
    revenue: num(r.revenue),
    cost: num(r.cost),
    cost_per_visit: numOrNull(r.cost_per_visit),
    cost_per_chat: numOrNull(r.cost_per_chat),
    cost_per_conversion: numOrNull(r.cost_per_conversion),
    roi: numOrNull(r.roi),
  };
}

function parseStats(data) {
  if (!data || typeof data !== 'object') return null;
  const headline = parseHeadline(data.headline);
  if (!headline || parseDay(headline.from) === null || parseDay(headline.to) === null) return null;
  const days = (v) => list(v).filter((d) => parseDay(d.day) !== null);
  return {
    headline,
    previous: parseHeadline(data.previous),
    visitsByDay: days(data.visits_by_day).map((d) => ({ day: d.day, visits: num(d.visits), page_views: num(d.page_views) })),
    chatsByDay: days(data.chats_by_day).map((d) => ({
      day: d.day,
      chats: num(d.chats),
      accepted: num(d.accepted),
      missed: num(d.missed),
    })),
    visitsByHour: counts(data.visits_by_hour, 24),
    visitsByWeekday: counts(data.visits_by_weekday, 7),
    chatsByHour: counts(data.chats_by_hour, 24),
    chatsByWeekday: counts(data.chats_by_weekday, 7),
    raw: data,
  };
}

// ----- headline figures -----

/** `better`: which way is good news (colours the change; the words say it anyway). */
const FIGURES = [
  { key: 'visitors', group: 'visits', kind: 'count', better: 'up' },
  { key: 'visits', group: 'visits', kind: 'count', better: 'up' },
  { key: 'page_views', group: 'visits', kind: 'count', better: 'up' },
  { key: 'pages_per_visit', group: 'visits', kind: 'decimal', better: 'up' },
  { key: 'bounce_rate', group: 'visits', kind: 'share', better: 'down' },
  { key: 'median_visit_seconds', group: 'visits', kind: 'duration', better: 'up' },
  { key: 'chats', group: 'chats', kind: 'count', better: 'up' },
  { key: 'accepted_chats', group: 'chats', kind: 'count', better: 'up' },
  { key: 'missed_chats', group: 'chats', kind: 'count', better: 'down' },
  { key: 'offline_messages', group: 'chats', kind: 'count', better: null },
  { key: 'median_first_response_seconds', group: 'chats', kind: 'duration', better: 'down', nullable: true },
  { key: 'p90_first_response_seconds', group: 'chats', kind: 'duration', better: 'down', nullable: true },
  { key: 'median_chat_seconds', group: 'chats', kind: 'duration', better: null, nullable: true },
  { key: 'chat_conversion_rate', group: 'chats', kind: 'share', better: 'up' },
  // Counted without the visitor (docs/statistics.md, "FAQ").
  { key: 'faq_views', group: 'chats', kind: 'count', better: null },
  { key: 'chats_after_faq', group: 'chats', kind: 'count', better: null },
];

/** A figure's value as text (no value: a dash). */
function figureText(f, v) {
  if (v === null) return '–';
  if (f.kind === 'share') return percent.format(v);
  if (f.kind === 'decimal') return decimal.format(v);
  if (f.kind === 'duration') return clockText(v);
  return formatNumber(v);
}

/** A figure's value as an element: durations read out in words, not as "02:35". */
function figureEl(f, v, cls) {
  if (v === null) {
    return h('span', { class: cls }, h('span', { 'aria-hidden': 'true', text: '–' }), srOnly(t('dashboard.stats.no_value')));
  }
  if (f.kind === 'duration') {
    return h('span', { class: cls }, h('span', { 'aria-hidden': 'true', text: clockText(v) }), srOnly(durationWords(v)));
  }
  return h('span', { class: cls, text: figureText(f, v) });
}

/** How `cur` compares with `prev`: {trend: up|down|same|new|none, ratio}. */
function compare(cur, prev) {
  if (cur === null || prev === null || prev === undefined) return { trend: 'none' };
  if (cur === prev) return { trend: 'same' };
  // From zero there is no percentage to give.
  if (prev === 0) return { trend: 'new' };
  const ratio = (cur - prev) / Math.abs(prev);
  // What would round to "0 %" reads as no change.
  if (Math.abs(ratio) < 0.0005) return { trend: 'same' };
  return { trend: ratio > 0 ? 'up' : 'down', ratio: Math.abs(ratio) };
}

const MARKS = { up: '▲', down: '▼', same: '=', new: '▲', none: '' };

function changeEl(f, cur, prev) {
  const c = compare(cur, prev === undefined ? null : prev);
  let sentiment = 'neutral';
  if (f.better && (c.trend === 'up' || c.trend === 'new')) sentiment = f.better === 'up' ? 'good' : 'bad';
  if (f.better && c.trend === 'down') sentiment = f.better === 'down' ? 'good' : 'bad';
  const words =
    c.trend === 'up' || c.trend === 'down'
      ? t(`dashboard.stats.change.${c.trend}`, { pct: percent.format(c.ratio) })
      : t(`dashboard.stats.change.${c.trend}`);
  return h(
    'p',
    { class: 'stat-change', 'data-trend': c.trend, 'data-sentiment': sentiment },
    MARKS[c.trend] ? h('span', { class: 'trend-mark', 'aria-hidden': 'true', text: MARKS[c.trend] }) : null,
    h('span', { class: 'trend-text', text: words }),
    c.trend !== 'none' && prev !== null && prev !== undefined
      ? h('span', { class: 'stat-prev' }, ` · ${t('dashboard.stats.previously')} `, figureEl(f, prev, 'stat-prev-value'))
      : null,
  );
}

// ----- the view -----

class StatisticsView {
  constructor(root) {
    this.root = root;
    this.seq = 0;
    this.blocks = []; // charts to draw again when the width changes
    this.period = null; // {from, to} of the figures on screen
    root.classList.add('dash-app', 'stats-app');
    root.replaceChildren(this.buildPeriod(), this.buildStatus(), this.buildBody());

    const fromUrl = this.readUrl();
    this.setInputs(fromUrl.from, fromUrl.to);
    this.load(fromUrl);

    // Back and forward step through the periods looked at.
    window.addEventListener('popstate', () => {
      const p = this.readUrl();
      this.setInputs(p.from, p.to);
      this.load(p);
    });
    // Charts are drawn at their real width (so text keeps its size): again after a resize.
    let timer = 0;
    window.addEventListener('resize', () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.blocks.forEach((b) => b.redrawIfResized()), 150);
    });
  }

  // ----- the period -----

  buildPeriod() {
    this.from = h('input', { type: 'date', id: 'stats-from', name: 'from', onchange: () => this.applyInputs() });
    this.to = h('input', { type: 'date', id: 'stats-to', name: 'to', onchange: () => this.applyInputs() });
    this.presetButtons = PRESETS.map((p) =>
      h('button', {
        type: 'button',
        class: 'btn-secondary btn-small',
        'data-preset': p.key,
        'aria-pressed': 'false',
        text: t(`dashboard.stats.preset.${p.key}`),
        onclick: () => {
          const [a, b] = p.range(todayUtc());
          this.from.value = dayText(a);
          this.to.value = dayText(b);
          this.applyInputs();
        },
      }),
    );
    this.periodError = h('p', { id: 'stats-period-error', class: 'form-error', role: 'alert' });
    this.periodForm = h(
      'form',
      {
        class: 'panel stats-period',
        'aria-labelledby': 'stats-period-title',
        novalidate: true,
        onsubmit: (e) => {
          e.preventDefault();
          this.applyInputs();
        },
      },
      h('h2', { id: 'stats-period-title', class: 'vh', text: t('dashboard.stats.period') }),
      field(t('dashboard.stats.from'), this.from),
      field(t('dashboard.stats.to'), this.to),
      h(
        'div',
        { class: 'stats-presets', role: 'group', 'aria-label': t('dashboard.stats.presets') },
        this.presetButtons,
      ),
      h('p', { class: 'hint stats-utc', text: t('dashboard.stats.utc_hint') }),
      this.periodError,
    );
    return this.periodForm;
  }

  /** {from, to} from the address; a missing or broken day is left to the server's default. */
  readUrl() {
    const q = new URLSearchParams(location.search);
    const ok = (v) => (parseDay(v) === null ? '' : v);
    return { from: ok(q.get('from')), to: ok(q.get('to')) };
  }

  /** Puts the period into the address: a new history entry for a choice, else in place. */
  writeUrl(from, to, push) {
    const u = new URL(location.href);
    u.searchParams.set('from', from);
    u.searchParams.set('to', to);
    if (u.href === location.href) return;
    if (push) history.pushState(null, '', u);
    else history.replaceState(null, '', u);
  }

  setInputs(from, to) {
    this.from.value = from || '';
    this.to.value = to || '';
    this.markPresets();
  }

  markPresets() {
    const today = todayUtc();
    PRESETS.forEach((p, i) => {
      const [a, b] = p.range(today);
      const on = this.from.value === dayText(a) && this.to.value === dayText(b);
      this.presetButtons[i].setAttribute('aria-pressed', on ? 'true' : 'false');
    });
  }

  periodFail(field, text) {
    showFieldError(this.periodError, [this.from, this.to], field, text, { focus: false });
  }

  /** A changed date or preset: check it, remember it in the address, load it. */
  applyInputs() {
    this.markPresets();
    const from = this.from.value;
    const to = this.to.value;
    // An empty field takes the server's default; a half-typed date is not sent.
    if (from && parseDay(from) === null) return this.periodFail(this.from, t('dashboard.stats.bad_day'));
    if (to && parseDay(to) === null) return this.periodFail(this.to, t('dashboard.stats.bad_day'));
    if (from && to && from > to) return this.periodFail(this.to, t('dashboard.stats.bad_range'));
    this.periodFail(null, '');
    if (from && to) this.writeUrl(from, to, true);
    this.load({ from, to });
  }

  // ----- loading -----

  buildStatus() {
    this.status = h('p', { class: 'stats-status', role: 'status' });
    this.errorText = h('p', { class: 'stats-error-text' });
    this.retry = h('button', { type: 'button', class: 'btn-secondary btn-small', text: t('dashboard.stats.retry'), onclick: () => this.load(this.lastAsked) });
    this.errorBox = h('div', { class: 'panel stats-error', role: 'alert', hidden: true }, this.errorText, this.retry);
    this.forbidden = h(
      'div',
      { class: 'panel stats-forbidden', hidden: true },
      h('p', { class: 'stats-forbidden-text', text: t('dashboard.stats.forbidden') }),
    );
    return h('div', { class: 'stats-messages' }, this.status, this.errorBox, this.forbidden);
  }

  buildBody() {
    this.body = h('div', { class: 'stats-body', hidden: true });
    return this.body;
  }

  async load({ from, to }) {
    this.lastAsked = { from, to };
    const seq = ++this.seq;
    const params = new URLSearchParams();
    if (from) params.set('from', from);
    if (to) params.set('to', to);
    const qs = params.toString();
    this.status.textContent = t('dashboard.stats.loading');
    this.status.classList.remove('vh');
    this.errorBox.hidden = true;
    this.body.setAttribute('aria-busy', 'true');
    this.body.classList.add('is-loading');
    const [res, workRes] = await Promise.all([
      request('GET', `/api/stats${qs ? `?${qs}` : ''}`),
      request('GET', `/api/stats/agents${qs ? `?${qs}` : ''}`),
    ]);
    if (seq !== this.seq) return; // a newer period was asked for meanwhile
    this.body.removeAttribute('aria-busy');
    this.body.classList.remove('is-loading');
    const work = workRes.ok ? parseWork(workRes.data) : null;
    // Without the statistics permission an agent still sees their own work time.
    const own = res.status === 403 && res.code !== 'csrf_rejected' && work;
    if (!res.ok && !own) return this.fail(res);
    const data = own ? null : parseStats(res.data);
    if (!own && !data) return this.fail({ status: 500, code: '' });
    const period = own ? work : data.headline;
    // The server's days are the truth (it fills in defaults): the fields and the address follow.
    this.setInputs(period.from, period.to);
    this.writeUrl(period.from, period.to, false);
    this.period = { from: period.from, to: period.to };
    this.render(data, work);
    // Said to screen readers only: the overview shows the period already.
    this.status.classList.add('vh');
    this.status.textContent = t('dashboard.stats.loaded', {
      period: periodText(parseDay(period.from), parseDay(period.to)),
    });
  }

  fail(res) {
    this.status.textContent = '';
    this.body.hidden = true;
    this.blocks = [];
    if (res.status === 403 && res.code !== 'csrf_rejected') {
      // Not an error to retry: this agent is no admin. The period picker is of no use then.
      this.forbidden.hidden = false;
      this.periodForm.hidden = true;
      return;
    }
    if (res.status === 400) {
      this.errorText.textContent = res.message
        ? t('dashboard.stats.bad_period_message', { message: res.message })
        : t('dashboard.stats.bad_period');
    } else if (res.status >= 500 || res.status === 0 || res.status === 429) {
      this.errorText.textContent = `${t('dashboard.stats.failed')} ${httpError(res)}`;
    } else {
      this.errorText.textContent = httpError(res);
    }
    this.errorBox.hidden = false;
  }

  // ----- rendering -----

  /** `data`: the statistics (null without the permission); `work`: the agents' work time. */
  render(data, work) {
    this.blocks = [];
    const parts = data ? this.buildFigures(data) : [];
    if (work) parts.push(new WorkTime(this).build(work));
    this.body.replaceChildren(...parts);
    this.body.hidden = false;
    // Drawn once in the page: each chart takes the width its place has.
    this.blocks.forEach((b) => b.draw());
  }

  buildFigures(data) {
    const hl = data.headline;
    const empty = hl.visits === 0 && hl.page_views === 0 && hl.chats === 0 && hl.offline_messages === 0 && hl.faq_views === 0;
    const parts = [this.buildHeadline(data)];
    if (empty) {
      parts.push(h('p', { class: 'panel empty stats-empty', text: t('dashboard.stats.empty') }));
      // Campaigns running without a single visit still cost: they are shown all the same.
      if (hl.campaigns.length) parts.push(this.buildCampaigns(data));
    } else {
      parts.push(this.buildVisitCharts(data), this.buildChatCharts(data), this.buildCampaigns(data), ...this.buildTables(data));
    }
    return parts;
  }

  buildHeadline(data) {
    const hl = data.headline;
    const prev = data.previous;
    const card = (f) =>
      h(
        'li',
        { class: 'stat-card', 'data-figure': f.key },
        h('p', { class: 'stat-label', text: t(`dashboard.stats.figure.${f.key}`) }),
        h('p', { class: 'stat-value' }, figureEl(f, hl[f.key], 'stat-value-text')),
        changeEl(f, hl[f.key], prev ? prev[f.key] : null),
      );
    const group = (name) =>
      h(
        'div',
        { class: 'stat-card-group' },
        h('h3', { id: `stats-cards-${name}`, text: t(`dashboard.stats.group.${name}`) }),
        h('ul', { class: 'stat-cards', 'aria-labelledby': `stats-cards-${name}` }, FIGURES.filter((f) => f.group === name).map(card)),
      );
    const period = periodText(parseDay(hl.from), parseDay(hl.to));
    const compared =
      prev && parseDay(prev.from) !== null && parseDay(prev.to) !== null
        ? t('dashboard.stats.compared', { period, previous: periodText(parseDay(prev.from), parseDay(prev.to)) })
        : period;
    return h(
      'section',
      { class: 'panel stats-headline', 'aria-labelledby': 'stats-headline-title' },
      h('h2', { id: 'stats-headline-title', text: t('dashboard.stats.overview') }),
      h('p', { class: 'stats-compared', text: compared }),
      group('visits'),
      group('chats'),
    );
  }

  /** The address of a table's CSV for the period on screen. */
  csvHref(name) {
    const q = new URLSearchParams({ table: name, from: this.period.from, to: this.period.to });
    return `/api/stats.csv?${q}`;
  }

  csvLink(name, title) {
    return h('a', {
      class: 'csv-link',
      href: this.csvHref(name),
      download: true,
      'data-csv': name,
      'aria-label': t('dashboard.stats.csv_label', { name: title }),
      text: t('dashboard.stats.csv'),
    });
  }

  /** Whether the period lies within one year: then summaries name the year only once. */
  oneYear() {
    return this.period.from.slice(0, 4) === this.period.to.slice(0, 4);
  }

  /** A day inside the period for chart summaries: "15 Jan" (with the year across years). */
  dayWords(date) {
    return this.oneYear() ? dayTick.format(date) : dayWords(date);
  }

  /** The period for chart summaries: "15 Jan to 16 Jan 2026". */
  rangeWords() {
    const a = new Date(parseDay(this.period.from));
    const b = new Date(parseDay(this.period.to));
    if (a.getTime() === b.getTime()) return dayWords(a);
    return t('dashboard.stats.range', { from: this.dayWords(a), to: dayWords(b) });
  }

  /**
   * One chart with its heading, legend, CSV link and data table.
   * spec: {key, title, xTitle, yTitle, categories, series, stacked, at(i) (where the peak is,
   * in words), note, columns, rows, wide, csv (another CSV link than the table of `key`)}
   */
  chartBlock(spec) {
    const headId = `stats-${spec.key}-title`;
    const wrap = h('div', { class: 'chart-wrap' });
    const label = this.chartSummary(spec);
    const block = {
      width: 0,
      draw() {
        const width = wrap.clientWidth || 640;
        block.width = width;
        wrap.replaceChildren(
          barChart({
            key: spec.key,
            categories: spec.categories,
            series: spec.series,
            stacked: !!spec.stacked,
            xTitle: spec.xTitle,
            yTitle: spec.yTitle,
            label,
            width,
          }),
        );
      },
      redrawIfResized() {
        if (wrap.isConnected && Math.abs((wrap.clientWidth || 0) - block.width) > 24) block.draw();
      },
    };
    this.blocks.push(block);
    return h(
      'section',
      { class: `stat-block stat-chart-block${spec.wide ? ' stat-block-wide' : ''}`, 'data-block': spec.key, 'aria-labelledby': headId },
      h('div', { class: 'stat-block-head' }, h('h3', { id: headId, text: spec.title }), spec.csv || this.csvLink(spec.key, spec.title)),
      spec.note ? h('p', { class: 'hint', text: spec.note }) : null,
      spec.series.length > 1 ? legend(spec.series) : null,
      wrap,
      h(
        'details',
        { class: 'chart-data' },
        h('summary', {}, t('dashboard.stats.data_table'), srOnly(`: ${spec.title}`)),
        scrollBox(spec.title, dataTable(spec.key, spec.title, spec.columns, spec.rows)),
      ),
    );
  }

  /** "Visits per day, 1 Jan to 31 Jan: highest 12 on 5 Jan, 80 in total." */
  chartSummary(spec) {
    const one = spec.series.length === 1;
    const details = spec.series.map((se) => {
      const total = sum(se.values);
      if (!total) return one ? t('dashboard.stats.chart.none') : t('dashboard.stats.chart.series_none', { series: se.name });
      const peak = se.values.indexOf(Math.max(...se.values));
      const vars = { series: se.name, n: formatNumber(se.values[peak]), at: spec.at(peak), total: formatNumber(total) };
      return t(one ? 'dashboard.stats.chart.peak' : 'dashboard.stats.chart.series_peak', vars);
    });
    return t('dashboard.stats.chart.summary', { title: spec.title, range: this.rangeWords(), details: details.join('; ') });
  }

  /**
   * Day charts: one bar per day, or per month when the period is long (thin bars would say
   * nothing); the data table always lists every day, like the CSV.
   */
  dayCategories(days, fields) {
    if (days.length <= 92) {
      return {
        monthly: false,
        cats: days.map((d) => {
          const date = new Date(parseDay(d.day));
          return { tick: dayTick.format(date), title: dayFull.format(date), at: t('dashboard.stats.at.day', { day: this.dayWords(date) }) };
        }),
        values: (f) => days.map((d) => d[f]),
      };
    }
    const months = [];
    for (const d of days) {
      const key = d.day.slice(0, 7);
      let m = months[months.length - 1];
      if (!m || m.key !== key) {
        m = { key, sums: Object.fromEntries(fields.map((f) => [f, 0])) };
        months.push(m);
      }
      for (const f of fields) m.sums[f] += d[f];
    }
    return {
      monthly: true,
      cats: months.map((m) => {
        const date = new Date(parseDay(`${m.key}-01`));
        return { tick: monthTick.format(date), title: monthFull.format(date), at: t('dashboard.stats.at.month', { month: monthFull.format(date) }) };
      }),
      values: (f) => months.map((m) => m.sums[f]),
    };
  }

  buildVisitCharts(data) {
    const visitsName = t('dashboard.stats.series.visits');
    const viewsName = t('dashboard.stats.series.page_views');
    const byDay = this.dayCategories(data.visitsByDay, ['visits', 'page_views']);
    const n = (f) => (d) => formatNumber(d[f]);
    return chartsPanel(
      'visits',
      this.dayBlock('visits', byDay, {
        yTitle: t('dashboard.stats.axis.count'),
        series: [
          { name: visitsName, cls: 'visits', values: byDay.values('visits') },
          { name: viewsName, cls: 'page_views', values: byDay.values('page_views') },
        ],
        columns: [
          { label: visitsName, num: true, cell: n('visits') },
          { label: viewsName, num: true, cell: n('page_views') },
        ],
        rows: data.visitsByDay,
      }),
      this.spreadBlocks('visits', visitsName, data.visitsByHour, data.visitsByWeekday),
    );
  }

  buildChatCharts(data) {
    const chatsName = t('dashboard.stats.series.chats');
    const accName = t('dashboard.stats.series.accepted');
    const missName = t('dashboard.stats.series.missed');
    // Chats neither accepted nor missed are still waiting: the stack adds up to all chats.
    const days = data.chatsByDay.map((d) => ({ ...d, waiting: Math.max(0, d.chats - d.accepted - d.missed) }));
    const byDay = this.dayCategories(days, ['chats', 'accepted', 'missed', 'waiting']);
    const series = [
      { name: accName, cls: 'accepted', values: byDay.values('accepted') },
      { name: missName, cls: 'missed', values: byDay.values('missed') },
    ];
    const waiting = byDay.values('waiting');
    if (sum(waiting) > 0) series.push({ name: t('dashboard.stats.series.waiting'), cls: 'waiting', values: waiting });
    const n = (f) => (d) => formatNumber(d[f]);
    return chartsPanel(
      'chats',
      this.dayBlock('chats', byDay, {
        stacked: true,
        yTitle: chatsName,
        series,
        columns: [
          { label: chatsName, num: true, cell: n('chats') },
          { label: accName, num: true, cell: n('accepted') },
          { label: missName, num: true, cell: n('missed') },
        ],
        rows: data.chatsByDay,
      }),
      this.spreadBlocks('chats', chatsName, data.chatsByHour, data.chatsByWeekday),
    );
  }

  /**
   * A series over the days of the period (months over a long one): a wide chart, and its table
   * with a day column before `spec.columns`.
   */
  dayBlock(what, byDay, spec) {
    return this.chartBlock({
      ...spec,
      key: `${what}_by_day`,
      wide: true,
      title: t(`dashboard.stats.chart.${what}_by_day`),
      xTitle: t(byDay.monthly ? 'dashboard.stats.axis.month' : 'dashboard.stats.axis.day'),
      note: byDay.monthly ? t('dashboard.stats.monthly_note') : '',
      categories: byDay.cats,
      at: (i) => byDay.cats[i].at,
      columns: [{ label: t('dashboard.stats.col.day'), cell: (d) => dayFull.format(new Date(parseDay(d.day))) }, ...spec.columns],
    });
  }

  /** A series over the hours of the day and the days of the week: two charts with tables. */
  spreadBlocks(what, seriesName, byHour, byWeekday) {
    const spreads = [['hour', HOURS, byHour], ['weekday', WEEKDAYS, byWeekday]];
    return spreads.map(([scale, cats, values]) =>
      this.chartBlock({
        key: `${what}_by_${scale}`,
        title: t(`dashboard.stats.chart.${what}_by_${scale}`),
        xTitle: t(`dashboard.stats.axis.${scale}`),
        yTitle: seriesName,
        categories: cats,
        series: [{ name: seriesName, cls: what, values }],
        at: (i) => t(`dashboard.stats.at.${scale}`, { [scale]: cats[i].title }),
        columns: [
          { label: t(`dashboard.stats.col.${scale}`), cell: (r) => r.label },
          { label: seriesName, num: true, cell: (r) => formatNumber(r.n) },
        ],
        rows: values.map((v, i) => ({ label: cats[i].title, n: v })),
      }),
    );
  }

  // ----- ranked tables -----

  buildTables(data) {
    const hl = data.headline;
    const raw = data.raw;
    const unknown = () => h('span', { class: 'muted', text: t('dashboard.stats.unknown') });
    const name = (r) => (str(r.name) ? str(r.name) : unknown());
    // The full address (as in the CSV): a link only when it is http(s).
    const page = (r) => {
      const url = str(r.url);
      const title = str(r.title).trim();
      const href = safeHref(url);
      return h(
        'span',
        { class: 'stat-page' },
        h('span', { class: 'stat-page-title', text: title || shortUrl(url, 60) || t('dashboard.visitors.untitled') }),
        href
          ? h('a', { class: 'stat-page-url', href, target: '_blank', rel: 'noopener noreferrer', text: url })
          : h('span', { class: 'stat-page-url', text: url }),
      );
    };
    const language = (r) => {
      const code = str(r.name);
      if (!code) return unknown();
      const label = languageName(code);
      return label === code ? code : h('span', {}, label, ' ', h('span', { class: 'muted', text: `(${code})` }));
    };
    const country = (r) => {
      const code = str(r.name);
      if (!code) return unknown();
      const label = countryName(code);
      return label === code ? code : h('span', {}, label, ' ', h('span', { class: 'muted', text: `(${code})` }));
    };
    const kind = (r) => referrerKindText(str(r.kind));
    const device = (r) => (str(r.name) ? deviceText(str(r.name)) : unknown());

    const col = (key, cell) => ({ label: t(`dashboard.stats.col.${key}`), cell });
    const T = (key, first, countKey, total, extra = []) => ({ key, first, countKey, total, extra });
    // Every table but the top pages counts visits.
    const V = (key, first, extra) => T(key, first, 'visits', hl.visits, extra);
    const groups = [
      { id: 'pages', tables: [T('top_pages', col('page', page), 'views', hl.page_views), V('entry_pages', col('page', page)), V('exit_pages', col('page', page))] },
      { id: 'sources', tables: [V('referrers', col('source', kind)), V('referrer_hosts', col('website', (r) => str(r.host) || unknown()), [col('kind', kind)])] },
      { id: 'tech', tables: [V('browsers', col('browser', name)), V('os', col('os', name)), V('devices', col('device', device))] },
      {
        id: 'places',
        tables: [
          V('languages', col('language', language)),
          // Without a GeoIP database there are no countries at all: no empty table then.
          list(raw.countries).length ? V('countries', col('country', country)) : null,
        ].filter(Boolean),
      },
      // Only when an answer of a site's FAQ was read in the period.
      list(raw.faqs).length ? { id: 'faq', tables: [T('faqs', col('question', (r) => str(r.question) || unknown()), 'views', hl.faq_views)] } : null,
    ].filter(Boolean);
    return groups.map((g) => {
      const titleKey = g.id === 'places' && g.tables.length === 1 ? 'languages_only' : g.id;
      return h(
        'section',
        { class: 'panel stats-panel', 'aria-labelledby': `stats-${g.id}-title` },
        h('h2', { id: `stats-${g.id}-title`, text: t(`dashboard.stats.group_title.${titleKey}`) }),
        h('div', { class: 'stats-tables' }, g.tables.map((tb) => this.rankedBlock(tb, list(raw[tb.key])))),
      );
    });
  }

  // ----- campaigns -----

  buildCampaigns(data) {
    const rows = data.headline.campaigns;
    const prev = data.previous ? data.previous.campaigns : null;
    const title = t('dashboard.stats.table.campaigns');
    const headId = 'stats-campaigns-table-title';
    const none = () => h('span', {}, h('span', { 'aria-hidden': 'true', text: '–' }), srOnly(t('dashboard.stats.no_value')));
    const count = (key) => ({ key, label: t(`dashboard.stats.col.${key}`), num: true, cell: (r) => formatNumber(r[key]) });
    const money = (key) => ({
      key,
      label: t(`dashboard.stats.col.${key}`),
      num: true,
      cell: (r) => (r[key] === null ? none() : formatMoney(r[key])),
    });
    const share = (key) => ({
      key,
      label: t(`dashboard.stats.col.${key}`),
      num: true,
      cell: (r) => (r[key] === null ? none() : percent.format(r[key])),
    });
    const columns = [
      {
        key: 'campaign',
        label: t('dashboard.stats.col.campaign'),
        cell: (r) => r.name || h('span', { class: 'muted', text: t('dashboard.stats.unknown') }),
      },
      { key: 'channel', label: t('dashboard.stats.col.channel'), cell: (r) => r.channel || none() },
      count('visits'),
      count('visitors'),
      count('chats'),
      count('conversions'),
      share('conversion_rate'),
      money('revenue'),
      money('cost'),
      money('cost_per_visit'),
      money('cost_per_chat'),
      money('cost_per_conversion'),
      share('roi'),
    ];
    if (prev) {
      // The same campaign in the period before (by id): its visits and conversions.
      const before = new Map(prev.filter((p) => p.campaign_id !== null).map((p) => [p.campaign_id, p]));
      columns.push({
        key: 'previous',
        label: t('dashboard.stats.col.previous'),
        num: true,
        cell: (r) => {
          const p = r.campaign_id === null ? null : before.get(r.campaign_id);
          if (!p) return none();
          return h(
            'span',
            { class: 'stat-prev-campaign' },
            h('span', { class: 'stat-prev-visits' }, tn('dashboard.stats.prev_visits', p.visits), srOnly(', ')),
            h('span', { class: 'stat-prev-conversions', text: tn('dashboard.stats.prev_conversions', p.conversions) }),
          );
        },
      });
    }
    return h(
      'section',
      { class: 'panel stats-panel', id: 'stats-campaigns', 'aria-labelledby': 'stats-campaigns-title' },
      h('h2', { id: 'stats-campaigns-title', text: t('dashboard.stats.campaigns_title') }),
      h(
        'section',
        { class: 'stat-block stat-table-block stat-campaigns-block', 'data-block': 'campaigns', 'aria-labelledby': headId },
        h('div', { class: 'stat-block-head' }, h('h3', { id: headId, text: title }), this.csvLink('campaigns', title)),
        h(
          'p',
          { class: 'hint' },
          `${t('dashboard.stats.campaigns_hint')} `,
          h('a', { href: '/app/settings/campaigns', text: t('dashboard.stats.campaigns_manage') }),
        ),
        scrollBox(title, dataTable('campaigns', title, columns, rows)),
      ),
    );
  }

  rankedBlock({ key, first, countKey, total, extra }, rows) {
    const title = t(`dashboard.stats.table.${key}`);
    const headId = `stats-${key}-title`;
    const columns = [
      first,
      ...extra,
      { label: t(`dashboard.stats.col.${countKey}`), num: true, cell: (r) => formatNumber(num(r[countKey])) },
    ];
    // The share of the period's total; only the top entries are listed, so it need not add up.
    if (total > 0) columns.push({ label: t('dashboard.stats.col.share'), num: true, cell: (r) => percent.format(num(r[countKey]) / total) });
    return h(
      'section',
      { class: 'stat-block stat-table-block', 'data-block': key, 'aria-labelledby': headId },
      h('div', { class: 'stat-block-head' }, h('h3', { id: headId, text: title }), this.csvLink(key, title)),
      scrollBox(title, dataTable(key, title, columns, rows)),
    );
  }
}

/** A panel of charts (`visits`, `chats`) under its heading. */
function chartsPanel(part, ...blocks) {
  return h(
    'section',
    { class: 'panel stats-panel', 'aria-labelledby': `stats-${part}-title` },
    h('h2', { id: `stats-${part}-title`, text: t(`dashboard.stats.${part}_title`) }),
    h('div', { class: 'stats-charts' }, ...blocks),
  );
}

const languageNames = (() => {
  try {
    return new Intl.DisplayNames([lang], { type: 'language' });
  } catch {
    return null;
  }
})();

/** "German (Germany)" for "de-DE" in the page's language; the code when unknown. */
function languageName(code) {
  try {
    return (languageNames && languageNames.of(code)) || code;
  } catch {
    return code; // not a language tag the browser knows
  }
}
