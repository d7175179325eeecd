// The "Look-up" panel of a chat: what the business's own system (the site's look-up address)
// answered about a value, for the agent only. The pre-chat field marked for look-up is looked
// up when the chat starts; the agent can look up any value with "Look up". The answer's fields
// are the business's data and go through textContent like everything else; errors are shown
// in words, never to the visitor. Hidden when the chat's site has no look-up address.

import { h, whileBusy } from '../dom.js';
import { t, has, formatTime } from '../i18n.js';
import { request, httpError } from '../api.js';

/** How often a pending look-up is asked for again (ms), and how many times. */
const POLL_MS = 1000;
const POLLS = 10;

const ERRORS = new Set([
  'not_configured',
  'refused',
  'unreachable',
  'timeout',
  'http_status',
  'too_big',
  'not_json',
  'not_object',
  'invalid_value',
  'busy',
]);

/** A failed look-up in words: ours by its code, the details after it. */
function failureText(error, status) {
  const code = error && typeof error.code === 'string' ? error.code : '';
  const key = `dashboard.lookup.error.${code}`;
  const words = ERRORS.has(code) && has(key) ? t(key, { status: status ?? '' }) : t('dashboard.lookup.error.unknown');
  const detail = error && typeof error.message === 'string' ? error.message : '';
  return detail ? `${words} (${detail})` : words;
}

export class LookupPanel {
  /** @param {number} convId */
  constructor(convId) {
    this.convId = convId;
    this.loaded = false;
    this.polls = 0;
    const inputId = `lookup-value-${convId}`;
    this.input = h('input', { id: inputId, type: 'text', maxlength: '500', autocomplete: 'off' });
    this.button = h('button', { type: 'submit', class: 'btn-secondary', text: t('dashboard.lookup.run') });
    this.status = h('p', { class: 'lookup-status', role: 'status' });
    this.fields = h('dl', { class: 'conv-fields lookup-fields', hidden: true });
    this.form = h(
      'form',
      { class: 'lookup-form', onsubmit: (e) => this.submit(e) },
      h('label', { for: inputId, text: t('dashboard.lookup.value') }),
      this.input,
      this.button,
    );
    this.el = h(
      'section',
      { class: 'conv-lookup', 'aria-labelledby': `lookup-title-${convId}`, hidden: true },
      h('h3', { id: `lookup-title-${convId}`, class: 'lookup-title', text: t('dashboard.lookup.title') }),
      this.form,
      this.status,
      this.fields,
    );
    this.fields.setAttribute('aria-label', t('dashboard.lookup.fields'));
  }

  /** Asks for the chat's latest look-up (once; again while one is pending). */
  async load() {
    if (this.loaded) return;
    const res = await request('GET', `/api/conversations/${this.convId}/lookup`);
    if (!res.ok || !res.data || typeof res.data !== 'object') return;
    this.loaded = true;
    const d = res.data;
    this.el.hidden = d.configured !== true;
    if (typeof d.suggested === 'string' && !this.input.value) this.input.value = d.suggested;
    this.render(d.lookup);
    if (d.lookup && d.lookup.state === 'pending' && this.polls < POLLS) {
      this.polls += 1;
      this.loaded = false;
      setTimeout(() => this.load(), POLL_MS);
    }
  }

  async submit(e) {
    e.preventDefault();
    const value = this.input.value.trim();
    if (!value) {
      this.status.textContent = t('dashboard.lookup.error.invalid_value');
      this.input.focus();
      return;
    }
    await whileBusy(this.button, async () => {
      this.status.textContent = t('dashboard.lookup.running');
      const res = await request('POST', `/api/conversations/${this.convId}/lookup`, { json: { value } });
      if (!res.ok || !res.data) {
        this.status.textContent = httpError(res);
        return;
      }
      this.render(res.data.lookup);
    });
  }

  /** Shows a look-up: its fields, or why there are none. */
  render(l) {
    if (!l || typeof l !== 'object') {
      this.status.textContent = '';
      this.fields.replaceChildren();
      this.fields.hidden = true;
      return;
    }
    const value = typeof l.value === 'string' ? l.value : '';
    const when = typeof l.at === 'number' ? formatTime(new Date(l.at * 1000)) : '';
    const list = Array.isArray(l.fields) ? l.fields.filter((p) => p && typeof p.key === 'string') : [];
    if (l.state === 'pending') {
      this.status.textContent = t('dashboard.lookup.running');
    } else if (l.state === 'done') {
      this.status.textContent = list.length
        ? t('dashboard.lookup.found', { value, time: when })
        : t('dashboard.lookup.empty', { value, time: when });
      if (l.more) this.status.textContent += ` ${t('dashboard.lookup.more')}`;
    } else {
      this.status.textContent = t('dashboard.lookup.failed', { value, error: failureText(l.error, l.status) });
    }
    const shown = l.state === 'done' ? list : [];
    this.fields.replaceChildren(
      ...shown.flatMap((p) => [h('dt', { text: p.key }), h('dd', { text: typeof p.value === 'string' ? p.value : '' })]),
    );
    this.fields.hidden = shown.length === 0;
  }
}
