// The blocked visitors (`GET /api/blocks`) on the History page: what each block catches, why,
// by whom, until when; one in force can be lifted early (`DELETE /api/blocks/{id}`).

import { h } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { request, serverError } from './api.js';

const when = (s) => (Number.isSafeInteger(s) ? formatDateTime(new Date(s * 1000)) : '');

export class BlocksPanel {
  constructor() {
    this.status = h('p', { class: 'hist-status', role: 'status' });
    this.list = h('ul', { class: 'offline-list', 'aria-labelledby': 'blocks-title' });
    this.el = h(
      'section',
      { class: 'panel blocks-panel', 'aria-labelledby': 'blocks-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'blocks-title', text: t('dashboard.blocks.title') })),
      this.status,
      this.list,
    );
  }

  async load(said = '') {
    const res = await request('GET', '/api/blocks');
    if (!res.ok || !res.data || !Array.isArray(res.data.blocks)) {
      this.status.textContent = t('dashboard.history.failed');
      return;
    }
    const now = Date.now() / 1000;
    const rows = res.data.blocks.filter((b) => b && Number.isSafeInteger(b.id));
    this.list.replaceChildren(...rows.map((b) => this.item(b, now)));
    const count = rows.length ? '' : t('dashboard.blocks.none');
    this.status.textContent = [said, count].filter(Boolean).join(' ');
  }

  item(b, now) {
    const active = !b.lifted_at && b.expires_at > now;
    const what = [b.by_key ? t('dashboard.blocks.browser') : '', b.address ? t('dashboard.blocks.address', { address: b.address }) : '']
      .filter(Boolean)
      .join(', ');
    const state = b.lifted_at
      ? t('dashboard.blocks.lifted', { date: when(b.lifted_at), name: b.lifted_by || '' })
      : active
        ? t('dashboard.blocks.until', { date: when(b.expires_at) })
        : t('dashboard.blocks.ended', { date: when(b.expires_at) });
    const li = h(
      'li',
      { class: active ? 'offline-item' : 'offline-item offline-done', 'data-id': b.id },
      h('p', { text: `${what} · ${t('dashboard.blocks.by', { name: b.created_by || '', date: when(b.created_at) })}` }),
      b.reason ? h('p', { class: 'offline-text', text: b.reason }) : null,
      h('p', { class: 'hint', text: state }),
    );
    if (active) {
      li.append(
        h('button', {
          type: 'button',
          class: 'btn-secondary',
          text: t('dashboard.blocks.lift'),
          'aria-label': t('dashboard.blocks.lift_label', { what }),
          onclick: () => this.lift(b.id),
        }),
      );
    }
    return li;
  }

  async lift(id) {
    const res = await request('DELETE', `/api/blocks/${encodeURIComponent(id)}`);
    if (!res.ok) {
      this.status.textContent = serverError(res);
      return;
    }
    await this.load(t('dashboard.blocks.lifted_now'));
    this.status.focus?.();
  }
}
