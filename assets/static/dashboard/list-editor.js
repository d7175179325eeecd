// The settings panels that list things and edit them in a form below the list: invitation
// rules, campaigns and goals. One list, one create/edit form, the same API shape
// (`GET/POST /api/KIND`, `PUT/DELETE /api/KIND/{id}`, the list under the answer's key KIND)
// and the same strings under `dashboard.KIND.*`.

import { h, hasFocus } from './dom.js';
import { t } from './i18n.js';
import { request, serverError } from './api.js';
import { showFieldError } from './form.js';

/** `base` and the panel's own `own` class, once when they are the same. */
const classes = (base, own) => (base === own ? base : `${base} ${own}`);

/**
 * One list with a create/edit form. Subclasses pass `kind` ('rules' / 'campaigns' / 'goals':
 * the API's path, the answer's key and the strings' prefix) and `one` ('rule' / 'campaign' /
 * 'goal': ids, classes and data attributes), and provide parse, buildItem, buildFields (which
 * sets `f.fields`, the inputs an error can be about), fillForm and readForm. Options:
 * - everyoneReads: everyone sees the list (others get a hint that only admins change it);
 *   else the panel is shown to admins only, and asked for by nobody else;
 * - uniqueNames: the server refuses a taken name (409), said as `dashboard.KIND.taken`.
 */
export class ListEditor {
  constructor(kind, one, { everyoneReads = false, uniqueNames = false } = {}) {
    this.kind = kind;
    this.one = one;
    this.everyoneReads = everyoneReads;
    this.uniqueNames = uniqueNames;
    this.admin = false;
    this.items = [];
    this.editing = null;
    this.loaded = false;
    this.title = h('h2', { id: `set-${kind}-title`, tabindex: '-1', text: this.t('title') });
    this.status = h('p', { class: 'form-status', role: 'status' });
    this.list = h('ul', { id: `${one}-list`, class: classes('rule-list', `${one}-list`), 'aria-labelledby': `set-${kind}-title` });
    this.empty = h('p', { class: 'empty', hidden: true, text: this.t('empty') });
    this.who = everyoneReads ? h('p', { class: 'hint', hidden: true, text: this.t('admins_only') }) : null;
    this.form = this.buildForm();
    // Without everyoneReads nothing is seen until the session says this is an admin (the API
    // answers others 403).
    this.form.hidden = everyoneReads;
    this.el = h(
      'section',
      { class: 'panel settings-panel', id: `${kind}-settings`, hidden: !everyoneReads, 'aria-labelledby': `set-${kind}-title` },
      this.title,
      h('p', { class: 'hint', text: this.t('intro') }),
      this.status,
      this.list,
      this.empty,
      this.who,
      this.form,
    );
  }

  t(key, vars) {
    return t(`dashboard.${this.kind}.${key}`, vars);
  }

  setAdmin(admin) {
    this.admin = admin;
    if (this.everyoneReads) {
      this.who.hidden = admin;
      this.form.hidden = !admin;
    } else {
      this.el.hidden = !admin;
    }
    this.renderList();
  }

  // ----- the list -----

  async load() {
    if (!this.admin && !this.everyoneReads) return false;
    const res = await request('GET', `/api/${this.kind}`);
    if (!res.ok || !res.data || !Array.isArray(res.data[this.kind])) {
      this.status.textContent = res.status === 403 ? serverError(res) : t('dashboard.settings.load_failed');
      return false;
    }
    this.items = res.data[this.kind].map((x) => this.parse(x)).filter(Boolean);
    this.loaded = true;
    this.renderList();
    return true;
  }

  renderList() {
    const hadFocus = hasFocus(this.list);
    this.list.replaceChildren(...this.items.map((x) => this.buildItem(x)));
    this.empty.hidden = !this.loaded || this.items.length > 0;
    if (hadFocus) this.title.focus();
  }

  itemName(x) {
    return x.name || this.t('unnamed', { id: x.id });
  }

  /** An item's edit and delete buttons, named after the item. */
  actions(x) {
    const name = this.itemName(x);
    const button = (what, cls, onclick) =>
      h('button', {
        type: 'button',
        class: `${cls} btn-small ${this.one}-${what}`,
        text: this.t(what),
        'aria-label': this.t(`${what}_label`, { name }),
        onclick,
      });
    return h(
      'p',
      { class: 'rule-actions' },
      button('edit', 'btn-secondary', () => this.edit(x)),
      button('delete', 'btn-danger', () => this.remove(x)),
    );
  }

  // ----- the form -----

  input(name, props = {}) {
    return h('input', { id: `${this.one}-${name}`, name, autocomplete: 'off', ...props });
  }

  /** The field `name` under its label (`dashboard.KIND.field.NAME`), with a hint when given. */
  field(name, el, hint, cls) {
    return h(
      'div',
      { class: cls ? `field ${cls}` : 'field' },
      h('label', { for: `${this.one}-${name}`, text: this.t(`field.${name}`) }),
      el,
      hint ? h('span', { id: `${this.one}-${name}-hint`, class: 'hint', text: hint }) : null,
    );
  }

  buildForm() {
    const f = { fields: [] };
    this.f = f;
    f.heading = h('h3', { id: `${this.one}-form-title`, text: this.t('new') });
    f.error = h('p', { id: `${this.one}-error`, class: 'form-error', role: 'alert' });
    f.submit = h('button', { type: 'submit', text: this.t('create') });
    f.cancel = h('button', {
      type: 'button',
      class: 'btn-secondary',
      hidden: true,
      text: this.t('cancel'),
      onclick: () => this.resetForm({ focus: true }),
    });
    const form = h(
      'form',
      {
        id: `${this.one}-form`,
        class: classes('rule-form', `${this.one}-form`),
        novalidate: true,
        'aria-labelledby': `${this.one}-form-title`,
        onsubmit: (e) => this.submit(e),
      },
      f.heading,
      this.buildFields(f),
      f.error,
      h('div', { class: 'form-buttons' }, f.submit, f.cancel),
    );
    this.fillForm(null);
    return form;
  }

  edit(x) {
    this.editing = x;
    this.fillForm(x);
    this.fieldError(null, '');
    this.f.heading.textContent = this.t('edit_title', { name: this.itemName(x) });
    this.f.submit.textContent = this.t('save');
    this.f.cancel.hidden = false;
    this.f.name.focus();
  }

  resetForm({ focus }) {
    this.editing = null;
    this.fillForm(null);
    this.fieldError(null, '');
    this.f.heading.textContent = this.t('new');
    this.f.submit.textContent = this.t('create');
    this.f.cancel.hidden = true;
    if (focus) this.f.name.focus();
  }

  fieldError(field, text) {
    showFieldError(this.f.error, this.f.fields, field, text);
  }

  /** A failed check: says what is wrong next to the form; returns null for readForm. */
  fail(field, key, vars) {
    this.fieldError(field, this.t(key, vars));
    return null;
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
      ? await request('PUT', `/api/${this.kind}/${encodeURIComponent(editing.id)}`, { json: body })
      : await request('POST', `/api/${this.kind}`, { json: body });
    this.f.submit.disabled = false;
    if (!res.ok) {
      if (editing && res.status === 404) {
        // Deleted meanwhile (another admin): back to a new one, with the list as it is now.
        this.resetForm({ focus: false });
        this.f.error.textContent = this.t('gone');
        await this.load();
        return;
      }
      if (this.uniqueNames && res.status === 409) {
        this.fieldError(this.f.name, this.t('taken', { name: body.name }));
        return;
      }
      this.fieldError(this.f.submit, serverError(res));
      return;
    }
    const saved = this.parse(res.data);
    await this.load();
    this.status.textContent = this.t(editing ? 'saved' : 'created', { name: saved ? saved.name : body.name });
    this.resetForm({ focus: true });
  }

  async remove(x) {
    const name = this.itemName(x);
    if (!window.confirm(this.t('confirm_delete', { name }))) return;
    const res = await request('DELETE', `/api/${this.kind}/${encodeURIComponent(x.id)}`);
    if (!res.ok && res.status !== 404) {
      this.status.textContent = serverError(res);
      return;
    }
    if (this.editing && this.editing.id === x.id) this.resetForm({ focus: false });
    await this.load();
    this.status.textContent = this.t('deleted', { name });
    this.title.focus();
  }
}
