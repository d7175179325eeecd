// What the dashboard knows about chats, built from the agent socket's frames (docs/protocol.md).
// The view listens to its events; it never talks to the socket itself. Seq, epoch and the
// replies and notes awaiting their ack are kept with the shared client (../shared/socket.js).

import { ChatLog, Outbox, takeEpoch, withEpoch, retrySoon } from '../shared/socket.js';
import { RETRY_LATER, TRANSFER_ERRORS } from '../shared/errors.js';

const TYPING_SHOWN_MS = 4000;
const TYPING_SEND_EVERY_MS = 2000;
const RESEND_AFTER_MS = 10000;
const STATUSES = ['online', 'away', 'offline'];

const isInt = (v) => Number.isSafeInteger(v);
const str = (v) => (typeof v === 'string' ? v : '');

/** The entries of a list frame (`queue`, `agents`), unusable ones left out. */
function listOf(v, entryOf) {
  return (Array.isArray(v) ? v : []).map(entryOf).filter(Boolean);
}

/** A list after its `…_update` frame: `upsert` by id, `remove` ids; ordered by id. */
function updated(list, f, entryOf) {
  const byId = new Map(list.map((e) => [e.id, e]));
  for (const id of Array.isArray(f.remove) ? f.remove : []) byId.delete(id);
  for (const e of listOf(f.upsert, entryOf)) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function storageGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function storageSet(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* storage disabled: the choice lasts for this page */
  }
}

/**
 * A conversation as the dashboard holds it.
 * @typedef {{id:number, visitorName:string, visitorEmail:string, status:string,
 *   log:ChatLog, notes:Map<number,object>, unread:number,
 *   quiet:boolean, before:(null|{msgs:Map<number,object>, notes:Map<number,object>}),
 *   typingUntil:number, typingText:string, endReason:string, transferredTo:string,
 *   fields:Array<object>}} Conv
 *   (log: its messages by seq, log.last the last contiguous seq held; endReason: '', 'closed',
 *   'offline', 'transferred' or 'erased' (its visitor's data is being erased);
 *   transferredTo: when this page handed it over, the sentence that says to whom; before:
 *   after a `reset`, the entries shown until then, so that the replay's repeats of them are
 *   not news again)
 */

/**
 * Events (CustomEvent detail in brackets):
 * ready {first}, queue {waiting, added, first}, conv {conv, created, acceptedHere, handedToMe},
 * removed {id}, reset {conv} (its messages and notes were forgotten; the whole log follows),
 * message {conv, msg, live}, note {conv, note, live}, pending {p},
 * ack {p, conv, msg}, noted {p, conv, note}, typing {conv}, error {code, message},
 * status {status}, unread {conv}, agents {agents}, transfer {convId, failed}.
 * A pending entry p is {clientId, convId, kind: 'message'|'note', text, sentAt, failed}.
 */
export class ChatModel extends EventTarget {
  constructor(myName) {
    super();
    this.myName = myName;
    this.agentId = null;
    /** @type {Map<number, Conv>} */
    this.convs = new Map();
    /** client_id → {clientId, convId, kind, text, sentAt, failed}: replies and notes without their answer */
    this.pending = new Outbox((p) => ({ type: p.kind, conversation_id: p.convId, client_id: p.clientId, text: p.text }));
    this.queue = [];
    this.queueKnown = null; // ids in the last queue frame; null before the first one
    this.readyCount = 0;
    this.closingByMe = new Set();
    this.acceptingByMe = new Set();
    this.lastTypingSent = new Map();
    /** Connected agents (the `agents` frame), me included. */
    this.agents = [];
    /** conversation id → what to say once it is handed over, while this page's transfer is open. */
    this.transferring = new Map();
    this.statusSentAt = 0;
    this.status = STATUSES.includes(storageGet('kontor.status')) ? storageGet('kontor.status') : 'online';
    this.statusChosenHere = false;
    this.clockOffset = 0; // server time − local time, ms
    /** The chat log's identity from the last `ready` ('' before one carried it). */
    this.epoch = '';
    this.conn = null;
    /** Colleagues' chats this agent watches as a supervisor (chats/supervise.js shows them). */
    this.watchedIds = new Set();
  }

  /** Wires the model to the socket (connection.js). */
  attach(conn) {
    this.conn = conn;
    conn.addEventListener('frame', (e) => this.onFrame(e.detail));
    setInterval(() => this.resendStale(), RESEND_AFTER_MS / 2);
    window.addEventListener('storage', (e) => {
      // Another tab changed this agent's status: the server has it already, just show it.
      if (e.key === this.statusKey() && STATUSES.includes(e.newValue)) {
        this.status = e.newValue;
        this.emit('status', { status: this.status });
      }
    });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Server's clock, in unix seconds (queue `since` and message `at` are server times). */
  serverNow() {
    return (Date.now() + this.clockOffset) / 1000;
  }

  /**
   * The `hello` frame: every open conversation we hold with the last contiguous seq seen, and
   * the log's epoch from the last `ready` (if the log was replaced since, the server answers
   * with `reset` and the whole log of each conversation).
   */
  hello() {
    const seen = [];
    for (const c of this.convs.values()) if (c.status === 'open') seen.push([c.id, c.log.last]);
    return withEpoch({ type: 'hello', seen }, this.epoch);
  }

  statusKey() {
    return this.agentId === null ? 'kontor.status' : `kontor.status.${this.agentId}`;
  }

  displayName(conv) {
    return conv.visitorName || null;
  }

  // ----- frames -----

  onFrame(f) {
    switch (f.type) {
      case 'ready':
        return this.onReady(f);
      case 'message':
        return this.onMessage(f);
      case 'reset':
        return this.onReset(f);
      case 'ack':
        return this.onAck(f);
      case 'queue':
        return this.onQueue(f);
      case 'queue_update':
        return this.onQueueUpdate(f);
      case 'queue_alert':
        // A chat has waited past the tenant's alert time: alerted again, once.
        if (!isInt(f.conversation_id)) return;
        return this.emit('queue_alert', {
          id: f.conversation_id,
          visitorName: typeof f.visitor_name === 'string' ? f.visitor_name : '',
          waitingSecs: isInt(f.waiting_secs) ? f.waiting_secs : 0,
        });
      case 'chat_erased':
        return this.onErased(f);
      case 'conversation':
        return this.onConversation(f);
      case 'typing':
        return this.onTyping(f);
      case 'note':
        return this.onNote(f);
      case 'noted':
        return this.onNoted(f);
      case 'agents':
        return this.onAgents(f);
      case 'agents_update':
        return this.onAgentsUpdate(f);
      case 'supervision':
        if (f.action === 'stopped' && f.supervisor_id === this.agentId) this.watchedIds.delete(f.conversation_id);
        return this.emit('supervision', f);
      case 'error':
        return this.onError(f);
      default:
        return undefined; // pong and anything newer than this page
    }
  }

  onReady(f) {
    if (!isInt(f.agent_id)) return;
    const first = this.readyCount === 0;
    this.readyCount += 1;
    this.agentId = f.agent_id;
    const server = STATUSES.includes(f.status) ? f.status : null;
    // Another log than the one our entries came from (a restore): a `reset` and the whole log
    // follow for each open conversation; ours are forgotten now already (see takeEpoch).
    const { epoch, replaced } = takeEpoch(this.epoch, f.epoch);
    this.epoch = epoch;
    let restate = true;
    if (first && this.statusChosenHere) {
      storageSet(this.statusKey(), this.status);
    } else if (server && server !== 'online') {
      // A fresh presence is always `online`: anything else was chosen in another tab or on
      // another device, and is the truth.
      restate = false;
      this.status = server;
      storageSet(this.statusKey(), server);
      this.emit('status', { status: server });
    } else if (first) {
      const stored = storageGet(this.statusKey());
      if (STATUSES.includes(stored)) this.status = stored;
      this.emit('status', { status: this.status });
    }
    const open = new Set();
    for (const c of Array.isArray(f.conversations) ? f.conversations : []) {
      if (!c || !isInt(c.conversation_id) || c.status !== 'open') continue;
      open.add(c.conversation_id);
      // Chats new to this page get their whole history now: that is not "unread".
      const known = this.convs.get(c.conversation_id);
      if (known && replaced) this.resetConv(known);
      this.upsert(c, { quiet: !known });
    }
    for (const conv of this.convs.values()) {
      if (conv.status === 'open' && !open.has(conv.id)) {
        // Gone while we were away; if this page had asked to hand it over, that is what happened.
        const handedTo = this.transferring.get(conv.id);
        conv.endReason = handedTo === undefined ? 'offline' : 'transferred';
        conv.transferredTo = handedTo || '';
        this.transferring.delete(conv.id);
        this.markClosed(conv);
      }
    }
    // A transfer of a chat that is still ours was not done: let the agent try again.
    for (const convId of [...this.transferring.keys()]) {
      this.transferring.delete(convId);
      this.emit('transfer', { convId, failed: true, code: '' });
    }
    // A new socket may be a fresh presence on the server (status resets to online): restate it.
    if (restate && this.status !== server) this.sendStatus();
    this.resendPending();
    this.emit('ready', { first });
  }

  upsert(c, { quiet = false, handedToMe = false } = {}) {
    let conv = this.convs.get(c.conversation_id);
    const created = !conv;
    if (!conv) {
      conv = {
        id: c.conversation_id,
        visitorName: '',
        visitorEmail: '',
        status: 'open',
        log: new ChatLog(),
        unread: 0,
        quiet,
        before: null,
        typingUntil: 0,
        typingText: '',
        endReason: '',
        transferredTo: '',
        notes: new Map(),
        fields: [],
      };
      this.convs.set(conv.id, conv);
    }
    if (typeof c.visitor_name === 'string') conv.visitorName = c.visitor_name;
    if (typeof c.visitor_email === 'string') conv.visitorEmail = c.visitor_email;
    // The pre-chat form's values (chats/form-values.js reads them).
    if (Array.isArray(c.fields)) conv.fields = c.fields.slice(0, 50);
    if (c.status === 'open') {
      conv.status = 'open';
      conv.endReason = '';
      conv.transferredTo = '';
    }
    const acceptedHere = this.acceptingByMe.delete(conv.id);
    this.emit('conv', { conv, created, acceptedHere, handedToMe: created && !acceptedHere && handedToMe });
    return conv;
  }

  onMessage(f) {
    if (!isInt(f.conversation_id) || !isInt(f.seq) || f.seq < 1) return;
    if (this.watchedIds.has(f.conversation_id)) return;
    const author = ['visitor', 'agent', 'system', 'auto'].includes(f.author) ? f.author : 'system';
    let conv = this.convs.get(f.conversation_id);
    if (!conv) {
      // Should not happen (ready/conversation come first); keep the entry rather than lose it.
      conv = this.upsert({ conversation_id: f.conversation_id, status: 'open' }, { quiet: true });
    }
    if (conv.log.has(f.seq)) return;
    const msg = {
      seq: f.seq,
      author,
      authorName: str(f.author_name),
      text: str(f.text),
      at: isInt(f.at) ? f.at : Math.floor(this.serverNow()),
      file:
        f.file && isInt(f.file.id)
          ? { id: f.file.id, name: str(f.file.name), size: isInt(f.file.size) ? f.file.size : 0 }
          : null,
    };
    conv.log.hold(msg.seq, msg);
    const live = !conv.quiet && !this.repeated(conv, msg);
    if (live && author === 'visitor') {
      conv.unread += 1;
      conv.typingUntil = 0;
    }
    this.emit('message', { conv, msg, live });
  }

  /** `reset`: the server's log of this conversation is not the one we hold; it follows whole. */
  onReset(f) {
    if (!isInt(f.conversation_id)) return;
    const conv = this.convs.get(f.conversation_id);
    if (conv) this.resetConv(conv);
  }

  /**
   * Forgets a conversation's messages (seq back to 0) and notes; the view drops them from its
   * log and shows the replay as it arrives. The replay after `hello` brings every note of the
   * chat again after its log (a restored log may give a new note the id of a dropped one, so
   * notes are not kept across it). Replies and notes never acknowledged stay: they are sent
   * again with the same client_id.
   */
  resetConv(conv) {
    // (A second reset during a replay adds what the first part of it brought.)
    const before = conv.before || { msgs: new Map(), notes: new Map() };
    for (const [seq, msg] of conv.log.clear()) before.msgs.set(seq, msg);
    for (const [id, note] of conv.notes) before.notes.set(id, note);
    conv.before = before;
    conv.notes = new Map();
    this.emit('reset', { conv });
  }

  /**
   * Whether a message after a `reset` is one this page showed before it (same seq, author and
   * content): not news (no unread count, not read out again). New or changed entries are.
   */
  repeated(conv, msg) {
    const old = conv.before ? conv.before.msgs.get(msg.seq) : null;
    return (
      !!old &&
      old.author === msg.author &&
      old.text === msg.text &&
      (old.file ? old.file.id : null) === (msg.file ? msg.file.id : null)
    );
  }

  onAck(f) {
    const p = this.pending.answered(f.client_id, (e) => e.kind === 'message' && isInt(f.seq));
    if (!p) return;
    const conv = this.convs.get(p.convId);
    let msg = null;
    if (conv && !conv.log.has(f.seq)) {
      msg = {
        seq: f.seq,
        author: 'agent',
        authorName: this.myName,
        text: p.text,
        at: Math.floor(this.serverNow()),
        file: null,
      };
      conv.log.hold(msg.seq, msg);
    }
    this.emit('ack', { p, conv, msg });
  }

  queueEntry(w) {
    if (!w || !isInt(w.conversation_id)) return null;
    return {
      id: w.conversation_id,
      visitorName: str(w.visitor_name),
      since: isInt(w.since) ? w.since : Math.floor(this.serverNow()),
      offeredTo: isInt(w.offered_to) ? w.offered_to : null,
    };
  }

  onQueue(f) {
    this.setQueue(listOf(f.waiting, (w) => this.queueEntry(w)));
  }

  /** Changes since the last queue: upserts by conversation id, removals; order is by id. */
  onQueueUpdate(f) {
    this.setQueue(updated(this.queue, f, (w) => this.queueEntry(w)));
  }

  setQueue(waiting) {
    const first = this.queueKnown === null;
    const known = this.queueKnown || new Set();
    const added = first ? [] : waiting.filter((w) => !known.has(w.id));
    this.queueKnown = new Set(waiting.map((w) => w.id));
    this.queue = waiting;
    // The server sends `queue` after the replay that follows `hello` or `accept`: what comes
    // from now on is live.
    for (const conv of this.convs.values()) conv.quiet = false;
    this.emit('queue', { waiting, added, first });
  }

  onConversation(f) {
    if (!isInt(f.conversation_id)) return;
    // A colleague's chat this agent watches is not theirs; once taken over, it is.
    if (f.watching === true) {
      if (f.status === 'closed') this.watchedIds.delete(f.conversation_id);
      else this.watchedIds.add(f.conversation_id);
      return;
    }
    this.watchedIds.delete(f.conversation_id);
    const conv = this.convs.get(f.conversation_id);
    if (f.status === 'open' && f.agent_id === this.agentId && this.agentId !== null) {
      // Not accepted here and new to this page: a colleague handed it over (or another tab of
      // mine accepted it).
      this.upsert(f, { quiet: !conv, handedToMe: !conv && !this.acceptingByMe.has(f.conversation_id) });
    } else if (conv && conv.status === 'open') {
      // Closed, or no longer ours (handed to another agent or back to the queue).
      if (typeof f.visitor_name === 'string') conv.visitorName = f.visitor_name;
      conv.endReason = f.status === 'closed' ? 'closed' : 'transferred';
      if (conv.endReason === 'transferred') conv.transferredTo = this.transferring.get(conv.id) || '';
      this.transferring.delete(conv.id);
      this.markClosed(conv);
    }
  }

  /** A chat ended because its visitor's data is being erased (a data-subject request). */
  onErased(f) {
    if (!isInt(f.conversation_id)) return;
    const conv = this.convs.get(f.conversation_id);
    if (conv) {
      conv.endReason = 'erased';
      this.emit('conv', { conv, created: false, acceptedHere: false });
    }
    this.emit('erased', { id: f.conversation_id, visitorName: conv ? conv.visitorName : '' });
  }

  markClosed(conv) {
    conv.status = 'closed';
    conv.typingUntil = 0;
    for (const p of this.pending.values()) {
      if (p.convId === conv.id && !p.failed) {
        p.failed = true;
        this.emit('pending', { p });
      }
    }
    if (this.closingByMe.delete(conv.id)) {
      this.remove(conv.id);
    } else {
      this.emit('conv', { conv, created: false, acceptedHere: false });
    }
  }

  onTyping(f) {
    const conv = this.convs.get(f.conversation_id);
    if (!conv || conv.status !== 'open' || f.who !== 'visitor') return;
    conv.typingUntil = Date.now() + TYPING_SHOWN_MS;
    // The draft comes only while the tenant's typing preview is on.
    conv.typingText = str(f.text);
    this.emit('typing', { conv });
  }

  onNote(f) {
    if (!isInt(f.conversation_id) || !isInt(f.id)) return;
    if (this.watchedIds.has(f.conversation_id)) return;
    const conv = this.convs.get(f.conversation_id);
    if (!conv || conv.notes.has(f.id)) return;
    const note = {
      id: f.id,
      authorName: str(f.author_name),
      text: str(f.text),
      at: isInt(f.at) ? f.at : Math.floor(this.serverNow()),
    };
    conv.notes.set(note.id, note);
    const old = conv.before ? conv.before.notes.get(note.id) : null;
    const repeated = !!old && old.text === note.text;
    this.emit('note', { conv, note, live: !conv.quiet && !repeated });
  }

  onNoted(f) {
    const p = this.pending.answered(f.client_id, (e) => e.kind === 'note' && isInt(f.id));
    if (!p) return;
    const conv = this.convs.get(p.convId);
    let note = null;
    // A retry after a reconnect may be answered for a note the replay has shown already.
    if (conv && !conv.notes.has(f.id)) {
      note = { id: f.id, authorName: this.myName, text: p.text, at: Math.floor(this.serverNow()) };
      conv.notes.set(note.id, note);
    }
    this.emit('noted', { p, conv, note });
  }

  presenceEntry(a) {
    if (!a || !isInt(a.agent_id)) return null;
    return {
      id: a.agent_id,
      name: str(a.name),
      status: STATUSES.includes(a.status) ? a.status : 'offline',
      open: isInt(a.open) ? a.open : 0,
      capacity: isInt(a.capacity) ? a.capacity : 0,
      departments: Array.isArray(a.departments) ? a.departments.filter(isInt) : [],
    };
  }

  onAgents(f) {
    this.setAgents(listOf(f.agents, (a) => this.presenceEntry(a)));
  }

  /** Changes since the last presence list: upserts by agent id, removals; order is by id. */
  onAgentsUpdate(f) {
    this.setAgents(updated(this.agents, f, (a) => this.presenceEntry(a)));
  }

  setAgents(agents) {
    this.agents = agents;
    // My own status as the server has it: another tab or device may have changed it. Right
    // after this page sent one, a list computed before the server saw it may still arrive.
    const me = agents.find((a) => a.id === this.agentId);
    if (me && me.status !== this.status && Date.now() - this.statusSentAt > 3000) {
      this.status = me.status;
      storageSet(this.statusKey(), me.status);
      this.emit('status', { status: me.status });
    }
    this.emit('agents', { agents });
  }

  onError(f) {
    const code = str(f.code);
    // Errors carry no conversation: a refused transfer is the one this page is waiting for.
    const transfer = this.transferring.size > 0 && TRANSFER_ERRORS.has(code);
    if (transfer) {
      const ids = [...this.transferring.keys()];
      this.transferring.clear();
      for (const convId of ids) this.emit('transfer', { convId, failed: true, code });
    }
    this.emit('error', { code, message: str(f.message), transfer });
    // The frame was refused, not lost: replies go out again with the same client_id.
    if (RETRY_LATER.has(code)) retrySoon(() => this.resendPending());
  }

  // ----- actions -----

  /**
   * Queues a reply (kind `message`) or an internal note (kind `note`); it stays pending until
   * the server's `ack` or `noted`, across reconnects.
   */
  sendMessage(convId, text, kind = 'message') {
    const conv = this.convs.get(convId);
    if (!conv || conv.status !== 'open') return null;
    const p = this.pending.add({ convId, kind, text });
    this.emit('pending', { p });
    this.transmit(p);
    if (kind === 'message') this.lastTypingSent.delete(convId);
    return p;
  }

  transmit(p) {
    this.pending.transmit(this.conn, p);
  }

  resendPending() {
    if (!this.conn.open) return;
    this.pending.resend(this.conn);
  }

  resendStale() {
    if (!this.conn.open || this.readyCount === 0) return;
    this.pending.resendStale(this.conn, RESEND_AFTER_MS);
  }

  /** Forgets a reply that can no longer be delivered. */
  discardPending(clientId) {
    const p = this.pending.get(clientId);
    if (!p) return;
    this.pending.delete(clientId);
    const conv = this.convs.get(p.convId);
    if (p.kind === 'note') this.emit('noted', { p, conv, note: null });
    else this.emit('ack', { p, conv, msg: null });
  }

  hasUndelivered() {
    for (const p of this.pending.values()) if (!p.failed) return true;
    return false;
  }

  accept(convId) {
    const ok = this.conn.send({ type: 'accept', conversation_id: convId });
    if (ok) this.acceptingByMe.add(convId);
    return ok;
  }

  close(convId) {
    const ok = this.conn.send({ type: 'close', conversation_id: convId });
    if (ok) this.closingByMe.add(convId);
    return ok;
  }

  /** Hands an open chat to an agent ({agent: id}) or a department's queue ({department: id}). */
  transfer(convId, { agent = null, department = null, label = '' }) {
    const conv = this.convs.get(convId);
    if (!conv || conv.status !== 'open') return false;
    const frame = { type: 'transfer', conversation_id: convId };
    if (agent !== null) frame.to_agent = agent;
    else frame.to_department = department;
    const ok = this.conn.send(frame);
    if (ok) this.transferring.set(convId, label);
    return ok;
  }

  /** Called while the agent types; sends `typing` at most every 2 s per chat. */
  typing(convId) {
    const conv = this.convs.get(convId);
    if (!conv || conv.status !== 'open') return;
    const now = Date.now();
    if (now - (this.lastTypingSent.get(convId) || 0) < TYPING_SEND_EVERY_MS) return;
    if (this.conn.send({ type: 'typing', conversation_id: convId })) this.lastTypingSent.set(convId, now);
  }

  setStatus(status) {
    if (!STATUSES.includes(status)) return;
    this.status = status;
    this.statusChosenHere = true;
    storageSet(this.statusKey(), status);
    this.sendStatus();
    this.emit('status', { status });
  }

  sendStatus() {
    if (this.conn.send({ type: 'status', status: this.status })) this.statusSentAt = Date.now();
  }

  markRead(convId) {
    const conv = this.convs.get(convId);
    if (conv && conv.unread) {
      conv.unread = 0;
      this.emit('unread', { conv });
    }
  }

  /** Drops a closed chat from the list. */
  remove(convId) {
    if (!this.convs.delete(convId)) return;
    for (const p of [...this.pending.values()]) if (p.convId === convId) this.pending.delete(p.clientId);
    this.emit('removed', { id: convId });
  }

  /** Estimates the server's clock from a `Date` response header. */
  async syncClock() {
    try {
      const t0 = Date.now();
      const res = await fetch('/api/session', { credentials: 'same-origin', cache: 'no-store' });
      const date = Date.parse(res.headers.get('Date') || '');
      if (!Number.isNaN(date)) {
        const offset = date + 500 - (t0 + Date.now()) / 2; // Date has 1 s resolution
        this.clockOffset = Math.abs(offset) > 2000 ? offset : 0;
      }
    } catch {
      /* keep the local clock */
    }
  }
}
