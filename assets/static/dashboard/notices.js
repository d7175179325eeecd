// Settings → Privacy notice at the chat opt-in: per website, the versions of the text visitors
// agree to before a chat starts (German and English). A saved version never changes; a new one
// is added instead, and each chat keeps the number of the version its visitor agreed to.
// `GET/POST /api/sites/{key}/notices` (admins only: others do not see the panels).
// The texts are set as text only (dom.js).

import { h, srOnly, whileBusy } from './dom.js';
import { t, formatDateTime, formatNumber } from './i18n.js';
import { request, httpError, serverError } from './api.js';
import { showFieldError } from './form.js';
import { captionedTable } from './tables.js';

/** Characters per text, as the server counts them (after trimming). */
const MIN_CHARS = 20;
const MAX_CHARS = 4000;
const LANGS = ['de', 'en'];

const isInt = (v) => Number.isSafeInteger(v);
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v) => (typeof v === 'string' ? v : '');
const chars = (s) => [...s].length;

/** A version from the API, or null. Version 1 is kontor's built-in text (no texts). */
export function parseNotice(n) {
  if (!n || typeof n !== 'object' || !isInt(n.version)) return null;
  return {
    version: n.version,
    builtin: n.builtin === true,
    text_de: str(n.text_de),
    text_en: str(n.text_en),
    created_at: num(n.created_at),
    created_by: str(n.created_by),
    consents: num(n.consents),
  };
}

const dash = () => h('span', {}, h('span', { class: 'muted', 'aria-hidden': 'true', text: '–' }), srOnly(t('dashboard.notices.none')));

/** A unix time as local date and time; a dash without one. */
function timeEl(sec) {
  if (!(sec > 0)) return dash();
  const d = new Date(sec * 1000);
  return h('time', { datetime: d.toISOString(), text: formatDateTime(d) });
}

/** The panels, one per website; shown to admins only (the API answers others 403). */
export class NoticesBlock {
  constructor() {
    this.admin = false;
    this.sites = null;
    this.panels = [];
    this.el = h('div', { id: 'notices-settings', class: 'notices-list', hidden: true });
  }

  setAdmin(admin) {
    this.admin = admin;
    this.el.hidden = !admin;
    this.render();
  }

  /** The sites the tracking block loaded (null when that failed). */
  setSites(sites) {
    this.sites = Array.isArray(sites) ? sites : null;
    this.render();
  }

  render() {
    if (!this.admin || !this.sites) {
      this.panels = [];
      this.el.replaceChildren();
      return;
    }
    this.panels = this.sites.map((s, i) => new NoticePanel(s, i));
    this.el.replaceChildren(...this.panels.map((p) => p.el));
    for (const p of this.panels) p.load();
  }
}

/** One website's versions and the form for the next one. */
class NoticePanel {
  constructor(site, i) {
    this.site = site;
    this.base = `notices-${i}`;
    this.seq = 0;
    this.current = null; // the version shown to visitors now
    this.prefilled = null; // {de, en} put into the form, to tell whether it was edited since
    this.el = this.build();
  }

  id(part) {
    return `${this.base}-${part}`;
  }

  build() {
    const key = this.site.key;
    this.status = h('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
    this.loadError = h('p', { class: 'form-error', role: 'alert' });
    this.tbody = h('tbody');
    this.table = captionedTable(
      { class: 'data-table notice-versions', id: this.id('versions') },
      t('dashboard.notices.caption', { site: key }),
      [
        t('dashboard.notices.col.version'),
        t('dashboard.notices.col.created'),
        t('dashboard.notices.col.by'),
        { label: t('dashboard.notices.col.consents'), num: true },
        t('dashboard.notices.col.text'),
      ],
      this.tbody,
    );
    return h(
      'section',
      {
        class: 'panel settings-panel notices',
        'data-site': key,
        'aria-labelledby': `${this.id('title')} ${this.id('site')}`,
      },
      h('h2', { id: this.id('title'), text: t('dashboard.notices.title') }),
      h('p', { id: this.id('site'), class: 'notices-site' }, `${t('dashboard.notices.site')} `, h('span', { class: 'site-title', text: key })),
      h('p', { class: 'hint', text: t('dashboard.notices.intro') }),
      this.loadError,
      h('div', { class: 'table-wrap' }, this.table),
      this.buildForm(),
    );
  }

  buildForm() {
    const hintId = this.id('hint');
    const area = (lang) =>
      h('textarea', {
        id: this.id(lang),
        name: `text_${lang}`,
        lang,
        rows: '6',
        minlength: String(MIN_CHARS),
        maxlength: String(MAX_CHARS),
        required: true,
        disabled: true, // until the versions are loaded (the form starts with the current texts)
        'aria-describedby': hintId,
      });
    this.fields = { de: area('de'), en: area('en') };
    this.error = h('p', { id: this.id('error'), class: 'form-error', role: 'alert' });
    this.save = h('button', { type: 'submit', disabled: true, text: t('dashboard.notices.save') });
    return h(
      'form',
      {
        class: 'notice-form',
        novalidate: true,
        'aria-labelledby': `${this.id('form-title')} ${this.id('site')}`,
        onsubmit: (e) => this.submit(e),
      },
      h('h3', { id: this.id('form-title'), text: t('dashboard.notices.form_title') }),
      h(
        'div',
        { class: 'notice-fields' },
        LANGS.map((lang) =>
          h(
            'div',
            { class: 'field' },
            h('label', { for: this.id(lang), text: t(`dashboard.notices.text_${lang}`) }),
            this.fields[lang],
          ),
        ),
      ),
      h('p', {
        id: hintId,
        class: 'hint',
        text: t('dashboard.notices.text_hint', { min: formatNumber(MIN_CHARS), max: formatNumber(MAX_CHARS) }),
      }),
      this.error,
      h('div', { class: 'form-buttons' }, this.save),
      this.status,
    );
  }

  /** Loads the versions; the form gets the current texts unless it was edited meanwhile. */
  async load() {
    const seq = ++this.seq;
    this.table.setAttribute('aria-busy', 'true');
    const res = await request('GET', `/api/sites/${encodeURIComponent(this.site.key)}/notices`);
    if (seq !== this.seq) return; // a newer load is under way
    this.table.removeAttribute('aria-busy');
    if (!res.ok || !res.data || !Array.isArray(res.data.versions)) {
      this.loadError.textContent = res.ok || res.status === 404 ? t('dashboard.settings.load_failed') : httpError(res);
      return false;
    }
    this.loadError.textContent = '';
    const versions = res.data.versions
      .map(parseNotice)
      .filter(Boolean)
      .sort((a, b) => b.version - a.version);
    const currentNo = isInt(res.data.current) ? res.data.current : versions.length ? versions[0].version : null;
    this.current = versions.find((v) => v.version === currentNo) || null;
    this.renderVersions(versions, currentNo);
    this.prefill();
    for (const f of Object.values(this.fields)) f.disabled = false;
    this.save.disabled = false;
    return true;
  }

  renderVersions(versions, currentNo) {
    if (!versions.length) {
      this.tbody.replaceChildren(h('tr', {}, h('td', { colspan: '5', class: 'empty', text: t('dashboard.notices.empty') })));
      return;
    }
    this.tbody.replaceChildren(...versions.map((v) => this.buildRow(v, v.version === currentNo)));
  }

  buildRow(v, current) {
    return h(
      'tr',
      { 'data-version': v.version, 'data-current': current ? 'true' : null, 'aria-current': current ? 'true' : null },
      h(
        'th',
        { scope: 'row' },
        formatNumber(v.version),
        current ? [' ', h('span', { class: 'tag tag-on', text: t('dashboard.notices.current') })] : null,
      ),
      h('td', {}, v.builtin ? dash() : timeEl(v.created_at)),
      h('td', { class: 'cell-email' }, v.created_by ? v.created_by : dash()),
      h('td', { class: 'num', text: formatNumber(v.consents) }),
      h('td', {}, v.builtin ? h('span', { class: 'muted notice-builtin', text: t('dashboard.notices.builtin') }) : this.textDetails(v)),
    );
  }

  /** Both texts of a version, folded away; line breaks as written. */
  textDetails(v) {
    return h(
      'details',
      { class: 'notice-text' },
      h(
        'summary',
        {},
        h('span', { 'aria-hidden': 'true', text: t('dashboard.notices.show_text') }),
        srOnly(t('dashboard.notices.show_text_label', { version: formatNumber(v.version) })),
      ),
      h(
        'dl',
        { class: 'notice-texts' },
        LANGS.flatMap((lang) => [
          h('dt', { text: t(`dashboard.notices.lang_${lang}`) }),
          h('dd', { class: 'notice-body', lang, text: v[`text_${lang}`] }),
        ]),
      ),
    );
  }

  /** Whether the form still holds what was put into it (or nothing at all). */
  untouched() {
    const p = this.prefilled || { de: '', en: '' };
    return LANGS.every((lang) => this.fields[lang].value === p[lang]);
  }

  /** The current version's texts into the form, unless the admin has typed something. */
  prefill() {
    if (!this.untouched()) return;
    const c = this.current && !this.current.builtin ? this.current : null;
    const next = { de: c ? c.text_de : '', en: c ? c.text_en : '' };
    for (const lang of LANGS) this.fields[lang].value = next[lang];
    this.prefilled = next;
  }

  fieldError(field, text) {
    showFieldError(this.error, Object.values(this.fields), field, text);
  }

  async submit(e) {
    e.preventDefault();
    if (this.save.disabled) return;
    const body = {};
    for (const lang of LANGS) {
      const el = this.fields[lang];
      const text = el.value.trim();
      const n = chars(text);
      if (n < MIN_CHARS || n > MAX_CHARS) {
        this.status.textContent = '';
        this.fieldError(
          el,
          t(`dashboard.notices.bad_${lang}`, { min: formatNumber(MIN_CHARS), max: formatNumber(MAX_CHARS), n: formatNumber(n) }),
        );
        return;
      }
      body[`text_${lang}`] = text;
    }
    this.fieldError(null, '');
    await whileBusy(this.save, () => this.send(body));
  }

  async send(body) {
    this.status.textContent = t('dashboard.settings.saving');
    const res = await request('POST', `/api/sites/${encodeURIComponent(this.site.key)}/notices`, { json: body });
    if (!res.ok) {
      this.status.textContent = '';
      this.error.textContent = res.status === 400 && res.message ? res.message : serverError(res);
      return;
    }
    const saved = parseNotice(res.data);
    // The form now holds the newest version: it follows the reload like a prefill.
    if (saved && !saved.builtin) {
      this.fields.de.value = saved.text_de;
      this.fields.en.value = saved.text_en;
    }
    this.prefilled = { de: this.fields.de.value, en: this.fields.en.value };
    await this.load();
    this.status.textContent = saved
      ? t('dashboard.notices.saved', { version: formatNumber(saved.version) })
      : t('dashboard.notices.saved_plain');
  }
}
