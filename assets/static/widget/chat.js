// kontor chat UI: runs inside the widget iframe (served by kontor, on kontor's origin). This
// is its start-up; each part lives in its own module:
//
//   config.js    what the page says (site, language, colour, tenant settings)
//   i18n.js      the strings
//   parent.js    messages to and from the loader on the customer's page
//   views.js     the views, focus, form errors
//   faq.js       the site's questions and answers before the chat, searched here
//   start.js     the opt-in form and an invitation's greeting
//   identify.js  the page's name and e-mail for the forms (kontor('identify'))
//   offline.js   the offline form and the availability check
//   state.js     the conversation as this frame holds it
//   storage.js   the chat of this tab in sessionStorage (after opt-in only)
//   session.js   the socket (../shared/socket.js): start, resume, acks, epoch, reset, errors
//   log.js       rendering of the log
//   composer.js  the message box and typing signals
//   files.js     uploads and downloads
//   end.js       ending the chat
//   rating.js    rating, transcript, new chat
//   mail.js      the transcript by email (with email on)
//
// Before the visitor ticks the opt-in box and presses Start, this page stores nothing and
// opens no socket. Every text from the network is rendered with textContent; links are made
// only for http, https and mailto.

import { $, cfg, inFrame } from "./config.js";
import { loadCatalog } from "./i18n.js";
import { panel, tellParent, setUnread, listenToParent } from "./parent.js";
import { view, show, focusCurrent } from "./views.js";
import { setupStart, setGreeting, hasGreeting, showGreeting } from "./start.js";
import { renderPrechat, preselectDepartment } from "./prechat.js";
import { prefill } from "./identify.js";
import { setupOffline, showFirst, availabilityDue } from "./offline.js";
import { setupFaq, loadFaq, renderFaq, hasFaq, showFaq } from "./faq.js";
import { chat } from "./state.js";
import { readSaved } from "./storage.js";
import { startSocket, connectParts } from "./session.js";
import { appendPending } from "./log.js";
import { setupComposer, resetComposer } from "./composer.js";
import { setupFiles } from "./files.js";
import { setupEnd, confirming, cancelEnd, onClosed, reopen, showComposer } from "./end.js";
import { setupRating, onRated, resetRating } from "./rating.js";
import { setupMail, resetMail } from "./mail.js";
import { setupOffer, hideOffer } from "./offer.js";
import { MAX_TEXT_CHARS, MAX_COMMENT_CHARS, MAX_NAME_CHARS, limitField } from "../shared/limits.js";

function applyColor() {
  const hex = /^#[0-9a-f]{6}$/i;
  if (!hex.test(cfg.color) || !hex.test(cfg.fg)) return;
  const root = document.documentElement.style;
  root.setProperty("--brand", cfg.color);
  root.setProperty("--brand-fg", cfg.fg);
}

function showLogo() {
  if (!cfg.logo) return;
  const img = $("logo");
  img.src = cfg.logo;
  img.hidden = false;
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

// The text fields stop where the server's limits are (in characters, see shared/limits.js).
function setupLimits() {
  limitField($("s-name"), MAX_NAME_CHARS);
  limitField($("o-name"), MAX_NAME_CHARS);
  limitField($("o-message"), MAX_TEXT_CHARS);
  limitField($("msg"), MAX_TEXT_CHARS);
  limitField($("rate-comment"), MAX_COMMENT_CHARS);
}

function setupPage() {
  listenToParent({
    shown(focus) {
      // Before start-up finished there is nothing to focus yet: main() does it then.
      if (focus) view.current ? focusCurrent() : (panel.focusWhenReady = true);
      availabilityDue();
    },
    invited: setGreeting,
    identify: prefill,
    department: preselectDepartment,
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && panel.visible) {
      setUnread(0);
      availabilityDue();
    }
  });
  // Escape: cancel the end-chat step, else ask the loader to hide the panel.
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    if (confirming()) {
      cancelEnd();
      return;
    }
    tellParent({ kontor: "close" });
  });
  $("minimise").addEventListener("click", () => tellParent({ kontor: "close" }));
}

async function main() {
  setupPage();
  setupStart();
  setupOffline();
  setupFaq();
  setupComposer();
  setupFiles();
  setupEnd();
  setupRating();
  setupMail();
  setupOffer();
  connectParts({
    closed: onClosed,
    rated: onRated,
    reopen,
    showComposer,
    resetRating() {
      resetRating();
      resetMail();
      hideOffer();
    },
    resetComposer,
  });
  applyColor();
  showLogo();
  setupPrivacyLink();
  setupTypingPreview();
  setupLimits();
  $("minimise").hidden = !inFrame;
  await Promise.all([loadCatalog(), loadFaq()]);
  // The pre-chat form's words come from the catalog.
  renderPrechat();
  renderFaq();
  const saved = readSaved();
  if (saved) {
    // A chat of this tab is running (the visitor opted in earlier): pick it up again.
    chat.token = saved.token;
    chat.conversationId = saved.conversation_id;
    chat.seenSeq = saved.last_seq;
    chat.epoch = saved.epoch;
    for (const p of saved.pending) appendPending(p.text, p.id);
    show("v-chat");
    startSocket();
  } else if (hasFaq()) {
    // The site's questions first; the forms are one button away.
    showFaq();
  } else {
    showFirst();
  }
  if (panel.focusWhenReady) focusCurrent();
  view.ready = true;
  // An invitation that arrived during start-up: after the view is shown, so it is announced.
  if (hasGreeting()) setTimeout(showGreeting, 100);
}

main();
