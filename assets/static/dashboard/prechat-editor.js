// Settings → Sites: a site's pre-chat form. Fields (key, kind, labels in German and English,
// required, limits, pattern, a select's options one per line as `value | Deutsch | English`)
// and the departments the visitor may choose. `GET/PUT /api/sites/{key}/form`; the server
// checks the form and names the field a refusal is about.

import { h } from './dom.js';
import { t } from './i18n.js';
import { request, serverError } from './api.js';
import { field, checkField } from './form.js';

const KINDS = ['text', 'email', 'phone', 'number', 'select', 'checkbox', 'textarea'];
const MAX_FIELDS = 20;
const LOOKUP_KINDS = ['text', 'number'];
const str = (v) => (typeof v === 'string' ? v : '');
const num = (v) => (Number.isInteger(v) ? String(v) : '');

let seq = 0;

export class PrechatEditor {
  constructor(siteKey) {
    this.key = siteKey;
    this.rows = [];
    this.departments = [];
    this.list = h('ol', { class: 'prechat-fields' });
    this.deps = h('fieldset', { class: 'prechat-departments', hidden: true }, h('legend', { text: t('dashboard.prechat.departments') }));
    this.error = h('p', { id: `prechat-error-${++seq}`, class: 'form-error', role: 'alert' });
    this.status = h('p', { class: 'form-status', role: 'status' });
    this.add = h('button', { type: 'button', class: 'btn-secondary', text: t('dashboard.prechat.add'), onclick: () => this.addRow({}, true) });
    this.el = h(
      'form',
      { class: 'prechat-form', novalidate: true, 'aria-labelledby': `prechat-title-${seq}`, onsubmit: (e) => this.save(e) },
      h('h3', { id: `prechat-title-${seq}`, text: t('dashboard.prechat.title') }),
      h('p', { class: 'hint', text: t('dashboard.prechat.hint') }),
      this.list,
      this.add,
      this.deps,
      this.error,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', text: t('dashboard.prechat.save') })),
      this.status,
    );
    this.load();
  }

  async load() {
    const [form, deps] = await Promise.all([
      request('GET', `/api/sites/${encodeURIComponent(this.key)}/form`),
      request('GET', '/api/departments'),
    ]);
    if (!form.ok || !form.data) {
      this.error.textContent = serverError(form);
      return;
    }
    for (const f of Array.isArray(form.data.fields) ? form.data.fields : []) this.addRow(f, false);
    const offered = Array.isArray(form.data.departments) ? form.data.departments : [];
    const list = deps.ok && deps.data && Array.isArray(deps.data.departments) ? deps.data.departments : [];
    this.departments = list
      .filter((d) => d && Number.isInteger(d.id))
      .map((d) => {
        const box = h('input', { type: 'checkbox', id: `prechat-dep-${seq}-${d.id}`, checked: offered.includes(d.id) });
        this.deps.append(checkField(box, str(d.name)));
        return { id: d.id, box };
      });
    this.deps.hidden = this.departments.length === 0;
  }

  addRow(f, focus) {
    if (this.rows.length >= MAX_FIELDS) {
      this.error.textContent = t('dashboard.prechat.too_many', { n: MAX_FIELDS });
      return;
    }
    const n = ++seq;
    const input = (name, value, props = {}) => h('input', { id: `prechat-${n}-${name}`, value, ...props });
    const r = {
      name: input('name', str(f.name), { pattern: '[a-z0-9_]+', maxlength: '40' }),
      kind: h('select', { id: `prechat-${n}-kind` }, ...KINDS.map((k) => h('option', { value: k, text: t(`dashboard.prechat.kind.${k}`), selected: f.kind === k }))),
      label_de: input('label_de', str(f.label_de), { maxlength: '200' }),
      label_en: input('label_en', str(f.label_en), { maxlength: '200' }),
      required: h('input', { type: 'checkbox', id: `prechat-${n}-required`, checked: f.required === true }),
      lookup: h('input', { type: 'checkbox', id: `prechat-${n}-lookup`, checked: f.lookup === true }),
      min: input('min', num(f.min), { type: 'number' }),
      max: input('max', num(f.max), { type: 'number' }),
      pattern: input('pattern', str(f.pattern), { maxlength: '200' }),
      options: h('textarea', {
        id: `prechat-${n}-options`,
        rows: '3',
        'aria-describedby': `prechat-${n}-options-hint`,
        text: (Array.isArray(f.options) ? f.options : []).map((o) => [o.value, o.label_de, o.label_en].map(str).join(' | ')).join('\n'),
      }),
    };
    const optionsField = field(t('dashboard.prechat.options'), r.options, h('span', { id: `prechat-${n}-options-hint`, class: 'hint', text: t('dashboard.prechat.options_hint') }));
    const lookupField = checkField(r.lookup, t('dashboard.prechat.lookup'));
    // Only a text or a number is looked up in the business's system (the site's look-up address).
    const showOptions = () => {
      optionsField.hidden = r.kind.value !== 'select';
      lookupField.hidden = !LOOKUP_KINDS.includes(r.kind.value);
    };
    r.kind.addEventListener('change', showOptions);
    showOptions();
    r.li = h(
      'li',
      { class: 'prechat-field' },
      h(
        'fieldset',
        {},
        h('legend', { text: t('dashboard.prechat.field_n', { n: this.rows.length + 1 }) }),
        h('div', { class: 'site-fields' }, field(t('dashboard.prechat.name'), r.name), field(t('dashboard.prechat.kind'), r.kind)),
        h('div', { class: 'site-fields' }, field(t('dashboard.prechat.label_de'), r.label_de), field(t('dashboard.prechat.label_en'), r.label_en)),
        h('div', { class: 'site-fields' }, field(t('dashboard.prechat.min'), r.min), field(t('dashboard.prechat.max'), r.max), field(t('dashboard.prechat.pattern'), r.pattern)),
        checkField(r.required, t('dashboard.prechat.required')),
        lookupField,
        optionsField,
        h('button', { type: 'button', class: 'btn-secondary', text: t('dashboard.prechat.remove'), onclick: () => this.removeRow(r) }),
      ),
    );
    this.rows.push(r);
    this.list.append(r.li);
    if (focus) r.name.focus();
  }

  removeRow(r) {
    this.rows = this.rows.filter((x) => x !== r);
    r.li.remove();
    this.add.focus();
  }

  read() {
    const int = (el) => (el.value.trim() === '' ? undefined : Number(el.value));
    return {
      fields: this.rows.map((r) => {
        const f = {
          name: r.name.value.trim(),
          kind: r.kind.value,
          label_de: r.label_de.value.trim(),
          label_en: r.label_en.value.trim(),
          required: r.required.checked,
          min: int(r.min),
          max: int(r.max),
        };
        if (r.pattern.value.trim()) f.pattern = r.pattern.value.trim();
        if (r.lookup.checked && LOOKUP_KINDS.includes(f.kind)) f.lookup = true;
        if (f.kind === 'select') {
          f.options = r.options.value
            .split('\n')
            .map((l) => l.split('|').map((p) => p.trim()))
            .filter((p) => p[0])
            .map(([value, de = '', en = '']) => ({ value, label_de: de, label_en: en }));
        }
        return f;
      }),
      departments: this.departments.filter((d) => d.box.checked).map((d) => d.id),
    };
  }

  async save(e) {
    e.preventDefault();
    this.error.textContent = '';
    this.status.textContent = '';
    const res = await request('PUT', `/api/sites/${encodeURIComponent(this.key)}/form`, { json: this.read() });
    if (!res.ok) {
      this.error.textContent = serverError(res);
      // The refusal names the field ("field order: …"): its key gets the focus.
      const m = /^field ([a-z0-9_]+):/.exec(res.message || '');
      const row = m && this.rows.find((r) => r.name.value.trim() === m[1]);
      (row ? row.name : this.error).focus?.();
      return;
    }
    this.status.textContent = t('dashboard.prechat.saved');
  }
}
