// Agents' work time on the statistics page (`GET /api/stats/agents`): a table with one row per
// agent and the team's sum, and one chosen agent's days as a chart of the hours online and in a
// chat with every figure per day in its table, each with a CSV download
// (`GET /api/stats/agents.csv`). An agent without the statistics permission gets only their own
// figures (the server decides) and sees only their own days. Admins switch the recording on and
// off here (`PUT /api/stats/agents/recording`). Agent names are set as text only.

import { h, srOnly } from './dom.js';
import { t, formatNumber, numberFormat, formatDuration } from './i18n.js';
import { request, httpError } from './api.js';
import { checkField, field, hint } from './form.js';
import { scrollBox } from './tables.js';
import { DAY_MS, parseDay, dayText } from './days.js';
import { clockText, durationWords, dataTable } from './stat-parts.js';

// ----- reading the answer (anything odd counts as zero or is left out) -----

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const numOrNull = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v) => (typeof v === 'string' ? v : '');
const list = (v) => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);

const COUNTS = ['signed_in_seconds', 'online_seconds', 'away_seconds', 'in_chat_seconds', 'chats', 'messages', 'ratings'];
const OPTIONAL = ['median_first_response_seconds', 'rating', 'chats_per_online_hour'];

function parseFigures(r) {
  const o = r && typeof r === 'object' ? r : {};
  return {
    ...Object.fromEntries(COUNTS.map((k) => [k, num(o[k])])),
    ...Object.fromEntries(OPTIONAL.map((k) => [k, numOrNull(o[k])])),
  };
}

function parseAgent(r) {
  return { agent_id: Number.isSafeInteger(r.agent_id) ? r.agent_id : null, name: str(r.name), ...parseFigures(r) };
}

/** The answer of `GET /api/stats/agents`, or null when it makes no sense. */
export function parseWork(data) {
  if (!data || typeof data !== 'object') return null;
  if (parseDay(str(data.from)) === null || parseDay(str(data.to)) === null) return null;
  const known = (a) => a.agent_id !== null;
  return {
    from: data.from,
    to: data.to,
    all: data.all === true,
    recording: data.recording !== false,
    maySwitch: data.may_switch === true,
    team: parseFigures(data.team),
    agents: list(data.agents).map(parseAgent).filter(known),
    days: list(data.days)
      .filter((d) => parseDay(str(d.day)) !== null)
      .map((d) => ({ day: d.day, ...parseAgent(d) }))
      .filter(known),
  };
}

// ----- figures in the page's language -----

const oneDecimal = numberFormat({ maximumFractionDigits: 1 });
const twoDecimals = numberFormat({ maximumFractionDigits: 2 });

function noValue() {
  return h('span', {}, h('span', { 'aria-hidden': 'true', text: '–' }), srOnly(t('dashboard.stats.no_value')));
}

/** Hours and minutes, "7:30", read out as "7 hours, 30 minutes". */
function hoursEl(seconds) {
  const m = Math.round(seconds / 60);
  const text = `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`;
  return h('span', {}, h('span', { 'aria-hidden': 'true', text }), srOnly(formatDuration(m * 60)));
}

function responseEl(seconds) {
  if (seconds === null) return noValue();
  return h('span', {}, h('span', { 'aria-hidden': 'true', text: clockText(seconds) }), srOnly(durationWords(seconds)));
}

/** The figure columns of the tables (after their first column). */
function figureColumns() {
  const col = (key, cell) => ({ key, label: t(`dashboard.stats.work.col.${key}`), num: true, cell });
  const time = (f) => (r) => hoursEl(r[f]);
  const maybe = (f, fmt) => (r) => (r[f] === null ? noValue() : fmt.format(r[f]));
  return [
    col('signed_in', time('signed_in_seconds')),
    col('online', time('online_seconds')),
    col('away', time('away_seconds')),
    col('in_chat', time('in_chat_seconds')),
    col('chats', (r) => formatNumber(r.chats)),
    col('messages', (r) => formatNumber(r.messages)),
    col('first_response', (r) => responseEl(r.median_first_response_seconds)),
    col('rating', maybe('rating', oneDecimal)),
    col('chats_per_hour', maybe('chats_per_online_hour', twoDecimals)),
  ];
}

const nameOf = (a) => a.name || `#${a.agent_id}`;
const hours = (seconds) => Math.round((seconds / 3600) * 100) / 100;

// ----- the panel -----

export class WorkTime {
  /** `view`: the statistics view, whose chart blocks and day categories this uses. */
  constructor(view) {
    this.view = view;
  }

  csvLink(table, title) {
    const q = new URLSearchParams({ table, from: this.work.from, to: this.work.to });
    return h('a', {
      class: 'csv-link',
      href: `/api/stats/agents.csv?${q}`,
      download: true,
      'data-csv': `work_${table}`,
      'aria-label': t('dashboard.stats.csv_label', { name: title }),
      text: t('dashboard.stats.csv'),
    });
  }

  /** The panel for the answer `work` (parsed). */
  build(work) {
    this.work = work;
    const parts = [
      h('h2', { id: 'stats-work-title', text: t(work.all ? 'dashboard.stats.work.title' : 'dashboard.stats.work.title_own') }),
      h('p', { class: 'hint', text: t('dashboard.stats.work.intro') }),
      work.all ? null : h('p', { class: 'hint stats-work-own', text: t('dashboard.stats.work.own_hint') }),
      work.recording ? null : h('p', { class: 'hint stats-work-off', text: t('dashboard.stats.work.off') }),
      work.maySwitch ? this.buildSwitch(work.recording) : null,
      work.all ? this.buildTeam(work) : null,
      this.buildAgent(work),
    ];
    return h('section', { class: 'panel stats-panel', id: 'stats-work', 'aria-labelledby': 'stats-work-title' }, ...parts);
  }

  buildSwitch(on) {
    const box = h('input', { type: 'checkbox', id: 'stats-work-recording', name: 'recording', 'aria-describedby': 'stats-work-recording-help' });
    box.checked = on;
    const error = h('p', { id: 'stats-work-recording-error', class: 'form-error', role: 'alert' });
    const status = h('p', { class: 'form-status', role: 'status' });
    box.addEventListener('change', async () => {
      const wanted = box.checked;
      box.disabled = true;
      const res = await request('PUT', '/api/stats/agents/recording', { json: { recording: wanted } });
      box.disabled = false;
      box.focus();
      if (!res.ok) {
        box.checked = !wanted;
        error.textContent = httpError(res);
        return;
      }
      error.textContent = '';
      status.textContent = t(wanted ? 'dashboard.stats.work.switched_on' : 'dashboard.stats.work.switched_off');
    });
    return h(
      'div',
      { class: 'stats-work-switch' },
      checkField(box, t('dashboard.stats.work.recording')),
      hint('stats-work-recording-help', t('dashboard.stats.work.recording_help')),
      error,
      status,
    );
  }

  /** One row per agent and the team's sum. */
  buildTeam(work) {
    const title = t('dashboard.stats.work.team_table');
    const headId = 'stats-work-agents-title';
    const team = { agent_id: 0, name: t('dashboard.stats.work.team'), team: true, ...work.team };
    const first = {
      key: 'agent',
      label: t('dashboard.stats.work.col.agent'),
      cell: (r) => (r.team ? h('strong', { text: r.name }) : nameOf(r)),
    };
    return h(
      'section',
      { class: 'stat-block stat-table-block stat-block-wide', 'data-block': 'work_agents', 'aria-labelledby': headId },
      h('div', { class: 'stat-block-head' }, h('h3', { id: headId, text: title }), this.csvLink('agents', title)),
      scrollBox(title, dataTable('work_agents', title, [first, ...figureColumns()], [...work.agents, team])),
    );
  }

  /** The choice of agent (when there is one to make) and that agent's days. */
  buildAgent(work) {
    this.agentBox = h('div', { class: 'stats-work-agent' });
    const pick = [];
    if (work.agents.length > 1) {
      this.select = h(
        'select',
        { id: 'stats-work-agent', name: 'agent', onchange: () => this.showAgent(Number(this.select.value)) },
        work.agents.map((a) => h('option', { value: String(a.agent_id), text: nameOf(a) })),
      );
      pick.push(h('div', { class: 'stats-work-pick' }, field(t('dashboard.stats.work.agent'), this.select)));
    }
    if (work.agents.length) this.showAgent(work.agents[0].agent_id);
    else this.agentBox.append(h('p', { class: 'empty', text: t('dashboard.stats.table_empty') }));
    return h('div', {}, ...pick, this.agentBox);
  }

  /** Shows one agent's figures for the period and per day (the chart drawn once in the page). */
  showAgent(agentId) {
    const work = this.work;
    const agent = work.agents.find((a) => a.agent_id === agentId);
    if (!agent) return;
    const theirs = new Map(work.days.filter((d) => d.agent_id === agentId).map((d) => [d.day, d]));
    const days = [];
    for (let ms = parseDay(work.from); ms <= parseDay(work.to); ms += DAY_MS) {
      const day = dayText(ms);
      const d = theirs.get(day) || { day, ...parseFigures({}) };
      days.push({ ...d, online_hours: hours(d.online_seconds), in_chat_hours: hours(d.in_chat_seconds) });
    }
    const byDay = this.view.dayCategories(days, ['online_hours', 'in_chat_hours']);
    const before = this.view.blocks.length;
    const chart = this.view.dayBlock('work', byDay, {
      yTitle: t('dashboard.stats.work.axis.hours'),
      series: [
        { name: t('dashboard.stats.work.series.online'), cls: 'visits', values: byDay.values('online_hours') },
        { name: t('dashboard.stats.work.series.in_chat'), cls: 'page_views', values: byDay.values('in_chat_hours') },
      ],
      columns: figureColumns(),
      rows: days,
      csv: this.csvLink('days', t('dashboard.stats.work.days_csv')),
    });
    const fresh = this.view.blocks.slice(before);
    const card = (c) =>
      h('li', { class: 'stat-card', 'data-figure': c.key }, h('p', { class: 'stat-label', text: c.label }), h('p', { class: 'stat-value' }, c.cell(agent)));
    this.agentBox.replaceChildren(
      h('h3', { id: 'stats-work-agent-title', text: t('dashboard.stats.work.agent_title', { name: nameOf(agent) }) }),
      h('ul', { class: 'stat-cards', 'aria-labelledby': 'stats-work-agent-title' }, figureColumns().map(card)),
      chart,
    );
    // On a change of agent the page is there already: draw now (else the view draws it).
    if (this.agentBox.isConnected) fresh.forEach((b) => b.draw());
  }
}
