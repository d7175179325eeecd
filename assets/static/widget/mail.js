// With email on (the server has a mail server): "Email me the transcript" under the chat. The
// visitor gives an address; the server mails the transcript when the chat ends, at once if it
// has ended (`POST /api/widget/transcript-email`, with the chat's token, never in a URL).

import { $, cfg, postJson } from "./config.js";
import { t } from "./i18n.js";
import { chat } from "./state.js";
import { setError, say, EMAIL_RE } from "./views.js";

/** Opens or closes the address form. */
function toggle(open) {
  $("mail-form").hidden = !open;
  $("mail-open").setAttribute("aria-expanded", String(open));
  if (open) {
    // The address from the start form, if one was given there.
    if (!$("mail-to").value) $("mail-to").value = $("s-email").value.trim();
    $("mail-to").focus();
  }
}

async function submit() {
  const field = $("mail-to");
  const email = field.value.trim();
  setError("mail-error", "", field);
  if (!email) {
    setError("mail-error", t("widget.transcript_mail_required"), field);
    field.focus();
    return;
  }
  if (!EMAIL_RE.test(email)) {
    setError("mail-error", t("widget.transcript_mail_bad"), field);
    field.focus();
    return;
  }
  if (!chat.token) {
    // Not started on the server yet: nothing to send a transcript of.
    setError("mail-error", t("widget.transcript_mail_error"));
    return;
  }
  const btn = $("mail-btn");
  // Before the button is disabled (which drops its focus to the page).
  const hadFocus = $("mail-row").contains(document.activeElement);
  btn.disabled = true;
  try {
    const r = await postJson("/api/widget/transcript-email", { token: chat.token, email });
    const data = r.data;
    if (r.ok) {
      setError("mail-error", "", field);
      $("mail-form").hidden = true;
      $("mail-open").hidden = true;
      say($("mail-done"), t(data && data.sent ? "widget.transcript_mail_sent" : "widget.transcript_mail_later", { email }));
      if (hadFocus) $("mail-done").focus();
      return;
    }
    // 400: the server's word on the address; anything else: try again.
    const msg = r.status === 400 && typeof data?.error?.message === "string" ? data.error.message : "";
    setError("mail-error", msg ? t("widget.transcript_mail_invalid", { message: msg }) : t("widget.transcript_mail_error"), field);
    field.focus();
  } catch {
    setError("mail-error", t("widget.transcript_mail_error"));
  } finally {
    btn.disabled = false;
  }
}

/** The control as new: for a new chat. */
export function resetMail() {
  if (!cfg.email) return;
  $("mail-open").hidden = false;
  $("mail-done").textContent = "";
  setError("mail-error", "", $("mail-to"));
  toggle(false);
}

export function setupMail() {
  if (!cfg.email) return;
  $("mail-row").hidden = false;
  $("mail-open").addEventListener("click", () => toggle($("mail-form").hidden));
  $("mail-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
}
