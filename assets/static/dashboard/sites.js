// Settings → Sites and widget: the tenant's websites, their allowed origins, and how the chat
// widget looks and what it says there (colour, corner, texts in German and English, logo,
// agent names), with a live preview and the snippet to embed. `GET/POST /api/sites`,
// `PUT/DELETE /api/sites/{key}`, `PUT/DELETE /api/sites/{key}/logo` (the sites permission);
// the pre-chat form (prechat-editor.js), its online look-up address (lookup-editor.js) and the
// questions and answers (faq-editor.js) below a site's form.

import { h } from './dom.js';
import { t, lang as uiLang } from './i18n.js';
import { request, session, serverError } from './api.js';
import { showFieldError, field, checkField, hint } from './form.js';
import { PrechatEditor } from './prechat-editor.js';
import { LookupEditor } from './lookup-editor.js';
import { FaqEditor } from './faq-editor.js';

const LANGS = ['en', 'de', 'fr', 'es', 'it', 'nl', 'pl'];
const TEXTS = [
  ['launcher_label', 40, false],
  ['title', 60, false],
  ['greeting', 300, true],
  ['offline', 300, true],
];
const LOGO_MAX = 256 * 1024;
const str = (v) => (typeof v === 'string' ? v : '');

/** Relative luminance of #rrggbb (WCAG 2). */
function luminance(hex) {
  const lin = [1, 3, 5]
    .map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

/** The text colour the widget puts on `hex` and its contrast ratio (as the server checks it). */
export function textOn(hex) {
  const y = luminance(hex);
  const white = 1.05 / (y + 0.05);
  if (white >= (y + 0.05) / 0.05) return { fg: '#ffffff', ratio: white };
  return { fg: '#111111', ratio: (y + 0.05) / (luminance('#111111') + 0.05) };
}

/** A site from the API, or null. */
function parseSite(s) {
  if (!s || typeof s !== 'object' || typeof s.site_key !== 'string') return null;
  const site = {
    key: s.site_key,
    origins: Array.isArray(s.origins) ? s.origins.filter((o) => typeof o === 'string') : [],
    color: /^#[0-9a-f]{6}$/i.test(s.color) ? s.color : '#0a5bd3',
    position: s.position === 'bottom-left' ? 'bottom-left' : 'bottom-right',
    lang: LANGS.includes(s.lang) ? s.lang : 'en',
    privacy_url: str(s.privacy_url),
    show_agent_names: s.show_agent_names !== false,
    logo: typeof s.logo === 'string' && s.logo.startsWith('/widget/logo/') ? s.logo : '',
    snippet: str(s.snippet),
  };
  for (const [name] of TEXTS) for (const l of ['de', 'en']) site[`${name}_${l}`] = str(s[`${name}_${l}`]);
  return site;
}

export class SitesBlock {
  constructor() {
    this.admin = false;
    this.sites = [];
    this.status = h('p', { class: 'form-status', role: 'status' });
    this.list = h('ul', { id: 'sites-list', class: 'sites-list' });
    this.empty = h('p', { class: 'empty', hidden: true, text: t('dashboard.sites.empty') });
    this.addBtn = h('button', { type: 'button', id: 'sites-add', hidden: true, text: t('dashboard.sites.add'), onclick: () => this.edit(null) });
    this.formBox = h('div', { id: 'sites-form-box' });
    this.el = h(
      'section',
      { class: 'panel settings-panel', id: 'sites-settings', 'aria-labelledby': 'sites-title' },
      h('h2', { id: 'sites-title', text: t('dashboard.sites.title') }),
      h('p', { class: 'hint', text: t('dashboard.sites.intro') }),
      this.status,
      this.list,
      this.empty,
      this.addBtn,
      this.formBox,
    );
  }

  async load() {
    const s = await session();
    this.admin = !!s && Array.isArray(s.permissions) && s.permissions.includes('sites.manage');
    const res = await request('GET', '/api/sites');
    if (!res.ok || !res.data || !Array.isArray(res.data.sites)) {
      this.status.textContent = t('dashboard.settings.load_failed');
      return;
    }
    this.sites = res.data.sites.map(parseSite).filter(Boolean);
    this.render();
  }

  render() {
    this.addBtn.hidden = !this.admin;
    this.empty.hidden = this.sites.length > 0;
    this.list.replaceChildren(
      ...this.sites.map((s) =>
        h(
          'li',
          { class: 'sites-item', 'data-site-key': s.key },
          h('strong', { text: s.origins.join(', ') || s.key }),
          ' ',
          h('span', { class: 'hint', text: s.key }),
          this.admin
            ? h('button', { type: 'button', class: 'btn-secondary btn-small sites-edit', text: t('dashboard.sites.edit'), 'aria-label': t('dashboard.sites.edit_named', { site: s.origins[0] || s.key }), onclick: () => this.edit(s) })
            : null,
        ),
      ),
    );
  }

  /** Opens the form for `site`, or for a new site when null. */
  edit(site) {
    const s = site || parseSite({ site_key: '', origins: [] });
    const f = {};
    const input = (name, props = {}) => (f[name] = h('input', { id: `sites-f-${name}`, name, autocomplete: 'off', ...props }));
    input('origins', { 'aria-describedby': 'sites-f-origins-hint' }).value = s.origins.join(' ');
    input('color', { type: 'color' }).value = s.color;
    f.position = h('select', { id: 'sites-f-position', name: 'position' }, ['bottom-right', 'bottom-left'].map((p) => h('option', { value: p, text: t(`dashboard.sites.position.${p}`) })));
    f.position.value = s.position;
    f.lang = h('select', { id: 'sites-f-lang', name: 'lang' }, LANGS.map((l) => h('option', { value: l, text: t(`dashboard.sites.lang.${l}`) })));
    f.lang.value = s.lang;
    input('privacy_url', { type: 'url', maxlength: '500' }).value = s.privacy_url;
    const textFields = [];
    for (const [name, max, long] of TEXTS) {
      for (const l of ['de', 'en']) {
        const key = `${name}_${l}`;
        const el = long
          ? h('textarea', { id: `sites-f-${key}`, name: key, rows: '2', maxlength: String(max) })
          : h('input', { id: `sites-f-${key}`, name: key, maxlength: String(max), autocomplete: 'off' });
        el.value = s[key];
        f[key] = el;
        textFields.push(field(t(`dashboard.sites.field.${name}_${l}`), el));
      }
    }
    f.show_agent_names = h('input', { type: 'checkbox', id: 'sites-f-show_agent_names', name: 'show_agent_names' });
    f.show_agent_names.checked = s.show_agent_names;
    f.logo = h('input', { type: 'file', id: 'sites-f-logo', name: 'logo', accept: 'image/png,image/jpeg,image/webp,image/gif', 'aria-describedby': 'sites-f-logo-hint' });
    const dropLogo = h('button', { type: 'button', class: 'btn-secondary', hidden: !s.logo, text: t('dashboard.sites.logo_remove') });
    const error = h('p', { id: 'sites-form-error', class: 'form-error', role: 'alert' });
    const status = h('p', { class: 'form-status', role: 'status' });
    const fields = Object.values(f);

    // The preview: the launcher and the open chat's header and greeting, as a visitor sees them.
    const pvLauncher = h('span', { class: 'sites-pv-launcher', 'aria-hidden': 'true', text: '💬' });
    const pvLogo = h('img', { class: 'sites-pv-logo', alt: '', hidden: true });
    const pvTitle = h('strong', { class: 'sites-pv-title' });
    const pvHeader = h('div', { class: 'sites-pv-header' }, pvLogo, pvTitle);
    const pvGreeting = h('p', { class: 'sites-pv-greeting' });
    const pvLabel = h('p', { class: 'hint' });
    const pvContrast = h('p', { id: 'sites-f-color-hint', class: 'hint' });
    f.color.setAttribute('aria-describedby', 'sites-f-color-hint');
    let logoUrl = s.logo;
    const preview = () => {
      const pick = (name) => {
        const de = f[`${name}_de`].value.trim();
        const en = f[`${name}_en`].value.trim();
        return uiLang === 'de' ? de || en : en || de;
      };
      const c = /^#[0-9a-f]{6}$/i.test(f.color.value) ? f.color.value : '#0a5bd3';
      const { fg, ratio } = textOn(c);
      for (const el of [pvLauncher, pvHeader]) {
        el.style.background = c;
        el.style.color = fg;
      }
      pvLauncher.style.float = f.position.value === 'bottom-left' ? 'left' : 'right';
      pvTitle.textContent = pick('title') || t('dashboard.sites.default_title');
      pvGreeting.textContent = pick('greeting');
      pvGreeting.hidden = !pvGreeting.textContent;
      pvLabel.textContent = t('dashboard.sites.preview_label', { label: pick('launcher_label') || t('dashboard.sites.default_label') });
      pvContrast.textContent = t(ratio >= 4.5 ? 'dashboard.sites.contrast_ok' : 'dashboard.sites.contrast_low', { ratio: (Math.floor(ratio * 10) / 10).toFixed(1) });
      pvLogo.hidden = !logoUrl;
      if (logoUrl) pvLogo.src = logoUrl;
    };
    f.logo.addEventListener('change', () => {
      const file = f.logo.files && f.logo.files[0];
      if (!file || file.size > LOGO_MAX) return;
      // A data: address (the dashboard's CSP allows no blob: images).
      const reader = new FileReader();
      reader.onload = () => {
        if (typeof reader.result === 'string' && reader.result.startsWith('data:image/')) logoUrl = reader.result;
        preview();
      };
      reader.readAsDataURL(file);
    });

    const save = h('button', { type: 'submit', text: t(site ? 'dashboard.sites.save' : 'dashboard.sites.create') });
    const cancel = h('button', { type: 'button', class: 'btn-secondary', text: t('dashboard.sites.cancel'), onclick: () => this.formBox.replaceChildren() });
    const title = site ? t('dashboard.sites.edit_title', { site: s.origins[0] || s.key }) : t('dashboard.sites.add_title');
    const snippet = site
      ? h(
          'div',
          { class: 'sites-snippet' },
          h('h4', { id: 'sites-snippet-title', text: t('dashboard.sites.snippet') }),
          h('pre', { 'aria-labelledby': 'sites-snippet-title' }, h('code', { id: 'sites-snippet-code', text: s.snippet })),
          h('button', {
            type: 'button',
            id: 'sites-snippet-copy',
            class: 'btn-secondary',
            text: t('dashboard.sites.copy'),
            onclick: async () => {
              try {
                await navigator.clipboard.writeText(s.snippet);
                status.textContent = t('dashboard.sites.copied');
              } catch {
                status.textContent = t('dashboard.sites.copy_failed');
              }
            },
          }),
        )
      : null;
    const removeBox = h('div', { class: 'sites-remove' });
    const askRemove = () => {
      const yes = h('button', { type: 'button', class: 'btn-danger', id: 'sites-remove-yes', text: t('dashboard.sites.remove_yes') });
      const no = h('button', { type: 'button', class: 'btn-secondary', text: t('dashboard.sites.cancel'), onclick: () => removeBox.replaceChildren(removeBtn) });
      yes.onclick = () => this.remove(s, status, error);
      removeBox.replaceChildren(h('p', { id: 'sites-remove-q', text: t('dashboard.sites.remove_confirm') }), yes, no);
      yes.focus();
    };
    const removeBtn = h('button', { type: 'button', class: 'btn-danger', id: 'sites-remove', text: t('dashboard.sites.remove'), onclick: askRemove });
    removeBox.append(removeBtn);
    dropLogo.onclick = async () => {
      const res = await request('DELETE', `/api/sites/${encodeURIComponent(s.key)}/logo`);
      if (!res.ok) return void showFieldError(error, fields, f.logo, serverError(res));
      logoUrl = '';
      dropLogo.hidden = true;
      preview();
      status.textContent = t('dashboard.sites.saved');
    };

    const form = h(
      'form',
      { id: 'sites-form', class: 'sites-form', novalidate: true, 'aria-labelledby': 'sites-form-title', oninput: preview, onchange: preview, onsubmit: (e) => this.submit(e, site, f, { error, status, fields, save }) },
      h('h3', { id: 'sites-form-title', text: title }),
      field(t('dashboard.sites.field.origins'), f.origins, hint('sites-f-origins-hint', t('dashboard.sites.origins_hint'))),
      h('div', { class: 'site-fields' }, field(t('dashboard.sites.field.color'), f.color, pvContrast), field(t('dashboard.sites.field.position'), f.position), field(t('dashboard.sites.field.lang'), f.lang)),
      field(t('dashboard.sites.field.privacy_url'), f.privacy_url),
      h('div', { class: 'sites-texts' }, ...textFields),
      checkField(f.show_agent_names, t('dashboard.sites.field.show_agent_names')),
      field(t('dashboard.sites.field.logo'), f.logo, hint('sites-f-logo-hint', t('dashboard.sites.logo_hint')), dropLogo),
      h('div', { class: 'sites-preview', role: 'group', 'aria-label': t('dashboard.sites.preview') }, h('h4', { text: t('dashboard.sites.preview') }), h('div', { class: 'sites-pv-frame' }, pvHeader, pvGreeting), pvLauncher, pvLabel),
      error,
      h('div', { class: 'form-actions' }, save, cancel),
      status,
      snippet,
      site ? removeBox : null,
    );
    this.formBox.replaceChildren(form);
    // The pre-chat form is its own form: it is saved on its own, for a site that exists.
    if (site) this.formBox.append(new PrechatEditor(site.key).el, new LookupEditor(site.key).el, new FaqEditor(site.key).el);
    preview();
    f.origins.focus();
  }

  async submit(e, site, f, ui) {
    e.preventDefault();
    showFieldError(ui.error, ui.fields, null, '');
    const body = {
      origins: f.origins.value.split(/[\s,]+/).filter(Boolean),
      color: f.color.value,
      position: f.position.value,
      lang: f.lang.value,
      privacy_url: f.privacy_url.value.trim(),
      show_agent_names: f.show_agent_names.checked,
    };
    for (const [name] of TEXTS) for (const l of ['de', 'en']) body[`${name}_${l}`] = f[`${name}_${l}`].value;
    const file = f.logo.files && f.logo.files[0];
    if (file && file.size > LOGO_MAX) return void showFieldError(ui.error, ui.fields, f.logo, t('dashboard.sites.logo_too_big'));
    ui.save.disabled = true;
    ui.status.textContent = t('dashboard.settings.saving');
    const res = site
      ? await request('PUT', `/api/sites/${encodeURIComponent(site.key)}`, { json: body })
      : await request('POST', '/api/sites', { json: body });
    let saved = res.ok ? parseSite(res.data) : null;
    if (saved && file) {
      const up = await request('PUT', `/api/sites/${encodeURIComponent(saved.key)}/logo`, { body: file, headers: { 'Content-Type': file.type || 'application/octet-stream' } });
      if (!up.ok) {
        ui.save.disabled = false;
        ui.status.textContent = '';
        this.replace(saved);
        return void showFieldError(ui.error, ui.fields, f.logo, serverError(up));
      }
      saved = parseSite(up.data) || saved;
    }
    ui.save.disabled = false;
    if (!saved) {
      ui.status.textContent = '';
      // The server names the field first: "color: …", "greeting_de must …".
      const name = /^([a-z_]+)\b/.exec(res.message || '');
      showFieldError(ui.error, ui.fields, (name && f[name[1]]) || null, serverError(res));
      return;
    }
    this.replace(saved);
    this.edit(saved);
    this.formBox.querySelector('.form-status').textContent = t(site ? 'dashboard.sites.saved' : 'dashboard.sites.created');
  }

  replace(saved) {
    const i = this.sites.findIndex((x) => x.key === saved.key);
    if (i >= 0) this.sites[i] = saved;
    else this.sites.push(saved);
    this.render();
    this.changed();
  }

  /** Tells the settings page that the list of sites changed (other blocks offer them). */
  changed() {
    this.el.dispatchEvent(new CustomEvent('sites-changed', { bubbles: true }));
  }

  async remove(site, status, error) {
    const res = await request('DELETE', `/api/sites/${encodeURIComponent(site.key)}`);
    if (!res.ok) {
      error.textContent = serverError(res);
      return;
    }
    this.sites = this.sites.filter((x) => x.key !== site.key);
    this.formBox.replaceChildren();
    this.render();
    this.changed();
    this.status.textContent = t('dashboard.sites.removed', { site: site.origins[0] || site.key });
    this.addBtn.focus();
  }
}
