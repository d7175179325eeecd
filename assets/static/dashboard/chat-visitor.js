// The "Visitor" panel of an open chat: what the visitor filled in the pre-chat form, the pages
// of their visit (live while they are on the website, else from
// `GET /api/conversations/{id}/visitor`) and, for consented visitors, their earlier chats.
// Collapsible; the choice is remembered for all chats.

import { h } from './dom.js';
import { t, tn, formatTime } from './i18n.js';
import { request } from './api.js';
import { parsePages } from './visitors-model.js';
import { pageTitle, urlLink, stayText, previousChat } from './visitor-text.js';
import { renderFields } from './chats/form-values.js';

const OPEN_KEY = 'kontor.chatVisitorOpen';

function wantOpen() {
  try {
    return localStorage.getItem(OPEN_KEY) !== 'closed';
  } catch {
    return true;
  }
}

function rememberOpen(open) {
  try {
    localStorage.setItem(OPEN_KEY, open ? 'open' : 'closed');
  } catch {
    /* the choice lasts for this page */
  }
}

export class ChatVisitorPanel {
  /**
   * @param {number} convId
   * @param {() => number} serverNow the server's clock (unix seconds), for local times
   */
  constructor(convId, serverNow) {
    this.convId = convId;
    this.serverNow = serverNow;
    this.fetched = null; // the API's answer: {pages, chats, mode, visits}
    this.live = null; // the live visitor (visitors-model), while known
    this.left = false;
    this.loading = false;
    this.loadedOnce = false;
    this.failed = false;
    this.formFields = []; // the pre-chat form's values (parseFields), known from the chat itself
    const bodyId = `chat-visitor-body-${convId}`;
    this.toggle = h(
      'button',
      {
        type: 'button',
        class: 'chat-visitor-toggle',
        'aria-expanded': 'false',
        'aria-controls': bodyId,
        onclick: () => this.setOpen(this.body.hidden, true),
      },
      h('span', { class: 'chat-visitor-chevron', 'aria-hidden': 'true' }),
      h('span', { class: 'chat-visitor-label', text: t('dashboard.chat_visitor.title') }),
    );
    this.summary = h('span', { class: 'chat-visitor-summary' });
    this.status = h('p', { class: 'chat-visitor-status' });
    this.pages = h('ol', { class: 'chat-visitor-pages', 'aria-label': t('dashboard.chat_visitor.pages') });
    this.chatsTitle = h('h4', { class: 'chat-visitor-subtitle', text: t('dashboard.chat_visitor.chats') });
    this.chats = h('ul', { class: 'chat-visitor-chats' });
    this.chatsBox = h('div', { hidden: true }, this.chatsTitle, this.chats);
    this.fieldsList = h('dl', { class: 'conv-fields chat-visitor-fields' });
    this.fieldsBox = h(
      'div',
      { hidden: true },
      h('h4', { class: 'chat-visitor-subtitle', text: t('dashboard.conversation.form_values') }),
      this.fieldsList,
    );
    this.body = h(
      'div',
      { id: bodyId, class: 'chat-visitor-body', hidden: true },
      this.fieldsBox,
      this.status,
      this.pages,
      this.chatsBox,
    );
    this.el = h(
      'section',
      {
        id: `chat-visitor-${convId}`,
        class: 'chat-visitor',
        'aria-labelledby': `chat-visitor-title-${convId}`,
        hidden: true, // until there is something to show
      },
      h('h3', { id: `chat-visitor-title-${convId}`, class: 'chat-visitor-title' }, this.toggle, ' ', this.summary),
      this.body,
    );
    this.setOpen(wantOpen(), false);
  }

  setOpen(open, remember) {
    this.body.hidden = !open;
    this.toggle.setAttribute('aria-expanded', String(open));
    this.el.classList.toggle('open', open);
    if (remember) rememberOpen(open);
  }

  /** Fetches the visitor once (again after a failure, when asked again). */
  async load() {
    if (this.loading || this.loadedOnce) return;
    this.loading = true;
    const res = await request('GET', `/api/conversations/${encodeURIComponent(this.convId)}/visitor`);
    this.loading = false;
    this.failed = false;
    if (res.ok && res.data && typeof res.data === 'object') {
      this.loadedOnce = true;
      const d = res.data;
      this.fetched = {
        pages: parsePages(d.pages),
        chats: (Array.isArray(d.chats) ? d.chats : []).filter(
          (c) => c && Number.isSafeInteger(c.conversation_id) && c.conversation_id !== this.convId,
        ),
        mode: typeof d.mode === 'string' ? d.mode : '',
        visits: Number.isSafeInteger(d.visits) ? d.visits : null,
      };
    } else if (res.status === 404) {
      // No visitor behind this chat (tracking off, or no page view before it started).
      this.loadedOnce = true;
      this.fetched = null;
    } else {
      this.failed = true;
    }
    this.render();
  }

  /** The live visitor changed (or appeared). */
  setLive(v) {
    this.live = v;
    this.left = false;
    this.render();
  }

  /** The pre-chat form's values of this chat (parseFields), shown above the pages. */
  setFields(fields) {
    this.formFields = fields;
    this.render();
  }

  /** The visitor left the website: keep what we saw. */
  setLeft(v) {
    this.live = v;
    this.left = true;
    this.render();
  }

  localDate(at) {
    return new Date(at * 1000 - (this.serverNow() * 1000 - Date.now()));
  }

  render() {
    const pages = this.live ? this.live.pages : this.fetched ? this.fetched.pages : [];
    const chats = this.fetched ? this.fetched.chats : [];
    const known = !!this.live || !!this.fetched;
    renderFields(this.fieldsList, this.formFields);
    this.fieldsBox.hidden = this.formFields.length === 0;
    if (!known && !this.failed && !this.formFields.length) {
      this.el.hidden = true;
      return;
    }
    this.el.hidden = false;
    // The summary says the essentials while the panel is collapsed.
    const current = this.live && !this.left ? this.live.page : null;
    const parts = [];
    if (pages.length) parts.push(tn('dashboard.chat_visitor.page_count', pages.length));
    if (current) parts.push(t('dashboard.chat_visitor.now_on', { title: pageTitle(current) }));
    this.summary.textContent = parts.length ? `· ${parts.join(' · ')}` : '';

    let status = '';
    if (this.failed && !known) status = t('dashboard.chat_visitor.failed');
    else if (!known) status = ''; // still loading; the form's values show meanwhile
    else if (!pages.length) status = t('dashboard.chat_visitor.no_pages');
    else if (this.live && this.left) status = t('dashboard.chat_visitor.left');
    else if (this.live) status = t('dashboard.chat_visitor.online');
    this.status.textContent = status;
    this.status.hidden = !status;

    const last = pages.length - 1;
    this.pages.replaceChildren(
      ...pages.map((p, i) => {
        const at = this.localDate(p.at);
        const isCurrent = i === last && p.seconds === null && !this.left;
        return h(
          'li',
          { class: isCurrent ? 'chat-visitor-page current' : 'chat-visitor-page' },
          h('time', { datetime: at.toISOString(), text: formatTime(at) }),
          ' ',
          h('span', { class: 'cvp-title', title: p.url, text: pageTitle(p) }),
          ' ',
          urlLink(p.url, { max: 48, cls: 'cvp-url' }),
          ' ',
          h('span', { class: 'cvp-stay', text: p.seconds === null && this.left ? '' : stayText(p.seconds) }),
        );
      }),
    );
    this.pages.hidden = pages.length === 0;
    this.chatsBox.hidden = chats.length === 0;
    this.chats.replaceChildren(...chats.map((c) => previousChat(c, (at) => this.localDate(at))));
  }
}
