// Settings → Two-factor sign-in: the signed-in agent's own second factor.
//   Off: "Set up" asks the server for a new secret (`POST /api/two-factor/setup`), shows its
//   QR code (drawn here from the server's path data, no image service) and key, and confirms
//   it with a code from the app (`POST /api/two-factor/confirm`), which answers the ten
//   recovery codes, shown once.
//   On: new recovery codes or turning it off, each after a code from the app; turning off is
//   not offered while the agent's role requires a second factor.
// Every agent has this panel; the server acts only on the caller's own sign-in.

import { h, whileBusy } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { request, httpError, serverError } from './api.js';
import { field } from './form.js';

const SVG = 'http://www.w3.org/2000/svg';
/** What the server's QR path may hold: moves and unit steps only. */
const PATH = /^[Mhvz0-9 -]*$/;

/** The QR code as an SVG element (null when the data is not what we expect). */
export function qrSvg(qr, label) {
  if (!qr || !Number.isSafeInteger(qr.size) || qr.size < 21 || qr.size > 200) return null;
  if (typeof qr.path !== 'string' || !PATH.test(qr.path)) return null;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${qr.size} ${qr.size}`);
  svg.setAttribute('class', 'two-factor-qr');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', qr.path);
  path.setAttribute('fill', '#000');
  svg.append(path);
  return svg;
}

/** The panel. */
export class TwoFactorBlock {
  constructor() {
    this.status = null;
    this.el = this.build();
  }

  build() {
    this.state = h('p', { id: 'two-factor-state' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.done = h('p', { class: 'form-status', role: 'status' });
    this.setupBtn = h('button', {
      type: 'button',
      id: 'two-factor-setup',
      text: t('dashboard.two_factor.setup'),
      hidden: true,
      onclick: () => whileBusy(this.setupBtn, () => this.setup()),
    });
    // The set-up: QR code, key, confirming code.
    this.qrSpot = h('div', {});
    this.key = h('code', { id: 'two-factor-key', class: 'two-factor-key' });
    this.confirmCode = h('input', { id: 'two-factor-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '7' });
    this.setupArea = h(
      'form',
      { id: 'two-factor-setup-form', hidden: true, novalidate: true, onsubmit: (e) => this.confirm(e) },
      h('p', { text: t('dashboard.two_factor.scan') }),
      this.qrSpot,
      h('p', {}, t('dashboard.two_factor.or_type'), ' ', this.key),
      field(t('dashboard.two_factor.code'), this.confirmCode),
      h('button', { type: 'submit', id: 'two-factor-confirm', text: t('dashboard.two_factor.confirm') }),
    );
    // When on: a code from the app, then new recovery codes or off.
    this.currentCode = h('input', { id: 'two-factor-current-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '7' });
    this.renewBtn = h('button', {
      type: 'button',
      id: 'two-factor-renew',
      class: 'btn-secondary',
      text: t('dashboard.two_factor.renew'),
      onclick: () => whileBusy(this.renewBtn, () => this.withCode('/api/two-factor/recovery-codes')),
    });
    this.offBtn = h('button', {
      type: 'button',
      id: 'two-factor-off',
      class: 'btn-danger',
      text: t('dashboard.two_factor.turn_off'),
      onclick: () => whileBusy(this.offBtn, () => this.withCode('/api/two-factor/disable')),
    });
    this.onArea = h(
      'div',
      { id: 'two-factor-manage', hidden: true },
      field(t('dashboard.two_factor.code_to_change'), this.currentCode),
      h('p', { class: 'form-actions' }, this.renewBtn, ' ', this.offBtn),
    );
    this.codes = h('ol', { id: 'two-factor-codes', class: 'two-factor-codes' });
    this.codesArea = h(
      'div',
      { hidden: true },
      h('p', { role: 'status', text: t('dashboard.two_factor.codes_intro') }),
      this.codes,
    );
    return h(
      'section',
      { id: 'two-factor', class: 'panel settings-panel', 'aria-labelledby': 'two-factor-title' },
      h('h2', { id: 'two-factor-title', text: t('dashboard.two_factor.title') }),
      h('p', { class: 'hint', text: t('dashboard.two_factor.intro') }),
      this.state,
      this.error,
      this.setupBtn,
      this.setupArea,
      this.onArea,
      this.codesArea,
      this.done,
    );
  }

  async load() {
    const res = await request('GET', '/api/two-factor');
    if (!res.ok || !res.data || typeof res.data.enrolled !== 'boolean') {
      this.error.textContent = httpError(res);
      return;
    }
    this.status = {
      enrolled: res.data.enrolled,
      since: Number.isSafeInteger(res.data.enrolled_at) ? res.data.enrolled_at : null,
      required: res.data.required === true,
      left: Number.isSafeInteger(res.data.recovery_codes_left) ? res.data.recovery_codes_left : 0,
    };
    this.render();
  }

  render() {
    const s = this.status;
    this.el.dataset.enrolled = s.enrolled ? 'true' : 'false';
    if (s.enrolled) {
      const since = s.since ? formatDateTime(new Date(s.since * 1000)) : '';
      this.state.textContent = t('dashboard.two_factor.on', { since, left: s.left });
    } else {
      this.state.textContent = t(s.required ? 'dashboard.two_factor.off_required' : 'dashboard.two_factor.off');
    }
    this.setupBtn.hidden = s.enrolled;
    this.onArea.hidden = !s.enrolled;
    this.offBtn.hidden = s.required;
    if (s.enrolled) this.setupArea.hidden = true;
  }

  async setup() {
    const res = await request('POST', '/api/two-factor/setup', { json: {} });
    const svg = res.ok && res.data ? qrSvg(res.data.qr, t('dashboard.two_factor.qr_label')) : null;
    if (!svg || typeof res.data.secret !== 'string') {
      this.error.textContent = httpError(res);
      return;
    }
    this.error.textContent = '';
    this.qrSpot.replaceChildren(svg);
    this.key.textContent = res.data.secret;
    this.codesArea.hidden = true;
    this.setupArea.hidden = false;
    this.confirmCode.value = '';
    this.confirmCode.focus();
  }

  async confirm(e) {
    e.preventDefault();
    const res = await request('POST', '/api/two-factor/confirm', { json: { code: this.confirmCode.value } });
    if (!this.answer(res)) {
      this.confirmCode.focus();
      return;
    }
    this.setupArea.hidden = true;
    this.done.textContent = t('dashboard.two_factor.enrolled');
    await this.load();
    this.codes.focus();
  }

  /** Sends the code from the app to `path`; shows new recovery codes if any come back. */
  async withCode(path) {
    const res = await request('POST', path, { json: { code: this.currentCode.value } });
    if (!this.answer(res)) {
      this.currentCode.focus();
      return;
    }
    this.currentCode.value = '';
    this.done.textContent = t(path.endsWith('disable') ? 'dashboard.two_factor.turned_off' : 'dashboard.two_factor.renewed');
    if (path.endsWith('disable')) this.codesArea.hidden = true;
    await this.load();
  }

  /** Shows an error, or the recovery codes of a good answer; whether it was good. */
  answer(res) {
    if (!res.ok) {
      // 400 is a wrong code (said in the agent's language); 409 says why in the server's words.
      this.error.textContent = res.status === 400 ? t('dashboard.two_factor.wrong_code') : serverError(res);
      return false;
    }
    this.error.textContent = '';
    const list = res.data && Array.isArray(res.data.recovery_codes) ? res.data.recovery_codes.filter((c) => typeof c === 'string') : [];
    if (list.length) {
      this.codes.replaceChildren(...list.map((c) => h('li', { text: c })));
      this.codes.setAttribute('tabindex', '-1');
      this.codesArea.hidden = false;
    }
    return true;
  }
}
