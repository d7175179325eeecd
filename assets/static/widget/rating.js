// After the end: the rating, the transcript, and "New chat".

import { $ } from "./config.js";
import { t } from "./i18n.js";
import { chat } from "./state.js";
import { forget } from "./storage.js";
import { tellParent } from "./parent.js";
import { focusCurrent, setError } from "./views.js";
import { saveBlob, postWithToken } from "./files.js";
import { live, send, socketStopped, startSocket, stopSocket, resetChat } from "./session.js";
import { clearGreeting } from "./start.js";
import { showFirst } from "./offline.js";

function paintStars(n) {
  for (const l of document.querySelectorAll("#stars label")) {
    l.classList.toggle("on", Number(l.dataset.v) <= n);
  }
}

const chosenScore = () => Number(document.querySelector('input[name="score"]:checked')?.value || 0);

/** The rating form as new (no stars, no error). */
export function clearRating() {
  $("rate-form").reset();
  $("rate-btn").disabled = false;
  paintStars(0);
  setError("rate-error", "");
}

/** Also the form shown again and no thanks: for a new chat. */
export function resetRating() {
  $("rate-form").hidden = false;
  clearRating();
  $("rated").hidden = true;
  setError("transcript-error", "");
}

export function onRated() {
  chat.rated = true;
  chat.rateFrame = null;
  $("rate-form").hidden = true;
  $("rated").hidden = false;
  $("rated").focus();
  // The conversation is finished for this visitor: drop what the frame kept, and the socket.
  forget();
  stopSocket();
  tellParent({ kontor: "ended" });
}

function submitRating() {
  const score = chosenScore();
  if (!(score >= 1 && score <= 5)) {
    setError("rate-error", t("widget.rate_required"));
    $("star-1").focus();
    return;
  }
  setError("rate-error", "");
  const comment = $("rate-comment").value.trim();
  const frame = { type: "rate", score };
  if (comment) frame.comment = comment;
  chat.rateFrame = frame;
  $("rate-btn").disabled = true;
  if (!(live() && send(frame))) {
    // Reconnecting: send when the socket is back.
    if (socketStopped()) startSocket();
    const retry = setInterval(() => {
      if (!chat.rateFrame) return clearInterval(retry);
      if (live() && send(chat.rateFrame)) clearInterval(retry);
    }, 500);
  }
  setTimeout(() => {
    if (chat.rateFrame === frame && !chat.rated) {
      $("rate-btn").disabled = false;
      setError("rate-error", t("widget.rate_error"));
    }
  }, 10000);
}

// Transcript: a POST with the token (never in a URL), saved through a temporary object URL.
async function downloadTranscript() {
  setError("transcript-error", "");
  const btn = $("transcript-btn");
  btn.disabled = true;
  try {
    const r = await postWithToken("/api/widget/transcript");
    if (!r.ok) throw new Error(String(r.status));
    const blob = await r.blob();
    const cd = r.headers.get("Content-Disposition") || "";
    const m = /filename="?([A-Za-z0-9._-]{1,100})"?/.exec(cd);
    saveBlob(blob, m ? m[1] : `chat-${chat.conversationId || "transcript"}.txt`);
  } catch {
    setError("transcript-error", t("widget.transcript_error"));
  } finally {
    btn.disabled = false;
  }
}

export function setupRating() {
  $("stars").addEventListener("change", () => {
    paintStars(chosenScore());
    setError("rate-error", "");
  });
  $("rate-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submitRating();
  });
  $("transcript-btn").addEventListener("click", downloadTranscript);
  $("new-btn").addEventListener("click", () => {
    resetChat();
    clearGreeting(); // the invitation was for the chat that ended
    tellParent({ kontor: "ended" });
    $("s-consent").checked = false;
    showFirst();
    focusCurrent();
  });
}
