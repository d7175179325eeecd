// The Settings section: the tenant's typing preview (agents with the settings permission change
// it, others read it), canned responses (everyone keeps their own; with the settings permission
// also shared ones), visitor tracking per website, invitation rules and the privacy notices (the
// sites permission changes them), campaigns and goals (the campaigns permission: others do not
// see them), agents and roles (the agents permission: mounted for nobody else), and every
// agent's own sign-ins (signins.js).

import { h, hasFocus } from './dom.js';
import { t, formatBytes } from './i18n.js';
import { request, session, httpError } from './api.js';
import { showFieldError, field, checkField } from './form.js';
import { captionedTable } from './tables.js';
import { parseCanned, announceCannedChange } from './canned.js';
import { TrackingBlock } from './tracking.js';
import { NoticesBlock } from './notices.js';
import { MAX_TEXT_CHARS, charCount, limitField } from '../shared/limits.js';
import { RulesEditor } from './rules.js';
import { CampaignsEditor, GoalsEditor } from './campaigns.js';
import { TeamBlock } from './team.js';
import { DepartmentsBlock } from './departments.js';
import { SignInsBlock } from './signins.js';
import { TwoFactorBlock } from './twofactor.js';

const SHORTCUT = /^\/?[A-Za-z0-9_-]{1,32}$/;

export function mountSettings(root) {
  return new SettingsView(root);
}

class SettingsView {
  constructor(root) {
    this.admin = false;
    this.sitesAdmin = false;
    this.campaignsAdmin = false;
    this.items = [];
    this.root = root;
    this.team = null; // only for agents who may manage agents and roles
    root.classList.add('dash-app', 'settings-app');
    this.tracking = new TrackingBlock();
    this.notices = new NoticesBlock();
    this.rules = new RulesEditor();
    this.campaigns = new CampaignsEditor();
    this.goals = new GoalsEditor();
    this.signins = new SignInsBlock();
    this.twoFactor = new TwoFactorBlock();
    root.replaceChildren(
      this.buildChat(),
      this.buildCanned(),
      this.signins.el,
      this.twoFactor.el,
      this.tracking.el,
      this.notices.el,
      this.rules.el,
      this.campaigns.el,
      this.goals.el,
    );
    this.start();
  }

  async start() {
    const s = await session();
    // Each panel follows its own permission (the server checks them again).
    const may = (p) => !!s && Array.isArray(s.permissions) && s.permissions.includes(p);
    this.admin = may('settings.manage');
    this.sitesAdmin = may('sites.manage');
    this.campaignsAdmin = may('campaigns.manage');
    if (may('agents.manage')) {
      this.team = new TeamBlock({ me: typeof s.email === 'string' ? s.email : '' });
      this.root.append(this.team.el);
      this.departments = new DepartmentsBlock();
      this.root.append(this.departments.el);
    }
    this.renderRole();
    await Promise.all([
      this.loadSettings(),
      this.loadStorage(),
      this.loadCanned(),
      // The rule form and the privacy notices (admins only) use the sites the tracking block loads.
      this.tracking.load().then((sites) => {
        this.rules.setSites(sites);
        this.notices.setSites(sites);
      }),
      this.rules.load(),
      this.signins.load(),
      this.twoFactor.load(),
      // Admins only (the API refuses others): not asked for otherwise.
      this.campaigns.load(),
      this.goals.load(),
      // Not even asked for without the agents permission.
      this.team ? this.team.load() : null,
      this.departments ? this.departments.load() : null,
    ]);
  }

  // ----- chat settings -----

  buildChat() {
    this.preview = h('input', {
      type: 'checkbox',
      id: 'set-typing-preview',
      disabled: true,
      'aria-describedby': 'set-typing-preview-text set-typing-preview-who',
      onchange: () => this.savePreview(),
    });
    this.previewWho = h('p', { id: 'set-typing-preview-who', class: 'hint', hidden: true, text: t('dashboard.settings.admins_only') });
    this.previewStatus = h('p', { class: 'form-status', role: 'status' });
    this.storage = h('p', { id: 'set-files-storage', class: 'hint', hidden: true });
    return h(
      'section',
      { class: 'panel settings-panel', 'aria-labelledby': 'set-chat-title' },
      h('h2', { id: 'set-chat-title', text: t('dashboard.settings.chat_title') }),
      checkField(this.preview, t('dashboard.settings.typing_preview')),
      h('p', { id: 'set-typing-preview-text', class: 'hint', text: t('dashboard.settings.typing_preview_text') }),
      this.previewWho,
      this.previewStatus,
      this.storage,
    );
  }

  /** The bytes the tenant's files take, and its quota (read-only; the operator sets it). */
  async loadStorage() {
    const res = await request('GET', '/api/storage');
    const files = res.ok && res.data ? res.data.files : null;
    if (!files || !Number.isSafeInteger(files.used_bytes) || !Number.isSafeInteger(files.quota_bytes)) return;
    const used = formatBytes(files.used_bytes);
    this.storage.textContent =
      files.quota_bytes > 0
        ? t('dashboard.settings.files_storage', { used, quota: formatBytes(files.quota_bytes) })
        : t('dashboard.settings.files_storage_unlimited', { used });
    this.storage.hidden = false;
  }

  renderRole() {
    this.tracking.setAdmin(this.sitesAdmin);
    this.notices.setAdmin(this.sitesAdmin);
    this.rules.setAdmin(this.sitesAdmin);
    this.campaigns.setAdmin(this.campaignsAdmin);
    this.goals.setAdmin(this.campaignsAdmin);
    this.previewWho.hidden = this.admin;
    this.shareField.hidden = !this.admin;
    if (!this.admin) this.share.checked = false;
    this.renderCanned();
  }

  async loadSettings() {
    const res = await request('GET', '/api/settings');
    if (!res.ok || !res.data || typeof res.data.typing_preview !== 'boolean') {
      this.previewStatus.textContent = t('dashboard.settings.load_failed');
      return;
    }
    this.preview.checked = res.data.typing_preview;
    this.preview.disabled = !this.admin;
  }

  async savePreview() {
    const want = this.preview.checked;
    this.preview.disabled = true;
    this.previewStatus.textContent = t('dashboard.settings.saving');
    const res = await request('PUT', '/api/settings', { json: { typing_preview: want } });
    this.preview.disabled = !this.admin;
    if (res.ok) {
      this.previewStatus.textContent = t(want ? 'dashboard.settings.preview_on' : 'dashboard.settings.preview_off');
    } else {
      this.preview.checked = !want;
      this.previewStatus.textContent = httpError(res);
    }
    this.preview.focus();
  }

  // ----- canned responses -----

  buildCanned() {
    this.cannedTitle = h('h2', { id: 'set-canned-title', tabindex: '-1', text: t('dashboard.canned.title') });
    this.cannedStatus = h('p', { class: 'form-status', role: 'status' });
    this.tbody = h('tbody');
    this.table = captionedTable(
      { class: 'data-table canned-table', hidden: true },
      t('dashboard.canned.title'),
      [
        t('dashboard.canned.col.shortcut'),
        t('dashboard.canned.col.text'),
        t('dashboard.canned.col.scope'),
        { label: t('dashboard.canned.col.actions'), hidden: true },
      ],
      this.tbody,
    );
    this.empty = h('p', { class: 'empty', hidden: true, text: t('dashboard.canned.empty') });

    this.shortcut = h('input', {
      id: 'canned-shortcut',
      name: 'shortcut',
      required: true,
      maxlength: '33',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': 'canned-shortcut-hint',
    });
    this.text = h('textarea', { id: 'canned-text', name: 'text', rows: '3', required: true });
    limitField(this.text, MAX_TEXT_CHARS);
    this.share = h('input', { type: 'checkbox', id: 'canned-shared', name: 'shared' });
    this.shareField = checkField(this.share, t('dashboard.canned.share'), { hidden: true });
    this.formError = h('p', { id: 'canned-error', class: 'form-error', role: 'alert' });
    this.addBtn = h('button', { type: 'submit', text: t('dashboard.canned.add') });
    const form = h(
      'form',
      { class: 'canned-form', 'aria-labelledby': 'set-canned-add', novalidate: true, onsubmit: (e) => this.add(e) },
      h('h3', { id: 'set-canned-add', text: t('dashboard.canned.add_title') }),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'canned-shortcut', text: t('dashboard.canned.shortcut') }),
        h('span', { class: 'shortcut-input' }, h('span', { class: 'slash', 'aria-hidden': 'true', text: '/' }), this.shortcut),
        h('span', { id: 'canned-shortcut-hint', class: 'hint', text: t('dashboard.canned.shortcut_hint') }),
      ),
      field(t('dashboard.canned.text'), this.text),
      this.shareField,
      this.formError,
      h('div', { class: 'field-button' }, this.addBtn),
    );

    return h(
      'section',
      { class: 'panel settings-panel', 'aria-labelledby': 'set-canned-title' },
      this.cannedTitle,
      h('p', { class: 'hint', text: t('dashboard.canned.intro') }),
      this.cannedStatus,
      h('div', { class: 'table-wrap' }, this.table),
      this.empty,
      form,
    );
  }

  async loadCanned() {
    const res = await request('GET', '/api/canned');
    if (!res.ok || !res.data || !Array.isArray(res.data.canned)) {
      this.cannedStatus.textContent = t('dashboard.settings.load_failed');
      return false;
    }
    this.items = res.data.canned.map(parseCanned).filter(Boolean);
    this.renderCanned();
    return true;
  }

  canDelete(c) {
    return !c.shared || this.admin;
  }

  renderCanned() {
    if (!this.tbody) return;
    const hadFocus = hasFocus(this.tbody);
    this.tbody.replaceChildren(
      ...this.items.map((c) =>
        h(
          'tr',
          { 'data-id': c.id },
          h('td', {}, h('code', { class: 'canned-shortcut', text: `/${c.shortcut}` })),
          h('td', { class: 'cell-text', text: c.text }),
          h('td', {}, h('span', { class: c.shared ? 'tag tag-shared' : 'tag', text: t(c.shared ? 'dashboard.canned.shared' : 'dashboard.canned.mine') })),
          h(
            'td',
            { class: 'cell-actions' },
            this.canDelete(c)
              ? h('button', {
                  type: 'button',
                  class: 'btn-danger btn-small',
                  text: t('dashboard.canned.delete'),
                  'aria-label': t('dashboard.canned.delete_label', { shortcut: `/${c.shortcut}` }),
                  onclick: () => this.remove(c),
                })
              : null,
          ),
        ),
      ),
    );
    this.table.hidden = this.items.length === 0;
    this.empty.hidden = this.items.length > 0;
    if (hadFocus) this.cannedTitle.focus();
  }

  fieldError(field, text) {
    showFieldError(this.formError, [this.shortcut, this.text], field, text);
  }

  async add(e) {
    e.preventDefault();
    const shortcut = this.shortcut.value.trim();
    const text = this.text.value.trim();
    if (!SHORTCUT.test(shortcut)) {
      this.fieldError(this.shortcut, t('dashboard.canned.bad_shortcut'));
      return;
    }
    if (!text) {
      this.fieldError(this.text, t('dashboard.canned.bad_text'));
      return;
    }
    if (charCount(text) > MAX_TEXT_CHARS) {
      this.fieldError(this.text, t('dashboard.canned.text_too_long'));
      return;
    }
    this.fieldError(null, '');
    this.addBtn.disabled = true;
    const body = { shortcut: shortcut.replace(/^\//, ''), text };
    if (this.admin && this.share.checked) body.shared = true;
    const res = await request('POST', '/api/canned', { json: body });
    this.addBtn.disabled = false;
    if (!res.ok) {
      if (res.status === 409) this.fieldError(this.shortcut, t('dashboard.canned.taken', { shortcut: `/${body.shortcut.toLowerCase()}` }));
      else if (res.status === 403 && res.code === 'forbidden') this.fieldError(this.share, t('dashboard.canned.forbidden'));
      else if (res.status === 400) this.fieldError(this.shortcut, t('dashboard.canned.invalid'));
      else this.fieldError(this.addBtn, httpError(res));
      return;
    }
    const row = parseCanned(res.data);
    this.shortcut.value = '';
    this.text.value = '';
    this.share.checked = false;
    await this.loadCanned();
    announceCannedChange();
    this.cannedStatus.textContent = t('dashboard.canned.added', { shortcut: `/${row ? row.shortcut : body.shortcut}` });
    this.shortcut.focus();
  }

  async remove(c) {
    if (!window.confirm(t('dashboard.canned.confirm_delete', { shortcut: `/${c.shortcut}` }))) return;
    const idx = this.items.findIndex((x) => x.id === c.id);
    const res = await request('DELETE', `/api/canned/${encodeURIComponent(c.id)}`);
    if (!res.ok && res.status !== 404) {
      this.cannedStatus.textContent = res.status === 403 && res.code === 'forbidden' ? t('dashboard.canned.forbidden_delete') : httpError(res);
      return;
    }
    await this.loadCanned();
    announceCannedChange();
    this.cannedStatus.textContent = t('dashboard.canned.deleted', { shortcut: `/${c.shortcut}` });
    // Focus to the row that took its place (or the one before), else to the list's heading.
    const rows = this.tbody.rows;
    const row = rows[Math.min(idx, rows.length - 1)];
    const next = row ? row.querySelector('button') : null;
    (next || this.cannedTitle).focus();
  }
}

// Kept importable from here for older callers.
export { httpError };
