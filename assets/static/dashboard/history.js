// The History section: search past chats (`GET /api/conversations`), read one read-only
// (`GET /api/conversations/{id}/messages`), and the offline inbox (`GET /api/offline`). With
// email on, an offline message (`POST /api/offline/{id}/reply`) and a closed chat
// (`POST /api/conversations/{id}/reply`) can be answered by email. Everything from visitors
// is set as text.

import { h, srOnly, hasFocus, whileBusy } from './dom.js';
import { field, growField, hint, showFieldError } from './form.js';
import { t, tn, formatDateTime, formatNumber } from './i18n.js';
import { request, serverError } from './api.js';
import { buildEntry, parseFile } from './messages.js';
import { BlocksPanel } from './blocks.js';
import { captionedTable } from './tables.js';

const isInt = (v) => Number.isSafeInteger(v);
const str = (v) => (typeof v === 'string' ? v : '');
/** Only such addresses become mailto: links; anything else stays plain text. */
const SIMPLE_EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export function mountHistory(root) {
  return new HistoryView(root);
}

/** An email as a mailto: link when it looks like one, else as text. */
export function emailEl(email) {
  if (!email) return h('span', { class: 'muted', text: '–' });
  if (!SIMPLE_EMAIL.test(email)) return h('span', { text: email });
  return h('a', { href: `mailto:${encodeURIComponent(email)}`, text: email });
}

class HistoryView {
  constructor(root) {
    this.rows = new Map(); // id → {row, button, data}
    this.selected = null;
    this.searchSeq = 0;
    this.logSeq = 0;
    this.emailOn = false; // the server sends mail: "Reply by email" is offered
    root.classList.add('dash-app', 'history-app');
    this.blocksPanel = new BlocksPanel();
    root.replaceChildren(this.buildSearch(), this.buildResults(), this.buildOffline(), this.blocksPanel.el);
    this.blocksPanel.load();
    // `/app/history?c=ID` (links from a visitor's earlier chats) opens that chat.
    const linked = Number(new URLSearchParams(location.search).get('c'));
    this.search().then(() => {
      if (isInt(linked) && linked > 0) this.open(linked);
    });
    // `/app/history?offline=ID` (the link in the mail about a new offline message) shows it.
    const offline = Number(new URLSearchParams(location.search).get('offline'));
    this.loadOffline().then(() => {
      if (!isInt(offline) || offline <= 0) return;
      const item = this.offlineList.querySelector(`[data-id="${offline}"]`);
      if (!item) return;
      item.classList.add('offline-linked');
      item.setAttribute('tabindex', '-1');
      item.scrollIntoView({ block: 'center' });
      item.focus();
    });
  }

  // ----- search -----

  buildSearch() {
    this.q = h('input', { type: 'search', id: 'hist-q', name: 'q', maxlength: '200', autocomplete: 'off' });
    this.from = h('input', { type: 'date', id: 'hist-from', name: 'from' });
    this.to = h('input', { type: 'date', id: 'hist-to', name: 'to' });
    this.searchBtn = h('button', { type: 'submit', text: t('dashboard.history.search_button') });
    return h(
      'form',
      {
        class: 'panel hist-search',
        role: 'search',
        'aria-label': t('dashboard.history.search_label'),
        onsubmit: (e) => {
          e.preventDefault();
          this.search();
        },
      },
      growField(t('dashboard.history.q'), this.q, hint('hist-q-hint', t('dashboard.history.q_hint'))),
      field(t('dashboard.history.from'), this.from),
      field(t('dashboard.history.to'), this.to),
      h('div', { class: 'field field-button' }, this.searchBtn),
    );
  }

  buildResults() {
    this.resultStatus = h('p', { class: 'hist-status', role: 'status' });
    this.tbody = h('tbody');
    this.table = captionedTable(
      { class: 'data-table hist-table', hidden: true },
      t('dashboard.history.results_caption'),
      ['date', 'name', 'email', 'agent', 'status', 'rating'].map((k) => t(`dashboard.history.col.${k}`)),
      this.tbody,
    );

    this.convTitle = h('h2', { id: 'hist-conv-title', tabindex: '-1', text: t('dashboard.history.transcript') });
    this.convSub = h('p', { class: 'conv-sub' });
    this.convStatus = h('p', { class: 'hist-status', role: 'status' });
    this.convLog = h('div', {
      class: 'log hist-log',
      tabindex: '0',
      role: 'region',
      'aria-labelledby': 'hist-conv-title',
      hidden: true,
    });
    this.convEmpty = h('p', { class: 'empty', text: t('dashboard.history.pick') });
    this.convReply = new ReplyForm({
      id: 'hist-reply',
      label: t('dashboard.history.reply_label'),
      send: (text) => this.replyConversation(text),
    });
    this.convReply.el.hidden = true;

    return h(
      'div',
      { class: 'hist-grid' },
      h(
        'section',
        { class: 'panel hist-results', 'aria-labelledby': 'hist-results-title' },
        h('h2', { id: 'hist-results-title', text: t('dashboard.history.results') }),
        this.resultStatus,
        h('div', { class: 'table-wrap' }, this.table),
      ),
      h(
        'section',
        { class: 'panel hist-conv', 'aria-labelledby': 'hist-conv-title' },
        this.convTitle,
        this.convSub,
        this.convStatus,
        this.convEmpty,
        this.convLog,
        this.convReply.el,
      ),
    );
  }

  async search() {
    const params = new URLSearchParams();
    const q = this.q.value.trim();
    if (q) params.set('q', q);
    if (this.from.value) params.set('from', this.from.value);
    if (this.to.value) params.set('to', this.to.value);
    if (this.from.value && this.to.value && this.from.value > this.to.value) {
      this.resultStatus.textContent = t('dashboard.history.bad_range');
      this.to.setAttribute('aria-invalid', 'true');
      this.to.focus();
      return;
    }
    this.to.removeAttribute('aria-invalid');
    const seq = ++this.searchSeq;
    this.resultStatus.textContent = t('dashboard.history.searching');
    this.table.setAttribute('aria-busy', 'true');
    const qs = params.toString();
    const res = await request('GET', `/api/conversations${qs ? `?${qs}` : ''}`);
    if (seq !== this.searchSeq) return; // a newer search is under way
    this.table.removeAttribute('aria-busy');
    if (!res.ok || !res.data || !Array.isArray(res.data.conversations)) {
      this.resultStatus.textContent =
        res.status === 400 ? t('dashboard.history.bad_input') : t('dashboard.history.failed');
      return;
    }
    const list = res.data.conversations.filter((c) => c && isInt(c.id));
    this.renderRows(list);
    this.resultStatus.textContent = list.length
      ? list.length >= 200
        ? t('dashboard.history.count_capped', { n: formatNumber(list.length) })
        : tn('dashboard.history.count', list.length)
      : t('dashboard.history.none');
  }

  renderRows(list) {
    const hadFocus = hasFocus(this.tbody);
    this.rows.clear();
    const trs = list.map((c) => {
      const name = str(c.visitor_name) || t('dashboard.visitor_number', { id: c.id });
      const when = isInt(c.created_at) ? formatDateTime(new Date(c.created_at * 1000)) : '';
      const button = h('button', {
        type: 'button',
        class: 'link-button',
        'aria-label': t('dashboard.history.open_label', { name, date: when }),
        text: when || `#${c.id}`,
        onclick: () => this.open(c.id),
      });
      const rating = isInt(c.rating) && c.rating >= 1 && c.rating <= 5 ? c.rating : null;
      const row = h(
        'tr',
        { 'data-id': c.id },
        h('td', {}, button),
        h('td', { class: 'cell-name', text: name }),
        h('td', { class: 'cell-email' }, emailEl(str(c.visitor_email))),
        h('td', { text: str(c.agent_name) || '–' }),
        h('td', {}, h('span', { class: `tag status-${str(c.status)}`, text: statusText(str(c.status)) })),
        h('td', {}, ratingEl(rating)),
      );
      // The whole row answers a click; the button is what keyboards and screen readers use.
      row.addEventListener('click', (e) => {
        if (e.target.closest('a, button')) return;
        this.open(c.id);
      });
      this.rows.set(c.id, { row, button, data: c, name });
      return row;
    });
    this.tbody.replaceChildren(...trs);
    this.table.hidden = list.length === 0;
    this.markSelected();
    if (hadFocus) this.searchBtn.focus();
  }

  markSelected() {
    for (const [id, r] of this.rows) {
      const on = id === this.selected;
      r.row.classList.toggle('selected', on);
      if (on) r.button.setAttribute('aria-current', 'true');
      else r.button.removeAttribute('aria-current');
    }
  }

  // ----- one conversation -----

  async open(id, { said = '' } = {}) {
    // A linked chat may not be among the results: it opens with what its id tells.
    const r = this.rows.get(id) || { data: { id }, name: t('dashboard.visitor_number', { id }) };
    this.selected = id;
    this.convReply.reset();
    this.convReply.el.hidden = true;
    this.markSelected();
    const c = r.data;
    const seq = ++this.logSeq;
    this.convTitle.textContent = t('dashboard.history.transcript_of', { name: r.name });
    this.convSub.textContent = [str(c.visitor_email), t('dashboard.conversation.number', { id })]
      .filter(Boolean)
      .join(' · ');
    this.convStatus.textContent = t('dashboard.history.loading');
    this.convEmpty.hidden = true;
    this.convLog.replaceChildren();
    this.convLog.hidden = true;
    this.convTitle.focus();
    const res = await request('GET', `/api/conversations/${encodeURIComponent(id)}/messages`);
    if (seq !== this.logSeq) return;
    if (!res.ok || !res.data || !Array.isArray(res.data.messages)) {
      this.convStatus.textContent = res.status === 404 ? t('dashboard.history.gone') : t('dashboard.history.failed');
      return;
    }
    const ctx = { visitorName: r.name, agentName: '', clockOffset: 0 };
    const entries = res.data.messages
      .filter((m) => m && isInt(m.seq))
      .map((m) =>
        buildEntry(
          {
            seq: m.seq,
            author: ['visitor', 'agent', 'system', 'auto'].includes(m.author) ? m.author : 'system',
            authorName: str(m.author_name),
            text: str(m.text),
            at: isInt(m.at) ? m.at : 0,
            file: parseFile(m.file),
          },
          ctx,
        ),
      );
    this.convLog.replaceChildren(...entries);
    this.convLog.hidden = entries.length === 0;
    const count = entries.length ? tn('dashboard.history.entries', entries.length) : t('dashboard.history.no_entries');
    this.convStatus.textContent = said ? `${said} ${count}` : count;
    this.convLog.scrollTop = 0;
    // A closed chat can be answered by email (the server says if the visitor left no address).
    this.convReply.el.hidden = !(this.emailOn && str(c.status) === 'closed');
  }

  async replyConversation(text) {
    const id = this.selected;
    const res = await request('POST', `/api/conversations/${encodeURIComponent(id)}/reply`, { json: { text } });
    if (!res.ok) return serverError(res);
    const r = this.rows.get(id);
    const to = r ? str(r.data.visitor_email) : '';
    await this.open(id, { said: to ? t('dashboard.history.reply_sent_to', { email: to }) : t('dashboard.history.reply_sent') });
    return '';
  }

  // ----- offline inbox -----

  buildOffline() {
    this.offlineStatus = h('p', { class: 'hist-status', role: 'status' });
    this.offlineList = h('ul', { class: 'offline-list', 'aria-labelledby': 'offline-title' });
    this.offlineRefresh = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      text: t('dashboard.offline.refresh'),
      onclick: () => this.loadOffline(),
    });
    return h(
      'section',
      { class: 'panel offline-panel', 'aria-labelledby': 'offline-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'offline-title', text: t('dashboard.offline.title') }), this.offlineRefresh),
      this.offlineStatus,
      this.offlineList,
    );
  }

  async loadOffline({ said = '', focusId = null } = {}) {
    this.offlineStatus.textContent = t('dashboard.history.loading');
    const res = await request('GET', '/api/offline');
    if (!res.ok || !res.data || !Array.isArray(res.data.messages)) {
      this.offlineStatus.textContent = t('dashboard.history.failed');
      return;
    }
    const wasOn = this.emailOn;
    this.emailOn = res.data.email === true;
    // The open chat learns that it can be answered by email.
    if (this.emailOn !== wasOn && this.selected !== null) {
      const r = this.rows.get(this.selected);
      this.convReply.el.hidden = !(this.emailOn && r && str(r.data.status) === 'closed');
    }
    const list = res.data.messages.filter((m) => m && isInt(m.id));
    this.offlineList.replaceChildren(...list.map((m) => this.offlineItem(m)));
    const count = list.length ? tn('dashboard.offline.count', list.length) : t('dashboard.offline.none');
    this.offlineStatus.textContent = said ? `${said} ${count}` : count;
    if (focusId !== null) this.offlineList.querySelector(`[data-id="${focusId}"] .offline-handled`)?.focus();
  }

  offlineItem(m) {
    const when = isInt(m.created_at) ? new Date(m.created_at * 1000) : null;
    const name = str(m.name);
    const email = str(m.email);
    const item = h(
      'li',
      { class: 'offline-item', 'data-id': m.id },
      h(
        'p',
        { class: 'offline-meta' },
        when ? h('time', { datetime: when.toISOString(), text: formatDateTime(when) }) : null,
        ' ',
        h('span', { class: name ? 'offline-name' : 'offline-name muted', text: name || t('dashboard.offline.no_name') }),
        ' ',
        emailEl(email),
      ),
      h('p', { class: 'offline-text', text: str(m.message) }),
    );
    if (isInt(m.handled_at)) {
      const at = formatDateTime(new Date(m.handled_at * 1000));
      const by = str(m.handled_by);
      item.classList.add('offline-done');
      item.append(
        h('p', {
          class: 'offline-handled',
          tabindex: '-1',
          text: by ? t('dashboard.offline.answered_by', { name: by, date: at }) : t('dashboard.offline.answered', { date: at }),
        }),
      );
      const reply = str(m.reply);
      if (reply) {
        item.append(
          h(
            'figure',
            { class: 'offline-reply' },
            h('figcaption', { class: 'vh', text: t('dashboard.offline.reply_caption') }),
            h('blockquote', { class: 'offline-text', text: reply }),
          ),
        );
      }
    } else if (this.emailOn) {
      const form = new ReplyForm({
        id: `offline-reply-${m.id}`,
        label: t('dashboard.offline.reply_label', { email }),
        opener: t('dashboard.offline.reply_open_label', { name: name || email }),
        send: async (text) => {
          const res = await request('POST', `/api/offline/${encodeURIComponent(m.id)}/reply`, { json: { text } });
          if (!res.ok) return serverError(res);
          await this.loadOffline({ said: t('dashboard.offline.reply_sent', { email }), focusId: m.id });
          return '';
        },
      });
      item.append(form.el);
    }
    return item;
  }
}

/**
 * "Reply by email": a button that opens a labelled text box with Send and Cancel. `send(text)`
 * resolves to '' when done, else to the error to show.
 */
class ReplyForm {
  constructor({ id, label, opener = '', send }) {
    this.send = send;
    this.open = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small reply-open',
      'aria-expanded': 'false',
      'aria-controls': `${id}-form`,
      'aria-label': opener || null,
      text: t('dashboard.mailreply.open'),
      onclick: () => this.show(true),
    });
    this.text = h('textarea', { id: `${id}-text`, name: 'text', rows: '5', maxlength: '10000' });
    this.error = h('p', { id: `${id}-error`, class: 'form-error', role: 'alert' });
    this.sendBtn = h('button', { type: 'submit', text: t('dashboard.mailreply.send') });
    this.cancel = h('button', {
      type: 'button',
      class: 'btn-secondary',
      text: t('dashboard.mailreply.cancel'),
      onclick: () => {
        this.show(false);
        this.open.focus();
      },
    });
    this.form = h(
      'form',
      { id: `${id}-form`, class: 'reply-mail', novalidate: true, hidden: true, onsubmit: (e) => this.submit(e) },
      field(label, this.text),
      this.error,
      h('div', { class: 'reply-mail-buttons' }, this.sendBtn, this.cancel),
    );
    this.el = h('div', { class: 'reply-mail-part' }, this.open, this.form);
  }

  show(on) {
    this.form.hidden = !on;
    this.open.hidden = on;
    this.open.setAttribute('aria-expanded', String(on));
    if (on) this.text.focus();
  }

  reset() {
    this.text.value = '';
    showFieldError(this.error, [this.text], null, '');
    this.show(false);
  }

  async submit(e) {
    e.preventDefault();
    const text = this.text.value.trim();
    if (!text) {
      showFieldError(this.error, [this.text], this.text, t('dashboard.mailreply.empty'));
      return;
    }
    await whileBusy(this.sendBtn, async () => {
      this.sendBtn.textContent = t('dashboard.mailreply.sending');
      const err = await this.send(text);
      this.sendBtn.textContent = t('dashboard.mailreply.send');
      if (err) showFieldError(this.error, [this.text], this.text, err);
      else this.reset();
    });
  }
}

function statusText(status) {
  const known = ['waiting', 'open', 'closed'];
  return known.includes(status) ? t(`dashboard.history.status.${status}`) : status;
}

/** "★★★★☆" for sight, "4 of 5" for screen readers; a dash when not rated. */
function ratingEl(rating) {
  if (rating === null) {
    return h('span', {}, h('span', { 'aria-hidden': 'true', class: 'muted', text: '–' }), srOnly(t('dashboard.history.not_rated')));
  }
  return h(
    'span',
    { class: 'rating' },
    h('span', { 'aria-hidden': 'true', text: '★'.repeat(rating) + '☆'.repeat(5 - rating) }),
    srOnly(t('dashboard.history.rating', { n: formatNumber(rating) })),
  );
}
