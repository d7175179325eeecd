// Before the chat: the opt-in form (nothing is stored and no socket is open before the visitor
// agrees and presses Start), and above it the greeting of an agent who invited the visitor.

import { $, cfg, NOTICE_VERSION } from "./config.js";
import { t } from "./i18n.js";
import { chat } from "./state.js";
import { view, show, setError, EMAIL_RE } from "./views.js";
import { startSocket, resetChat } from "./session.js";
import { checkAvailability, showFirst } from "./offline.js";
import { cutChars } from "../shared/limits.js";
import { collectPrechat } from "./prechat.js";
import { faqViewed } from "./faq.js";

// An agent invited the visitor (the loader showed the invitation on the site's page and the
// visitor accepted it): the agent's text goes above the opt-in form. It starts nothing; the
// visitor still has to agree and press Start. Inserted into an empty live region: announced.
const invite = { greeting: null }; // { agent, text }

export function hasGreeting() {
  return !!invite.greeting;
}

/** The loader says the visitor accepted an invitation: greet them with it. */
export function setGreeting(d) {
  // Cut to sizes no real name or invitation reaches: the loader's message is not trusted.
  const str = (v, max) => (typeof v === "string" ? cutChars(v, max) : "");
  invite.greeting = { agent: str(d.agent, 100), text: str(d.text, 1000) };
  if (view.ready) showGreeting();
}

export function clearGreeting() {
  invite.greeting = null;
  showGreeting();
}

export function showGreeting() {
  const box = $("greeting");
  // An invitation accepted while the questions are shown: the visitor wants the chat.
  if (invite.greeting && view.current === "v-faq") showFirst();
  const greeting = invite.greeting;
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
  if (view.current === "v-offline") checkAvailability();
}

// The chat's secret, made here so that a retried start is idempotent: SITE_KEY.<64 hex>.
function newToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return cfg.site + "." + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function submitStart() {
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
  const prechat = collectPrechat();
  if (!prechat) return;
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
    fields: prechat.fields,
  };
  if (prechat.department !== null) chat.startParams.department = prechat.department;
  // Only whether an answer was opened on this page before: the server counts it, no more.
  if (faqViewed()) chat.startParams.after_faq = true;
  show("v-chat");
  startSocket();
  $("msg").focus();
}

export function setupStart() {
  $("start-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submitStart();
  });
  $("s-consent").addEventListener("change", (e) => {
    if (e.target.checked) setError("start-error", "", e.target);
  });
}
