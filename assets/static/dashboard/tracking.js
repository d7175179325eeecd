// Settings → Visitor tracking: per website, what the widget reports about page views (off,
// anonymous, consented) and which query parameters it strips from addresses first.
// `GET /api/sites`, `PUT /api/sites/{key}/tracking` (admins; others see the values read-only).

import { h } from './dom.js';
import { t } from './i18n.js';
import { request, serverError } from './api.js';
import { showFieldError, field, growField, hint } from './form.js';

export const MODES = ['off', 'anonymous', 'consented'];
/** Parameter names as the widget sees them; `*` = all but utm_*. */
const PARAM = /^[A-Za-z0-9_.\-[\]]{1,64}$/;

/** A site from the API, or null. */
export function parseSite(s) {
  if (!s || typeof s !== 'object' || typeof s.site_key !== 'string' || !s.site_key) return null;
  return {
    key: s.site_key,
    origins: Array.isArray(s.origins) ? s.origins.filter((o) => typeof o === 'string') : [],
    tracking: MODES.includes(s.tracking) ? s.tracking : 'anonymous',
    strip: Array.isArray(s.strip) ? s.strip.filter((p) => typeof p === 'string') : ['*'],
  };
}

/** "utm_x, gclid" → ["utm_x", "gclid"]; a `*` anywhere means all (but utm_*). */
export function parseStrip(text) {
  const names = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (names.includes('*')) return ['*'];
  return [...new Set(names)];
}

export class TrackingBlock {
  constructor() {
    this.admin = false;
    this.sites = [];
    this.status = h('p', { class: 'form-status', role: 'status' });
    this.who = h('p', { class: 'hint', hidden: true, text: t('dashboard.settings.admins_only') });
    this.list = h('div', { id: 'site-list', class: 'site-list' });
    this.empty = h('p', { class: 'empty', hidden: true, text: t('dashboard.tracking.no_sites') });
    this.el = h(
      'section',
      { class: 'panel settings-panel', id: 'tracking-settings', 'aria-labelledby': 'set-tracking-title' },
      h('h2', { id: 'set-tracking-title', text: t('dashboard.tracking.title') }),
      h('p', { class: 'hint', text: t('dashboard.tracking.intro') }),
      h(
        'ul',
        { class: 'mode-help' },
        MODES.map((m) =>
          h(
            'li',
            {},
            h('strong', { text: t(`dashboard.tracking.mode.${m}`) }),
            ': ',
            t(`dashboard.tracking.mode_help.${m}`),
          ),
        ),
      ),
      this.who,
      this.status,
      this.list,
      this.empty,
    );
  }

  setAdmin(admin) {
    this.admin = admin;
    this.who.hidden = admin;
    this.render();
  }

  /** Loads the sites; resolves to them (the rules editor offers them), or null. */
  async load() {
    const res = await request('GET', '/api/sites');
    if (!res.ok || !res.data || !Array.isArray(res.data.sites)) {
      this.status.textContent = res.status === 403 ? t('dashboard.http.forbidden') : t('dashboard.settings.load_failed');
      return null;
    }
    this.sites = res.data.sites.map(parseSite).filter(Boolean);
    this.status.textContent = '';
    this.render();
    return this.sites;
  }

  render() {
    this.list.replaceChildren(...this.sites.map((s, i) => this.buildSite(s, i)));
    this.empty.hidden = this.sites.length > 0;
  }

  buildSite(site, i) {
    const base = `site-${i}`;
    const mode = h(
      'select',
      {
        id: `${base}-tracking`,
        name: 'tracking',
        disabled: !this.admin,
        'aria-describedby': `${base}-tracking-help`,
      },
      MODES.map((m) => h('option', { value: m, text: t(`dashboard.tracking.mode.${m}`) })),
    );
    mode.value = site.tracking;
    const help = h('span', { id: `${base}-tracking-help`, class: 'hint' });
    const renderHelp = () => {
      help.textContent = t(`dashboard.tracking.mode_help.${mode.value}`);
    };
    mode.addEventListener('change', renderHelp);
    renderHelp();
    const strip = h('input', {
      id: `${base}-strip`,
      name: 'strip',
      maxlength: '2000',
      autocomplete: 'off',
      spellcheck: 'false',
      disabled: !this.admin,
      'aria-describedby': `${base}-strip-hint`,
    });
    strip.value = site.strip.join(', ');
    const error = h('p', { id: `${base}-error`, class: 'form-error', role: 'alert' });
    const status = h('p', { class: 'form-status', role: 'status' });
    const save = h('button', { type: 'submit', hidden: !this.admin, text: t('dashboard.tracking.save') });
    const form = h(
      'form',
      {
        class: 'site-tracking',
        'data-site-key': site.key,
        novalidate: true,
        'aria-labelledby': `${base}-title`,
        onsubmit: (e) => {
          e.preventDefault();
          this.save(site, { mode, strip, error, status, save });
        },
      },
      h('h3', { id: `${base}-title`, class: 'site-title', text: site.key }),
      site.origins.length
        ? h('p', { class: 'hint site-origins', text: t('dashboard.tracking.origins', { origins: site.origins.join(', ') }) })
        : null,
      h(
        'div',
        { class: 'site-fields' },
        field(t('dashboard.tracking.mode_label'), mode, help),
        growField(t('dashboard.tracking.strip'), strip, hint(`${base}-strip-hint`, t('dashboard.tracking.strip_hint'))),
        h('div', { class: 'field field-button' }, save),
      ),
      error,
      status,
    );
    return form;
  }

  async save(site, f) {
    if (!this.admin) return;
    const tracking = f.mode.value;
    const strip = parseStrip(f.strip.value);
    const bad = strip.find((p) => p !== '*' && !PARAM.test(p));
    f.status.textContent = '';
    if (bad !== undefined) {
      showFieldError(f.error, [f.strip], f.strip, t('dashboard.tracking.bad_param', { name: bad }));
      return;
    }
    showFieldError(f.error, [f.strip], null, '');
    f.save.disabled = true;
    f.status.textContent = t('dashboard.settings.saving');
    const res = await request('PUT', `/api/sites/${encodeURIComponent(site.key)}/tracking`, { json: { tracking, strip } });
    f.save.disabled = false;
    if (!res.ok) {
      f.status.textContent = '';
      f.error.textContent = serverError(res);
      return;
    }
    const saved = parseSite(res.data) || { ...site, tracking, strip };
    site.tracking = saved.tracking;
    site.strip = saved.strip;
    f.mode.value = site.tracking;
    f.strip.value = site.strip.join(', ');
    f.status.textContent = t('dashboard.tracking.saved', { mode: t(`dashboard.tracking.mode.${site.tracking}`) });
  }
}
