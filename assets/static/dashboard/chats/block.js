// Blocking a visitor (`POST /api/blocks`): the "Block visitor" panel of each chat, and of the
// visitor list's detail pane, with the period, whether their address is blocked too, and a
// reason. The server ends the chat; the visitor can start no new one until the block ends or
// is lifted (History page).

import { h, hasFocus } from '../dom.js';
import { t, formatDateTime } from '../i18n.js';
import { request, serverError } from '../api.js';

const PERIODS = ['1h', '1d', '30d'];

export class Blocks {
  /**
   * @param {object} view the owner
   * @param {{target?: (it: object) => object, intro?: string}} [opts] whom a block names (by
   *   default the chat `it.id`) and the catalog key of the panel's explanation
   */
  constructor(view, { target = (it) => ({ conversation_id: it.id }), intro = 'dashboard.block.intro' } = {}) {
    this.view = view;
    this.target = target;
    this.intro = intro;
  }

  /** Adds the "Block visitor" button and panel to an item (`it.id` names its elements). */
  build(it) {
    const id = it.id;
    it.blockBtn = h('button', {
      type: 'button',
      class: 'btn-secondary',
      'aria-expanded': 'false',
      'aria-controls': `block-${id}`,
      text: t('dashboard.block.open'),
      onclick: () => (it.blockPanel.hidden ? this.show(it) : this.hide(it)),
    });
    it.blockPeriod = h(
      'select',
      { id: `block-period-${id}` },
      ...PERIODS.map((p) => h('option', { value: p, text: t(`dashboard.block.period_${p}`) })),
    );
    it.blockAddress = h('input', { id: `block-address-${id}`, type: 'checkbox', 'aria-describedby': `block-address-hint-${id}` });
    it.blockReason = h('input', { id: `block-reason-${id}`, maxlength: 500, autocomplete: 'off' });
    it.blockStatus = h('p', { class: 'transfer-status', role: 'status' });
    it.blockPanel = h(
      'form',
      {
        id: `block-${id}`,
        class: 'transfer-panel',
        hidden: true,
        'aria-labelledby': `block-title-${id}`,
        onsubmit: (e) => this.onSubmit(e, it),
        onkeydown: (e) => {
          if (e.key !== 'Escape') return;
          e.preventDefault();
          this.hide(it);
        },
      },
      h('h3', { id: `block-title-${id}`, class: 'transfer-title', text: t('dashboard.block.title') }),
      h('p', { class: 'hint', text: t(this.intro) }),
      h('div', { class: 'transfer-row' }, h('label', { for: `block-period-${id}`, text: t('dashboard.block.period') }), it.blockPeriod),
      h(
        'div',
        { class: 'transfer-row' },
        it.blockAddress,
        h('label', { for: `block-address-${id}`, text: t('dashboard.block.address') }),
      ),
      h('p', { id: `block-address-hint-${id}`, class: 'hint', text: t('dashboard.block.address_hint') }),
      h('div', { class: 'transfer-row' }, h('label', { for: `block-reason-${id}`, text: t('dashboard.block.reason') }), it.blockReason),
      h(
        'div',
        { class: 'transfer-row' },
        h('button', { type: 'submit', class: 'btn-danger', text: t('dashboard.block.submit') }),
        h('button', { type: 'button', class: 'btn-secondary', text: t('dashboard.block.cancel'), onclick: () => this.hide(it) }),
      ),
      it.blockStatus,
    );
  }

  /** Back to the button, for another visitor. */
  reset(it) {
    this.hide(it);
    it.blockBtn.hidden = false;
    it.blockStatus.textContent = '';
    it.blockReason.value = '';
    it.blockAddress.checked = false;
  }

  show(it) {
    it.blockPanel.hidden = false;
    it.blockBtn.setAttribute('aria-expanded', 'true');
    it.blockStatus.textContent = '';
    it.blockPeriod.focus();
  }

  hide(it) {
    if (it.blockPanel.hidden) return;
    const hadFocus = hasFocus(it.blockPanel);
    it.blockPanel.hidden = true;
    it.blockBtn.setAttribute('aria-expanded', 'false');
    if (hadFocus && !it.blockBtn.hidden) it.blockBtn.focus();
  }

  async onSubmit(e, it) {
    e.preventDefault();
    const body = {
      ...this.target(it),
      period: it.blockPeriod.value,
      address: it.blockAddress.checked,
      reason: it.blockReason.value.trim(),
    };
    const res = await request('POST', '/api/blocks', { json: body });
    if (!res.ok) {
      it.blockStatus.textContent = serverError(res);
      return;
    }
    const until = Number.isSafeInteger(res.data && res.data.expires_at) ? formatDateTime(new Date(res.data.expires_at * 1000)) : '';
    it.blockStatus.textContent = t('dashboard.block.done', { until });
    it.blockBtn.hidden = true;
  }
}
