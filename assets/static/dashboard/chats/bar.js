// The Chats section's bar: the connection state (with "Reconnect now"), the agent's status,
// the chime and desktop notifications.

import { h, hasFocus, setDisabled } from '../dom.js';
import { t } from '../i18n.js';
import { ConnState } from '../section-status.js';
import { soundEnabled, setSoundEnabled, notificationPermission, requestNotifications, chime } from '../alerts.js';

export class ChatsBar {
  constructor(model, conn) {
    this.conn = conn;
    this.connState = new ConnState();
    this.reconnectBtn = h('button', {
      type: 'button',
      class: 'btn-secondary btn-small',
      hidden: true,
      text: t('dashboard.conn.retry_now'),
      onclick: () => {
        if (this.reconnectBtn.getAttribute('aria-disabled') !== 'true') conn.retryNow();
      },
    });

    this.statusSelect = h(
      'select',
      { id: 'agent-status', onchange: () => model.setStatus(this.statusSelect.value) },
      ['online', 'away', 'offline'].map((s) => h('option', { value: s, text: t(`dashboard.status.${s}`) })),
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

    this.el = h(
      'div',
      { class: 'chats-bar' },
      h('div', { class: 'bar-group' }, this.connState.el, this.reconnectBtn),
      h(
        'div',
        { class: 'bar-group' },
        h('label', { for: 'agent-status', text: t('dashboard.status.label') }),
        this.statusSelect,
      ),
      h('div', { class: 'bar-group' }, sound, h('label', { for: 'sound-toggle', text: t('dashboard.sound.label') })),
      h('div', { class: 'bar-group' }, this.notifyBtn, this.notifyNote),
    );
  }

  renderConn({ state }) {
    this.connState.render(state);
    this.reconnectBtn.hidden = state === 'connected' || state === 'signed_out';
    // While an attempt is under way the button stays (and keeps focus) but does nothing.
    setDisabled(this.reconnectBtn, !!this.conn.ws);
  }

  renderStatus(status) {
    this.statusSelect.value = status;
  }

  renderNotify() {
    const p = notificationPermission();
    this.notifyBtn.hidden = p !== 'default';
    this.notifyNote.textContent =
      p === 'granted' ? t('dashboard.notify.on') : p === 'denied' ? t('dashboard.notify.blocked') : '';
    this.notifyNote.hidden = !this.notifyNote.textContent;
  }
}
