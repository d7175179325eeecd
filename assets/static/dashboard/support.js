// Settings › Team › Support access (the agents permission): the business opens the operator's
// read-only support login for some hours (`POST /api/support/grants`), sees the grants
// (`GET`), and ends one early (`DELETE /api/support/grants/{id}`). The support login reads
// settings, agents, sites, statistics and campaigns, never chats, visitors, files or exports;
// every request of it is in the audit trail. Notes are set as text only (dom.js).

import { h, whileBusy } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { request, serverError } from './api.js';
import { field, hint } from './form.js';
import { captionedTable } from './tables.js';

/** How long a grant may run, in hours, as the form offers it. */
const DURATIONS = [1, 4, 24, 72, 168];

const str = (v) => (typeof v === 'string' ? v : '');
const when = (sec) => {
  const d = new Date((Number.isSafeInteger(sec) ? sec : 0) * 1000);
  return h('time', { datetime: d.toISOString(), text: formatDateTime(d) });
};

export class SupportBlock {
  constructor() {
    this.el = this.build();
  }

  build() {
    this.hours = h(
      'select',
      { id: 'support-hours', name: 'hours' },
      DURATIONS.map((n) => h('option', { value: String(n), text: t(`dashboard.support.hours.${n}`) })),
    );
    this.note = h('input', { id: 'support-note', name: 'note', maxlength: '200', autocomplete: 'off', 'aria-describedby': 'support-note-hint' });
    this.grantBtn = h('button', { type: 'submit', text: t('dashboard.support.grant') });
    this.error = h('p', { id: 'support-error', class: 'form-error', role: 'alert' });
    this.status = h('p', { id: 'support-status', class: 'form-status', role: 'status', 'aria-live': 'polite' });
    this.body = h('tbody');
    this.table = captionedTable(
      { id: 'support-table', class: 'data-table' },
      t('dashboard.support.caption'),
      [t('dashboard.support.col.granted'), t('dashboard.support.col.until'), t('dashboard.support.col.note'), t('dashboard.support.col.state')],
      this.body,
    );
    return h(
      'section',
      { id: 'support', class: 'panel settings-panel', 'aria-labelledby': 'support-title' },
      h('h2', { id: 'support-title', text: t('dashboard.support.title') }),
      h('p', { class: 'hint', text: t('dashboard.support.intro') }),
      h(
        'form',
        { id: 'support-form', class: 'rule-form', novalidate: true, 'aria-labelledby': 'support-form-title', onsubmit: (e) => this.grant(e) },
        h('h3', { id: 'support-form-title', text: t('dashboard.support.new') }),
        field(t('dashboard.support.field.hours'), this.hours),
        field(t('dashboard.support.field.note'), this.note, hint('support-note-hint', t('dashboard.support.note_hint'))),
        this.error,
        h('div', { class: 'form-buttons' }, this.grantBtn),
      ),
      this.status,
      h('div', { class: 'table-wrap' }, this.table),
    );
  }

  async load() {
    this.table.setAttribute('aria-busy', 'true');
    const res = await request('GET', '/api/support/grants');
    this.table.removeAttribute('aria-busy');
    if (!res.ok || !res.data || !Array.isArray(res.data.grants)) {
      this.error.textContent = res.ok ? t('dashboard.settings.load_failed') : serverError(res);
      return;
    }
    const now = Number.isSafeInteger(res.data.now) ? res.data.now : Math.floor(Date.now() / 1000);
    const rows = res.data.grants.filter((g) => g && Number.isSafeInteger(g.id)).map((g) => this.row(g, now));
    this.body.replaceChildren(
      ...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '4', class: 'empty', text: t('dashboard.support.none') }))]),
    );
  }

  row(g, now) {
    const revoked = Number.isSafeInteger(g.revoked_at);
    const active = !revoked && g.expires_at > now;
    let state;
    if (active) {
      const end = h(
        'button',
        { type: 'button', class: 'btn-danger btn-small', 'data-control': 'revoke' },
        t('dashboard.support.revoke'),
        h('span', { class: 'vh', text: ` #${g.id}` }),
      );
      end.addEventListener('click', () => whileBusy(end, () => this.revoke(g)));
      state = h('div', {}, h('p', { text: t('dashboard.support.active') }), end);
    } else {
      state = h('p', { text: revoked ? t('dashboard.support.revoked', { by: str(g.revoked_by) }) : t('dashboard.support.ended') });
    }
    return h(
      'tr',
      { 'data-grant-id': g.id },
      h('th', { scope: 'row' }, when(g.created_at), h('br'), str(g.created_by)),
      h('td', {}, when(g.expires_at)),
      h('td', { class: 'cell-wrap', text: str(g.note) }),
      h('td', {}, state),
    );
  }

  async grant(e) {
    e.preventDefault();
    this.status.textContent = '';
    const json = { hours: Number(this.hours.value), note: this.note.value.trim() };
    await whileBusy(this.grantBtn, async () => {
      const res = await request('POST', '/api/support/grants', { json });
      if (!res.ok) {
        this.error.textContent = serverError(res);
        return;
      }
      this.error.textContent = '';
      this.note.value = '';
      this.status.textContent = t('dashboard.support.granted');
      await this.load();
    });
  }

  async revoke(g) {
    const res = await request('DELETE', `/api/support/grants/${encodeURIComponent(g.id)}`);
    if (!res.ok) {
      this.error.textContent = serverError(res);
      return;
    }
    this.status.textContent = t('dashboard.support.revoked_now');
    await this.load();
  }
}
