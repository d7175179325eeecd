// The end of a chat: the visitor's two-step "End chat", the chat closed (by either side), and
// a chat running again that this page showed as ended (its log restored from a backup).

import { $ } from "./config.js";
import { chat } from "./state.js";
import { persist } from "./storage.js";
import { tellParent } from "./parent.js";
import { show, focusCurrent } from "./views.js";
import { hideTyping } from "./log.js";
import { updateFileInput } from "./files.js";
import { clearRating } from "./rating.js";
import { live, send, resetChat } from "./session.js";

/** The composer and "End chat" shown, the ended part hidden. */
export function showComposer() {
  $("composer").hidden = false;
  $("end-row").hidden = false;
  $("end-btn").hidden = false;
  $("end-confirm").hidden = true;
  $("ended").hidden = true;
}

/** Whether the end-chat question is open. */
export function confirming() {
  return !$("end-confirm").hidden;
}

export function cancelEnd() {
  $("end-confirm").hidden = true;
  $("end-btn").hidden = false;
  $("end-btn").focus();
}

export function onClosed() {
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

// The server has the chat running again although this page showed its end (its log was
// restored from a backup made before the end): back to the composer.
export function reopen() {
  chat.ended = false;
  chat.wantEnd = false;
  const hadFocus = $("v-chat").contains(document.activeElement);
  showComposer();
  clearRating();
  updateFileInput();
  tellParent({ kontor: "started" });
  if (hadFocus) focusCurrent();
}

export function setupEnd() {
  // A second, explicit step instead of window.confirm.
  $("end-btn").addEventListener("click", () => {
    $("end-btn").hidden = true;
    $("end-confirm").hidden = false;
    $("end-yes").focus();
  });
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
    if (!(live() && send({ type: "end" }))) chat.wantEnd = true;
    $("msg").focus();
  });
}
