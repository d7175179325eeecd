// Rendering of the chat log: entries in seq order, the visitor's pending messages at the end,
// system lines, the agent's name above the chat and the "is typing" line. Text from the
// network goes in as text; links are made only for http, https and mailto.

import { $, cfg, shownName } from "./config.js";
import { t } from "./i18n.js";
import { chat } from "./state.js";

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

export function bubble(role, text, who, at) {
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

/** An entry of the visitor's, shown at the end of the log until it has its seq. */
export function appendAtEnd(el, stateText) {
  el.classList.add("pending");
  el.querySelector(".state").textContent = stateText;
  const log = $("log");
  log.append(el);
  log.scrollTop = log.scrollHeight;
}

/** A message of the visitor's that waits for its ack (clientId given when restored). */
export function appendPending(text, clientId) {
  const el = bubble("visitor", text, t("widget.you"), Date.now() / 1000);
  appendAtEnd(el, t("widget.pending"));
  return chat.pending.add({ text, el }, clientId);
}

/** The pending entry `el` got its seq: shown as sent, and held at its place. */
export function settle(el, seq) {
  el.classList.remove("pending");
  el.querySelector(".state").textContent = t("widget.sent");
  place(el, seq);
}

/** Holds an entry and inserts it at its place by seq; pending entries (no seq) stay at the end. */
export function place(el, seq) {
  const log = $("log");
  const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
  el.dataset.seq = String(seq);
  chat.log.hold(seq, el);
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

/** A system entry in words; null for an event this version does not know. */
export function systemLine(f) {
  let text;
  if (f.text === "accepted") {
    const name = shownName(f.author_name) || chat.agentName;
    text = name ? t("widget.agent_joined", { name }) : t("widget.agent_joined_anon");
  } else if (f.text === "closed") {
    text = t("widget.closed");
  } else {
    return null;
  }
  const p = document.createElement("p");
  p.className = "sys";
  p.textContent = text;
  return p;
}

export function setAgent(raw) {
  const name = shownName(raw);
  chat.agentName = name;
  const sub = $("subtitle");
  sub.textContent = name ? t("widget.chatting_with", { name }) : "";
  sub.hidden = !name;
  if (chat.status !== "closed") $("info").textContent = "";
}

// "… is typing", hidden again 4 s after the agent's last typing frame.
const typing = { timer: 0 };

export function showTyping() {
  if (chat.status === "closed") return;
  const el = $("typing");
  el.textContent = chat.agentName ? t("widget.typing", { name: chat.agentName }) : t("widget.typing_anon");
  el.hidden = false;
  clearTimeout(typing.timer);
  typing.timer = setTimeout(hideTyping, 4000);
}

export function hideTyping() {
  clearTimeout(typing.timer);
  $("typing").hidden = true;
}
