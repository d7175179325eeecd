// Settings → General → Email (`GET /api/email`, `PUT /api/email/addresses`): whether the server
// sends mail (the operator's [smtp] in kontor.toml), the From address, where offline messages
// and missed-chat notices go and in which language, the backlog and the outbox with each mail's
// state. Only for agents who may manage settings (the API refuses others); everything from the
// server is set as text (dom.js).

import { h, whileBusy } from './dom.js';
import { t, formatDateTime, formatNumber } from './i18n.js';
import { request, httpError, serverError } from './api.js';
import { showFieldError, field, hint } from './form.js';
import { captionedTable, scrollBox } from './tables.js';

const str = (v) => (typeof v === 'string' ? v : '');
const list = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);
const time = (v) => (Number.isSafeInteger(v) && v > 0 ? formatDateTime(new Date(v * 1000)) : '');
const STATES = ['queued', 'sent', 'failed'];
const KINDS = ['offline', 'reply', 'transcript', 'missed', 'invite', 'reset', 'alert'];

/** "a@x.de, b@y.de" → ["a@x.de", "b@y.de"]. */
export function splitAddresses(text) {
  return text
    .split(/[,;\s]+/)
    .map((a) => a.trim())
    .filter(Boolean);
}

/** The panel. */
export class EmailBlock {
  constructor() {
    this.admin = false;
    this.dirty = false; // addresses typed and not saved: a refresh keeps them
    this.el = this.build();
    for (const f of [this.inbox, this.alerts, this.lang]) f.addEventListener('input', () => (this.dirty = true));
  }

  build() {
    this.title = h('h2', { id: 'email-title', text: t('dashboard.email.title') });
    this.off = h('p', { id: 'email-off', class: 'hint', hidden: true, text: t('dashboard.email.off') });
    this.loadError = h('p', { class: 'form-error', role: 'alert' });
    this.from = h('p', { id: 'email-from', hidden: true });

    this.inbox = h('input', {
      id: 'email-inbox',
      name: 'inbox',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': 'email-inbox-hint',
    });
    this.alerts = h('input', {
      id: 'email-alerts',
      name: 'alerts',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': 'email-alerts-hint',
    });
    this.lang = h(
      'select',
      { id: 'email-lang', name: 'lang' },
      h('option', { value: 'de', text: t('dashboard.email.lang_de') }),
      h('option', { value: 'en', text: t('dashboard.email.lang_en') }),
    );
    this.formError = h('p', { id: 'email-error', class: 'form-error', role: 'alert' });
    this.status = h('p', { id: 'email-status', class: 'form-status', role: 'status' });
    this.saveBtn = h('button', { type: 'submit', id: 'email-save', text: t('dashboard.email.save') });
    this.form = h(
      'form',
      { id: 'email-form', class: 'email-form', 'aria-labelledby': 'email-addresses-title', novalidate: true, hidden: true, onsubmit: (e) => this.save(e) },
      h('h3', { id: 'email-addresses-title', text: t('dashboard.email.addresses_title') }),
      field(t('dashboard.email.inbox'), this.inbox, hint('email-inbox-hint', t('dashboard.email.inbox_hint'))),
      field(t('dashboard.email.alerts'), this.alerts, hint('email-alerts-hint', t('dashboard.email.alerts_hint'))),
      field(t('dashboard.email.lang'), this.lang),
      this.formError,
      h('div', { class: 'field-button' }, this.saveBtn),
      this.status,
    );

    this.backlog = h('p', { id: 'email-backlog' });
    this.outboxBody = h('tbody');
    this.outboxTable = captionedTable(
      { id: 'email-outbox', class: 'data-table email-outbox' },
      t('dashboard.email.outbox_caption'),
      ['time', 'kind', 'recipient', 'subject', 'state', 'tries', 'answer'].map((k) => ({
        label: t(`dashboard.email.col.${k}`),
        num: k === 'tries',
        key: k,
      })),
      this.outboxBody,
    );
    this.outboxEmpty = h('p', { class: 'empty', text: t('dashboard.email.outbox_empty') });
    this.refreshBtn = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      id: 'email-refresh',
      text: t('dashboard.email.refresh'),
      onclick: () => whileBusy(this.refreshBtn, () => this.load({ announce: true })),
    });
    this.outbox = h(
      'div',
      { class: 'email-outbox-part', hidden: true },
      h('div', { class: 'panel-head' }, h('h3', { id: 'email-outbox-title', text: t('dashboard.email.outbox_title') }), this.refreshBtn),
      this.backlog,
      this.outboxEmpty,
      scrollBox(t('dashboard.email.outbox_title'), this.outboxTable),
    );

    return h(
      'section',
      { id: 'email', class: 'panel settings-panel', 'aria-labelledby': 'email-title', hidden: true },
      this.title,
      this.loadError,
      this.off,
      this.from,
      this.form,
      this.outbox,
    );
  }

  /** Shown only to agents who may manage settings. */
  setAdmin(admin) {
    this.admin = admin;
    this.el.hidden = !admin;
  }

  async load({ announce = false } = {}) {
    if (!this.admin) return;
    const res = await request('GET', '/api/email');
    if (!res.ok || !res.data || typeof res.data.enabled !== 'boolean') {
      this.loadError.textContent = res.status === 403 ? httpError(res) : t('dashboard.settings.load_failed');
      return;
    }
    this.loadError.textContent = '';
    const d = res.data;
    this.off.hidden = d.enabled;
    const from = d.from && typeof d.from === 'object' ? d.from : null;
    this.from.hidden = !from;
    if (from) {
      const addr = str(from.address);
      const name = str(from.name);
      this.from.textContent = t('dashboard.email.from', { from: name ? `${name} <${addr}>` : addr });
    }
    // The addresses can be kept while email is off (they apply once it is on), but the
    // panel says first that nothing is sent.
    this.form.hidden = !d.enabled;
    this.outbox.hidden = !d.enabled;
    if (!this.dirty) this.fill(d.addresses);
    this.renderOutbox(d.backlog, Array.isArray(d.outbox) ? d.outbox : []);
    if (announce) this.status.textContent = t('dashboard.email.refreshed');
  }

  fill(a) {
    const addresses = a && typeof a === 'object' ? a : {};
    this.inbox.value = list(addresses.inbox).join(', ');
    this.alerts.value = list(addresses.alerts).join(', ');
    this.lang.value = addresses.lang === 'de' ? 'de' : 'en';
  }

  renderOutbox(backlog, rows) {
    const b = backlog && typeof backlog === 'object' ? backlog : {};
    const queued = Number.isSafeInteger(b.queued) ? b.queued : 0;
    const failed = Number.isSafeInteger(b.failed) ? b.failed : 0;
    const oldest = time(b.oldest_queued_at);
    this.backlog.textContent = [
      t('dashboard.email.backlog', { queued: formatNumber(queued), failed: formatNumber(failed) }),
      oldest ? t('dashboard.email.oldest', { time: oldest }) : '',
    ]
      .filter(Boolean)
      .join(' ');
    this.backlog.classList.toggle('email-backlog-bad', failed > 0);
    const trs = rows
      .filter((m) => m && typeof m === 'object')
      .map((m) => {
        const state = STATES.includes(m.state) ? m.state : 'queued';
        const kind = str(m.kind);
        const when = time(m.done_at) || time(m.created_at);
        return h(
          'tr',
          { 'data-id': Number.isSafeInteger(m.id) ? m.id : null, 'data-state': state, class: state === 'failed' ? 'email-failed' : null },
          h('td', { class: 'cell-time', text: when }),
          h('td', { text: KINDS.includes(kind) ? t(`dashboard.email.kind.${kind}`) : kind }),
          h('td', { class: 'cell-email', text: str(m.recipient) }),
          h('td', { class: 'cell-text', text: str(m.subject) }),
          h('td', {}, h('span', { class: `tag email-state-${state}`, text: t(`dashboard.email.state.${state}`) })),
          h('td', { class: 'num', text: Number.isSafeInteger(m.attempts) ? formatNumber(m.attempts) : '' }),
          h('td', { class: 'cell-text email-answer', text: str(m.answer) }),
        );
      });
    this.outboxBody.replaceChildren(...trs);
    this.outboxTable.hidden = trs.length === 0;
    this.outboxEmpty.hidden = trs.length > 0;
  }

  async save(e) {
    e.preventDefault();
    const fields = [this.inbox, this.alerts, this.lang];
    const body = { inbox: splitAddresses(this.inbox.value), alerts: splitAddresses(this.alerts.value), lang: this.lang.value };
    showFieldError(this.formError, fields, null, '');
    this.status.textContent = t('dashboard.settings.saving');
    await whileBusy(this.saveBtn, async () => {
      const res = await request('PUT', '/api/email/addresses', { json: body });
      if (!res.ok) {
        this.status.textContent = '';
        // The message names the address it refused: mark the field that holds it.
        const msg = res.message.toLowerCase();
        const bad =
          res.status === 400
            ? body.alerts.some((a) => msg.includes(a.toLowerCase())) && !body.inbox.some((a) => msg.includes(a.toLowerCase()))
              ? this.alerts
              : this.inbox
            : this.saveBtn;
        showFieldError(this.formError, fields, bad, serverError(res));
        return;
      }
      this.dirty = false;
      this.fill(res.data);
      this.status.textContent = t('dashboard.email.saved');
    });
  }
}
