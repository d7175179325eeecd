// The agent's own profile (Settings › Profile): the name visitors see, the dashboard's
// language, the alerts for a newly waiting chat (sound, desktop notification) and the
// password. Every agent has it; the server checks the session and CSRF token. Changing the
// password ends every other sign-in; this one stays.

import { h } from './dom.js';
import { t } from './i18n.js';
import { request, httpError } from './api.js';
import { showFieldError, field, checkField } from './form.js';
import { notificationPermission, requestNotifications } from './alerts.js';

const NAME_MAX = 100;
// Control characters, line/paragraph separators, bidi overrides and isolates: the server
// refuses them too.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]/;

export class ProfileBlock {
  constructor() {
    this.profile = null;
    this.el = h('div', { class: 'profile-block' }, this.buildProfile(), this.buildPassword());
  }

  // ----- name, language, alerts -----

  buildProfile() {
    this.name = h('input', { id: 'profile-name', name: 'display_name', required: true, maxlength: String(NAME_MAX), autocomplete: 'name', 'aria-describedby': 'profile-name-hint' });
    this.lang = h(
      'select',
      { id: 'profile-lang', name: 'lang', 'aria-describedby': 'profile-lang-hint' },
      h('option', { value: '', text: t('dashboard.profile.lang_browser') }),
      h('option', { value: 'en', lang: 'en', text: 'English' }),
      h('option', { value: 'de', lang: 'de', text: 'Deutsch' }),
    );
    this.sound = h('input', { type: 'checkbox', id: 'profile-sound', name: 'notify_sound' });
    this.desktop = h('input', { type: 'checkbox', id: 'profile-desktop', name: 'notify_desktop', 'aria-describedby': 'profile-desktop-hint' });
    this.error = h('p', { id: 'profile-error', class: 'form-error', role: 'alert' });
    this.status = h('p', { id: 'profile-status', class: 'form-status', role: 'status' });
    this.save = h('button', { type: 'submit', id: 'profile-save', text: t('dashboard.profile.save') });
    this.desktopHint = h('span', { id: 'profile-desktop-hint', class: 'hint', text: '' });
    this.form = h(
      'form',
      { id: 'profile-form', novalidate: true, 'aria-labelledby': 'profile-title', onsubmit: (e) => this.submit(e) },
      field(t('dashboard.profile.name'), this.name, h('span', { id: 'profile-name-hint', class: 'hint', text: t('dashboard.profile.name_hint') })),
      field(t('dashboard.profile.lang'), this.lang, h('span', { id: 'profile-lang-hint', class: 'hint', text: t('dashboard.profile.lang_hint') })),
      h(
        'fieldset',
        { class: 'check-group' },
        h('legend', { text: t('dashboard.profile.alerts') }),
        checkField(this.sound, t('dashboard.profile.sound')),
        checkField(this.desktop, t('dashboard.profile.desktop')),
        this.desktopHint,
      ),
      this.error,
      h('div', { class: 'field-button' }, this.save),
    );
    return h(
      'section',
      { class: 'panel settings-panel', 'aria-labelledby': 'profile-title' },
      h('h2', { id: 'profile-title', text: t('dashboard.profile.title') }),
      h('p', { class: 'hint', text: t('dashboard.profile.intro') }),
      this.status,
      this.form,
    );
  }

  async load() {
    const res = await request('GET', '/api/me');
    if (!res.ok || !res.data || typeof res.data.display_name !== 'string') {
      this.status.textContent = t('dashboard.settings.load_failed');
      return;
    }
    this.show(res.data);
  }

  show(p) {
    this.profile = p;
    this.name.value = p.display_name;
    this.lang.value = p.lang === 'en' || p.lang === 'de' ? p.lang : '';
    this.sound.checked = p.notify_sound !== false;
    this.desktop.checked = p.notify_desktop !== false;
    this.renderDesktopHint();
  }

  renderDesktopHint() {
    const perm = notificationPermission();
    this.desktopHint.textContent =
      perm === 'denied' ? t('dashboard.notify.blocked') : perm === 'unsupported' ? t('dashboard.profile.desktop_unsupported') : '';
    this.desktopHint.hidden = !this.desktopHint.textContent;
  }

  fieldError(el, text) {
    showFieldError(this.error, [this.name, this.lang], el, text);
  }

  async submit(e) {
    e.preventDefault();
    const name = this.name.value.trim();
    if (!name || [...name].length > NAME_MAX) {
      this.fieldError(this.name, t('dashboard.profile.bad_name', { max: NAME_MAX }));
      return;
    }
    if (UNSAFE.test(name)) {
      this.fieldError(this.name, t('dashboard.profile.unsafe_name'));
      return;
    }
    this.fieldError(null, '');
    const body = {
      display_name: name,
      lang: this.lang.value,
      notify_sound: this.sound.checked,
      notify_desktop: this.desktop.checked,
    };
    const before = this.profile || {};
    this.save.disabled = true;
    this.status.textContent = t('dashboard.settings.saving');
    const res = await request('PUT', '/api/me', { json: body });
    this.save.disabled = false;
    if (!res.ok) {
      this.status.textContent = '';
      const target = res.status === 400 && /lang/.test(res.message) ? this.lang : res.status === 400 ? this.name : this.save;
      this.fieldError(target, res.status === 400 ? t('dashboard.profile.refused', { message: res.message }) : httpError(res));
      return;
    }
    this.show(res.data);
    // The page follows at once: the name at the top, the alerts' choices.
    const me = document.querySelector('.topbar .me strong');
    if (me) me.textContent = res.data.display_name;
    document.body.dataset.notifySound = res.data.notify_sound ? 'on' : 'off';
    document.body.dataset.notifyDesktop = res.data.notify_desktop ? 'on' : 'off';
    if (res.data.notify_desktop && !before.notify_desktop && notificationPermission() === 'default') {
      await requestNotifications();
      this.renderDesktopHint();
    }
    if ((res.data.lang || '') !== (before.lang || '')) {
      this.status.textContent = t('dashboard.profile.saved_reload');
      // The dashboard's texts come with the page: load it again in the new language.
      setTimeout(() => location.reload(), 600);
      return;
    }
    this.status.textContent = t('dashboard.profile.saved');
  }

  // ----- password -----

  buildPassword() {
    const pw = (id, name, autocomplete) =>
      h('input', { type: 'password', id, name, required: true, autocomplete, maxlength: '128' });
    this.current = pw('password-current', 'current', 'current-password');
    this.next = pw('password-new', 'new', 'new-password');
    this.repeat = pw('password-repeat', 'repeat', 'new-password');
    this.next.setAttribute('aria-describedby', 'password-new-hint');
    this.pwError = h('p', { id: 'password-error', class: 'form-error', role: 'alert' });
    this.pwStatus = h('p', { id: 'password-status', class: 'form-status', role: 'status' });
    this.pwSave = h('button', { type: 'submit', id: 'password-save', text: t('dashboard.profile.password_save') });
    return h(
      'section',
      { class: 'panel settings-panel', 'aria-labelledby': 'password-title' },
      h('h2', { id: 'password-title', text: t('dashboard.profile.password_title') }),
      h('p', { class: 'hint', text: t('dashboard.profile.password_intro') }),
      this.pwStatus,
      h(
        'form',
        { id: 'password-form', novalidate: true, 'aria-labelledby': 'password-title', onsubmit: (e) => this.changePassword(e) },
        field(t('dashboard.profile.password_current'), this.current),
        field(t('dashboard.profile.password_new'), this.next, h('span', { id: 'password-new-hint', class: 'hint', text: t('dashboard.profile.password_hint') })),
        field(t('dashboard.profile.password_repeat'), this.repeat),
        this.pwError,
        h('div', { class: 'field-button' }, this.pwSave),
      ),
    );
  }

  pwFieldError(el, text) {
    showFieldError(this.pwError, [this.current, this.next, this.repeat], el, text);
  }

  async changePassword(e) {
    e.preventDefault();
    const current = this.current.value;
    const next = this.next.value;
    if (!current) {
      this.pwFieldError(this.current, t('dashboard.profile.password_current_missing'));
      return;
    }
    const n = [...next].length;
    if (n < 8 || n > 128) {
      this.pwFieldError(this.next, t('dashboard.profile.password_length'));
      return;
    }
    if (next !== this.repeat.value) {
      this.pwFieldError(this.repeat, t('dashboard.profile.password_mismatch'));
      return;
    }
    this.pwFieldError(null, '');
    this.pwSave.disabled = true;
    this.pwStatus.textContent = t('dashboard.settings.saving');
    const res = await request('POST', '/api/me/password', { json: { current, new: next } });
    this.pwSave.disabled = false;
    if (!res.ok) {
      this.pwStatus.textContent = '';
      if (res.status === 400 && /current password/.test(res.message)) {
        this.pwFieldError(this.current, t('dashboard.profile.password_wrong'));
      } else if (res.status === 429) {
        this.pwFieldError(this.current, httpError(res));
      } else if (res.status === 400) {
        this.pwFieldError(this.next, t('dashboard.profile.password_refused', { message: res.message }));
      } else {
        this.pwFieldError(this.pwSave, httpError(res));
      }
      return;
    }
    this.current.value = '';
    this.next.value = '';
    this.repeat.value = '';
    const ended = res.data && Number.isSafeInteger(res.data.ended) ? res.data.ended : 0;
    this.pwStatus.textContent = t('dashboard.profile.password_changed', { n: ended });
    this.onPasswordChanged?.();
  }
}
