// The log of each open chat: entries in seq order, internal notes among them, replies and
// notes of this page at the end until they are stored, a `reset` (the log replaced), and the
// visitor's "is typing" line with the draft when the typing preview is on.

import { h, srOnly } from '../dom.js';
import { t } from '../i18n.js';
import { buildEntry, buildNote } from '../messages.js';

/** The typing preview shows the end of long drafts. */
const DRAFT_SHOWN_CHARS = 280;

export class LogView {
  /** view: the ChatsView (its items by conversation id, the model, conversation names). */
  constructor(view) {
    this.view = view;
    this.model = view.model;
    /** client_id → element of a reply or note not yet stored */
    this.pendingEls = new Map();
    /** conversation id → timer that hides the typing line */
    this.typingTimers = new Map();
  }

  item(convId) {
    return this.view.items.get(convId);
  }

  entryContext(conv) {
    return { visitorName: this.view.convName(conv), agentName: this.model.myName, clockOffset: this.model.clockOffset };
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
   * Puts a just-stored entry (pending until now) in its place, before replies still pending;
   * moved only when it is elsewhere (screen readers heard it already).
   */
  reposition(it, el) {
    const before = this.spot(it, el);
    if (before !== el.nextElementSibling) it.log.insertBefore(el, before);
  }

  /**
   * The server's log of this chat is not the one shown (a restore): its entries and notes go;
   * the whole log follows and is shown as it arrives. Replies, notes and files still being
   * sent stay at the end.
   */
  onReset(conv) {
    const it = this.item(conv.id);
    if (!it) return;
    for (const el of [...it.log.children]) if (el.dataset.seq || el.dataset.note) el.remove();
  }

  /** A message of a chat in the list (the view checks that it is). */
  onMessage({ conv, msg, live }) {
    const it = this.item(conv.id);
    // A chat's history arriving in one go is not news: keep screen readers from reading it all.
    if (!live) it.log.setAttribute('aria-live', 'off');
    else if (it.log.getAttribute('aria-live') === 'off') it.log.setAttribute('aria-live', 'polite');
    this.insert(it, buildEntry(msg, this.entryContext(conv)));
    if (msg.author === 'visitor') this.hideTyping(conv);
  }

  onNote({ conv, note, live }) {
    const it = this.item(conv.id);
    if (!it) return;
    if (!live) it.log.setAttribute('aria-live', 'off');
    this.insert(it, buildNote(note, this.entryContext(conv)));
  }

  onPending(p) {
    const conv = this.model.convs.get(p.convId);
    const it = this.item(p.convId);
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
    this.settle(p, conv, msg && (() => buildEntry(msg, this.entryContext(conv))));
  }

  onNoted({ p, conv, note }) {
    this.settle(p, conv, note && (() => buildNote(note, this.entryContext(conv))));
  }

  /**
   * A reply or note of this page was stored (`build` makes its entry) or is shown already by
   * a replay, or was given up (no `build`).
   */
  settle(p, conv, build) {
    const el = this.pendingEls.get(p.clientId);
    this.pendingEls.delete(p.clientId);
    if (!el) return;
    const it = conv ? this.item(conv.id) : null;
    if (!build || !it) {
      el.remove(); // a replayed copy is shown already
      return;
    }
    // Turn the pending entry into the stored one in place (screen readers heard it already).
    const done = build();
    el.replaceChildren(...done.childNodes);
    el.className = done.className;
    Object.assign(el.dataset, done.dataset);
    this.reposition(it, el);
  }

  onTyping(conv) {
    const it = this.item(conv.id);
    if (!it) return;
    const name = this.view.convName(conv);
    const draft = conv.typingText.trim();
    if (draft) {
      // The visitor's unsent draft (typing preview): as text, set apart, the end of long ones.
      const chars = [...draft];
      const shown = chars.length > DRAFT_SHOWN_CHARS ? `…${chars.slice(-DRAFT_SHOWN_CHARS).join('')}` : draft;
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
    const it = this.item(conv.id);
    clearTimeout(this.typingTimers.get(conv.id));
    if (it) it.typing.hidden = true;
  }

  /** A chat left the list: its timers and pending entries go. */
  forget(convId) {
    clearTimeout(this.typingTimers.get(convId));
    for (const [cid, el] of this.pendingEls) if (!el.isConnected) this.pendingEls.delete(cid);
  }
}
