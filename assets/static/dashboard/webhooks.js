// Settings → General → Webhooks (`/api/webhooks`): the addresses that get the organisation's
// events, signed (Standard Webhooks), each with its chosen events; a new endpoint's secret is
// shown once (and again only as a new one), a test event on request, and the delivery log with
// each receiver's answer. Only for agents who may manage settings (the API refuses others);
// everything from the server is set as text (dom.js).

import { h, whileBusy } from './dom.js';
import { t, formatDateTime, formatNumber } from './i18n.js';
import { request, httpError, serverError } from './api.js';
import { showFieldError, field, hint } from './form.js';
import { captionedTable, scrollBox } from './tables.js';

const str = (v) => (typeof v === 'string' ? v : '');
const time = (v) => (Number.isSafeInteger(v) && v > 0 ? formatDateTime(new Date(v * 1000)) : '');
const STATES = ['queued', 'sent', 'failed'];
const EVENTS = ['chat.started', 'chat.accepted', 'chat.closed', 'message.created', 'offline_message.created', 'goal.reached', 'visitor.rated'];
const eventName = (e) => (EVENTS.includes(e) || e === 'webhook.test' ? t(`dashboard.webhooks.event.${e}`) : e);

/** The panel. */
export class WebhooksBlock {
  constructor() {
    this.admin = false;
    this.endpoints = [];
    this.el = this.build();
  }

  build() {
    this.loadError = h('p', { class: 'form-error', role: 'alert' });
    this.url = h('input', {
      id: 'webhook-url',
      name: 'url',
      type: 'url',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'https://',
      'aria-describedby': 'webhook-url-hint',
    });
    this.boxes = EVENTS.map((e) =>
      h('input', { type: 'checkbox', id: `webhook-event-${e.replace(/[._]/g, '-')}`, name: 'events', value: e }),
    );
    this.events = h(
      'fieldset',
      { id: 'webhook-events', class: 'webhook-events' },
      h('legend', { text: t('dashboard.webhooks.events') }),
      ...this.boxes.map((b) => h('div', { class: 'webhook-check' }, b, h('label', { for: b.id, text: eventName(b.value) }))),
    );
    this.description = h('input', { id: 'webhook-description', name: 'description', autocomplete: 'off', maxlength: '200' });
    this.formError = h('p', { id: 'webhook-error', class: 'form-error', role: 'alert' });
    this.status = h('p', { id: 'webhook-status', class: 'form-status', role: 'status' });
    this.secret = h('code', { id: 'webhook-secret' });
    this.secretBox = h(
      'div',
      { id: 'webhook-secret-box', class: 'webhook-secret', hidden: true },
      h('p', { id: 'webhook-secret-label', text: t('dashboard.webhooks.secret_once') }),
      h('p', {}, this.secret),
    );
    this.saveBtn = h('button', { type: 'submit', id: 'webhook-save', text: t('dashboard.webhooks.add') });
    this.form = h(
      'form',
      { id: 'webhook-form', 'aria-labelledby': 'webhook-new-title', novalidate: true, onsubmit: (e) => this.create(e) },
      h('h3', { id: 'webhook-new-title', text: t('dashboard.webhooks.new_title') }),
      field(t('dashboard.webhooks.url'), this.url, hint('webhook-url-hint', t('dashboard.webhooks.url_hint'))),
      this.events,
      field(t('dashboard.webhooks.description'), this.description),
      this.formError,
      h('div', { class: 'field-button' }, this.saveBtn),
    );

    this.listBody = h('tbody');
    this.listTable = captionedTable(
      { id: 'webhook-list', class: 'data-table' },
      t('dashboard.webhooks.list_caption'),
      ['url', 'events', 'actions'].map((k) => ({ label: t(`dashboard.webhooks.col.${k}`), key: k })),
      this.listBody,
    );
    this.listEmpty = h('p', { class: 'empty', text: t('dashboard.webhooks.list_empty') });

    this.logBody = h('tbody');
    this.logTable = captionedTable(
      { id: 'webhook-log', class: 'data-table' },
      t('dashboard.webhooks.log_caption'),
      ['time', 'url', 'event', 'state', 'tries', 'status', 'answer'].map((k) => ({
        label: t(`dashboard.webhooks.col.${k}`),
        num: k === 'tries' || k === 'status',
        key: k,
      })),
      this.logBody,
    );
    this.logEmpty = h('p', { class: 'empty', text: t('dashboard.webhooks.log_empty') });
    this.refreshBtn = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      id: 'webhook-refresh',
      text: t('dashboard.webhooks.refresh'),
      onclick: () => whileBusy(this.refreshBtn, () => this.load({ announce: true })),
    });

    return h(
      'section',
      { id: 'webhooks', class: 'panel settings-panel', 'aria-labelledby': 'webhooks-title', hidden: true },
      h('h2', { id: 'webhooks-title', text: t('dashboard.webhooks.title') }),
      h('p', { class: 'hint', text: t('dashboard.webhooks.intro') }),
      this.loadError,
      this.listEmpty,
      this.listTable,
      this.status,
      this.secretBox,
      this.form,
      h('div', { class: 'panel-head' }, h('h3', { id: 'webhook-log-title', text: t('dashboard.webhooks.log_title') }), this.refreshBtn),
      this.logEmpty,
      scrollBox(t('dashboard.webhooks.log_title'), this.logTable),
    );
  }

  /** Shown only to agents who may manage settings. */
  setAdmin(admin) {
    this.admin = admin;
    this.el.hidden = !admin;
  }

  async load({ announce = false } = {}) {
    if (!this.admin) return;
    const [list, log] = await Promise.all([request('GET', '/api/webhooks'), request('GET', '/api/webhooks/deliveries')]);
    if (!list.ok || !list.data || !Array.isArray(list.data.endpoints)) {
      this.loadError.textContent = list.status === 403 ? httpError(list) : t('dashboard.settings.load_failed');
      return;
    }
    this.loadError.textContent = '';
    this.endpoints = list.data.endpoints.filter((e) => e && typeof e === 'object' && Number.isSafeInteger(e.id));
    this.renderList();
    this.renderLog(log.ok && log.data && Array.isArray(log.data.deliveries) ? log.data.deliveries : []);
    if (announce) this.status.textContent = t('dashboard.webhooks.refreshed');
  }

  renderList() {
    const trs = this.endpoints.map((e) => {
      const url = str(e.url);
      const events = Array.isArray(e.events) ? e.events.filter((x) => typeof x === 'string') : [];
      const button = (key, onclick) =>
        h('button', {
          type: 'button',
          class: 'btn-secondary btn-small',
          text: t(`dashboard.webhooks.${key}`),
          'aria-label': t(`dashboard.webhooks.${key}_for`, { url }),
          onclick: (ev) => whileBusy(ev.currentTarget, onclick),
        });
      return h(
        'tr',
        { 'data-id': e.id },
        h('td', { class: 'cell-text' }, h('span', { text: url }), e.description ? h('span', { class: 'hint', text: ` ${str(e.description)}` }) : null),
        h(
          'td',
          { class: 'cell-text' },
          h('span', { text: events.map(eventName).join(', ') }),
          e.enabled === false ? h('span', { class: 'tag webhook-paused', text: ` ${t('dashboard.webhooks.paused')}` }) : null,
        ),
        h(
          'td',
          { class: 'cell-actions' },
          button('test', () => this.test(e.id)),
          button(e.enabled === false ? 'resume' : 'pause', () => this.toggle(e, events)),
          button('rotate', () => this.rotate(e.id)),
          button('delete', () => this.remove(e.id, url)),
        ),
      );
    });
    this.listBody.replaceChildren(...trs);
    this.listTable.hidden = trs.length === 0;
    this.listEmpty.hidden = trs.length > 0;
  }

  renderLog(rows) {
    const urls = new Map(this.endpoints.map((e) => [e.id, str(e.url)]));
    const trs = rows
      .filter((d) => d && typeof d === 'object')
      .map((d) => {
        const state = STATES.includes(d.state) ? d.state : 'queued';
        return h(
          'tr',
          { 'data-id': Number.isSafeInteger(d.id) ? d.id : null, 'data-state': state },
          h('td', { class: 'cell-time', text: time(d.done_at) || time(d.created_at) }),
          h('td', { class: 'cell-text', text: urls.get(d.endpoint_id) || '' }),
          h('td', { text: eventName(str(d.event)) }),
          h('td', {}, h('span', { class: `tag email-state-${state}`, text: t(`dashboard.webhooks.state.${state}`) })),
          h('td', { class: 'num', text: Number.isSafeInteger(d.attempts) ? formatNumber(d.attempts) : '' }),
          h('td', { class: 'num', text: Number.isSafeInteger(d.status) ? String(d.status) : '' }),
          h('td', { class: 'cell-text', text: str(d.answer) }),
        );
      });
    this.logBody.replaceChildren(...trs);
    this.logTable.hidden = trs.length === 0;
    this.logEmpty.hidden = trs.length > 0;
  }

  showSecret(secret) {
    this.secret.textContent = secret;
    this.secretBox.hidden = !secret;
  }

  async create(e) {
    e.preventDefault();
    const fields = [this.url, ...this.boxes];
    const events = this.boxes.filter((b) => b.checked).map((b) => b.value);
    showFieldError(this.formError, fields, null, '');
    if (events.length === 0) {
      showFieldError(this.formError, fields, this.boxes[0], t('dashboard.webhooks.no_events'));
      return;
    }
    this.status.textContent = t('dashboard.settings.saving');
    await whileBusy(this.saveBtn, async () => {
      const body = { url: this.url.value.trim(), events, description: this.description.value.trim() };
      const res = await request('POST', '/api/webhooks', { json: body });
      if (!res.ok) {
        this.status.textContent = '';
        showFieldError(this.formError, fields, res.status === 400 ? this.url : this.saveBtn, serverError(res));
        return;
      }
      this.url.value = '';
      this.description.value = '';
      for (const b of this.boxes) b.checked = false;
      this.showSecret(str(res.data && res.data.secret));
      this.status.textContent = t('dashboard.webhooks.added');
      await this.load();
    });
  }

  async test(id) {
    const res = await request('POST', `/api/webhooks/${id}/test`, { json: {} });
    this.status.textContent = res.ok ? t('dashboard.webhooks.test_queued') : serverError(res);
    await this.load();
  }

  /** Pauses an endpoint (its events are no longer queued, waiting ones wait) or resumes it. */
  async toggle(e, events) {
    const enabled = e.enabled === false;
    const body = { url: str(e.url), events, enabled, description: str(e.description) };
    const res = await request('PUT', `/api/webhooks/${e.id}`, { json: body });
    this.status.textContent = res.ok ? t(enabled ? 'dashboard.webhooks.resumed' : 'dashboard.webhooks.paused_now') : serverError(res);
    await this.load();
  }

  async rotate(id) {
    if (!window.confirm(t('dashboard.webhooks.rotate_confirm'))) return;
    const res = await request('POST', `/api/webhooks/${id}/secret`, { json: {} });
    if (!res.ok) {
      this.status.textContent = serverError(res);
      return;
    }
    this.showSecret(str(res.data && res.data.secret));
    this.status.textContent = t('dashboard.webhooks.rotated');
  }

  async remove(id, url) {
    if (!window.confirm(t('dashboard.webhooks.delete_confirm', { url }))) return;
    const res = await request('DELETE', `/api/webhooks/${id}`);
    this.status.textContent = res.ok ? t('dashboard.webhooks.deleted') : serverError(res);
    this.showSecret('');
    await this.load();
  }
}
