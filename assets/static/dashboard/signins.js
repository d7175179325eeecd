// Settings → Sign-ins: the signed-in agent's own sessions (`GET /api/sessions`), each with its
// browser and system, truncated address and last use; "End" per other session
// (`DELETE /api/sessions/{id}`) and "End all others" (`POST /api/sessions/end-others`).
// Every agent has this panel; the server lists and ends only the caller's own sessions.
// Devices and addresses are set as text only (dom.js).

import { h, whileBusy } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { request, httpError } from './api.js';
import { captionedTable } from './tables.js';

const ID = /^[0-9a-f]{24}$/;
const str = (v) => (typeof v === 'string' ? v : '');
const time = (v) => (Number.isSafeInteger(v) && v > 0 ? formatDateTime(new Date(v * 1000)) : '');

/** A session from the API, or null. */
export function parseSession(s) {
  if (!s || typeof s !== 'object' || typeof s.id !== 'string' || !ID.test(s.id)) return null;
  return {
    id: s.id,
    device: str(s.device),
    ip: str(s.ip),
    created_at: s.created_at,
    last_seen_at: s.last_seen_at,
    current: s.current === true,
  };
}

/** The panel. */
export class SignInsBlock {
  constructor() {
    this.sessions = [];
    this.el = this.build();
  }

  build() {
    this.status = h('p', { class: 'form-status', role: 'status' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.body = h('tbody', {});
    this.endOthers = h('button', {
      type: 'button',
      id: 'signins-end-others',
      text: t('dashboard.signins.end_others'),
      hidden: true,
      onclick: () => whileBusy(this.endOthers, () => this.end(null)),
    });
    return h(
      'section',
      { id: 'signins', class: 'panel settings-panel', 'aria-labelledby': 'signins-title' },
      h('h2', { id: 'signins-title', text: t('dashboard.signins.title') }),
      h('p', { class: 'hint', text: t('dashboard.signins.intro') }),
      this.error,
      captionedTable(
        { id: 'signins-table', class: 'data-table' },
        t('dashboard.signins.caption'),
        [
          t('dashboard.signins.col.device'),
          t('dashboard.signins.col.address'),
          t('dashboard.signins.col.signed_in'),
          t('dashboard.signins.col.last_used'),
          { label: t('dashboard.signins.col.actions'), hidden: true },
        ],
        this.body,
      ),
      this.endOthers,
      this.status,
    );
  }

  async load() {
    const res = await request('GET', '/api/sessions');
    if (!res.ok || !res.data || !Array.isArray(res.data.sessions)) {
      this.error.textContent = httpError(res);
      return;
    }
    this.error.textContent = '';
    this.sessions = res.data.sessions.map(parseSession).filter(Boolean);
    this.render();
  }

  render() {
    const rows = this.sessions.map((s) => {
      const device = s.device || t('dashboard.signins.unknown_device');
      const cells = [
        h('td', {}, h('span', { text: device }), s.current ? h('strong', { class: 'badge', text: ` ${t('dashboard.signins.this_device')}` }) : null),
        h('td', { text: s.ip }),
        h('td', { text: time(s.created_at) }),
        h('td', { text: time(s.last_seen_at) }),
      ];
      let action = null;
      if (!s.current) {
        const btn = h('button', {
          type: 'button',
          class: 'signins-end',
          'data-id': s.id,
          text: t('dashboard.signins.end'),
          'aria-label': t('dashboard.signins.end_label', { device, address: s.ip }),
        });
        btn.onclick = () => whileBusy(btn, () => this.end(s));
        action = btn;
      }
      cells.push(h('td', {}, action));
      return h('tr', { 'data-id': s.id, 'data-current': s.current ? 'true' : null }, cells);
    });
    this.body.replaceChildren(...rows);
    this.endOthers.hidden = !this.sessions.some((s) => !s.current);
  }

  /** Ends one session, or every other one when `s` is null. */
  async end(s) {
    const res = s
      ? await request('DELETE', `/api/sessions/${encodeURIComponent(s.id)}`)
      : await request('POST', '/api/sessions/end-others', { json: {} });
    // Already gone (404) is what was asked for.
    if (!res.ok && res.status !== 404) {
      this.error.textContent = httpError(res);
      return;
    }
    this.error.textContent = '';
    this.status.textContent = t(s ? 'dashboard.signins.ended_one' : 'dashboard.signins.ended_others');
    await this.load();
  }
}
