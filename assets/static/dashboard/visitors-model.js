// What the dashboard knows about the visitors on the website right now, built from the agent
// socket's `visitors` (and `visitors_more`), `visitor` and `visitor_left` frames (contract:
// visitor monitoring). The views listen to its events and never talk to the socket themselves.

import { countryName } from './visitor-text.js';

/** The relevance signals the server names (model::relevance). */
const RELEVANCE_SIGNALS = ['pages', 'time', 'campaign', 'goal', 'returning', 'chats'];

const isInt = (v) => Number.isSafeInteger(v);
const str = (v) => (typeof v === 'string' ? v : '');
const intOr = (v, d) => (isInt(v) ? v : d);

/** Answers to an `invite` frame (errors carry no visitor id: they belong to the last invite). */
const INVITE_ERRORS = new Set([
  'not_found',
  'already_invited',
  'in_chat',
  'invalid_input',
  'invalid_frame',
  'rate_limited',
  'busy',
  'internal_error',
]);
/** An error this long after an invite no longer answers it. */
const INVITE_ANSWER_MS = 10000;

/**
 * A visitor as the dashboard holds it (camelCase; every field present).
 * @typedef {{id:number, siteKey:string, mode:string, startedAt:number, lastSeen:number,
 *   page:{url:string,title:string,at:number}, pages:{url:string,title:string,at:number,
 *   seconds:(number|null)}[], entry:string, referrer:string, referrerKind:string,
 *   referrerHost:string, campaign:(null|{source:string,medium:string,campaign:string,
 *   term:string,content:string}), browser:string, os:string, device:string, lang:string,
 *   screen:string, country:(string|null), visits:number,
 *   chat:(null|{conversationId:number,status:string}),
 *   invite:(null|{id:number,state:string,agentName:string,text:string,ruleId:(number|null)}),
 *   search:string}} Visitor
 *   (search: the lowercased text the filter box looks in)
 */

function parsePage(p, fallbackAt) {
  if (!p || typeof p !== 'object') return null;
  return {
    url: str(p.url),
    title: str(p.title),
    at: intOr(p.at, fallbackAt),
    seconds: isInt(p.seconds) ? p.seconds : null,
  };
}

/** A page list from the API or a frame: oldest first, only well-formed entries. */
export function parsePages(list, fallbackAt = 0) {
  return (Array.isArray(list) ? list : []).map((p) => parsePage(p, fallbackAt)).filter(Boolean);
}

/** A VISITOR object from the server, or null when it has no id. */
export function parseVisitor(o) {
  if (!o || typeof o !== 'object' || !isInt(o.visitor_id)) return null;
  const startedAt = intOr(o.started_at, 0);
  const pages = parsePages(o.pages, startedAt);
  const page = parsePage(o.page, startedAt) || pages[pages.length - 1] || { url: '', title: '', at: startedAt };
  const c = o.campaign && typeof o.campaign === 'object' ? o.campaign : null;
  const campaign = c
    ? { source: str(c.source), medium: str(c.medium), campaign: str(c.campaign), term: str(c.term), content: str(c.content) }
    : null;
  const chat =
    o.chat && typeof o.chat === 'object' && isInt(o.chat.conversation_id)
      ? { conversationId: o.chat.conversation_id, status: str(o.chat.status) }
      : null;
  const i = o.invite && typeof o.invite === 'object' ? o.invite : null;
  const invite = i
    ? {
        id: intOr(i.id, 0),
        state: str(i.state),
        agentName: str(i.agent_name),
        text: str(i.text),
        ruleId: isInt(i.rule_id) ? i.rule_id : null,
      }
    : null;
  const country = typeof o.country === 'string' && o.country ? o.country : null;
  const v = {
    id: o.visitor_id,
    siteKey: str(o.site_key),
    mode: str(o.mode),
    startedAt,
    lastSeen: intOr(o.last_seen, page.at),
    page,
    pages,
    entry: str(o.entry),
    referrer: str(o.referrer),
    referrerKind: str(o.referrer_kind) || 'direct',
    referrerHost: str(o.referrer_host),
    campaign,
    browser: str(o.browser),
    os: str(o.os),
    device: str(o.device),
    lang: str(o.lang),
    screen: str(o.screen),
    country,
    visits: intOr(o.visits, 1),
    relevance: Math.min(10, Math.max(0, intOr(o.relevance, 0))),
    relevanceWhy: Array.isArray(o.relevance_why) ? o.relevance_why.filter((w) => RELEVANCE_SIGNALS.includes(w)) : [],
    chat,
    invite,
    search: '',
  };
  // Built once per change, so that filtering 2,000 visitors is a string search each.
  v.search = [
    page.url,
    page.title,
    v.referrer,
    v.referrerHost,
    campaign ? [campaign.source, campaign.medium, campaign.campaign, campaign.term, campaign.content].join(' ') : '',
    v.browser,
    v.os,
    country || '',
    country ? countryName(country) : '',
  ]
    .join('\n')
    .toLowerCase();
  return v;
}

/**
 * Events (CustomEvent detail in brackets):
 * visitor {id, visitor} (appeared or changed; the whole visitor was replaced),
 * left {id, visitor} (gone; `visitor` is the last known state),
 * loaded {count, more} (a part of the list after `hello` has been taken over; `more`: parts
 *   follow, the list is complete when it is false),
 * invited {visitorId} (the server took an invite from this page),
 * invite_error {visitorId, code, message}.
 */
export class VisitorsModel extends EventTarget {
  /** @param {{serverNow: () => number}} clockSource the chat model (its clock until frames come) */
  constructor(clockSource) {
    super();
    /** @type {Map<number, Visitor>} */
    this.visitors = new Map();
    /** conversation id → visitor id */
    this.byConv = new Map();
    this.loaded = false;
    /** While the parts of a list come: the ids they (and `visitor` frames) brought so far. */
    this.incoming = null;
    this.clockSource = clockSource;
    this.offset = null; // server − local, ms, from the frames' `now`
    this.inviting = null; // {id, at} of the last invite sent from this page
  }

  attach(conn) {
    this.conn = conn;
    conn.addEventListener('frame', (e) => this.onFrame(e.detail));
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** The server's clock in unix seconds (fractional). */
  serverNow() {
    if (this.offset === null) return this.clockSource ? this.clockSource.serverNow() : Date.now() / 1000;
    return (Date.now() + this.offset) / 1000;
  }

  /**
   * `now` (whole seconds, stamped before sending) says the server's clock is at least now·1000
   * when the frame arrives, and less than (now+1)·1000 plus the trip. Raise the estimate when a
   * frame proves it low; lower it only when it is clearly too high (the local clock jumped).
   */
  noteNow(now) {
    if (!isInt(now)) return;
    const low = now * 1000 - Date.now();
    if (this.offset === null || low > this.offset || low + 1500 < this.offset) this.offset = low + 500;
  }

  get(id) {
    return this.visitors.get(id) || null;
  }

  /** The live visitor in this conversation, or null. */
  byConversation(convId) {
    const id = this.byConv.get(convId);
    return id === undefined ? null : this.get(id);
  }

  onFrame(f) {
    switch (f.type) {
      case 'visitors':
        return this.onList(f, true);
      case 'visitors_more':
        return this.onList(f, false);
      case 'visitor':
        return this.onVisitor(f);
      case 'visitor_left':
        return this.onLeft(f.visitor_id);
      case 'error':
        return this.onError(f);
      default:
        return undefined;
    }
  }

  /**
   * The live list after `hello`, in parts: `visitors` (first) starts it, `visitors_more` adds
   * to it while `more` was true. Each part is shown at once; the list replaces what this page
   * held once the last part is in (visitors the page still shows from before stay until then).
   */
  onList(f, first) {
    this.noteNow(f.now);
    if (first || !this.incoming) this.incoming = new Set();
    const seen = this.incoming;
    for (const o of Array.isArray(f.visitors) ? f.visitors : []) {
      const v = parseVisitor(o);
      if (!v) continue;
      seen.add(v.id);
      this.put(v);
    }
    const more = f.more === true;
    if (!more) {
      this.incoming = null;
      // Whoever is missing left while this page was disconnected.
      for (const id of [...this.visitors.keys()]) if (!seen.has(id)) this.onLeft(id);
    }
    this.loaded = true;
    this.emit('loaded', { count: this.visitors.size, more });
  }

  onVisitor(f) {
    this.noteNow(f.now);
    const v = parseVisitor(f.visitor);
    if (!v) return;
    // Between parts: a visitor the list has brought, or one that came since: live either way.
    if (this.incoming) this.incoming.add(v.id);
    this.put(v);
  }

  put(v) {
    const old = this.visitors.get(v.id);
    if (old && old.chat && (!v.chat || v.chat.conversationId !== old.chat.conversationId)) {
      this.byConv.delete(old.chat.conversationId);
    }
    if (v.chat) this.byConv.set(v.chat.conversationId, v.id);
    this.visitors.set(v.id, v);
    // Our invite is taken once the visitor carries an open invitation (it may be shown at once).
    if (this.inviting && this.inviting.id === v.id && v.invite && ['pending', 'shown'].includes(v.invite.state)) {
      this.inviting = null;
      this.emit('invited', { visitorId: v.id });
    }
    this.emit('visitor', { id: v.id, visitor: v });
  }

  onLeft(id) {
    const v = this.visitors.get(id);
    if (!v) return;
    this.visitors.delete(id);
    if (v.chat && this.byConv.get(v.chat.conversationId) === id) this.byConv.delete(v.chat.conversationId);
    this.emit('left', { id, visitor: v });
  }

  onError(f) {
    const code = str(f.code);
    const inv = this.inviting;
    if (!inv || Date.now() - inv.at > INVITE_ANSWER_MS || !INVITE_ERRORS.has(code)) return;
    this.inviting = null;
    this.emit('invite_error', { visitorId: inv.id, code, message: str(f.message) });
  }

  /** Sends an invitation (text optional); false when there is no open socket. */
  invite(id, text = '') {
    if (!this.conn) return false;
    const frame = { type: 'invite', visitor_id: id };
    const trimmed = text.trim();
    if (trimmed) frame.text = trimmed;
    if (!this.conn.send(frame)) return false;
    this.inviting = { id, at: Date.now() };
    return true;
  }
}
