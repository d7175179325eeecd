// The chat socket of this frame (shared/socket.js) and what comes over it: the start or the
// resume, entries by seq, acks of pending messages, the log's epoch and `reset`, errors.
// Opened only after opt-in.

import { showPrechatErrors, showDepartmentError } from "./prechat.js";
import { $, cfg, shownName } from "./config.js";
import { t } from "./i18n.js";
import { SocketClient, takeEpoch, withEpoch, retrySoon } from "../shared/socket.js";
import { chat, clearChat } from "./state.js";
import { persist, forget } from "./storage.js";
import { panel, tellParent, setUnread } from "./parent.js";
import { show, setError, focusCurrent, say } from "./views.js";
import { bubble, place, settle, systemLine, setAgent, showTyping, hideTyping } from "./log.js";
import { fileOf, fileBubble, updateFileInput } from "./files.js";
import { showClosed } from "./offline.js";
import { showOffer, hideOffer } from "./offer.js";

// What the end, rating and composer parts do when the socket says so. They import this module
// (to send), so they are handed in by chat.js instead of imported here.
const parts = {
  closed() {},
  rated() {},
  reopen() {},
  showComposer() {},
  resetRating() {},
  resetComposer() {},
};

/** Hands in the parts' reactions (chat.js, at start-up). */
export function connectParts(p) {
  Object.assign(parts, p);
}

const socket = new SocketClient({
  url: () => {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/ws/visitor?site=${encodeURIComponent(cfg.site)}`;
  },
  greet,
  readyType: "welcome",
  // Ping every 25 s; a socket that sent nothing for 50 s is given up.
  heartbeat: { every: 25000, pingAfter: 0, deadAfter: 50000 },
  jitter: [0.5, 1],
  quickTryAgain: true,
});
socket.addEventListener("state", (e) => showConn(e.detail));
socket.addEventListener("frame", (e) => handle(e.detail));
window.addEventListener("online", () => socket.retryNow({ fresh: true }));

function showConn({ state, retryAt }) {
  let shown = state;
  if (state !== "connected") {
    shown = !retryAt && socket.attempt === 0 && chat.firstResume ? "connecting" : "reconnecting";
  }
  const el = $("conn");
  el.dataset.state = shown;
  say(el, t("widget.conn_" + shown));
}

export function startSocket() {
  socket.start();
}

export function stopSocket() {
  socket.stop();
  $("conn").textContent = "";
}

export function socketStopped() {
  return socket.stopped;
}

/** The socket is open and welcomed: frames of the chat may go. */
export function live() {
  return socket.ready;
}

export function send(frame) {
  return socket.send(frame);
}

/** Sends a pending message now if the chat is live (else it goes after the next welcome). */
export function transmit(p) {
  if (socket.ready) chat.pending.transmit(socket, p);
}

// The first frame of every socket. The start carries our own token: sent again after a drop,
// it finds the chat the first one created instead of making a second.
function greet() {
  if (chat.token) return resumeFrame();
  if (chat.startParams) {
    chat.startSent = true;
    return chat.startParams;
  }
  return null;
}

// A fresh page asks for the whole conversation (the server is the truth, this page keeps no
// transcript); a reconnect of this page asks only for what follows the last contiguous seq it
// holds. The log's epoch goes along when known: if the log was replaced (a restore), the
// server answers with `reset` and the whole log.
function resumeFrame() {
  return withEpoch({ type: "resume", token: chat.token, last_seq: chat.firstResume ? 0 : chat.log.last }, chat.epoch);
}

function handle(f) {
  switch (f.type) {
    case "welcome":
      onWelcome(f);
      break;
    case "queue_position":
      if (Number.isInteger(f.position) && chat.status === "waiting") {
        say($("info"), t("widget.queue_position", { n: f.position }));
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
        hideOffer();
      } else if (f.status === "closed") {
        hideOffer();
        parts.closed();
      }
      break;
    case "rated":
      parts.rated();
      break;
    case "offline_offer":
      showOffer();
      break;
    case "error":
      onError(typeof f.code === "string" ? f.code : "", f);
      break;
    default:
      break; // pong and anything new
  }
}

function onWelcome(f) {
  const fresh = !chat.token && typeof f.token === "string" && f.token;
  const firstOfPage = chat.firstResume;
  if (fresh) {
    chat.token = f.token;
    chat.startParams = null;
    chat.startSent = false;
  }
  if (Number.isSafeInteger(f.conversation_id)) chat.conversationId = f.conversation_id;
  const { epoch, replaced } = takeEpoch(chat.epoch, f.epoch);
  if (replaced) resetLog();
  chat.epoch = epoch;
  chat.firstResume = false;
  chat.status = f.status;
  if (f.status === "waiting") {
    say(
      $("info"),
      Number.isInteger(f.queue_position)
        ? t("widget.queue_position", { n: f.queue_position })
        : t("widget.waiting"),
    );
  } else {
    $("info").textContent = "";
  }
  persist();
  // Tell the loader that this tab has an opted-in chat (it may then reopen it on the next page).
  if (fresh || (firstOfPage && f.status !== "closed")) tellParent({ kontor: "started" });
  if (f.status === "closed") {
    parts.closed();
    return;
  }
  // Shown as ended, but the server's log has it running (restored from an earlier backup).
  if (chat.ended && !chat.rated) parts.reopen();
  updateFileInput();
  // Everything not yet acknowledged goes again, with the same client_id: the server keeps one.
  chat.pending.resend(socket);
  if (chat.wantEnd) {
    chat.wantEnd = false;
    send({ type: "end" });
  }
}

function onAck(f) {
  const p = chat.pending.answered(f.client_id, () => Number.isSafeInteger(f.seq));
  if (!p) return;
  // A replay already showed it (it was stored before the page changed): keep one copy.
  if (chat.log.get(f.seq)) p.el.remove();
  else {
    settle(p.el, f.seq);
    // The page learns that a message went, never what it said.
    tellParent({ kontor: "message", author: "visitor" });
  }
  persist();
}

function onMessage(f) {
  if (!Number.isSafeInteger(f.seq) || typeof f.text !== "string") return;
  // Shown already (a replay, or our own upload placed from its HTTP answer).
  if (chat.log.has(f.seq)) return;
  const file = fileOf(f.file);
  let el = null;
  if (f.author === "system") {
    el = systemLine(f);
  } else if (f.author === "agent") {
    if (shownName(f.author_name) && !chat.agentName) setAgent(f.author_name);
    const who = shownName(f.author_name) || chat.agentName;
    el = file ? fileBubble("agent", file, who, f.at) : bubble("agent", f.text, who, f.at);
    hideTyping();
  } else if (f.author === "auto") {
    // The site's greeting and the queue message: kontor's, marked as automatic.
    el = bubble("auto", f.text, t("widget.auto_label"), f.at);
  } else if (f.author === "visitor") {
    el = file ? fileBubble("visitor", file, t("widget.you"), f.at) : bubble("visitor", f.text, t("widget.you"), f.at);
  }
  if (!el) {
    // An event or an author this version does not know: held, not shown; the next resume
    // starts after it.
    chat.log.hold(f.seq, null);
    persist();
    return;
  }
  place(el, f.seq);
  if (f.seq > chat.seenSeq && f.author !== "visitor" && (!panel.visible || document.hidden)) {
    setUnread(panel.unread + 1);
  }
  if (f.seq > chat.seenSeq && f.author === "agent") tellParent({ kontor: "message", author: "agent" });
  persist();
  if (f.author === "system" && f.text === "closed") parts.closed();
}

// `reset` (or a welcome with another epoch): every entry of the log goes, acknowledged messages
// of the visitor included; the whole log follows from seq 1 and is shown once. What the
// visitor typed that was never acknowledged stays (at the end, still pending) and is sent
// again with the same client_id, which the server stores once.
function resetLog() {
  for (const el of chat.log.clear().values()) el?.remove();
  // Anything else placed by seq (nothing should be) goes too; pending entries have no seq.
  for (const el of [...$("log").querySelectorAll("[data-seq]")]) el.remove();
  chat.seenSeq = 0;
  persist();
}

function onError(code, f) {
  switch (code) {
    case "invalid_form":
    case "department_not_offered":
      // The start was refused for the pre-chat form: back to it, nothing was created.
      if (!chat.token) {
        resetChat();
        show("v-start");
        const shown =
          code === "invalid_form" ? showPrechatErrors(f && f.fields) : showDepartmentError();
        // A field the page does not have (the form changed since it loaded): reload it.
        if (!shown) setError("start-error", t("widget.form_changed"));
      }
      break;
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
    case "too_many_chats":
      // The start was refused (too many from this address): nothing was created.
      resetChat();
      show("v-start");
      setError("start-error", t("widget.error_too_many_chats"));
      break;
    case "queue_full":
      // Nobody can take another chat: a message instead, with what the form keeps.
      resetChat();
      show("v-offline");
      $("offline-intro").textContent = t("widget.error_queue_full");
      focusCurrent();
      break;
    case "blocked":
      // An agent blocked this visitor for a while: the business's offline text, no form.
      resetChat();
      show("v-offline");
      $("offline-form").hidden = true;
      $("offline-notice").hidden = true;
      focusCurrent();
      break;
    case "closed":
      // Outside the business hours (a page loaded while open): a message instead.
      resetChat();
      showClosed();
      break;
    case "conversation_closed":
      parts.closed();
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
      retrySoon(() => {
        $("msg-error").textContent = "";
        if (!socket.ready) {
          // The start or resume itself was refused for now: the same socket may send it
          // again (the server answers already_started if the first one did get through).
          if (chat.token) send(resumeFrame());
          else if (chat.startParams && chat.startSent) send(chat.startParams);
          return;
        }
        chat.pending.resend(socket);
        if (chat.rateFrame) send(chat.rateFrame);
      });
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

/** No chat any more: the socket closed, nothing stored, the chat view as new. */
export function resetChat() {
  stopSocket();
  forget();
  hideTyping();
  clearChat();
  $("log").replaceChildren();
  $("info").textContent = "";
  $("subtitle").textContent = "";
  $("subtitle").hidden = true;
  parts.showComposer();
  parts.resetRating();
  setError("msg-error", "");
  parts.resetComposer();
  updateFileInput();
}
