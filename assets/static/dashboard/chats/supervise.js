// For agents whose role has `chats.supervise` (docs/protocol.md, "Supervision"): the chats of
// colleagues that are open now, each with "Watch"; the watched chat read-only as it happens
// (its log and notes), a whisper box (an internal note to the chat's agent, never shown to the
// visitor), "Take over" and "Stop watching". The chat model ignores watched chats (they are not
// this agent's); this panel reads their frames from the socket itself. A reconnect watches
// again.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { request } from '../api.js';
import { buildEntry, buildNote } from '../messages.js';

export class SupervisePanel {
  constructor(model, conn) {
    this.model = model;
    this.conn = conn;
    this.watched = null; // conversation id
    /** client_id → text of a whisper awaiting its `noted` */
    this.whispers = new Map();
    this.agentName = '';
    this.title = h('h2', { id: 'supervise-title', text: t('dashboard.supervise.title') });
    this.list = h('ul', { class: 'chat-list', 'aria-labelledby': 'supervise-title' });
    this.empty = h('p', { class: 'empty', text: t('dashboard.supervise.none') });
    this.refreshBtn = h('button', { type: 'button', class: 'btn-secondary', onclick: () => this.load() }, t('dashboard.supervise.refresh'));
    this.head = h('h3', { class: 'supervise-head', id: 'watch-title' });
    this.log = h('div', { class: 'log supervise-log', role: 'log', 'aria-labelledby': 'watch-title', tabindex: '0' });
    this.status = h('p', { class: 'supervise-status', role: 'status' });
    this.whisper = h('textarea', { id: 'whisper-text', rows: '2', maxlength: '4000' });
    this.whisperForm = h('form', { class: 'supervise-whisper', onsubmit: (e) => { e.preventDefault(); this.sendWhisper(); } },
      h('label', { for: 'whisper-text', text: t('dashboard.supervise.whisper_label') }),
      this.whisper,
      h('button', { type: 'submit' }, t('dashboard.supervise.whisper_send')));
    this.takeBtn = h('button', { type: 'button', onclick: () => this.send({ type: 'take_over', conversation_id: this.watched }) }, t('dashboard.supervise.take_over'));
    this.stopBtn = h('button', { type: 'button', class: 'btn-secondary', onclick: () => this.stop() }, t('dashboard.supervise.stop'));
    this.view = h('div', { class: 'supervise-view', hidden: true },
      this.head, h('div', { class: 'conv-actions' }, this.takeBtn, this.stopBtn), this.log, this.whisperForm);
    this.el = h('section', { class: 'panel supervise-panel', 'aria-labelledby': 'supervise-title' },
      this.title, this.refreshBtn, this.empty, this.list, this.view, this.status);

    conn.addEventListener('frame', (e) => this.onFrame(e.detail));
    model.addEventListener('ready', () => {
      if (this.watched !== null) this.send({ type: 'watch', conversation_id: this.watched });
    });
    this.load();
  }

  send(frame) {
    if (!this.conn.send(frame)) this.status.textContent = t('dashboard.error.offline');
  }

  /** The open chats of colleagues (the history lists them with `chats.all`). */
  async load() {
    const res = await request('GET', '/api/conversations');
    if (!res.ok || !res.data) return;
    const live = (c) => c.status === 'open' || c.status === 'waiting';
    const rows = (res.data.conversations || []).filter((c) => live(c) && !this.model.convs.has(c.id));
    this.list.replaceChildren(...rows.map((c) => h('li', { 'data-id': c.id },
      h('span', { class: 'chat-name', text: `${c.visitor_name || t('dashboard.visitor_number', { id: c.id })} · ${c.agent_name || t('dashboard.supervise.waiting')}` }),
      ' ',
      h('button', { type: 'button', class: 'btn-secondary', 'data-watch': c.id, onclick: () => this.watch(c.id, c.agent_name || '') },
        t('dashboard.supervise.watch')))));
    this.empty.hidden = rows.length > 0;
  }

  watch(id, agentName) {
    if (this.watched !== null && this.watched !== id) this.send({ type: 'unwatch', conversation_id: this.watched });
    this.watched = id;
    this.agentName = agentName;
    this.log.replaceChildren();
    this.head.textContent = t('dashboard.supervise.watching', { id, agent: agentName });
    this.view.hidden = false;
    this.send({ type: 'watch', conversation_id: id });
    this.whisper.focus();
  }

  stop() {
    if (this.watched === null) return;
    this.send({ type: 'unwatch', conversation_id: this.watched });
    this.end();
  }

  end() {
    this.watched = null;
    this.view.hidden = true;
    this.load();
    this.refreshBtn.focus();
  }

  sendWhisper() {
    const text = this.whisper.value.trim();
    if (!text || this.watched === null) return;
    const clientId = `w${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    this.whispers.set(clientId, text);
    this.send({ type: 'whisper', conversation_id: this.watched, client_id: clientId, text });
    this.whisper.value = '';
  }

  ctx() {
    return { visitorName: t('dashboard.supervise.visitor'), agentName: this.agentName, clockOffset: this.model.clockOffset };
  }

  onFrame(f) {
    if (!f || f.conversation_id !== this.watched || this.watched === null) return;
    if (f.type === 'message' && !this.log.querySelector(`[data-seq="${f.seq}"]`)) {
      this.log.append(buildEntry({ seq: f.seq, author: f.author, authorName: f.author_name || '', text: f.text || '', at: f.at, file: null }, this.ctx()));
    } else if (f.type === 'note' && !this.log.querySelector(`[data-note="${f.id}"]`)) {
      this.log.append(buildNote({ id: f.id, authorName: f.author_name || '', text: f.text || '', at: f.at }, this.ctx()));
    } else if (f.type === 'noted' && this.whispers.has(f.client_id)) {
      const text = this.whispers.get(f.client_id);
      this.whispers.delete(f.client_id);
      this.log.append(buildNote({ id: f.id, authorName: this.model.myName, text, at: Math.floor(this.model.serverNow()) }, this.ctx()));
    } else if (f.type === 'supervision') {
      if (f.action === 'took_over') {
        this.status.textContent = t('dashboard.supervise.taken');
        this.end();
        return;
      }
      this.status.textContent = f.action === 'watching' ? t('dashboard.supervise.started') : t('dashboard.supervise.stopped');
    } else if (f.type === 'conversation' && f.watching && f.status === 'closed') {
      this.status.textContent = t('dashboard.supervise.closed');
      this.end();
      return;
    } else if (f.type === 'error') {
      this.status.textContent = f.message || '';
    }
    this.log.scrollTop = this.log.scrollHeight;
  }
}
