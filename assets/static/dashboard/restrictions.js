// Privacy › data-subject requests › restriction of processing (GDPR Art. 18): restrict the
// person found (`POST /api/gdpr/restrict` with a reason), and the tenant's restrictions with a
// Lift button each (`GET /api/gdpr/restrictions`, `DELETE /api/gdpr/restrictions/{id}`). A
// restricted person's chats, offline messages and visitor records stay stored, hidden from
// agents without the data-subject-requests permission and kept from the retention purge.

import { h, whileBusy } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { request, httpError } from './api.js';
import { showFieldError, field, hint } from './form.js';
import { captionedTable } from './tables.js';

const REASON_MAX = 500;
const str = (v) => (typeof v === 'string' ? v : '');
const num = (v) => (Number.isSafeInteger(v) ? v : 0);

/** A refusal in the server's words (4xx), else the usual words. */
function failText(res) {
  return res.status >= 400 && res.status < 500 && res.message ? res.message : httpError(res);
}

function when(sec) {
  const d = new Date(num(sec) * 1000);
  return h('time', { datetime: d.toISOString(), text: formatDateTime(d) });
}

export class RestrictionsBlock {
  /** `subject()` gives the person on screen ({by, value}) or null; `changed()` runs after a change. */
  constructor(subject, changed) {
    this.subject = subject;
    this.changed = changed;
    this.form = this.buildForm();
    this.listEl = this.buildList();
  }

  buildForm() {
    this.reason = h('input', {
      id: 'dsr-restrict-reason',
      name: 'reason',
      maxlength: String(REASON_MAX),
      autocomplete: 'off',
      'aria-describedby': 'dsr-restrict-hint',
    });
    this.restrictBtn = h('button', { type: 'submit', class: 'btn-secondary', text: t('dashboard.privacy.restrict.button') });
    this.formError = h('p', { id: 'dsr-restrict-error', class: 'form-error', role: 'alert' });
    this.formStatus = h('p', { class: 'form-status', role: 'status' });
    return h(
      'form',
      { id: 'dsr-restrict', class: 'privacy-action', novalidate: true, 'aria-labelledby': 'dsr-restrict-title', onsubmit: (e) => this.restrict(e) },
      h('h3', { id: 'dsr-restrict-title', text: t('dashboard.privacy.restrict.title') }),
      field(t('dashboard.privacy.restrict.reason'), this.reason, hint('dsr-restrict-hint', t('dashboard.privacy.restrict.hint'))),
      this.formError,
      this.formStatus,
      h('div', { class: 'form-buttons' }, this.restrictBtn),
    );
  }

  buildList() {
    this.body = h('tbody');
    this.listStatus = h('p', { class: 'form-status', role: 'status' });
    this.listError = h('p', { class: 'form-error', role: 'alert' });
    this.table = captionedTable(
      { id: 'restrictions-table', class: 'data-table privacy-table' },
      t('dashboard.privacy.restrict.caption'),
      [
        t('dashboard.privacy.restrict.col.number'),
        t('dashboard.privacy.restrict.col.person'),
        t('dashboard.privacy.restrict.col.reason'),
        t('dashboard.privacy.restrict.col.since'),
        t('dashboard.privacy.restrict.col.state'),
      ],
      this.body,
    );
    return h(
      'section',
      { id: 'restrictions', 'aria-labelledby': 'restrictions-title' },
      h('h3', { id: 'restrictions-title', tabindex: '-1', text: t('dashboard.privacy.restrict.list') }),
      this.listError,
      this.listStatus,
      h('div', { class: 'table-wrap' }, this.table),
    );
  }

  async restrict(e) {
    e.preventDefault();
    const who = this.subject();
    if (!who) return;
    const reason = this.reason.value.trim();
    this.formStatus.textContent = '';
    if (!reason) {
      showFieldError(this.formError, [this.reason], this.reason, t('dashboard.privacy.restrict.need_reason'));
      return;
    }
    await whileBusy(this.restrictBtn, async () => {
      const res = await request('POST', '/api/gdpr/restrict', { json: { ...who, reason } });
      if (!res.ok) {
        showFieldError(this.formError, [this.reason], this.reason, failText(res));
        return;
      }
      showFieldError(this.formError, [this.reason], null, '');
      this.reason.value = '';
      this.formStatus.textContent = t('dashboard.privacy.restrict.done', { id: num(res.data && res.data.id) });
      await this.load();
      this.changed();
    });
  }

  async load() {
    this.table.setAttribute('aria-busy', 'true');
    const res = await request('GET', '/api/gdpr/restrictions');
    this.table.removeAttribute('aria-busy');
    if (!res.ok || !res.data || !Array.isArray(res.data.restrictions)) {
      this.listError.textContent = res.ok ? t('dashboard.http.failed') : failText(res);
      return;
    }
    this.listError.textContent = '';
    const rows = res.data.restrictions.filter((r) => r && Number.isSafeInteger(r.id)).map((r) => this.row(r));
    this.body.replaceChildren(
      ...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '5', class: 'empty', text: t('dashboard.privacy.restrict.none') }))]),
    );
  }

  row(r) {
    const active = r.lifted_at === null || r.lifted_at === undefined;
    let state;
    if (active) {
      const lift = h(
        'button',
        { type: 'button', class: 'btn-secondary btn-small', 'data-control': 'lift' },
        t('dashboard.privacy.restrict.lift'),
        h('span', { class: 'vh', text: ` #${r.id}` }),
      );
      lift.addEventListener('click', () => whileBusy(lift, () => this.lift(r)));
      const c = r.covered && typeof r.covered === 'object' ? r.covered : {};
      state = h(
        'div',
        {},
        h('p', {
          text: t('dashboard.privacy.restrict.active', {
            chats: num(c.conversations),
            offline: num(c.offline_messages),
            visitors: num(c.visitors),
          }),
        }),
        lift,
      );
    } else {
      state = h('p', {}, t('dashboard.privacy.restrict.lifted', { by: str(r.lifted_by) }), ' ', when(r.lifted_at));
    }
    return h(
      'tr',
      { 'data-restriction-id': r.id },
      h('th', { scope: 'row', text: `#${r.id}` }),
      h('td', {}, h('code', { text: str(r.subject) })),
      h('td', { class: 'cell-wrap', text: str(r.reason) }),
      h('td', {}, when(r.created_at), h('br'), str(r.created_by)),
      h('td', {}, state),
    );
  }

  async lift(r) {
    const res = await request('DELETE', `/api/gdpr/restrictions/${encodeURIComponent(r.id)}`);
    if (!res.ok) {
      this.listError.textContent = failText(res);
      return;
    }
    this.listStatus.textContent = t('dashboard.privacy.restrict.lifted_now', { id: r.id });
    await this.load();
    this.changed();
  }
}
