// Settings → General → Business hours (`GET`/`PUT /api/hours`, a department's own at
// `/api/departments/{id}/hours`): the time zone, each weekday's opening times, closed days and
// days with their own hours. Outside the business's hours the widget offers the offline form
// with the next opening. Only for agents who may manage settings (the API refuses others). The
// weekly times are checked here first, in the agent's language (checkWeek); the server checks
// everything again, and its message names the field, which is marked here.

import { h, whileBusy } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { request, httpError, serverError } from './api.js';
import { showFieldError, field, checkField, hint } from './form.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const str = (v) => (typeof v === 'string' ? v : '');
const list = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);

/** "09:00-12:00, 13:00-17:00" → ["09:00-12:00", "13:00-17:00"]. */
export function splitIntervals(text) {
  return text
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

const TIME = '(?:[01]\\d|2[0-3]):[0-5]\\d';
const INTERVAL = new RegExp(`^(${TIME})-(${TIME}|24:00)$`);
const minutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/**
 * The first mistake in the weekly times, as the server would refuse it: `{day, key, params}`
 * (an i18n key of `dashboard.hours.*`), or null. Days map to their text ("09:00-12:00, …").
 */
export function checkWeek(week) {
  for (const day of DAYS) {
    const seen = [];
    for (const iv of splitIntervals(week[day] || '')) {
      const m = INTERVAL.exec(iv);
      if (!m) return { day, key: 'dashboard.hours.bad_interval', params: { value: iv } };
      const [from, to] = [minutes(m[1]), minutes(m[2])];
      if (to <= from) return { day, key: 'dashboard.hours.ends_before', params: { value: iv } };
      const other = seen.find((o) => from < o.to && o.from < to);
      if (other) return { day, key: 'dashboard.hours.overlap', params: { a: other.text, b: iv } };
      seen.push({ from, to, text: iv });
    }
  }
  return null;
}

/** One day per line: "2026-12-25 Christmas" → [{date, rest}]. */
function lines(text) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l);
      return { date: m[1], rest: m[2] };
    });
}

/** The editor's values as the API's `hours` (null: always open). */
export function hoursOf({ on, tz, week, closed, special }) {
  if (!on) return null;
  const w = {};
  for (const d of DAYS) {
    const l = splitIntervals(week[d] || '');
    if (l.length) w[d] = l;
  }
  return {
    time_zone: tz.trim(),
    week: w,
    closed: lines(closed).map(({ date, rest }) => ({ date, label: rest })),
    special: lines(special).map(({ date, rest }) => ({ date, hours: splitIntervals(rest) })),
  };
}

/** The panel. */
export class HoursBlock {
  constructor() {
    this.admin = false;
    this.el = this.build();
  }

  build() {
    const id = (s) => `hours-${s}`;
    this.title = h('h2', { id: id('title'), text: t('dashboard.hours.title') });
    this.loadError = h('p', { class: 'form-error', role: 'alert' });
    this.scope = h('select', { id: id('scope'), name: 'scope', onchange: () => this.load() },
      h('option', { value: '', text: t('dashboard.hours.scope_default') }));
    this.scopeField = field(t('dashboard.hours.scope'), this.scope);
    this.scopeField.hidden = true;
    this.on = h('input', { type: 'checkbox', id: id('on'), name: 'on', onchange: () => this.toggle() });
    this.tz = h('input', {
      id: id('tz'),
      name: 'time_zone',
      autocomplete: 'off',
      spellcheck: 'false',
      list: id('zones'),
      'aria-describedby': id('tz-hint'),
    });
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    this.zones = h('datalist', { id: id('zones') }, zones.map((z) => h('option', { value: z })));
    this.days = {};
    const dayFields = DAYS.map((d) => {
      this.days[d] = h('input', {
        id: id(`day-${d}`),
        name: `week.${d}`,
        autocomplete: 'off',
        spellcheck: 'false',
        placeholder: t('dashboard.hours.closed_placeholder'),
        'aria-describedby': id('week-hint'),
      });
      return field(t(`dashboard.hours.day.${d}`), this.days[d]);
    });
    this.closed = h('textarea', { id: id('closed'), name: 'closed', rows: 3, spellcheck: 'false', 'aria-describedby': id('closed-hint') });
    this.special = h('textarea', { id: id('special'), name: 'special', rows: 3, spellcheck: 'false', 'aria-describedby': id('special-hint') });
    this.formError = h('p', { id: id('error'), class: 'form-error', role: 'alert' });
    this.status = h('p', { id: id('status'), class: 'form-status', role: 'status' });
    this.now = h('p', { id: id('now'), class: 'hint' });
    this.saveBtn = h('button', { type: 'submit', id: id('save'), text: t('dashboard.hours.save') });
    this.rules = h(
      'div',
      { class: 'hours-rules' },
      field(t('dashboard.hours.tz'), this.tz, hint(id('tz-hint'), t('dashboard.hours.tz_hint')), this.zones),
      h(
        'fieldset',
        { class: 'hours-week' },
        h('legend', { text: t('dashboard.hours.week') }),
        hint(id('week-hint'), t('dashboard.hours.week_hint')),
        dayFields,
      ),
      field(t('dashboard.hours.closed'), this.closed, hint(id('closed-hint'), t('dashboard.hours.closed_hint'))),
      field(t('dashboard.hours.special'), this.special, hint(id('special-hint'), t('dashboard.hours.special_hint'))),
    );
    this.form = h(
      'form',
      { id: id('form'), class: 'email-form hours-form', 'aria-labelledby': id('title'), novalidate: true, onsubmit: (e) => this.save(e) },
      this.scopeField,
      checkField(this.on, t('dashboard.hours.on')),
      this.rules,
      this.formError,
      h('div', { class: 'field-button' }, this.saveBtn),
      this.status,
      this.now,
    );
    return h(
      'section',
      { id: 'hours', class: 'panel settings-panel', 'aria-labelledby': id('title'), hidden: true },
      this.title,
      h('p', { class: 'hint', text: t('dashboard.hours.intro') }),
      this.loadError,
      this.form,
    );
  }

  fields() {
    return [this.tz, ...DAYS.map((d) => this.days[d]), this.closed, this.special];
  }

  /** Shown only to agents who may manage settings. */
  setAdmin(admin) {
    this.admin = admin;
    this.el.hidden = !admin;
  }

  path() {
    const dep = this.scope.value;
    return dep ? `/api/departments/${encodeURIComponent(dep)}/hours` : '/api/hours';
  }

  toggle() {
    this.rules.hidden = !this.on.checked;
  }

  /** The departments, each may have its own hours (its chats follow them, else the business's). */
  async loadDepartments() {
    const res = await request('GET', '/api/departments');
    const deps = res.ok && res.data && Array.isArray(res.data.departments) ? res.data.departments : [];
    for (const d of deps) {
      if (!Number.isSafeInteger(d.id)) continue;
      this.scope.append(h('option', { value: String(d.id), text: t('dashboard.hours.scope_department', { name: str(d.name) }) }));
    }
    this.scopeField.hidden = deps.length === 0;
  }

  async load() {
    if (!this.admin) return;
    if (!this.departmentsAsked) {
      this.departmentsAsked = true;
      await this.loadDepartments();
    }
    const res = await request('GET', this.path());
    if (!res.ok || !res.data || typeof res.data.open !== 'boolean') {
      this.loadError.textContent = res.status === 403 ? httpError(res) : t('dashboard.settings.load_failed');
      return;
    }
    this.loadError.textContent = '';
    this.fill(res.data);
  }

  fill(d) {
    const hrs = d.hours && typeof d.hours === 'object' ? d.hours : null;
    this.on.checked = !!hrs;
    this.tz.value = hrs ? str(hrs.time_zone) : Intl.DateTimeFormat().resolvedOptions().timeZone || '';
    const week = hrs && hrs.week && typeof hrs.week === 'object' ? hrs.week : {};
    for (const day of DAYS) this.days[day].value = list(week[day]).join(', ');
    const closed = hrs && Array.isArray(hrs.closed) ? hrs.closed : [];
    this.closed.value = closed.map((c) => `${str(c.date)} ${str(c.label)}`.trim()).join('\n');
    const special = hrs && Array.isArray(hrs.special) ? hrs.special : [];
    this.special.value = special.map((s) => `${str(s.date)} ${list(s.hours).join(', ')}`).join('\n');
    this.toggle();
    const next = typeof d.next_open === 'string' ? new Date(d.next_open) : null;
    this.now.textContent = !hrs
      ? t('dashboard.hours.always_open')
      : d.open
        ? t('dashboard.hours.open_now')
        : next && !Number.isNaN(next.getTime())
          ? t('dashboard.hours.closed_until', { time: formatDateTime(next) })
          : t('dashboard.hours.closed_for_good');
  }

  /** The field a refusal names ("week.mon: …", "closed[1]: …"). */
  fieldOf(message) {
    const m = /^([a-z_]+)(?:\.([a-z]+))?/.exec(message || '');
    if (!m) return this.saveBtn;
    if (m[1] === 'time_zone') return this.tz;
    if (m[1] === 'week') return this.days[m[2]] || this.days.mon;
    if (m[1] === 'closed') return this.closed;
    if (m[1] === 'special') return this.special;
    return this.saveBtn;
  }

  async save(e) {
    e.preventDefault();
    const fields = this.fields();
    const week = Object.fromEntries(DAYS.map((d) => [d, this.days[d].value]));
    const hours = hoursOf({ on: this.on.checked, tz: this.tz.value, week, closed: this.closed.value, special: this.special.value });
    const wrong = this.on.checked ? checkWeek(week) : null;
    if (wrong) {
      const day = t(`dashboard.hours.day.${wrong.day}`);
      showFieldError(this.formError, fields, this.days[wrong.day], `${day}: ${t(wrong.key, wrong.params)}`);
      return;
    }
    showFieldError(this.formError, fields, null, '');
    this.status.textContent = t('dashboard.settings.saving');
    await whileBusy(this.saveBtn, async () => {
      const res = await request('PUT', this.path(), { json: { hours } });
      if (!res.ok) {
        this.status.textContent = '';
        showFieldError(this.formError, fields, res.status === 400 ? this.fieldOf(res.message) : this.saveBtn, serverError(res));
        return;
      }
      this.fill(res.data);
      this.status.textContent = t('dashboard.hours.saved');
    });
  }
}
