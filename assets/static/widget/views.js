// The frame's views (questions and answers, start, offline, chat), focus, and form errors.

import { $ } from "./config.js";

const VIEWS = ["v-faq", "v-start", "v-offline", "v-chat"];

export const view = {
  current: "", // the view shown
  ready: false, // start-up has shown the first view
};

export function show(id) {
  view.current = id;
  for (const v of VIEWS) $(v).hidden = v !== id;
}

/** Focuses where the visitor goes on in the current view. */
export function focusCurrent() {
  let el = null;
  if (view.current === "v-faq") el = $("faq-search");
  else if (view.current === "v-start") el = $("s-name");
  else if (view.current === "v-offline") el = $("offline-thanks").hidden ? $("o-name") : $("offline-thanks");
  else if (view.current === "v-chat") {
    if (!$("ended").hidden) el = $("rated").hidden ? firstStar() : $("transcript-btn");
    else el = $("msg");
  }
  el?.focus();
}

function firstStar() {
  return document.querySelector('input[name="score"]:checked') || $("star-1");
}

/**
 * Puts `text` into a live region only when it says something new: setting the same text again
 * replaces the text node, and screen readers announce it again.
 */
export function say(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Shows (or clears, with no text) an error; `field` is marked invalid meanwhile. */
export function setError(id, text, field) {
  $(id).textContent = text || "";
  if (field) {
    if (text) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }
}

export const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
