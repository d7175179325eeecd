// Settings → Invitation rules: when the server invites a visitor to chat on its own. Everyone
// reads them (`GET /api/rules`); admins create, edit and delete them (POST, PUT, DELETE).

import { h, hasFocus } from './dom.js';
import { t, formatNumber } from './i18n.js';
import { request } from './api.js';
import { serverError } from './tracking.js';
import { showFieldError } from './form.js';
import { referrerKindText } from './visitor-text.js';
import { MAX_INVITE_CHARS, charCount, limitField } from '../shared/limits.js';

const isInt = (v) => Number.isSafeInteger(v);
const str = (v) => (typeof v === 'string' ? v : '');
const intOrNull = (v) => (isInt(v) ? v : null);
const strOrNull = (v) => (typeof v === 'string' && v !== '' ? v : null);
const REFERRERS = ['search', 'social', 'site', 'direct'];
const NAME_MAX = 100;
/** The whole-number fields (JSON names); empty means null (any), but a delay of 0. */
const NUMBERS = ['delay_seconds', 'min_seconds_on_page', 'min_pages', 'min_visits'];

/** A RULE from the API, or null. */
export function parseRule(r) {
  if (!r || typeof r !== 'object' || !isInt(r.id)) return null;
  const c = r.conditions && typeof r.conditions === 'object' ? r.conditions : {};
  return {
    id: r.id,
    site_key: str(r.site_key),
    name: str(r.name),
    enabled: r.enabled !== false,
    text: str(r.text),
    delay_seconds: isInt(r.delay_seconds) ? r.delay_seconds : 0,
    once_per_visit: r.once_per_visit !== false,
    conditions: {
      url: strOrNull(c.url),
      min_seconds_on_page: intOrNull(c.min_seconds_on_page),
      min_pages: intOrNull(c.min_pages),
      referrer: REFERRERS.includes(c.referrer) ? c.referrer : null,
      campaign: strOrNull(c.campaign),
      min_visits: intOrNull(c.min_visits),
    },
  };
}

/** The conditions in one sentence ("any visitor" when there are none). */
export function conditionsText(c) {
  const parts = [];
  if (c.url !== null) parts.push(t('dashboard.rules.cond.url', { url: c.url }));
  if (c.min_seconds_on_page !== null) parts.push(t('dashboard.rules.cond.min_seconds_on_page', { n: formatNumber(c.min_seconds_on_page) }));
  if (c.min_pages !== null) parts.push(t('dashboard.rules.cond.min_pages', { n: formatNumber(c.min_pages) }));
  if (c.referrer !== null) parts.push(t('dashboard.rules.cond.referrer', { kind: referrerKindText(c.referrer) }));
  if (c.campaign !== null) parts.push(t('dashboard.rules.cond.campaign', { campaign: c.campaign }));
  if (c.min_visits !== null) parts.push(t('dashboard.rules.cond.min_visits', { n: formatNumber(c.min_visits) }));
  return parts.length ? parts.join('; ') : t('dashboard.rules.cond.any');
}

export class RulesEditor {
  constructor() {
    this.admin = false;
    this.rules = [];
    this.sites = null; // from the tracking block; null until (or unless) known
    this.editing = null; // the rule being edited, or null for a new one
    this.title = h('h2', { id: 'set-rules-title', tabindex: '-1', text: t('dashboard.rules.title') });
    this.status = h('p', { class: 'form-status', role: 'status' });
    this.list = h('ul', { id: 'rule-list', class: 'rule-list', 'aria-labelledby': 'set-rules-title' });
    this.empty = h('p', { class: 'empty', hidden: true, text: t('dashboard.rules.empty') });
    this.who = h('p', { class: 'hint', hidden: true, text: t('dashboard.rules.admins_only') });
    this.form = this.buildForm();
    this.form.hidden = true;
    this.el = h(
      'section',
      { class: 'panel settings-panel', id: 'rules-settings', 'aria-labelledby': 'set-rules-title' },
      this.title,
      h('p', { class: 'hint', text: t('dashboard.rules.intro') }),
      this.status,
      this.list,
      this.empty,
      this.who,
      this.form,
    );
  }

  setAdmin(admin) {
    this.admin = admin;
    this.who.hidden = admin;
    this.form.hidden = !admin;
    this.renderList();
  }

  /** The sites the form offers (a text field when they could not be loaded). */
  setSites(sites) {
    this.sites = Array.isArray(sites) ? sites : null;
    this.renderSiteField(this.editing ? this.editing.site_key : '');
  }

  // ----- the list -----

  async load() {
    const res = await request('GET', '/api/rules');
    if (!res.ok || !res.data || !Array.isArray(res.data.rules)) {
      this.status.textContent = t('dashboard.settings.load_failed');
      return false;
    }
    this.rules = res.data.rules.map(parseRule).filter(Boolean);
    this.renderList();
    return true;
  }

  renderList() {
    const hadFocus = hasFocus(this.list);
    this.list.replaceChildren(...this.rules.map((r) => this.buildItem(r)));
    this.empty.hidden = this.rules.length > 0;
    if (hadFocus) this.title.focus();
  }

  buildItem(r) {
    const name = r.name || t('dashboard.rules.unnamed', { id: r.id });
    return h(
      'li',
      { class: r.enabled ? 'rule-item' : 'rule-item rule-disabled', 'data-rule-id': r.id },
      h(
        'div',
        { class: 'rule-head' },
        h('strong', { class: 'rule-name', text: name }),
        h('span', {
          class: r.enabled ? 'tag tag-on' : 'tag',
          text: t(r.enabled ? 'dashboard.rules.on' : 'dashboard.rules.off'),
        }),
        h('span', { class: 'rule-site muted', text: t('dashboard.rules.on_site', { site: r.site_key }) }),
      ),
      h('p', { class: 'rule-text' }, h('q', { text: r.text })),
      h('p', { class: 'rule-conds', text: `${t('dashboard.rules.conditions')}: ${conditionsText(r.conditions)}` }),
      h('p', {
        class: 'rule-timing muted',
        text: [
          t('dashboard.rules.after', { n: formatNumber(r.delay_seconds) }),
          r.once_per_visit ? t('dashboard.rules.once') : t('dashboard.rules.repeat'),
        ].join(', '),
      }),
      this.admin
        ? h(
            'p',
            { class: 'rule-actions' },
            h('button', {
              type: 'button',
              class: 'btn-secondary btn-small rule-edit',
              text: t('dashboard.rules.edit'),
              'aria-label': t('dashboard.rules.edit_label', { name }),
              onclick: () => this.edit(r),
            }),
            h('button', {
              type: 'button',
              class: 'btn-danger btn-small rule-delete',
              text: t('dashboard.rules.delete'),
              'aria-label': t('dashboard.rules.delete_label', { name }),
              onclick: () => this.remove(r),
            }),
          )
        : null,
    );
  }

  // ----- the form -----

  buildForm() {
    const f = {};
    const input = (name, props = {}) =>
      h('input', { id: `rule-${name}`, name, autocomplete: 'off', ...props });
    const number = (name) =>
      input(name, { type: 'number', min: '0', step: '1', inputmode: 'numeric', 'aria-describedby': 'rule-any-hint' });
    f.name = input('name', { maxlength: String(NAME_MAX), required: true });
    f.siteBox = h('div', { class: 'field' });
    f.enabled = h('input', { type: 'checkbox', id: 'rule-enabled', name: 'enabled' });
    f.text = h('textarea', { id: 'rule-text', name: 'text', rows: '2', required: true });
    limitField(f.text, MAX_INVITE_CHARS);
    f.delay_seconds = input('delay_seconds', { type: 'number', min: '0', step: '1', inputmode: 'numeric', 'aria-describedby': 'rule-delay-hint' });
    f.once_per_visit = h('input', { type: 'checkbox', id: 'rule-once_per_visit', name: 'once_per_visit' });
    f.url = input('url', { maxlength: '2000', spellcheck: 'false', 'aria-describedby': 'rule-url-hint rule-any-hint' });
    f.min_seconds_on_page = number('min_seconds_on_page');
    f.min_pages = number('min_pages');
    f.referrer = h(
      'select',
      { id: 'rule-referrer', name: 'referrer' },
      h('option', { value: '', text: t('dashboard.rules.any') }),
      REFERRERS.map((k) => h('option', { value: k, text: referrerKindText(k) })),
    );
    f.campaign = input('campaign', { maxlength: '200', spellcheck: 'false', 'aria-describedby': 'rule-any-hint' });
    f.min_visits = number('min_visits');
    f.heading = h('h3', { id: 'rule-form-title', text: t('dashboard.rules.new') });
    f.error = h('p', { id: 'rule-error', class: 'form-error', role: 'alert' });
    f.submit = h('button', { type: 'submit', text: t('dashboard.rules.create') });
    f.cancel = h('button', {
      type: 'button',
      class: 'btn-secondary',
      hidden: true,
      text: t('dashboard.rules.cancel'),
      onclick: () => this.resetForm({ focus: true }),
    });
    this.f = f;
    const field = (name, key, el, hint) =>
      h('div', { class: 'field' }, h('label', { for: `rule-${name}`, text: t(key) }), el, hint || null);
    const check = (name, key, el) => h('div', { class: 'check-field' }, el, h('label', { for: `rule-${name}`, text: t(key) }));
    const form = h(
      'form',
      { id: 'rule-form', class: 'rule-form', novalidate: true, 'aria-labelledby': 'rule-form-title', onsubmit: (e) => this.submit(e) },
      f.heading,
      h(
        'div',
        { class: 'rule-grid' },
        field('name', 'dashboard.rules.field.name', f.name),
        f.siteBox,
      ),
      field('text', 'dashboard.rules.field.text', f.text, h('span', { class: 'hint', text: t('dashboard.rules.text_hint') })),
      h(
        'div',
        { class: 'rule-grid' },
        field('delay_seconds', 'dashboard.rules.field.delay_seconds', f.delay_seconds,
          h('span', { id: 'rule-delay-hint', class: 'hint', text: t('dashboard.rules.delay_hint') })),
        h('div', { class: 'rule-checks' },
          check('enabled', 'dashboard.rules.field.enabled', f.enabled),
          check('once_per_visit', 'dashboard.rules.field.once_per_visit', f.once_per_visit)),
      ),
      h(
        'fieldset',
        { class: 'rule-conditions' },
        h('legend', { text: t('dashboard.rules.conditions') }),
        h('p', { id: 'rule-any-hint', class: 'hint', text: t('dashboard.rules.any_hint') }),
        h(
          'div',
          { class: 'rule-grid' },
          field('url', 'dashboard.rules.field.url', f.url, h('span', { id: 'rule-url-hint', class: 'hint', text: t('dashboard.rules.url_hint') })),
          field('min_seconds_on_page', 'dashboard.rules.field.min_seconds_on_page', f.min_seconds_on_page),
          field('min_pages', 'dashboard.rules.field.min_pages', f.min_pages),
          field('referrer', 'dashboard.rules.field.referrer', f.referrer),
          field('campaign', 'dashboard.rules.field.campaign', f.campaign),
          field('min_visits', 'dashboard.rules.field.min_visits', f.min_visits),
        ),
      ),
      f.error,
      h('div', { class: 'form-buttons' }, f.submit, f.cancel),
    );
    this.fillForm(null);
    return form;
  }

  /** A select of the known sites, or a text field when they are not known. */
  renderSiteField(value) {
    const f = this.f;
    const label = h('label', { for: 'rule-site_key', text: t('dashboard.rules.field.site_key') });
    if (this.sites && this.sites.length) {
      const keys = this.sites.map((s) => s.key);
      // A rule of a site that is gone keeps its value (and can be moved to another site).
      if (value && !keys.includes(value)) keys.push(value);
      f.site_key = h(
        'select',
        { id: 'rule-site_key', name: 'site_key' },
        keys.map((k) => h('option', { value: k, text: k })),
      );
      f.site_key.value = value || keys[0];
    } else {
      f.site_key = h('input', { id: 'rule-site_key', name: 'site_key', autocomplete: 'off', spellcheck: 'false', required: true });
      f.site_key.value = value || '';
    }
    f.siteBox.replaceChildren(label, f.site_key);
  }

  fillForm(r) {
    const f = this.f;
    const c = r ? r.conditions : null;
    f.name.value = r ? r.name : '';
    this.renderSiteField(r ? r.site_key : '');
    f.enabled.checked = r ? r.enabled : true;
    f.text.value = r ? r.text : '';
    f.delay_seconds.value = String(r ? r.delay_seconds : 0);
    f.once_per_visit.checked = r ? r.once_per_visit : true;
    f.url.value = c && c.url !== null ? c.url : '';
    f.min_seconds_on_page.value = c && c.min_seconds_on_page !== null ? String(c.min_seconds_on_page) : '';
    f.min_pages.value = c && c.min_pages !== null ? String(c.min_pages) : '';
    f.referrer.value = c && c.referrer !== null ? c.referrer : '';
    f.campaign.value = c && c.campaign !== null ? c.campaign : '';
    f.min_visits.value = c && c.min_visits !== null ? String(c.min_visits) : '';
    this.fieldError(null, '');
  }

  edit(r) {
    this.editing = r;
    this.fillForm(r);
    this.f.heading.textContent = t('dashboard.rules.edit_title', { name: r.name || t('dashboard.rules.unnamed', { id: r.id }) });
    this.f.submit.textContent = t('dashboard.rules.save');
    this.f.cancel.hidden = false;
    this.f.name.focus();
  }

  resetForm({ focus }) {
    this.editing = null;
    this.fillForm(null);
    this.f.heading.textContent = t('dashboard.rules.new');
    this.f.submit.textContent = t('dashboard.rules.create');
    this.f.cancel.hidden = true;
    if (focus) this.f.name.focus();
  }

  fieldError(field, text) {
    const f = this.f;
    showFieldError(f.error, [f.name, f.site_key, f.text, f.delay_seconds, f.url, f.min_seconds_on_page, f.min_pages, f.campaign, f.min_visits], field, text);
  }

  /** The form as a RULE body (without id), or null after saying what is wrong. */
  readForm() {
    const f = this.f;
    const name = f.name.value.trim();
    const text = f.text.value.trim();
    const site = f.site_key.value.trim();
    const fail = (field, key) => {
      this.fieldError(field, t(key));
      return null;
    };
    if (!name) return fail(f.name, 'dashboard.rules.bad_name');
    if (!site) return fail(f.site_key, 'dashboard.rules.bad_site');
    if (!text || charCount(text) > MAX_INVITE_CHARS) return fail(f.text, 'dashboard.rules.bad_text');
    const nums = {};
    for (const key of NUMBERS) {
      const raw = f[key].value.trim();
      // Browsers empty a number field that holds something else: that is not "any".
      if (f[key].validity && f[key].validity.badInput) return fail(f[key], 'dashboard.rules.bad_number');
      if (raw === '') {
        nums[key] = null;
        continue;
      }
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || !isInt(n)) return fail(f[key], 'dashboard.rules.bad_number');
      nums[key] = n;
    }
    return {
      site_key: site,
      name,
      enabled: f.enabled.checked,
      text,
      delay_seconds: nums.delay_seconds === null ? 0 : nums.delay_seconds,
      once_per_visit: f.once_per_visit.checked,
      conditions: {
        url: f.url.value.trim() || null,
        min_seconds_on_page: nums.min_seconds_on_page,
        min_pages: nums.min_pages,
        referrer: f.referrer.value || null,
        campaign: f.campaign.value.trim() || null,
        min_visits: nums.min_visits,
      },
    };
  }

  async submit(e) {
    e.preventDefault();
    if (!this.admin) return;
    const body = this.readForm();
    if (!body) return;
    this.fieldError(null, '');
    const editing = this.editing;
    this.f.submit.disabled = true;
    const res = editing
      ? await request('PUT', `/api/rules/${encodeURIComponent(editing.id)}`, { json: body })
      : await request('POST', '/api/rules', { json: body });
    this.f.submit.disabled = false;
    if (!res.ok) {
      if (editing && res.status === 404) {
        // Deleted meanwhile (another admin): back to a new rule, with the list as it is now.
        this.resetForm({ focus: false });
        this.f.error.textContent = t('dashboard.rules.gone');
        await this.load();
        return;
      }
      this.fieldError(this.f.submit, serverError(res));
      return;
    }
    const saved = parseRule(res.data);
    await this.load();
    this.status.textContent = t(editing ? 'dashboard.rules.saved' : 'dashboard.rules.created', {
      name: saved ? saved.name : body.name,
    });
    this.resetForm({ focus: true });
  }

  async remove(r) {
    const name = r.name || t('dashboard.rules.unnamed', { id: r.id });
    if (!window.confirm(t('dashboard.rules.confirm_delete', { name }))) return;
    const res = await request('DELETE', `/api/rules/${encodeURIComponent(r.id)}`);
    if (!res.ok && res.status !== 404) {
      this.status.textContent = serverError(res);
      return;
    }
    if (this.editing && this.editing.id === r.id) this.resetForm({ focus: false });
    await this.load();
    this.status.textContent = t('dashboard.rules.deleted', { name });
    this.title.focus();
  }
}
