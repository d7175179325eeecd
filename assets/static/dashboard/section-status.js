// Parts of the live sections (chats, visitors): the connection state, and the dismissible
// error box under the section's bar.

import { h, hasFocus } from './dom.js';
import { t } from './i18n.js';

/** "Connected", "Reconnecting…": a status line with a coloured dot. */
export class ConnState {
  constructor() {
    this.text = h('span', { class: 'conn-text', text: t('dashboard.conn.connecting') });
    this.el = h(
      'p',
      { class: 'conn', role: 'status', 'data-state': 'connecting' },
      h('span', { class: 'conn-dot', 'aria-hidden': 'true' }),
      this.text,
    );
  }

  render(state) {
    this.el.dataset.state = state;
    const text = t(`dashboard.conn.${state}`);
    // Each retry restates the state: only a real change should reach screen readers.
    if (this.text.textContent !== text) this.text.textContent = text;
  }
}

/** The role="alert" region exists from the start; only its content changes. */
export class AlertBox {
  /** refocus(): where focus goes when the box had it and is dismissed. */
  constructor(refocus) {
    this.refocus = refocus;
    this.text = h('p', { class: 'alert-text' });
    this.box = h('div', { class: 'alert-box', role: 'alert' }, this.text);
    this.dismiss = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      hidden: true,
      text: t('dashboard.error.dismiss'),
      onclick: () => this.clear(),
    });
    this.el = h('div', { class: 'alert-wrap', 'data-empty': 'true' }, this.box, this.dismiss);
  }

  show(text) {
    this.text.textContent = text;
    this.el.dataset.empty = 'false';
    this.dismiss.hidden = false;
  }

  clear() {
    const hadFocus = hasFocus(this.el);
    this.text.textContent = '';
    this.el.dataset.empty = 'true';
    this.dismiss.hidden = true;
    if (hadFocus) this.refocus();
  }
}
