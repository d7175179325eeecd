// Visitor data in words: durations, short addresses, referrer, campaign, device, country, chat
// and invitation states. Shared by the Visitors section and the chat's visitor panel. Every
// value here comes from a visitor's browser: it is only ever set as text (see dom.js).

import { h } from './dom.js';
import { t, lang, formatDateTime } from './i18n.js';

const pad = (n) => String(n).padStart(2, '0');

/** A compact, fixed-width clock for ticking cells: "0:45", "3:05", "1:02:03". */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const mins = Math.floor((s % 3600) / 60);
  return hours ? `${hours}:${pad(mins)}:${pad(s % 60)}` : `${mins}:${pad(s % 60)}`;
}

/** An address without scheme and "www.", cut to `max` characters: "shop.example/cart". */
export function shortUrl(url, max = 60) {
  let s = String(url || '').replace(/^https?:\/\//i, '').replace(/^www\./i, '');
  // A bare host reads better without its trailing slash.
  if (s.indexOf('/') === s.length - 1) s = s.slice(0, -1);
  const chars = [...s];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : s;
}

/** The address when it is http(s), else null: nothing else may become a link. */
export function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** A link to a visitor's page (new tab, no referrer), or plain text for odd addresses. */
export function urlLink(url, { max = 80, cls = '' } = {}) {
  const href = safeHref(url);
  const text = shortUrl(url, max) || '–';
  if (!href) return h('span', { class: cls || null, title: url || null, text });
  return h('a', { class: cls || null, href, title: url, target: '_blank', rel: 'noopener noreferrer', text });
}

/** The page's title, or its address when it has none. */
export function pageTitle(page) {
  return page.title.trim() || shortUrl(page.url, 60) || t('dashboard.visitors.untitled');
}

const REFERRER_KINDS = ['search', 'social', 'site', 'direct'];

export function referrerKindText(kind) {
  return REFERRER_KINDS.includes(kind) ? t(`dashboard.visitors.ref.${kind}`) : kind || '–';
}

/** "Search · www.google.com", or "Direct". */
export function referrerText(v) {
  const kind = referrerKindText(v.referrerKind);
  return v.referrerHost && v.referrerKind !== 'direct' ? `${kind} · ${v.referrerHost}` : kind;
}

/** "newsletter / email / spring", or "" without a campaign. */
export function campaignText(c) {
  if (!c) return '';
  return [c.source, c.medium, c.campaign].filter(Boolean).join(' / ');
}

const DEVICES = ['desktop', 'smartphone', 'tablet', 'other'];

export function deviceText(device) {
  return DEVICES.includes(device) ? t(`dashboard.visitors.device.${device}`) : device || '';
}

/** "Chrome 120 · Windows 10 · Desktop" (what is known of it). */
export function browserText(v) {
  return [v.browser, v.os, deviceText(v.device)].filter(Boolean).join(' · ');
}

const regionNames = (() => {
  try {
    return new Intl.DisplayNames([lang], { type: 'region' });
  } catch {
    return null;
  }
})();

const countryNames = new Map();

/** "Germany" for "DE" in the page's language; the code when the browser cannot tell. */
export function countryName(code) {
  if (!code) return '';
  let name = countryNames.get(code);
  if (name === undefined) {
    try {
      name = (regionNames && regionNames.of(code)) || code;
    } catch {
      name = code; // not a region code the browser knows
    }
    countryNames.set(code, name);
  }
  return name;
}

/** Whether the visitor is in a chat that is not over. */
export function inChat(v) {
  return !!v.chat && v.chat.status !== 'closed';
}

/** Whether an invitation is on its way or on the visitor's screen. */
export function invitePending(v) {
  return !!v.invite && (v.invite.state === 'pending' || v.invite.state === 'shown');
}

/** Whether an agent may invite this visitor now. */
export function canInvite(v) {
  return !inChat(v) && !invitePending(v);
}

const CHAT_STATES = ['waiting', 'open', 'closed'];

export function chatText(chat) {
  if (!chat) return t('dashboard.visitors.chat.none');
  return CHAT_STATES.includes(chat.status) ? t(`dashboard.visitors.chat.${chat.status}`) : chat.status;
}

const INVITE_STATES = ['pending', 'shown', 'accepted', 'dismissed'];

export function inviteText(invite) {
  if (!invite) return t('dashboard.visitors.invite_state.none');
  return INVITE_STATES.includes(invite.state) ? t(`dashboard.visitors.invite_state.${invite.state}`) : invite.state;
}

/** How long someone stayed on a page, for the page lists ("2:05", "current page"). */
export function stayText(seconds) {
  return seconds === null ? t('dashboard.visitors.current_page') : clock(seconds);
}

/** One earlier chat: date, status and a link to it in the history. */
export function previousChat(c, toLocal) {
  const when = Number.isSafeInteger(c.created_at) ? toLocal(c.created_at) : null;
  const status = typeof c.status === 'string' ? c.status : '';
  const statusText = ['waiting', 'open', 'closed'].includes(status) ? t(`dashboard.history.status.${status}`) : status;
  const label = when ? formatDateTime(when) : t('dashboard.conversation.number', { id: c.conversation_id });
  return h(
    'li',
    { class: 'previous-chat', 'data-conversation-id': c.conversation_id },
    h('a', { href: `/app/history?c=${encodeURIComponent(c.conversation_id)}`, text: label }),
    ' ',
    h('span', { class: `tag status-${status}`, text: statusText }),
    typeof c.visitor_name === 'string' && c.visitor_name ? h('span', { class: 'muted', text: ` ${c.visitor_name}` }) : null,
  );
}
