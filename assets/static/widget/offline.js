// Nobody available: a message by e-mail instead of a chat. While the offline form is shown and
// untouched, the frame asks every 30 s whether an agent came online, and then offers the chat.

import { $, cfg, postJson } from "./config.js";
import { t } from "./i18n.js";
import { panel } from "./parent.js";
import { view, show, focusCurrent, setError, EMAIL_RE } from "./views.js";
import { MAX_TEXT_CHARS, charCount } from "../shared/limits.js";
import { untouched } from "./identify.js";

const AVAILABILITY_EVERY = 30000;

// (Same-origin GET: no Origin.)
const availability = { timer: 0, at: 0 };

/** The first view: the start form, or the offline form while nobody is available. */
export function showFirst() {
  show(cfg.available ? "v-start" : "v-offline");
  if (!cfg.available) watchAvailability();
}

function watchAvailability() {
  clearInterval(availability.timer);
  availability.at = Date.now();
  availability.timer = setInterval(checkAvailability, AVAILABILITY_EVERY);
}

function stopAvailability() {
  clearInterval(availability.timer);
  availability.timer = 0;
}

function offlineUntouched() {
  return (
    untouched($("o-name")) && untouched($("o-email")) && !$("o-message").value && !$("o-consent").checked &&
    !$("offline-form").hidden
  );
}

/** The panel was shown again: check now if a check was skipped while it was hidden. */
export function availabilityDue() {
  if (availability.timer && Date.now() - availability.at >= AVAILABILITY_EVERY) checkAvailability();
}

export async function checkAvailability() {
  if (view.current !== "v-offline" || cfg.available || $("offline-form").hidden) return stopAvailability();
  // Not while the visitor cannot see it, nor once they started typing.
  if (!panel.visible || document.hidden || !offlineUntouched()) return;
  availability.at = Date.now();
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
  if (view.current !== "v-offline" || !offlineUntouched()) return;
  stopAvailability();
  cfg.available = true;
  const hadFocus = $("v-offline").contains(document.activeElement);
  show("v-start");
  $("start-info").textContent = t("widget.now_available");
  if (hadFocus) focusCurrent();
}

/**
 * A start refused outside the business hours (a page opened while open): the offline form
 * says so, and when the chat opens again once the server has told us.
 */
export async function showClosed() {
  stopAvailability();
  cfg.available = false;
  show("v-offline");
  $("offline-intro").textContent = t("widget.closed_now");
  focusCurrent();
  try {
    const q = `site=${encodeURIComponent(cfg.site)}&lang=${encodeURIComponent(cfg.lang)}`;
    const r = await fetch(`/api/widget/config?${q}`, { credentials: "omit", cache: "no-store" });
    const conf = r.ok ? await r.json() : null;
    const note = conf && typeof conf.closed_note === "string" ? conf.closed_note : "";
    $("offline-hours").textContent = note;
    $("offline-hours").hidden = !note;
  } catch {
    // The form works without the sentence.
  }
  watchAvailability();
}

async function submitOffline() {
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
  else if (charCount(text) > MAX_TEXT_CHARS) bad = [msg, "widget.message_too_long"];
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
    const r = await postJson("/api/widget/offline", {
      site: cfg.site,
      name: name.value.trim(),
      email: mail,
      message: text,
      consent: true,
      lang: cfg.lang,
    });
    if (r.ok) {
      $("offline-form").hidden = true;
      $("offline-thanks").hidden = false;
      $("offline-thanks").focus();
      return;
    }
    const code = r.data?.error?.code || "";
    if (code === "blocked") {
      // An agent blocked this visitor: the business's offline text stays, the form goes.
      $("offline-form").hidden = true;
      $("offline-notice").hidden = true;
      return;
    }
    const limited = r.status === 429 || code === "rate_limited";
    setError("offline-error", t(limited ? "widget.error_rate_limited" : "widget.offline_error"));
  } catch {
    setError("offline-error", t("widget.offline_error"));
  } finally {
    btn.disabled = false;
    btn.textContent = t("widget.offline_send");
  }
}

export function setupOffline() {
  $("offline-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submitOffline();
  });
}
