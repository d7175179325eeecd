// The Visitors section: who is on the website right now (live from the agent socket), a detail
// pane with the pages of the visit, and invitations to chat.
//
// Built for thousands of live visitors: every visitor has one table row kept in a Map and only
// changed rows are touched, in one batch per animation frame; rows are re-ordered one at a time
// (binary insertion) unless a whole list or a new sort/filter arrives; the ticking times are
// updated once a second, only for rows on screen (IntersectionObserver), as text nodes; rows are
// fixed-height, self-contained grids (dashboard.css) so that a changed cell costs one row's
// layout, not the table's. Everything a visitor's browser sent is set as text (dom.js), never
// parsed as HTML.

import { h, hasFocus } from './dom.js';
import { field, growField, hint } from './form.js';
import { t, has, formatNumber, formatTime, formatDateTime } from './i18n.js';
import { request } from './api.js';
import { AlertBox, ConnState } from './section-status.js';
import { RelevanceAlarms } from './relevance-alarm.js';
import { Blocks } from './chats/block.js';
import { MAX_INVITE_CHARS, charCount, limitField } from '../shared/limits.js';
import { INVITE_ERRORS } from '../shared/errors.js';
import {
  clock,
  shortUrl,
  urlLink,
  pageTitle,
  referrerText,
  referrerKindText,
  campaignText,
  browserText,
  deviceText,
  countryName,
  canInvite,
  inChat,
  chatText,
  inviteText,
  stayText,
  previousChat,
} from './visitor-text.js';

/** Sort keys: the value shown in that column, larger meaning "more". */
const SORTS = {
  page: (v) => -v.page.at, // time on page
  site: (v) => -v.startedAt, // time on site
  pages: (v) => v.pages.length,
  relevance: (v) => v.relevance,
  last: (v) => lastActivity(v),
};
/** More changed visitors than this in one frame: sort everything at once instead. */
const RESORT_OVER = 64;
/** New rows built per animation frame (a first list of 2,000 is spread over a few frames). */
const BUILD_PER_FRAME = 100;
/** Changes are shown at the latest this long after they came, frames or not. */
const FLUSH_LATEST_MS = 250;
const FILTER_DELAY_MS = 150;
/** No answer to an invite for this long: the button works again. */
const INVITE_WAIT_MS = 10000;

function lastActivity(v) {
  return Math.max(v.lastSeen, v.page.at);
}

/** Sets text only when it differs (no needless layout work for unchanged cells). */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function setTitle(el, text) {
  if (text) {
    if (el.getAttribute('title') !== text) el.setAttribute('title', text);
  } else if (el.hasAttribute('title')) {
    el.removeAttribute('title');
  }
}

function visitorName(id) {
  return t('dashboard.visitor_number', { id });
}

export function mountVisitors(root, visitors, conn) {
  return new VisitorsView(root, visitors, conn);
}

class VisitorsView {
  constructor(root, model, conn) {
    this.model = model;
    this.conn = conn;
    /** visitor id → row {id, v, tr, match, cells…} */
    this.rows = new Map();
    /** rows shown, in display order */
    this.order = [];
    this.dirty = new Set();
    this.resortAll = false;
    this.frame = 0;
    /** rows on screen: the only ones whose times tick */
    this.visible = new Set();
    this.rowOf = new WeakMap();
    this.sortKey = 'site';
    this.sortDesc = true;
    this.cmp = this.makeComparator();
    this.query = [];
    this.chatFilter = 'all';
    this.selectedId = null;
    this.selectedLast = null; // last known state of the selected visitor (also after they left)
    /** visitor id → time an invite was sent from here, until the server answers */
    this.sending = new Map();
    this.historySeq = 0;
    this.alarms = new RelevanceAlarms();

    root.classList.add('dash-app', 'visitors-app');
    root.replaceChildren(this.buildBar(), this.buildAlert(), this.buildGrid());

    this.io =
      typeof IntersectionObserver === 'function'
        ? new IntersectionObserver((entries) => this.onIntersect(entries), { rootMargin: '200px 0px' })
        : null;

    model.addEventListener('visitor', (e) => this.markDirty(e.detail.id));
    model.addEventListener('left', (e) => this.onLeft(e.detail));
    model.addEventListener('loaded', () => {
      this.resortAll = true;
      this.schedule();
    });
    model.addEventListener('invited', (e) => this.onInvited(e.detail.visitorId));
    model.addEventListener('invite_error', (e) => this.onInviteError(e.detail));
    conn.addEventListener('state', (e) => this.renderConn(e.detail.state));
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.tick();
    });

    this.renderConn(conn.state);
    for (const id of model.visitors.keys()) this.dirty.add(id);
    this.resortAll = true;
    this.schedule();
    this.renderDetail();
    this.startTicking();
  }

  // ----- building -----

  buildBar() {
    this.connState = new ConnState();
    this.filterInput = h('input', {
      type: 'search',
      id: 'visitor-filter',
      name: 'filter',
      maxlength: '200',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': 'visitor-filter-hint',
      oninput: () => this.onFilterInput(),
    });
    this.chatSelect = h(
      'select',
      { id: 'visitor-chat-filter', name: 'chat', onchange: () => this.applyFilter() },
      h('option', { value: 'all', text: t('dashboard.visitors.filter.all') }),
      h('option', { value: 'none', text: t('dashboard.visitors.filter.not_in_chat') }),
      h('option', { value: 'chat', text: t('dashboard.visitors.filter.in_chat') }),
    );
    return h(
      'div',
      { class: 'panel visitors-bar' },
      this.connState.el,
      h(
        'div',
        { class: 'visitors-filters', role: 'search', 'aria-label': t('dashboard.visitors.filter_label') },
        growField(t('dashboard.visitors.filter'), this.filterInput, hint('visitor-filter-hint', t('dashboard.visitors.filter_hint'))),
        field(t('dashboard.visitors.filter.chat'), this.chatSelect),
        field(t('dashboard.relevance.alarm'), this.alarms.select),
      ),
      this.alarms.status,
    );
  }

  buildAlert() {
    this.alert = new AlertBox(() => this.filterInput.focus());
    return this.alert.el;
  }

  buildGrid() {
    this.listTitle = h('h2', { id: 'visitors-title', tabindex: '-1' });
    this.listStatus = h('p', { class: 'visitors-status', role: 'status' });
    this.empty = h('p', { class: 'empty', id: 'visitor-empty', text: t('dashboard.visitors.loading') });
    this.tbody = h('tbody', { role: 'rowgroup' });
    this.sortHeads = new Map();
    const sortTh = (key, label, cls) => {
      const arrow = h('span', { class: 'sort-arrow', 'aria-hidden': 'true' });
      const button = h('button', { type: 'button', class: 'sort-button', onclick: () => this.sortBy(key) }, label, arrow);
      const th = h('th', { scope: 'col', role: 'columnheader', class: cls }, button);
      this.sortHeads.set(key, { th, arrow, button });
      return th;
    };
    const th = (label, cls) => h('th', { scope: 'col', role: 'columnheader', class: cls, text: label });
    this.table = h(
      'table',
      // Rows are styled as grids (see dashboard.css): the roles keep it a table for assistive
      // technology, which may drop table semantics once CSS changes `display`.
      { id: 'visitor-list', class: 'data-table visitor-table', role: 'table', hidden: true },
      h('caption', { class: 'vh', text: t('dashboard.visitors.caption') }),
      h(
        'thead',
        { role: 'rowgroup' },
        h(
          'tr',
          { role: 'row' },
          th(t('dashboard.visitors.col.page'), 'c-page'),
          sortTh('page', t('dashboard.visitors.col.time_page'), 'c-time'),
          sortTh('site', t('dashboard.visitors.col.time_site'), 'c-time'),
          sortTh('pages', t('dashboard.visitors.col.pages'), 'c-num'),
          sortTh('relevance', t('dashboard.visitors.col.relevance'), 'c-num'),
          th(t('dashboard.visitors.col.entry'), 'c-entry'),
          th(t('dashboard.visitors.col.referrer'), 'c-ref'),
          th(t('dashboard.visitors.col.campaign'), 'c-campaign'),
          th(t('dashboard.visitors.col.browser'), 'c-browser'),
          th(t('dashboard.visitors.col.lang'), 'c-lang'),
          th(t('dashboard.visitors.col.visits'), 'c-num'),
          th(t('dashboard.visitors.col.chat'), 'c-state'),
          th(t('dashboard.visitors.col.invite'), 'c-state'),
          sortTh('last', t('dashboard.visitors.col.last'), 'c-last'),
          h('th', { scope: 'col', role: 'columnheader', class: 'c-actions' }, h('span', { class: 'vh', text: t('dashboard.visitors.col.actions') })),
        ),
      ),
      this.tbody,
    );
    this.renderSortHeads();
    return h(
      'div',
      { class: 'visitors-grid' },
      h(
        'section',
        { class: 'panel visitors-list', 'aria-labelledby': 'visitors-title' },
        this.listTitle,
        this.listStatus,
        this.empty,
        h('div', { class: 'table-wrap visitors-wrap' }, this.table),
      ),
      this.buildDetail(),
    );
  }

  buildDetail() {
    const d = {};
    d.title = h('h2', { id: 'visitor-detail-title', tabindex: '-1', text: t('dashboard.visitors.detail.title') });
    d.none = h('p', { class: 'empty', text: t('dashboard.visitors.detail.none') });
    d.gone = h('p', { class: 'visitor-gone', hidden: true, text: t('dashboard.visitors.detail.gone') });
    d.inviteText = h('textarea', {
      id: 'visitor-invite-text',
      name: 'text',
      rows: '2',
      'aria-describedby': 'visitor-invite-hint',
    });
    limitField(d.inviteText, MAX_INVITE_CHARS);
    d.inviteBtn = h('button', { type: 'submit', class: 'v-invite', text: t('dashboard.visitors.invite') });
    d.inviteStatus = h('p', { class: 'form-status invite-status', role: 'status' });
    d.inviteForm = h(
      'form',
      { class: 'invite-form', novalidate: true, onsubmit: (e) => this.onDetailInvite(e) },
      h('label', { for: 'visitor-invite-text', text: t('dashboard.visitors.invite_text') }),
      d.inviteText,
      h('span', { id: 'visitor-invite-hint', class: 'hint', text: t('dashboard.visitors.invite_text_hint') }),
      h('div', { class: 'invite-row' }, d.inviteBtn),
      d.inviteStatus,
    );
    // Blocking the selected visitor (their browser, on request their address).
    this.blocks = new Blocks(this, { target: () => ({ visitor_id: this.selectedId }), intro: 'dashboard.block.intro_visitor' });
    d.block = { id: 'visitor' };
    this.blocks.build(d.block);
    d.blockBox = h('div', { class: 'visitor-block' }, d.block.blockBtn, d.block.blockPanel);
    d.pages = h('ol', { id: 'visitor-pages', class: 'visitor-pages', 'aria-labelledby': 'visitor-pages-title' });
    d.fields = h('dl', { class: 'visitor-fields' });
    d.chats = h('ul', { class: 'visitor-chats', 'aria-labelledby': 'visitor-chats-title' });
    d.chatsTitle = h('h3', { id: 'visitor-chats-title', text: t('dashboard.visitors.detail.chats') });
    d.chatsStatus = h('p', { class: 'hint' });
    d.chatsBox = h('div', { class: 'visitor-chats-box', hidden: true }, d.chatsTitle, d.chatsStatus, d.chats);
    d.body = h(
      'div',
      { class: 'visitor-detail-body', hidden: true },
      d.gone,
      d.inviteForm,
      d.blockBox,
      h('h3', { id: 'visitor-pages-title', text: t('dashboard.visitors.detail.pages') }),
      d.pages,
      h('h3', { text: t('dashboard.visitors.detail.fields') }),
      d.fields,
      d.chatsBox,
    );
    d.section = h(
      'section',
      { id: 'visitor-detail', class: 'panel visitor-detail', role: 'region', 'aria-labelledby': 'visitor-detail-title' },
      d.title,
      d.none,
      d.body,
    );
    // Text nodes the clock updates every second.
    d.timePage = document.createTextNode('');
    d.timeSite = document.createTextNode('');
    d.curStay = document.createTextNode('');
    this.detail = d;
    return d.section;
  }

  buildRow(v) {
    const id = v.id;
    const row = { id, v, match: false };
    row.title = h('span', { class: 'v-title' });
    row.select = h('button', { type: 'button', class: 'link-button v-select', onclick: () => this.select(id, { focus: true }) }, row.title);
    row.url = h('span', { class: 'v-url' });
    row.timePage = document.createTextNode('');
    row.timeSite = document.createTextNode('');
    const td = (cls, ...children) => h('td', { role: 'cell', class: cls }, ...children);
    row.pages = td('v-pages c-num');
    row.score = h('span', { class: 'v-score' });
    row.why = h('span', { class: 'v-why' });
    row.relevance = td('v-relevance c-num', row.score, row.why);
    row.entry = td('v-entry');
    row.referrer = td('v-referrer');
    row.campaign = td('v-campaign');
    row.browser = td('v-browser');
    row.lang = td('v-lang');
    row.visits = td('v-visits c-num');
    row.chat = h('span', { class: 'tag' });
    row.inviteState = h('span', { class: 'tag' });
    row.last = td('v-last');
    row.invite = h('button', {
      type: 'button',
      class: 'v-invite btn-secondary btn-small',
      text: t('dashboard.visitors.invite'),
      'aria-label': t('dashboard.visitors.invite_label', { name: visitorName(id) }),
      onclick: () => this.invite(id, ''),
    });
    row.tr = h(
      'tr',
      { role: 'row', 'data-visitor-id': id },
      td('v-page', row.select, row.url),
      td('v-time-page c-time', row.timePage),
      td('v-time-site c-time', row.timeSite),
      row.pages,
      row.relevance,
      row.entry,
      row.referrer,
      row.campaign,
      row.browser,
      row.lang,
      row.visits,
      td('v-chat', row.chat),
      td('v-invite-state', row.inviteState),
      row.last,
      td('v-actions', row.invite),
    );
    // The whole row answers a click; its button is what keyboards and screen readers use.
    row.tr.addEventListener('click', (e) => {
      if (e.target.closest('a, button, input, select, textarea')) return;
      this.select(id, { focus: false });
    });
    this.rowOf.set(row.tr, row);
    this.rows.set(id, row);
    if (this.io) this.io.observe(row.tr);
    else this.visible.add(row); // no observer: every row ticks
    if (id === this.selectedId) this.markSelected(row, true);
    return row;
  }

  // ----- batching -----

  markDirty(id) {
    this.dirty.add(id);
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    // Normally the next animation frame; a tab in the background gets none, so a (throttled)
    // timer does the work there: the list is current when the agent comes back to it.
    const run = () => this.flush();
    this.frame = requestAnimationFrame(run);
    this.frameTimer = setTimeout(run, FLUSH_LATEST_MS);
  }

  flush() {
    if (!this.frame) return; // the frame and the timer both fired: once is enough
    cancelAnimationFrame(this.frame);
    clearTimeout(this.frameTimer);
    this.frame = 0;
    const now = Math.floor(this.model.serverNow());
    const ids = [...this.dirty];
    this.dirty.clear();
    const all = this.resortAll || ids.length > RESORT_OVER;
    let built = 0;
    let detail = false;
    for (const id of ids) {
      if (id === this.selectedId) detail = true;
      const v = this.model.get(id);
      let row = this.rows.get(id);
      if (!v) {
        if (row) this.dropRow(row, all);
        continue;
      }
      if (!row) {
        if (built >= BUILD_PER_FRAME) {
          this.dirty.add(id); // next frame
          continue;
        }
        row = this.buildRow(v);
        built += 1;
      }
      this.renderRow(row, v, now);
      if (!all) this.place(row);
    }
    if (all) {
      this.resortAll = false;
      this.reorderAll();
    }
    if (detail) this.renderDetail();
    this.renderCounts();
    if (this.dirty.size) this.schedule();
  }

  dropRow(row, all) {
    const hadFocus = hasFocus(row.tr);
    if (!all) {
      const idx = this.order.indexOf(row);
      if (idx !== -1) this.order.splice(idx, 1);
    }
    if (hadFocus) this.listTitle.focus();
    row.tr.remove();
    if (this.io) this.io.unobserve(row.tr);
    this.visible.delete(row);
    this.rows.delete(row.id);
  }

  onLeft({ id, visitor }) {
    if (id === this.selectedId) this.selectedLast = visitor;
    this.sending.delete(id);
    this.markDirty(id);
  }

  // ----- ordering and filtering -----

  makeComparator() {
    const key = SORTS[this.sortKey];
    const desc = this.sortDesc;
    return (a, b) => {
      const d = key(a) - key(b);
      return (desc ? -d : d) || a.id - b.id;
    };
  }

  /** Moves one row to its place (binary search in the sorted order); others stay put. */
  place(row) {
    const idx = this.order.indexOf(row);
    if (idx !== -1) this.order.splice(idx, 1);
    if (!row.match) {
      this.detach(row);
      return;
    }
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cmp(this.order[mid].v, row.v) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.order.splice(lo, 0, row);
    const next = lo + 1 < this.order.length ? this.order[lo + 1].tr : null;
    if (row.tr.parentNode !== this.tbody || row.tr.nextSibling !== next) this.moveKeepingFocus(row.tr, next);
  }

  detach(row) {
    if (row.tr.parentNode !== this.tbody) return;
    if (hasFocus(row.tr)) this.listTitle.focus();
    row.tr.remove();
  }

  /** Moving a focused element drops its focus: give it back. */
  moveKeepingFocus(tr, before) {
    const focused = hasFocus(tr) ? document.activeElement : null;
    this.tbody.insertBefore(tr, before);
    if (focused) focused.focus({ preventScroll: true });
  }

  /** Sorts and filters everything (a new list, sort or filter); moves only what is out of place. */
  reorderAll() {
    const focused = hasFocus(this.tbody) ? document.activeElement : null;
    const list = [];
    for (const row of this.rows.values()) {
      row.match = this.matches(row.v);
      if (row.match) list.push(row);
    }
    list.sort((a, b) => this.cmp(a.v, b.v));
    this.order = list;
    let cursor = this.tbody.firstChild;
    for (const row of list) {
      if (row.tr === cursor) cursor = cursor.nextSibling;
      else this.tbody.insertBefore(row.tr, cursor);
    }
    // What is left after the last placed row no longer matches.
    while (cursor) {
      const next = cursor.nextSibling;
      cursor.remove();
      cursor = next;
    }
    if (focused) {
      if (focused.isConnected) focused.focus({ preventScroll: true });
      else this.listTitle.focus();
    }
  }

  matches(v) {
    if (this.chatFilter === 'chat' && !inChat(v)) return false;
    if (this.chatFilter === 'none' && inChat(v)) return false;
    for (const word of this.query) if (!v.search.includes(word)) return false;
    return true;
  }

  onFilterInput() {
    clearTimeout(this.filterTimer);
    this.filterTimer = setTimeout(() => this.applyFilter(), FILTER_DELAY_MS);
  }

  applyFilter() {
    clearTimeout(this.filterTimer);
    this.query = this.filterInput.value.toLowerCase().split(/\s+/).filter(Boolean);
    this.chatFilter = this.chatSelect.value;
    this.reorderAll();
    this.renderCounts();
    this.announceFilter();
  }

  /** Says how many match, once per filter change (not on every live update). */
  announceFilter() {
    const total = this.model.visitors.size;
    const filtered = this.query.length > 0 || this.chatFilter !== 'all';
    this.listStatus.textContent = filtered
      ? t('dashboard.visitors.matching', { n: formatNumber(this.order.length), total: formatNumber(total) })
      : '';
  }

  sortBy(key) {
    if (this.sortKey === key) this.sortDesc = !this.sortDesc;
    else {
      this.sortKey = key;
      this.sortDesc = true;
    }
    this.cmp = this.makeComparator();
    this.renderSortHeads();
    this.reorderAll();
  }

  renderSortHeads() {
    for (const [key, s] of this.sortHeads) {
      const on = key === this.sortKey;
      s.th.setAttribute('aria-sort', on ? (this.sortDesc ? 'descending' : 'ascending') : 'none');
      s.arrow.textContent = on ? (this.sortDesc ? ' ▼' : ' ▲') : '';
    }
  }

  // ----- rendering -----

  renderRow(row, v, now) {
    row.v = v;
    const title = pageTitle(v.page);
    setText(row.title, title);
    setText(row.url, shortUrl(v.page.url, 50));
    setTitle(row.url, v.page.url);
    const label = t('dashboard.visitors.show_label', { name: visitorName(v.id), title });
    if (row.select.getAttribute('aria-label') !== label) row.select.setAttribute('aria-label', label);
    setText(row.pages, formatNumber(v.pages.length));
    setText(row.score, formatNumber(v.relevance));
    setText(row.why, v.relevanceWhy.length ? ` ${v.relevanceWhy.map((w) => t(`dashboard.relevance.signal.${w}`)).join(', ')}` : '');
    this.alarms.check(v, row.tr);
    setText(row.entry, shortUrl(v.entry, 40) || '–');
    setTitle(row.entry, v.entry);
    setText(row.referrer, referrerText(v));
    setTitle(row.referrer, v.referrer);
    setText(row.campaign, campaignText(v.campaign) || '–');
    setText(row.browser, browserText(v) || '–');
    setText(row.lang, [v.lang, v.country].filter(Boolean).join(' · ') || '–');
    setTitle(row.lang, v.country ? countryName(v.country) : '');
    setText(row.visits, formatNumber(v.visits));
    setText(row.chat, chatText(v.chat));
    row.chat.className = v.chat ? `tag chat-${v.chat.status}` : 'muted';
    setText(row.inviteState, inviteText(v.invite));
    row.inviteState.className = v.invite ? `tag invite-${v.invite.state}` : 'muted';
    setText(row.last, formatTime(this.localDate(lastActivity(v))));
    this.renderInviteButton(row.invite, v, row.select);
    row.match = this.matches(v);
    this.tickRow(row, now);
  }

  /** Disabled while the visitor chats, has an invitation out, or ours is on its way. */
  renderInviteButton(button, v, focusInstead) {
    const off = !v || !canInvite(v) || this.isSending(v.id);
    if (button.disabled === off) return;
    const hadFocus = off && hasFocus(button);
    button.disabled = off;
    if (hadFocus && focusInstead) focusInstead.focus({ preventScroll: true });
  }

  isSending(id) {
    const at = this.sending.get(id);
    return at !== undefined && Date.now() - at < INVITE_WAIT_MS;
  }

  /** A server time (unix seconds) as a local Date. */
  localDate(at) {
    return new Date(at * 1000 - (this.model.serverNow() * 1000 - Date.now()));
  }

  renderCounts() {
    const total = this.model.visitors.size;
    if (this.shownTotal !== total) {
      this.shownTotal = total;
      this.listTitle.replaceChildren(
        t('dashboard.visitors.title'),
        ' ',
        h('span', { class: 'count', text: `(${formatNumber(total)})` }),
      );
    }
    let text = '';
    if (!this.model.loaded && total === 0) text = t('dashboard.visitors.loading');
    else if (total === 0) text = t('dashboard.visitors.empty');
    else if (this.order.length === 0) text = t('dashboard.visitors.none_match');
    setText(this.empty, text);
    this.empty.hidden = !text;
    this.table.hidden = this.order.length === 0;
  }

  renderConn(state) {
    this.connState.render(state);
  }

  // ----- the clock -----

  startTicking() {
    const step = () => {
      this.tick();
      // Just after the server's next whole second, so all cells turn over together.
      const ms = 1000 - ((this.model.serverNow() * 1000) % 1000);
      setTimeout(step, ms + 15);
    };
    step();
  }

  tick() {
    if (document.hidden) return;
    const now = Math.floor(this.model.serverNow());
    for (const row of this.visible) this.tickRow(row, now);
    this.tickDetail(now);
    // An invite that got no answer frees its button again.
    for (const [id, at] of this.sending) {
      if (Date.now() - at < INVITE_WAIT_MS) continue;
      this.sending.delete(id);
      this.markDirty(id);
    }
  }

  tickRow(row, now) {
    const page = clock(now - row.v.page.at);
    const site = clock(now - row.v.startedAt);
    if (row.timePage.data !== page) row.timePage.data = page;
    if (row.timeSite.data !== site) row.timeSite.data = site;
  }

  onIntersect(entries) {
    const now = Math.floor(this.model.serverNow());
    for (const e of entries) {
      const row = this.rowOf.get(e.target);
      if (!row || !this.rows.has(row.id)) continue;
      if (e.isIntersecting) {
        this.visible.add(row);
        this.tickRow(row, now);
      } else {
        this.visible.delete(row);
      }
    }
  }

  // ----- selection and the detail pane -----

  select(id, { focus }) {
    const v = this.model.get(id);
    if (!v) return;
    const old = this.rows.get(this.selectedId);
    if (old) this.markSelected(old, false);
    const changed = this.selectedId !== id;
    this.selectedId = id;
    this.selectedLast = v;
    const row = this.rows.get(id);
    if (row) this.markSelected(row, true);
    if (changed) {
      this.detail.inviteText.value = '';
      this.detail.inviteStatus.textContent = '';
      this.blocks.reset(this.detail.block);
      this.detail.pagesKey = '';
      this.loadHistory(v);
    }
    this.renderDetail();
    if (focus) this.detail.title.focus();
  }

  markSelected(row, on) {
    row.tr.classList.toggle('selected', on);
    if (on) row.select.setAttribute('aria-current', 'true');
    else row.select.removeAttribute('aria-current');
  }

  /** The selected visitor: live, or as last seen when they have left. */
  renderDetail() {
    const d = this.detail;
    if (this.selectedId === null) {
      d.none.hidden = false;
      d.body.hidden = true;
      return;
    }
    const live = this.model.get(this.selectedId);
    if (live) this.selectedLast = live;
    const v = this.selectedLast;
    d.none.hidden = true;
    d.body.hidden = false;
    d.gone.hidden = !!live;
    setText(d.title, t('dashboard.visitors.detail.title_of', { name: visitorName(v.id) }));
    d.inviteForm.hidden = !live;
    // The server finds a visitor's browser only while they are on the site.
    d.blockBox.hidden = !live;
    this.renderInviteButton(d.inviteBtn, live, d.inviteText);
    this.renderPages(v);
    this.renderFields(v);
    this.tickDetail(Math.floor(this.model.serverNow()));
  }

  renderPages(v) {
    const d = this.detail;
    // Rebuilt only when the list changed (a navigation), not on every other update.
    const key = `${v.id}:${v.pages.length}:${v.page.at}:${v.page.url}`;
    if (d.pagesKey === key) return;
    d.pagesKey = key;
    const last = v.pages.length - 1;
    d.pages.replaceChildren(
      ...v.pages.map((p, i) => {
        const at = this.localDate(p.at);
        const current = i === last && p.seconds === null;
        return h(
          'li',
          { class: current ? 'visitor-page current' : 'visitor-page' },
          h('span', { class: 'vp-title', text: pageTitle(p) }),
          ' ',
          urlLink(p.url, { cls: 'vp-url' }),
          h(
            'span',
            { class: 'vp-meta' },
            h('time', { datetime: at.toISOString(), text: formatTime(at) }),
            ' · ',
            current
              ? h('span', {}, t('dashboard.visitors.current_page'), ' ', h('span', { class: 'vp-stay' }, d.curStay))
              : h('span', { class: 'vp-stay', text: stayText(p.seconds) }),
          ),
        );
      }),
    );
  }

  renderFields(v) {
    const d = this.detail;
    // Frames replace the whole visitor: the same object means nothing changed.
    if (d.fieldsFor === v) return;
    d.fieldsFor = v;
    const rows = [];
    const add = (key, value) => {
      if (value === null || value === undefined || value === '') return;
      rows.push(h('dt', { text: t(`dashboard.visitors.field.${key}`) }), h('dd', {}, value));
    };
    add('page', h('span', {}, pageTitle(v.page), ' ', urlLink(v.page.url, { cls: 'vf-url' })));
    add('time_page', h('span', { class: 'v-time-page' }, d.timePage));
    add('time_site', h('span', { class: 'v-time-site' }, d.timeSite));
    add('pages', formatNumber(v.pages.length));
    add('entry', v.entry ? urlLink(v.entry, { cls: 'vf-url' }) : '–');
    add('referrer', h('span', {}, referrerKindText(v.referrerKind), v.referrer ? ' · ' : '', v.referrer ? urlLink(v.referrer, { cls: 'vf-url' }) : ''));
    if (v.campaign) {
      const c = v.campaign;
      const parts = [
        ['source', c.source],
        ['medium', c.medium],
        ['campaign', c.campaign],
        ['term', c.term],
        ['content', c.content],
      ].filter(([, x]) => x);
      add('campaign', parts.map(([k, x]) => `${t(`dashboard.visitors.utm.${k}`)}: ${x}`).join(', '));
    } else {
      add('campaign', '–');
    }
    add('browser', v.browser || '–');
    add('os', v.os || '–');
    add('device', deviceText(v.device) || '–');
    add('screen', v.screen);
    add('lang', v.lang || '–');
    if (v.country) add('country', `${countryName(v.country)} (${v.country})`);
    add('visits', formatNumber(v.visits));
    add('mode', has(`dashboard.visitors.mode.${v.mode}`) ? t(`dashboard.visitors.mode.${v.mode}`) : v.mode);
    add('chat', this.chatValue(v));
    add('invite', this.inviteValue(v));
    add('started', formatDateTime(this.localDate(v.startedAt)));
    add('last', formatDateTime(this.localDate(lastActivity(v))));
    const focused = hasFocus(d.fields) ? document.activeElement : null;
    d.fields.replaceChildren(...rows);
    if (focused && !focused.isConnected) d.title.focus();
  }

  chatValue(v) {
    if (!v.chat) return chatText(null);
    return h(
      'span',
      {},
      h('span', { class: `tag chat-${v.chat.status}`, text: chatText(v.chat) }),
      ' ',
      t('dashboard.conversation.number', { id: v.chat.conversationId }),
    );
  }

  inviteValue(v) {
    if (!v.invite) return inviteText(null);
    const i = v.invite;
    const by = i.ruleId !== null ? t('dashboard.visitors.invite_by_rule', { id: i.ruleId }) : i.agentName;
    return h(
      'span',
      {},
      h('span', { class: `tag invite-${i.state}`, text: inviteText(i) }),
      by ? ` ${t('dashboard.visitors.invite_by', { name: by })}` : '',
      i.text ? h('q', { class: 'invite-quote', text: i.text }) : '',
    );
  }

  tickDetail(now) {
    const v = this.selectedLast;
    if (!v) return;
    const live = this.model.get(v.id);
    // After they left, the times stop at the last moment we saw them.
    const end = live ? now : Math.max(v.lastSeen, v.page.at);
    const d = this.detail;
    const page = clock(end - v.page.at);
    const site = clock(end - v.startedAt);
    if (d.timePage.data !== page) d.timePage.data = page;
    if (d.timeSite.data !== site) d.timeSite.data = site;
    if (d.curStay.data !== page) d.curStay.data = page;
  }

  /** Earlier chats of consented visitors (`GET /api/visitors/{id}`). */
  async loadHistory(v) {
    const d = this.detail;
    const seq = ++this.historySeq;
    d.chatsBox.hidden = true;
    d.chats.replaceChildren();
    if (v.mode !== 'consented') return;
    d.chatsBox.hidden = false;
    d.chatsStatus.textContent = t('dashboard.history.loading');
    const res = await request('GET', `/api/visitors/${encodeURIComponent(v.id)}`);
    if (seq !== this.historySeq) return;
    if (!res.ok || !res.data || !Array.isArray(res.data.chats)) {
      d.chatsStatus.textContent = res.status === 404 ? '' : t('dashboard.visitors.detail.chats_failed');
      d.chatsBox.hidden = res.status === 404;
      return;
    }
    const chats = res.data.chats.filter((c) => c && Number.isSafeInteger(c.conversation_id));
    const first = Number.isSafeInteger(res.data.first_seen)
      ? t('dashboard.visitors.detail.first_seen', { date: formatDateTime(this.localDate(res.data.first_seen)) })
      : '';
    d.chatsStatus.textContent = [first, chats.length ? '' : t('dashboard.visitors.detail.no_chats')].filter(Boolean).join(' ');
    d.chats.replaceChildren(...chats.map((c) => previousChat(c, (at) => this.localDate(at))));
  }

  // ----- invitations -----

  onDetailInvite(e) {
    e.preventDefault();
    if (this.selectedId === null) return;
    const text = this.detail.inviteText.value.trim();
    if (charCount(text) > MAX_INVITE_CHARS) {
      this.detail.inviteStatus.textContent = t('dashboard.visitors.invite_too_long');
      this.detail.inviteText.focus();
      return;
    }
    this.invite(this.selectedId, text);
  }

  invite(id, text) {
    const v = this.model.get(id);
    if (!v || !canInvite(v) || this.isSending(id)) return;
    const name = visitorName(id);
    if (!this.model.invite(id, text)) {
      this.alert.show(t('dashboard.error.offline'));
      if (id === this.selectedId) this.detail.inviteStatus.textContent = t('dashboard.error.offline');
      return;
    }
    this.sending.set(id, Date.now());
    if (id === this.selectedId) this.detail.inviteStatus.textContent = t('dashboard.visitors.inviting', { name });
    this.markDirty(id);
  }

  onInvited(id) {
    this.sending.delete(id);
    if (id === this.selectedId) {
      this.detail.inviteStatus.textContent = t('dashboard.visitors.invited', { name: visitorName(id) });
      this.detail.inviteText.value = '';
    }
    this.markDirty(id);
  }

  onInviteError({ visitorId, code, message }) {
    this.sending.delete(visitorId);
    const reason = INVITE_ERRORS.has(code) ? t(`dashboard.visitors.invite_error.${code}`) : '';
    // Our sentence when we know the code; the server's own message is shown with it.
    const text = t('dashboard.visitors.invite_failed', {
      name: visitorName(visitorId),
      reason: reason || message || t('dashboard.error.unknown'),
    });
    const full = reason && message && message !== reason ? `${text} (${message})` : text;
    this.alert.show(full);
    if (visitorId === this.selectedId) this.detail.inviteStatus.textContent = full;
    this.markDirty(visitorId);
  }
}
