// The Chats section: the bar (connection, status, alerts), the queue of waiting chats, my open
// chats, the selected conversation with its log and internal notes, the reply box, transfers
// and files. All visitor-supplied text goes through textContent (see dom.js); nothing here
// parses HTML. Each part lives in its own module under chats/:
//
//   bar.js       connection state, agent status, chime, notifications
//   queue.js     the waiting chats
//   log.js       each chat's log: entries, notes, pending replies, reset, typing
//   composer.js  the reply box: replies, note mode, canned responses, drafts
//   transfer.js  handing a chat over
//   uploads.js   files sent by the agent
//   errors.js    socket errors in words
//   lookup.js    the business's own system's answer about a value (online look-up)
//   supervise.js colleagues' chats watched by a supervisor
//
// This module keeps the list of my chats and the selection, and wires the parts to the model.

import { parseFields, renderFields } from './chats/form-values.js';
import { h, srOnly, hasFocus, setDisabled } from './dom.js';
import { t, tn, formatNumber } from './i18n.js';
import { ChatVisitorPanel } from './chat-visitor.js';
import { AlertBox } from './section-status.js';
import { ChatsBar } from './chats/bar.js';
import { QueueList } from './chats/queue.js';
import { LogView } from './chats/log.js';
import { Composer } from './chats/composer.js';
import { Transfers } from './chats/transfer.js';
import { Blocks } from './chats/block.js';
import { Uploads } from './chats/uploads.js';
import { errorText } from './chats/errors.js';
import { LookupPanel } from './chats/lookup.js';
import { SupervisePanel } from './chats/supervise.js';
import { session } from './api.js';

/** What a closed chat's panel says, by why it ended (transfers name the colleague). */
const ENDED = {
  offline: 'dashboard.conversation.ended_offline',
  erased: 'dashboard.conversation.ended_erased',
};

/** Within this many pixels of the end, a log follows new messages. */
const STICK_PX = 48;

/** visitors: the live VisitorsModel (optional): the chat's visitor panel follows it. */
export function mountChats(root, model, conn, visitors = null) {
  return new ChatsView(root, model, conn, visitors);
}

class ChatsView {
  constructor(root, model, conn, visitors) {
    this.model = model;
    this.conn = conn;
    this.visitors = visitors;
    this.selected = null;
    /** id → {li, button, state, unread, panel, log, typing, stick, transfer…, visitorPanel} */
    this.items = new Map();

    this.bar = new ChatsBar(model, conn);
    this.alert = new AlertBox(() => (this.composer.reply.disabled ? this.mineTitle.focus() : this.composer.focus()));
    this.queue = new QueueList(model, () => this.showError('offline', t('dashboard.error.offline')));
    this.logs = new LogView(this);
    this.transfers = new Transfers(this);
    this.blocks = new Blocks(this);
    this.uploads = new Uploads(this);
    this.composer = new Composer(this, (files) => {
      if (this.selected === null) return;
      for (const f of files) this.uploads.start(this.selected, f);
    });

    root.replaceChildren(this.bar.el, this.alert.el, this.buildGrid());
    root.classList.add('chats-app');

    model.addEventListener('ready', (e) => this.onReady(e.detail));
    model.addEventListener('queue', () => {
      this.queue.render();
      this.renderEnabled();
      // Replays after `hello`/`accept` are over: from now on new entries are announced.
      for (const it of this.items.values()) it.log.setAttribute('aria-live', 'polite');
    });
    model.addEventListener('conv', (e) => this.onConv(e.detail));
    model.addEventListener('erased', (e) => {
      const { id, visitorName } = e.detail;
      this.announce(t('dashboard.announce.erased', { name: visitorName || t('dashboard.visitor_number', { id }) }));
    });
    model.addEventListener('removed', (e) => this.onRemoved(e.detail.id));
    model.addEventListener('reset', (e) => this.logs.onReset(e.detail.conv));
    model.addEventListener('message', (e) => this.onMessage(e.detail));
    model.addEventListener('note', (e) => this.logs.onNote(e.detail));
    model.addEventListener('pending', (e) => this.logs.onPending(e.detail.p));
    model.addEventListener('ack', (e) => this.logs.onAck(e.detail));
    model.addEventListener('noted', (e) => this.logs.onNoted(e.detail));
    model.addEventListener('agents', () => this.transfers.renderTargets());
    model.addEventListener('transfer', (e) => this.transfers.onDone(e.detail));
    model.addEventListener('typing', (e) => this.logs.onTyping(e.detail.conv));
    model.addEventListener('unread', (e) => this.renderUnread(e.detail.conv));
    model.addEventListener('error', (e) => {
      // A refused transfer is told in its own panel (see Transfers.onDone).
      if (e.detail.transfer && this.transfers.anyOpen()) return;
      this.showError(e.detail.code, e.detail.message);
    });
    model.addEventListener('status', (e) => this.bar.renderStatus(e.detail.status));
    model.addEventListener('supervision', (e) => this.onSupervision(e.detail));
    session().then((s) => {
      if (s && Array.isArray(s.permissions) && s.permissions.includes('chats.supervise')) {
        this.supervise = new SupervisePanel(model, conn);
        this.side.append(this.supervise.el);
      }
    });
    conn.addEventListener('state', (e) => this.renderConn(e.detail));
    if (visitors) {
      // Frames come for every visitor on the website: only those in chats listed here matter.
      visitors.addEventListener('visitor', (e) => {
        const it = this.visitorItem(e.detail.visitor);
        if (it) it.visitorPanel.setLive(e.detail.visitor);
      });
      visitors.addEventListener('left', (e) => {
        const it = this.visitorItem(e.detail.visitor);
        if (it) it.visitorPanel.setLeft(e.detail.visitor);
      });
    }

    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.selected !== null) {
        this.model.markRead(this.selected);
      }
    });
    window.addEventListener('beforeunload', (e) => {
      if (this.model.hasUndelivered() || this.uploads.sending()) {
        e.preventDefault();
        e.returnValue = '';
      }
    });
    setInterval(() => this.queue.renderWaitTimes(), 10000);

    this.renderConn({ state: conn.state, retryAt: conn.retryAt });
    this.bar.renderStatus(model.status);
    this.queue.render();
    this.renderEnabled();
    this.renderSelection();
    this.composer.canned.load();
  }

  buildGrid() {
    this.mineTitle = h('h2', { id: 'mine-title', tabindex: '-1' });
    this.mineEmpty = h('p', { class: 'empty', text: t('dashboard.mine.empty') });
    this.mineList = h('ul', { class: 'chat-list', 'aria-labelledby': 'mine-title' });

    this.noneEl = h('p', { class: 'conv-none', text: t('dashboard.conversation.none') });
    this.panels = h('div', { class: 'conv-panels' });

    this.side = h(
      'div',
      { class: 'chats-side' },
      this.queue.el,
      h(
        'section',
        { class: 'panel mine-panel', 'aria-labelledby': 'mine-title' },
        this.mineTitle,
        this.mineEmpty,
        this.mineList,
      ),
    );
    return h(
      'div',
      { class: 'chats-grid' },
      this.side,
      h(
        'section',
        { class: 'panel conv-pane', 'aria-label': t('dashboard.conversation.label') },
        this.noneEl,
        this.panels,
        this.composer.el,
      ),
    );
  }

  /** A supervisor watches, stopped watching or took over one of my chats: shown in it. */
  onSupervision(f) {
    const it = this.items.get(f.conversation_id);
    if (!it) return;
    const vars = { name: f.supervisor_name || '' };
    if (f.action === 'watching') {
      it.supervision.textContent = t('dashboard.supervision.watching', vars);
      it.supervision.hidden = false;
      this.announce(t('dashboard.supervision.watching', vars));
    } else if (f.action === 'stopped') {
      it.supervision.hidden = true;
      this.announce(t('dashboard.supervision.stopped', vars));
    } else if (f.action === 'took_over') {
      it.supervision.hidden = true;
      // The chat leaves my list next ("transferred"): its panel says who took it.
      this.model.transferring.set(f.conversation_id, t('dashboard.supervision.took_over', vars));
      this.announce(t('dashboard.supervision.took_over', vars));
    }
  }

  // ----- connection, errors, announcements -----

  renderConn(detail) {
    this.bar.renderConn(detail);
    this.renderEnabled();
  }

  showError(code, message) {
    const text = errorText(code, message);
    this.alert.show(text);
    return text;
  }

  /** A short polite announcement for screen readers (e.g. a chat handed to me). */
  announce(text) {
    if (!this.announcer) {
      this.announcer = h('div', { class: 'vh', 'aria-live': 'polite', 'aria-atomic': 'true' });
      document.body.append(this.announcer);
    }
    this.announcer.textContent = '';
    setTimeout(() => {
      this.announcer.textContent = text;
    }, 50);
  }

  /** Buttons that need the socket look and announce themselves disabled while it is down. */
  renderEnabled() {
    const on = this.conn.open;
    this.queue.setEnabled(on);
    for (const it of this.items.values()) {
      setDisabled(it.closeBtn, !on);
      this.transfers.setEnabled(it, on);
    }
  }

  // ----- my chats -----

  onReady({ first }) {
    if (first && this.selected === null) {
      const open = [...this.model.convs.values()].find((c) => c.status === 'open');
      if (open) this.select(open.id, { focus: false });
    }
    this.renderMineTitle();
  }

  renderMineTitle() {
    const n = [...this.model.convs.values()].filter((c) => c.status === 'open').length;
    this.mineTitle.replaceChildren(
      t('dashboard.mine.title'),
      ' ',
      h('span', { class: 'count', text: `(${formatNumber(n)})` }),
    );
    this.mineEmpty.hidden = this.model.convs.size > 0;
  }

  convName(conv) {
    return conv.visitorName || t('dashboard.visitor_number', { id: conv.id });
  }

  onConv({ conv, created, acceptedHere, handedToMe }) {
    let it = this.items.get(conv.id);
    if (!it) it = this.buildItem(conv);
    const name = this.convName(conv);
    const closed = conv.status !== 'open';
    it.name.textContent = name;
    it.title.textContent = name;
    it.sub.textContent = [conv.visitorEmail, t('dashboard.conversation.number', { id: conv.id })]
      .filter(Boolean)
      .join(' · ');
    it.log.setAttribute('aria-label', t('dashboard.conversation.log_label', { name }));
    const fields = parseFields(conv.fields);
    renderFields(it.fields, fields);
    it.visitorPanel.setFields(fields);
    it.state.hidden = !closed;
    it.li.classList.toggle('closed', closed);
    it.panel.classList.toggle('closed', closed);
    it.ended.hidden = !closed;
    it.ended.textContent =
      conv.endReason === 'transferred'
        ? conv.transferredTo || t('dashboard.conversation.transferred')
        : t(ENDED[conv.endReason] || 'dashboard.conversation.ended');
    const closeHadFocus = hasFocus(it.closeBtn) || hasFocus(it.transferBtn) || hasFocus(it.transferPanel);
    it.closeBtn.hidden = closed;
    it.transferBtn.hidden = closed;
    if (closed) this.transfers.hide(it, { focus: false });
    it.dismissBtn.hidden = !closed;
    if (closed && closeHadFocus) it.dismissBtn.focus();
    if (closed) this.logs.hideTyping(conv);
    if (handedToMe) this.announce(t('dashboard.announce.handed_to_me', { name }));
    this.renderMineTitle();
    this.logs.follow(it);
    if (acceptedHere || (created && this.selected === null)) {
      this.select(conv.id, { focus: acceptedHere });
    } else if (this.selected === conv.id) {
      this.renderSelection();
    }
  }

  buildItem(conv) {
    const it = {
      name: h('span', { class: 'chat-name' }),
      state: h('span', { class: 'chat-state tag', text: t('dashboard.mine.ended'), hidden: true }),
      unread: h('span', { class: 'unread-badge', hidden: true }),
      title: h('h2', { class: 'conv-title' }),
      sub: h('p', { class: 'conv-sub' }),
      fields: h('dl', { class: 'conv-fields', 'aria-label': t('dashboard.conversation.form_values'), hidden: true }),
      ended: h('p', { class: 'conv-ended', hidden: true }),
      supervision: h('p', { class: 'conv-supervision', role: 'status', hidden: true }),
      log: h('div', { class: 'log', role: 'log', 'aria-live': 'polite', tabindex: '0' }),
      typing: h('p', { class: 'typing', hidden: true }),
      stick: true,
    };
    it.button = h(
      'button',
      { type: 'button', class: 'chat-item', onclick: () => this.select(conv.id, { focus: false }) },
      it.name,
      it.state,
      it.unread,
    );
    it.li = h('li', { 'data-id': conv.id }, it.button);
    it.closeBtn = h('button', {
      type: 'button',
      class: 'btn-danger',
      text: t('dashboard.conversation.close'),
      onclick: () => {
        if (it.closeBtn.getAttribute('aria-disabled') === 'true' || !this.model.close(conv.id)) {
          this.showError('offline', t('dashboard.error.offline'));
        }
      },
    });
    it.dismissBtn = h('button', {
      type: 'button',
      class: 'btn-secondary',
      hidden: true,
      text: t('dashboard.conversation.dismiss'),
      onclick: () => this.model.remove(conv.id),
    });
    it.id = conv.id;
    this.transfers.build(it);
    this.blocks.build(it);
    it.visitorPanel = new ChatVisitorPanel(conv.id, () => this.model.serverNow());
    const live = this.visitors ? this.visitors.byConversation(conv.id) : null;
    if (live) it.visitorPanel.setLive(live);
    // Fetched for every chat of mine (a handful): the earlier chats and pages of visitors who
    // have left come only from there.
    it.visitorPanel.load();
    it.lookup = new LookupPanel(conv.id);
    it.lookup.load();
    it.panel = h(
      'div',
      { class: 'conv', 'data-id': conv.id, hidden: true },
      h(
        'div',
        { class: 'conv-head' },
        h('div', { class: 'conv-who' }, it.title, it.sub, it.fields),
        h('div', { class: 'conv-actions' }, it.transferBtn, it.blockBtn, it.closeBtn, it.dismissBtn),
      ),
      it.transferPanel,
      it.blockPanel,
      it.supervision,
      it.ended,
      it.visitorPanel.el,
      it.lookup.el,
      it.log,
      it.typing,
    );
    it.log.addEventListener('scroll', () => {
      if (it.panel.hidden) return;
      it.stick = it.log.scrollHeight - it.log.scrollTop - it.log.clientHeight < STICK_PX;
    });
    if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.logs.follow(it)).observe(it.log);
    this.mineList.append(it.li);
    this.panels.append(it.panel);
    this.items.set(conv.id, it);
    setDisabled(it.closeBtn, !this.conn.open);
    return it;
  }

  /** The chat of ours a live visitor is in, if any. */
  visitorItem(v) {
    return v && v.chat ? this.items.get(v.chat.conversationId) || null : null;
  }

  onRemoved(id) {
    const it = this.items.get(id);
    if (!it) return;
    const hadFocus = hasFocus(it.li) || hasFocus(it.panel);
    const ids = [...this.items.keys()];
    const idx = ids.indexOf(id);
    it.li.remove();
    it.panel.remove();
    this.items.delete(id);
    this.logs.forget(id);
    this.composer.forget(id);
    this.uploads.forget(id);
    this.renderMineTitle();
    if (this.selected === id) {
      const rest = ids.filter((x) => x !== id && this.items.has(x));
      const next = rest[Math.min(idx, rest.length - 1)];
      this.selected = null;
      if (next !== undefined) this.select(next, { focus: false });
      else this.renderSelection();
    }
    if (hadFocus) {
      const sel = this.selected !== null ? this.items.get(this.selected) : null;
      (sel ? sel.button : this.mineTitle).focus();
    }
  }

  select(id, { focus }) {
    if (!this.items.has(id)) return;
    this.composer.switchChat(this.selected, id);
    this.selected = id;
    this.renderSelection();
    if (document.visibilityState === 'visible') this.model.markRead(id);
    const it = this.items.get(id);
    it.visitorPanel.load(); // a no-op once loaded; tries again after a failure
    it.lookup.load();
    this.logs.follow(it);
    if (focus) (this.composer.reply.disabled ? it.log : this.composer.reply).focus();
  }

  renderSelection() {
    for (const [id, it] of this.items) {
      const on = id === this.selected;
      it.panel.hidden = !on;
      if (on) it.button.setAttribute('aria-current', 'true');
      else it.button.removeAttribute('aria-current');
    }
    const conv = this.selected !== null ? this.model.convs.get(this.selected) : null;
    this.noneEl.hidden = !!conv;
    const usable = !!conv && conv.status === 'open';
    const hadFocus = hasFocus(this.composer.el);
    this.composer.setUsable(usable);
    if (hadFocus && !usable && conv) {
      const it = this.items.get(conv.id);
      (it.dismissBtn.hidden ? it.log : it.dismissBtn).focus();
    }
  }

  renderUnread(conv) {
    const it = this.items.get(conv.id);
    if (!it) return;
    it.unread.hidden = conv.unread === 0;
    it.unread.replaceChildren(
      h('span', { 'aria-hidden': 'true', text: formatNumber(conv.unread) }),
      srOnly(tn('dashboard.mine.unread', conv.unread)),
    );
  }

  // ----- messages -----

  onMessage({ conv, msg, live }) {
    if (!this.items.has(conv.id)) return;
    this.logs.onMessage({ conv, msg, live });
    // My upload is in the log now: its placeholder can go.
    if (msg.file) this.uploads.arrived(conv.id, msg.seq);
    if (live && msg.author === 'visitor') {
      if (this.selected === conv.id && document.visibilityState === 'visible') this.model.markRead(conv.id);
      else this.renderUnread(conv);
    }
  }
}
