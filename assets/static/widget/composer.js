// The message box: sending (a pending entry until its ack) and typing signals.

import { $, cfg } from "./config.js";
import { t } from "./i18n.js";
import { chat } from "./state.js";
import { persist } from "./storage.js";
import { setError } from "./views.js";
import { appendPending } from "./log.js";
import { live, send, transmit } from "./session.js";
import { MAX_TEXT_CHARS, charCount, cutChars } from "../shared/limits.js";

const TYPING_EVERY = 2000; // at most one typing frame per 2 s

// Typing signals. Without the preview: {"type":"typing"} at most every 2 s while the field has
// text. With it (the visitor was told): the draft itself, at most every 2 s, and once more
// when the visitor pauses, so the agent sees the latest state (also when it was erased).
const typing = { lastSent: 0, lastDraft: "", timer: 0 };

function sendMessage() {
  const box = $("msg");
  const text = box.value;
  setError("msg-error", "", box);
  if (!text.trim() || chat.status === "closed") return;
  if (charCount(text) > MAX_TEXT_CHARS) {
    setError("msg-error", t("widget.message_too_long"), box);
    return;
  }
  const p = appendPending(text);
  persist();
  transmit(p);
  box.value = "";
  resetDraft(); // the agent gets the message itself; no draft follows it
  box.focus();
}

function resetDraft() {
  clearTimeout(typing.timer);
  typing.timer = 0;
  typing.lastDraft = "";
}

/** An empty box, no draft pending. */
export function resetComposer() {
  $("msg").value = "";
  resetDraft();
}

function canSignal() {
  return live() && chat.status !== "closed" && !chat.ended;
}

function sendDraft() {
  clearTimeout(typing.timer);
  typing.timer = 0;
  if (!canSignal()) return;
  // At most as long as a message may be, cut at a character boundary.
  const text = cutChars($("msg").value, MAX_TEXT_CHARS);
  if (text === typing.lastDraft) return;
  if (send({ type: "typing", text })) {
    typing.lastSent = Date.now();
    typing.lastDraft = text;
  }
}

function draftChanged() {
  clearTimeout(typing.timer);
  const wait = typing.lastSent + TYPING_EVERY - Date.now();
  if (wait <= 0) sendDraft();
  else typing.timer = setTimeout(sendDraft, wait);
}

export function setupComposer() {
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    sendMessage();
  });
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
    if (canSignal() && $("msg").value && now - typing.lastSent >= TYPING_EVERY) {
      typing.lastSent = now;
      send({ type: "typing" });
    }
  });
}
