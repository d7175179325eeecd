// Settings › API (the settings permission): API tokens for the business's integrations. A
// token acts for the agent who makes it, with the permissions ticked here (only ones the agent
// holds); it is shown once, right after it is made (`POST /api/tokens`), and never again. The
// list (`GET /api/tokens`) shows each token's last use; revoking (`DELETE /api/tokens/{id}`)
// stops it at once. Names are set as text only (dom.js).

import { h, whileBusy } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { request, serverError } from './api.js';
import { field, hint } from './form.js';
import { captionedTable } from './tables.js';

/** Lifetimes the form offers, in days ('' = until revoked). */
const DAYS = ['30', '90', '365', ''];

const str = (v) => (typeof v === 'string' ? v : '');
const when = (sec) => {
  const d = new Date((Number.isSafeInteger(sec) ? sec : 0) * 1000);
  return h('time', { datetime: d.toISOString(), text: formatDateTime(d) });
};

export class TokensBlock {
  /** `held`: the signed-in agent's permissions, the ones a token of theirs may get. */
  constructor(held) {
    this.held = Array.isArray(held) ? held.filter((p) => typeof p === 'string') : [];
    this.el = this.build();
  }

  build() {
    this.name = h('input', { id: 'token-name', name: 'name', maxlength: '80', autocomplete: 'off', required: true });
    this.days = h(
      'select',
      { id: 'token-days', name: 'days' },
      DAYS.map((d) => h('option', { value: d, text: d ? t('dashboard.tokens.days', { n: d }) : t('dashboard.tokens.forever') })),
    );
    this.checks = h(
      'div',
      {},
      this.held.map((p) =>
        h(
          'div',
          { class: 'check-field' },
          h('input', { type: 'checkbox', id: `token-perm-${p.replace('.', '-')}`, name: 'perm', value: p }),
          h('label', { for: `token-perm-${p.replace('.', '-')}`, text: t(`dashboard.team.perm.${p}`) }),
        ),
      ),
    );
    this.makeBtn = h('button', { type: 'submit', text: t('dashboard.tokens.make') });
    this.error = h('p', { id: 'token-error', class: 'form-error', role: 'alert' });
    this.status = h('p', { id: 'token-status', class: 'form-status', role: 'status', 'aria-live': 'polite' });
    this.secret = h('input', { id: 'token-secret', readonly: true, class: 'code', 'aria-describedby': 'token-secret-hint' });
    this.secretBox = h(
      'div',
      { id: 'token-made', hidden: true },
      field(t('dashboard.tokens.secret'), this.secret, hint('token-secret-hint', t('dashboard.tokens.secret_hint'))),
    );
    this.body = h('tbody');
    this.table = captionedTable(
      { id: 'tokens-table', class: 'data-table' },
      t('dashboard.tokens.caption'),
      [t('dashboard.tokens.col.name'), t('dashboard.tokens.col.permissions'), t('dashboard.tokens.col.used'), t('dashboard.tokens.col.state')],
      this.body,
    );
    return h(
      'section',
      { id: 'tokens', class: 'panel settings-panel', 'aria-labelledby': 'tokens-title' },
      h('h2', { id: 'tokens-title', text: t('dashboard.tokens.title') }),
      h('p', { class: 'hint', text: t('dashboard.tokens.intro') }),
      h(
        'form',
        { id: 'token-form', class: 'rule-form', novalidate: true, 'aria-labelledby': 'token-form-title', onsubmit: (e) => this.make(e) },
        h('h3', { id: 'token-form-title', text: t('dashboard.tokens.new') }),
        field(t('dashboard.tokens.field.name'), this.name),
        field(t('dashboard.tokens.field.days'), this.days),
        h('fieldset', { class: 'rule-conditions' }, h('legend', { text: t('dashboard.team.permissions_legend') }), this.checks),
        this.error,
        h('div', { class: 'form-buttons' }, this.makeBtn),
      ),
      this.secretBox,
      this.status,
      h('div', { class: 'table-wrap' }, this.table),
    );
  }

  async load() {
    this.table.setAttribute('aria-busy', 'true');
    const res = await request('GET', '/api/tokens');
    this.table.removeAttribute('aria-busy');
    if (!res.ok || !res.data || !Array.isArray(res.data.tokens)) {
      this.error.textContent = res.ok ? t('dashboard.settings.load_failed') : serverError(res);
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const rows = res.data.tokens.filter((k) => k && Number.isSafeInteger(k.id)).map((k) => this.row(k, now));
    this.body.replaceChildren(
      ...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '4', class: 'empty', text: t('dashboard.tokens.none') }))]),
    );
  }

  row(k, now) {
    const revoked = Number.isSafeInteger(k.revoked_at);
    const expired = !revoked && Number.isSafeInteger(k.expires_at) && k.expires_at <= now;
    let state;
    if (revoked) state = h('p', { text: t('dashboard.tokens.revoked', { by: str(k.revoked_by) }) });
    else if (expired) state = h('p', { text: t('dashboard.tokens.expired') });
    else {
      const end = h(
        'button',
        { type: 'button', class: 'btn-danger btn-small', 'data-control': 'revoke' },
        t('dashboard.tokens.revoke'),
        h('span', { class: 'vh', text: ` ${str(k.name)}` }),
      );
      end.addEventListener('click', () => whileBusy(end, () => this.revoke(k)));
      const until = Number.isSafeInteger(k.expires_at) ? [h('p', {}, t('dashboard.tokens.until'), ' ', when(k.expires_at))] : [];
      state = h('div', {}, ...until, end);
    }
    const perms = Array.isArray(k.permissions) ? k.permissions.filter((p) => typeof p === 'string') : [];
    return h(
      'tr',
      { 'data-token-id': k.id },
      h('th', { scope: 'row' }, str(k.name), h('br'), h('span', { class: 'hint', text: str(k.agent_email) })),
      h('td', { class: 'cell-wrap', text: perms.map((p) => t(`dashboard.team.perm.${p}`)).join(', ') }),
      h('td', {}, Number.isSafeInteger(k.last_used_at) ? [when(k.last_used_at), h('br'), str(k.last_used_ip)] : t('dashboard.tokens.never_used')),
      h('td', {}, state),
    );
  }

  async make(e) {
    e.preventDefault();
    this.status.textContent = '';
    const permissions = [...this.checks.querySelectorAll('input[name="perm"]')].filter((b) => b.checked).map((b) => b.value);
    const json = { name: this.name.value.trim(), permissions };
    if (this.days.value) json.days = Number(this.days.value);
    await whileBusy(this.makeBtn, async () => {
      const res = await request('POST', '/api/tokens', { json });
      if (!res.ok || !res.data || typeof res.data.token !== 'string') {
        this.error.textContent = res.ok ? t('dashboard.settings.load_failed') : serverError(res);
        return;
      }
      this.error.textContent = '';
      this.name.value = '';
      this.secret.value = res.data.token;
      this.secretBox.hidden = false;
      this.secret.focus();
      this.secret.select();
      this.status.textContent = t('dashboard.tokens.made');
      await this.load();
    });
  }

  async revoke(k) {
    const res = await request('DELETE', `/api/tokens/${encodeURIComponent(k.id)}`);
    if (!res.ok) {
      this.error.textContent = serverError(res);
      return;
    }
    this.status.textContent = t('dashboard.tokens.revoked_now');
    await this.load();
  }
}
