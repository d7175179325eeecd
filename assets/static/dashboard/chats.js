// The Chats section: connection state, agent status, the queue of waiting chats, my open chats,
// the selected conversation's log with internal notes, the reply box (replies, notes, canned
// responses, files), transfers. All visitor-supplied text goes through textContent (see
// dom.js); nothing here parses HTML.

import { h, srOnly, hasFocus } from './dom.js';
import { t, tn, has, formatDuration, formatNumber, formatBytes } from './i18n.js';
import { buildEntry, buildNote } from './messages.js';
import { CannedStore, CannedSuggest } from './canned.js';
import { request } from './api.js';
import { newClientId } from './model.js';
import { ChatVisitorPanel } from './chat-visitor.js';
import {
  soundEnabled,
  setSoundEnabled,
  notificationPermission,
  requestNotifications,
  chime,
} from './alerts.js';

const KNOWN_ERRORS = new Set([
  'not_found',
  'agent_unavailable',
  'already_taken',
  'at_capacity',
  'rate_limited',
  'busy',
  'empty_message',
  'message_too_long',
  'invalid_frame',
  'invalid_client_id',
  'invalid_input',
  'not_stored',
  'internal_error',
]);

/** Within this many pixels of the end, a log follows new messages. */
const STICK_PX = 48;
/** What the server takes (docs/protocol.md); the type is decided from the bytes there. */
const FILE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf'];
const FILE_MAX_BYTES = 10 * 1024 * 1024;
/** The typing preview shows the end of long drafts. */
const DRAFT_SHOWN_CHARS = 280;

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
    /** id → {li, button, state, unread, panel, head…} */
    this.items = new Map();
    /** queue id → {li, name, wait, offer, button} */
    this.queueItems = new Map();
    /** client_id → element */
    this.pendingEls = new Map();
    this.drafts = new Map();
    /** conversation id → true while the reply box writes internal notes */
    this.noteModes = new Map();
    this.typingTimers = new Map();
    /** client_id → {convId, file, el, state, seq} of file uploads */
    this.uploads = new Map();
    /** departments for transfers: null until loaded */
    this.departments = null;
    this.departmentsFailed = false;
    this.canned = new CannedStore();

    root.replaceChildren(this.buildBar(), this.buildAlert(), this.buildGrid());
    root.classList.add('chats-app');

    model.addEventListener('ready', (e) => this.onReady(e.detail));
    model.addEventListener('queue', () => {
      this.renderQueue();
      // Replays after `hello`/`accept` are over: from now on new entries are announced.
      for (const it of this.items.values()) it.log.setAttribute('aria-live', 'polite');
    });
    model.addEventListener('conv', (e) => this.onConv(e.detail));
    model.addEventListener('removed', (e) => this.onRemoved(e.detail.id));
    model.addEventListener('reset', (e) => this.onReset(e.detail.conv));
    model.addEventListener('message', (e) => this.onMessage(e.detail));
    model.addEventListener('note', (e) => this.onNote(e.detail));
    model.addEventListener('pending', (e) => this.onPending(e.detail.p));
    model.addEventListener('ack', (e) => this.onAck(e.detail));
    model.addEventListener('noted', (e) => this.onNoted(e.detail));
    model.addEventListener('agents', () => this.renderTransferTargets());
    model.addEventListener('transfer', (e) => this.onTransferDone(e.detail));
    model.addEventListener('typing', (e) => this.onTyping(e.detail.conv));
    model.addEventListener('unread', (e) => this.renderUnread(e.detail.conv));
    model.addEventListener('error', (e) => {
      // A refused transfer is told in its own panel (see onTransferDone).
      if (e.detail.transfer && [...this.items.values()].some((it) => !it.transferPanel.hidden)) return;
      this.showError(e.detail.code, e.detail.message);
    });
    model.addEventListener('status', (e) => {
      this.statusSelect.value = e.detail.status;
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
      if (this.model.hasUndelivered() || [...this.uploads.values()].some((u) => u.state === 'sending')) {
        e.preventDefault();
        e.returnValue = '';
      }
    });
    setInterval(() => this.renderWaitTimes(), 10000);

    this.renderConn({ state: conn.state, retryAt: conn.retryAt });
    this.statusSelect.value = model.status;
    this.renderQueue();
    this.renderSelection();
    this.canned.load();
  }

  // ----- building -----

  buildBar() {
    this.connText = h('span', { class: 'conn-text', text: t('dashboard.conn.connecting') });
    this.connEl = h(
      'p',
      { class: 'conn', role: 'status', 'data-state': 'connecting' },
      h('span', { class: 'conn-dot', 'aria-hidden': 'true' }),
      this.connText,
    );
    this.reconnectBtn = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      hidden: true,
      text: t('dashboard.conn.retry_now'),
      onclick: () => {
        if (this.reconnectBtn.getAttribute('aria-disabled') !== 'true') this.conn.retryNow();
      },
    });

    this.statusSelect = h(
      'select',
      { id: 'agent-status', onchange: () => this.model.setStatus(this.statusSelect.value) },
      ['online', 'away', 'offline'].map((s) =>
        h('option', { value: s, text: t(`dashboard.status.${s}`) }),
      ),
    );

    const sound = h('input', {
      type: 'checkbox',
      id: 'sound-toggle',
      onchange: () => {
        setSoundEnabled(sound.checked);
        if (sound.checked) chime(); // the click unlocked audio: a sample of the chime
      },
    });
    sound.checked = soundEnabled();

    this.notifyBtn = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      text: t('dashboard.notify.enable'),
      onclick: async () => {
        await requestNotifications();
        const hadFocus = hasFocus(this.notifyBtn);
        this.renderNotify();
        // The button goes away once the browser has an answer: keep focus nearby.
        if (hadFocus && this.notifyBtn.hidden) this.statusSelect.focus();
      },
    });
    this.notifyNote = h('span', { class: 'bar-note' });
    this.renderNotify();

    return h(
      'div',
      { class: 'chats-bar' },
      h('div', { class: 'bar-group' }, this.connEl, this.reconnectBtn),
      h(
        'div',
        { class: 'bar-group' },
        h('label', { for: 'agent-status', text: t('dashboard.status.label') }),
        this.statusSelect,
      ),
      h(
        'div',
        { class: 'bar-group' },
        sound,
        h('label', { for: 'sound-toggle', text: t('dashboard.sound.label') }),
      ),
      h('div', { class: 'bar-group' }, this.notifyBtn, this.notifyNote),
    );
  }

  buildAlert() {
    this.alertText = h('p', { class: 'alert-text' });
    // The role="alert" region exists from the start; only its content changes.
    this.alertBox = h('div', { class: 'alert-box', role: 'alert' }, this.alertText);
    this.alertDismiss = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      hidden: true,
      text: t('dashboard.error.dismiss'),
      onclick: () => this.clearError(),
    });
    this.alertWrap = h('div', { class: 'alert-wrap', 'data-empty': 'true' }, this.alertBox, this.alertDismiss);
    return this.alertWrap;
  }

  buildGrid() {
    this.queueTitle = h('h2', { id: 'queue-title', tabindex: '-1' });
    this.queueEmpty = h('p', { class: 'empty', text: t('dashboard.queue.empty') });
    this.queueList = h('ul', { class: 'queue-list', 'aria-labelledby': 'queue-title' });

    this.mineTitle = h('h2', { id: 'mine-title', tabindex: '-1' });
    this.mineEmpty = h('p', { class: 'empty', text: t('dashboard.mine.empty') });
    this.mineList = h('ul', { class: 'chat-list', 'aria-labelledby': 'mine-title' });

    this.noneEl = h('p', { class: 'conv-none', text: t('dashboard.conversation.none') });
    this.panels = h('div', { class: 'conv-panels' });

    this.reply = h('textarea', {
      id: 'reply-text',
      rows: '3',
      maxlength: '4000',
      'aria-describedby': 'reply-hint',
      onkeydown: (e) => this.onReplyKey(e),
      oninput: () => this.onReplyInput(),
    });
    this.suggest = new CannedSuggest(this.reply, this.canned, (text) => this.insertCanned(text));
    this.replyLabel = h('label', { for: 'reply-text', text: t('dashboard.reply.label') });
    this.replyHint = h('p', { id: 'reply-hint', class: 'hint', text: t('dashboard.reply.hint') });
    this.noteToggle = h('input', {
      type: 'checkbox',
      id: 'note-toggle',
      'aria-describedby': 'note-toggle-hint',
      onchange: () => this.setNoteMode(this.noteToggle.checked),
    });
    this.sendBtn = h('button', { type: 'submit', text: t('dashboard.reply.send') });
    this.fileInput = h('input', {
      type: 'file',
      id: 'file-input',
      hidden: true, // the "Send file" button opens it
      multiple: true,
      accept: FILE_TYPES.join(','),
      onchange: () => this.onFilesChosen(),
    });
    this.fileBtn = h('button', {
      type: 'button',
      class: 'btn-secondary',
      text: t('dashboard.file.send'),
      'aria-describedby': 'file-hint',
      onclick: () => {
        if (this.selected !== null) this.fileInput.click();
      },
    });
    this.replyForm = h(
      'form',
      { class: 'reply', onsubmit: (e) => this.onSubmit(e) },
      h(
        'div',
        { class: 'reply-head' },
        this.replyLabel,
        h(
          'span',
          { class: 'note-switch' },
          this.noteToggle,
          h('label', { for: 'note-toggle', text: t('dashboard.note.toggle') }),
          h('span', { id: 'note-toggle-hint', class: 'vh', text: t('dashboard.note.toggle_hint') }),
        ),
      ),
      this.reply,
      ...this.suggest.elements(),
      h(
        'div',
        { class: 'reply-row' },
        this.replyHint,
        h(
          'div',
          { class: 'reply-tools' },
          this.fileBtn,
          h('span', { id: 'file-hint', class: 'vh', text: t('dashboard.file.hint') }),
          this.fileInput,
          this.sendBtn,
        ),
      ),
    );

    return h(
      'div',
      { class: 'chats-grid' },
      h(
        'div',
        { class: 'chats-side' },
        h(
          'section',
          { class: 'panel queue-panel', 'aria-labelledby': 'queue-title' },
          this.queueTitle,
          this.queueEmpty,
          this.queueList,
        ),
        h(
          'section',
          { class: 'panel mine-panel', 'aria-labelledby': 'mine-title' },
          this.mineTitle,
          this.mineEmpty,
          this.mineList,
        ),
      ),
      h(
        'section',
        { class: 'panel conv-pane', 'aria-label': t('dashboard.conversation.label') },
        this.noneEl,
        this.panels,
        this.replyForm,
      ),
    );
  }

  // ----- connection, status, notifications, errors -----

  renderConn({ state }) {
    this.connEl.dataset.state = state;
    const text = t(`dashboard.conn.${state}`);
    // Each retry restates the state: only a real change should reach screen readers.
    if (this.connText.textContent !== text) this.connText.textContent = text;
    this.reconnectBtn.hidden = state === 'connected' || state === 'signed_out';
    // While an attempt is under way the button stays (and keeps focus) but does nothing.
    setDisabled(this.reconnectBtn, !!this.conn.ws);
    this.renderEnabled();
  }

  renderNotify() {
    const p = notificationPermission();
    this.notifyBtn.hidden = p !== 'default';
    this.notifyNote.textContent =
      p === 'granted' ? t('dashboard.notify.on') : p === 'denied' ? t('dashboard.notify.blocked') : '';
    this.notifyNote.hidden = !this.notifyNote.textContent;
  }

  showError(code, message) {
    const key = `dashboard.error.${code}`;
    const text = errorText(code, message);
    this.alertText.textContent = text;
    this.alertWrap.dataset.empty = 'false';
    this.alertDismiss.hidden = false;
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

  clearError() {
    const hadFocus = hasFocus(this.alertWrap);
    this.alertText.textContent = '';
    this.alertWrap.dataset.empty = 'true';
    this.alertDismiss.hidden = true;
    if (hadFocus) this.reply.disabled ? this.mineTitle.focus() : this.reply.focus();
  }

  /** Buttons that need the socket look and announce themselves disabled while it is down. */
  renderEnabled() {
    const off = !this.conn.open;
    for (const q of this.queueItems.values()) setDisabled(q.button, off);
    for (const it of this.items.values()) {
      setDisabled(it.closeBtn, off);
      setDisabled(it.transferSubmit, off || this.model.transferring.has(it.id));
    }
  }

  // ----- queue -----

  renderQueue() {
    const waiting = this.model.queue;
    this.queueTitle.replaceChildren(
      t('dashboard.queue.title'),
      ' ',
      h('span', { class: 'count', text: `(${formatNumber(waiting.length)})` }),
    );
    this.queueEmpty.hidden = waiting.length > 0;

    const ids = new Set(waiting.map((w) => w.id));
    for (const [id, q] of this.queueItems) {
      if (ids.has(id)) continue;
      if (hasFocus(q.li)) {
        // Keep the keyboard user in the queue rather than dropping focus to the page.
        const next = waiting.find((w) => this.queueItems.has(w.id) && w.id !== id);
        (next ? this.queueItems.get(next.id).button : this.queueTitle).focus();
      }
      q.li.remove();
      this.queueItems.delete(id);
    }
    let prev = null;
    for (const w of waiting) {
      let q = this.queueItems.get(w.id);
      if (!q) q = this.buildQueueItem(w);
      q.entry = w;
      const name = w.visitorName || t('dashboard.visitor_number', { id: w.id });
      q.name.textContent = name;
      q.button.setAttribute('aria-label', t('dashboard.queue.accept_label', { name }));
      const mine = w.offeredTo !== null && w.offeredTo === this.model.agentId;
      q.offer.hidden = !mine;
      q.offerOther.hidden = mine || w.offeredTo === null;
      q.li.classList.toggle('offered', mine);
      this.renderWait(q);
      const want = prev ? prev.nextSibling : this.queueList.firstChild;
      if (want !== q.li) this.queueList.insertBefore(q.li, want);
      prev = q.li;
    }
    this.renderEnabled();
  }

  buildQueueItem(w) {
    const q = {
      entry: w,
      name: h('span', { class: 'q-name' }),
      wait: h('span', { class: 'q-wait' }),
      offer: h('span', { class: 'q-offer tag', text: t('dashboard.queue.offered_to_you') }),
      offerOther: h('span', { class: 'tag', text: t('dashboard.queue.offered_to_other') }),
      button: h('button', { type: 'button', class: 'q-accept', text: t('dashboard.queue.accept') }),
    };
    q.button.addEventListener('click', () => {
      if (q.button.getAttribute('aria-disabled') === 'true') {
        this.showError('offline', t('dashboard.error.offline'));
        return;
      }
      if (!this.model.accept(q.entry.id)) this.showError('offline', t('dashboard.error.offline'));
    });
    q.li = h(
      'li',
      { class: 'queue-item', 'data-id': w.id },
      h('div', { class: 'q-info' }, q.name, q.offer, q.offerOther, q.wait),
      q.button,
    );
    this.queueItems.set(w.id, q);
    return q;
  }

  renderWait(q) {
    const secs = Math.max(0, Math.floor(this.model.serverNow() - q.entry.since));
    q.wait.textContent =
      secs < 60
        ? t('dashboard.queue.waiting_short')
        : t('dashboard.queue.waiting_for', { duration: formatDuration(secs) });
  }

  renderWaitTimes() {
    for (const q of this.queueItems.values()) this.renderWait(q);
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
    it.state.hidden = !closed;
    it.li.classList.toggle('closed', closed);
    it.panel.classList.toggle('closed', closed);
    it.ended.hidden = !closed;
    it.ended.textContent =
      conv.endReason === 'offline'
        ? t('dashboard.conversation.ended_offline')
        : conv.endReason === 'transferred'
          ? conv.transferredTo || t('dashboard.conversation.transferred')
          : t('dashboard.conversation.ended');
    const closeHadFocus = hasFocus(it.closeBtn) || hasFocus(it.transferBtn) || hasFocus(it.transferPanel);
    it.closeBtn.hidden = closed;
    it.transferBtn.hidden = closed;
    if (closed) this.hideTransfer(it, { focus: false });
    it.dismissBtn.hidden = !closed;
    if (closed && closeHadFocus) it.dismissBtn.focus();
    if (closed) this.hideTyping(conv);
    if (handedToMe) this.announce(t('dashboard.announce.handed_to_me', { name }));
    this.renderMineTitle();
    this.follow(it);
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
      ended: h('p', { class: 'conv-ended', hidden: true }),
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
    this.buildTransfer(it);
    it.visitorPanel = new ChatVisitorPanel(conv.id, () => this.model.serverNow());
    const live = this.visitors ? this.visitors.byConversation(conv.id) : null;
    if (live) it.visitorPanel.setLive(live);
    // Fetched for every chat of mine (a handful): the earlier chats and pages of visitors who
    // have left come only from there.
    it.visitorPanel.load();
    it.panel = h(
      'div',
      { class: 'conv', 'data-id': conv.id, hidden: true },
      h(
        'div',
        { class: 'conv-head' },
        h('div', { class: 'conv-who' }, it.title, it.sub),
        h('div', { class: 'conv-actions' }, it.transferBtn, it.closeBtn, it.dismissBtn),
      ),
      it.transferPanel,
      it.ended,
      it.visitorPanel.el,
      it.log,
      it.typing,
    );
    it.log.addEventListener('scroll', () => {
      if (it.panel.hidden) return;
      it.stick = it.log.scrollHeight - it.log.scrollTop - it.log.clientHeight < STICK_PX;
    });
    if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.follow(it)).observe(it.log);
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
    clearTimeout(this.typingTimers.get(id));
    this.drafts.delete(id);
    this.noteModes.delete(id);
    for (const [cid, u] of this.uploads) if (u.convId === id) this.uploads.delete(cid);
    for (const [cid, el] of this.pendingEls) if (!el.isConnected) this.pendingEls.delete(cid);
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
    if (this.selected !== null && this.selected !== id) this.drafts.set(this.selected, this.reply.value);
    const changed = this.selected !== id;
    this.selected = id;
    if (changed) {
      this.reply.value = this.drafts.get(id) || '';
      this.suggest.close();
    }
    this.renderSelection();
    if (document.visibilityState === 'visible') this.model.markRead(id);
    const it = this.items.get(id);
    it.visitorPanel.load(); // a no-op once loaded; tries again after a failure
    this.follow(it);
    if (focus) (this.reply.disabled ? it.log : this.reply).focus();
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
    const hadFocus = hasFocus(this.replyForm);
    this.replyForm.hidden = !usable;
    this.reply.disabled = !usable;
    this.sendBtn.disabled = !usable;
    this.renderNoteMode();
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

  entryContext(conv) {
    return { visitorName: this.convName(conv), agentName: this.model.myName, clockOffset: this.model.clockOffset };
  }

  buildMsg(conv, msg) {
    return buildEntry(msg, this.entryContext(conv));
  }

  /** Keeps a log that was at its end at its end (new entries, a note above it, a resize). */
  follow(it) {
    if (it.stick && !it.panel.hidden) it.log.scrollTop = it.log.scrollHeight;
  }

  /**
   * Inserts a log entry (`data-seq`) or a note (`data-note`) in order; pending entries (neither
   * yet) stay at the end. Messages keep their seq order; notes, which have no seq, go after
   * the entries that are not newer than they are.
   */
  insert(it, el) {
    const followBefore = it.stick || it.panel.hidden;
    it.log.insertBefore(el, this.spot(it, el));
    if (followBefore && !it.panel.hidden) it.log.scrollTop = it.log.scrollHeight;
  }

  /** The node `el` belongs before (null: the end), `el` itself not counted. */
  spot(it, el) {
    const at = Number(el.dataset.at);
    const seq = el.dataset.seq ? Number(el.dataset.seq) : null;
    const noteId = el.dataset.note ? Number(el.dataset.note) : null;
    let before = null;
    for (let node = it.log.lastElementChild; node; node = node.previousElementSibling) {
      if (node === el) continue;
      const d = node.dataset;
      let stop = false;
      if (d.seq) stop = seq !== null ? Number(d.seq) < seq : Number(d.at) <= at;
      else if (d.note) stop = noteId !== null ? Number(d.note) < noteId : Number(d.at) <= at;
      if (stop) break;
      before = node;
    }
    return before;
  }

  /**
   * The server's log of this chat is not the one shown (a restore): its entries and notes go;
   * the whole log follows and is shown as it arrives. Replies, notes and files still being
   * sent stay at the end.
   */
  onReset(conv) {
    const it = this.items.get(conv.id);
    if (!it) return;
    for (const el of [...it.log.children]) if (el.dataset.seq || el.dataset.note) el.remove();
  }

  onMessage({ conv, msg, live }) {
    const it = this.items.get(conv.id);
    if (!it) return;
    // A chat's history arriving in one go is not news: keep screen readers from reading it all.
    if (!live) it.log.setAttribute('aria-live', 'off');
    else if (it.log.getAttribute('aria-live') === 'off') it.log.setAttribute('aria-live', 'polite');
    this.insert(it, this.buildMsg(conv, msg));
    if (msg.author === 'visitor') this.hideTyping(conv);
    if (msg.file) {
      // My upload is in the log now: its placeholder can go.
      for (const [cid, u] of this.uploads) {
        if (u.convId === conv.id && u.seq === msg.seq) {
          u.el.remove();
          this.uploads.delete(cid);
        }
      }
    }
    if (live && msg.author === 'visitor') {
      if (this.selected === conv.id && document.visibilityState === 'visible') this.model.markRead(conv.id);
      else this.renderUnread(conv);
    }
  }

  onNote({ conv, note, live }) {
    const it = this.items.get(conv.id);
    if (!it) return;
    if (!live) it.log.setAttribute('aria-live', 'off');
    this.insert(it, buildNote(note, this.entryContext(conv)));
  }

  onPending(p) {
    const conv = this.model.convs.get(p.convId);
    const it = this.items.get(p.convId);
    if (!conv || !it) return;
    let el = this.pendingEls.get(p.clientId);
    if (!el) {
      const note = p.kind === 'note';
      el = h(
        'div',
        { class: `msg ${note ? 'msg-note' : 'msg-agent'} msg-pending` },
        h(
          'p',
          { class: 'msg-meta' },
          note ? h('span', { class: 'tag note-tag', text: t('dashboard.note.tag') }) : null,
          note ? srOnly(t('dashboard.note.tag_sr')) : null,
          note ? ' ' : null,
          h('span', { class: 'msg-author', text: this.model.myName }),
          ' ',
          h('span', { class: 'msg-state', text: t(note ? 'dashboard.note.saving' : 'dashboard.reply.sending') }),
        ),
        h('p', { class: 'msg-text', text: p.text }),
      );
      this.pendingEls.set(p.clientId, el);
      it.log.append(el);
      it.log.scrollTop = it.log.scrollHeight;
      it.stick = true;
    }
    if (p.failed) {
      el.classList.add('msg-failed');
      el.querySelector('.msg-state').textContent = t(p.kind === 'note' ? 'dashboard.note.failed' : 'dashboard.reply.failed');
    }
  }

  onAck({ p, conv, msg }) {
    const el = this.pendingEls.get(p.clientId);
    this.pendingEls.delete(p.clientId);
    if (!el) return;
    const it = conv ? this.items.get(conv.id) : null;
    if (!msg || !it) {
      el.remove(); // a replayed copy is shown already
      return;
    }
    // Turn the pending entry into the stored one in place (screen readers heard it already).
    const done = this.buildMsg(conv, msg);
    el.replaceChildren(...done.childNodes);
    el.className = done.className;
    el.dataset.seq = String(msg.seq);
    el.dataset.at = String(msg.at);
    this.reposition(it, el);
  }

  onNoted({ p, conv, note }) {
    const el = this.pendingEls.get(p.clientId);
    this.pendingEls.delete(p.clientId);
    if (!el) return;
    const it = conv ? this.items.get(conv.id) : null;
    if (!note || !it) {
      el.remove(); // the replay after a reconnect has shown it already
      return;
    }
    const done = buildNote(note, this.entryContext(conv));
    el.replaceChildren(...done.childNodes);
    el.className = done.className;
    el.dataset.note = String(note.id);
    el.dataset.at = String(note.at);
    this.reposition(it, el);
  }

  /**
   * Puts a just-stored entry (pending until now) in its place, before replies still pending;
   * moved only when it is elsewhere (screen readers heard it already).
   */
  reposition(it, el) {
    const before = this.spot(it, el);
    if (before !== el.nextElementSibling) it.log.insertBefore(el, before);
  }

  onTyping(conv) {
    const it = this.items.get(conv.id);
    if (!it) return;
    const name = this.convName(conv);
    const draft = conv.typingText.trim();
    if (draft) {
      // The visitor's unsent draft (typing preview): as text, set apart, the end of long ones.
      const shown = [...draft].length > DRAFT_SHOWN_CHARS ? `…${[...draft].slice(-DRAFT_SHOWN_CHARS).join('')}` : draft;
      it.typing.replaceChildren(
        h('span', { class: 'typing-who', text: t('dashboard.conversation.typing_text', { name }) }),
        ' ',
        h('span', { class: 'typing-draft', text: shown }),
      );
    } else {
      it.typing.textContent = t('dashboard.conversation.typing', { name });
    }
    it.typing.hidden = false;
    clearTimeout(this.typingTimers.get(conv.id));
    const left = Math.max(0, conv.typingUntil - Date.now());
    this.typingTimers.set(
      conv.id,
      setTimeout(() => this.hideTyping(conv), left),
    );
  }

  hideTyping(conv) {
    const it = this.items.get(conv.id);
    clearTimeout(this.typingTimers.get(conv.id));
    if (it) it.typing.hidden = true;
  }

  // ----- reply -----

  onReplyKey(e) {
    if (this.suggest.onKey(e)) return;
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    this.replyForm.requestSubmit();
  }

  onReplyInput() {
    if (this.selected === null) return;
    this.drafts.set(this.selected, this.reply.value);
    // Writing a note is nothing the visitor should hear about.
    if (this.reply.value.trim() && !this.noteMode()) this.model.typing(this.selected);
  }

  insertCanned(text) {
    this.reply.value = text;
    this.reply.setSelectionRange(text.length, text.length);
    this.reply.focus();
    this.onReplyInput();
  }

  noteMode() {
    return this.selected !== null && this.noteModes.get(this.selected) === true;
  }

  setNoteMode(on) {
    if (this.selected === null) return;
    if (on) this.noteModes.set(this.selected, true);
    else this.noteModes.delete(this.selected);
    this.renderNoteMode();
  }

  /** The reply box in note mode looks and reads differently: notes never reach the visitor. */
  renderNoteMode() {
    const on = this.noteMode();
    this.noteToggle.checked = on;
    this.replyForm.classList.toggle('note-mode', on);
    this.replyLabel.textContent = t(on ? 'dashboard.note.label' : 'dashboard.reply.label');
    this.replyHint.textContent = t(on ? 'dashboard.note.hint' : 'dashboard.reply.hint');
    this.sendBtn.textContent = t(on ? 'dashboard.note.save' : 'dashboard.reply.send');
    // Files always go to the visitor: not offered while writing a note.
    const fileHadFocus = hasFocus(this.fileBtn);
    this.fileBtn.hidden = on;
    if (fileHadFocus && on) this.noteToggle.focus();
  }

  onSubmit(e) {
    e.preventDefault();
    const text = this.reply.value;
    if (this.selected === null || !text.trim()) {
      this.reply.focus();
      return;
    }
    if ([...text].length > 4000) {
      this.showError('message_too_long', '');
      return;
    }
    if (this.model.sendMessage(this.selected, text, this.noteMode() ? 'note' : 'message')) {
      this.reply.value = '';
      this.drafts.delete(this.selected);
    }
    this.reply.focus();
  }

  // ----- transfer -----

  buildTransfer(it) {
    const id = it.id;
    it.transferBtn = h('button', {
      type: 'button',
      class: 'btn-secondary',
      'aria-expanded': 'false',
      'aria-controls': `transfer-${id}`,
      text: t('dashboard.transfer.open'),
      onclick: () => (it.transferPanel.hidden ? this.showTransfer(it) : this.hideTransfer(it, { focus: true })),
    });
    it.transferSelect = h('select', { id: `transfer-target-${id}`, 'aria-describedby': `transfer-status-${id}` });
    it.transferSubmit = h('button', { type: 'submit', text: t('dashboard.transfer.submit') });
    it.transferStatus = h('p', { id: `transfer-status-${id}`, class: 'transfer-status', role: 'status' });
    it.transferPanel = h(
      'form',
      {
        id: `transfer-${id}`,
        class: 'transfer-panel',
        hidden: true,
        'aria-labelledby': `transfer-title-${id}`,
        onsubmit: (e) => this.onTransferSubmit(e, it),
        onkeydown: (e) => {
          if (e.key !== 'Escape') return;
          e.preventDefault();
          this.hideTransfer(it, { focus: true });
        },
      },
      h('h3', { id: `transfer-title-${id}`, class: 'transfer-title', text: t('dashboard.transfer.title') }),
      h(
        'div',
        { class: 'transfer-row' },
        h('label', { for: `transfer-target-${id}`, text: t('dashboard.transfer.to') }),
        it.transferSelect,
        it.transferSubmit,
        h('button', {
          type: 'button',
          class: 'btn-secondary',
          text: t('dashboard.transfer.cancel'),
          onclick: () => this.hideTransfer(it, { focus: true }),
        }),
      ),
      it.transferStatus,
    );
  }

  showTransfer(it) {
    it.transferPanel.hidden = false;
    it.transferBtn.setAttribute('aria-expanded', 'true');
    it.transferStatus.textContent = '';
    this.renderTransferTarget(it);
    this.loadDepartments();
    it.transferSelect.focus();
  }

  hideTransfer(it, { focus }) {
    if (it.transferPanel.hidden) return;
    const hadFocus = hasFocus(it.transferPanel);
    it.transferPanel.hidden = true;
    it.transferBtn.setAttribute('aria-expanded', 'false');
    it.transferStatus.textContent = '';
    if ((focus || hadFocus) && !it.transferBtn.hidden) it.transferBtn.focus();
  }

  /** Departments are fetched each time a transfer panel opens (they change rarely). */
  async loadDepartments() {
    const res = await request('GET', '/api/departments');
    if (res.ok && res.data && Array.isArray(res.data.departments)) {
      this.departments = res.data.departments
        .filter((d) => d && Number.isSafeInteger(d.id) && typeof d.name === 'string')
        .map((d) => ({ id: d.id, name: d.name }));
      this.departmentsFailed = false;
    } else if (this.departments === null) {
      this.departmentsFailed = true;
    }
    this.renderTransferTargets();
  }

  renderTransferTargets() {
    for (const it of this.items.values()) if (!it.transferPanel.hidden) this.renderTransferTarget(it);
  }

  /** The targets: connected colleagues (status, load) and departments (who is online there). */
  renderTransferTarget(it) {
    const prev = it.transferSelect.value;
    const me = this.model.agentId;
    const others = this.model.agents
      .filter((a) => a.id !== me)
      .sort((a, b) => (a.status === 'online' ? 0 : 1) - (b.status === 'online' ? 0 : 1) || a.name.localeCompare(b.name));
    const agentGroup = h('optgroup', { label: t('dashboard.transfer.agents') });
    if (!others.length) {
      agentGroup.append(h('option', { value: '', disabled: true, text: t('dashboard.transfer.no_agents') }));
    }
    for (const a of others) {
      const full = a.open >= a.capacity;
      const vars = {
        name: a.name || t('dashboard.transfer.agent_number', { id: a.id }),
        status: t(`dashboard.status.${a.status}`),
        open: formatNumber(a.open),
        capacity: formatNumber(a.capacity),
      };
      const key = a.status === 'online' && full ? 'dashboard.transfer.agent_full' : 'dashboard.transfer.agent_option';
      agentGroup.append(
        h('option', {
          value: `agent:${a.id}`,
          // The server takes only online agents with room (`agent_unavailable` otherwise).
          disabled: a.status !== 'online' || full,
          'data-label': vars.name,
          text: t(key, vars),
        }),
      );
    }
    const groups = [agentGroup];
    if (this.departmentsFailed || this.departments === null || this.departments.length) {
      const depGroup = h('optgroup', { label: t('dashboard.transfer.departments') });
      if (this.departments === null) {
        depGroup.append(
          h('option', {
            value: '',
            disabled: true,
            text: t(this.departmentsFailed ? 'dashboard.transfer.departments_failed' : 'dashboard.transfer.loading'),
          }),
        );
      } else {
        for (const d of this.departments) {
          const online = this.model.agents.filter(
            (a) => a.status === 'online' && a.open < a.capacity && a.departments.includes(d.id),
          ).length;
          depGroup.append(
            h('option', {
              value: `department:${d.id}`,
              'data-label': d.name,
              text: tn('dashboard.transfer.department_option', online, { name: d.name }),
            }),
          );
        }
      }
      groups.push(depGroup);
    }
    it.transferSelect.replaceChildren(
      h('option', { value: '', text: t('dashboard.transfer.choose') }),
      ...groups,
    );
    const keep = [...it.transferSelect.options].find((o) => o.value === prev && prev && !o.disabled);
    it.transferSelect.value = keep ? prev : '';
  }

  onTransferSubmit(e, it) {
    e.preventDefault();
    if (!this.conn.open) {
      it.transferStatus.textContent = t('dashboard.error.offline');
      return;
    }
    if (this.model.transferring.has(it.id)) return;
    const m = /^(agent|department):(\d+)$/.exec(it.transferSelect.value);
    if (!m) {
      it.transferStatus.textContent = t('dashboard.transfer.pick_first');
      it.transferSelect.focus();
      return;
    }
    const opt = it.transferSelect.selectedOptions[0];
    const name = (opt && opt.dataset.label) || '';
    const ok =
      m[1] === 'agent'
        ? this.model.transfer(it.id, { agent: Number(m[2]), label: t('dashboard.conversation.transferred_to', { name }) })
        : this.model.transfer(it.id, {
            department: Number(m[2]),
            label: t('dashboard.conversation.transferred_to_department', { name }),
          });
    if (!ok) {
      it.transferStatus.textContent = t('dashboard.error.offline');
      return;
    }
    setDisabled(it.transferSubmit, true);
    it.transferStatus.textContent = t('dashboard.transfer.sending');
  }

  /** A transfer was refused (or lost with the connection): the panel says so and stays. */
  onTransferDone({ convId, code }) {
    const it = this.items.get(convId);
    if (!it) return;
    setDisabled(it.transferSubmit, !this.conn.open);
    it.transferStatus.textContent = code ? errorText(code, '') : t('dashboard.transfer.not_done');
    if (!it.transferPanel.hidden) this.renderTransferTarget(it);
  }

  // ----- files -----

  onFilesChosen() {
    const files = [...(this.fileInput.files || [])];
    this.fileInput.value = '';
    if (this.selected === null) return;
    for (const f of files) this.startUpload(this.selected, f);
  }

  startUpload(convId, file) {
    const it = this.items.get(convId);
    const conv = this.model.convs.get(convId);
    if (!it || !conv || conv.status !== 'open') return;
    const name = file.name || t('dashboard.message.file');
    // Checked here to spare a pointless upload; the server decides from the bytes anyway.
    if (file.size > FILE_MAX_BYTES) {
      this.showError('file', t('dashboard.file.too_large', { name }));
      return;
    }
    if (file.type && !FILE_TYPES.includes(file.type)) {
      this.showError('file', t('dashboard.file.unsupported', { name }));
      return;
    }
    const u = { clientId: newClientId(), convId, file, name, state: 'sending', seq: null };
    u.stateEl = h('span', { class: 'msg-state' });
    u.progress = h('progress', { class: 'upload-progress', 'aria-hidden': 'true' });
    u.retryBtn = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      hidden: true,
      text: t('dashboard.file.retry'),
      'aria-label': t('dashboard.file.retry_label', { name }),
      onclick: () => {
        this.reply.focus();
        this.sendUpload(u);
      },
    });
    u.removeBtn = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      hidden: true,
      text: t('dashboard.file.remove'),
      'aria-label': t('dashboard.file.remove_label', { name }),
      onclick: () => {
        this.dropUpload(u);
        this.reply.focus();
      },
    });
    u.el = h(
      'div',
      { class: 'msg msg-agent msg-pending msg-upload' },
      h('p', { class: 'msg-meta' }, h('span', { class: 'msg-author', text: this.model.myName }), ' ', u.stateEl),
      h(
        'p',
        { class: 'msg-file' },
        h('span', { class: 'msg-file-name', text: name }),
        ' ',
        h('span', { class: 'msg-file-size', text: `(${formatBytes(file.size)})` }),
      ),
      u.progress,
      h('p', { class: 'upload-actions' }, u.retryBtn, u.removeBtn),
    );
    this.uploads.set(u.clientId, u);
    it.log.append(u.el);
    it.log.scrollTop = it.log.scrollHeight;
    it.stick = true;
    this.sendUpload(u);
  }

  renderUpload(u) {
    const failed = u.state === 'failed';
    u.el.classList.toggle('msg-failed', failed);
    u.stateEl.textContent = t(failed ? 'dashboard.file.failed' : 'dashboard.file.uploading');
    u.progress.hidden = failed;
    u.retryBtn.hidden = !failed;
    u.removeBtn.hidden = !failed;
  }

  dropUpload(u) {
    u.el.remove();
    this.uploads.delete(u.clientId);
  }

  async sendUpload(u) {
    u.state = 'sending';
    this.renderUpload(u);
    const q =
      `conversation_id=${encodeURIComponent(u.convId)}` +
      `&name=${encodeURIComponent(u.file.name)}&client_id=${encodeURIComponent(u.clientId)}`;
    // The same client_id on a retry: the server stores the file once.
    const res = await request('POST', `/api/files?${q}`, { body: u.file });
    if (!this.uploads.has(u.clientId)) return;
    if (res.ok) {
      const seq = res.data && Number.isSafeInteger(res.data.seq) ? res.data.seq : null;
      const conv = this.model.convs.get(u.convId);
      u.seq = seq;
      u.state = 'stored';
      // The file comes back as a message on this socket too; drop the placeholder then (or
      // now, if it came first).
      if (seq === null || (conv && conv.msgs.has(seq))) this.dropUpload(u);
      else setTimeout(() => this.uploads.has(u.clientId) && this.dropUpload(u), 10000);
      return;
    }
    const terminal = {
      413: 'dashboard.file.too_large',
      415: 'dashboard.file.unsupported',
      404: 'dashboard.file.not_found',
      409: 'dashboard.file.closed',
      400: 'dashboard.file.invalid',
      403: 'dashboard.file.refused',
    }[res.status];
    if (terminal) {
      this.dropUpload(u);
      this.showError('file', t(terminal, { name: u.name }));
      return;
    }
    // Network trouble, a busy or failing server: the agent may try again.
    u.state = 'failed';
    this.renderUpload(u);
    this.showError('file', t('dashboard.file.retry_hint', { name: u.name }));
  }
}

/** An error code in words: ours when we know it, else the server's message. */
function errorText(code, message) {
  const key = `dashboard.error.${code}`;
  return KNOWN_ERRORS.has(code) && has(key) ? t(key) : message || t('dashboard.error.unknown');
}

/** Disabled for the user (announced, not clickable) while staying focusable. */
function setDisabled(button, off) {
  if (off) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
}
