// Settings → Sites: a site's questions and answers, which the chat frame offers (and searches)
// before a chat starts. Each entry has a question and an answer in German and in English
// (plain text; one language may stay empty) and is saved, moved up or removed on its own.
// `GET/POST /api/sites/{key}/faqs`, `PUT/DELETE /api/sites/{key}/faqs/{id}`; the server checks
// the limits and names the field a refusal is about.

import { h } from './dom.js';
import { t } from './i18n.js';
import { request, serverError } from './api.js';
import { field, showFieldError } from './form.js';

const MAX_ENTRIES = 100;
const MAX_QUESTION = 200;
const MAX_ANSWER = 2000;
const TEXTS = [
  ['question_de', MAX_QUESTION],
  ['answer_de', MAX_ANSWER],
  ['question_en', MAX_QUESTION],
  ['answer_en', MAX_ANSWER],
];
const str = (v) => (typeof v === 'string' ? v : '');

let seq = 0;

export class FaqEditor {
  constructor(siteKey) {
    this.key = siteKey;
    this.rows = [];
    this.n = ++seq;
    this.list = h('ol', { class: 'faq-entries', id: `faq-entries-${this.n}` });
    this.status = h('p', { class: 'form-status', role: 'status' });
    this.error = h('p', { id: `faq-error-${this.n}`, class: 'form-error', role: 'alert' });
    this.add = h('button', { type: 'button', class: 'btn-secondary faq-add', text: t('dashboard.faq.add'), onclick: () => this.addRow({}, true) });
    this.el = h(
      'section',
      { class: 'faq-editor', 'aria-labelledby': `faq-title-${this.n}` },
      h('h3', { id: `faq-title-${this.n}`, text: t('dashboard.faq.title') }),
      h('p', { class: 'hint', text: t('dashboard.faq.hint', { n: MAX_ENTRIES, q: MAX_QUESTION, a: MAX_ANSWER }) }),
      this.list,
      this.error,
      this.add,
      this.status,
    );
    this.load();
  }

  async load() {
    const res = await request('GET', `/api/sites/${encodeURIComponent(this.key)}/faqs`);
    if (!res.ok || !res.data || !Array.isArray(res.data.faqs)) {
      this.error.textContent = serverError(res);
      return;
    }
    for (const f of res.data.faqs) if (f && Number.isInteger(f.id)) this.addRow(f, false);
  }

  addRow(f, focus) {
    if (this.rows.length >= MAX_ENTRIES) {
      this.error.textContent = t('dashboard.faq.too_many', { n: MAX_ENTRIES });
      return;
    }
    this.error.textContent = '';
    const n = ++seq;
    const r = { id: Number.isInteger(f.id) ? f.id : null, fields: {} };
    const labelled = [];
    for (const [name, max] of TEXTS) {
      const props = { id: `faq-${n}-${name}`, name, 'data-max': String(max) };
      const el = name.startsWith('answer') ? h('textarea', { ...props, rows: '4' }) : h('input', { ...props, autocomplete: 'off' });
      el.value = str(f[name]);
      r.fields[name] = el;
      labelled.push(field(t(`dashboard.faq.${name}`), el));
    }
    r.error = h('p', { id: `faq-${n}-error`, class: 'form-error', role: 'alert' });
    r.status = h('p', { class: 'form-status', role: 'status' });
    r.legend = h('legend');
    r.save = h('button', { type: 'submit', text: t('dashboard.faq.save') });
    r.remove = h('button', { type: 'button', class: 'btn-secondary', text: t('dashboard.faq.remove'), onclick: () => this.removeRow(r) });
    r.up = h('button', { type: 'button', class: 'btn-secondary faq-up', text: t('dashboard.faq.up'), onclick: () => this.moveUp(r) });
    r.li = h(
      'li',
      { class: 'faq-entry' },
      h(
        'form',
        { novalidate: true, onsubmit: (e) => this.saveRow(e, r) },
        h(
          'fieldset',
          {},
          r.legend,
          h('div', { class: 'site-fields' }, labelled[0], labelled[2]),
          h('div', { class: 'site-fields' }, labelled[1], labelled[3]),
          r.error,
          h('div', { class: 'form-actions' }, r.save, r.up, r.remove),
          r.status,
        ),
      ),
    );
    this.rows.push(r);
    this.list.append(r.li);
    this.number();
    if (focus) r.fields.question_de.focus();
  }

  /** Each entry's legend says its place in the list. */
  number() {
    this.rows.forEach((r, i) => {
      r.legend.textContent = t('dashboard.faq.entry_n', { n: i + 1 });
      r.up.hidden = i === 0;
    });
  }

  /**
   * Swaps an entry with the one above it and saves both as they stand, with their new places
   * (an entry not saved yet gets its place when it is saved). The button keeps the focus while
   * it can.
   */
  async moveUp(r) {
    const i = this.rows.indexOf(r);
    if (i < 1) return;
    const above = this.rows[i - 1];
    this.rows[i - 1] = r;
    this.rows[i] = above;
    above.li.before(r.li);
    this.number();
    (r.up.hidden ? r.save : r.up).focus();
    const path = `/api/sites/${encodeURIComponent(this.key)}/faqs`;
    for (const x of [r, above]) {
      if (x.id === null) continue;
      const res = await request('PUT', `${path}/${x.id}`, { json: this.body(x) });
      if (!res.ok) {
        x.error.textContent = serverError(res);
        return;
      }
    }
    this.status.textContent = t('dashboard.faq.moved', { n: i });
  }

  body(r) {
    const b = { position: this.rows.indexOf(r) };
    for (const [name] of TEXTS) b[name] = r.fields[name].value;
    return b;
  }

  /** The field longer than its limit, checked here as well so the message comes at once. */
  tooLong(r) {
    for (const [name, max] of TEXTS) {
      const n = [...r.fields[name].value.trim()].length;
      if (n > max) return { name, text: t('dashboard.faq.too_long', { field: t(`dashboard.faq.${name}`), max, n }) };
    }
    return null;
  }

  async saveRow(e, r) {
    e.preventDefault();
    const fields = Object.values(r.fields);
    showFieldError(r.error, fields, null, '');
    r.status.textContent = '';
    const long = this.tooLong(r);
    if (long) return void showFieldError(r.error, fields, r.fields[long.name], long.text);
    const path = `/api/sites/${encodeURIComponent(this.key)}/faqs`;
    const res = r.id === null ? await request('POST', path, { json: this.body(r) }) : await request('PUT', `${path}/${r.id}`, { json: this.body(r) });
    if (!res.ok) {
      // The server names the field first: "answer_de: at most 2000 characters …".
      const m = /^([a-z_]+):/.exec(res.message || '');
      showFieldError(r.error, fields, (m && r.fields[m[1]]) || null, serverError(res));
      return;
    }
    if (res.data && Number.isInteger(res.data.id)) r.id = res.data.id;
    r.status.textContent = t('dashboard.faq.saved');
  }

  async removeRow(r) {
    if (r.id !== null) {
      const res = await request('DELETE', `/api/sites/${encodeURIComponent(this.key)}/faqs/${r.id}`);
      if (!res.ok) {
        r.error.textContent = serverError(res);
        return;
      }
    }
    this.rows = this.rows.filter((x) => x !== r);
    r.li.remove();
    this.number();
    this.status.textContent = t('dashboard.faq.removed');
    this.add.focus();
  }
}
