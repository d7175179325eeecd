// A chat nobody took for a while (the server's `offline_offer`): the visitor may leave what
// they wrote as a message with their address (`POST /api/widget/offline-from-chat`); the team
// answers by email, and the chat goes on waiting in case someone takes it after all.

import { $, postJson } from "./config.js";
import { t } from "./i18n.js";
import { chat } from "./state.js";
import { setError, say, EMAIL_RE } from "./views.js";

/** Shows the offer (while the chat still waits). */
export function showOffer() {
  if (chat.status !== "waiting" || !chat.token) return;
  $("offer-row").hidden = false;
  $("offer-form").hidden = false;
  if (!$("offer-to").value) $("offer-to").value = $("s-email").value.trim();
  say($("offer-text"), t("widget.offer_text"));
}

/** Hides it: an agent took the chat, or a new chat began. */
export function hideOffer() {
  $("offer-row").hidden = true;
  $("offer-done").textContent = "";
  setError("offer-error", "", $("offer-to"));
}

async function submit() {
  const field = $("offer-to");
  const email = field.value.trim();
  setError("offer-error", "", field);
  if (!EMAIL_RE.test(email)) {
    setError("offer-error", t("widget.offer_bad"), field);
    field.focus();
    return;
  }
  const btn = $("offer-btn");
  const hadFocus = $("offer-row").contains(document.activeElement);
  btn.disabled = true;
  try {
    const r = await postJson("/api/widget/offline-from-chat", { token: chat.token, email });
    if (r.ok) {
      $("offer-form").hidden = true;
      $("offer-text").textContent = "";
      say($("offer-done"), t("widget.offer_done", { email }));
      if (hadFocus) $("offer-done").focus();
      return;
    }
    const msg = typeof r.data?.error?.message === "string" ? r.data.error.message : "";
    setError("offer-error", r.status === 400 || r.status === 409 ? msg || t("widget.offer_error") : t("widget.offer_error"), field);
    field.focus();
  } catch {
    setError("offer-error", t("widget.offer_error"));
  } finally {
    btn.disabled = false;
  }
}

export function setupOffer() {
  $("offer-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
}
