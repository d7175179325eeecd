// Settings → Sites: a site's online look-up address (`GET/PUT/DELETE /api/sites/{key}/lookup`,
// `POST …/lookup/secret`). kontor posts the value of the pre-chat field marked "Look up this
// value" (or a value an agent types) to it and shows the answer's fields to the agents. The
// secret is shown once, when the address is first saved or gets a new secret.

import { h } from './dom.js';
import { t } from './i18n.js';
import { request, serverError } from './api.js';
import { field } from './form.js';

let seq = 0;

export class LookupEditor {
  constructor(siteKey) {
    this.key = siteKey;
    const n = ++seq;
    this.url = h('input', {
      id: `lookup-url-${n}`,
      type: 'url',
      autocomplete: 'off',
      maxlength: '2000',
      placeholder: 'https://shop.example/kontor-lookup',
      'aria-describedby': `lookup-url-hint-${n}`,
    });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.status = h('p', { class: 'form-status', role: 'status' });
    this.secret = h('code', { class: 'lookup-secret' });
    this.secretBox = h('div', { class: 'webhook-secret', hidden: true }, h('p', { text: t('dashboard.lookup_settings.secret_once') }), h('p', {}, this.secret));
    this.rotateBtn = h('button', { type: 'button', class: 'btn-secondary', hidden: true, text: t('dashboard.lookup_settings.rotate'), onclick: () => this.rotate() });
    this.removeBtn = h('button', { type: 'button', class: 'btn-secondary', hidden: true, text: t('dashboard.lookup_settings.remove'), onclick: () => this.remove() });
    this.el = h(
      'form',
      { class: 'lookup-settings', novalidate: true, 'aria-labelledby': `lookup-settings-title-${n}`, onsubmit: (e) => this.save(e) },
      h('h3', { id: `lookup-settings-title-${n}`, text: t('dashboard.lookup_settings.title') }),
      field(t('dashboard.lookup_settings.url'), this.url, h('span', { id: `lookup-url-hint-${n}`, class: 'hint', text: t('dashboard.lookup_settings.hint') })),
      this.error,
      this.secretBox,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', text: t('dashboard.lookup_settings.save') }), this.rotateBtn, this.removeBtn),
      this.status,
    );
    this.load();
  }

  path(rest = '') {
    return `/api/sites/${encodeURIComponent(this.key)}/lookup${rest}`;
  }

  async load() {
    const res = await request('GET', this.path());
    if (!res.ok || !res.data) {
      this.error.textContent = serverError(res);
      return;
    }
    this.show(typeof res.data.url === 'string' ? res.data.url : '');
  }

  show(url) {
    this.url.value = url;
    this.rotateBtn.hidden = !url;
    this.removeBtn.hidden = !url;
  }

  showSecret(secret) {
    this.secretBox.hidden = !secret;
    this.secret.textContent = secret || '';
  }

  clear() {
    this.error.textContent = '';
    this.status.textContent = '';
    this.showSecret('');
  }

  async save(e) {
    e.preventDefault();
    this.clear();
    const res = await request('PUT', this.path(), { json: { url: this.url.value.trim() } });
    if (!res.ok || !res.data) {
      this.error.textContent = serverError(res);
      this.url.focus();
      return;
    }
    this.show(res.data.url);
    this.showSecret(typeof res.data.secret === 'string' ? res.data.secret : '');
    this.status.textContent = t('dashboard.lookup_settings.saved');
  }

  async rotate() {
    this.clear();
    const res = await request('POST', this.path('/secret'));
    if (!res.ok || !res.data) {
      this.error.textContent = serverError(res);
      return;
    }
    this.showSecret(res.data.secret);
    this.status.textContent = t('dashboard.lookup_settings.rotated');
  }

  async remove() {
    this.clear();
    const res = await request('DELETE', this.path());
    if (!res.ok) {
      this.error.textContent = serverError(res);
      return;
    }
    this.show('');
    this.status.textContent = t('dashboard.lookup_settings.removed');
    this.url.focus();
  }
}
