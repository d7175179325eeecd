// Settings › Tracking › Visitor relevance (the sites permission): how much each signal adds to
// a live visitor's relevance (0-10), per site (`GET|PUT|DELETE /api/sites/{key}/relevance`),
// with the defaults a click away. Setting every weight to 0 turns relevance off for the site.

import { h, whileBusy } from './dom.js';
import { t } from './i18n.js';
import { request, serverError } from './api.js';
import { field, hint } from './form.js';

const SIGNALS = ['pages', 'time', 'campaign', 'goal', 'returning', 'chats'];

export class RelevanceWeights {
  constructor() {
    this.sites = [];
    this.el = this.build();
  }

  build() {
    this.site = h('select', { id: 'relevance-site', name: 'site', onchange: () => this.load() });
    this.inputs = {};
    for (const s of SIGNALS) {
      this.inputs[s] = h('input', { id: `relevance-${s}`, name: s, type: 'number', min: '0', max: '10', step: '1', inputmode: 'numeric', required: true });
    }
    this.saveBtn = h('button', { type: 'submit', text: t('dashboard.relevance.save') });
    this.resetBtn = h('button', { type: 'button', class: 'btn-secondary', text: t('dashboard.relevance.reset'), onclick: () => this.reset() });
    this.error = h('p', { id: 'relevance-error', class: 'form-error', role: 'alert' });
    this.status = h('p', { id: 'relevance-status', class: 'form-status', role: 'status', 'aria-live': 'polite' });
    return h(
      'section',
      { id: 'relevance', class: 'panel settings-panel', 'aria-labelledby': 'relevance-title', hidden: true },
      h('h2', { id: 'relevance-title', text: t('dashboard.relevance.title') }),
      h('p', { class: 'hint', text: t('dashboard.relevance.intro') }),
      h(
        'form',
        { id: 'relevance-form', class: 'rule-form', novalidate: true, onsubmit: (e) => this.save(e) },
        field(t('dashboard.relevance.site'), this.site),
        h(
          'fieldset',
          { class: 'rule-conditions' },
          h('legend', { text: t('dashboard.relevance.weights') }),
          hint('relevance-weights-hint', t('dashboard.relevance.weights_hint')),
          h('div', { class: 'rule-grid' }, SIGNALS.map((s) => field(t(`dashboard.relevance.weight.${s}`), this.inputs[s]))),
        ),
        this.error,
        h('div', { class: 'form-buttons' }, this.saveBtn, this.resetBtn),
      ),
      this.status,
    );
  }

  /** The tenant's sites as the tracking block parsed them; the panel shows once there is one. */
  setSites(sites) {
    this.sites = Array.isArray(sites) ? sites.filter((s) => s && typeof s.key === 'string') : [];
    const current = this.site.value;
    this.site.replaceChildren(
      ...this.sites.map((s) => h('option', { value: s.key, text: s.origins.length ? `${s.origins[0]} (${s.key})` : s.key })),
    );
    if (this.sites.some((s) => s.key === current)) this.site.value = current;
    this.el.hidden = this.sites.length === 0;
    if (this.sites.length) this.load();
  }

  path() {
    return `/api/sites/${encodeURIComponent(this.site.value)}/relevance`;
  }

  show(data) {
    const w = data && data.weights ? data.weights : {};
    for (const s of SIGNALS) this.inputs[s].value = String(Number.isInteger(w[s]) ? w[s] : 0);
    this.status.textContent = data && data.default ? t('dashboard.relevance.are_defaults') : '';
  }

  async load() {
    const res = await request('GET', this.path());
    if (!res.ok) {
      this.error.textContent = serverError(res);
      return;
    }
    this.error.textContent = '';
    this.show(res.data);
  }

  async save(e) {
    e.preventDefault();
    const json = {};
    for (const s of SIGNALS) {
      const n = Number(this.inputs[s].value);
      if (!Number.isInteger(n) || n < 0 || n > 10 || this.inputs[s].value.trim() === '') {
        this.error.textContent = t('dashboard.relevance.bad_weight');
        this.inputs[s].focus();
        return;
      }
      json[s] = n;
    }
    await whileBusy(this.saveBtn, async () => {
      const res = await request('PUT', this.path(), { json });
      if (!res.ok) {
        this.error.textContent = serverError(res);
        return;
      }
      this.error.textContent = '';
      this.show(res.data);
      this.status.textContent = t('dashboard.relevance.saved');
    });
  }

  async reset() {
    await whileBusy(this.resetBtn, async () => {
      const res = await request('DELETE', this.path());
      if (!res.ok) {
        this.error.textContent = serverError(res);
        return;
      }
      this.error.textContent = '';
      this.show(res.data);
    });
  }
}
