// Canned responses: the list from `GET /api/canned` (loaded once, and again after changes made
// in any tab), and the suggestions under the reply box while its text is `/shortcut`.

import { h } from './dom.js';
import { t, tn } from './i18n.js';
import { request } from './api.js';

const CHANNEL = 'kontor-canned';
const MAX_SHOWN = 8;

/** Tells other tabs of this browser that the canned responses changed. */
export function announceCannedChange() {
  try {
    const ch = new BroadcastChannel(CHANNEL);
    ch.postMessage('changed');
    ch.close();
  } catch {
    /* no BroadcastChannel: other tabs see the change after a reload */
  }
}

/** A canned response from the API, or null. */
export function parseCanned(c) {
  if (!c || typeof c !== 'object' || !Number.isSafeInteger(c.id)) return null;
  if (typeof c.shortcut !== 'string' || typeof c.text !== 'string') return null;
  return { id: c.id, shortcut: c.shortcut, text: c.text, shared: c.shared === true };
}

/** The responses this agent may use. Event `change` after each load. */
export class CannedStore extends EventTarget {
  constructor() {
    super();
    this.items = [];
    this.loading = null;
    try {
      this.channel = new BroadcastChannel(CHANNEL);
      this.channel.addEventListener('message', () => this.load());
    } catch {
      this.channel = null;
    }
  }

  /** Loads the list; keeps the old one when the request fails. */
  load() {
    if (this.loading) return this.loading;
    this.loading = (async () => {
      const res = await request('GET', '/api/canned');
      this.loading = null;
      if (!res.ok || !res.data || !Array.isArray(res.data.canned)) return false;
      this.items = res.data.canned.map(parseCanned).filter(Boolean);
      this.dispatchEvent(new CustomEvent('change'));
      return true;
    })();
    return this.loading;
  }

  /** Responses whose shortcut starts with `q`, then those that contain it. */
  match(q) {
    const query = q.toLowerCase();
    const starts = [];
    const contains = [];
    for (const c of this.items) {
      const s = c.shortcut.toLowerCase();
      if (s.startsWith(query)) starts.push(c);
      else if (query && s.includes(query)) contains.push(c);
    }
    return starts.concat(contains).slice(0, MAX_SHOWN);
  }
}

/**
 * The suggestion list for a textarea: a listbox under it, the active option named by
 * `aria-activedescendant` (focus stays in the textarea), a status line for screen readers.
 * ArrowDown/ArrowUp choose, Tab or Enter insert the chosen one, Escape closes the list. Typing
 * the full `/shortcut` chooses it, so Tab inserts it at once.
 */
export class CannedSuggest {
  /** @param {HTMLTextAreaElement} input  @param {CannedStore} store  @param {(text) => void} onInsert */
  constructor(input, store, onInsert) {
    this.input = input;
    this.store = store;
    this.onInsert = onInsert;
    this.shown = [];
    this.active = -1;
    this.dismissedFor = null;
    this.list = h('ul', {
      id: 'canned-list',
      class: 'canned-list',
      role: 'listbox',
      'aria-label': t('dashboard.canned.list_label'),
      hidden: true,
    });
    this.status = h('p', { class: 'vh', role: 'status' });
    input.setAttribute('aria-autocomplete', 'list');
    input.addEventListener('input', () => this.update());
    input.addEventListener('blur', () => {
      // A click on an option keeps focus (mousedown is cancelled); anything else closes.
      this.close();
    });
    store.addEventListener('change', () => {
      if (document.activeElement === input) this.update();
    });
  }

  /** The elements to place under the textarea. */
  elements() {
    return [this.list, this.status];
  }

  get open() {
    return !this.list.hidden;
  }

  update() {
    const m = /^\/([a-z0-9_-]*)$/i.exec(this.input.value);
    if (!m || this.input.value === this.dismissedFor) {
      this.close();
      if (!m) this.dismissedFor = null;
      return;
    }
    const shown = this.store.match(m[1]);
    if (!shown.length) {
      this.close();
      this.say(this.store.items.length ? t('dashboard.canned.none_match') : '');
      return;
    }
    const prevId = this.active >= 0 && this.shown[this.active] ? this.shown[this.active].id : null;
    this.shown = shown;
    const exact = shown.findIndex((c) => c.shortcut.toLowerCase() === m[1].toLowerCase());
    const kept = shown.findIndex((c) => c.id === prevId);
    this.active = exact >= 0 ? exact : kept;
    this.render();
    this.say(tn('dashboard.canned.count', shown.length));
  }

  render() {
    const items = this.shown.map((c, i) => {
      const li = h(
        'li',
        {
          id: `canned-opt-${c.id}`,
          role: 'option',
          class: 'canned-option',
          'aria-selected': i === this.active ? 'true' : 'false',
        },
        h('span', { class: 'canned-shortcut', text: `/${c.shortcut}` }),
        ' ',
        h('span', { class: 'canned-text', text: c.text }),
        c.shared ? h('span', { class: 'tag', text: t('dashboard.canned.shared') }) : null,
      );
      li.addEventListener('mousedown', (e) => e.preventDefault());
      li.addEventListener('click', () => {
        this.active = i;
        this.insert();
      });
      return li;
    });
    this.list.replaceChildren(...items);
    this.list.hidden = false;
    this.input.setAttribute('aria-controls', this.list.id);
    this.renderActive();
  }

  renderActive() {
    [...this.list.children].forEach((li, i) => li.setAttribute('aria-selected', i === this.active ? 'true' : 'false'));
    const li = this.active >= 0 ? this.list.children[this.active] : null;
    if (li) {
      this.input.setAttribute('aria-activedescendant', li.id);
      li.scrollIntoView({ block: 'nearest' });
    } else {
      this.input.removeAttribute('aria-activedescendant');
    }
  }

  close() {
    if (!this.open && !this.input.hasAttribute('aria-activedescendant')) return;
    this.list.hidden = true;
    this.list.replaceChildren();
    this.shown = [];
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
    this.input.removeAttribute('aria-controls');
  }

  say(text) {
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  move(delta) {
    const n = this.shown.length;
    if (!n) return;
    this.active = this.active < 0 ? (delta > 0 ? 0 : n - 1) : (this.active + delta + n) % n;
    this.renderActive();
  }

  insert() {
    const c = this.shown[this.active];
    if (!c) return;
    this.close();
    this.onInsert(c.text);
    this.say(t('dashboard.canned.inserted', { shortcut: `/${c.shortcut}` }));
  }

  /** Handles a key in the textarea; true when it was for the suggestions. */
  onKey(e) {
    if (!this.open || e.isComposing || e.altKey || e.ctrlKey || e.metaKey) return false;
    switch (e.key) {
      case 'ArrowDown':
        this.move(1);
        break;
      case 'ArrowUp':
        this.move(-1);
        break;
      case 'Escape':
        this.dismissedFor = this.input.value;
        this.close();
        this.say(t('dashboard.canned.closed'));
        break;
      case 'Tab':
      case 'Enter':
        // Without a chosen suggestion Tab leaves the box and Enter sends, as everywhere else.
        if (e.shiftKey || this.active < 0) return false;
        this.insert();
        break;
      default:
        return false;
    }
    e.preventDefault();
    return true;
  }
}
