// The Chats section: connection state, agent status, the queue of waiting chats, my open chats,
// the selected conversation's log, the reply box. All visitor-supplied text goes through
// textContent (see dom.js); nothing here parses HTML.

import { h, srOnly, hasFocus } from './dom.js';
import { t, tn, has, formatDuration, formatTime, formatNumber, formatBytes } from './i18n.js';
import {
  soundEnabled,
  setSoundEnabled,
  notificationPermission,
  requestNotifications,
  chime,
} from './alerts.js';

const KNOWN_ERRORS = new Set([
  'not_found',
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

export function mountChats(root, model, conn) {
  return new ChatsView(root, model, conn);
}

class ChatsView {
  constructor(root, model, conn) {
    this.model = model;
    this.conn = conn;
    this.selected = null;
    /** id → {li, button, state, unread, panel, head…} */
    this.items = new Map();
    /** queue id → {li, name, wait, offer, button} */
    this.queueItems = new Map();
    /** client_id → element */
    this.pendingEls = new Map();
    this.drafts = new Map();
    this.typingTimers = new Map();

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
    model.addEventListener('message', (e) => this.onMessage(e.detail));
    model.addEventListener('pending', (e) => this.onPending(e.detail.p));
    model.addEventListener('ack', (e) => this.onAck(e.detail));
    model.addEventListener('typing', (e) => this.onTyping(e.detail.conv));
    model.addEventListener('unread', (e) => this.renderUnread(e.detail.conv));
    model.addEventListener('error', (e) => this.showError(e.detail.code, e.detail.message));
    model.addEventListener('status', (e) => {
      this.statusSelect.value = e.detail.status;
    });
    conn.addEventListener('state', (e) => this.renderConn(e.detail));

    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.selected !== null) {
        this.model.markRead(this.selected);
      }
    });
    window.addEventListener('beforeunload', (e) => {
      if (this.model.hasUndelivered()) {
        e.preventDefault();
        e.returnValue = '';
      }
    });
    setInterval(() => this.renderWaitTimes(), 10000);

    this.renderConn({ state: conn.state, retryAt: conn.retryAt });
    this.statusSelect.value = model.status;
    this.renderQueue();
    this.renderSelection();
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
    this.sendBtn = h('button', { type: 'submit', text: t('dashboard.reply.send') });
    this.replyForm = h(
      'form',
      { class: 'reply', onsubmit: (e) => this.onSubmit(e) },
      h('label', { for: 'reply-text', text: t('dashboard.reply.label') }),
      this.reply,
      h(
        'div',
        { class: 'reply-row' },
        h('p', { id: 'reply-hint', class: 'hint', text: t('dashboard.reply.hint') }),
        this.sendBtn,
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
    const text = KNOWN_ERRORS.has(code) && has(key) ? t(key) : message || t('dashboard.error.unknown');
    this.alertText.textContent = text;
    this.alertWrap.dataset.empty = 'false';
    this.alertDismiss.hidden = false;
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
    for (const it of this.items.values()) setDisabled(it.closeBtn, off);
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

  onConv({ conv, created, acceptedHere }) {
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
          ? t('dashboard.conversation.transferred')
          : t('dashboard.conversation.ended');
    const closeHadFocus = hasFocus(it.closeBtn);
    it.closeBtn.hidden = closed;
    it.dismissBtn.hidden = !closed;
    if (closed && closeHadFocus) it.dismissBtn.focus();
    if (closed) this.hideTyping(conv);
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
    it.panel = h(
      'div',
      { class: 'conv', 'data-id': conv.id, hidden: true },
      h(
        'div',
        { class: 'conv-head' },
        h('div', { class: 'conv-who' }, it.title, it.sub),
        h('div', { class: 'conv-actions' }, it.closeBtn, it.dismissBtn),
      ),
      it.ended,
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
    if (changed) this.reply.value = this.drafts.get(id) || '';
    this.renderSelection();
    if (document.visibilityState === 'visible') this.model.markRead(id);
    const it = this.items.get(id);
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

  authorName(conv, msg) {
    if (msg.author === 'visitor') return this.convName(conv);
    if (msg.author === 'agent') return msg.authorName || this.model.myName;
    return '';
  }

  systemText(msg) {
    if (!/^[a-z_]+$/.test(msg.text)) return msg.text;
    // `accepted` and `transferred` name the agent when there is one.
    const key = msg.authorName ? `dashboard.system.${msg.text}` : `dashboard.system.${msg.text}_anon`;
    if (has(key)) return t(key, { name: msg.authorName });
    return has(`dashboard.system.${msg.text}`) ? t(`dashboard.system.${msg.text}`, { name: '' }) : msg.text;
  }

  buildMsg(conv, msg) {
    const at = new Date(msg.at * 1000 - this.model.clockOffset);
    const time = h('time', { datetime: at.toISOString(), text: formatTime(at) });
    const el = h('div', { class: `msg msg-${msg.author}`, 'data-seq': msg.seq });
    if (msg.author === 'system') {
      el.append(h('p', { class: 'msg-system-text' }, h('span', { text: this.systemText(msg) }), ' ', time));
    } else {
      el.append(
        h('p', { class: 'msg-meta' }, h('span', { class: 'msg-author', text: this.authorName(conv, msg) }), ' ', time),
        msg.file
          ? h(
              'p',
              { class: 'msg-file' },
              h('a', { href: `/api/files/${msg.file.id}`, download: msg.file.name || true, text: msg.file.name || t('dashboard.message.file') }),
              ' ',
              h('span', { class: 'msg-file-size', text: `(${formatBytes(msg.file.size)})` }),
            )
          : h('p', { class: 'msg-text', text: msg.text }),
      );
    }
    return el;
  }

  /** Keeps a log that was at its end at its end (new entries, a note above it, a resize). */
  follow(it) {
    if (it.stick && !it.panel.hidden) it.log.scrollTop = it.log.scrollHeight;
  }

  /** Inserts in seq order; pending replies (no seq yet) stay at the end. */
  insert(it, el, seq) {
    const followBefore = it.stick || it.panel.hidden;
    let before = null;
    let node = it.log.lastElementChild;
    while (node) {
      const s = node.dataset.seq ? Number(node.dataset.seq) : Infinity;
      if (s < seq) break;
      before = node;
      node = node.previousElementSibling;
    }
    it.log.insertBefore(el, before);
    if (followBefore && !it.panel.hidden) it.log.scrollTop = it.log.scrollHeight;
  }

  onMessage({ conv, msg, live }) {
    const it = this.items.get(conv.id);
    if (!it) return;
    // A chat's history arriving in one go is not news: keep screen readers from reading it all.
    if (!live) it.log.setAttribute('aria-live', 'off');
    this.insert(it, this.buildMsg(conv, msg), msg.seq);
    if (msg.author === 'visitor') this.hideTyping(conv);
    if (live && msg.author === 'visitor') {
      if (this.selected === conv.id && document.visibilityState === 'visible') this.model.markRead(conv.id);
      else this.renderUnread(conv);
    }
  }

  onPending(p) {
    const conv = this.model.convs.get(p.convId);
    const it = this.items.get(p.convId);
    if (!conv || !it) return;
    let el = this.pendingEls.get(p.clientId);
    if (!el) {
      el = h(
        'div',
        { class: 'msg msg-agent msg-pending' },
        h(
          'p',
          { class: 'msg-meta' },
          h('span', { class: 'msg-author', text: this.model.myName }),
          ' ',
          h('span', { class: 'msg-state', text: t('dashboard.reply.sending') }),
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
      el.querySelector('.msg-state').textContent = t('dashboard.reply.failed');
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
    const prev = el.previousElementSibling;
    if (prev && prev.dataset.seq && Number(prev.dataset.seq) > msg.seq) {
      el.remove();
      this.insert(it, el, msg.seq);
    }
  }

  onTyping(conv) {
    const it = this.items.get(conv.id);
    if (!it) return;
    it.typing.textContent = t('dashboard.conversation.typing', { name: this.convName(conv) });
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
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    this.replyForm.requestSubmit();
  }

  onReplyInput() {
    if (this.selected === null) return;
    this.drafts.set(this.selected, this.reply.value);
    if (this.reply.value.trim()) this.model.typing(this.selected);
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
    if (this.model.sendMessage(this.selected, text)) {
      this.reply.value = '';
      this.drafts.delete(this.selected);
    }
    this.reply.focus();
  }
}

/** Disabled for the user (announced, not clickable) while staying focusable. */
function setDisabled(button, off) {
  if (off) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
}
