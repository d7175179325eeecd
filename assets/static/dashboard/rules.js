// Settings → Invitation rules: when the server invites a visitor to chat on its own. Everyone
// reads them (`GET /api/rules`); admins create, edit and delete them (POST, PUT, DELETE).

import { h } from './dom.js';
import { t, formatNumber } from './i18n.js';
import { ListEditor } from './list-editor.js';
import { checkField } from './form.js';
import { referrerKindText } from './visitor-text.js';
import { MAX_INVITE_CHARS, charCount, limitField } from '../shared/limits.js';

const isInt = (v) => Number.isSafeInteger(v);
const str = (v) => (typeof v === 'string' ? v : '');
const intOrNull = (v) => (isInt(v) ? v : null);
const strOrNull = (v) => (typeof v === 'string' && v !== '' ? v : null);
const REFERRERS = ['search', 'social', 'site', 'direct'];
const NAME_MAX = 100;
/** The whole-number fields (JSON names); empty means null (any), but a delay of 0. */
const NUMBERS = ['delay_seconds', 'min_seconds_on_page', 'min_pages', 'min_visits', 'min_relevance'];

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
      min_relevance: intOrNull(c.min_relevance),
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
  if (c.min_relevance !== null) parts.push(t('dashboard.rules.cond.min_relevance', { n: formatNumber(c.min_relevance) }));
  return parts.length ? parts.join('; ') : t('dashboard.rules.cond.any');
}

export class RulesEditor extends ListEditor {
  constructor() {
    super('rules', 'rule', { everyoneReads: true });
    this.sites = null; // from the tracking block; null until (or unless) known
  }

  parse(r) {
    return parseRule(r);
  }

  /** The sites the form offers (a text field when they could not be loaded). */
  setSites(sites) {
    this.sites = Array.isArray(sites) ? sites : null;
    this.renderSiteField(this.editing ? this.editing.site_key : '');
  }

  buildItem(r) {
    const name = this.itemName(r);
    return h(
      'li',
      { class: r.enabled ? 'rule-item' : 'rule-item rule-disabled', 'data-rule-id': r.id },
      h(
        'div',
        { class: 'rule-head' },
        h('strong', { class: 'rule-name', text: name }),
        h('span', {
          class: r.enabled ? 'tag tag-on' : 'tag',
          text: this.t(r.enabled ? 'on' : 'off'),
        }),
        h('span', { class: 'rule-site muted', text: this.t('on_site', { site: r.site_key }) }),
      ),
      h('p', { class: 'rule-text' }, h('q', { text: r.text })),
      h('p', { class: 'rule-conds', text: `${this.t('conditions')}: ${conditionsText(r.conditions)}` }),
      h('p', {
        class: 'rule-timing muted',
        text: [
          this.t('after', { n: formatNumber(r.delay_seconds) }),
          this.t(r.once_per_visit ? 'once' : 'repeat'),
        ].join(', '),
      }),
      this.admin ? this.actions(r) : null,
    );
  }

  // ----- the form -----

  buildFields(f) {
    const number = (name, describedBy = 'rule-any-hint') =>
      this.input(name, { type: 'number', min: '0', step: '1', inputmode: 'numeric', 'aria-describedby': describedBy });
    f.name = this.input('name', { maxlength: String(NAME_MAX), required: true });
    f.siteBox = h('div', { class: 'field' });
    f.enabled = h('input', { type: 'checkbox', id: 'rule-enabled', name: 'enabled' });
    f.text = h('textarea', { id: 'rule-text', name: 'text', rows: '2', required: true, 'aria-describedby': 'rule-text-hint' });
    limitField(f.text, MAX_INVITE_CHARS);
    f.delay_seconds = number('delay_seconds', 'rule-delay_seconds-hint');
    f.once_per_visit = h('input', { type: 'checkbox', id: 'rule-once_per_visit', name: 'once_per_visit' });
    f.url = this.input('url', { maxlength: '2000', spellcheck: 'false', 'aria-describedby': 'rule-url-hint rule-any-hint' });
    f.min_seconds_on_page = number('min_seconds_on_page');
    f.min_pages = number('min_pages');
    f.referrer = h(
      'select',
      { id: 'rule-referrer', name: 'referrer' },
      h('option', { value: '', text: this.t('any') }),
      REFERRERS.map((k) => h('option', { value: k, text: referrerKindText(k) })),
    );
    f.campaign = this.input('campaign', { maxlength: '200', spellcheck: 'false', 'aria-describedby': 'rule-any-hint' });
    f.min_visits = number('min_visits');
    f.min_relevance = number('min_relevance');
    const check = (name) => checkField(f[name], this.t(`field.${name}`));
    return [
      h('div', { class: 'rule-grid' }, this.field('name', f.name), f.siteBox),
      this.field('text', f.text, this.t('text_hint')),
      h(
        'div',
        { class: 'rule-grid' },
        this.field('delay_seconds', f.delay_seconds, this.t('delay_hint')),
        h('div', { class: 'rule-checks' }, check('enabled'), check('once_per_visit')),
      ),
      h(
        'fieldset',
        { class: 'rule-conditions' },
        h('legend', { text: this.t('conditions') }),
        h('p', { id: 'rule-any-hint', class: 'hint', text: this.t('any_hint') }),
        h(
          'div',
          { class: 'rule-grid' },
          this.field('url', f.url, this.t('url_hint')),
          ['min_seconds_on_page', 'min_pages', 'referrer', 'campaign', 'min_visits', 'min_relevance'].map((k) => this.field(k, f[k])),
        ),
      ),
    ];
  }

  /** A select of the known sites, or a text field when they are not known. */
  renderSiteField(value) {
    const f = this.f;
    const label = h('label', { for: 'rule-site_key', text: this.t('field.site_key') });
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
      f.site_key = this.input('site_key', { spellcheck: 'false', required: true });
      f.site_key.value = value || '';
    }
    f.siteBox.replaceChildren(label, f.site_key);
    f.fields = [f.name, f.site_key, f.text, ...NUMBERS.map((k) => f[k]), f.url, f.campaign];
  }

  fillForm(r) {
    const f = this.f;
    const c = r ? r.conditions : null;
    const orEmpty = (v) => (v === null ? '' : String(v));
    f.name.value = r ? r.name : '';
    this.renderSiteField(r ? r.site_key : '');
    f.enabled.checked = r ? r.enabled : true;
    f.text.value = r ? r.text : '';
    f.delay_seconds.value = String(r ? r.delay_seconds : 0);
    f.once_per_visit.checked = r ? r.once_per_visit : true;
    for (const k of ['url', 'min_seconds_on_page', 'min_pages', 'referrer', 'campaign', 'min_visits', 'min_relevance']) {
      f[k].value = c ? orEmpty(c[k]) : '';
    }
  }

  /** The form as a RULE body (without id), or null after saying what is wrong. */
  readForm() {
    const f = this.f;
    const name = f.name.value.trim();
    const text = f.text.value.trim();
    const site = f.site_key.value.trim();
    if (!name) return this.fail(f.name, 'bad_name');
    if (!site) return this.fail(f.site_key, 'bad_site');
    if (!text || charCount(text) > MAX_INVITE_CHARS) return this.fail(f.text, 'bad_text');
    const nums = {};
    for (const key of NUMBERS) {
      const raw = f[key].value.trim();
      // Browsers empty a number field that holds something else: that is not "any".
      if (f[key].validity && f[key].validity.badInput) return this.fail(f[key], 'bad_number');
      if (raw === '') {
        nums[key] = null;
        continue;
      }
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || !isInt(n)) return this.fail(f[key], 'bad_number');
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
        min_relevance: nums.min_relevance,
      },
    };
  }
}
