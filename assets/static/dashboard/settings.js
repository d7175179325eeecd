// The Settings section, in parts with their own addresses (/app/settings/{part}) and a
// navigation between them (the History API: Back returns to the part before, no reload):
// General (the files stored against the quota; business hours and email, for those who manage
// settings), Sites
// and widget (tracking per website), Team (agents and roles: the agents permission), Chat (typing preview, canned responses:
// everyone keeps their own, with the settings permission also shared ones), Visitor tracking
// and invitation rules, Campaigns and goals (the campaigns permission), Privacy notices (the
// sites permission) and every agent's own Profile (name, language, alerts, password,
// sign-ins, two factors). A part the agent's role may not see is left out of the navigation;
// its address says it is not available.

import { h, hasFocus } from './dom.js';
import { t, formatBytes } from './i18n.js';
import { request, session, httpError } from './api.js';
import { showFieldError, field, checkField } from './form.js';
import { captionedTable } from './tables.js';
import { parseCanned, announceCannedChange } from './canned.js';
import { TrackingBlock } from './tracking.js';
import { SitesBlock } from './sites.js'; // Sites and widget
import { NoticesBlock } from './notices.js';
import { MAX_TEXT_CHARS, charCount, limitField } from '../shared/limits.js';
import { RulesEditor } from './rules.js';
import { RelevanceWeights } from './relevance-weights.js';
import { EmailBlock } from './email.js';
import { HoursBlock } from './hours.js';
import { WebhooksBlock } from './webhooks.js';

const SHORTCUT = /^\/?[A-Za-z0-9_-]{1,32}$/;

/**
 * The parts of Settings in navigation order, each with the permission that shows it (none:
 * every agent). The server knows the same list (src/http/dashboard.rs, SETTINGS_PARTS).
 */
export const PARTS = [
  { id: 'general', needs: null },
  { id: 'sites', needs: 'sites.manage' },
  { id: 'team', needs: 'agents.manage' },
  { id: 'chat', needs: null },
  { id: 'tracking', needs: null },
  { id: 'campaigns', needs: 'campaigns.manage' },
  { id: 'notices', needs: 'sites.manage' },
  { id: 'api', needs: 'settings.manage' },
  { id: 'profile', needs: null },
];

/** The part an address names: '' for /app/settings itself, null for none we know. */
function partOf(pathname) {
  const m = /^\/app\/settings(?:\/([a-z]+))?\/?$/.exec(pathname);
  if (!m) return null;
  if (!m[1]) return '';
  return PARTS.some((p) => p.id === m[1]) ? m[1] : null;
}

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
    this.allowed = new Set(PARTS.filter((p) => !p.needs).map((p) => p.id));
    this.known = false; // the role's permissions, once the session is read
    root.classList.add('dash-app', 'settings-app');
    this.tracking = new TrackingBlock();
    this.notices = new NoticesBlock();
    this.rules = new RulesEditor();
    this.relevance = new RelevanceWeights();
    this.campaigns = null; // the Campaigns part's editors, once it is opened
    this.goals = null;
    this.sites = new SitesBlock();
    this.email = new EmailBlock(); // General, for those who manage settings
    this.hours = new HoursBlock(); // General, for those who manage settings
    this.webhooks = new WebhooksBlock(); // General, for those who manage settings
    // A site added or removed reaches tracking, rules and notices.
    this.sites.el.addEventListener('sites-changed', () => this.tracking.load().then((s) => (this.rules.setSites(s), this.notices.setSites(s), this.relevanceSites(s))));
    this.teamSlot = h('div', { id: 'settings-team-slot' });
    this.departmentsSlot = h('div', { id: 'settings-departments-slot' });
    this.supportSlot = h('div', { id: 'settings-support-slot' });
    this.tokensSlot = h('div', { id: 'settings-tokens-slot' });
    this.campaignsSlot = h('div', { id: 'settings-campaigns-slot' });
    this.profileSlot = h('div', { id: 'settings-profile-slot' });
    // Parts whose blocks (and modules) load when the part is first shown: most visits to
    // Settings never open them, and the page is lighter without them.
    this.lazy = {
      team: () => this.mountTeam(),
      campaigns: () => this.mountCampaigns(),
      api: () => this.mountTokens(),
      profile: () => this.mountProfile(),
    };
    this.parts = {
      general: [this.buildGeneral(), this.hours.el, this.email.el, this.webhooks.el],
      // Sites and widget: the sites with their look, words, logo and snippet, then tracking.
      sites: [this.sites.el, this.tracking.el],
      // Team: agents and roles, then departments (both only with the agents permission).
      team: [this.teamSlot, this.departmentsSlot, this.supportSlot],
      chat: [this.buildChat(), this.buildCanned()],
      tracking: [this.rules.el, this.relevance.el],
      campaigns: [this.campaignsSlot],
      notices: [this.notices.el],
      api: [this.tokensSlot],
      profile: [this.profileSlot],
    };
    this.links = {};
    this.boxes = {};
    for (const p of PARTS) {
      this.links[p.id] = h('a', {
        href: `/app/settings/${p.id}`,
        'data-part': p.id,
        text: t(`dashboard.settings.part.${p.id}`),
        onclick: (e) => this.follow(e, p.id),
      });
      this.boxes[p.id] = h(
        'div',
        { id: `settings-part-${p.id}`, class: 'settings-part', 'data-part': p.id, tabindex: '-1', hidden: true },
        ...this.parts[p.id],
      );
    }
    this.navItems = PARTS.map((p) => h('li', { 'data-part': p.id }, this.links[p.id]));
    this.nav = h('nav', { class: 'settings-nav', 'aria-label': t('dashboard.settings.nav_label') }, h('ul', {}, ...this.navItems));
    this.denied = h(
      'div',
      { id: 'settings-denied', class: 'panel settings-panel', tabindex: '-1', hidden: true },
      h('h2', { text: t('dashboard.settings.denied_title') }),
      h('p', { text: t('dashboard.settings.denied_text') }),
    );
    root.replaceChildren(this.nav, this.denied, ...PARTS.map((p) => this.boxes[p.id]));
    window.addEventListener('popstate', () => this.show(partOf(location.pathname) ?? '', { focus: true }));
    this.renderNav();
    this.show(partOf(location.pathname) ?? '');
    this.start();
  }

  /** A click on a part's link: to that part without loading the page (new-tab clicks stay). */
  follow(e, id) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (partOf(location.pathname) !== id) history.pushState({ part: id }, '', `/app/settings/${id}`);
    this.show(id, { focus: true });
  }

  /** The first part the agent may see: what /app/settings shows. */
  first() {
    return PARTS.find((p) => this.allowed.has(p.id)).id;
  }

  renderNav() {
    PARTS.forEach((p, i) => {
      this.navItems[i].hidden = !this.allowed.has(p.id);
    });
  }

  /** Shows one part (`''`: the first the agent may see), or says it is not for this role. */
  show(id, { focus = false } = {}) {
    const part = id || this.first();
    this.current = part;
    const ok = this.allowed.has(part);
    // Until the role is known a part that needs a permission shows nothing, not a refusal.
    this.denied.hidden = ok || !this.known;
    for (const p of PARTS) {
      this.boxes[p.id].hidden = !ok || p.id !== part;
      if (p.id === part) this.links[p.id].setAttribute('aria-current', 'page');
      else this.links[p.id].removeAttribute('aria-current');
    }
    document.body.dataset.part = part;
    if (focus) (ok ? this.boxes[part] : this.denied).focus({ preventScroll: false });
    if (ok && this.known && this.lazy[part]) {
      const mount = this.lazy[part];
      delete this.lazy[part];
      mount();
    }
  }

  /** Team: agents and roles, departments, the operator's support access. */
  async mountTeam() {
    const [{ TeamBlock }, { DepartmentsBlock }, { SupportBlock }] = await Promise.all([
      import('./team.js'),
      import('./departments.js'),
      import('./support.js'),
    ]);
    this.team = new TeamBlock({ me: this.me });
    this.teamSlot.replaceWith(this.team.el);
    this.departments = new DepartmentsBlock();
    this.departmentsSlot.replaceWith(this.departments.el);
    this.support = new SupportBlock();
    this.supportSlot.replaceWith(this.support.el);
    await Promise.all([this.team.load(), this.departments.load(), this.support.load()]);
  }

  /** Campaigns and goals. */
  async mountCampaigns() {
    const { CampaignsEditor, GoalsEditor } = await import('./campaigns.js');
    this.campaigns = new CampaignsEditor();
    this.goals = new GoalsEditor();
    this.campaigns.setAdmin(this.campaignsAdmin);
    this.goals.setAdmin(this.campaignsAdmin);
    this.campaignsSlot.replaceWith(this.campaigns.el, this.goals.el);
    await Promise.all([this.campaigns.load(), this.goals.load()]);
  }

  /** The agent's own profile, sign-ins and second factor. */
  async mountProfile() {
    const [{ ProfileBlock }, { SignInsBlock }, { TwoFactorBlock }] = await Promise.all([
      import('./profile.js'),
      import('./signins.js'),
      import('./twofactor.js'),
    ]);
    this.profile = new ProfileBlock();
    this.signins = new SignInsBlock();
    this.twoFactor = new TwoFactorBlock();
    // A new password ends the other sign-ins: the list shows it.
    this.profile.onPasswordChanged = () => this.signins.load();
    this.profileSlot.replaceWith(this.profile.el, this.signins.el, this.twoFactor.el);
    await Promise.all([this.profile.load(), this.signins.load(), this.twoFactor.load()]);
  }

  /** API tokens. */
  async mountTokens() {
    const { TokensBlock } = await import('./tokens.js');
    this.tokens = new TokensBlock(this.permissions);
    this.tokensSlot.replaceWith(this.tokens.el);
    await this.tokens.load();
  }

  async start() {
    const s = await session();
    // Each part follows its own permission (the server checks them again).
    const may = (p) => !!s && Array.isArray(s.permissions) && s.permissions.includes(p);
    for (const p of PARTS) if (!p.needs || may(p.needs)) this.allowed.add(p.id);
    this.admin = may('settings.manage');
    this.sitesAdmin = may('sites.manage');
    this.campaignsAdmin = may('campaigns.manage');
    this.me = s && typeof s.email === 'string' ? s.email : '';
    this.permissions = s && Array.isArray(s.permissions) ? s.permissions : [];
    this.known = true;
    this.renderNav();
    this.show(partOf(location.pathname) ?? '');
    this.email.setAdmin(this.admin);
    this.hours.setAdmin(this.admin);
    this.webhooks.setAdmin(this.admin);
    this.renderRole();
    await Promise.all([
      this.loadSettings(),
      this.loadStorage(),
      // Asked for only with the settings permission (the API refuses others).
      this.email.load(),
      this.hours.load(),
      this.webhooks.load(),
      this.loadCanned(),
      // The rule form and the privacy notices (admins only) use the sites the tracking block loads.
      this.tracking.load().then((sites) => {
        this.rules.setSites(sites);
        this.notices.setSites(sites);
        this.relevanceSites(sites);
      }),
      this.rules.load(),
      this.sites.load(),
    ]);
  }

  /** The weights editor, for those who manage sites (the API refuses others). */
  relevanceSites(sites) {
    if (this.sitesAdmin) this.relevance.setSites(sites);
  }

  // ----- general -----

  buildGeneral() {
    this.storage = h('p', { id: 'set-files-storage', class: 'hint', hidden: true });
    return h(
      'section',
      { class: 'panel settings-panel', 'aria-labelledby': 'set-general-title' },
      h('h2', { id: 'set-general-title', text: t('dashboard.settings.general_title') }),
      h('p', { class: 'hint', text: t('dashboard.settings.general_text') }),
      this.storage,
    );
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
    // The automatic message when an agent takes a chat (the business's own words).
    this.acceptDe = h('input', { id: 'set-accept-de', maxlength: 500, disabled: true, 'aria-describedby': 'set-accept-hint' });
    this.acceptEn = h('input', { id: 'set-accept-en', maxlength: 500, disabled: true, 'aria-describedby': 'set-accept-hint' });
    this.alertSecs = h('input', { id: 'set-queue-alert', type: 'number', min: 0, max: 3600, step: 1, disabled: true, 'aria-describedby': 'set-queue-alert-hint' });
    this.offerSecs = h('input', { id: 'set-offline-offer', type: 'number', min: 0, max: 3600, step: 1, disabled: true, 'aria-describedby': 'set-offline-offer-hint' });
    this.acceptSave = h('button', { type: 'submit', disabled: true, text: t('dashboard.settings.accept_save') });
    this.acceptStatus = h('p', { class: 'form-status', role: 'status' });
    const acceptForm = h(
      'form',
      { class: 'settings-accept', onsubmit: (e) => this.saveAccept(e) },
      h('h3', { text: t('dashboard.settings.accept_title') }),
      h('p', { id: 'set-accept-hint', class: 'hint', text: t('dashboard.settings.accept_hint') }),
      field(t('dashboard.settings.accept_de'), this.acceptDe),
      field(t('dashboard.settings.accept_en'), this.acceptEn),
      field(t('dashboard.settings.queue_alert'), this.alertSecs),
      h('p', { id: 'set-queue-alert-hint', class: 'hint', text: t('dashboard.settings.queue_alert_hint') }),
      field(t('dashboard.settings.offline_offer'), this.offerSecs),
      h('p', { id: 'set-offline-offer-hint', class: 'hint', text: t('dashboard.settings.offline_offer_hint') }),
      h('div', { class: 'form-buttons' }, this.acceptSave),
      this.acceptStatus,
    );
    return h(
      'section',
      { class: 'panel settings-panel', 'aria-labelledby': 'set-chat-title' },
      h('h2', { id: 'set-chat-title', text: t('dashboard.settings.chat_title') }),
      checkField(this.preview, t('dashboard.settings.typing_preview')),
      h('p', { id: 'set-typing-preview-text', class: 'hint', text: t('dashboard.settings.typing_preview_text') }),
      this.previewWho,
      this.previewStatus,
      acceptForm,
    );
  }

  async saveAccept(e) {
    e.preventDefault();
    if (!this.admin) return;
    this.acceptStatus.textContent = t('dashboard.settings.saving');
    const json = { accept_message_de: this.acceptDe.value, accept_message_en: this.acceptEn.value };
    const secs = Number(this.alertSecs.value);
    if (this.alertSecs.value !== '' && Number.isInteger(secs)) json.queue_alert_secs = secs;
    const offer = Number(this.offerSecs.value);
    if (this.offerSecs.value !== '' && Number.isInteger(offer)) json.offline_offer_secs = offer;
    const res = await request('PUT', '/api/settings', { json });
    this.acceptStatus.textContent = res.ok ? t('dashboard.settings.accept_saved') : httpError(res);
    if (res.ok && res.data) {
      this.acceptDe.value = res.data.accept_message_de || '';
      this.acceptEn.value = res.data.accept_message_en || '';
      if (Number.isInteger(res.data.queue_alert_secs)) this.alertSecs.value = String(res.data.queue_alert_secs);
      if (Number.isInteger(res.data.offline_offer_secs)) this.offerSecs.value = String(res.data.offline_offer_secs);
    }
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
    this.campaigns?.setAdmin(this.campaignsAdmin);
    this.goals?.setAdmin(this.campaignsAdmin);
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
    this.acceptDe.value = typeof res.data.accept_message_de === 'string' ? res.data.accept_message_de : '';
    this.acceptEn.value = typeof res.data.accept_message_en === 'string' ? res.data.accept_message_en : '';
    if (Number.isInteger(res.data.queue_alert_secs)) this.alertSecs.value = String(res.data.queue_alert_secs);
    if (Number.isInteger(res.data.offline_offer_secs)) this.offerSecs.value = String(res.data.offline_offer_secs);
    for (const el of [this.acceptDe, this.acceptEn, this.alertSecs, this.offerSecs, this.acceptSave]) el.disabled = !this.admin;
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
