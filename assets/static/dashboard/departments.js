// Settings → Departments (the agents permission only; settings.js mounts it after the team
// block). `GET /api/departments`, `POST /api/departments`, `PUT` and `DELETE
// /api/departments/{id}`. Visitors can start a chat for a department; its agents see it (and
// everyone who may see all chats). A department may set its own waiting times (alert again,
// offer a message; empty follows Settings › Chat). Deleting a department puts its waiting chats
// into the general queue, which every agent sees. Names are set as text only (dom.js).

import { h, whileBusy } from './dom.js';
import { t } from './i18n.js';
import { request, serverError } from './api.js';
import { showFieldError, field, hint } from './form.js';
import { captionedTable } from './tables.js';

const NAME_MAX = 100;
/** Waiting times: 0 (off) or WAIT_MIN to WAIT_MAX seconds, as the server checks. */
const WAIT_MIN = 30;
const WAIT_MAX = 3600;
/** Control characters (line breaks, escapes): the server refuses them in names. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A department from the API, or null. */
export function parseDepartment(d) {
  if (!d || typeof d !== 'object' || !Number.isSafeInteger(d.id)) return null;
  const secs = (v) => (Number.isSafeInteger(v) ? v : null);
  return {
    id: d.id,
    name: typeof d.name === 'string' ? d.name : '',
    alert: secs(d.queue_alert_secs),
    offer: secs(d.offline_offer_secs),
  };
}

/** A waiting time as typed: null when empty (the tenant's), a number, or NaN when invalid. */
function typedSecs(input) {
  const v = input.value.trim();
  if (v === '') return null;
  const n = Number(v);
  return Number.isInteger(n) && (n === 0 || (n >= WAIT_MIN && n <= WAIT_MAX)) ? n : NaN;
}

/** Tells the team block (its department checkboxes) that the departments changed. */
function announce() {
  document.dispatchEvent(new CustomEvent('kontor:departments-changed'));
}

export class DepartmentsBlock {
  constructor() {
    this.list = [];
    this.el = this.build();
  }

  build() {
    this.title = h('h2', { id: 'departments-title', tabindex: '-1', text: t('dashboard.departments.title') });
    this.body = h('tbody');
    this.error = h('p', { id: 'departments-error', class: 'form-error', role: 'alert' });
    this.status = h('p', { id: 'departments-status', class: 'form-status', role: 'status', 'aria-live': 'polite' });
    this.table = captionedTable(
      { id: 'departments-table', class: 'data-table departments-table' },
      t('dashboard.departments.caption'),
      [t('dashboard.departments.col.name'), t('dashboard.departments.col.waiting'), { label: t('dashboard.departments.col.actions'), hidden: true }],
      this.body,
    );
    this.nameField = h('input', {
      id: 'department-name',
      name: 'name',
      required: true,
      maxlength: String(NAME_MAX),
      autocomplete: 'off',
      'aria-describedby': 'department-name-hint',
    });
    this.formError = h('p', { id: 'department-error', class: 'form-error', role: 'alert' });
    this.addBtn = h('button', { type: 'submit', text: t('dashboard.departments.create') });
    const form = h(
      'form',
      { id: 'department-form', class: 'rule-form', novalidate: true, 'aria-labelledby': 'department-form-title', onsubmit: (e) => this.create(e) },
      h('h3', { id: 'department-form-title', text: t('dashboard.departments.new') }),
      field(t('dashboard.departments.field.name'), this.nameField, hint('department-name-hint', t('dashboard.departments.name_hint'))),
      this.formError,
      h('div', { class: 'form-buttons' }, this.addBtn),
    );
    return h(
      'section',
      { id: 'departments', class: 'panel settings-panel departments-panel', 'aria-labelledby': 'departments-title' },
      this.title,
      h('p', { class: 'hint', text: t('dashboard.departments.intro') }),
      h('p', { id: 'departments-waiting-hint', class: 'hint', text: t('dashboard.departments.waiting_hint', { min: WAIT_MIN, max: WAIT_MAX }) }),
      this.error,
      h('div', { class: 'table-wrap' }, this.table),
      form,
      this.status,
    );
  }

  async load() {
    this.table.setAttribute('aria-busy', 'true');
    const res = await request('GET', '/api/departments');
    this.table.removeAttribute('aria-busy');
    if (!res.ok || !res.data || !Array.isArray(res.data.departments)) {
      this.error.textContent = res.ok ? t('dashboard.settings.load_failed') : serverError(res);
      return false;
    }
    this.list = res.data.departments.map(parseDepartment).filter(Boolean);
    this.render();
    return true;
  }

  render() {
    if (!this.list.length) {
      this.body.replaceChildren(h('tr', {}, h('td', { colspan: '3', class: 'empty', text: t('dashboard.departments.empty') })));
      return;
    }
    this.body.replaceChildren(...this.list.map((d) => this.row(d)));
  }

  row(d) {
    const id = `department-${d.id}-name`;
    const input = h('input', { id, name: 'name', required: true, maxlength: String(NAME_MAX), autocomplete: 'off', value: d.name, 'data-control': 'name' });
    const save = h('button', {
      type: 'submit',
      class: 'btn-secondary btn-small',
      'data-control': 'rename',
      text: t('dashboard.departments.rename'),
      'aria-label': t('dashboard.departments.rename_label', { name: d.name }),
    });
    const del = h('button', {
      type: 'button',
      class: 'btn-danger btn-small',
      'data-control': 'delete',
      text: t('dashboard.departments.delete'),
      'aria-label': t('dashboard.departments.delete_label', { name: d.name }),
      onclick: () => whileBusy(del, () => this.remove(d)),
    });
    const form = h(
      'form',
      { class: 'team-name-form', novalidate: true, onsubmit: (e) => this.rename(e, d, input, save) },
      h('label', { for: id, class: 'vh', text: t('dashboard.departments.name_label', { name: d.name }) }),
      input,
      save,
    );
    return h('tr', { 'data-department-id': d.id }, h('td', {}, form), h('td', {}, this.waitingForm(d)), h('td', { class: 'cell-actions' }, del));
  }

  /** The department's own waiting times; empty fields follow the tenant's (Settings › Chat). */
  waitingForm(d) {
    const input = (what, value) => {
      const id = `department-${d.id}-${what}`;
      const el = h('input', {
        id,
        name: what,
        type: 'number',
        min: '0',
        max: String(WAIT_MAX),
        step: '1',
        inputmode: 'numeric',
        placeholder: t('dashboard.departments.follows_tenant'),
        value: value === null ? '' : String(value),
        'aria-describedby': 'departments-waiting-hint',
        'data-control': what,
      });
      // The department's name is read out, not shown again in every row.
      const label = h('label', { for: id }, t(`dashboard.departments.${what}_label`), h('span', { class: 'vh', text: `, ${d.name}` }));
      return [label, el];
    };
    const [alertLabel, alert] = input('alert', d.alert);
    const [offerLabel, offer] = input('offer', d.offer);
    const save = h(
      'button',
      { type: 'submit', class: 'btn-secondary btn-small', 'data-control': 'save-waiting' },
      t('dashboard.departments.save_waiting'),
      h('span', { class: 'vh', text: `, ${d.name}` }),
    );
    return h(
      'form',
      { class: 'department-waiting', novalidate: true, onsubmit: (e) => this.saveWaiting(e, d, alert, offer, save) },
      alertLabel,
      alert,
      offerLabel,
      offer,
      save,
    );
  }

  async saveWaiting(e, d, alert, offer, btn) {
    e.preventDefault();
    this.status.textContent = '';
    const fields = [alert, offer];
    const values = fields.map(typedSecs);
    const bad = fields.find((f, i) => Number.isNaN(values[i]));
    if (bad) {
      showFieldError(this.error, fields, bad, t('dashboard.departments.bad_waiting', { min: WAIT_MIN, max: WAIT_MAX }));
      return;
    }
    await whileBusy(btn, async () => {
      const json = { queue_alert_secs: values[0], offline_offer_secs: values[1] };
      const res = await request('PUT', `/api/departments/${encodeURIComponent(d.id)}`, { json });
      if (!res.ok) {
        showFieldError(this.error, fields, alert, serverError(res));
        return;
      }
      showFieldError(this.error, fields, null, '');
      await this.load();
      this.status.textContent = t('dashboard.departments.waiting_saved', { name: d.name });
      const again = this.body.querySelector(`tr[data-department-id="${d.id}"] input[name="alert"]`);
      if (again) again.focus();
    });
  }

  /** The name typed, or null after saying what is wrong with it next to `input`. */
  checked(input, errorLine, fields) {
    const name = input.value.trim();
    if (!name || [...name].length > NAME_MAX || CONTROL.test(name)) {
      showFieldError(errorLine, fields, input, t('dashboard.departments.bad_name', { max: NAME_MAX }));
      return null;
    }
    const taken = this.list.some((d) => d.name.toLowerCase() === name.toLowerCase() && (!input.dataset.id || String(d.id) !== input.dataset.id));
    if (taken) {
      showFieldError(errorLine, fields, input, t('dashboard.departments.exists', { name }));
      return null;
    }
    return name;
  }

  /** The server's refusal in our words where we know it (a name that exists). */
  refusal(res, name) {
    return res.status === 409 ? t('dashboard.departments.exists', { name }) : serverError(res);
  }

  async create(e) {
    e.preventDefault();
    this.status.textContent = '';
    const name = this.checked(this.nameField, this.formError, [this.nameField]);
    if (name === null) return;
    await whileBusy(this.addBtn, async () => {
      const res = await request('POST', '/api/departments', { json: { name } });
      if (!res.ok) {
        showFieldError(this.formError, [this.nameField], this.nameField, this.refusal(res, name));
        return;
      }
      showFieldError(this.formError, [this.nameField], null, '');
      this.nameField.value = '';
      await this.load();
      announce();
      this.status.textContent = t('dashboard.departments.created', { name });
      this.nameField.focus();
    });
  }

  async rename(e, d, input, btn) {
    e.preventDefault();
    this.status.textContent = '';
    input.dataset.id = String(d.id);
    const fields = [...this.body.querySelectorAll('input[name="name"]')];
    const name = this.checked(input, this.error, fields);
    if (name === null) return;
    if (name === d.name) return;
    await whileBusy(btn, async () => {
      const res = await request('PUT', `/api/departments/${encodeURIComponent(d.id)}`, { json: { name } });
      if (!res.ok) {
        showFieldError(this.error, fields, input, this.refusal(res, name));
        return;
      }
      showFieldError(this.error, fields, null, '');
      await this.load();
      announce();
      this.status.textContent = t('dashboard.departments.renamed', { old: d.name, name });
      const again = this.body.querySelector(`tr[data-department-id="${d.id}"] input`);
      if (again) again.focus();
    });
  }

  async remove(d) {
    if (!window.confirm(t('dashboard.departments.confirm_delete', { name: d.name }))) return;
    const res = await request('DELETE', `/api/departments/${encodeURIComponent(d.id)}`);
    if (!res.ok && res.status !== 404) {
      this.error.textContent = serverError(res);
      return;
    }
    this.error.textContent = '';
    await this.load();
    announce();
    const moved = res.ok && res.data && Number.isSafeInteger(res.data.moved) ? res.data.moved : 0;
    this.status.textContent = t(moved ? 'dashboard.departments.deleted_moved' : 'dashboard.departments.deleted', { name: d.name, n: moved });
    this.title.focus();
  }
}
