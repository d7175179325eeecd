// The queue of waiting chats: who waits and for how long, offers, and "Accept".

import { h, hasFocus, setDisabled } from '../dom.js';
import { t, formatDuration, formatNumber } from '../i18n.js';

export class QueueList {
  /** offline(): tells the agent that accepting needs the connection. */
  constructor(model, offline) {
    this.model = model;
    this.offline = offline;
    /** queue id → {entry, li, name, wait, offer, offerOther, button} */
    this.items = new Map();
    this.title = h('h2', { id: 'queue-title', tabindex: '-1' });
    this.empty = h('p', { class: 'empty', text: t('dashboard.queue.empty') });
    this.list = h('ul', { class: 'queue-list', 'aria-labelledby': 'queue-title' });
    this.el = h(
      'section',
      { class: 'panel queue-panel', 'aria-labelledby': 'queue-title' },
      this.title,
      this.empty,
      this.list,
    );
  }

  render() {
    const waiting = this.model.queue;
    this.title.replaceChildren(
      t('dashboard.queue.title'),
      ' ',
      h('span', { class: 'count', text: `(${formatNumber(waiting.length)})` }),
    );
    this.empty.hidden = waiting.length > 0;

    const ids = new Set(waiting.map((w) => w.id));
    for (const [id, q] of this.items) {
      if (ids.has(id)) continue;
      if (hasFocus(q.li)) {
        // Keep the keyboard user in the queue rather than dropping focus to the page.
        const next = waiting.find((w) => this.items.has(w.id) && w.id !== id);
        (next ? this.items.get(next.id).button : this.title).focus();
      }
      q.li.remove();
      this.items.delete(id);
    }
    let prev = null;
    for (const w of waiting) {
      let q = this.items.get(w.id);
      if (!q) q = this.buildItem(w);
      q.entry = w;
      const name = w.visitorName || t('dashboard.visitor_number', { id: w.id });
      q.name.textContent = name;
      q.button.setAttribute('aria-label', t('dashboard.queue.accept_label', { name }));
      const mine = w.offeredTo !== null && w.offeredTo === this.model.agentId;
      q.offer.hidden = !mine;
      q.offerOther.hidden = mine || w.offeredTo === null;
      q.li.classList.toggle('offered', mine);
      this.renderWait(q);
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== q.li) this.list.insertBefore(q.li, want);
      prev = q.li;
    }
  }

  buildItem(w) {
    const q = {
      entry: w,
      name: h('span', { class: 'q-name' }),
      wait: h('span', { class: 'q-wait' }),
      offer: h('span', { class: 'q-offer tag', text: t('dashboard.queue.offered_to_you') }),
      offerOther: h('span', { class: 'tag', text: t('dashboard.queue.offered_to_other') }),
      button: h('button', { type: 'button', class: 'q-accept', text: t('dashboard.queue.accept') }),
    };
    q.button.addEventListener('click', () => {
      if (q.button.getAttribute('aria-disabled') === 'true' || !this.model.accept(q.entry.id)) this.offline();
    });
    q.li = h(
      'li',
      { class: 'queue-item', 'data-id': w.id },
      h('div', { class: 'q-info' }, q.name, q.offer, q.offerOther, q.wait),
      q.button,
    );
    this.items.set(w.id, q);
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
    for (const q of this.items.values()) this.renderWait(q);
  }

  /** "Accept" looks and announces itself disabled while the socket is down. */
  setEnabled(on) {
    for (const q of this.items.values()) setDisabled(q.button, !on);
  }
}
