// kontor chat UI: runs inside the widget iframe (served by kontor, on kontor's origin).
//
// Before the visitor ticks the opt-in box and presses Start, this page stores nothing and
// opens no socket. After that it keeps { token, conversation_id, last_seq, epoch, pending } in
// this frame's sessionStorage (kontor's origin, this tab only) so that a page change on the
// customer's site resumes the chat; it is removed after the rating or on "New chat".
//
// Every text from the network is rendered with textContent; links are made only for
// http, https and mailto.

const body = document.body;
const $ = (id) => document.getElementById(id);

const cfg = {
  site: body.dataset.site || "",
  lang: body.dataset.lang === "de" ? "de" : "en",
  parents: (body.dataset.parents || "").split(/\s+/).filter(Boolean),
  privacyUrl: body.dataset.privacyUrl || "",
  color: body.dataset.color || "",
  available: body.dataset.available !== "false",
  // The tenant lets agents see the visitor's draft while it is typed: the notice says so.
  typingPreview: body.dataset.typingPreview === "true",
};
// The notice text the visitor agreed to: the site's version (1 is kontor's built-in text),
// plus the typing-preview sentence if shown.
const NOTICE_VERSION = (body.dataset.noticeVersion || "1") + (cfg.typingPreview ? "+preview" : "");
const STORE_KEY = "kontor-chat:" + cfg.site;
const MAX_TEXT = 4000;
const TYPING_EVERY = 2000; // at most one typing frame per 2 s
const MAX_FILE = 10 * 1024 * 1024;
const FILE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"];
const FILE_EXT = /\.(?:png|jpe?g|gif|webp|pdf)$/i;
const AVAILABILITY_EVERY = 30000;
const inFrame = window.parent !== window;

// ---------------------------------------------------------------- parent (the loader)

// Is the panel around this frame visible? Standalone (not framed) it always is.
let visible = !inFrame;
let unread = 0;
let focusWhenReady = !inFrame;

function parentTargets() {
  // Post only to the origin that embeds us, if we can tell which one it is.
  const anc = location.ancestorOrigins;
  if (anc && anc.length) return cfg.parents.includes(anc[0]) ? [anc[0]] : [];
  try {
    const ref = document.referrer && new URL(document.referrer).origin;
    if (ref && cfg.parents.includes(ref)) return [ref];
  } catch {
    // no usable referrer
  }
  return cfg.parents;
}

function tellParent(msg) {
  if (!inFrame) return;
  for (const origin of parentTargets()) {
    try {
      window.parent.postMessage(msg, origin);
    } catch {
      // a malformed origin in the list: skip it
    }
  }
}

window.addEventListener("message", (e) => {
  if (!inFrame || e.source !== window.parent || !cfg.parents.includes(e.origin)) return;
  const d = e.data;
  if (!d || typeof d !== "object" || typeof d.kontor !== "string") return;
  if (d.kontor === "shown") {
    visible = true;
    setUnread(0);
    // Before start-up finished there is nothing to focus yet: main() does it then.
    if (d.focus === true) current ? focusCurrent() : (focusWhenReady = true);
    availabilityDue();
  } else if (d.kontor === "hidden") {
    visible = false;
  } else if (d.kontor === "invited") {
    // The visitor accepted an agent's invitation on the page: greet them with it.
    const str = (v, max) => (typeof v === "string" ? v.slice(0, max) : "");
    greeting = { agent: str(d.agent, 100), text: str(d.text, 1000) };
    if (viewsReady) showGreeting();
  }
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && visible) {
    setUnread(0);
    availabilityDue();
  }
});

function setUnread(n) {
  if (n === unread) return;
  unread = n;
  tellParent({ kontor: "unread", count: n });
}

// ---------------------------------------------------------------- invitation greeting

// An agent invited the visitor (the loader showed the invitation on the site's page and the
// visitor accepted it): the agent's text goes above the opt-in form. It starts nothing; the
// visitor still has to agree and press Start. Inserted into an empty live region: announced.
let greeting = null; // { agent, text }
let viewsReady = false;

function showGreeting() {
  const box = $("greeting");
  if (!greeting) {
    box.replaceChildren();
    return;
  }
  const who = document.createElement("p");
  who.className = "greeting-who";
  who.textContent = greeting.agent
    ? t("widget.invited_by", { name: greeting.agent })
    : t("widget.invited_anon");
  const text = document.createElement("p");
  text.className = "greeting-text";
  text.textContent = greeting.text;
  const card = document.createElement("div");
  card.className = "greeting";
  card.append(who, text);
  box.replaceChildren(card);
  // Shown only with the start form: if the frame still offers the offline form, check now
  // whether someone is available (the inviting agent should be).
  if (current === "v-offline") checkAvailability();
}

// ---------------------------------------------------------------- strings

let T = {};
function t(key, vars) {
  const s = Object.hasOwn(T, key) ? T[key] : key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, v) => (Object.hasOwn(vars, v) ? String(vars[v]) : m)) : s;
}

async function loadCatalog() {
  for (let i = 0; i < 3; i++) {
    try {
      const r = await fetch(`/i18n/widget.${cfg.lang}.json`, { credentials: "same-origin" });
      if (r.ok) {
        T = await r.json();
        return;
      }
    } catch {
      // retry below
    }
    await new Promise((res) => setTimeout(res, 500 * (i + 1)));
  }
}

// ---------------------------------------------------------------- storage (after opt-in only)

let saved = null; // { token, conversation_id, last_seq, epoch, pending: [{id, text}] }

// The log's identity from `welcome` (opaque; 32 hex digits today); "" while unknown.
const epochOf = (v) => (typeof v === "string" && /^[\w-]{1,128}$/.test(v) ? v : "");

function readSaved() {
  try {
    const raw = sessionStorage.getItem(STORE_KEY);
    if (!raw) return null;
    const v = JSON.parse(raw);
    if (v && typeof v.token === "string" && v.token) {
      return {
        token: v.token,
        conversation_id: Number.isSafeInteger(v.conversation_id) ? v.conversation_id : 0,
        last_seq: Number.isSafeInteger(v.last_seq) ? v.last_seq : 0,
        epoch: epochOf(v.epoch),
        pending: Array.isArray(v.pending)
          ? v.pending.filter((p) => p && typeof p.id === "string" && typeof p.text === "string")
          : [],
      };
    }
  } catch {
    // storage blocked or garbage: behave as if nothing is stored
  }
  return null;
}

function persist() {
  if (!chat.token) return; // nothing before the conversation exists
  const v = {
    token: chat.token,
    conversation_id: chat.conversationId,
    last_seq: chat.lastSeq,
    epoch: chat.epoch || undefined,
    pending: [...chat.pending.entries()].map(([id, p]) => ({ id, text: p.text })),
  };
  try {
    sessionStorage.setItem(STORE_KEY, JSON.stringify(v));
  } catch {
    // storage full or blocked: the chat still works for this page
  }
}

function forget() {
  try {
    sessionStorage.removeItem(STORE_KEY);
  } catch {
    // ignore
  }
}

// ---------------------------------------------------------------- views

const views = ["v-start", "v-offline", "v-chat"];
let current = "";

function show(view) {
  current = view;
  for (const v of views) $(v).hidden = v !== view;
}

function focusCurrent() {
  let el = null;
  if (current === "v-start") el = $("s-name");
  else if (current === "v-offline") el = $("offline-thanks").hidden ? $("o-name") : $("offline-thanks");
  else if (current === "v-chat") {
    if (!$("ended").hidden) el = $("rated").hidden ? firstStar() : $("transcript-btn");
    else el = $("msg");
  }
  el?.focus();
}

function firstStar() {
  return document.querySelector('input[name="score"]:checked') || $("star-1");
}

function setError(id, text, field) {
  $(id).textContent = text || "";
  if (field) {
    if (text) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

// ---------------------------------------------------------------- chat state

const chat = {
  token: "",
  conversationId: 0,
  lastSeq: 0, // every seq from 1 up to this is held (shown, or an event not shown): resume from here
  seenSeq: 0, // entries up to this were shown before (on an earlier page): not unread
  epoch: "", // the log's identity from the last `welcome`, sent back in `resume`
  status: "", // waiting | open | closed
  agentName: "",
  pending: new Map(), // client_id -> { text, el }
  bySeq: new Map(), // seq -> element (null: an entry held but not shown)
  startParams: null, // the start frame while no token exists yet
  startSent: false, // the start frame went out on a socket, no welcome yet
  ended: false,
  rated: false,
  wantEnd: false,
  rateFrame: null,
};

let ws = null;
let welcomed = false;
let stopped = true;
let attempt = 0;
let retryTimer = 0;
let pingTimer = 0;
let lastFrameAt = 0;
let firstResume = true;
let tryAgain = 0; // close 1013 ("try again") in a row; a socket that lasted a while resets it
let openedAt = 0;

function wsUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/ws/visitor?site=${encodeURIComponent(cfg.site)}`;
}

function setConn(state) {
  const el = $("conn");
  el.dataset.state = state;
  el.textContent = t("widget.conn_" + state);
}

// A fresh page asks for the whole conversation (the server is the truth, this page keeps no
// transcript); a reconnect of this page asks only for what follows the last contiguous seq it
// holds. The log's epoch goes along when known: if the log was replaced (a restore), the
// server answers with `reset` and the whole log.
function resumeFrame() {
  const frame = { type: "resume", token: chat.token, last_seq: firstResume ? 0 : chat.lastSeq };
  if (chat.epoch) frame.epoch = chat.epoch;
  return frame;
}

function send(frame) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

function connect() {
  clearTimeout(retryTimer);
  if (stopped || ws) return;
  welcomed = false;
  setConn(attempt === 0 && firstResume ? "connecting" : "reconnecting");
  let sock;
  try {
    sock = new WebSocket(wsUrl());
  } catch {
    scheduleReconnect(1006);
    return;
  }
  ws = sock;
  sock.onopen = () => {
    lastFrameAt = Date.now();
    openedAt = Date.now();
    if (chat.token) {
      sock.send(JSON.stringify(resumeFrame()));
    } else if (chat.startParams) {
      // The start carries our own token: sent again after a drop, it finds the chat the
      // first one created instead of making a second.
      chat.startSent = true;
      sock.send(JSON.stringify(chat.startParams));
    }
  };
  sock.onmessage = (e) => {
    lastFrameAt = Date.now();
    let f;
    try {
      f = JSON.parse(e.data);
    } catch {
      return;
    }
    if (f && typeof f === "object" && typeof f.type === "string") handle(f);
  };
  sock.onclose = (e) => {
    if (ws !== sock) return;
    ws = null;
    welcomed = false;
    // A socket that worked for a minute: earlier "try again" closes no longer count.
    if (openedAt && Date.now() - openedAt > 60000) tryAgain = 0;
    openedAt = 0;
    if (!stopped) dropped(e.code);
  };
  sock.onerror = () => {
    // onclose follows and reconnects
  };
}

// The socket is gone: reconnect (a start not yet answered is sent again with its token).
function dropped(code) {
  scheduleReconnect(code);
}

function scheduleReconnect(code) {
  clearTimeout(retryTimer);
  setConn("reconnecting");
  let delay;
  if (code === 1013 && tryAgain === 0 && attempt < 2) {
    // "Try again": the server dropped us on purpose (we did not read fast enough, or it is
    // busy); come back soon and resume from the last contiguous seq.
    delay = 200 + Math.random() * 800;
  } else {
    // Repeated 1013s back off like any other drop.
    const base = Math.min(30000, 1000 * 2 ** Math.max(attempt, code === 1013 ? tryAgain : 0));
    delay = base / 2 + Math.random() * (base / 2); // jitter: half to full
  }
  if (code === 1013) tryAgain++;
  attempt++;
  retryTimer = setTimeout(connect, delay);
}

function disconnect() {
  stopped = true;
  clearTimeout(retryTimer);
  clearInterval(pingTimer);
  const sock = ws;
  ws = null;
  welcomed = false;
  if (sock) {
    try {
      sock.close(1000);
    } catch {
      // already closed
    }
  }
  $("conn").textContent = "";
}

function startSocket() {
  stopped = false;
  attempt = 0;
  tryAgain = 0;
  clearInterval(pingTimer);
  // A socket that went silent (laptop sleep, dead Wi-Fi) is only noticed by traffic: ping
  // every 25 s and give up on it when nothing came back for 50 s.
  pingTimer = setInterval(() => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastFrameAt > 50000) {
      const sock = ws;
      ws = null;
      welcomed = false;
      try {
        sock.close();
      } catch {
        // ignore
      }
      dropped(1006);
      return;
    }
    send({ type: "ping" });
  }, 25000);
  connect();
}

window.addEventListener("online", () => {
  if (!stopped && !ws) {
    attempt = 0;
    connect();
  }
});

// ---------------------------------------------------------------- frames from the server

function handle(f) {
  switch (f.type) {
    case "welcome":
      onWelcome(f);
      break;
    case "queue_position":
      if (Number.isInteger(f.position) && chat.status === "waiting") {
        $("info").textContent = t("widget.queue_position", { n: f.position });
      }
      break;
    case "agent":
      if (typeof f.name === "string") setAgent(f.name);
      break;
    case "ack":
      onAck(f);
      break;
    case "message":
      onMessage(f);
      break;
    case "reset":
      // The server's log is not the one this page holds (restored from a backup): the whole
      // log follows from seq 1.
      if (!Number.isSafeInteger(f.conversation_id) || !chat.conversationId || f.conversation_id === chat.conversationId) {
        resetLog();
      }
      break;
    case "typing":
      if (f.who === "agent") showTyping();
      break;
    case "conversation":
      if (f.status === "open" && chat.status !== "closed") {
        chat.status = "open";
        $("info").textContent = "";
      } else if (f.status === "closed") {
        onClosed();
      }
      break;
    case "rated":
      onRated();
      break;
    case "error":
      onError(typeof f.code === "string" ? f.code : "");
      break;
    default:
      break; // pong and anything new
  }
}

function onWelcome(f) {
  const fresh = !chat.token && typeof f.token === "string" && f.token;
  const firstOfPage = firstResume;
  if (fresh) {
    chat.token = f.token;
    chat.startParams = null;
    chat.startSent = false;
  }
  if (Number.isSafeInteger(f.conversation_id)) chat.conversationId = f.conversation_id;
  const epoch = epochOf(f.epoch);
  // Another log than the one our entries came from (a restore): the server follows with
  // `reset` and the whole log; forget ours now already, so that a drop before the reset
  // cannot leave entries of the old log standing under the new epoch.
  if (epoch && chat.epoch && epoch !== chat.epoch) resetLog();
  chat.epoch = epoch;
  welcomed = true;
  attempt = 0;
  firstResume = false;
  setConn("connected");
  chat.status = f.status;
  if (f.status === "waiting") {
    $("info").textContent = Number.isInteger(f.queue_position)
      ? t("widget.queue_position", { n: f.queue_position })
      : t("widget.waiting");
  } else {
    $("info").textContent = "";
  }
  persist();
  // Tell the loader that this tab has an opted-in chat (it may then reopen it on the next page).
  if (fresh || (firstOfPage && f.status !== "closed")) tellParent({ kontor: "started" });
  if (f.status === "closed") {
    onClosed();
    return;
  }
  // Shown as ended, but the server's log has it running (restored from an earlier backup).
  if (chat.ended && !chat.rated) reopen();
  updateFileInput();
  // Everything not yet acknowledged goes again, with the same client_id: the server keeps one.
  for (const [id, p] of chat.pending) send({ type: "message", client_id: id, text: p.text });
  if (chat.wantEnd) {
    chat.wantEnd = false;
    send({ type: "end" });
  }
}

function onAck(f) {
  const p = chat.pending.get(f.client_id);
  if (!p || !Number.isSafeInteger(f.seq)) return;
  chat.pending.delete(f.client_id);
  if (chat.bySeq.get(f.seq)) {
    // A replay already showed it (it was stored before the page changed): keep one copy.
    p.el.remove();
  } else {
    p.el.classList.remove("pending");
    p.el.querySelector(".state").textContent = t("widget.sent");
    place(p.el, f.seq);
  }
  bump();
  persist();
}

function onMessage(f) {
  if (!Number.isSafeInteger(f.seq) || typeof f.text !== "string") return;
  if (chat.bySeq.has(f.seq)) {
    // Shown already (a replay, or our own upload placed from its HTTP answer). The socket
    // delivers in order, so everything up to here has arrived.
    bump();
    return;
  }
  const file = fileOf(f.file);
  let el;
  if (f.author === "system") {
    el = systemLine(f);
    if (!el) {
      // Not shown, but held: the next resume starts after it.
      chat.bySeq.set(f.seq, null);
      bump();
      persist();
      return;
    }
  } else if (f.author === "agent") {
    if (typeof f.author_name === "string" && f.author_name && !chat.agentName) setAgent(f.author_name);
    const who = typeof f.author_name === "string" && f.author_name ? f.author_name : chat.agentName;
    el = file ? fileBubble("agent", file, who, f.at) : bubble("agent", f.text, who, f.at);
    hideTyping();
  } else if (f.author === "visitor") {
    el = file ? fileBubble("visitor", file, t("widget.you"), f.at) : bubble("visitor", f.text, t("widget.you"), f.at);
  } else {
    // An author this version does not know: held, not shown.
    chat.bySeq.set(f.seq, null);
    bump();
    persist();
    return;
  }
  place(el, f.seq);
  if (f.seq > chat.seenSeq && f.author !== "visitor" && (!visible || document.hidden)) {
    setUnread(unread + 1);
  }
  bump();
  persist();
  if (f.author === "system" && f.text === "closed") onClosed();
}

function systemLine(f) {
  let text;
  if (f.text === "accepted") {
    const name = (typeof f.author_name === "string" && f.author_name) || chat.agentName;
    text = name ? t("widget.agent_joined", { name }) : t("widget.agent_joined_anon");
  } else if (f.text === "closed") {
    text = t("widget.closed");
  } else {
    return null; // an event this version does not know
  }
  const p = document.createElement("p");
  p.className = "sys";
  p.textContent = text;
  return p;
}

// lastSeq is the last *contiguous* seq held: an entry after a hole does not move it, so that a
// resume asks again for everything from the hole on (the replay skips what is shown already).
function bump() {
  while (chat.bySeq.has(chat.lastSeq + 1)) chat.lastSeq++;
}

// `reset` (or a welcome with another epoch): every entry of the log goes, acknowledged messages
// of the visitor included; the whole log follows from seq 1 and is shown once. What the
// visitor typed that was never acknowledged stays (at the end, still pending) and is sent
// again with the same client_id, which the server stores once.
function resetLog() {
  for (const el of chat.bySeq.values()) el?.remove();
  // Anything else placed by seq (nothing should be) goes too; pending entries have no seq.
  for (const el of [...$("log").querySelectorAll("[data-seq]")]) el.remove();
  chat.bySeq.clear();
  chat.lastSeq = 0;
  chat.seenSeq = 0;
  persist();
}

// The server has the chat running again although this page showed its end (its log was
// restored from a backup made before the end): back to the composer.
function reopen() {
  chat.ended = false;
  chat.wantEnd = false;
  const hadFocus = $("v-chat").contains(document.activeElement);
  $("ended").hidden = true;
  $("composer").hidden = false;
  $("end-row").hidden = false;
  $("end-btn").hidden = false;
  $("end-confirm").hidden = true;
  $("rate-form").reset();
  $("rate-btn").disabled = false;
  paintStars(0);
  setError("rate-error", "");
  updateFileInput();
  tellParent({ kontor: "started" });
  if (hadFocus) focusCurrent();
}

function setAgent(name) {
  chat.agentName = name;
  const sub = $("subtitle");
  sub.textContent = name ? t("widget.chatting_with", { name }) : "";
  sub.hidden = !name;
  if (chat.status !== "closed") $("info").textContent = "";
}

function onClosed() {
  chat.status = "closed";
  $("info").textContent = "";
  hideTyping();
  // Nothing pending can be delivered any more.
  for (const p of chat.pending.values()) p.el.remove();
  chat.pending.clear();
  persist();
  updateFileInput();
  if (chat.ended) return;
  chat.ended = true;
  const hadFocus = $("v-chat").contains(document.activeElement);
  $("composer").hidden = true;
  $("end-row").hidden = true;
  $("ended").hidden = false;
  $("rate-form").hidden = chat.rated;
  // The chat is over: the page need not reopen it on the next page.
  tellParent({ kontor: "ended" });
  if (hadFocus) focusCurrent();
}

function onRated() {
  chat.rated = true;
  chat.rateFrame = null;
  $("rate-form").hidden = true;
  $("rated").hidden = false;
  $("rated").focus();
  // The conversation is finished for this visitor: drop what the frame kept, and the socket.
  forget();
  disconnect();
  tellParent({ kontor: "ended" });
}

function onError(code) {
  switch (code) {
    case "unknown_conversation":
      // The stored token is no longer valid (purged chat, other site): start over.
      resetChat();
      show("v-start");
      $("start-info").textContent = t("widget.resume_failed");
      tellParent({ kontor: "ended" });
      break;
    case "invalid_input":
      if (!chat.token) {
        // The start frame was refused (name or e-mail): back to the form, nothing was created.
        resetChat();
        show("v-start");
        setError("start-error", t("widget.error_invalid_input"), $("s-email"));
        $("s-email").focus();
      }
      break;
    case "conversation_closed":
      onClosed();
      break;
    case "invalid_rating":
      chat.rateFrame = null;
      $("rate-btn").disabled = false;
      setError("rate-error", t("widget.rate_error"));
      break;
    case "rate_limited":
    case "busy":
      // Retry what is not yet acknowledged (same client_id) a little later.
      if (code === "rate_limited") $("msg-error").textContent = t("widget.error_rate_limited");
      setTimeout(() => {
        $("msg-error").textContent = "";
        if (!welcomed) {
          // The start or resume itself was refused for now: the same socket may send it
          // again (the server answers already_started if the first one did get through).
          if (chat.token) send(resumeFrame());
          else if (chat.startParams && chat.startSent) send(chat.startParams);
          return;
        }
        for (const [id, p] of chat.pending) send({ type: "message", client_id: id, text: p.text });
        if (chat.rateFrame) send(chat.rateFrame);
      }, 1500 + Math.random() * 1000);
      break;
    case "message_too_long":
      $("msg-error").textContent = t("widget.message_too_long");
      break;
    case "already_started":
    case "no_conversation":
    case "empty_message":
      break;
    default:
      $("msg-error").textContent = t("widget.error_generic");
  }
}

// ---------------------------------------------------------------- rendering

function timeText(at) {
  if (!Number.isFinite(at)) return "";
  try {
    return new Date(at * 1000).toLocaleTimeString(cfg.lang, { hour: "2-digit", minute: "2-digit" });
  } catch {
    return "";
  }
}

// Appends text to el, turning http(s) and mailto links into anchors. No HTML is parsed.
const LINK_RE = /\b(?:https?:\/\/[^\s<>"']+|mailto:[^\s<>"']+)/gi;
function appendLinked(el, text) {
  let last = 0;
  for (const m of text.matchAll(LINK_RE)) {
    let url = m[0].replace(/[.,;:!?)\]]+$/, "");
    const start = m.index;
    let href = "";
    try {
      const u = new URL(url);
      if (u.protocol === "http:" || u.protocol === "https:" || u.protocol === "mailto:") href = u.href;
    } catch {
      href = "";
    }
    if (!href) continue;
    if (start > last) el.append(text.slice(last, start));
    const a = document.createElement("a");
    a.href = href;
    a.textContent = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    el.append(a);
    last = start + url.length;
  }
  if (last < text.length) el.append(text.slice(last));
}

function bubble(role, text, who, at) {
  const el = document.createElement("div");
  el.className = "msg msg-" + role;
  const meta = document.createElement("p");
  meta.className = "meta";
  const name = who || (role === "visitor" ? t("widget.you") : t("widget.agent"));
  const time = timeText(at);
  meta.textContent = time ? `${name} · ${time}` : name;
  const p = document.createElement("p");
  p.className = "text";
  appendLinked(p, text);
  el.append(meta, p);
  if (role === "visitor") {
    const st = document.createElement("p");
    st.className = "state";
    st.textContent = t("widget.sent");
    el.append(st);
  }
  return el;
}

// Inserts an entry at its place by seq; entries without a seq (pending) stay at the end.
function place(el, seq) {
  const log = $("log");
  const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
  el.dataset.seq = String(seq);
  chat.bySeq.set(seq, el);
  let before = null;
  for (const child of log.children) {
    if (child === el) continue;
    const s = child.dataset.seq ? Number(child.dataset.seq) : Infinity;
    if (s > seq) {
      before = child;
      break;
    }
  }
  if (el.parentNode !== log || el.nextElementSibling !== before) log.insertBefore(el, before);
  if (stick || el.classList.contains("msg-visitor")) log.scrollTop = log.scrollHeight;
}

function appendPending(id, text) {
  const el = bubble("visitor", text, t("widget.you"), Date.now() / 1000);
  el.classList.add("pending");
  el.querySelector(".state").textContent = t("widget.pending");
  chat.pending.set(id, { text, el });
  const log = $("log");
  log.append(el);
  log.scrollTop = log.scrollHeight;
}

// ---------------------------------------------------------------- files

// The `file` of a message frame or an upload answer, if it is one we can offer.
function fileOf(v) {
  if (!v || typeof v !== "object" || !Number.isSafeInteger(v.id) || typeof v.name !== "string") return null;
  return { id: v.id, name: v.name || "file", size: Number.isSafeInteger(v.size) && v.size >= 0 ? v.size : 0 };
}

function sizeText(n) {
  const num = (v) => v.toLocaleString(cfg.lang, { maximumFractionDigits: 1 });
  if (n < 1024) return `${num(n)} B`;
  if (n < 1024 * 1024) return `${num(n / 1024)} KB`;
  return `${num(n / (1024 * 1024))} MB`;
}

function fileIcon() {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "file-icon");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", "M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8zM14 3v5h5M12 11v6M9.5 14.5L12 17l2.5-2.5");
  svg.append(path);
  return svg;
}

// "name (size)": a button that downloads the file once it has an id, plain text before.
// Uploaded content is never shown inline (no <img>): it is only ever a download.
function fileControl(file) {
  const label = `${file.name} (${sizeText(file.size)})`;
  let el;
  if (file.id) {
    el = document.createElement("button");
    el.type = "button";
    el.setAttribute("aria-label", t("widget.file_download", { name: file.name, size: sizeText(file.size) }));
    el.addEventListener("click", () => downloadFile(file, el));
  } else {
    el = document.createElement("span");
  }
  el.className = "file";
  const name = document.createElement("span");
  name.textContent = label;
  el.append(fileIcon(), name);
  return el;
}

function fileBubble(role, file, who, at) {
  const el = bubble(role, "", who, at);
  el.classList.add("msg-file");
  el.querySelector(".text").append(fileControl(file));
  return el;
}

// Where a file error shows: under the composer, or (after the end) under the transcript button.
function fileErrorId() {
  return $("composer").hidden ? "transcript-error" : "msg-error";
}

function updateFileInput() {
  $("file").disabled = !chat.token || chat.status === "closed" || chat.ended;
}

function checkFile(file) {
  if (file.size > MAX_FILE) return "widget.file_too_large";
  const typeOk = file.type ? FILE_TYPES.includes(file.type) : FILE_EXT.test(file.name);
  return typeOk && file.size > 0 ? "" : "widget.file_type";
}

const UPLOAD_ERRORS = {
  404: "widget.file_no_chat",
  409: "widget.file_chat_ended",
  413: "widget.file_too_large",
  415: "widget.file_type",
  429: "widget.error_rate_limited",
};

async function uploadFile(file) {
  setError("msg-error", "");
  if (chat.status === "closed" || chat.ended) return setError("msg-error", t("widget.file_chat_ended"));
  if (!chat.token) return setError("msg-error", t("widget.file_error"));
  const bad = checkFile(file);
  if (bad) return setError("msg-error", t(bad));
  const token = chat.token;
  const clientId = newId();
  const el = fileBubble("visitor", { id: 0, name: file.name, size: file.size }, t("widget.you"), Date.now() / 1000);
  el.classList.add("pending");
  el.querySelector(".state").textContent = t("widget.file_uploading");
  const log = $("log");
  log.append(el);
  log.scrollTop = log.scrollHeight;

  const url =
    `/api/widget/files?site=${encodeURIComponent(cfg.site)}` +
    `&name=${encodeURIComponent(file.name)}&client_id=${encodeURIComponent(clientId)}`;
  let status = 0;
  let answer = null;
  // Network errors and 503 ("retry") are tried again with the same client_id: stored once.
  for (let i = 0; i < 3; i++) {
    try {
      const r = await fetch(url, {
        method: "POST",
        headers: { "X-Kontor-Token": token },
        body: file,
        credentials: "same-origin",
        cache: "no-store",
        // The server checks Origin on this POST: send ours (and only the origin).
        referrerPolicy: "origin",
      });
      status = r.status;
      if (r.ok) {
        answer = await r.json().catch(() => ({}));
        break;
      }
    } catch {
      status = 0;
    }
    if ((status !== 0 && status !== 503) || i === 2 || chat.token !== token) break;
    await new Promise((res) => setTimeout(res, 1000 * (i + 1)));
  }
  if (chat.token !== token) {
    el.remove(); // the visitor left this chat meanwhile
    return;
  }
  if (!answer) {
    el.remove();
    setError(fileErrorId(), t(UPLOAD_ERRORS[status] || "widget.file_error"));
    return;
  }
  const seq = answer.seq;
  const stored = fileOf(answer.file);
  if (!Number.isSafeInteger(seq) || !stored || chat.bySeq.has(seq)) {
    // Our socket showed it already (or will: it goes to every socket of the chat).
    el.remove();
    return;
  }
  el.classList.remove("pending");
  el.querySelector(".file").replaceWith(fileControl(stored));
  el.querySelector(".state").textContent = t("widget.sent");
  // Placed (held); lastSeq passes it once every entry before it is held too.
  place(el, seq);
  bump();
  persist();
}

const downloading = new Set();
async function downloadFile(file, btn) {
  if (downloading.has(file.id)) return;
  downloading.add(file.id);
  btn.setAttribute("aria-busy", "true");
  setError(fileErrorId(), "");
  try {
    const r = await fetch(`/api/widget/files/${file.id}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: chat.token }),
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "origin",
    });
    if (!r.ok) throw new Error(String(r.status));
    saveBlob(await r.blob(), file.name);
  } catch {
    setError(fileErrorId(), t("widget.file_download_error"));
  } finally {
    downloading.delete(file.id);
    btn.removeAttribute("aria-busy");
  }
}

// Saves through a temporary object URL and an <a download>; nothing is opened or shown.
function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

$("file").addEventListener("change", (e) => {
  const input = e.target;
  const files = [...(input.files || [])];
  input.value = ""; // the same file may be chosen again
  for (const f of files) uploadFile(f);
});

let typingTimer = 0;
function showTyping() {
  if (chat.status === "closed") return;
  const el = $("typing");
  el.textContent = chat.agentName ? t("widget.typing", { name: chat.agentName }) : t("widget.typing_anon");
  el.hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, 4000);
}
function hideTyping() {
  clearTimeout(typingTimer);
  $("typing").hidden = true;
}

// ---------------------------------------------------------------- actions

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Not a secure context (plain http on a public host): same 122 random bits, by hand.
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function resetChat() {
  disconnect();
  forget();
  hideTyping();
  Object.assign(chat, {
    token: "",
    conversationId: 0,
    lastSeq: 0,
    seenSeq: 0,
    epoch: "",
    status: "",
    agentName: "",
    startParams: null,
    startSent: false,
    ended: false,
    rated: false,
    wantEnd: false,
    rateFrame: null,
  });
  chat.pending.clear();
  chat.bySeq.clear();
  firstResume = true;
  $("log").replaceChildren();
  $("info").textContent = "";
  $("subtitle").textContent = "";
  $("subtitle").hidden = true;
  $("composer").hidden = false;
  $("end-row").hidden = false;
  $("end-btn").hidden = false;
  $("end-confirm").hidden = true;
  $("ended").hidden = true;
  $("rate-form").hidden = false;
  $("rate-form").reset();
  $("rate-btn").disabled = false;
  paintStars(0);
  $("rated").hidden = true;
  setError("rate-error", "");
  setError("transcript-error", "");
  setError("msg-error", "");
  $("msg").value = "";
  resetDraft();
  updateFileInput();
}

function enterChat() {
  show("v-chat");
  startSocket();
}

// The chat's secret, made here so that a retried start is idempotent: SITE_KEY.<64 hex>.
function newToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return cfg.site + "." + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

$("start-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const consent = $("s-consent");
  const email = $("s-email");
  setError("start-error", "", email);
  consent.removeAttribute("aria-invalid");
  $("start-info").textContent = "";
  const mail = email.value.trim();
  if (mail && !EMAIL_RE.test(mail)) {
    setError("start-error", t("widget.email_invalid"), email);
    email.focus();
    return;
  }
  if (!consent.checked) {
    setError("start-error", t("widget.consent_required"), consent);
    consent.focus();
    return;
  }
  // Opt-in given: from here on the chat may be stored and the socket opened.
  resetChat();
  chat.startParams = {
    type: "start",
    token: newToken(),
    consent: true,
    notice_version: NOTICE_VERSION,
    name: $("s-name").value.trim(),
    email: mail,
    lang: cfg.lang,
  };
  enterChat();
  $("msg").focus();
});

$("s-consent").addEventListener("change", (e) => {
  if (e.target.checked) setError("start-error", "", e.target);
});

function sendMessage() {
  const box = $("msg");
  const text = box.value;
  setError("msg-error", "", box);
  if (!text.trim() || chat.status === "closed") return;
  if (text.length > MAX_TEXT) {
    setError("msg-error", t("widget.message_too_long"), box);
    return;
  }
  const id = newId();
  appendPending(id, text);
  persist();
  if (welcomed) send({ type: "message", client_id: id, text });
  box.value = "";
  resetDraft(); // the agent gets the message itself; no draft follows it
  box.focus();
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  sendMessage();
});

// Typing signals. Without the preview: {"type":"typing"} at most every 2 s while the field has
// text. With it (the visitor was told): the draft itself, at most every 2 s, and once more
// when the visitor pauses, so the agent sees the latest state (also when it was erased).
let lastTypingSent = 0;
let lastDraftSent = "";
let draftTimer = 0;

function resetDraft() {
  clearTimeout(draftTimer);
  draftTimer = 0;
  lastDraftSent = "";
}

function canSignal() {
  return welcomed && chat.status !== "closed" && !chat.ended;
}

function sendDraft() {
  clearTimeout(draftTimer);
  draftTimer = 0;
  if (!canSignal()) return;
  const value = $("msg").value;
  // At most 4000 characters, cut at a character boundary (never half a surrogate pair).
  const text = value.length > MAX_TEXT ? [...value].slice(0, MAX_TEXT).join("") : value;
  if (text === lastDraftSent) return;
  if (send({ type: "typing", text })) {
    lastTypingSent = Date.now();
    lastDraftSent = text;
  }
}

function draftChanged() {
  clearTimeout(draftTimer);
  const wait = lastTypingSent + TYPING_EVERY - Date.now();
  if (wait <= 0) sendDraft();
  else draftTimer = setTimeout(sendDraft, wait);
}

$("msg").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
    e.preventDefault();
    sendMessage();
  }
});
$("msg").addEventListener("input", () => {
  if (cfg.typingPreview) {
    if (canSignal()) draftChanged();
    return;
  }
  const now = Date.now();
  if (canSignal() && $("msg").value && now - lastTypingSent >= TYPING_EVERY) {
    lastTypingSent = now;
    send({ type: "typing" });
  }
});

// End chat: a second, explicit step instead of window.confirm.
$("end-btn").addEventListener("click", () => {
  $("end-btn").hidden = true;
  $("end-confirm").hidden = false;
  $("end-yes").focus();
});
function cancelEnd() {
  $("end-confirm").hidden = true;
  $("end-btn").hidden = false;
  $("end-btn").focus();
}
$("end-no").addEventListener("click", cancelEnd);
$("end-yes").addEventListener("click", () => {
  $("end-confirm").hidden = true;
  $("end-btn").hidden = false;
  if (!chat.token && chat.startParams && !chat.startSent) {
    // Not even started on the server yet: nothing to end there.
    resetChat();
    show("v-start");
    focusCurrent();
    return;
  }
  if (!(welcomed && send({ type: "end" }))) chat.wantEnd = true;
  $("msg").focus();
});

// Rating.
function paintStars(n) {
  for (const l of document.querySelectorAll("#stars label")) {
    l.classList.toggle("on", Number(l.dataset.v) <= n);
  }
}
$("stars").addEventListener("change", () => {
  const v = Number(document.querySelector('input[name="score"]:checked')?.value || 0);
  paintStars(v);
  setError("rate-error", "");
});
$("rate-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const score = Number(document.querySelector('input[name="score"]:checked')?.value || 0);
  if (!(score >= 1 && score <= 5)) {
    setError("rate-error", t("widget.rate_required"));
    $("star-1").focus();
    return;
  }
  setError("rate-error", "");
  const comment = $("rate-comment").value.trim();
  const frame = { type: "rate", score };
  if (comment) frame.comment = comment;
  chat.rateFrame = frame;
  $("rate-btn").disabled = true;
  if (!(welcomed && send(frame))) {
    // Reconnecting: send when the socket is back.
    if (stopped) startSocket();
    const retry = setInterval(() => {
      if (!chat.rateFrame) return clearInterval(retry);
      if (welcomed && send(chat.rateFrame)) clearInterval(retry);
    }, 500);
  }
  setTimeout(() => {
    if (chat.rateFrame === frame && !chat.rated) {
      $("rate-btn").disabled = false;
      setError("rate-error", t("widget.rate_error"));
    }
  }, 10000);
});

// Transcript: a POST with the token (never in a URL), saved through a temporary object URL.
$("transcript-btn").addEventListener("click", async () => {
  setError("transcript-error", "");
  const btn = $("transcript-btn");
  btn.disabled = true;
  try {
    const r = await fetch("/api/widget/transcript", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: chat.token }),
      credentials: "same-origin",
      cache: "no-store",
      // The page's Referrer-Policy is no-referrer, under which a POST would carry
      // "Origin: null"; the server checks Origin, so send it (and only the origin).
      referrerPolicy: "origin",
    });
    if (!r.ok) throw new Error(String(r.status));
    const blob = await r.blob();
    const cd = r.headers.get("Content-Disposition") || "";
    const m = /filename="?([A-Za-z0-9._-]{1,100})"?/.exec(cd);
    saveBlob(blob, m ? m[1] : `chat-${chat.conversationId || "transcript"}.txt`);
  } catch {
    setError("transcript-error", t("widget.transcript_error"));
  } finally {
    btn.disabled = false;
  }
});

$("new-btn").addEventListener("click", () => {
  resetChat();
  greeting = null; // the invitation was for the chat that ended
  showGreeting();
  tellParent({ kontor: "ended" });
  $("s-consent").checked = false;
  showFirst();
  focusCurrent();
});

// The first view: the start form, or the offline form while nobody is available.
function showFirst() {
  show(cfg.available ? "v-start" : "v-offline");
  if (!cfg.available) watchAvailability();
}

// Availability: while the offline form is shown and nothing was typed into it, ask every 30 s
// whether an agent came online; if so, offer the chat instead. (Same-origin GET: no Origin.)
let availabilityTimer = 0;
let availabilityAt = 0;

function watchAvailability() {
  clearInterval(availabilityTimer);
  availabilityAt = Date.now();
  availabilityTimer = setInterval(checkAvailability, AVAILABILITY_EVERY);
}

function stopAvailability() {
  clearInterval(availabilityTimer);
  availabilityTimer = 0;
}

function offlineUntouched() {
  return (
    !$("o-name").value && !$("o-email").value && !$("o-message").value && !$("o-consent").checked &&
    !$("offline-form").hidden
  );
}

// The panel was shown again: check now if a check was skipped while it was hidden.
function availabilityDue() {
  if (availabilityTimer && Date.now() - availabilityAt >= AVAILABILITY_EVERY) checkAvailability();
}

async function checkAvailability() {
  if (current !== "v-offline" || cfg.available || $("offline-form").hidden) return stopAvailability();
  // Not while the visitor cannot see it, nor once they started typing.
  if (!visible || document.hidden || !offlineUntouched()) return;
  availabilityAt = Date.now();
  let conf;
  try {
    const r = await fetch(`/api/widget/config?site=${encodeURIComponent(cfg.site)}`, {
      credentials: "omit",
      cache: "no-store",
    });
    if (!r.ok) {
      // 4xx will not change by asking again (e.g. the site does not allow our origin).
      if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) stopAvailability();
      return;
    }
    conf = await r.json();
  } catch {
    return; // offline or garbage: try again next time
  }
  if (!conf || conf.available !== true) return;
  if (current !== "v-offline" || !offlineUntouched()) return;
  stopAvailability();
  cfg.available = true;
  const hadFocus = $("v-offline").contains(document.activeElement);
  show("v-start");
  $("start-info").textContent = t("widget.now_available");
  if (hadFocus) focusCurrent();
}

// Offline form.
$("offline-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = $("o-name");
  const email = $("o-email");
  const msg = $("o-message");
  const consent = $("o-consent");
  for (const f of [email, msg, consent]) f.removeAttribute("aria-invalid");
  setError("offline-error", "");
  const mail = email.value.trim();
  const text = msg.value.trim();
  let bad = null;
  if (!mail) bad = [email, "widget.email_required"];
  else if (!EMAIL_RE.test(mail)) bad = [email, "widget.email_invalid"];
  else if (!text) bad = [msg, "widget.message_required"];
  else if (msg.value.length > MAX_TEXT) bad = [msg, "widget.message_too_long"];
  else if (!consent.checked) bad = [consent, "widget.consent_required"];
  if (bad) {
    setError("offline-error", t(bad[1]), bad[0]);
    bad[0].focus();
    return;
  }
  const btn = $("offline-btn");
  btn.disabled = true;
  btn.textContent = t("widget.offline_sending");
  try {
    const r = await fetch("/api/widget/offline", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ site: cfg.site, name: name.value.trim(), email: mail, message: text, consent: true }),
      credentials: "same-origin",
      cache: "no-store",
      // The page's Referrer-Policy is no-referrer, under which a POST would carry
      // "Origin: null"; the server checks Origin, so send it (and only the origin).
      referrerPolicy: "origin",
    });
    if (r.ok) {
      $("offline-form").hidden = true;
      $("offline-thanks").hidden = false;
      $("offline-thanks").focus();
      return;
    }
    let code = "";
    try {
      code = (await r.json())?.error?.code || "";
    } catch {
      // not JSON
    }
    const limited = r.status === 429 || code === "rate_limited";
    setError("offline-error", t(limited ? "widget.error_rate_limited" : "widget.offline_error"));
  } catch {
    setError("offline-error", t("widget.offline_error"));
  } finally {
    btn.disabled = false;
    btn.textContent = t("widget.offline_send");
  }
});

// Escape: cancel the end-chat step, else ask the loader to hide the panel.
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape" || e.defaultPrevented) return;
  if (!$("end-confirm").hidden) {
    cancelEnd();
    return;
  }
  tellParent({ kontor: "close" });
});

$("minimise").addEventListener("click", () => tellParent({ kontor: "close" }));

// ---------------------------------------------------------------- start-up

function applyColor() {
  const c = cfg.color;
  if (!/^#(?:[0-9a-f]{3}){1,2}$/i.test(c)) return;
  const hex = c.length === 4 ? "#" + [...c.slice(1)].map((x) => x + x).join("") : c;
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const lin = rgb.map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  const lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  // White text if it contrasts at least as well as black would.
  const fg = (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) ? "#ffffff" : "#111111";
  const root = document.documentElement.style;
  root.setProperty("--brand", hex);
  root.setProperty("--brand-fg", fg);
}

function setupPrivacyLink() {
  let href = "";
  try {
    const u = new URL(cfg.privacyUrl);
    if (u.protocol === "https:" || u.protocol === "http:") href = u.href;
  } catch {
    href = "";
  }
  if (!href) return;
  for (const a of document.querySelectorAll(".privacy-link")) {
    a.href = href;
    a.parentElement.hidden = false;
  }
}

// With the typing preview on, the notice before opt-in says so, and so does the composer
// (a chat resumed on a later page may have begun before the tenant turned the preview on).
function setupTypingPreview() {
  if (!cfg.typingPreview) return;
  for (const el of document.querySelectorAll(".preview-note")) el.hidden = false;
  $("msg").setAttribute("aria-describedby", "msg-hint msg-error");
}

async function main() {
  applyColor();
  setupPrivacyLink();
  setupTypingPreview();
  $("minimise").hidden = !inFrame;
  await loadCatalog();
  saved = readSaved();
  if (saved) {
    // A chat of this tab is running (the visitor opted in earlier): pick it up again.
    chat.token = saved.token;
    chat.conversationId = saved.conversation_id;
    chat.seenSeq = saved.last_seq;
    chat.epoch = saved.epoch;
    for (const p of saved.pending) appendPending(p.id, p.text);
    show("v-chat");
    startSocket();
  } else {
    showFirst();
  }
  if (focusWhenReady) focusCurrent();
  viewsReady = true;
  // An invitation that arrived during start-up: after the view is shown, so it is announced.
  if (greeting) setTimeout(showGreeting, 100);
}

main();
